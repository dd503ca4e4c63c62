"""``fser predict FILE_OR_DIR [...]``: the emotion of any recording, with all probabilities."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from fser_utils.errors import FserError


def register(sub) -> None:
    from fser_utils.scoring.window_settings import (DEFAULT_HOP, DEFAULT_WINDOW, LONG_RECORDING, MIN_SECONDS,
                                   VOICED_DB)

    parser = sub.add_parser(
        "predict", help="score audio files or folders with a trained model",
        description="Print the most probable emotion and the probabilities of all eight "
                    "classes for each audio file (wav, flac, ogg, mp3; any sample rate, mono "
                    "or stereo). A folder gives one row per audio file in it. "
                    f"Recordings longer than {LONG_RECORDING:g} s (longer than any training "
                    f"clip) are scored in windows of {DEFAULT_WINDOW:g} s every "
                    f"{DEFAULT_HOP:g} s, read from disk a block at a time so that memory "
                    "stays flat however long the file; their label is the mean of the "
                    "window probabilities over the voiced windows (level within "
                    f"{VOICED_DB:g} dB of the loudest window), as the column scored_as "
                    "says, and the table of windows follows (or goes to --windows-out). "
                    "A file that cannot be scored (missing, undecodable, shorter than "
                    f"{MIN_SECONDS:g} s, all silence or only a DC offset, an implausible "
                    "sample rate) gives one line on stderr and exit status 1; the other "
                    "files are still scored. A truncated file is scored on what it holds, "
                    "with a line in the column warning.")
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR", help="audio files or folders")
    parser.add_argument("--run", metavar="RUN_DIR",
                        help="score with a run you trained (fser train; fast when fser export "
                             "has exported it)")
    parser.add_argument("--model", metavar="NAME",
                        help="score with the newest run of this registered model under the "
                             "runs folder (default: neither --run nor --model: the model "
                             "shipped with the package, trained on five corpora)")
    parser.add_argument("--uncalibrated", action="store_true",
                        help="the network's own probabilities, without the temperature fitted "
                             "on its validation clips")
    parser.add_argument("--json", action="store_true", help="JSON on stdout instead of a table")
    parser.add_argument("--windows", action="store_true",
                        help=f"score every file in windows, not only those over "
                             f"{LONG_RECORDING:g} s (implied by --windows-out and --plot)")
    parser.add_argument("--window", type=float, default=DEFAULT_WINDOW, metavar="SECONDS",
                        help=f"window length (default {DEFAULT_WINDOW:g}: a typical training "
                             "clip)")
    parser.add_argument("--hop", type=float, default=DEFAULT_HOP, metavar="SECONDS",
                        help=f"step between window starts, at most the window (default "
                             f"{DEFAULT_HOP:g}: every instant lies in two windows)")
    parser.add_argument("--windows-out", metavar="FILE.csv",
                        help="write the table of windows (path, start, end, level_db, voiced, "
                             "emotion, confidence, probabilities) to this CSV file")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw the emotion probabilities over time, one panel per file")
    parser.set_defaults(func=run_predict)


def _prefer_light_backend() -> None:
    """Score with JAX when the user has chosen no Keras backend and JAX is installed.

    TensorFlow alone takes about 800 MB of resident memory once imported, JAX about
    350 MB, and JAX scored a one-hour recording twice as fast on the book's CPU
    (``benchmarks/bench_long_recording.py``); the model files do not depend on the
    backend that trained them. ``KERAS_BACKEND`` still decides when it is set.
    """
    import importlib.util
    import os

    if "KERAS_BACKEND" not in os.environ and "keras" not in sys.modules \
            and importlib.util.find_spec("jax") is not None:
        os.environ["KERAS_BACKEND"] = "jax"


def _open_recognizer(args):
    """The shipped model, a run named by --run, or the newest run of --model NAME."""
    from fser_utils.scoring.recognizer import Recognizer

    calibrated = not args.uncalibrated
    if args.run and args.model:
        raise FserError("give --run RUN_DIR or --model NAME, not both")
    if args.run:
        return Recognizer.from_run(args.run, calibrated=calibrated)
    if args.model:
        from fser_utils.scoring.predict import find_model_run
        from fser_utils.models.registry import get_model_spec
        from fser_utils.training.run import Run

        if Path(args.model).is_dir():
            raise FserError(f"--model takes a registered model name; to score with the run "
                            f"folder '{args.model}', give --run {args.model}")
        name = get_model_spec(args.model).name
        run_dir = find_model_run(model=name)
        if Run(run_dir).model_name != name:
            raise FserError(f"no run of model '{name}' under the runs folder: train one with "
                            f"'fser train --model {name}'")
        return Recognizer.from_run(run_dir, calibrated=calibrated)
    return Recognizer.pretrained(calibrated=calibrated)


def run_predict(args) -> int:
    _prefer_light_backend()
    from fser_utils.atomic import write_atomic, write_csv_atomic
    from fser_utils.scoring.predict import predict_files
    from fser_utils.scoring.windows import check_window_settings

    check_window_settings(window=args.window, hop=args.hop)
    for out in (args.windows_out, args.plot):
        _check_output(out)
    recognizer = _open_recognizer(args)
    predictor = recognizer.predictor
    # stderr, so that --json output stays machine-readable
    print(f"fser: model: {recognizer.name}, version: {recognizer.version}, "
          f"engine: {recognizer.engine}"
          f"{', calibrated' if recognizer.calibrated else ''}", file=sys.stderr)
    windows = True if (args.windows or args.windows_out or args.plot) else None
    scores, errors, table = predict_files(args.inputs, predictor=predictor, windows=windows,
                                          window=args.window, hop=args.hop,
                                          return_windows=True)
    if predictor.group_norm and len(scores):
        together = ("clips of one speaker" if predictor.group_norm == "speaker"
                    else "recordings from one setting")
        print(f"fser: the {len(scores)} files were standardised together as {together}",
              file=sys.stderr)
    for row in errors.itertuples():
        print(f"fser: error: {row.reason}", file=sys.stderr)
    for row in scores[scores["warning"] != ""].itertuples():
        print(f"fser: warning: '{row.path}': {row.warning}", file=sys.stderr)
    table = table.assign(model=recognizer.name, version=recognizer.version)
    if args.windows_out:
        write_csv_atomic(args.windows_out, table)
        print(f"fser: wrote {len(table)} windows to {args.windows_out}", file=sys.stderr)
    if args.plot and not table.empty:
        fig = _draw_timelines(table)
        _write(args.plot, lambda: write_atomic(args.plot, lambda tmp: fig.savefig(tmp, dpi=120)))
        print(f"fser: wrote {args.plot}", file=sys.stderr)
    if args.json:
        _print_json(scores, errors, table, recognizer=recognizer, windows=windows, args=args)
    else:
        _print_tables(scores, table.drop(columns=["model", "version"]),
                      show_windows=not args.windows_out)
    return 1 if len(errors) else 0


def _check_output(path) -> None:
    """Refuse an output path before hours of scoring, not after."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir() or not path.parent.is_dir():
        raise FserError(f"cannot write '{path}': "
                        f"{'it is a folder' if path.is_dir() else 'its folder does not exist'}")


