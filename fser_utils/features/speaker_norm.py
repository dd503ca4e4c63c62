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

Clip-level functionals are standardised column by column. Frame-wise features such as a
log-mel spectrogram are standardised band by band over the speaker's *speech* frames
(cepstral mean and variance normalisation per speaker): the padding that centres short
clips in their window is left out of the statistics and set to :data:`PAD_VALUE`.

Corpus normalisation (:func:`normalize_per_corpus`) is the same step with each corpus
as the group. Every corpus was recorded with its own microphones, in its own rooms, by
its own actors in its own language, and a classifier trained on some corpora reads those
differences as if they were emotions; a corpus never heard in training sits off to one
side of everything it learnt. Schuller, Vlasenko, Eyben et al. ("Cross-Corpus Acoustic
Emotion Recognition: Variances and Strategies", IEEE Transactions on Affective Computing
1(2), 2010) found standardising the features per corpus the most useful of their
normalisations across six corpora. For a corpus held out for testing, its statistics come
from its own clips, without their labels: the standard, transductive use, and the one a
user repeats by scoring a batch of recordings from one setting together. As with
speakers, it relies on each corpus's clips covering a similar spread of emotions: URDU,
with four of the eight classes, is centred on the mean of those four.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fser_utils.errors import FserError
from fser_utils.features.kinds import get_time_axis

__all__ = ["MIN_SPEAKER_CLIPS", "MIN_CORPUS_CLIPS", "PAD_VALUE", "compute_speaker_groups",
           "compute_corpus_groups", "compute_norm_groups", "normalize_per_speaker",
           "normalize_per_corpus", "normalize_per_clip", "normalize_features"]

#: fewest clips from which a speaker's means and spreads are estimated
MIN_SPEAKER_CLIPS = 5

#: fewest clips from which a corpus's means and spreads are estimated: more than a
#: speaker's, as a corpus's clips should cover its speakers and its emotions
MIN_CORPUS_CLIPS = 20

#: what padding frames become in frame-wise features: three spreads below the speaker's
#: mean in every band, i.e. quieter than nearly all of that speaker's speech (as the
#: padding was before), and the same for every speaker
PAD_VALUE = -3.0


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


def compute_corpus_groups(catalogue: pd.DataFrame) -> np.ndarray:
    """One key per clip naming its corpus.

    Parameters
    ----------
    catalogue : pd.DataFrame [shape=(n, ...)]
        With a ``corpus`` column.

    Returns
    -------
    groups : np.ndarray [shape=(n,), dtype=object]
    """
    if "corpus" not in catalogue.columns:
        raise FserError("corpus normalisation needs the catalogue column: corpus")
    return catalogue["corpus"].astype(str).to_numpy()


def compute_norm_groups(catalogue: pd.DataFrame, *, speaker_norm: bool = False,
                        corpus_norm: bool = False) -> np.ndarray | None:
    """The groups :func:`normalize_features` standardises over, for a model's flags.

    Returns
    -------
    groups : np.ndarray [shape=(n,)] or None
        Speaker keys (:func:`compute_speaker_groups`), corpus keys
        (:func:`compute_corpus_groups`), or None for a model standardising neither way.
    """
    if speaker_norm:
        return compute_speaker_groups(catalogue)
    return compute_corpus_groups(catalogue) if corpus_norm else None


