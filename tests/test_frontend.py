"""The NumPy log-mel front end gives librosa's numbers (the cache and the shipped model
rely on it), on generated signals and, where the corpora are present, on real clips."""
import glob
import os

import librosa
import numpy as np
import pytest

from fser_utils.features.audio import prepare_signal
from fser_utils.features.kinds import LogMelSettings
from fser_utils.features.frontend import compute_logmel_db, compute_mel_filters, trim_silence


def _librosa_logmel(y, s):
    """The log-mel kind as it was computed with librosa before the front end."""
    trimmed, _ = librosa.effects.trim(y, top_db=s.trim_db, frame_length=1024, hop_length=256)
    y = trimmed if trimmed.size >= 1024 else y
    n = int(round(s.duration * s.sr))
    if y.size >= n:
        y = y[(y.size - n) // 2:(y.size - n) // 2 + n]
    else:
        y = np.pad(y, ((n - y.size) // 2, n - y.size - (n - y.size) // 2))
    S = librosa.feature.melspectrogram(y=y, sr=s.sr, n_fft=s.n_fft, hop_length=s.hop_length,
                                       n_mels=s.n_mels, fmin=s.fmin, fmax=s.fmax, center=True)
    return librosa.power_to_db(S, ref=np.max, top_db=s.top_db)[:, :s.n_frames, None] \
        .astype(np.float16)


def _signals():
    rng = np.random.default_rng(0)
    t = np.arange(int(2.7 * 22050)) / 22050
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * (t > 0.5) * (t < 2.1)).astype(np.float32)
    yield "tone in silence", tone + 1e-4 * rng.normal(size=t.size).astype(np.float32), 22050
    yield "noise, 44.1 kHz", (0.1 * rng.normal(size=44100 * 5)).astype(np.float32), 44100
    yield "short burst", (0.5 * rng.normal(size=3000)).astype(np.float32), 16000


@pytest.mark.parametrize("name,y,sr", list(_signals()), ids=lambda v: v if isinstance(v, str) else "")
def test_logmel_matches_librosa_on_generated_signals(name, y, sr):
    s = LogMelSettings()
    y = prepare_signal(y, sr=sr, target_sr=s.sr, min_samples=s.n_fft)
    np.testing.assert_array_equal(compute_logmel_db(y, settings=s), _librosa_logmel(y, s))


def test_mel_filters_and_trim_match_librosa():
    for sr, n_fft, n_mels, fmin, fmax in ((16000, 512, 64, 50.0, 8000.0), (22050, 512, 128, 0.0, None)):
        np.testing.assert_allclose(
            compute_mel_filters(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax),
            librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax),
            rtol=0, atol=1e-9)
    y = np.zeros(16000, dtype=np.float32)
    y[5000:9000] = np.sin(np.arange(4000) / 3.0)
    expected, _ = librosa.effects.trim(y, top_db=35, frame_length=1024, hop_length=256)
    np.testing.assert_array_equal(trim_silence(y, top_db=35), expected)


def test_resampling_is_librosas():
    y = np.random.default_rng(1).normal(size=48000).astype(np.float32)
    expected = librosa.resample(y - y.mean(), orig_sr=48000, target_sr=16000, res_type="soxr_hq")
    np.testing.assert_allclose(prepare_signal(y, sr=48000, target_sr=16000), expected, atol=1e-6)


@pytest.mark.skipif(not os.environ.get("FSER_DATA"), reason="needs the corpora (FSER_DATA)")
def test_logmel_matches_librosa_on_real_clips():
    import soundfile as sf

    s, root = LogMelSettings(), os.environ["FSER_DATA"]
    files = []
    for pattern in ("ravdess/*/*.flac", "emovo/*/*.flac", "emodb/wav/*.flac", "nemo/*.flac",
                    "urdu/*/*.flac"):
        files += sorted(glob.glob(os.path.join(root, pattern)))[::60]
    if not files:
        pytest.skip("no corpus under FSER_DATA")
    for f in files:
        y, sr = sf.read(f, dtype="float32")
        y = prepare_signal(y if y.ndim == 1 else y.mean(axis=1), sr=sr, target_sr=s.sr)
        np.testing.assert_array_equal(compute_logmel_db(y, settings=s), _librosa_logmel(y, s),
                                      err_msg=f)
