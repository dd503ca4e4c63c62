"""Scoring new recordings with a trained run: any common audio file to eight probabilities.

A run folder holds the model and the feature settings it was trained with, so a
clip is turned into exactly the image the network learned from, whatever its
format, sample rate or number of channels.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import get_runs_dir
from .corpora import EMOTIONS
from .errors import FserError

__all__ = [
    "AUDIO_EXTENSIONS",
    "Predictor",
    "find_model_run",
    "load_predictor",
    "list_audio_inputs",
    "predict_signal",
    "predict_files",
]

#: file endings a directory is searched for (libsndfile >= 1.1 decodes all of them)
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")


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

    @property
    def model_name(self) -> str:
        """The registered name of the run's model (``fser`` for older runs)."""
        return _run_model_name(self.run_dir) or "fser"

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities [shape=(n, len(classes))] of features [shape=(n, *settings.shape)]."""
        if hasattr(self.model, "predict_proba"):  # a scikit-learn pipeline
            from .classical import expand_proba

            proba = expand_proba(self.model, X, len(self.classes))
        else:
            proba = np.asarray(self.model.predict(X, verbose=0), dtype=float)
        if proba.ndim != 2 or proba.shape[1] != len(self.classes):
            raise FserError(f"model of '{self.run_dir}' gives {proba.shape[-1]} outputs, "
                            f"expected {len(self.classes)}")
        return proba


def _model_files(run_dir: Path) -> list[Path]:
    return [f for f in (run_dir / "model.keras", run_dir / "model.joblib") if f.is_file()]


def find_model_run(runs_dir=None, *, model: str | None = None) -> Path:
    """The run to score with: the newest run of the default model, else the newest run.

    Parameters
    ----------
    runs_dir : path-like or None
        Default :func:`fser_utils.config.get_runs_dir`.
    model : str or None
        Registered model name to prefer; default
        :data:`fser_utils.registry.DEFAULT_MODEL` (the best on unseen speakers).

    Raises
    ------
    FserError
        If no run folder has a model.
    """
    from .registry import DEFAULT_MODEL

    runs_dir = Path(runs_dir) if runs_dir is not None else get_runs_dir()
    found = [(f.stat().st_mtime, f.parent) for d in runs_dir.glob("*") if d.is_dir()
             for f in _model_files(d)]
    if not found:
        raise FserError(f"no trained model under '{runs_dir}': train one with 'fser train' "
                        "or pass --model RUN_DIR")
    wanted = model or DEFAULT_MODEL
    preferred = [(t, d) for t, d in found if _run_model_name(d) == wanted]
    return max(preferred or found, key=lambda pair: pair[0])[1]


def _run_model_name(run_dir: Path) -> str:
    try:
        model = json.loads((run_dir / "settings.json").read_text()).get("model", {})
    except (OSError, ValueError):
        return ""
    return model.get("name", "fser") if isinstance(model, dict) else ""


def _feature_settings(run_dir: Path):
    from .feature_kinds import feature_settings_from_dict

    path = run_dir / "settings.json"
    if not path.is_file():
        raise FserError(f"run folder '{run_dir}' has no settings.json")
    try:
        settings = json.loads(path.read_text())
    except ValueError as exc:
        raise FserError(f"'{path}' is not valid JSON: {exc}") from None
    for key in ("features", "feature_settings"):
        if isinstance(settings.get(key), dict):
            return feature_settings_from_dict(settings[key])
    raise FserError(f"'{path}' does not record the feature settings of the run")


def load_predictor(run_dir=None) -> Predictor:
    """Load a run's model and feature settings for scoring new clips.

    Parameters
    ----------
    run_dir : path-like or None
        A run folder with ``model.keras`` and ``settings.json``; ``None`` takes
        :func:`find_model_run`.

    Returns
    -------
    predictor : Predictor
    """
    run_dir = Path(run_dir) if run_dir is not None else find_model_run()
    if not run_dir.is_dir():
        raise FserError(f"run folder '{run_dir}' does not exist")
    if not _model_files(run_dir):
        raise FserError(f"run folder '{run_dir}' has no model.keras or model.joblib")
    settings = _feature_settings(run_dir)
    try:
        from .train import load_run_model
    except ImportError:  # a checkout without the training module can still score
        load_run_model = None
    try:
        if load_run_model is not None:
            model = load_run_model(run_dir)
        else:
            import keras

            model = keras.saving.load_model(_model_files(run_dir)[0], compile=False)
    except FserError:
        raise
    except Exception as exc:  # Keras raises many types for a broken file
        raise FserError(f"cannot load the model of '{run_dir}': {exc}") from None
    return Predictor(run_dir=run_dir, model=model, settings=settings)


def list_audio_inputs(paths) -> list[Path]:
    """Expand files and folders into the list of files to score.

    A folder gives its audio files (by :data:`AUDIO_EXTENSIONS`, searched
    recursively, sorted); a file is kept whatever its name, so that a bad file is
    reported rather than skipped; a missing path is kept too, for the same reason.
    """
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*")
                           if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS
                           and not f.name.startswith("."))
            if not files:
                found.append(p)  # reported as "no audio file in folder"
            found.extend(files)
        else:
            found.append(p)
    return found


def predict_signal(y: np.ndarray, *, sr: int, predictor: Predictor) -> pd.Series:
    """Score one signal already in memory (a recording from a notebook, say).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)] or [shape=(n, channels)]
        The signal; channels are averaged.
    sr : int > 0 [Hz]
        Its sample rate.
    predictor : Predictor

    Returns
    -------
    scores : pd.Series
        ``emotion`` (the most probable class), ``confidence`` and ``p_<class>`` for
        every class, probabilities in [0, 1].
    """
    from .features import SILENCE_PEAK

    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=1)
    s = predictor.settings
    if y.size * s.sr < s.n_fft * sr:
        raise FserError(f"signal is too short ({y.size / sr:.3f} s) for one analysis window")
    if not np.isfinite(y).all() or np.abs(y).max() < SILENCE_PEAK:
        raise FserError("signal is silent or contains NaN/infinite samples")
    from .feature_kinds import compute_features

    proba = predictor.predict_proba(compute_features(y, sr=sr, settings=s)[None])[0]
    return _row(proba, predictor.classes)


def _row(proba: np.ndarray, classes) -> pd.Series:
    best = int(np.argmax(proba))
    return pd.Series({"emotion": classes[best], "confidence": float(proba[best]),
                      **{f"p_{c}": float(v) for c, v in zip(classes, proba)}})


def predict_files(paths, *, predictor: Predictor | None = None, run_dir=None,
                  batch_size: int = 64,
                  progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score audio files and folders; bad files are reported, the others still scored.

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

    Returns
    -------
    scores : pd.DataFrame [shape=(n_ok, 3 + len(classes))]
        ``path``, ``emotion``, ``confidence``, ``p_<class>``, one row per scored file.
    errors : pd.DataFrame [shape=(n_bad, 2)]
        ``path`` and ``reason`` (one line), one row per file that could not be scored.
    """
    from tqdm import tqdm  # text bar: fser predict runs mostly in a terminal

    from .feature_kinds import compute_features
    from .features import load_audio

    predictor = predictor or load_predictor(run_dir)
    s = predictor.settings
    images, ok, errors = [], [], []
    for path in tqdm(list_audio_inputs(paths), desc="reading", unit="file", disable=not progress):
        if path.is_dir():
            errors.append((str(path), f"no audio file in folder '{path}'"))
            continue
        if not path.exists():
            errors.append((str(path), f"no such file '{path}'"))
            continue
        try:
            y = load_audio(path, sr=s.sr, n_fft=s.n_fft)
            images.append(compute_features(y, sr=s.sr, settings=s))
            ok.append(str(path))
        except FserError as exc:
            errors.append((str(path), str(exc)))
    columns = ["path", "emotion", "confidence"] + [f"p_{c}" for c in predictor.classes]
    rows = []
    for start in range(0, len(images), batch_size):
        proba = predictor.predict_proba(np.stack(images[start:start + batch_size]))
        rows.extend(_row(p, predictor.classes) for p in proba)
    scores = pd.DataFrame(rows, columns=columns[1:])
    scores.insert(0, "path", ok)
    return scores[columns], pd.DataFrame(errors, columns=["path", "reason"])
