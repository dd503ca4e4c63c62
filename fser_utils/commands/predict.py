"""``fser predict FILE_OR_DIR [...]``: the emotion of any recording, with all probabilities."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    parser = sub.add_parser(
        "predict", help="score audio files or folders with a trained model",
        description="Print the most probable emotion and the probabilities of all eight "
                    "classes for each audio file (wav, flac, ogg, mp3; any sample rate, mono "
                    "or stereo). A folder gives one row per audio file in it. A file that "
                    "cannot be scored gives one line on stderr and exit status 1; the other "
                    "files are still scored.")
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR", help="audio files or folders")
    parser.add_argument("--model", metavar="RUN_DIR",
                        help="run folder holding a trained model (default: the newest run of "
                             "the default model under the runs folder, else the newest run)")
    parser.add_argument("--json", action="store_true", help="JSON on stdout instead of a table")
    parser.set_defaults(func=run_predict)


def run_predict(args) -> int:
    from ..predict import load_predictor, predict_files

    predictor = load_predictor(args.model)
    # stderr, so that --json output stays machine-readable
    print(f"fser: model: {predictor.model_name}, run: {predictor.run_dir}", file=sys.stderr)
    scores, errors = predict_files(args.inputs, predictor=predictor)
    for row in errors.itertuples():
        print(f"fser: error: {row.reason}", file=sys.stderr)
    if args.json:
        payload = {
            "model": predictor.model_name, "run": str(predictor.run_dir),
            "predictions": [
                {"path": r["path"], "emotion": r["emotion"], "confidence": r["confidence"],
                 "probabilities": {c: r[f"p_{c}"] for c in predictor.classes}}
                for r in scores.to_dict("records")],
            "errors": errors.to_dict("records"),
        }
        json.dump(payload, sys.stdout, indent=2)
        print()
    elif not scores.empty:
        table = scores.rename(columns=lambda c: c[2:] if c.startswith("p_") else c)
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 1 if len(errors) else 0
