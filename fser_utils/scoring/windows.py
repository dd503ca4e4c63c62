"""Recordings as ``fser predict`` reads them: checks on doubtful input, and long
recordings scored in overlapping windows, streamed from disk.

A 10-minute session squeezed into one 64-column image gets one meaningless label.
Here a recording is cut into windows of a few seconds, each scored like a clip of the
training corpora, and the file's label is the mean of the window probabilities over
the voiced windows. The file is read block by block and resampled with a streaming
resampler, so memory holds one window and one block whatever the recording's length.

Choices, and why:

- :data:`DEFAULT_WINDOW` = 3 s: the typical length of a training clip (median 2 to
  3.7 s per corpus), so a window becomes an image of the time scale the model learned.
- :data:`DEFAULT_HOP` = 1.5 s: half a window, so every instant lies in two windows and
  the timeline moves in 1.5 s steps; a change of emotion is not missed at a window edge.
- :data:`LONG_RECORDING` = 15 s: longer than any training clip (the longest, in
  EMOVO, lasts 14 s); shorter files are scored whole, as the model was trained.
- A window is *voiced* when its level (90th percentile of 50 ms frame RMS) is within
  :data:`VOICED_DB` = 35 dB of the loudest window's (the threshold the feature kinds
  trim silence with); pauses and background noise then do not vote on the label.
- Input refused (one line naming the file): recordings shorter than
  :data:`MIN_SECONDS`, silence (including a signal that is only a constant, DC,
  offset), and the header checks of :func:`fser_utils.features.audio.inspect_audio` (an
  implausible sample rate: 20 KB declared at 4 Hz would be 41 minutes of samples).
  Scored with a warning: a truncated file (what is there is audio; the warning says
  how much is missing). A DC offset is removed before scoring, so it cannot change
  the emotion.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from fser_utils.errors import FserError
from fser_utils.scoring.window_settings import (DEFAULT_HOP, DEFAULT_WINDOW, LONG_RECORDING, MAX_WINDOW,
                              MIN_SECONDS, VOICED_DB)

__all__ = [
    "DEFAULT_WINDOW",
    "DEFAULT_HOP",
    "LONG_RECORDING",
    "MIN_SECONDS",
    "VOICED_DB",
    "MAX_WINDOW",
    "check_audio_header",
    "check_duration",
    "check_window_settings",
    "scan_audio",
    "iter_audio_windows",
    "predict_windows",
    "summarize_windows",
]

#: frames read from disk at a time
BLOCK_FRAMES = 2 ** 16


# --- input checks -----------------------------------------------------------------

def check_audio_header(path) -> tuple:
    """Read a file's header; refuse what cannot be scored, note a truncated file.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    info : dict
        :func:`fser_utils.features.audio.inspect_audio` of the file (``samplerate`` [Hz],
        ``frames``, ``duration`` [s] of the data present, ``truncated``, ...).
    warning : str
        ``""``, or one line saying that the file is truncated (its header declares
        more data than it holds): what is there is audio, and is scored.

    Raises
    ------
    FserError
        Naming the file: a folder without audio, a missing or undecodable file, an
        implausible sample rate (a header claiming 4 Hz would turn 20 KB into 41
        minutes of samples), no samples.
    """
    from fser_utils.features.audio import inspect_audio

    if os.path.isdir(path):  # list_audio_inputs keeps a folder without audio, to say so
        raise FserError(f"no audio file in folder '{path}'")
    # the same checks as load_audio(allow_truncated=True), made before decoding
    info = inspect_audio(path, allow_truncated=True)
    if info["problems"]:
        raise FserError(info["problems"][0])
    warning = ""
    if info["truncated"]:
        warning = (f"truncated: the header declares "
                   f"{info['declared_frames'] / info['samplerate']:.2f} s, the file holds "
                   f"{info['duration']:.2f} s (scored what is there)")
    return info, warning


def check_duration(seconds: float, *, name: str = "signal") -> None:
    """Refuse a recording shorter than :data:`MIN_SECONDS`.

    Parameters
    ----------
    seconds : float [s]
    name : str
        How the message names the recording (``"audio file 'x.wav'"``).

    Raises
    ------
    FserError
    """
    if seconds < MIN_SECONDS:
        raise FserError(f"{name} is too short ({seconds:.3f} s; scoring needs at least "
                        f"{MIN_SECONDS} s)")


def check_window_settings(*, window: float, hop: float) -> None:
    """Refuse window lengths and hops that cannot cover a recording sensibly.

    Raises
    ------
    FserError
        Unless ``MIN_SECONDS <= window <= MAX_WINDOW`` and ``0 < hop <= window``.
    """
    if not MIN_SECONDS <= window <= MAX_WINDOW:
        raise FserError(f"window length must lie between {MIN_SECONDS} and {MAX_WINDOW} s, "
                        f"got {window}")
    if not 0 < hop <= window:
        raise FserError(f"hop must be positive and at most the window ({window} s), got {hop}: "
                        "longer hops would leave parts of the recording unscored")


# --- streaming --------------------------------------------------------------------

def _mono_blocks(f, path, notes: list):
    """Mono float32 blocks of an open SoundFile and whether each is the last one."""
    read = 0
    while True:
        try:
            block = f.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
        except Exception as exc:  # a truncated FLAC: "flac decoder lost sync"
            notes.append(f"decoding stopped at {read / f.samplerate:.2f} s of "
                         f"{f.frames / f.samplerate:.2f} s ({exc}; scored what was decoded)")
            block = np.zeros((0, f.channels), dtype=np.float32)
        last = len(block) < BLOCK_FRAMES
        if not np.isfinite(block).all():
            raise FserError(f"audio file '{path}' contains NaN or infinite samples")
        read += len(block)
        # a truncated MP3 decodes to its end silently: compare with the header's count
        if last and not notes and read < f.frames:
            notes.append(f"truncated: the header declares {f.frames / f.samplerate:.2f} s, "
                         f"only {read / f.samplerate:.2f} s could be decoded")
        yield block.mean(axis=1, dtype=np.float32), last
        if last:
            return


def _open(path):
    try:
        return sf.SoundFile(os.fsencode(path))  # bytes: any name, UTF-8 or not
    except Exception as exc:  # libsndfile raises several types for broken files
        raise FserError(f"cannot decode audio file '{path}': {exc}") from None


def scan_audio(path) -> dict:
    """Read a file once, block by block, and refuse it if too short or silent.

    The samples are not kept: this pass finds the mean, which is removed before
    resampling (see :func:`iter_audio_windows`), and the length actually decoded.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    stats : dict
        ``samplerate`` [Hz], ``frames`` (decoded), ``duration`` [s], ``mean`` of the
        mono signal, and ``notes`` (problems met while decoding, e.g. a truncated file,
        one line each).

    Raises
    ------
    FserError
        Naming the file: undecodable, NaN samples, shorter than :data:`MIN_SECONDS`,
        all silence (zeros, or a constant: a DC offset alone).
    """
    from fser_utils.features.audio import SILENCE_PEAK

    notes, frames, total, low, high = [], 0, 0.0, np.inf, -np.inf
    with _open(path) as f:
        for mono, _ in _mono_blocks(f, path, notes):
            if mono.size:
                frames += mono.size
                total += float(mono.sum(dtype=np.float64))
                low, high = min(low, float(mono.min())), max(high, float(mono.max()))
        rate = f.samplerate
    name = f"audio file '{path}'"
    check_duration(frames / rate, name=name)
    mean = total / frames
    if high - low < SILENCE_PEAK:
        what = (f" apart from a constant (DC) offset of {mean:.3g}"
                if abs(mean) >= SILENCE_PEAK else "")
        raise FserError(f"{name} is all silence{what}")
    return {"samplerate": rate, "frames": frames, "duration": frames / rate, "mean": mean,
            "notes": notes}


def iter_audio_windows(path, *, sr: int, window: float = DEFAULT_WINDOW,
                       hop: float = DEFAULT_HOP, offset: float = 0.0):
    """Cut a recording into overlapping windows, reading it block by block.

    Memory holds one window and one block, whatever the length of the file. Blocks
    are resampled with soxr's streaming resampler, which gives the same samples as
    resampling the whole file at once.

    Parameters
    ----------
    path : path-like
    sr : int > 0 [Hz]
        Rate the windows are brought to.
    window, hop : float > 0 [s]
        Window length and step between window starts.
    offset : float
        Subtracted from every sample before resampling: pass the file's mean
        (:func:`scan_audio`), else a DC offset rings through the resampler as a
        click at each end of the file.

    Yields
    ------
    start : float [s]
        Start of the window in the recording.
    y : np.ndarray [shape=(round(window * sr),), dtype=float32]
        Mono samples of the window (channels averaged). The last window ends at the
        end of the file, so the tail is scored too; a file shorter than ``window``
        gives one window, the whole file.
    """
    import soxr

    win, step = int(round(window * sr)), int(round(hop * sr))
    with _open(path) as f:
        resampler = (soxr.ResampleStream(f.samplerate, sr, 1, dtype="float32", quality="HQ")
                     if f.samplerate != sr else None)
        buf = np.zeros(0, dtype=np.float32)
        start = next_start = 0  # sample index of buf[0], of the next window's start
        for mono, last in _mono_blocks(f, path, []):
            mono -= np.float32(offset)
            if resampler is not None:
                mono = resampler.resample_chunk(mono, last=last)
            buf = np.concatenate((buf, mono))
            while next_start + win <= start + buf.size:
                yield next_start / sr, buf[next_start - start:next_start - start + win].copy()
                next_start += step
            # keep the last full window, which the tail window may need
            drop = max(0, min(next_start - start, buf.size - win))
            buf, start = buf[drop:], start + drop
    total = start + buf.size
    if next_start == 0 and total:
        yield 0.0, buf
    elif next_start and total > next_start - step + win:
        yield (total - win) / sr, buf[-win:]


# --- scoring ----------------------------------------------------------------------

def _level_db(y: np.ndarray, *, sr: int) -> float:
    """90th percentile of the RMS of 50 ms frames [dB re full scale]."""
    n = max(1, int(0.05 * sr))
    k = max(1, y.size // n)
    frames = y[:k * n].reshape(k, -1) if y.size >= n else y[None]
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return float(20 * np.log10(max(np.percentile(rms, 90), 1e-10)))


def _score_batch(batch: list, rows: list, predictor) -> None:
    if not batch:
        return
    proba = predictor.predict_proba(np.stack([x for _, x in batch]))
    for (i, _), p in zip(batch, proba):
        rows[i].update({f"p_{c}": float(v) for c, v in zip(predictor.classes, p)})
    batch.clear()


def predict_windows(path, *, predictor, window: float = DEFAULT_WINDOW,
                    hop: float = DEFAULT_HOP, batch_size: int = 64):
    """Score a recording window by window (streamed: memory stays flat with length).

    Parameters
    ----------
    path : path-like
    predictor : fser_utils.scoring.predict.Predictor
    window, hop : float > 0 [s]
        See :func:`iter_audio_windows` and :func:`check_window_settings`.
    batch_size : int > 0
        Windows per model call.

    Returns
    -------
    table : pd.DataFrame [shape=(n_windows, 7 + len(classes))]
        ``path``, ``start``, ``end`` [s], ``level_db`` (see :data:`VOICED_DB`; NaN for
        a silent window), ``voiced`` (bool), ``emotion``, ``confidence``,
        ``p_<class>``. Each window's DC offset is removed before scoring; a silent
        window (zeros or a constant) is listed with NaN probabilities and emotion "".
    notes : list of str
        Problems met while decoding (a truncated file), one line each.

    Raises
    ------
    FserError
        Naming the file: undecodable, shorter than :data:`MIN_SECONDS`, NaN samples.
    """
    from fser_utils.features.cache import limit_blas_threads  # small products: BLAS threads only contend

    check_window_settings(window=window, hop=hop)
    s = predictor.settings
    # one pass more than needed, to remove the DC offset before resampling
    stats = scan_audio(path)
    with limit_blas_threads():
        rows = _score_windows(path, predictor, window=window, hop=hop, offset=stats["mean"],
                              batch_size=batch_size)
    return _window_table(path, rows, predictor.classes), stats["notes"]


def _score_windows(path, predictor, *, window, hop, offset, batch_size) -> list:
    """The loop of :func:`predict_windows`: one dict per window."""
    from fser_utils.features.audio import SILENCE_PEAK
    from fser_utils.features.kinds import compute_features

    s = predictor.settings
    rows, batch = [], []
    for start, y in iter_audio_windows(path, sr=s.sr, window=window, hop=hop, offset=offset):
        # a window of zeros or of a constant is listed unscored, not refused: pauses
        # in a long recording are normal
        y -= y.mean(dtype=np.float64)  # compute_features removes it too; the level needs it
        silent = float(np.abs(y).max()) < SILENCE_PEAK  # prepare_signal's test
        rows.append({"start": start, "end": start + y.size / s.sr,
                     "level_db": np.nan if silent else _level_db(y, sr=s.sr)})
        if not silent:
            batch.append((len(rows) - 1, compute_features(y, sr=s.sr, settings=s)))
        if len(batch) >= batch_size:
            _score_batch(batch, rows, predictor)
    _score_batch(batch, rows, predictor)
    return rows


def _window_table(path, rows: list, classes) -> pd.DataFrame:
    p_cols = [f"p_{c}" for c in classes]
    table = pd.DataFrame(rows, columns=["start", "end", "level_db", *p_cols])
    level = table["level_db"].to_numpy(dtype=float)
    top = np.nanmax(level) if np.isfinite(level).any() else np.nan
    table.insert(3, "voiced", level >= top - VOICED_DB)  # NaN compares False
    proba = table[p_cols].to_numpy(dtype=float)
    scored = np.isfinite(proba).all(axis=1)
    best = np.argmax(np.nan_to_num(proba, nan=-1.0), axis=1)
    table.insert(4, "emotion", np.where(scored, np.asarray(classes, dtype=object)[best], ""))
    table.insert(5, "confidence", np.where(scored, proba.max(axis=1, initial=0.0), np.nan))
    from fser_utils.atomic import escape_path

    # as fser_utils.scoring.predict names files: one printable line, whatever bytes the name holds
    table.insert(0, "path", escape_path(path) if path != "" else "")
    return table


def summarize_windows(table: pd.DataFrame, *, window: float = DEFAULT_WINDOW,
                      hop: float = DEFAULT_HOP) -> pd.Series:
    """The whole file's label: the mean of the window probabilities over voiced windows.

    Parameters
    ----------
    table : pd.DataFrame
        :func:`predict_windows` output for one file.
    window, hop : float [s]
        As scored (they are quoted in ``scored_as``).

    Returns
    -------
    scores : pd.Series
        ``emotion`` (the most probable class of the mean), ``confidence``, ``p_<class>``
        and ``scored_as`` (how the label was derived, in words).

    Raises
    ------
    FserError
        If no window is voiced (every window silent).
    """
    p_cols = [c for c in table.columns if c.startswith("p_")]
    voiced = table[table["voiced"]]
    if voiced.empty:
        where = table["path"].iloc[0] if len(table) else "?"
        raise FserError(f"audio file '{where}' is silent in every window: zeros or only a "
                        "constant (DC) offset")
    mean = voiced[p_cols].mean().to_numpy()
    best = int(np.argmax(mean))
    return pd.Series({
        "emotion": p_cols[best][2:], "confidence": float(mean[best]),
        **{c: float(v) for c, v in zip(p_cols, mean)},
        "scored_as": (f"mean of {len(voiced)} voiced window{'s' * (len(voiced) != 1)} of "
                      f"{len(table)} ({window:g} s every {hop:g} s)")})
