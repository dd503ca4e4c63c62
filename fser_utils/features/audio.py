"""Audio for the features: checked reading, one way to bring a signal to the analysis rate.

Every feature kind starts from the same prepared signal (:func:`prepare_signal`): mono,
float32, at the kind's sample rate, **without DC offset**, and checked (finite, long
enough for one analysis window, not silent). :func:`load_audio` reads a file into that
form; :func:`inspect_audio` only reads its header, for callers that want to warn
before they decode (a truncated file, an implausible sample rate).

Why remove the DC offset: a constant added to a clip (a cheap sound card, a microphone
preamplifier) carries no speech, yet it puts energy in the lowest mel bands and, since
every image is scaled to its own loudest cell, can change the whole picture and so the
predicted emotion. Subtracting the clip's mean takes it out exactly, and leaves a clip
without offset unchanged up to float rounding.
"""
from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import numpy as np

from fser_utils.errors import FserError

__all__ = [
    "AudioFileError",
    "SILENCE_PEAK",
    "MIN_SAMPLE_RATE",
    "MAX_SAMPLE_RATE",
    "check_audio_path",
    "inspect_audio",
    "load_audio",
    "prepare_signal",
    "fix_length",
]

#: a clip whose peak stays below one step of 16-bit audio carries no signal at all
SILENCE_PEAK = 2.0 ** -15

#: declared sample rates outside this range [Hz] are refused: below it a small file
#: would be resampled into gigabytes (20 KB at 4 Hz is 1.6 GB at 22 050 Hz), and no
#: recording of speech is made at such rates
MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 768_000


class AudioFileError(FserError):
    """An audio file or signal that cannot be used: missing, undecodable, truncated,
    with an implausible sample rate, empty, too short, non-finite or silent."""


def check_audio_path(path) -> Path:
    """The path as a :class:`~pathlib.Path`, if it names a readable file.

    Raises
    ------
    AudioFileError
        One line naming the file and why: no such file, a symbolic link that loops or
        points nowhere, a folder, or no permission to read.
    """
    path = Path(path)
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AudioFileError(f"'{path}' is a symbolic link loop "
                                 "(it never reaches a file)") from None
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise AudioFileError(f"'{path}' is a broken symbolic link (to "
                                 f"'{os.readlink(path)}', which does not exist)") from None
        if exc.errno == errno.ENOENT:
            raise AudioFileError(f"no such file '{path}'") from None
        raise AudioFileError(f"cannot open '{path}': {exc.strerror}") from None
    if os.path.isdir(path):
        raise AudioFileError(f"'{path}' is a folder, not an audio file")
    from fser_utils.atomic import describe_special_file

    special = describe_special_file(path)
    if special:  # opening a FIFO would wait for a writer for ever
        raise AudioFileError(f"'{path}' is {special}, not an audio file")
    if not os.access(path, os.R_OK):
        raise AudioFileError(f"cannot open '{path}': permission denied")
    return path


def _declared_wav_frames(path: Path):
    """Frames the ``data`` chunk of a RIFF/WAVE file declares, or None if unknown.

    libsndfile quietly reads what is there when the header promises more, so the
    promise is read here, from the chunk headers themselves.
    """
    with open(path, "rb") as f:
        riff = f.read(12)
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            return None
        block_align = 0
        while True:
            head = f.read(8)
            if len(head) < 8:
                return None
            chunk, size = head[:4], struct.unpack("<I", head[4:])[0]
            if chunk == b"fmt ":
                fmt = f.read(min(size, 16))
                block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else 0
                f.seek(size - len(fmt) + (size & 1), os.SEEK_CUR)
            elif chunk == b"data":
                # 0 and 0xFFFFFFFF: "size unknown" (streaming writers, RF64)
                if size in (0, 0xFFFFFFFF) or block_align == 0:
                    return None
                return size // block_align
            else:
                f.seek(size + (size & 1), os.SEEK_CUR)


