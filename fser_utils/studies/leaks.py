"""Ways a random split can flatter a model: diagnostics for chapter 8.

The paper reports 95.05 % on a random split of clips. Two cheap diagnostics show how
much of such a number can come from the split rather than from emotion:

* **twins** (:func:`compute_twin_accuracy`): a random split leaves most test clips
  with a *twin* in training, the same speaker saying the same sentence with the same
  emotion (another take or intensity). Accuracy on those clips against the others
  shows how much the model leans on recognising the recording.
* **nearest neighbour** (:func:`compute_nearest_neighbour_probe`): if the paper's
  augmentation (20 shifted and zoomed copies of each image) is applied *before* the
  split, copies of one clip land on both sides, and a model that only remembers
  pictures finds its answer among the training copies. A 1-nearest-neighbour
  classifier is such a model; it needs no training, so the probe runs in seconds.

Both return the honest figure beside the leaky one, with bootstrap intervals.

Two more arms need training, with the paper's recipe and budget like the honest run:

* **augment before the split** (:func:`fser_utils.studies.pooled_arm.train_pooled_arm`,
  ``fser leak pooled``): the paper's Algorithm 1 applied to every clip, then the pooled
  images split at random;
* **select on test** (:func:`compute_select_on_test`, ``fser leak select-on-test``):
  the epoch with the best *test* accuracy instead of the best validation accuracy,
  read from a run trained with the resident loop, which logs test accuracy per epoch.

Trained to convergence (profile ``converge``), the honest run and arm (a) are drawn
epoch by epoch, test accuracy against training accuracy (:func:`compute_leak_curves`,
:func:`fser_utils.plotting.plot_leak_curves`): where copies of the test clips sit in
training, test accuracy climbs with training accuracy.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fser_utils.errors import FserError
from fser_utils.studies.evaluate import compute_bootstrap_ci, rename_old_interval_names

__all__ = ["TWIN_KEYS", "ARM_COLUMNS", "compute_seen_mask", "compute_accuracy_interval",
           "compute_twin_accuracy", "compute_pooled_images",
           "compute_nearest_neighbour_probe", "compute_wilson_interval",
           "compute_select_on_test", "compute_arms_table", "compute_leak_curves"]

#: a test clip is a "twin" when a training clip shares all of these
TWIN_KEYS = ("speaker", "sentence", "emotion")
#: an arm's size and accuracy with its 95 % interval [%], in every table of arms
ARM_COLUMNS = ("n", "accuracy", "accuracy_low", "accuracy_high")


def compute_seen_mask(split: pd.DataFrame, catalogue: pd.DataFrame, *,
                      keys=TWIN_KEYS) -> pd.Series:
    """For every test clip, whether a training clip shares all ``keys``.

    Parameters
    ----------
    split : pd.DataFrame
        A run's split table (``relpath``, ``speaker``, ``emotion``, ``part``).
    catalogue : pd.DataFrame
        With ``relpath`` and the ``keys`` missing from ``split`` (``sentence``).
    keys : sequence of str
        Columns that must all match.

    Returns
    -------
    seen : pd.Series [dtype=bool]
        Indexed by the test clips' ``relpath``.
    """
    extra = [k for k in keys if k not in split.columns]
    df = split.merge(catalogue[["relpath", *extra]], on="relpath", how="left") if extra else split
    cols = list(keys)
    key = df[cols].fillna("?").astype(str).agg("|".join, axis=1)
    train_keys = set(key[df["part"] == "train"])
    test = df["part"] == "test"
    if not test.any():
        raise FserError("the split has no test clip")
    return pd.Series(key[test].isin(train_keys).to_numpy(), index=df.loc[test, "relpath"],
                     name="seen")


def compute_accuracy_interval(y_true, y_pred, *, n_boot: int, seed: int) -> dict:
    """Accuracy of ``y_pred`` against ``y_true`` with its 95 % bootstrap interval.

    Parameters
    ----------
    y_true, y_pred : array-like [shape=(n,)]
        True and predicted labels (strings or class codes).
    n_boot : int > 0
        Bootstrap resamples (:func:`fser_utils.studies.evaluate.compute_bootstrap_ci`).
    seed : int

    Returns
    -------
    interval : dict
        ``n``, ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%], the columns of the
        arms' tables.
    """
    ci = compute_bootstrap_ci(np.asarray(y_true), np.asarray(y_pred), n_boot=n_boot, seed=seed)
    return {k: ci[k] for k in ARM_COLUMNS}


def compute_twin_accuracy(predictions: pd.DataFrame, split: pd.DataFrame,
                          catalogue: pd.DataFrame, *, n_boot: int = 2000,
                          seed: int = 0) -> pd.DataFrame:
    """Test accuracy on clips with a twin in training against the clips without one.

    Parameters
    ----------
    predictions : pd.DataFrame
        A run's test predictions (``relpath``, ``emotion``, ``predicted``).
    split, catalogue : pd.DataFrame
        See :func:`compute_seen_mask`.
    n_boot : int > 0
        Bootstrap resamples for the 95 % intervals.
    seed : int

    Returns
    -------
    table : pd.DataFrame
        One row per group (``twin in training``, ``no twin``, ``all``) with ``n``,
        ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%].
    """
    seen = compute_seen_mask(split, catalogue)
    pred = predictions.set_index("relpath")
    missing = seen.index.difference(pred.index)
    if len(missing):
        raise FserError(f"{len(missing)} test clips of the split have no prediction "
                        f"(first: {missing[0]})")
    pred = pred.loc[seen.index]
    rows = []
    for name, mask in (("twin in training", seen.to_numpy()), ("no twin", ~seen.to_numpy()),
                       ("all", np.ones(len(seen), bool))):
        part = pred[mask]
        if part.empty:
            rows.append({"group": name, **dict.fromkeys(ARM_COLUMNS, np.nan), "n": 0})
            continue
        rows.append({"group": name, **compute_accuracy_interval(
            part["emotion"], part["predicted"], n_boot=n_boot, seed=seed)})
    return pd.DataFrame(rows)


def compute_pooled_images(images: np.ndarray, *, n_copies: int = 20, seed: int = 42,
                          progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The paper's offline augmentation applied to *every* clip (the leaky order).

    Parameters
    ----------
    images : np.ndarray [shape=(n, h, w, c)], float in [0, 1]
    n_copies : int >= 0
        Copies per clip (the paper: 20).
    seed : int
    progress : bool

    Returns
    -------
    pooled : np.ndarray [shape=(n * (1 + n_copies), h, w, c)], float32
    source : np.ndarray [shape=(n * (1 + n_copies),)], int
        Clip (row of ``images``) each pooled image came from.
    """
    from fser_utils.training.augment import (AUGMENT_DEFAULTS, build_augmenter,
                                             compute_augmented_images)

    augmenter = build_augmenter(**AUGMENT_DEFAULTS, seed=seed)
    return compute_augmented_images(images, n_copies=n_copies, augmenter=augmenter,
                                    progress=progress)


