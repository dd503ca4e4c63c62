"""Spectra and spectrograms, computed with librosa (the paper's tool).

The paper's analysis is a mel power spectrogram with ``n_fft = hop_length = 512`` and a
Hann window, in dB relative to the clip's loudest cell::

    S = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=512, hop_length=512)
    S_db = librosa.power_to_db(S, ref=np.max, top_db=80)

:func:`compute_melspectrogram` returns exactly that; it only keeps the mel filter bank
between calls.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "compute_spectrum",
    "compute_spectrogram",
    "compute_melspectrogram",
    "describe_frames",
]


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
    import scipy.fft

    spectrum = scipy.fft.fft(np.asarray(y, dtype=np.float64))
    freqs = scipy.fft.fftfreq(len(y), d=1.0 / sr)
    return scipy.fft.fftshift(freqs), scipy.fft.fftshift(np.abs(spectrum))


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


def _power(y: np.ndarray, *, n_fft: int, hop_length: int, window: str) -> np.ndarray:
    """|STFT|^2 [shape=(1 + n_fft // 2, 1 + len(y) // hop_length)], librosa's framing
    (centred frames, the signal zero-padded by ``n_fft // 2`` on both sides)."""
    import librosa

    stft = librosa.stft(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=hop_length,
                        window=window, center=True, pad_mode="constant")
    return np.abs(stft) ** 2


@lru_cache(maxsize=32)
def _mel_basis(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    # librosa.feature.melspectrogram rebuilds this bank on every call, which takes
    # longer than the STFT of a clip: keeping it is the only change from that function
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)


def _to_db(power: np.ndarray, top_db: float | None) -> np.ndarray:
    import librosa

    return librosa.power_to_db(power, ref=np.max, amin=1e-10, top_db=top_db)


def compute_spectrogram(y: np.ndarray, *, sr: int, n_fft: int = 512, hop_length: int = 512,
                        window: str = "hann", top_db: float | None = 80.0) -> np.ndarray:
    """Linear-frequency power spectrogram in dB (relative to its peak).

    Used to compare narrow-band (long window) and broad-band (short window) analyses.
    ``librosa.power_to_db(np.abs(librosa.stft(y, ...)) ** 2, ref=np.max, top_db=top_db)``.

    Returns
    -------
    S_db : np.ndarray [shape=(1 + n_fft // 2, n_frames)] [dB]
        Bin ``k`` is at ``k * sr / n_fft`` Hz; frame ``t`` is centred at
        ``t * hop_length / sr`` seconds. Values lie in ``[-top_db, 0]``.
    """
    del sr  # part of the signature so that every compute_* is called the same way
    return _to_db(_power(y, n_fft=n_fft, hop_length=hop_length, window=window), top_db)


def compute_melspectrogram(y: np.ndarray, *, sr: int, n_fft: int = 512, hop_length: int = 512,
                           n_mels: int = 128, window: str = "hann",
                           top_db: float | None = 80.0) -> np.ndarray:
    """Mel power spectrogram in dB, relative to the clip's loudest cell.

    ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft,
    hop_length=hop_length, n_mels=n_mels, window=window), ref=np.max, top_db=top_db)``
    (Slaney mel filters, power 2, centred frames padded with zeros).

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
    S_db : np.ndarray [shape=(n_mels, 1 + len(y) // hop_length), dtype=float32] [dB]
        Row 0 is the lowest mel band; values lie in ``[-top_db, 0]``.
    """
    power = _power(y, n_fft=n_fft, hop_length=hop_length, window=window)
    return _to_db(_mel_basis(sr, n_fft, n_mels) @ power, top_db)
