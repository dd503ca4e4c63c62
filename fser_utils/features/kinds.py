"""Feature kinds beyond the paper's picture, and the registry that names them all.

A *feature kind* is a frozen settings class with a stable ``key()``, the ``shape`` and
``dtype`` of one clip's array, and two methods: ``compute(y)`` (mono signal at
``sr`` -> stored array) and ``finish(arrays)`` (stored arrays -> what a model eats).
:func:`fser_utils.features.cache.load_features` extracts, caches and checks any of them the
same way, so adding a kind is one class plus one line in :data:`FEATURE_KINDS`.
Every kind receives the same prepared signal (:func:`fser_utils.features.audio.prepare_signal`:
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
import importlib
import json
import sys
from dataclasses import dataclass

import numpy as np

from fser_utils.features.audio import fix_length, prepare_signal
from fser_utils.errors import FserError
from fser_utils.features.frontend import compute_logmel_db, trim_silence
from fser_utils.features.images import FeatureSettings

__all__ = ["compute_features", "LogMelSettings", "MfccSettings", "SmileSettings", "FEATURE_KINDS",
           "get_feature_settings", "get_time_axis", "feature_settings_from_dict",
           "feature_settings_from_record", "describe_feature_kind", "name_feature_kind"]

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
    # librosa.effects.trim's arithmetic, without importing librosa (see fser_utils.features.frontend)
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
        librosa's mel spectrogram, computed by :func:`fser_utils.features.frontend.compute_logmel_db`."""
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


def _own_fields(settings) -> dict:
    """The fields that rebuild ``settings`` (a dataclass's fields; else its ``asdict()``
    without ``kind``)."""
    if dataclasses.is_dataclass(settings):
        return dataclasses.asdict(settings)
    return {k: v for k, v in settings.asdict().items() if k != "kind"}


def _class_path(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


#: where the settings classes lived before the package was cut by stage (runs written
#: then record these paths)
_MOVED_MODULES = {"fser_utils.images": "fser_utils.features.images",
                  "fser_utils.feature_kinds": "fser_utils.features.kinds",
                  "fser_utils.speaker_norm": "fser_utils.features.speaker_norm"}


def _current_class_path(path) -> str:
    module, sep, qualname = str(path).partition(":")
    return f"{_MOVED_MODULES.get(module, module)}{sep}{qualname}"


def name_feature_kind(settings) -> str | None:
    """The name in :data:`FEATURE_KINDS` that ``settings`` belong to, or None.

    Several names may build the same class (``egemaps`` and ``compare`` are both
    :class:`SmileSettings`): the name whose default settings differ from ``settings`` in
    the fewest fields wins, the first registered on a tie.
    """
    fields, best = _own_fields(settings), None
    for name, factory in FEATURE_KINDS.items():
        try:
            default = factory()
        except (TypeError, FserError):
            continue  # a factory that needs arguments names no default to compare with
        if type(default) is not type(settings):
            continue
        defaults = _own_fields(default)
        n_changed = sum(defaults.get(k) != v for k, v in fields.items())
        if best is None or n_changed < best[0]:
            best = (n_changed, name)
    return best[1] if best else None


def describe_feature_kind(settings) -> dict:
    """What a run records of its feature kind, so that it can be rebuilt without today's
    registry (:func:`feature_settings_from_record` reads it back).

    Returns
    -------
    record : dict
        ``name`` (the :data:`FEATURE_KINDS` name, None for an unregistered kind),
        ``class`` (``"module:qualname"`` of the settings class) and ``settings`` (its
        fields, JSON-ready).
    """
    return {"name": name_feature_kind(settings), "class": _class_path(type(settings)),
            "settings": json.loads(json.dumps(_own_fields(settings)))}


def _load_settings_class(path: str):
    """The settings class named ``"module:qualname"``, if it may be used.

    Only a module inside ``fser_utils`` is imported here; any other module must already
    have been imported by the program, since importing a module named by a file would
    run whatever code that file chose.
    """
    module, _, qualname = _current_class_path(path).partition(":")
    names = module.split(".") + qualname.split(".")
    if not qualname or not all(n.isidentifier() for n in names):
        raise FserError(f"'{path}' does not name a settings class (module:qualname)")
    if module not in sys.modules:
        if module.split(".")[0] != "fser_utils":
            raise FserError(f"feature kind '{path}' is neither registered nor imported: "
                            f"import {module} first, or register the kind in FEATURE_KINDS")
        try:
            importlib.import_module(module)
        except ImportError:
            raise FserError(f"feature kind '{path}' no longer exists in fser_utils") from None
    cls = sys.modules[module]
    for name in qualname.split("."):
        cls = getattr(cls, name, None)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)
            and all(hasattr(cls, a) for a in ("compute", "finish", "shape", "asdict"))):
        raise FserError(f"'{path}' is not a feature settings class (a dataclass with "
                        "compute, finish, shape and asdict)")
    return cls