def _pool(images: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks, flattened: the probe's distance space."""
    n, h, w, c = images.shape
    if h % factor or w % factor:
        raise FserError(f"pool factor {factor} does not divide the image size {h}x{w}")
    x = images.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))
    return x.reshape(n, -1).astype(np.float32)


def _nearest(train: np.ndarray, query: np.ndarray, *, chunk: int = 2048) -> np.ndarray:
    """Row of ``train`` nearest (Euclidean) to each row of ``query``."""
    sq = np.einsum("ij,ij->i", train, train)
    out = np.empty(len(query), dtype=np.int64)
    for s in range(0, len(query), chunk):
        # |a - b|^2 = |a|^2 - 2ab + |b|^2; |query|^2 is the same for every candidate
        d = sq[None, :] - 2.0 * query[s:s + chunk] @ train.T
        out[s:s + chunk] = np.argmin(d, axis=1)
    return out


def compute_nearest_neighbour_probe(images: np.ndarray, labels, part, *, n_copies: int = 20,
                                    test_size: float = 0.2, pool: int = 4, seed: int = 42,
                                    n_boot: int = 2000, progress: bool = True) -> pd.DataFrame:
    """1-nearest-neighbour accuracy with augmentation after the split and before it.

    Parameters
    ----------
    images : np.ndarray [shape=(n, h, w, c)], float in [0, 1]
        One image per clip.
    labels : array-like [shape=(n,)]
        Emotion of every clip.
    part : array-like of str [shape=(n,)]
        The honest split (``train``/``val``/``test``); validation clips are not used.
    n_copies : int >= 0
        Augmented copies per clip.
    test_size : float in (0, 1)
        Share of the pooled images that the leaky split sends to test.
    pool : int > 0
        Block size of the average pooling that makes distances cheap.
    seed : int
    n_boot : int > 0
    progress : bool

    Returns
    -------
    table : pd.DataFrame
        Rows ``augment after split (honest)`` and ``augment before split (leak)``
        with ``n_train``, ``n`` (test images), ``accuracy``, ``accuracy_low``,
        ``accuracy_high`` [%] and
        ``same_clip`` [%], the share of test images whose nearest training image is
        a copy of the same clip.
    """
    labels = np.asarray(labels).astype(str)
    part = np.asarray(part).astype(str)
    if not 0 < test_size < 1:
        raise FserError(f"test_size must lie in (0, 1), not {test_size}")
    if len(labels) != len(images) or len(part) != len(images):
        raise FserError("images, labels and part must have one entry per clip")
    pooled, source = compute_pooled_images(images, n_copies=n_copies, seed=seed,
                                           progress=progress)
    feats = _pool(pooled, pool)
    rng = np.random.default_rng(seed)

    train_clip = part == "train"
    honest_train = np.flatnonzero(train_clip[source])
    honest_test = np.flatnonzero(part == "test")  # originals come first in ``pooled``
    leak_test = rng.permutation(len(pooled))[:int(round(test_size * len(pooled)))]
    leak_train = np.setdiff1d(np.arange(len(pooled)), leak_test)

    rows = []
    for name, tr, te in (("augment after split (honest)", honest_train, honest_test),
                         ("augment before split (leak)", leak_train, leak_test)):
        if len(tr) == 0 or len(te) == 0:
            raise FserError(f"{name}: the split leaves no training or no test image")
        nn = tr[_nearest(feats[tr], feats[te])]
        y_true, y_pred = labels[source[te]], labels[source[nn]]
        rows.append({"arm": name, "n_train": len(tr),
                     **compute_accuracy_interval(y_true, y_pred, n_boot=n_boot, seed=seed),
                     "same_clip": 100 * float(np.mean(source[nn] == source[te]))})
    return pd.DataFrame(rows)