def _write(path, write) -> None:
    try:
        write()
    except (OSError, ValueError) as exc:  # ValueError: an image format matplotlib lacks
        raise FserError(f"cannot write '{path}': {exc}") from None


def _draw_timelines(table):
    """A figure with one timeline per file (no pyplot: nothing to show, just save)."""
    from matplotlib.figure import Figure

    from fser_utils.plotting import plot_emotion_timeline

    groups = list(table.groupby("path", sort=False))
    fig = Figure(figsize=(10, 2.6 * len(groups)), layout="constrained")
    for ax, (_, one) in zip(fig.subplots(len(groups), 1, squeeze=False)[:, 0], groups):
        plot_emotion_timeline(one, ax=ax)
    return fig


def _format(table) -> str:
    table = table.rename(columns=lambda c: c[2:] if c.startswith("p_") else c)
    return table.to_string(index=False, float_format=lambda v: f"{v:.3f}")


def _print_tables(scores, table, *, show_windows: bool) -> None:
    if scores.empty:
        return
    # the extra columns only when they say something, so that the usual table stays narrow
    drop = [c for c, plain in (("scored_as", "whole file"), ("warning", ""))
            if (scores[c] == plain).all()]
    print(_format(scores.drop(columns=drop)))
    if show_windows and not table.empty:
        print()
        print(_format(table.drop(columns="level_db")))


def _shipped() -> str:
    from fser_utils.scoring.recognizer import PRETRAINED_VERSION

    return PRETRAINED_VERSION


def _json_number(value):
    return None if value != value else value  # NaN (a silent window) -> null


def _print_json(scores, errors, table, *, recognizer, windows, args) -> None:
    from fser_utils.scoring.windows import LONG_RECORDING, VOICED_DB

    predictor = recognizer.predictor

    def probabilities(r):
        return {c: _json_number(r[f"p_{c}"]) for c in predictor.classes}

    by_path = {p: t for p, t in table.groupby("path", sort=False)}
    predictions = []
    for r in scores.to_dict("records"):
        entry = {"path": r["path"], "emotion": r["emotion"], "confidence": r["confidence"],
                 "probabilities": probabilities(r), "scored_as": r["scored_as"],
                 "warning": r["warning"] or None}
        if r["path"] in by_path:
            entry["windows"] = [
                {"start": w["start"], "end": w["end"], "level_db": _json_number(w["level_db"]),
                 "voiced": bool(w["voiced"]), "emotion": w["emotion"] or None,
                 "confidence": _json_number(w["confidence"]), "probabilities": probabilities(w)}
                for w in by_path[r["path"]].to_dict("records")]
        predictions.append(entry)
    payload = {
        "model": recognizer.name, "version": recognizer.version,
        "calibrated": recognizer.calibrated,
        "run": None if recognizer.version == _shipped() else str(predictor.run_dir),
        "windowing": {
            "window": args.window, "hop": args.hop,
            "applies_to": "every file" if windows else f"files longer than {LONG_RECORDING:g} s",
            "file_label": "mean of the window probabilities over the voiced windows "
                          f"(level within {VOICED_DB:g} dB of the loudest window)"},
        "predictions": predictions,
        "errors": errors.to_dict("records"),
    }
    json.dump(payload, sys.stdout, indent=2)
    print()
