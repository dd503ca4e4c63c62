"""Leak arm (a) of chapter 8: the paper's copies made before the split, then trained.

The paper's Algorithm 1 (20 shifted and zoomed copies of every image) applied to every
clip *before* the split, then the pooled images split at random
(:func:`make_pooled_split`), so that copies of a test clip sit in training and
validation is drawn from the same pool. :func:`train_pooled_arm` (``fser leak
pooled``) trains the paper's CNN on that split with the honest run's recipe
(:func:`make_pooled_config`) and writes an ordinary run folder, which
:func:`fser_utils.studies.leaks.compute_arms_table` and
:func:`~fser_utils.studies.leaks.compute_leak_curves` read beside the honest run.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fser_utils.errors import FserError
from fser_utils.studies.leaks import compute_accuracy_interval, compute_pooled_images

__all__ = ["make_pooled_split", "make_pooled_config", "train_pooled_arm"]


def make_pooled_split(n_images: int, *, test_size: float = 0.2, val_size: float = 0.2,
                      seed: int = 42) -> np.ndarray:
    """The paper's split (80/20, then 80/20 of the rest) drawn over pooled *images*.

    Returns
    -------
    part : np.ndarray of str [shape=(n_images,)]
        ``train``, ``val`` or ``test`` per image.
    """
    if not (0 < test_size < 1 and 0 < val_size < 1):
        raise FserError("test_size and val_size must lie in (0, 1)")
    order = np.random.default_rng(seed).permutation(n_images)
    n_test = int(round(test_size * n_images))
    n_val = int(round(val_size * (n_images - n_test)))
    part = np.full(n_images, "train", dtype=object)
    part[order[:n_test]] = "test"
    part[order[n_test:n_test + n_val]] = "val"
    if min(n_test, n_val, n_images - n_test - n_val) < 1:
        raise FserError(f"{n_images} images are too few to split three ways")
    return part.astype(str)


def make_pooled_config(profile="paper", *, seed: int = 42, overrides: dict | None = None):
    """The recipe of arm (a) and the configuration it trains under
    (:class:`fser_utils.training.run_config.RunConfig`).

    Parameters
    ----------
    profile : str or TrainingProfile
    seed : int
    overrides : dict or None
        Profile fields to replace.

    Returns
    -------
    recipe : TrainingProfile
        The profile asked for; its ``n_copies`` and transforms make the pool.
    config : RunConfig
        The paper's CNN on the paper split, with the recipe's offline augmentation
        switched off, since the pool already holds the copies.

    Raises
    ------
    FserError
        Unknown profile or field, bad seed, or a stopping rule that cannot apply.
    """
    import dataclasses

    from fser_utils.training.profiles import get_training_profile
    from fser_utils.training.run_config import RunConfig

    p = get_training_profile(profile, **(overrides or {}))
    return p, RunConfig(model="fser", profile=dataclasses.replace(p, augment="none"),
                        split="paper", seed=seed)


def train_pooled_arm(catalogue: pd.DataFrame, X: np.ndarray, *, out, profile="paper",
                     seed: int = 42, overrides: dict | None = None, loop: str = "fit",
                     n_boot: int = 2000, verbose: int = 1, log_test: bool = False):
    """Leak arm (a): augment every clip first, then split the pooled images at random.

    The training recipe is the honest run's (``profile``, default the paper's), except
    that the copies are made before the split, so copies of a test clip sit in
    training, and validation is drawn from the same pool.

    Parameters
    ----------
    catalogue : pd.DataFrame [shape=(n, ...)]
        Aligned with ``X`` (``kept`` of :func:`fser_utils.features.load_features`).
    X : np.ndarray [shape=(n, 64, 64, 3)], float in [0, 1]
        The paper's images, one per clip.
    out : path-like
        Run folder (written by :class:`fser_utils.training.run.Run`; started afresh).
    profile : str or TrainingProfile
        Its ``n_copies`` and transforms make the pool; its offline augmentation is then
        switched off (the pool already holds the copies).
    seed : int
    overrides : dict or None
        Profile fields to replace (``epochs`` for a short run).
    loop : {"fit", "resident"}
    n_boot : int > 0
    verbose : int
    log_test : bool
        Log every epoch's accuracy on the pooled test images in the history (``fit``
        loop; never used to choose anything), for
        :func:`fser_utils.studies.leaks.compute_leak_curves`.

    Returns
    -------
    run : fser_utils.training.run.Run
        Its ``metrics.json`` holds the test accuracy on pooled test images
        (``test_accuracy``, a fraction like every run's) with its 95 % bootstrap interval
        ``accuracy_low``, ``accuracy_high`` [%] (runs written before this name carry
        ``ci_low``, ``ci_high``: read them through
        :func:`fser_utils.studies.evaluate.rename_old_interval_names`), and
        ``same_clip_in_train`` [%]: the share of test images
        with a copy of their clip in training; with a profile that stops when training
        accuracy levels off, also ``stop_reason``.
    """
    from fser_utils.training.fit import fit_arrays
    from fser_utils.training.profiles import check_converge_rule, describe_stop
    from fser_utils.training.results import make_settings_record
    from fser_utils.training.run import Run, to_jsonable
    from fser_utils.studies.converged import make_pooled_predictions
    from fser_utils.training.train import encode_labels, select_train_rows

    p, config = make_pooled_config(profile, seed=seed, overrides=overrides)
    # before the pool is made, which takes minutes on the real corpora
    check_converge_rule(p, loop=loop)
    run = Run(out)
    run.check_writable()
    pooled, source = compute_pooled_images(np.asarray(X, dtype=np.float32),
                                           n_copies=p.n_copies, seed=seed,
                                           progress=verbose > 0)
    labels = encode_labels(catalogue.reset_index(drop=True))[source]
    part = make_pooled_split(len(pooled), seed=seed)
    idx = {k: np.flatnonzero(part == k) for k in ("train", "val", "test")}
    # quick runs (max_train): the stratified subset train_model draws
    idx["train"] = select_train_rows(pd.Series(part), pd.Series(labels), p.max_train, seed)
    data = {}
    for k, i in idx.items():
        data.update({f"X_{k}": pooled[i], f"y_{k}": labels[i], f"{k}_idx": i})
    run.create()
    # the pool and its split are seeded, so an interrupted run of the same configuration
    # continues from its last checkpoint
    resuming = run.can_resume and run.config_key == to_jsonable(config.key)
    if not resuming:
        run.clear()
    settings = make_settings_record(catalogue, config, data)
    settings.update(arm="augment before split", pool_copies=p.n_copies,
                    recipe_profile=p.asdict(), n_pooled_images=int(len(pooled)))
    run.save_settings(settings)
    result = fit_arrays(run, data, config, resuming=resuming, verbose=verbose, loop=loop,
                        log_test=log_test)
    y_pred = np.argmax(result["test_probs"], axis=1)
    interval = compute_accuracy_interval(data["y_test"], y_pred, n_boot=n_boot, seed=seed)
    train_clips = np.zeros(len(catalogue), dtype=bool)
    train_clips[source[idx["train"]]] = True
    state = result["state"]
    # one row per test picture, with its clip and whether a twin of it was trained on:
    # chapter 8 scores arm (a) on the twins alone (studies.converged)
    run.save_predictions(make_pooled_predictions(catalogue, source, part, result["test_probs"]))
    run.save_metrics({
        "arm": "augment before split", "test_accuracy": interval["accuracy"] / 100,
        "accuracy_low": interval["accuracy_low"], "accuracy_high": interval["accuracy_high"],
        "n_test": int(len(idx["test"])), "n_train_images": int(len(idx["train"])),
        "val_accuracy": float(np.mean(np.argmax(result["val_probs"], 1) == data["y_val"])),
        "same_clip_in_train": 100 * float(np.mean(train_clips[source[idx["test"]]])),
        "best_epoch": int(state["best_epoch"] + 1), "epochs_run": int(state["epoch"] + 1),
        "train_seconds": float(state["train_seconds"]), "n_params": result["n_params"],
        **describe_stop(state, config.profile, int(state["epoch"] + 1))})
    return run
