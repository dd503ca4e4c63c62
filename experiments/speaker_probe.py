"""Experiment (chapter 10): how much of who is speaking do a network's pooled features hold?

For each given run folder (a log-mel network with its model), the features that the
network hands to its emotion classifier (the input of its ``logits`` layer) are computed
for the clips of one part of its split. A speaker probe, a logistic regression on those
features standardised, is then fitted on half of each speaker's clips and scored on the
other half (two folds, stratified by speaker). High probe accuracy means the features still
say who is speaking; speaker-adversarial training (``logmel-cnn-adv``) aims to lower it.
The probe is run on the training part (the speakers the adversary saw) and on the
validation part (new speakers). Emotions are never used.

Written to ``results/experiments/speaker_probe.json``::

    python experiments/speaker_probe.py RUN_DIR [RUN_DIR ...] --root DATA_ROOT
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

PARTS = ("train", "val")


def compute_probe_accuracy(features: np.ndarray, speakers: np.ndarray, *, seed: int = 0) -> float:
    """Two-fold accuracy of a logistic-regression speaker probe.

    Parameters
    ----------
    features : np.ndarray [shape=(n, d)]
    speakers : np.ndarray [shape=(n,)]
        Speaker of each row; every speaker needs at least two rows.
    seed : int

    Returns
    -------
    accuracy : float in [0, 1], or NaN
        Share of rows whose speaker the probe names, each row predicted by the fold that
        did not see it; NaN for fewer than two speakers (nothing to tell apart).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(speakers)) < 2:
        return float("nan")
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
    predicted = cross_val_predict(probe, features, speakers, cv=folds)
    return float(np.mean(predicted == speakers))


def main(argv=None) -> dict:
    args = parse_run_args(__doc__.splitlines()[0], "speaker_probe.json", argv)
    import keras

    from fser_utils.scoring.predict import load_run_parts
    from fser_utils.training.run import Run
    from fser_utils.training.devices import describe_hardware

    rows = []
    for predictor, part, clips, Xp in load_run_parts(args.runs, root=args.root, parts=PARTS):
        net = predictor.model
        pooled = keras.Model(net.input, net.get_layer("logits").input)
        settings = Run(predictor.run_dir).load_settings()
        # dropout is off at inference, so these are the features the classifier reads
        feats = np.asarray(pooled.predict(predictor.normalize_clips(Xp), batch_size=256,
                                          verbose=0))
        speakers = clips["speaker"].astype(str).to_numpy()
        counts = np.unique(speakers, return_counts=True)[1]
        accuracy = compute_probe_accuracy(feats, speakers)
        rows.append({"run": predictor.run_dir.name, "model": predictor.model_name,
                     "split": settings["split"], "seed": settings["seed"], "part": part,
                     "n_clips": int(len(clips)), "n_speakers": int(len(counts)),
                     "majority": float(counts.max() / counts.sum()),
                     "probe_accuracy": None if np.isnan(accuracy) else accuracy})
        print(f"{rows[-1]['run']} {part}: {len(counts)} speakers, probe accuracy "
              f"{'- (one speaker)' if np.isnan(accuracy) else f'{100 * accuracy:.1f} %'}")
    now = datetime.datetime.now(datetime.timezone.utc)
    result = {"what": "speaker probe on the features under the emotion classifier",
              "date": now.isoformat(timespec="seconds"), "hardware": describe_hardware(),
              "rows": rows}
    from fser_utils.atomic import write_text_atomic

    write_text_atomic(args.result, json.dumps(result, indent=1) + "\n")
    print(f"{len(rows)} rows written to {args.result}")
    return result


if __name__ == "__main__":
    main()
