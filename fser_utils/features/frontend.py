"""The log-mel front end in NumPy alone, so that scoring needs no librosa.

Chapter 2 computes spectrograms with librosa, the library the book teaches
(:mod:`fser_utils.features.spectral`). Importing librosa and compiling its helpers takes about two
seconds and 300 MB, more than scoring a clip, so the log-mel kind computes its features
here instead: the same steps (trim the silence at both ends, centre the speech in a
fixed window, Hann-windowed STFT, Slaney mel filters, dB below the peak) with the same
arithmetic and dtypes as librosa 0.11, for
:class:`fser_utils.features.kinds.LogMelSettings`. ``tests/test_frontend.py`` checks that
both give the same arrays.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from fser_utils.features.audio import fix_length

__all__ = ["compute_mel_filters", "compute_stft_power", "compute_power_db",
           "trim_silence", "compute_logmel_db"]

#: librosa's floor for power values before the logarithm (``amin=1e-10``)
_AMIN = 1e-10


def _frames(y: np.ndarray, *, frame_length: int, hop_length: int) -> np.ndarray:
    """Centred frames [shape=(n_frames, frame_length)] of ``y`` padded with zeros by half
    a frame on both sides, as librosa frames with ``center=True, pad_mode="constant"``."""
    half = frame_length // 2
    y = np.pad(y, (half, half))
    n = 1 + (len(y) - frame_length) // hop_length
    return np.lib.stride_tricks.as_strided(
        y, shape=(n, frame_length), strides=(y.strides[0] * hop_length, y.strides[0]),
        writeable=False)


def trim_silence(y: np.ndarray, *, top_db: float, frame_length: int = 1024,
                 hop_length: int = 256) -> np.ndarray:
    """Cut leading and trailing frames quieter than ``top_db`` below the loudest one.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
    top_db : float > 0 [dB]
    frame_length, hop_length : int > 0 [samples]

    Returns
    -------
    y_trimmed : np.ndarray [shape=(m,)]
        A view of ``y`` from the first to the last frame whose RMS level lies within
        ``top_db`` of the loudest frame (``librosa.effects.trim``); ``y`` itself when
        fewer than ``frame_length`` samples would remain, so that a clip that is all
        "silence" at this threshold is kept whole rather than emptied.
    """
    frames = _frames(np.asarray(y, dtype=np.float32), frame_length=frame_length,
                     hop_length=hop_length)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float32), axis=-1))
    power = np.square(rms)
    db = 10.0 * np.log10(np.maximum(_AMIN, power))
    db -= 10.0 * np.log10(np.maximum(_AMIN, np.max(rms) ** 2))
    loud = np.flatnonzero(db > -top_db)
    if loud.size == 0:
        return y
    start, end = int(loud[0]) * hop_length, min(len(y), (int(loud[-1]) + 1) * hop_length)
    return y[start:end] if end - start >= frame_length else y


def compute_stft_power(y: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
    """|STFT|² [shape=(1 + n_fft // 2, n_frames), dtype=float32] with a periodic Hann
    window of ``n_fft`` samples and centred, zero-padded frames."""
    n = np.arange(n_fft)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)  # periodic, as for an FFT
    frames = _frames(np.asarray(y, dtype=np.float32), frame_length=n_fft, hop_length=hop_length)
    spectrum = np.fft.rfft(window * frames, axis=-1).astype(np.complex64)
    return (np.abs(spectrum) ** 2).T


def _hz_to_mel(f):
    # Slaney's scale: linear to 1 kHz (3 mels per 200 Hz), logarithmic above
    f = np.asarray(f, dtype=np.float64)
    logstep = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-12) / 1000.0) / logstep,
                    f * 3.0 / 200.0)


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    logstep = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), m * 200.0 / 3.0)


@lru_cache(maxsize=8)
def compute_mel_filters(*, sr: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                        fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters, each of unit area (Slaney's normalisation).

    Parameters
    ----------
    sr : int > 0 [Hz]
    n_fft : int > 0 [samples]
    n_mels : int > 0
    fmin, fmax : float >= 0 [Hz]
        Edges of the lowest and highest filter; ``fmax=None`` is ``sr / 2``.

    Returns
    -------
    weights : np.ndarray [shape=(n_mels, 1 + n_fft // 2), dtype=float32]
        ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)``.
    """
    fmax = sr / 2.0 if fmax is None else fmax
    fft_hz = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_hz)
    weights = np.zeros((n_mels, len(fft_hz)), dtype=np.float32)
    for i in range(n_mels):
        rising, falling = -ramps[i] / widths[i], ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:n_mels + 2] - edges[:n_mels]))[:, None]
    weights.setflags(write=False)  # shared by every call through the cache
    return weights


def compute_power_db(power: np.ndarray, *, top_db: float | None = 80.0) -> np.ndarray:
    """``10 log10(power / max(power))`` [dB], floored ``top_db`` below the peak."""
    db = 10.0 * np.log10(np.maximum(_AMIN, power))
    db -= 10.0 * np.log10(np.maximum(_AMIN, np.max(power)))
    return db if top_db is None else np.maximum(db, db.max() - top_db)


def compute_logmel_db(y: np.ndarray, *, settings) -> np.ndarray:
    """A prepared clip's log-mel spectrogram as the feature cache stores it.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono signal at ``settings.sr``, prepared by :func:`fser_utils.features.audio.prepare_signal`.
    settings : fser_utils.features.kinds.LogMelSettings

    Returns
    -------
    S_db : np.ndarray [shape=(n_mels, n_frames, 1), dtype=float16] [dB]
        The trimmed speech centred in ``settings.duration`` seconds, in dB below the
        clip's loudest cell, floored at ``-settings.top_db``; what
        ``librosa.power_to_db(librosa.feature.melspectrogram(...), ref=np.max)`` gives.
    """
    s = settings
    y = fix_length(trim_silence(y, top_db=s.trim_db), sr=s.sr, duration=s.duration)
    power = compute_stft_power(y, n_fft=s.n_fft, hop_length=s.hop_length)
    mel = np.einsum("ft,mf->mt", power,
                    compute_mel_filters(sr=s.sr, n_fft=s.n_fft, n_mels=s.n_mels, fmin=s.fmin,
                                        fmax=s.fmax), optimize=True)
    return compute_power_db(mel, top_db=s.top_db)[:, :s.n_frames, None].astype(np.float16)
