"""Audio loading against hostile input (issue 13): truncated files, absurd headers,
symbolic links, DC offsets; and the signal every feature kind starts from."""
from __future__ import annotations

import os
import struct
import time

import numpy as np
import pytest
import soundfile as sf

from fser_utils.features.audio import (
    MIN_SAMPLE_RATE,
    AudioFileError,
    check_audio_path,
    inspect_audio,
    load_audio,
    prepare_signal,
)
from fser_utils.errors import FserError
from fser_utils.features.kinds import compute_features, get_feature_settings

SR = 22050


def speech_like(duration=1.5, sr=SR, seed=0):
    """Harmonics with a slow amplitude envelope plus a little noise, peak about 0.5."""
    t = np.arange(int(round(duration * sr))) / sr
    f0 = 140 + 30 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    y += 0.02 * np.random.default_rng(seed).standard_normal(t.size)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


# --- truncated files and implausible headers --------------------------------------------

def test_truncated_wav_is_detected_refused_and_can_be_allowed(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, speech_like(1.0), SR, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])  # the header still promises 1 s
    info = inspect_audio(path)
    assert info["truncated"] and info["declared_frames"] == SR
    assert info["frames"] < SR and info["duration"] == pytest.approx(0.5, abs=0.01)
    assert len(info["problems"]) == 1 and "truncated" in info["problems"][0]
    with pytest.raises(AudioFileError, match="truncated") as caught:
        load_audio(path)
    assert str(path) in str(caught.value) and "1.000 s" in str(caught.value)
    y = load_audio(path, allow_truncated=True)  # what is there, for a caller that warns
    assert abs(y.size - SR / 2) < 50


@pytest.mark.parametrize("subtype,channels,fmt", [("PCM_16", 1, "WAV"), ("PCM_24", 2, "WAV"),
                                                  ("FLOAT", 3, "WAVEX"), ("PCM_16", 1, "FLAC")])
def test_intact_files_are_not_truncated(tmp_path, subtype, channels, fmt):
    path = tmp_path / f"ok.{'flac' if fmt == 'FLAC' else 'wav'}"
    y = np.stack([speech_like(0.5)] * channels, axis=1)
    sf.write(path, y, 48000, subtype=subtype, format=fmt)
    info = inspect_audio(path)
    assert not info["truncated"] and info["problems"] == []
    assert info["frames"] == info["declared_frames"] == y.shape[0]
    assert (info["samplerate"], info["channels"]) == (48000, channels)


def test_truncated_flac_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, speech_like(1.0), SR)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(AudioFileError, match="truncated or corrupt") as caught:
        load_audio(path)
    assert str(path) in str(caught.value)


def test_absurd_sample_rate_is_refused_before_decoding(tmp_path):
    # 20 KB of samples whose header says 4 Hz: 2.5 hours, 220 million samples at 22 050 Hz
    path = tmp_path / "slow.wav"
    sf.write(path, speech_like(0.5), SR, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[24:28] = struct.pack("<I", 4)       # sample rate
    data[28:32] = struct.pack("<I", 4 * 2)   # bytes per second
    path.write_bytes(bytes(data))
    assert inspect_audio(path)["samplerate"] == 4
    t0 = time.perf_counter()
    with pytest.raises(AudioFileError, match="implausible sample rate of 4 Hz") as caught:
        load_audio(path)
    assert time.perf_counter() - t0 < 1.0 and str(path) in str(caught.value)
    assert str(MIN_SAMPLE_RATE) in str(caught.value)


# --- paths that are not files --------------------------------------------------------------

def test_symlink_loop_is_called_a_symlink_loop(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    os.symlink(b, a)
    os.symlink(a, b)
    with pytest.raises(AudioFileError, match="symbolic link loop") as caught:
        load_audio(a)
    assert str(a) in str(caught.value) and "no such file" not in str(caught.value)


def test_other_unusable_paths_are_named(tmp_path):
    dangling = tmp_path / "dangling.wav"
    os.symlink(tmp_path / "gone.wav", dangling)
    with pytest.raises(AudioFileError, match="broken symbolic link .*gone.wav"):
        check_audio_path(dangling)
    with pytest.raises(AudioFileError, match="no such file"):
        check_audio_path(tmp_path / "nowhere.wav")
    with pytest.raises(AudioFileError, match="is a folder"):
        load_audio(tmp_path)
    assert issubclass(AudioFileError, FserError)  # the CLI prints it as one line


# --- the DC offset -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["mel-image", "logmel", "mfcc", "egemaps"])
def test_dc_offset_does_not_change_features(kind):
    settings = get_feature_settings(kind)
    y = speech_like(2.0)
    clean = compute_features(y, sr=SR, settings=settings)
    offset = compute_features(y + np.float32(0.3), sr=SR, settings=settings)
    assert clean.shape == offset.shape == settings.shape
    if kind == "mel-image":  # 8-bit levels: at most a rounding step, on a few pixels
        assert np.abs(clean - offset).max() <= 1 / 255 + 1e-6
        assert (clean != offset).mean() < 0.01
    else:
        np.testing.assert_allclose(offset, clean, rtol=1e-3, atol=0.02)


def test_dc_offset_is_removed_at_load_time(tmp_path):
    y = speech_like(1.0)
    sf.write(tmp_path / "clean.wav", y, 16000, subtype="FLOAT")
    sf.write(tmp_path / "offset.wav", y + np.float32(0.3), 16000, subtype="FLOAT")
    clean, offset = load_audio(tmp_path / "clean.wav"), load_audio(tmp_path / "offset.wav")
    assert abs(float(offset.mean())) < 1e-6
    np.testing.assert_allclose(offset, clean, atol=1e-5)


def test_a_clip_that_is_only_a_dc_offset_is_silence(tmp_path):
    path = tmp_path / "dc.wav"
    sf.write(path, np.full(SR, 0.3, np.float32), SR, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"all silence apart from a constant \(DC\) offset "
                                             r"of 0.3"):
        load_audio(path)
    with pytest.raises(FserError, match="all silence"):
        compute_features(np.full(SR, 0.3, np.float32), sr=SR,
                         settings=get_feature_settings("mel-image"))


def test_prepare_signal_resamples_once_and_checks(tmp_path):
    y = speech_like(1.0, sr=16000)
    out = prepare_signal(y, sr=16000, target_sr=SR, min_samples=512)
    assert out.dtype == np.float32 and abs(out.size - SR) <= 1
    assert out is not y and abs(float(out.mean())) < 1e-6
    with pytest.raises(AudioFileError, match="mono signal"):
        prepare_signal(np.zeros((10, 2)), sr=SR, target_sr=SR)
    with pytest.raises(AudioFileError, match="my clip is shorter than one analysis window"):
        prepare_signal(y[:100], sr=16000, target_sr=SR, min_samples=512, name="my clip")