def normalize_per_speaker(X: np.ndarray, *, groups, min_clips: int = MIN_SPEAKER_CLIPS,
                          time_axis: int | None = None) -> np.ndarray:
    """Standardise every feature over the clips of each speaker.

    Parameters
    ----------
    X : np.ndarray [shape=(n, d) or (n, ...)]
        One vector of clip-level features per clip (functionals such as eGeMAPS) or,
        with ``time_axis``, one frame-wise array per clip (a log-mel spectrogram of
        shape ``(n, n_mels, n_frames, 1)``).
    groups : array-like [shape=(n,)]
        Speaker key of each clip (:func:`compute_speaker_groups`).
    min_clips : int > 0
        A speaker with fewer clips is refused rather than normalised on noise.
    time_axis : int >= 0 or None
        Axis of frames within one clip's array (``1`` for a log-mel spectrogram). The
        statistics are then taken per feature over all the speaker's speech frames. A
        padding frame, one whose every value is the clip's minimum (the floor of a
        spectrogram), is left out of them and set to :data:`PAD_VALUE`.

    Returns
    -------
    Z : np.ndarray [shape=X.shape, dtype=float32]
        Per speaker, every feature has mean 0 and standard deviation 1 (over the
        speaker's clips, or their speech frames); a feature that is constant for a
        speaker becomes 0.

    Raises
    ------
    FserError
        ``X`` is not two-dimensional and no ``time_axis`` is given, ``time_axis`` is
        not an axis of a clip, ``groups`` has another length, or a speaker has fewer
        than ``min_clips`` clips.
    """
    return _normalize_groups(X, groups=groups, min_clips=min_clips, time_axis=time_axis,
                             unit="speaker")


def normalize_per_corpus(X: np.ndarray, *, groups, min_clips: int = MIN_CORPUS_CLIPS,
                         time_axis: int | None = None) -> np.ndarray:
    """Standardise every feature over the clips of each corpus.

    :func:`normalize_per_speaker` with corpora as the groups (see the module's notes on
    why): the same statistics, the same handling of frames and padding.

    Parameters
    ----------
    X : np.ndarray [shape=(n, d) or (n, ...)]
        Clip-level features, or frame-wise ones with ``time_axis``.
    groups : array-like [shape=(n,)]
        Corpus of each clip (:func:`compute_corpus_groups`).
    min_clips : int > 0
        A corpus with fewer clips is refused rather than normalised on noise.
    time_axis : int >= 0 or None
        As for :func:`normalize_per_speaker`.

    Returns
    -------
    Z : np.ndarray [shape=X.shape, dtype=float32]
        Per corpus, every feature has mean 0 and standard deviation 1.

    Raises
    ------
    FserError
        As :func:`normalize_per_speaker`, for corpora.
    """
    return _normalize_groups(X, groups=groups, min_clips=min_clips, time_axis=time_axis,
                             unit="corpus")


def _normalize_groups(X, *, groups, min_clips, time_axis, unit):
    X = np.asarray(X, dtype=np.float32 if time_axis is not None else np.float64)
    groups = np.asarray(groups)
    if time_axis is None and X.ndim != 2:
        raise FserError(f"{unit} normalisation works on one feature vector per clip, "
                        f"got arrays of shape {X.shape[1:]} (frame-wise features need "
                        "a time axis)")
    if time_axis is not None and not 0 <= time_axis < X.ndim - 1:
        raise FserError(f"time axis {time_axis} is not an axis of clips of shape {X.shape[1:]}")
    if len(groups) != len(X):
        raise FserError(f"{len(groups)} {unit} keys for {len(X)} clips")
    keys, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    few = [f"{k} ({c})" for k, c in zip(keys, counts) if c < min_clips]
    if few:
        raise FserError(f"{unit} normalisation needs at least {min_clips} clips per {unit}; "
                        f"too few for: {', '.join(few[:5])}{' ...' if len(few) > 5 else ''}")
    if time_axis is not None:
        return _normalize_frames(X, inverse, len(keys), time_axis)
    Z = np.empty_like(X)
    for g in range(len(keys)):
        rows = inverse == g
        mean, std = X[rows].mean(axis=0), X[rows].std(axis=0)
        Z[rows] = (X[rows] - mean) / np.where(std > 0, std, np.inf)  # constant -> 0
    return Z.astype(np.float32)