def compute_wilson_interval(k: int, n: int, *, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval [%] of a proportion of ``k`` successes in ``n`` trials.

    Used where only counts exist (an accuracy logged per epoch, not its predictions).
    """
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * (centre - half), 100 * (centre + half)


def compute_select_on_test(history: pd.DataFrame, n_test: int) -> pd.DataFrame:
    """What choosing the epoch on validation and on test each report.

    Parameters
    ----------
    history : pd.DataFrame
        One row per epoch with ``epoch``, ``val_accuracy`` and ``test_accuracy`` (in
        [0, 1]), as written by the resident training loop.
    n_test : int > 0
        Test clips (for the intervals).

    Returns
    -------
    table : pd.DataFrame
        Rows ``select on validation (honest)`` and ``select on test (leak)`` with the
        chosen ``epoch`` (from 1), ``n``, ``accuracy``, ``accuracy_low``,
        ``accuracy_high`` [%] (Wilson interval) and ``accuracy_se`` [%] (binomial
        standard error, ``sqrt(p (1 - p) / n)``). Ties go to the earliest epoch, as in
        training.
    """
    need = {"epoch", "val_accuracy", "test_accuracy"}
    if not need <= set(history.columns):
        raise FserError("this run's history has no test_accuracy column: train it with "
                        "fser train --log-test (or --loop resident) to log it")
    if history.empty or n_test < 1:
        raise FserError("the run has no epochs or no test clips")
    rows = []
    for name, column in (("select on validation (honest)", "val_accuracy"),
                         ("select on test (leak)", "test_accuracy")):
        i = int(np.argmax(history[column].to_numpy()))
        acc = float(history["test_accuracy"].iloc[i])
        low, high = compute_wilson_interval(int(round(acc * n_test)), n_test)
        rows.append({"arm": name, "epoch": int(history["epoch"].iloc[i]) + 1, "n": n_test,
                     "accuracy": 100 * acc, "accuracy_low": low, "accuracy_high": high,
                     "accuracy_se": 100 * float(np.sqrt(acc * (1 - acc) / n_test))})
    return pd.DataFrame(rows)


def compute_arms_table(honest_run, pooled_run, catalogue: pd.DataFrame, *,
                       probe: pd.DataFrame | None = None, n_boot: int = 2000,
                       seed: int = 0) -> pd.DataFrame:
    """Chapter 8's four leak arms beside the honest run, with intervals and the gap to 95.05 %.

    Parameters
    ----------
    honest_run : path-like
        Finished random-split run whose history logs ``test_accuracy`` (``--log-test``
        or the resident loop).
    pooled_run : path-like or None
        Finished run of :func:`fser_utils.studies.pooled_arm.train_pooled_arm` (arm a);
        ``None`` leaves it out.
    catalogue : pd.DataFrame
        Clips of the honest run (for the twins of arm c).
    probe : pd.DataFrame or None
        From :func:`compute_nearest_neighbour_probe` (arm d).
    n_boot, seed
        Of the bootstrap intervals.

    Returns
    -------
    table : pd.DataFrame
        One row per arm: ``arm``, ``n``, ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%],
        ``interval`` (bootstrap or Wilson), ``below_paper`` (95.05 minus the accuracy,
        in points) and ``recipe``.
    """
    from fser_utils.paper import PAPER_ACCURACY
    from fser_utils.studies.robustness import describe_budget
    from fser_utils.training.run import Run

    honest = Run.open(honest_run, finished=True)
    pred, budget = honest.load_predictions(), describe_budget(honest.path)
    rows = [{"arm": "honest: copies after the split, epoch chosen on validation",
             **compute_accuracy_interval(pred["emotion"], pred["predicted"], n_boot=n_boot,
                                         seed=seed),
             "interval": "bootstrap", "recipe": budget}]
    if pooled_run is not None:
        m = rename_old_interval_names(Run.open(pooled_run, finished=True).load_metrics())
        rows.append({"arm": "(a) copies made before the split (test: pooled images)",
                     "n": m["n_test"], "accuracy": 100 * m["test_accuracy"],
                     "accuracy_low": m["accuracy_low"], "accuracy_high": m["accuracy_high"],
                     "interval": "bootstrap", "recipe": describe_budget(pooled_run)})
    chosen = compute_select_on_test(honest.load_history(), len(pred)).iloc[1]
    rows.append({"arm": f"(b) epoch chosen on test (epoch {chosen['epoch']})",
                 **{k: chosen[k] for k in ARM_COLUMNS},
                 "interval": "Wilson", "recipe": budget})
    twins = compute_twin_accuracy(pred, honest.load_split(), catalogue, n_boot=n_boot,
                                  seed=seed)
    for r in twins.to_dict("records"):
        rows.append({"arm": f"(c) test clips: {r['group']}", **{k: r[k] for k in ARM_COLUMNS},
                     "interval": "bootstrap", "recipe": budget})
    for r in ([] if probe is None else probe.to_dict("records")):
        rows.append({"arm": f"(d) 1-NN probe, {r['arm']}", **{k: r[k] for k in ARM_COLUMNS},
                     "interval": "bootstrap", "recipe": "no training"})
    table = pd.DataFrame(rows)
    table["below_paper"] = PAPER_ACCURACY - table["accuracy"]
    return table[["arm", *ARM_COLUMNS, "interval", "below_paper", "recipe"]]


def compute_leak_curves(histories) -> pd.DataFrame:
    """Training, validation and test accuracy epoch by epoch, for several arms.

    The picture that shows a leak is test accuracy against training accuracy: on an
    honest split, test accuracy stalls below training accuracy; with copies of the
    test clips in training, it climbs with it.

    Parameters
    ----------
    histories : dict of str -> pd.DataFrame or path-like
        Arm label (e.g. ``honest``, ``(a) copies before the split``) -> a run's
        history (``epoch``, ``accuracy``, ``val_accuracy``, ``test_accuracy`` in
        [0, 1], as ``history.csv`` holds them) or its run folder. The run must have
        logged its test accuracy (``fser train --log-test``, ``fser leak pooled
        --log-test``).

    Returns
    -------
    table : pd.DataFrame
        One row per arm and epoch: ``arm``, ``epoch`` (from 1), ``train_accuracy``,
        ``val_accuracy``, ``test_accuracy`` [%] and ``kept`` (True on the epoch with
        the best validation accuracy, the earliest on ties, as training keeps it).

    Raises
    ------
    FserError
        No arm, an arm without epochs, or a history without test accuracy.
    """
    from fser_utils.training.run import Run

    if not histories:
        raise FserError("no run to draw")
    need = ["epoch", "accuracy", "val_accuracy", "test_accuracy"]
    parts = []
    for arm, history in histories.items():
        if not isinstance(history, pd.DataFrame):
            history = Run.open(history).load_history()
        missing = [c for c in need if c not in history.columns]
        if missing:
            raise FserError(f"the history of '{arm}' has no {', '.join(missing)}: train the "
                            "run with --log-test")
        if history.empty:
            raise FserError(f"the history of '{arm}' has no epochs")
        h = history[need].astype(float).reset_index(drop=True)
        part = pd.DataFrame({"arm": str(arm), "epoch": h["epoch"].astype(int) + 1,
                             "train_accuracy": 100 * h["accuracy"],
                             "val_accuracy": 100 * h["val_accuracy"],
                             "test_accuracy": 100 * h["test_accuracy"]})
        part["kept"] = np.arange(len(h)) == int(np.argmax(h["val_accuracy"].to_numpy()))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
