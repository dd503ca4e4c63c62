"""Experiment (chapter 10): does averaging over time shifts at scoring time help?

Each given run folder (with its model) scores its own validation and test clips three
ways: as they are, averaged over shifts of 0 and +-10 frames, and over 0, +-10 and +-20
frames (0.2 and 0.4 s of a log-mel spectrogram), with
:func:`fser_utils.scoring.predict.compute_shift_averaged_proba`. The decision to adopt it would
be made on the validation accuracies; the test accuracies are reported beside them.

Written to ``results/experiments/tta.json``::

    python experiments/tta.py RUN_DIR [RUN_DIR ...] --root DATA_ROOT
"""
from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import numpy as np

# _common sits beside the script; the tests load the script by its path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, parse_run_args  # noqa: E402

SHIFT_SETS = {"none": (0,), "0, +-10": (-10, 0, 10), "0, +-10, +-20": (-20, -10, 0, 10, 20)}


def main(argv=None) -> dict:
    args = parse_run_args(__doc__.splitlines()[0], "tta.json", argv)
    from fser_utils.scoring.predict import compute_shift_averaged_proba, load_run_parts
    from fser_utils.training.run import Run
    from fser_utils.training.devices import describe_hardware

    rows = []
    for predictor, part, clips, Xp in load_run_parts(args.runs, root=args.root):
        truth = clips["emotion"].astype(str).to_numpy()
        kind = Run(predictor.run_dir).load_settings()["split"]
        for name, shifts in SHIFT_SETS.items():
            proba = compute_shift_averaged_proba(Xp, predictor=predictor, shifts=shifts)
            hits = np.asarray(predictor.classes)[proba.argmax(axis=1)] == truth
            rows.append({"run": predictor.run_dir.name, "model": predictor.model_name,
                         "split": kind, "part": part, "shifts": name,
                         "accuracy": float(hits.mean()), "n": int(len(hits))})
    now = datetime.datetime.now(datetime.timezone.utc)
    result = {"what": "test-time averaging over circular time shifts",
              "date": now.isoformat(timespec="seconds"), "hardware": describe_hardware(),
              "shift_sets": {k: list(v) for k, v in SHIFT_SETS.items()}, "rows": rows}
    from fser_utils.atomic import write_text_atomic

    write_text_atomic(args.result, json.dumps(result, indent=1) + "\n")
    print(f"{len(rows)} rows written to {args.result}")
    return result


if __name__ == "__main__":
    main()
