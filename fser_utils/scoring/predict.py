"""Scoring new recordings with a trained run: any common audio file to eight probabilities.

A run folder holds the model and the feature settings it was trained with, so a
clip is turned into exactly the image the network learned from, whatever its
format, sample rate or number of channels.
"""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
from fser_utils.features.speaker_norm import MIN_CORPUS_CLIPS, MIN_SPEAKER_CLIPS

__all__ = [
    "AUDIO_EXTENSIONS",
    "Predictor",
    "find_model_run",
    "load_predictor",
    "list_audio_inputs",
    "predict_signal",
    "predict_files",
    "compute_shift_averaged_proba",
    "load_run_parts",
]

#: file endings a directory is searched for (libsndfile >= 1.1 decodes all of them)
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")

#: for each group a model may standardise over: the fewest clips a batch needs, what the
#: clips of one batch share, and the group as a refusal names it
_GroupBatch = namedtuple("_GroupBatch", "least unit what")
_GROUP_BATCH = {
    "speaker": _GroupBatch(MIN_SPEAKER_CLIPS, "speaker", "one speaker's clips"),
    "corpus": _GroupBatch(MIN_CORPUS_CLIPS, "setting",
                          "the clips of one corpus (one setting: microphone, room, language)"),
}


@dataclass
class Predictor:
    """A trained model with the feature settings and classes of its run.

    Attributes
    ----------
    run_dir : Path
        The run folder the model comes from.
    model : keras.Model
        Maps images [shape=(n, 64, 64, C)] to probabilities [shape=(n, len(classes))].
    settings : FeatureSettings
        The feature settings the run was trained with.
    classes : tuple of str
        Output order of the model (:data:`EMOTIONS`).
    """

    run_dir: Path
    model: object
    settings: object
    classes: tuple = EMOTIONS

    @cached_property  # read once: predict_signal asks for every clip it scores
    def model_name(self) -> str:
        """The registered name of the run's model (``fser`` for older runs)."""
        from fser_utils.training.run import Run

        return Run(self.run_dir).model_name or "fser"

    @cached_property
    def spec(self):
        """The registry entry of the run's model (None for a model no longer registered)."""
        from fser_utils.models.registry import MODELS

        return MODELS.get(self.model_name)

    @cached_property
    def _recorded_model(self) -> dict:
        from fser_utils.training.run import Run

        model = Run(self.run_dir).load_settings(missing_ok=True).get("model")
        return model if isinstance(model, dict) else {}

    def _flag(self, name: str) -> bool:
        # the run's own record first, so that a run still scores after its registry entry
        # is renamed or removed; the registry only for runs older than that record
        if name in self._recorded_model:
            return bool(self._recorded_model[name])
        return bool(self.spec and getattr(self.spec, name))

    @property
    def speaker_norm(self) -> bool:
        """Whether the model reads features standardised over one speaker's clips."""
        return self._flag("speaker_norm")

    @property
    def clip_norm(self) -> bool:
        """Whether the model reads features standardised over each clip's own frames."""
        return self._flag("clip_norm")

    @property
    def corpus_norm(self) -> bool:
        """Whether the model reads features standardised over one corpus's clips."""
        return self._flag("corpus_norm")

    @property
    def group_norm(self) -> str | None:
        """``"speaker"`` or ``"corpus"``: the group of clips the model reads features
        standardised over, so that it scores a batch of them, never a single clip; None
        for a model that scores each clip on its own."""
        if self.speaker_norm:
            return "speaker"
        return "corpus" if self.corpus_norm else None

    def check_group_batch(self, n_clips: int = 1) -> None:
        """Refuse too few clips for a model that standardises over a speaker's or a
        corpus's clips (any number is fine otherwise)."""
        if self.group_norm is None:
            return
        least, unit, what = _GROUP_BATCH[self.group_norm]
        if n_clips < least:
            raise FserError(f"model '{self.model_name}' standardises features over {what}: "
                            f"give at least {least} files of the same {unit} "
                            f"(got {n_clips} usable)")

    def normalize_batch(self, X: np.ndarray) -> np.ndarray:
        """Features [shape=(n, *settings.shape)] of clips of one speaker or one setting,
        standardised together as the model reads them (:attr:`group_norm`; unchanged for
        a model without one); too few clips are refused (:meth:`check_group_batch`)."""
        from fser_utils.features.speaker_norm import normalize_features

        if self.group_norm is None:
            return X
        self.check_group_batch(len(X))
        return normalize_features(X, settings=self.settings, speaker_norm=self.speaker_norm,
                                  corpus_norm=self.corpus_norm,
                                  groups=np.zeros(len(X), dtype=int))

    def normalize_clips(self, X: np.ndarray) -> np.ndarray:
        """Features as the model reads them, for a model that standardises each clip on its
        own (unchanged otherwise); :meth:`predict_proba` applies it."""
        from fser_utils.features.speaker_norm import normalize_features

        # per speaker or corpus is done by the caller, who knows which clips go together
        return normalize_features(X, settings=self.settings, clip_norm=self.clip_norm)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities [shape=(n, len(classes))] of features [shape=(n, *settings.shape)]."""
        X = self.normalize_clips(X)  # as in training; each clip on its own, any batch will do
        if hasattr(self.model, "predict_proba"):  # a scikit-learn pipeline
            from fser_utils.models.classical import expand_proba

            proba = expand_proba(self.model, X, len(self.classes))
        else:
            proba = np.asarray(self.model.predict(X, verbose=0), dtype=float)
        if proba.ndim != 2 or proba.shape[1] != len(self.classes):
            raise FserError(f"model of '{self.run_dir}' gives {proba.shape[-1]} outputs, "
                            f"expected {len(self.classes)}")
        return proba


def find_model_run(runs_dir=None, *, model: str | None = None) -> Path:
    """The run to score with: the newest run of the default model, else the newest run.

    Parameters
    ----------
    runs_dir : path-like or None
        Default :func:`fser_utils.config.get_runs_dir`.
    model : str or None
        Registered model name to prefer; default
        :data:`fser_utils.models.registry.DEFAULT_MODEL` (the best validated on unseen speakers).

    Raises
    ------
    FserError
        If no run folder has a model.
    """
    from fser_utils.models.registry import DEFAULT_MODEL
    from fser_utils.training.run_names import find_latest_run

    return find_latest_run(runs_dir, model=model or DEFAULT_MODEL).path


def load_predictor(run_dir=None) -> Predictor:
    """Load a run's model and feature settings for scoring new clips.

    The run is validated here, before any audio is read: its settings must be valid
    JSON and fit the model (:meth:`fser_utils.training.run.Run.load_model`).

    Parameters
    ----------
    run_dir : path-like or None
        A run folder with a model and its settings; ``None`` takes
        :func:`find_model_run`.

    Returns
    -------
    predictor : Predictor
    """
    from fser_utils.training.run import Run

    run = Run.open(run_dir if run_dir is not None else find_model_run())
    model = run.load_model()
    return Predictor(run_dir=run.path, model=model, settings=run.load_feature_settings())


def list_audio_inputs(paths) -> list[Path]:
    """Expand files and folders into the list of files to score.

    A folder gives its audio files (by :data:`AUDIO_EXTENSIONS`, searched
    recursively, sorted); a file is kept whatever its name, so that a bad file is
    reported rather than skipped; a missing path is kept too, for the same reason.
    """
    found = []
    for p in map(Path, paths):
        try:
            is_dir = p.is_dir()
        except OSError:  # a name or path too long: kept, and reported when it is read
            is_dir = False
        if is_dir:
            # a link that loops or points nowhere is listed, so that it is reported
            # FIFOs, sockets and devices are listed too (is_dir only stats them), so that
            # they are reported rather than silently left out
            files = sorted(f for f in p.rglob("*")
                           if not f.is_dir() and f.suffix.lower() in AUDIO_EXTENSIONS
                           and not f.name.startswith("."))
            if not files:
                found.append(p)  # reported as "no audio file in folder"
            found.extend(files)
        else:
            found.append(p)
    return found


def compute_shift_averaged_proba(X: np.ndarray, *, predictor: Predictor,
                                 shifts=(0,)) -> np.ndarray:
    """Class probabilities averaged over circular time shifts of each clip.

    Test-time augmentation: the model scores every clip several times, rolled along its
    time axis by each of ``shifts`` frames (as the training recipe's time shift does), and
    the probabilities are averaged. ``shifts=(0,)`` is plain scoring.

    Parameters
    ----------
    X : np.ndarray [shape=(n, *predictor.settings.shape)]
        Frame-wise features (log-mel spectrograms, MFCC sequences).
    predictor : Predictor
    shifts : sequence of int
        Shifts in frames; negative ones move the clip earlier.

    Returns
    -------
    proba : np.ndarray [shape=(n, len(predictor.classes))]
    """
    from fser_utils.features.kinds import get_time_axis

    if not len(shifts):
        raise FserError("give at least one shift (0 scores the clips as they are)")
    axis = get_time_axis(predictor.settings)
    if axis is None:
        raise FserError(f"model '{predictor.model_name}' reads clip-level features; they "
                        "have no time axis to shift")
    return np.mean([predictor.predict_proba(np.roll(X, int(s), axis=axis + 1))
                    for s in shifts], axis=0)


def predict_signal(y: np.ndarray, *, sr: int, predictor: Predictor) -> pd.Series:
    """Score one signal already in memory (a recording from a notebook, say).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)] or [shape=(n, channels)]
        The signal; channels are averaged, the DC offset is removed.
    sr : int > 0 [Hz]
        Its sample rate.
    predictor : Predictor

    Returns
    -------
    scores : pd.Series
        ``emotion`` (the most probable class), ``confidence`` and ``p_<class>`` for
        every class, probabilities in [0, 1].

    Raises
    ------
    FserError
        Shorter than :data:`fser_utils.scoring.windows.MIN_SECONDS`, silent (zeros, or only a
        constant offset), or with NaN or infinite samples.
    """
    from fser_utils.features.audio import SILENCE_PEAK
    from fser_utils.features.kinds import compute_features
    from fser_utils.scoring.windows import check_duration

    predictor.check_group_batch(1)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=1)
    check_duration(y.size / sr)
    # peak-to-peak: a constant (a DC offset alone) is as silent as zeros
    if not np.isfinite(y).all() or np.ptp(y) < SILENCE_PEAK:
        raise FserError("signal is silent (zeros or a constant offset) or contains "
                        "NaN/infinite samples")
    y = y - np.float32(y.mean(dtype=np.float64))  # before resampling: an offset rings at the ends
    proba = predictor.predict_proba(compute_features(y, sr=sr, settings=predictor.settings)[None])
    return _row(proba[0], predictor.classes)


def _row(proba: np.ndarray, classes) -> pd.Series:
    best = int(np.argmax(proba))
    return pd.Series({"emotion": classes[best], "confidence": float(proba[best]),
                      **{f"p_{c}": float(v) for c, v in zip(classes, proba)}})


def predict_files(paths, *, predictor: Predictor | None = None, run_dir=None,
                  batch_size: int = 64, progress: bool = False, windows: bool | None = None,
                  window: float | None = None, hop: float | None = None,
                  return_windows: bool = False):
    """Score audio files and folders; bad files are reported, the others still scored.

    Short files are scored whole, as the model was trained; long recordings in
    overlapping windows streamed from disk (memory stays flat with length), their
    label being the mean of the window probabilities over the voiced windows (see
    :mod:`fser_utils.scoring.windows`). A model registered with ``speaker_norm`` scores every
    file whole and takes all the files given as clips of *one* speaker: their features
    are standardised together (:mod:`fser_utils.features.speaker_norm`). A model registered
    with ``corpus_norm`` does the same with the files as recordings from *one* setting
    (one corpus: microphone, room, language), at least
    :data:`~fser_utils.features.speaker_norm.MIN_CORPUS_CLIPS` of them.

    Parameters
    ----------
    paths : sequence of path-like
        Files and folders (see :func:`list_audio_inputs`).
    predictor : Predictor or None
        Default: :func:`load_predictor` of ``run_dir``.
    run_dir : path-like or None
        Run folder when ``predictor`` is None (None: the newest run with a model).
    batch_size : int > 0
    progress : bool
        Show a tqdm progress bar while reading files.
    windows : bool or None
        None: windows for files longer than :data:`fser_utils.scoring.windows.LONG_RECORDING`
        (15 s); True: for every file; False: never (a long file is then read whole).
    window, hop : float > 0 [s] or None
        Window length and step; None: :data:`~fser_utils.scoring.windows.DEFAULT_WINDOW`
        (3 s) and :data:`~fser_utils.scoring.windows.DEFAULT_HOP` (1.5 s).
    return_windows : bool
        Also return the table of every window.

    Returns
    -------
    scores : pd.DataFrame [shape=(n_ok, 5 + len(classes))]
        ``path``, ``emotion``, ``confidence``, ``p_<class>``, ``scored_as`` (``"whole
        file"``, or how the window probabilities were combined) and ``warning``
        (``""``, or one line: a truncated file, scored on what it holds), one row per
        scored file, in input order.
    errors : pd.DataFrame [shape=(n_bad, 2)]
        ``path`` and ``reason`` (one line), one row per file that could not be scored.
    window_table : pd.DataFrame
        Only with ``return_windows``: :func:`fser_utils.scoring.windows.predict_windows` tables
        of the files scored in windows, one after the other.
    """
    from tqdm import tqdm  # text bar: fser predict runs mostly in a terminal

    from fser_utils.atomic import escape_path
    from fser_utils.features.cache import limit_blas_threads
    from fser_utils.scoring.windows import DEFAULT_HOP, DEFAULT_WINDOW, check_window_settings

    predictor = predictor or load_predictor(run_dir)
    if predictor.group_norm:
        if windows:
            raise FserError(f"model '{predictor.model_name}' scores whole files of one "
                            f"{_GROUP_BATCH[predictor.group_norm].unit}, not windows")
        windows = False
    window = DEFAULT_WINDOW if window is None else window
    hop = DEFAULT_HOP if hop is None else hop
    check_window_settings(window=window, hop=hop)
    results, pending, errors, tables = {}, [], [], []
    with limit_blas_threads():  # small products: BLAS threads only contend
        for i, path in enumerate(tqdm(list_audio_inputs(paths), desc="reading", unit="file",
                                      disable=not progress)):
            try:
                row, x, table = _score_file(path, predictor, windows=windows, window=window,
                                            hop=hop, batch_size=batch_size)
            except FserError as exc:
                # every path leaves as escape_path writes it: one printable line, exact
                errors.append((escape_path(path), _printable(str(exc))))
                continue
            results[i] = row
            if x is not None:
                pending.append((i, x))
            if table is not None:
                tables.append(table)
    X = predictor.normalize_batch(np.stack([x for _, x in pending])) if pending else None
    for start in range(0, len(pending), batch_size):  # short files: one model call per batch
        proba = predictor.predict_proba(X[start:start + batch_size])
        for (i, _), p in zip(pending[start:start + batch_size], proba):
            results[i].update(_row(p, predictor.classes))
    columns = (["path", "emotion", "confidence"] + [f"p_{c}" for c in predictor.classes]
               + ["scored_as", "warning"])
    scores = pd.DataFrame([results[i] for i in sorted(results)], columns=columns)
    errors = pd.DataFrame(errors, columns=["path", "reason"])
    if not return_windows:
        return scores, errors
    from fser_utils.scoring.windows import _window_table

    window_table = (pd.concat(tables, ignore_index=True) if tables
                    else _window_table("", [], predictor.classes))
    return scores, errors, window_table


def _printable(text: str) -> str:
    # a file name that is not UTF-8 reaches messages as lone surrogates: \xNN instead,
    # so that a terminal, a CSV or a JSON file can take them
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _score_file(path, predictor, *, windows, window, hop, batch_size):
    """(row, features to score or None, window table or None) of one input path."""
    from fser_utils.features.audio import load_audio
    from fser_utils.features.kinds import compute_features
    from fser_utils.scoring.windows import (LONG_RECORDING, check_audio_header, check_duration,
                          predict_windows, summarize_windows)

    from fser_utils.atomic import escape_path

    info, warning = check_audio_header(path)
    s = predictor.settings
    row = {"path": escape_path(path), "scored_as": "whole file"}
    if windows is False or (windows is None and info["duration"] <= LONG_RECORDING):
        # as the training clips were read, so that the image is the one the model knows
        y = load_audio(path, sr=s.sr, n_fft=s.n_fft, allow_truncated=True)
        check_duration(y.size / s.sr, name=f"audio file '{path}'")
        x, table, notes = compute_features(y, sr=s.sr, settings=s), None, []
    else:
        table, notes = predict_windows(path, predictor=predictor, window=window, hop=hop,
                                       batch_size=batch_size)
        row.update(summarize_windows(table, window=window, hop=hop))
        x = None
    row["warning"] = "; ".join(filter(None, [warning, *notes]))
    return row, x, table


def load_run_parts(run_dirs, *, root=None, parts=("val", "test")):
    """Each run's predictor with the clips and features of parts of its own split.

    Features are computed once per feature kind from the corpora the runs were split
    from and, for a model registered with ``speaker_norm`` (``corpus_norm``), standardised
    per speaker (per corpus) over the whole catalogue, as in training; per-clip
    standardisation is left to
    :meth:`Predictor.normalize_clips`. For the benchmarks that rescore stored runs.

    Parameters
    ----------
    run_dirs : iterable of path-like
        Run folders that still hold their models.
    root : path-like or None
        Data root (default: as :func:`fser_utils.config.get_data_root` finds it).
    parts : sequence of {"train", "val", "test"}

    Yields
    ------
    predictor : Predictor
    part : str
    clips : pd.DataFrame
        The split's rows of that part.
    X : np.ndarray [shape=(len(clips), *predictor.settings.shape), dtype=float32]
    """
    import json

    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.features import load_features
    from fser_utils.training.run import Run

    splits = [(run_dir, Run(run_dir).load_split()) for run_dir in run_dirs]
    used = sorted({c for _, split in splits for c in split["corpus"].astype(str)})
    catalogue, cache = load_catalogue(root, corpora=used), {}
    for run_dir, split in splits:
        predictor = load_predictor(run_dir)
        key = (json.dumps(predictor.settings.asdict(), sort_keys=True), predictor.group_norm)
        if key not in cache:  # runs of one feature kind (and normalisation) share one array
            X, cat = load_features(catalogue, predictor.settings, progress=False)
            if predictor.group_norm:
                from fser_utils.features.speaker_norm import compute_norm_groups, normalize_features

                flags = {"speaker_norm": predictor.speaker_norm,
                         "corpus_norm": predictor.corpus_norm}
                X = normalize_features(X, settings=predictor.settings, **flags,
                                       groups=compute_norm_groups(cat, **flags))
            cache[key] = (X, {r: i for i, r in enumerate(cat["relpath"])})
        X, where = cache[key]
        for part in parts:
            clips = split[split["part"] == part]
            yield (predictor, part, clips,
                   np.asarray(X[[where[r] for r in clips["relpath"]]], dtype=np.float32))