def normalize_per_clip(X: np.ndarray, *, time_axis: int) -> np.ndarray:
    """Standardise every band of each clip over that clip's own speech frames.

    The single-clip counterpart of :func:`normalize_per_speaker` (each clip is its own
    "speaker"): it removes the clip's average spectrum and level, much of which belongs
    to the voice and the microphone, and needs nothing but the clip itself at scoring
    time. It also removes whatever the average spectrum says about the emotion.

    Parameters
    ----------
    X : np.ndarray [shape=(n, ...)]
        One frame-wise array per clip, e.g. log-mel spectrograms ``(n, n_mels, n_frames, 1)``.
    time_axis : int >= 0
        Axis of frames within one clip's array.

    Returns
    -------
    Z : np.ndarray [shape=X.shape, dtype=float32]
        Per clip, every band has mean 0 and standard deviation 1 over its speech frames;
        padding frames are :data:`PAD_VALUE`.
    """
    return normalize_per_speaker(X, groups=np.arange(len(X)), min_clips=1, time_axis=time_axis)


def normalize_features(X: np.ndarray, *, settings, speaker_norm: bool = False,
                       clip_norm: bool = False, corpus_norm: bool = False,
                       groups=None) -> np.ndarray:
    """Features as a model reads them: the one normalisation step of training and scoring.

    Training (:func:`fser_utils.training.train.train_model`) and scoring
    (:mod:`fser_utils.scoring.predict`) both call this with the model's flags, as the run records
    them, so the two cannot drift apart.

    Parameters
    ----------
    X : np.ndarray [shape=(n, *settings.shape)]
    settings : settings of a feature kind
        Give the axis of frames (:func:`fser_utils.features.kinds.get_time_axis`).
    speaker_norm : bool
        Standardise over each speaker's clips (:func:`normalize_per_speaker`).
    clip_norm : bool
        Standardise each clip over its own frames (:func:`normalize_per_clip`).
    corpus_norm : bool
        Standardise over each corpus's clips (:func:`normalize_per_corpus`).
    groups : array-like [shape=(n,)] or None
        Speaker key (``speaker_norm``) or corpus (``corpus_norm``) of each clip, as
        :func:`compute_norm_groups` gives them.

    Returns
    -------
    Z : np.ndarray [shape=X.shape]
        ``X`` itself when no flag is set.

    Raises
    ------
    FserError
        More than one flag set, or ``speaker_norm`` or ``corpus_norm`` without ``groups``.
    """
    if speaker_norm + clip_norm + corpus_norm > 1:
        raise FserError("standardise per speaker, per clip or per corpus: one of them")
    if speaker_norm or corpus_norm:
        unit = "speaker" if speaker_norm else "corpus"
        if groups is None:
            raise FserError(f"per-{unit} normalisation needs the {unit} of every clip")
        normalize = normalize_per_speaker if speaker_norm else normalize_per_corpus
        return normalize(X, groups=groups, time_axis=get_time_axis(settings))
    if clip_norm:
        return normalize_per_clip(X, time_axis=get_time_axis(settings))
    return X


def _normalize_frames(X, inverse, n_groups, time_axis):
    # (n, frames, features) view: one statistic per feature, pooled over speech frames
    frames = np.moveaxis(X, time_axis + 1, 1)
    shape = frames.shape
    frames = frames.reshape(len(X), shape[1], -1)
    floor = frames.min(axis=(1, 2), keepdims=True)
    pad = (frames <= floor).all(axis=2)
    Z = np.empty_like(frames)
    for g in range(n_groups):
        rows = np.flatnonzero(inverse == g)
        clips, speech = frames[rows], ~pad[rows]
        values = clips[speech] if speech.any() else clips.reshape(-1, clips.shape[2])
        mean, std = values.mean(axis=0), values.std(axis=0)
        z = (clips - mean) / np.where(std > 0, std, np.inf)
        z[~speech] = PAD_VALUE
        Z[rows] = z
    return np.moveaxis(Z.reshape(shape), 1, time_axis + 1)
