"""From audio to the paper's image features: loading, mel-spectrograms, 64 x 64 images.

The pipeline is audio -> mono at ``sr`` -> mel power spectrogram (``n_fft = 512``,
``hop_length = 512``, Hann window, as in the paper) -> dB relative to the clip's peak,
floored at ``-top_db`` -> resized to ``image_size`` x ``image_size`` -> an 8-bit image,
either grey (1 channel) or coloured through a matplotlib colour map (3 channels, the
paper's RGB input). :func:`load_features` runs it in parallel over a catalogue and keeps
the result in an on-disk cache keyed by the settings.

Image orientation: row 0 is the *highest* mel band and column 0 the start of the clip,
so that ``plt.imshow(image)`` shows the spectrogram the way it is usually drawn.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.fft
import soundfile as sf

from .config import get_cache_dir
from .errors import FserError

__all__ = [
    "FeatureSettings",
    "SILENCE_PEAK",
    "load_audio",
    "compute_spectrum",
    "compute_spectrogram",
    "compute_melspectrogram",
    "compute_feature_image",
    "compute_feature_steps",
    "fix_length",
    "describe_frames",
    "load_features",
    "get_feature_cache_path",
]

#: bump when the image computation changes, so that old caches are not reused
FEATURE_VERSION = 2

#: a clip whose peak stays below one step of 16-bit audio carries no signal at all
SILENCE_PEAK = 2.0 ** -15

_POLICIES = ("resize", "fixed")


@dataclass(frozen=True)
class FeatureSettings:
    """Every parameter of the feature pipeline, in one hashable object.

    Parameters
    ----------
    sr : int > 0 [Hz]
        Sample rate every clip is brought to (librosa's default, 22 050 Hz).
    n_fft : int > 0 [samples]
        FFT and Hann window length (the paper: 512).
    hop_length : int > 0 [samples]
        Samples between successive frames (the paper: 512, i.e. no overlap).
    window : str
        Window name understood by :func:`scipy.signal.get_window`.
    n_mels : int > 0
        Mel bands.
    top_db : float > 0 [dB]
        Dynamic range kept below the clip's peak; quieter cells are clipped.
    image_size : int > 0 [pixels]
        Side of the square image (the paper: 64).
    channels : {3, 1}
        3: RGB through ``cmap`` (the paper's input); 1: the grey level itself.
    cmap : str
        Matplotlib colour map for ``channels=3``.
    length_policy : {"resize", "fixed"}
        "resize": the whole clip, however long, is squeezed into the image width;
        "fixed": the clip is first centred and padded with silence or cropped to
        ``duration`` seconds, so one pixel column is always the same time span.
    duration : float > 0 [s]
        Clip length for ``length_policy="fixed"`` (ignored otherwise).
    """

    sr: int = 22050
    n_fft: int = 512
    hop_length: int = 512
    window: str = "hann"
    n_mels: int = 128
    top_db: float = 80.0
    image_size: int = 64
    channels: int = 3
    cmap: str = "viridis"
    length_policy: str = "resize"
    duration: float = 3.0

    def __post_init__(self):
        for name in ("sr", "n_fft", "hop_length", "n_mels", "image_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise FserError(f"FeatureSettings.{name} must be a positive integer, got {value!r}")
        if self.channels not in (1, 3):
            raise FserError(f"FeatureSettings.channels must be 1 or 3, got {self.channels!r}")
        if self.length_policy not in _POLICIES:
            raise FserError(f"FeatureSettings.length_policy must be one of {_POLICIES}, "
                            f"got {self.length_policy!r}")
        if not self.top_db > 0 or not self.duration > 0:
            raise FserError("FeatureSettings.top_db and duration must be positive")
        if self.n_mels > self.n_fft // 2 + 1:
            raise FserError(f"FeatureSettings.n_mels={self.n_mels} exceeds the "
                            f"{self.n_fft // 2 + 1} FFT bins of n_fft={self.n_fft}")
        if self.channels == 3:
            _colour_table(self.cmap)  # fail now on an unknown colour map name

    def asdict(self) -> dict:
        """The settings as a plain, JSON-serialisable dict."""
        return dataclasses.asdict(self)

    def key(self) -> str:
        """A short hash of every field (and of the pipeline version): the cache key."""
        blob = json.dumps({**self.asdict(), "_version": FEATURE_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def shape(self) -> tuple:
        """Shape of one image: ``(image_size, image_size, channels)``."""
        return (self.image_size, self.image_size, self.channels)

    #: the feature kind's name in :data:`fser_utils.feature_kinds.FEATURE_KINDS`
    kind = "mel-image"
    #: images are cached as 8-bit
    dtype = np.uint8

    def compute(self, y: np.ndarray) -> np.ndarray:
        """The cached form of one clip's image: uint8 [shape=self.shape]."""
        return _image_uint8(y, self)

    def finish(self, images: np.ndarray) -> np.ndarray:
        """Cached uint8 images -> float32 in [0, 1], what the network eats."""
        return _to_unit(images)


# --- audio -----------------------------------------------------------------------

def load_audio(path, *, sr: int = 22050, n_fft: int = 512) -> np.ndarray:
    """Read an audio file as mono float32 at ``sr``, refusing clips that carry no signal.

    Parameters
    ----------
    path : path-like
        A file soundfile can decode (WAV, FLAC, OGG, ...).
    sr : int > 0 [Hz]
        Target sample rate; other rates are resampled with soxr (high quality),
        a file already at ``sr`` is returned as decoded.
    n_fft : int > 0 [samples]
        The analysis window: a clip shorter than this cannot give a single frame.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono signal (the channels' mean), ``n >= n_fft``.

    Raises
    ------
    FserError
        Naming the file, if it cannot be decoded, is empty, contains NaN or infinite
        samples, is shorter than one window, or is all silence (peak below
        :data:`SILENCE_PEAK`).
    """
    try:
        data, native_sr = sf.read(str(path), dtype="float32", always_2d=False)
    except Exception as exc:  # libsndfile raises several types for broken files
        raise FserError(f"cannot decode audio file '{path}': {exc}") from None
    if data.size == 0:
        raise FserError(f"audio file '{path}' is empty (0 samples)")
    # NaN and infinities propagate into the extremes: two reductions check everything
    low, high = float(data.min()), float(data.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        raise FserError(f"audio file '{path}' contains NaN or infinite samples")
    y = data.mean(axis=1, dtype=np.float32) if data.ndim > 1 else data
    if native_sr != sr:
        import soxr  # librosa's default resampler; imported late to keep workers light

        y = soxr.resample(y, native_sr, sr, quality="HQ").astype(np.float32, copy=False)
        low, high = float(y.min()), float(y.max())
    elif data.ndim > 1:
        low, high = float(y.min()), float(y.max())
    if y.size < n_fft:
        raise FserError(f"audio file '{path}' is shorter than one analysis window "
                        f"({y.size} < n_fft={n_fft} samples at {sr} Hz)")
    if max(-low, high) < SILENCE_PEAK:
        raise FserError(f"audio file '{path}' is all silence (peak below {SILENCE_PEAK:.1e})")
    return np.ascontiguousarray(y, dtype=np.float32)


def fix_length(y: np.ndarray, *, sr: int, duration: float) -> np.ndarray:
    """Centre ``y`` in exactly ``duration`` seconds: pad both ends with zeros, or crop both.

    Returns
    -------
    y_fixed : np.ndarray [shape=(round(duration * sr),)]
    """
    n = int(round(duration * sr))
    if y.size >= n:
        start = (y.size - n) // 2
        return y[start:start + n]
    before = (n - y.size) // 2
    return np.pad(y, (before, n - y.size - before))


def describe_frames(*, sr: int = 22050, n_fft: int = 512, hop_length: int = 512) -> dict:
    """What a window and a hop mean in time and frequency.

    Returns
    -------
    info : dict
        ``window_ms``, ``hop_ms`` [ms], ``frame_rate`` [frames/s], ``bin_hz`` (spacing
        of FFT bins) and ``mainlobe_hz`` (the Hann window's -6 dB bandwidth, about
        2 bins, i.e. the smallest frequency difference the window resolves) [Hz],
        ``overlap`` (fraction of a window shared by successive frames).
    """
    return {"sr": sr, "n_fft": n_fft, "hop_length": hop_length,
            "window_ms": 1000 * n_fft / sr, "hop_ms": 1000 * hop_length / sr,
            "frame_rate": sr / hop_length, "bin_hz": sr / n_fft,
            "mainlobe_hz": 2 * sr / n_fft, "overlap": max(0.0, 1 - hop_length / n_fft)}


# --- spectra -----------------------------------------------------------------------

def compute_spectrum(y: np.ndarray, *, sr: int):
    """Magnitude spectrum of the whole signal with :func:`scipy.fft.fft`.

    Returns
    -------
    freqs : np.ndarray [shape=(n,)] [Hz]
        Frequencies from ``-sr/2`` to ``sr/2`` (``fftshift`` order).
    magnitude : np.ndarray [shape=(n,)]
        ``|FFT(y)|`` at those frequencies; it is symmetric because ``y`` is real, which
        is why the positive half carries all the information.
    """
    spectrum = scipy.fft.fft(np.asarray(y, dtype=np.float64))
    freqs = scipy.fft.fftfreq(len(y), d=1.0 / sr)
    return scipy.fft.fftshift(freqs), scipy.fft.fftshift(np.abs(spectrum))


#: window, mel filter bank and colour table per setting; worker processes receive them
#: ready-made (see _extract_batch) so that they never import librosa or matplotlib
_TABLES: dict = {}


def _window(window: str, n_fft: int) -> np.ndarray:
    key = ("window", window, n_fft)
    if key not in _TABLES:
        import scipy.signal

        # periodic ("fftbins") window, exactly as librosa.filters.get_window builds it
        _TABLES[key] = scipy.signal.get_window(window, n_fft, fftbins=True).astype(np.float32)
    return _TABLES[key]


def _mel_basis_t(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa's (Slaney) mel filter bank, transposed: [shape=(1 + n_fft // 2, n_mels)]."""
    key = ("mel", sr, n_fft, n_mels)
    if key not in _TABLES:
        import librosa

        _TABLES[key] = np.ascontiguousarray(
            librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels).T, dtype=np.float32)
    return _TABLES[key]


def _power_frames(y: np.ndarray, *, n_fft: int, hop_length: int, window: str) -> np.ndarray:
    """|STFT|^2 with frames as rows [shape=(n_frames, 1 + n_fft // 2), dtype=float32].

    Same frames as ``librosa.stft(center=True, pad_mode="constant")``: the signal is
    zero-padded by ``n_fft // 2`` on both sides. Computed here with one single-precision
    real FFT over all frames at once, because that is where the time goes.
    """
    y = np.asarray(y, dtype=np.float32)
    half = n_fft // 2
    n_frames = 1 + y.size // hop_length
    padded = np.zeros(max((n_frames - 1) * hop_length + n_fft, y.size + 2 * half),
                      dtype=np.float32)
    padded[half:half + y.size] = y
    if hop_length == n_fft:  # the paper's setting: frames tile the signal, window in place
        frames = padded[:n_frames * n_fft].reshape(n_frames, n_fft)
        frames *= _window(window, n_fft)
    else:
        frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:n_frames]
        frames = frames * _window(window, n_fft)
    spec = scipy.fft.rfft(frames, axis=1, overwrite_x=True)
    pairs = spec.view(np.float32)  # (re, im) side by side
    pairs *= pairs
    return pairs[:, 0::2] + pairs[:, 1::2]


def compute_spectrogram(y: np.ndarray, *, sr: int, n_fft: int = 512, hop_length: int = 512,
                        window: str = "hann", top_db: float | None = 80.0) -> np.ndarray:
    """Linear-frequency power spectrogram in dB (relative to its peak).

    Used to compare narrow-band (long window) and broad-band (short window) analyses.

    Returns
    -------
    S_db : np.ndarray [shape=(1 + n_fft // 2, n_frames)] [dB]
        Bin ``k`` is at ``k * sr / n_fft`` Hz; frame ``t`` is centred at
        ``t * hop_length / sr`` seconds. Values lie in ``[-top_db, 0]``.
    """
    del sr  # part of the signature so that every compute_* is called the same way
    power = _power_frames(y, n_fft=n_fft, hop_length=hop_length, window=window)
    return _power_to_db(power.T, top_db=top_db)


def _power_to_db(power: np.ndarray, *, top_db: float | None) -> np.ndarray:
    """librosa.power_to_db(power, ref=np.max, amin=1e-10, top_db=top_db), in place:
    callers pass an array they own."""
    amin = 1e-10
    ref = max(amin, float(power.max()))
    db = np.maximum(power, amin, out=power)
    np.log10(db, out=db)
    db -= np.log10(ref)
    db *= 10.0
    if top_db is not None:
        np.maximum(db, -float(top_db), out=db)
    return db


def compute_melspectrogram(y: np.ndarray, *, sr: int, n_fft: int = 512, hop_length: int = 512,
                           n_mels: int = 128, window: str = "hann",
                           top_db: float | None = 80.0) -> np.ndarray:
    """Mel power spectrogram in dB, relative to the clip's loudest cell.

    Equal (to float rounding) to ``librosa.power_to_db(librosa.feature.melspectrogram(
    y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, window=window),
    ref=np.max, top_db=top_db)``, but faster: the mel filter bank is built once per
    setting and all frames go through a single FFT call.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : int > 0 [Hz]
    n_fft, hop_length : int > 0 [samples]
    n_mels : int > 0
    window : str
    top_db : float > 0 [dB] or None
        Floor below the peak; ``None`` keeps everything.

    Returns
    -------
    S_db : np.ndarray [shape=(n_mels, 1 + len(y) // hop_length)] [dB]
        Row 0 is the lowest mel band; values lie in ``[-top_db, 0]``.
    """
    power = _power_frames(y, n_fft=n_fft, hop_length=hop_length, window=window)
    return _power_to_db((power @ _mel_basis_t(sr, n_fft, n_mels)).T, top_db=top_db)


# --- images ----------------------------------------------------------------------

def _colour_table(cmap: str) -> np.ndarray:
    """(256, 3) uint8 colours of ``cmap``: grey level k -> RGB, as in an 8-bit PNG."""
    key = ("lut", cmap)
    if key not in _TABLES:
        import matplotlib

        try:
            colours = matplotlib.colormaps[cmap](np.linspace(0.0, 1.0, 256))[:, :3]
        except KeyError:
            raise FserError(f"unknown matplotlib colour map '{cmap}'") from None
        _TABLES[key] = np.round(colours * 255).astype(np.uint8)
    return _TABLES[key]


def _tables_for(settings: "FeatureSettings") -> dict:
    """The precomputed tables one setting needs (to ship to worker processes)."""
    s = settings
    _window(s.window, s.n_fft)
    _mel_basis_t(s.sr, s.n_fft, s.n_mels)
    if s.channels == 3:
        _colour_table(s.cmap)
    wanted = {("window", s.window, s.n_fft), ("mel", s.sr, s.n_fft, s.n_mels), ("lut", s.cmap)}
    return {k: v for k, v in _TABLES.items() if k in wanted}


@lru_cache(maxsize=512)
def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of area ("box") resampling.

    Output cell i averages the input over ``[i, i + 1) * n_in / n_out``, each input cell
    weighted by its overlap: an anti-aliased shrink, and a blocky stretch when
    ``n_out > n_in``. Two matrix products then resize a whole image.
    """
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    cells = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, cells + 1) - np.maximum(lo, cells), 0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def _grey_levels(S_db: np.ndarray, *, top_db: float, image_size: int) -> np.ndarray:
    """[-top_db, 0] dB -> resized, flipped 8-bit grey levels [shape=(size, size)].

    Resizing is linear and each row of the area matrices sums to one, so averaging the
    dB values and then mapping ``[-top_db, 0]`` to ``[0, 255]`` is the same as mapping
    first, on far fewer values.
    """
    rows = _area_matrix(S_db.shape[0], image_size)
    cols = _area_matrix(S_db.shape[1], image_size)
    small = rows @ S_db @ cols.T
    small *= 255.0 / top_db
    small += 255.0
    np.clip(small, 0.0, 255.0, out=small)
    return np.rint(small[::-1]).astype(np.uint8)


def _image_uint8(y: np.ndarray, settings: "FeatureSettings") -> np.ndarray:
    """The feature image as stored in the cache: uint8 [shape=settings.shape]."""
    s = settings
    if s.length_policy == "fixed":
        y = fix_length(y, sr=s.sr, duration=s.duration)
    S_db = compute_melspectrogram(y, sr=s.sr, n_fft=s.n_fft, hop_length=s.hop_length,
                                  n_mels=s.n_mels, window=s.window, top_db=s.top_db)
    grey = _grey_levels(S_db, top_db=s.top_db, image_size=s.image_size)
    if s.channels == 1:
        return grey[..., None]
    return _colour_table(s.cmap)[grey]


def compute_feature_steps(y: np.ndarray, *, sr: int,
                          settings: FeatureSettings | None = None) -> dict:
    """Every intermediate stage of :func:`compute_feature_image`, to show or check them.

    Returns
    -------
    steps : dict
        ``"signal"`` the (length-fixed) signal at ``settings.sr`` [shape=(n,)];
        ``"mel_db"`` [shape=(n_mels, n_frames)] in dB, row 0 the lowest band;
        ``"scaled"`` the same mapped to ``[0, 1]`` (``1 + mel_db / top_db``);
        ``"grey"`` the resized 8-bit image [shape=(size, size)] as float32 in ``[0, 1]``,
        row 0 the highest band; ``"image"`` the final image (what
        :func:`compute_feature_image` returns).
    """
    s = settings or FeatureSettings()
    y = np.asarray(y, dtype=np.float32)
    if sr != s.sr:
        import soxr

        y = soxr.resample(y, sr, s.sr, quality="HQ").astype(np.float32, copy=False)
    if s.length_policy == "fixed":
        y = fix_length(y, sr=s.sr, duration=s.duration)
    mel_db = compute_melspectrogram(y, sr=s.sr, n_fft=s.n_fft, hop_length=s.hop_length,
                                    n_mels=s.n_mels, window=s.window, top_db=s.top_db)
    grey = _grey_levels(mel_db, top_db=s.top_db, image_size=s.image_size)
    image = grey[..., None] if s.channels == 1 else _colour_table(s.cmap)[grey]
    return {"signal": y, "mel_db": mel_db, "scaled": np.clip(1 + mel_db / s.top_db, 0, 1),
            "grey": _to_unit(grey), "image": _to_unit(image)}


def _to_unit(images: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [0, 1]; the one conversion, so cached and fresh images agree."""
    out = images.astype(np.float32)  # then divide in place: faster than a mixed-type ufunc
    np.divide(out, np.float32(255), out=out)
    return out


def compute_feature_image(y: np.ndarray, *, sr: int,
                          settings: FeatureSettings | None = None) -> np.ndarray:
    """One clip's image feature, as the network sees it.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal; resampled to ``settings.sr`` if ``sr`` differs.
    sr : int > 0 [Hz]
        Sample rate of ``y``.
    settings : FeatureSettings or None
        Defaults to ``FeatureSettings()`` (the paper's 64 x 64 x 3).

    Returns
    -------
    image : np.ndarray [shape=(image_size, image_size, channels), dtype=float32]
        Values in ``[0, 1]``, multiples of 1/255 (an 8-bit image). Row 0 is the
        highest mel band, column 0 the clip's start.
    """
    settings = settings or FeatureSettings()
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise FserError(f"expected a mono signal of shape (n,), got shape {y.shape}")
    if sr != settings.sr:
        import soxr

        y = soxr.resample(y, sr, settings.sr, quality="HQ").astype(np.float32, copy=False)
    return _to_unit(_image_uint8(y, settings))


# --- a corpus at a time, cached -------------------------------------------------------

def _one_blas_thread():
    """Single-threaded BLAS: the products here are small, and on a busy machine
    BLAS threads competing with other processes slow them down many times over."""
    key = ("threadpool_controller",)
    if key not in _TABLES:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # comes with scikit-learn; without it, leave BLAS as it is
            _TABLES[key] = None
        else:  # finding the BLAS libraries takes milliseconds: do it once per process
            _TABLES[key] = ThreadpoolController()
    if _TABLES[key] is None:
        import contextlib

        return contextlib.nullcontext()
    return _TABLES[key].limit(limits=1, user_api="blas")


def _extract_batch(paths, settings, tables=None):
    """Worker task: images (uint8) and failure reasons for a list of files."""
    _TABLES.update(tables or {})
    with _one_blas_thread():
        return _extract_files(paths, settings)


def _extract_files(paths, settings):
    shape = settings.shape
    out = np.zeros((len(paths),) + shape, dtype=settings.dtype)
    reasons = []
    for i, path in enumerate(paths):
        try:
            y = load_audio(path, sr=settings.sr, n_fft=settings.n_fft)
            out[i] = settings.compute(y)
            reasons.append("")
        except FserError as exc:
            reasons.append(str(exc))
        except Exception as exc:  # anything else must still name the file
            reasons.append(f"cannot process '{path}': {type(exc).__name__}: {exc}")
    return out, reasons


def get_feature_cache_path(settings: FeatureSettings | None = None) -> Path:
    """The cache file of one setting: ``<cache dir>/features/<settings.key()>.npz``."""
    settings = settings or FeatureSettings()
    return get_cache_dir() / "features" / f"{settings.key()}.npz"


def _stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _read_cache(file: Path, settings: FeatureSettings):
    """The cache's contents as a dict, or None (with a warning) if it cannot be trusted."""
    if not file.exists():
        return None
    try:
        with np.load(file, allow_pickle=False) as npz:
            store = {k: npz[k] for k in ("images", "paths", "sizes", "mtimes", "reasons",
                                         "key", "crc")}
        import zlib

        n = len(store["paths"])
        ok = (str(store["key"]) == settings.key()
              and store["images"].shape == (n,) + settings.shape
              and store["images"].dtype == np.dtype(settings.dtype)
              and all(len(store[k]) == n for k in ("sizes", "mtimes", "reasons"))
              and int(store["crc"]) == zlib.crc32(store["images"].tobytes()))
        if not ok:
            raise ValueError("contents do not match their checksum, shape or key")
        return store
    except Exception as exc:  # truncated zip, bad CRC, missing member, ...
        warnings.warn(f"feature cache '{file}' is unreadable ({type(exc).__name__}: {exc}); "
                      "rebuilding it", stacklevel=3)
        return None


def _write_cache(file: Path, settings: FeatureSettings, store: dict) -> None:
    import zlib

    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.stem}.{os.getpid()}.tmp.npz")
    images = np.ascontiguousarray(store["images"])
    np.savez(tmp, images=images, paths=np.asarray(store["paths"], dtype=str),
             sizes=np.asarray(store["sizes"], dtype=np.int64),
             mtimes=np.asarray(store["mtimes"], dtype=np.int64),
             reasons=np.asarray(store["reasons"], dtype=str),
             key=np.asarray(settings.key()), crc=np.asarray(zlib.crc32(images.tobytes())),
             settings=np.asarray(json.dumps(settings.asdict())))
    os.replace(tmp, file)  # atomic: a reader sees the old file or the new one, never half


def _compute_many(paths, settings, *, n_jobs, progress):
    """Images and reasons for ``paths``, in parallel batches with a progress bar."""
    from joblib import Parallel, delayed
    from tqdm import tqdm

    n = len(paths)
    images = np.zeros((n,) + settings.shape, dtype=settings.dtype)
    reasons = [""] * n
    if n == 0:
        return images, reasons
    # batches of ~32 files: few enough tasks to keep joblib's overhead small, many
    # enough for a smooth progress bar and load balancing
    size = 32
    starts = list(range(0, n, size))
    tables = _tables_for(settings) if isinstance(settings, FeatureSettings) else {}
    if n_jobs == 1 or n <= size:
        results = (_extract_batch(paths[s:s + size], settings) for s in starts)
    else:
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_extract_batch)(paths[s:s + size], settings, tables) for s in starts)
    with tqdm(total=n, desc="features", unit="clip", disable=not progress,
              file=sys.stderr, mininterval=1.0) as bar:
        for s, (batch, why) in zip(starts, results):
            images[s:s + len(why)] = batch
            reasons[s:s + len(why)] = why
            bar.update(len(why))
    return images, reasons


