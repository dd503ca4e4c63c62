"""The paper's feature: a mel-spectrogram drawn as a small 8-bit (RGB) image.

The pipeline, written once in :func:`_render`: a prepared signal at ``sr`` (see
:func:`fser_utils.features.audio.prepare_signal`) -> optionally centred in ``duration`` seconds ->
mel power spectrogram in dB relative to the clip's peak, floored at ``-top_db``
(:func:`fser_utils.features.spectral.compute_melspectrogram`) -> resized to ``image_size`` x
``image_size`` by area averaging -> 8-bit grey levels -> grey (1 channel) or coloured
through a matplotlib colour map (3 channels, the paper's RGB input).

Image orientation: row 0 is the *highest* mel band and column 0 the start of the clip,
so that ``plt.imshow(image)`` shows the spectrogram the way it is usually drawn.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fser_utils.features.audio import fix_length, prepare_signal
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
from fser_utils.features.spectral import compute_melspectrogram

__all__ = [
    "FeatureSettings",
    "FEATURE_VERSION",
    "compute_feature_image",
    "compute_feature_steps",
    "compute_class_means",
]

#: bump when the image computation changes, so that old caches are not reused
#: (3: librosa's STFT and resampler, DC offset removed)
FEATURE_VERSION = 3

_POLICIES = ("resize", "fixed")


@dataclass(frozen=True)
class FeatureSettings:
    """Every parameter of the image feature, in one hashable object.

    Parameters
    ----------
    sr : int > 0 [Hz]
        Sample rate every clip is brought to (librosa's default, 22 050 Hz).
    n_fft : int > 0 [samples]
        FFT and Hann window length (the paper: 512).
    hop_length : int > 0 [samples]
        Samples between successive frames (the paper: 512, i.e. no overlap).
    window : str
        Window name understood by :func:`librosa.filters.get_window`.
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

    #: the feature kind's name in :data:`fser_utils.features.kinds.FEATURE_KINDS`
    kind = "mel-image"
    #: images are cached as 8-bit
    dtype = np.uint8

    def compute(self, y: np.ndarray) -> np.ndarray:
        """The cached form of one prepared clip's image: uint8 [shape=self.shape]."""
        return _render(y, self)["image"]

    def finish(self, images: np.ndarray) -> np.ndarray:
        """Cached uint8 images -> float32 in [0, 1], what the network eats."""
        return _to_unit(images)


@lru_cache(maxsize=16)
def _colour_table(cmap: str) -> np.ndarray:
    """(256, 3) uint8 colours of ``cmap``: grey level k -> RGB, as in an 8-bit PNG."""
    import matplotlib

    try:
        colours = matplotlib.colormaps[cmap](np.linspace(0.0, 1.0, 256))[:, :3]
    except KeyError:
        raise FserError(f"unknown matplotlib colour map '{cmap}'") from None
    return np.round(colours * 255).astype(np.uint8)


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


def _render(y: np.ndarray, settings: FeatureSettings) -> dict:
    """The pipeline on a prepared signal at ``settings.sr``: every stage, by name."""
    s = settings
    if s.length_policy == "fixed":
        y = fix_length(y, sr=s.sr, duration=s.duration)
    mel_db = compute_melspectrogram(y, sr=s.sr, n_fft=s.n_fft, hop_length=s.hop_length,
                                    n_mels=s.n_mels, window=s.window, top_db=s.top_db)
    grey = _grey_levels(mel_db, top_db=s.top_db, image_size=s.image_size)
    image = grey[..., None] if s.channels == 1 else _colour_table(s.cmap)[grey]
    return {"signal": y, "mel_db": mel_db, "grey": grey, "image": image}


def _to_unit(images: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [0, 1]; the one conversion, so cached and fresh images agree."""
    out = images.astype(np.float32)  # then divide in place: faster than a mixed-type ufunc
    np.divide(out, np.float32(255), out=out)
    return out


def compute_feature_steps(y: np.ndarray, *, sr: int,
                          settings: FeatureSettings | None = None) -> dict:
    """Every intermediate stage of :func:`compute_feature_image`, to show or check them.

    Returns
    -------
    steps : dict
        ``"signal"`` the prepared (resampled, offset removed, length-fixed) signal at
        ``settings.sr`` [shape=(n,)];
        ``"mel_db"`` [shape=(n_mels, n_frames)] in dB, row 0 the lowest band;
        ``"scaled"`` the same mapped to ``[0, 1]`` (``1 + mel_db / top_db``);
        ``"grey"`` the resized 8-bit image [shape=(size, size)] as float32 in ``[0, 1]``,
        row 0 the highest band; ``"image"`` the final image (what
        :func:`compute_feature_image` returns).
    """
    s = settings or FeatureSettings()
    steps = _render(prepare_signal(y, sr=sr, target_sr=s.sr, min_samples=s.n_fft), s)
    steps["scaled"] = np.clip(1 + steps["mel_db"] / s.top_db, 0, 1)
    steps["grey"], steps["image"] = _to_unit(steps["grey"]), _to_unit(steps["image"])
    return steps


def compute_feature_image(y: np.ndarray, *, sr: int,
                          settings: FeatureSettings | None = None) -> np.ndarray:
    """One clip's image feature, as the network sees it.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal; prepared by :func:`fser_utils.features.audio.prepare_signal` (resampled
        to ``settings.sr`` if ``sr`` differs, DC offset removed).
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
    from fser_utils.features.kinds import compute_features

    return compute_features(y, sr=sr, settings=settings or FeatureSettings())


def compute_class_means(X: np.ndarray, labels, *, classes=EMOTIONS,
                        relative: bool = False) -> np.ndarray:
    """The mean feature image of each class (what
    :func:`fser_utils.plotting.plot_class_means` draws).

    Parameters
    ----------
    X : np.ndarray [shape=(n, h, w, c)]
    labels : sequence [shape=(n,)]
    classes : sequence of str
    relative : bool
        Return each class mean *minus the mean of all images*, channels averaged.

    Returns
    -------
    means : np.ndarray [shape=(len(classes), h, w, c)], or [shape=(len(classes), h, w)]
        with ``relative``; NaN for a class with no image.
    """
    labels = np.asarray(labels, dtype=object)
    means = np.full((len(classes),) + X.shape[1:], np.nan, dtype=np.float32)
    for k, cls in enumerate(classes):
        idx = np.flatnonzero(labels == cls)
        if idx.size:
            means[k] = X[idx].mean(axis=0)
    if relative:
        means = means.mean(axis=-1) - X.mean(axis=(0, -1))
    return means