def inspect_audio(path, *, allow_truncated: bool = False) -> dict:
    """What an audio file's header says, without decoding the samples.

    Parameters
    ----------
    path : path-like
    allow_truncated : bool
        Whether a truncated file is fine for the caller (then it is not listed among
        ``problems``).

    Returns
    -------
    info : dict
        ``path`` (str); ``samplerate`` [Hz] and ``channels`` as declared; ``frames``
        (samples per channel the decoder will deliver) and ``declared_frames`` (what
        the header promises; larger when the file was cut short); ``duration`` [s]
        (``frames / samplerate``); ``truncated`` (bool); ``format`` and ``subtype``
        (libsndfile's names); ``problems``: one-line descriptions of what
        :func:`load_audio` refuses (an empty list for a usable header).

    Raises
    ------
    AudioFileError
        If the path is not a readable file or the header cannot be decoded.
    """
    import soundfile as sf

    path = check_audio_path(path)
    try:
        info = sf.info(os.fsencode(path))  # bytes: any name, UTF-8 or not
    except Exception as exc:  # libsndfile raises several types for broken files
        raise AudioFileError(f"cannot decode audio file '{path}': {exc}") from None
    declared = info.frames
    if info.format in ("WAV", "WAVEX"):
        try:
            declared = max(declared, _declared_wav_frames(path) or 0)
        except (OSError, struct.error):
            pass  # libsndfile read the header: its count stands
    rate = int(info.samplerate)
    out = {"path": str(path), "samplerate": rate, "channels": int(info.channels),
           "frames": int(info.frames), "declared_frames": int(declared),
           "duration": info.frames / rate if rate > 0 else 0.0,
           "truncated": declared > info.frames, "format": info.format,
           "subtype": info.subtype}
    out["problems"] = _header_problems(out, allow_truncated=allow_truncated)
    return out


def _header_problems(info: dict, *, allow_truncated: bool) -> list:
    path, rate = info["path"], info["samplerate"]
    problems = []
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        problems.append(f"audio file '{path}' declares an implausible sample rate of {rate} Hz "
                        f"(accepted: {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz)")
    elif info["truncated"] and not allow_truncated:
        problems.append(f"audio file '{path}' is truncated: its header declares "
                        f"{info['declared_frames'] / rate:.3f} s but it holds "
                        f"{info['frames'] / rate:.3f} s")
    if info["frames"] == 0 and not info["truncated"]:
        problems.append(f"audio file '{path}' is empty (0 samples)")
    return problems


def load_audio(path, *, sr: int = 22050, n_fft: int = 512,
               allow_truncated: bool = False) -> np.ndarray:
    """Read an audio file as the features expect it (see :func:`prepare_signal`).

    Parameters
    ----------
    path : path-like
        A file soundfile can decode (WAV, FLAC, OGG, ...).
    sr : int > 0 [Hz]
        Target sample rate; other rates are resampled (librosa's default, soxr HQ).
    n_fft : int > 0 [samples]
        The analysis window: a clip shorter than this cannot give a single frame.
    allow_truncated : bool
        False: a file holding fewer samples than its header declares is refused.
        True: what is there is used (check :func:`inspect_audio` to warn about it).

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono signal (the channels' mean) at ``sr`` with its mean removed, ``n >= n_fft``.

    Raises
    ------
    AudioFileError
        One line naming the file, if it is missing, a symbolic link loop, cannot be
        decoded, is truncated, declares a sample rate outside
        [:data:`MIN_SAMPLE_RATE`, :data:`MAX_SAMPLE_RATE`], is empty, contains NaN or
        infinite samples, is shorter than one window, or is all silence (peak below
        :data:`SILENCE_PEAK` once the offset is removed).
    """
    import soundfile as sf

    info = inspect_audio(path, allow_truncated=allow_truncated)
    if info["problems"]:
        raise AudioFileError(info["problems"][0])
    try:
        data, native_sr = sf.read(os.fsencode(info["path"]), dtype="float32",
                                  always_2d=False)
    except Exception as exc:  # e.g. a FLAC file cut short: "flac decoder lost sync"
        raise AudioFileError(f"cannot decode audio file '{path}' past its header "
                             f"(truncated or corrupt): {exc}") from None
    if len(data) < info["frames"] and not allow_truncated:
        # compressed formats (FLAC, OGG) only show it when the decoder runs out
        raise AudioFileError(f"audio file '{path}' is truncated: its header declares "
                             f"{info['frames'] / native_sr:.3f} s but only "
                             f"{len(data) / native_sr:.3f} s could be decoded")
    if data.ndim > 1:  # a NaN in any channel stays NaN in the mean: checked below
        mixed = data.mean(axis=1, dtype=np.float32)
        if data.size and np.ptp(mixed) < SILENCE_PEAK <= np.ptp(data[:, 0]):
            # one channel the other inverted: the mono mix the models read is silence
            raise AudioFileError(f"audio file '{path}' has channels that cancel out when "
                                 "mixed to mono (one is the other inverted); keep one "
                                 "channel, e.g. 'sox IN OUT remix 1'")
        data = mixed
    return prepare_signal(data, sr=native_sr, target_sr=sr, min_samples=n_fft,
                          name=f"audio file '{path}'")