def load_features(catalogue: "pd.DataFrame", settings: FeatureSettings | None = None, *,
                  skip_bad: bool = False, n_jobs: int | None = -1, cache: bool = True,
                  progress: bool = True):
    """Image features of every clip of a catalogue, computed in parallel and cached.

    Parameters
    ----------
    catalogue : pd.DataFrame
        Needs a ``path`` column (see :func:`fser_utils.catalogue.load_catalogue`).
    settings : FeatureSettings or None
        Defaults to ``FeatureSettings()``.
    skip_bad : bool
        False: a file that cannot be used raises :class:`FserError` naming it.
        True: such files are left out and listed in ``kept.attrs["skipped"]``.
    n_jobs : int or None
        joblib workers (-1: all cores). Under ``joblib.parallel_config(backend=...)``
        the work runs on that backend (e.g. a Dask or Ray cluster).
    cache : bool
        Read and update the cache file :func:`get_feature_cache_path`. It holds one
        entry per file (path, size, modification time), so a subset or a superset of a
        cached catalogue only computes what is missing or changed. A cache that is
        truncated, corrupt or inconsistent is rebuilt, never trusted.
    progress : bool
        Show a progress bar (on stderr) while extracting.

    Returns
    -------
    X : np.ndarray [shape=(n_kept, image_size, image_size, channels), dtype=float32]
        Values in ``[0, 1]``, row ``i`` is the image of ``kept.iloc[i]``.
    kept : pd.DataFrame
        The catalogue rows kept, in order, index reset. ``kept.attrs`` adds
        ``skipped`` (DataFrame with ``path`` and ``reason``), ``settings`` (dict),
        ``n_computed`` (clips extracted in this call), ``seconds`` and ``cache_file``.
        (pandas refuses to ``pd.concat`` frames whose ``attrs`` hold different
        DataFrames: clear ``attrs`` of pieces of ``kept`` before concatenating them.)
    """
    import pandas as pd

    t0 = time.perf_counter()
    settings = settings or FeatureSettings()
    if "path" not in catalogue.columns:
        raise FserError("the catalogue has no 'path' column")
    paths = [str(p) for p in catalogue["path"]]
    stamps = []
    for p in paths:
        try:
            stamps.append(_stamp(p))
        except OSError:
            stamps.append((-1, -1))  # missing: let the worker give the precise reason
    file = get_feature_cache_path(settings)
    store = _read_cache(file, settings) if cache else None

    images = np.zeros((len(paths),) + settings.shape, dtype=settings.dtype)
    reasons = [""] * len(paths)
    todo = list(range(len(paths)))
    if store is not None:
        where = {p: j for j, p in enumerate(store["paths"].tolist())}
        sizes, mtimes = store["sizes"].tolist(), store["mtimes"].tolist()
        hits, rows, todo = [], [], []
        for i, (p, (size, mtime)) in enumerate(zip(paths, stamps)):
            j = where.get(p)
            if j is not None and size >= 0 and sizes[j] == size and mtimes[j] == mtime:
                hits.append(i)
                rows.append(j)
            else:
                todo.append(i)
        images[hits] = store["images"][rows]
        for i, j in zip(hits, rows):
            reasons[i] = str(store["reasons"][j])
    if todo:
        new_images, new_reasons = _compute_many([paths[i] for i in todo], settings,
                                                n_jobs=n_jobs, progress=progress)
        images[todo] = new_images
        for i, why in zip(todo, new_reasons):
            reasons[i] = why
        if cache:
            _update_cache(file, settings, store, paths, stamps, images, reasons)

    bad = [i for i, why in enumerate(reasons) if why]
    if bad and not skip_bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise FserError(f"{reasons[bad[0]]}{more}; pass skip_bad=True (fser features "
                        "--skip-bad) to leave such files out and list them")
    good = np.array([not why for why in reasons], dtype=bool)
    X = settings.finish(images[good])
    kept = catalogue.loc[good].reset_index(drop=True)
    kept.attrs = dict(catalogue.attrs)
    kept.attrs.update(
        skipped=pd.DataFrame({"path": [paths[i] for i in bad],
                              "reason": [reasons[i] for i in bad]}, columns=["path", "reason"]),
        settings=settings.asdict(), n_computed=len(todo),
        seconds=time.perf_counter() - t0, cache_file=str(file) if cache else None)
    return X, kept


def _update_cache(file, settings, store, paths, stamps, images, reasons):
    """Write the cache: this call's files, plus the files of earlier calls not asked for."""
    wanted = set(paths)
    old = [] if store is None else [j for j, p in enumerate(store["paths"].tolist())
                                     if p not in wanted]
    merged = {
        "images": np.concatenate([store["images"][old], images]) if old else images,
        "paths": [str(store["paths"][j]) for j in old] + paths,
        "sizes": [int(store["sizes"][j]) for j in old] + [s for s, _ in stamps],
        "mtimes": [int(store["mtimes"][j]) for j in old] + [m for _, m in stamps],
        "reasons": [str(store["reasons"][j]) for j in old] + reasons,
    }
    try:
        _write_cache(file, settings, merged)
    except OSError as exc:  # a read-only cache must not cost the caller the features
        warnings.warn(f"could not write the feature cache '{file}': {exc}", stacklevel=3)
