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
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import FserError
from .evaluate import compute_bootstrap_ci

__all__ = ["TWIN_KEYS", "compute_seen_mask", "compute_twin_accuracy",
           "compute_pooled_images", "compute_nearest_neighbour_probe"]

#: a test clip is a "twin" when a training clip shares all of these
TWIN_KEYS = ("speaker", "sentence", "emotion")


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


def _interval(y_true, y_pred, *, n_boot: int, seed: int) -> dict:
    ci = compute_bootstrap_ci(np.asarray(y_true), np.asarray(y_pred), n_boot=n_boot, seed=seed)
    return {"n": ci["n"], "accuracy": ci["estimate"], "ci_low": ci["low"], "ci_high": ci["high"]}


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
        ``accuracy``, ``ci_low``, ``ci_high`` [%].
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
            rows.append({"group": name, "n": 0, "accuracy": np.nan, "ci_low": np.nan,
                         "ci_high": np.nan})
            continue
        rows.append({"group": name, **_interval(part["emotion"], part["predicted"],
                                                n_boot=n_boot, seed=seed)})
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
    from .augment import AUGMENT_DEFAULTS, build_augmenter, compute_augmented_images

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
        with ``n_train``, ``n`` (test images), ``accuracy``, ``ci_low``, ``ci_high`` [%] and
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
                     **_interval(y_true, y_pred, n_boot=n_boot, seed=seed),
                     "same_clip": 100 * float(np.mean(source[nn] == source[te]))})
    return pd.DataFrame(rows)