def prepare_signal(y: np.ndarray, *, sr: int, target_sr: int, min_samples: int = 1,
                   name: str = "the signal") -> np.ndarray:
    """The one way a signal is made ready for any feature kind.

    Checks it, removes its DC offset (subtracts its mean) and resamples it to
    ``target_sr`` (``librosa.resample``, soxr HQ, as ``librosa.load`` does).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr, target_sr : int > 0 [Hz]
        Its sample rate, and the one wanted.
    min_samples : int >= 1
        Fewest samples accepted at ``target_sr`` (one analysis window).
    name : str
        How messages name the signal (``"audio file 'x.wav'"``).

    Returns
    -------
    y : np.ndarray [shape=(m,), dtype=float32]
        ``m ~= n * target_sr / sr``, mean removed (before resampling, which keeps it
        zero up to rounding), a new array (``y`` is not modified).

    Raises
    ------
    AudioFileError
        If ``y`` is not 1-D, empty, non-finite, shorter than ``min_samples`` or silent.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise AudioFileError(f"expected a mono signal of shape (n,), got shape {y.shape}")
    if y.size == 0:
        raise AudioFileError(f"{name} is empty (0 samples)")
    # NaN and infinities propagate into the extremes: two reductions check everything
    if not (np.isfinite(y.min()) and np.isfinite(y.max())):
        raise AudioFileError(f"{name} contains NaN or infinite samples")
    # the offset goes first: resampled, its abrupt start and end would ring
    offset = y.mean(dtype=np.float64)
    y = np.subtract(y, np.float32(offset), dtype=np.float32)
    if sr != target_sr:
        y = _resample(y, sr=sr, target_sr=target_sr)
    if y.size < min_samples:
        raise AudioFileError(f"{name} is shorter than one analysis window "
                             f"({y.size} < n_fft={min_samples} samples at {target_sr} Hz)")
    if max(-float(y.min()), float(y.max())) < SILENCE_PEAK:
        what = (f" apart from a constant (DC) offset of {offset:.3g}"
                if abs(offset) >= SILENCE_PEAK else "")
        raise AudioFileError(f"{name} is all silence{what} (peak below {SILENCE_PEAK:.1e})")
    return y


def _resample(y: np.ndarray, *, sr: int, target_sr: int) -> np.ndarray:
    """``librosa.resample(y, res_type="soxr_hq")``, called as librosa calls it, so that
    scoring need not import librosa (about two seconds): soxr's HQ resampler, then cut
    or zero-padded to ``ceil(len(y) * target_sr / sr)`` samples."""
    import soxr

    n = int(np.ceil(y.size * float(target_sr) / sr))
    out = np.asarray(soxr.resample(y, sr, target_sr, quality="soxr_hq"), dtype=y.dtype)
    return out[:n] if out.size >= n else np.pad(out, (0, n - out.size))


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