def feature_settings_from_record(settings: dict):
    """A run's feature settings, rebuilt from its whole ``settings.json``.

    In order: the registered kind the run names (``feature_kind.name``), if it still
    builds the recorded class; else the recorded class itself (``feature_kind.class``), used
    only if its module is inside ``fser_utils`` or already imported, never imported from
    the name a file gives (see :func:`_load_settings_class`); else, for runs written
    before that record, ``features`` as :func:`feature_settings_from_dict` reads it.

    Raises
    ------
    FserError
        No feature settings recorded, or none of the above rebuilds them.
    """
    record = settings.get("feature_kind")
    if isinstance(record, dict) and isinstance(record.get("settings"), dict):
        fields = record["settings"]
        if record.get("name") in FEATURE_KINDS:
            try:
                found = get_feature_settings(record["name"], **fields)
            except FserError:
                found = None  # the registered kind changed its fields: try the class
            recorded = _current_class_path(record.get("class"))
            if found is not None and _class_path(type(found)) == recorded:
                return found
        cls = _load_settings_class(record.get("class", ""))
        try:
            return cls(**fields)
        except (TypeError, ValueError) as exc:
            raise FserError(f"bad feature settings in the run: {exc}") from None
    for key in ("features", "feature_settings"):
        if isinstance(settings.get(key), dict):
            return feature_settings_from_dict(settings[key])
    raise FserError("the run does not record its feature settings")


def feature_settings_from_dict(data: dict):
    """Rebuild settings from :meth:`asdict` output (as ``settings.json`` keeps it under
    ``features``), through :data:`FEATURE_KINDS`.

    ``kind`` is a registry name, or the class's ``kind`` (runs written before the registry
    name was recorded store both openSMILE kinds as ``"smile"``: the first kind of that
    class is rebuilt with the recorded fields, ``feature_set`` included).
    """
    data = dict(data)
    kind = data.pop("kind", "mel-image")
    factory = FEATURE_KINDS.get(kind)
    if factory is None:
        factory = next((f for f in FEATURE_KINDS.values()
                        if getattr(_default_of(f), "kind", None) == kind), None)
    if factory is None:
        raise FserError(f"unknown feature kind '{kind}' in the run's settings")
    default = _default_of(factory)
    fields = set(_own_fields(default)) if default is not None else set(data)
    try:
        return factory(**{k: v for k, v in data.items() if k in fields})
    except TypeError as exc:
        raise FserError(f"bad feature settings in the run: {exc}") from None


def _default_of(factory):
    try:
        return factory()
    except (TypeError, FserError):
        return None


def compute_features(y: np.ndarray, *, sr: int, settings) -> np.ndarray:
    """One clip's features as a model eats them, for any feature kind.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal; prepared by :func:`fser_utils.features.audio.prepare_signal` (resampled to
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
