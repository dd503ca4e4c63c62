"""Speaker normalisation: describe each clip relative to its own speaker.

A loud, high-pitched speaker's calm voice can measure like a quiet speaker's anger.
Standardising every feature over each speaker's own clips (a z-score per speaker)
removes much of that difference before the classifier sees it, a long-standing step
in emotion recognition ({cite}`busso2013iterative` refine it by estimating the
statistics on each speaker's neutral-sounding clips only). It needs no labels, but it does
need *several unlabelled clips of the same speaker at scoring time*, test clips
included: the statistics of a test speaker are computed from that speaker's test
clips. So a model trained this way cannot score one clip on its own, and it relies on
each speaker's clips covering a spread of emotions, as they do in acted corpora,
where every actor records every emotion. A speaker heard only in anger would be
"normalised" towards neutral.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import FserError

__all__ = ["MIN_SPEAKER_CLIPS", "compute_speaker_groups", "normalize_per_speaker"]

#: fewest clips from which a speaker's means and spreads are estimated
MIN_SPEAKER_CLIPS = 5


def compute_speaker_groups(catalogue: pd.DataFrame) -> np.ndarray:
    """One key per clip naming its speaker within its corpus.

    Parameters
    ----------
    catalogue : pd.DataFrame [shape=(n, ...)]
        With ``corpus`` and ``speaker`` columns.

    Returns
    -------
    groups : np.ndarray [shape=(n,), dtype=object]
        ``"<corpus>/<speaker>"`` (speaker codes repeat across corpora).
    """
    missing = [c for c in ("corpus", "speaker") if c not in catalogue.columns]
    if missing:
        raise FserError(f"speaker normalisation needs the catalogue columns: {', '.join(missing)}")
    return (catalogue["corpus"].astype(str) + "/" + catalogue["speaker"].astype(str)).to_numpy()


def normalize_per_speaker(X: np.ndarray, *, groups, min_clips: int = MIN_SPEAKER_CLIPS
                          ) -> np.ndarray:
    """Standardise every feature over the clips of each speaker.

    Parameters
    ----------
    X : np.ndarray [shape=(n, d)]
        One vector of clip-level features per clip (functionals such as eGeMAPS).
    groups : array-like [shape=(n,)]
        Speaker key of each clip (:func:`compute_speaker_groups`).
    min_clips : int > 0
        A speaker with fewer clips is refused rather than normalised on noise.

    Returns
    -------
    Z : np.ndarray [shape=(n, d), dtype=float32]
        Per speaker, every column has mean 0 and standard deviation 1; a column that
        is constant for a speaker becomes 0.

    Raises
    ------
    FserError
        ``X`` is not two-dimensional, ``groups`` has another length, or a speaker has
        fewer than ``min_clips`` clips.
    """
    X = np.asarray(X, dtype=np.float64)
    groups = np.asarray(groups)
    if X.ndim != 2:
        raise FserError("speaker normalisation works on one feature vector per clip, "
                        f"got arrays of shape {X.shape[1:]}")
    if len(groups) != len(X):
        raise FserError(f"{len(groups)} speaker keys for {len(X)} clips")
    keys, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    few = [f"{k} ({c})" for k, c in zip(keys, counts) if c < min_clips]
    if few:
        raise FserError(f"speaker normalisation needs at least {min_clips} clips per speaker; "
                        f"too few for: {', '.join(few[:5])}{' ...' if len(few) > 5 else ''}")
    Z = np.empty_like(X)
    for g in range(len(keys)):
        rows = inverse == g
        mean, std = X[rows].mean(axis=0), X[rows].std(axis=0)
        Z[rows] = (X[rows] - mean) / np.where(std > 0, std, np.inf)  # constant -> 0
    return Z.astype(np.float32)
