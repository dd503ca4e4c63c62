"""Feature kinds beyond the paper's picture, and the registry that names them all.

A *feature kind* is a frozen settings class with a stable ``key()``, the ``shape`` and
``dtype`` of one clip's array, and two methods: ``compute(y)`` (mono signal at
``sr`` -> stored array) and ``finish(arrays)`` (stored arrays -> what a model eats).
:func:`fser_utils.cache.load_features` extracts, caches and checks any of them the
same way, so adding a kind is one class plus one line in :data:`FEATURE_KINDS`.
Every kind receives the same prepared signal (:func:`fser_utils.audio.prepare_signal`:
mono, resampled to its ``sr``, DC offset removed).

=============  =====================================================  ================
name           what                                                   shape
=============  =====================================================  ================
mel-image      the paper's 64 x 64 RGB picture of a mel-spectrogram   (64, 64, 3)
logmel         log-mel spectrogram, 64 bands x 4 s at 20 ms steps     (64, 200, 1)
mfcc           39 MFCCs x 4 s at 32 ms steps (as TIM-Net feeds)       (125, 39)
egemaps        openSMILE eGeMAPSv02 functionals                       (88,)
compare        openSMILE ComParE_2016 functionals                     (6373,)
=============  =====================================================  ================

Both spectral kinds first trim leading and trailing silence (RAVDESS clips open with
about a second of it), then centre the speech in a fixed window, so one column is
always the same span of time and the model sees speech, not padding.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

import numpy as np

from .audio import fix_length, prepare_signal
from .errors import FserError
from .frontend import compute_logmel_db, trim_silence
from .images import FeatureSettings

__all__ = ["compute_features", "LogMelSettings", "MfccSettings", "SmileSettings", "FEATURE_KINDS",
           "get_feature_settings", "get_time_axis", "feature_settings_from_dict"]

#: bump when a computation below changes, so that old caches are not reused
#: (2: librosa's resampler, DC offset removed)
KINDS_VERSION = 2


class _Kind:
    """Shared behaviour of the settings classes below (all frozen dataclasses)."""

    kind = ""
    #: axis of frames within one clip's array, for per-speaker normalisation of
    #: frame-wise features (None: one vector per clip, or no such step supported)
    time_axis = None

    def asdict(self) -> dict:
        return {"kind": self.kind, **dataclasses.asdict(self)}

    def key(self) -> str:
        blob = json.dumps({**self.asdict(), "_version": KINDS_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def finish(self, arrays: np.ndarray) -> np.ndarray:
        return np.asarray(arrays, dtype=np.float32)


def _trim(y: np.ndarray, top_db: float) -> np.ndarray:
    # librosa.effects.trim's arithmetic, without importing librosa (see fser_utils.frontend)
    return trim_silence(y, top_db=top_db, frame_length=1024, hop_length=256)


class _FixedWindow(_Kind):
    """Spectral kinds: trimmed speech centred in ``duration`` seconds, cut into frames."""

    dtype = np.float16

    @property
    def n_frames(self) -> int:
        return int(round(self.duration * self.sr)) // self.hop_length

    def _speech_window(self, y: np.ndarray) -> np.ndarray:
        return fix_length(_trim(y, self.trim_db), sr=self.sr, duration=self.duration)


@dataclass(frozen=True)
class LogMelSettings(_FixedWindow):
    """Single-channel log-mel spectrogram at a fixed duration.

    Parameters
    ----------
    sr : int > 0 [Hz]
    n_fft : int > 0 [samples]
        Window and FFT length (32 ms at 16 kHz).
    hop_length : int > 0 [samples]
        20 ms at 16 kHz.
    n_mels : int > 0
    fmin, fmax : float [Hz]
    duration : float > 0 [s]
        Window the trimmed speech is centred in (padded with silence or cropped).
    trim_db : float > 0 [dB]
        Threshold below the peak for trimming leading and trailing silence.
    top_db : float > 0 [dB]
        Floor below the clip's peak.
    """

    sr: int = 16000
    n_fft: int = 512
    hop_length: int = 320
    n_mels: int = 64
    fmin: float = 50.0
    fmax: float = 8000.0
    duration: float = 4.0
    trim_db: float = 35.0
    top_db: float = 80.0
    kind = "logmel"
    time_axis = 1

    @property
    def shape(self) -> tuple:
        return (self.n_mels, self.n_frames, 1)

    def compute(self, y: np.ndarray) -> np.ndarray:
        """``(n_mels, n_frames, 1)`` dB relative to the peak, in ``[-top_db, 0]``:
        librosa's mel spectrogram, computed by :func:`fser_utils.frontend.compute_logmel_db`."""
        return compute_logmel_db(y, settings=self)

    def finish(self, arrays: np.ndarray) -> np.ndarray:
        # dB in [-80, 0] -> roughly zero-mean, unit-scale input for the network
        return (np.asarray(arrays, dtype=np.float32) + 40.0) / 40.0


@dataclass(frozen=True)
class MfccSettings(_FixedWindow):
    """MFCC sequence at a fixed duration: time first, coefficients as channels.

    Parameters
    ----------
    sr : int > 0 [Hz]
    n_mfcc : int > 0
        39, as TIM-Net uses (plain coefficients, no deltas).
    n_fft, hop_length : int > 0 [samples]
        64 ms windows, 32 ms steps at 16 kHz.
    n_mels : int > 0
    duration, trim_db : see :class:`LogMelSettings`
    """

    sr: int = 16000
    n_mfcc: int = 39
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 64
    duration: float = 4.0
    trim_db: float = 35.0
    kind = "mfcc"

    @property
    def shape(self) -> tuple:
        return (self.n_frames, self.n_mfcc)

    def compute(self, y: np.ndarray) -> np.ndarray:
        import librosa

        M = librosa.feature.mfcc(y=self._speech_window(y), sr=self.sr, n_mfcc=self.n_mfcc, n_fft=self.n_fft,
                                 hop_length=self.hop_length, n_mels=self.n_mels)
        return M[:, :self.n_frames].T.astype(np.float16)

    def finish(self, arrays: np.ndarray) -> np.ndarray:
        # c0 spans hundreds, the others tens: one global scale keeps their ratios
        return np.asarray(arrays, dtype=np.float32) / 100.0


