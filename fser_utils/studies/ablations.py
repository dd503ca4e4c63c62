"""Chapter 4's augmentation ablation and the training table of chapters 4 and 5.

Each arm of :data:`AUGMENTATION_ARMS` is an ordinary run folder, trained (or read back)
with :func:`fser_utils.training.train.load_or_train`; the arms share profile, split,
seed and epochs, so they differ only in their augmentation.
:func:`compute_training_table` sets finished runs side by side: accuracies with their
standard errors, epochs and time.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fser_utils.training.results import load_run
from fser_utils.training.train import load_or_train

__all__ = ["AUGMENTATION_ARMS", "train_augmentation_ablation", "compute_training_table"]


#: the augmentation ablation of chapter 4: profile overrides per arm
AUGMENTATION_ARMS = {
    "none": {"augment": "none"},
    "shift+zoom+flip": {"augment": "online", "flip": True, "specaugment": False},
    "shift+zoom": {"augment": "online", "flip": False, "specaugment": False},
    "shift+zoom+SpecAugment": {"augment": "online", "flip": False, "specaugment": True},
}


def train_augmentation_ablation(catalogue: pd.DataFrame, X: np.ndarray | None = None, *,
                                profile="quick", epochs: int | None = None, split: str = "paper",
                                seed: int = 42, verbose: int = 1) -> dict:
    """Train (or load) one run per arm of :data:`AUGMENTATION_ARMS`.

    Every arm shares the profile, split, seed and number of epochs, so the arms
    differ only in their augmentation.

    Parameters
    ----------
    epochs : int > 0 or None
        Overrides the profile's epochs (and then the patience is ``epochs // 3``).

    Returns
    -------
    runs : dict of str -> Path
        Arm -> run folder (``<profile>-<split>-aug-<arm>``).
    """
    base = {}
    if epochs is not None:
        base = {"epochs": int(epochs), "patience": max(1, int(epochs) // 3)}
    runs = {}
    for arm, overrides in AUGMENTATION_ARMS.items():
        tag = "aug-" + arm.replace("+", "-").lower()
        runs[arm] = load_or_train(catalogue, X, model="fser", profile=profile, split=split,
                                  seed=seed, overrides={**base, **overrides}, tag=tag,
                                  verbose=verbose)
    return runs


def compute_training_table(runs) -> pd.DataFrame:
    """One row per finished run: accuracies with their standard errors, epochs, time.

    Parameters
    ----------
    runs : dict of str -> path-like
        Row label -> run folder.

    Returns
    -------
    table : pd.DataFrame [shape=(len(runs), 9)]
        Index: the labels. Columns ``profile``, ``val_accuracy``, ``test_accuracy``,
        ``test_accuracy_se`` (binomial standard error ``sqrt(p (1 - p) / n_test)``),
        ``n_test``, ``best_epoch``, ``epochs_run``, ``train_minutes``, ``images_per_second``.
    """
    rows = {}
    for label, run_dir in runs.items():
        run = load_run(run_dir)
        m = run["metrics"]
        p, n = m["test_accuracy"], m["n_test"]
        rows[label] = {"profile": run["settings"]["profile"], "val_accuracy": m["val_accuracy"],
                       "test_accuracy": p,
                       "test_accuracy_se": float(np.sqrt(p * (1 - p) / n)),
                       "n_test": n, "best_epoch": m["best_epoch"], "epochs_run": m["epochs_run"],
                       "train_minutes": m["train_seconds"] / 60,
                       "images_per_second": m["images_per_second"]}
    return pd.DataFrame.from_dict(rows, orient="index")