_SMILE: dict = {}


@dataclass(frozen=True)
class SmileSettings(_Kind):
    """openSMILE functionals of the whole clip (one vector per clip).

    Parameters
    ----------
    feature_set : {"eGeMAPSv02", "ComParE_2016"}
    sr : int > 0 [Hz]
        Clips are resampled to this rate before openSMILE sees them.
    """

    feature_set: str = "eGeMAPSv02"
    sr: int = 16000
    kind = "smile"
    n_fft = 400  # the shortest clip openSMILE can describe: one 25 ms frame

    _SIZES = {"eGeMAPSv02": 88, "ComParE_2016": 6373}

    def __post_init__(self):
        if self.feature_set not in self._SIZES:
            raise FserError(f"unknown openSMILE feature set '{self.feature_set}' "
                            f"(choose from: {', '.join(self._SIZES)})")

    @property
    def shape(self) -> tuple:
        return (self._SIZES[self.feature_set],)

    dtype = np.float32

    def compute(self, y: np.ndarray) -> np.ndarray:
        import sys

        if "tensorflow" in sys.modules and self.feature_set not in _SMILE:
            # openSMILE's native library crashes (malloc) when first loaded into a
            # process that already holds TensorFlow: run it in a helper process instead
            if "pool" not in _SMILE:
                import concurrent.futures
                import multiprocessing

                _SMILE["pool"] = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            return _SMILE["pool"].submit(_smile_values, y, self.sr, self.feature_set).result()
        return _smile_values(y, self.sr, self.feature_set)


def _smile_values(y: np.ndarray, sr: int, feature_set: str) -> np.ndarray:
    smile = _SMILE.get(feature_set)
    if smile is None:
        try:
            import opensmile
        except ImportError:
            raise FserError("the openSMILE features need the 'opensmile' package "
                            "(pip install opensmile)") from None
        smile = opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, feature_set),
                                feature_level=opensmile.FeatureLevel.Functionals)
        _SMILE[feature_set] = smile
    values = smile.process_signal(y, sr).to_numpy(dtype=np.float32).ravel()
    if not np.isfinite(values).all():
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    return values


def _mel_image(**kw):
    return FeatureSettings(**kw)


#: name -> settings factory (called with keyword overrides of its fields)
FEATURE_KINDS = {
    "mel-image": _mel_image,
    "logmel": LogMelSettings,
    "mfcc": MfccSettings,
    "egemaps": lambda **kw: SmileSettings(**{"feature_set": "eGeMAPSv02", **kw}),
    "compare": lambda **kw: SmileSettings(**{"feature_set": "ComParE_2016", **kw}),
}


def get_feature_settings(name: str, **overrides):
    """Settings of a registered feature kind, with some fields replaced.

    Raises
    ------
    FserError
        Unknown kind or field.
    """
    if name not in FEATURE_KINDS:
        raise FserError(f"unknown feature kind '{name}' (choose from: {', '.join(FEATURE_KINDS)})")
    try:
        return FEATURE_KINDS[name](**overrides)
    except TypeError as exc:
        raise FserError(f"bad settings for feature kind '{name}': {exc}") from None


def get_time_axis(settings) -> int | None:
    """The axis of frames in one clip's array of ``settings``, or None (one vector per clip).

    Kinds declare it as the class attribute ``time_axis`` (:class:`LogMelSettings`: 1). A
    kind without it, such as the paper's images or a user's own kind, counts as one
    vector per clip, which per-speaker normalisation refuses for arrays of more than
    one dimension.
    """
    return getattr(settings, "time_axis", None)


def feature_settings_from_dict(data: dict):
    """Rebuild settings from :meth:`asdict` output (as a run's ``settings.json`` keeps it)."""
    data = dict(data)
    kind = data.pop("kind", "mel-image")
    classes = {"logmel": LogMelSettings, "mfcc": MfccSettings, "smile": SmileSettings,
               "mel-image": FeatureSettings}
    if kind not in classes:
        raise FserError(f"unknown feature kind '{kind}' in the run's settings")
    cls = classes[kind]
    fields = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in fields})
    except TypeError as exc:
        raise FserError(f"bad feature settings in the run: {exc}") from None


def compute_features(y: np.ndarray, *, sr: int, settings) -> np.ndarray:
    """One clip's features as a model eats them, for any feature kind.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal; prepared by :func:`fser_utils.audio.prepare_signal` (resampled to
        ``settings.sr`` if ``sr`` differs, DC offset removed, checked).
    sr : int > 0 [Hz]
    settings : settings of a feature kind (see :data:`FEATURE_KINDS`)

    Returns
    -------
    x : np.ndarray [shape=settings.shape, dtype=float32]

    Raises
    ------
    FserError
        If ``y`` is not 1-D, is non-finite, silent or shorter than one window.
    """
    y = prepare_signal(y, sr=sr, target_sr=settings.sr, min_samples=settings.n_fft)
    return settings.finish(settings.compute(y)[None])[0]
