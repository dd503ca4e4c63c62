"""The feature pipeline: audio loading, mel-spectrograms, images, the cache, bad audio."""
from __future__ import annotations

import json

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from fser_utils.errors import FserError
from fser_utils.features import (
    SILENCE_PEAK,
    FeatureSettings,
    compute_feature_image,
    compute_feature_steps,
    compute_melspectrogram,
    compute_spectrogram,
    compute_spectrum,
    describe_frames,
    fix_length,
    get_feature_cache_path,
    load_audio,
    load_features,
)

SR = 22050


def tone(freq, duration, sr=SR, amp=0.5):
    t = np.arange(int(round(duration * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def step_tone(duration, sr=SR):
    """Low tone in the first half, high tone in the second: where the change lands."""
    half = int(round(duration * sr / 2))
    return np.concatenate([tone(300, half / sr, sr), tone(4000, duration - half / sr, sr)])


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("FSER_CACHE", str(folder))
    return folder


def write_clips(folder, clips, sr=SR, subtype="PCM_16"):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, y in clips.items():
        path = folder / f"{name}.wav"
        sf.write(path, y, sr, subtype=subtype)
        paths.append(str(path))
    return pd.DataFrame({"path": paths, "name": list(clips)})


# --- settings --------------------------------------------------------------------------

def test_settings_defaults_are_the_papers():
    s = FeatureSettings()
    assert (s.sr, s.n_fft, s.hop_length, s.window, s.image_size, s.channels) == \
        (22050, 512, 512, "hann", 64, 3)
    assert s.shape == (64, 64, 3)
    assert json.loads(json.dumps(s.asdict())) == s.asdict()


def test_settings_key_changes_with_every_field():
    base = FeatureSettings()
    assert base.key() == FeatureSettings().key()
    changed = [FeatureSettings(sr=16000), FeatureSettings(n_fft=1024), FeatureSettings(n_mels=64),
               FeatureSettings(hop_length=256), FeatureSettings(top_db=60.0),
               FeatureSettings(image_size=32), FeatureSettings(channels=1),
               FeatureSettings(cmap="magma"), FeatureSettings(length_policy="fixed"),
               FeatureSettings(duration=2.0), FeatureSettings(window="hamming")]
    keys = {s.key() for s in changed}
    assert base.key() not in keys and len(keys) == len(changed)


@pytest.mark.parametrize("kwargs", [dict(channels=2), dict(length_policy="loop"),
                                    dict(n_fft=0), dict(cmap="no-such-map"), dict(n_mels=300)])
def test_settings_reject_bad_values(kwargs):
    with pytest.raises(FserError):
        FeatureSettings(**kwargs)


# --- spectra ---------------------------------------------------------------------------

@pytest.mark.parametrize("n_fft,hop_length,n_mels,n", [(512, 512, 128, 33075), (512, 512, 64, 1000),
                                                       (2048, 256, 128, 22050), (256, 64, 40, 5000),
                                                       (512, 512, 128, 512)])
def test_melspectrogram_matches_librosa(n_fft, hop_length, n_mels, n):
    rng = np.random.default_rng(0)
    y = (0.3 * rng.standard_normal(n) + librosa.chirp(fmin=100, fmax=8000, sr=SR, length=n)
         ).astype(np.float32)
    ours = compute_melspectrogram(y, sr=SR, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    ref = librosa.power_to_db(
        librosa.feature.melspectrogram(y=y, sr=SR, n_fft=n_fft, hop_length=hop_length,
                                       n_mels=n_mels, window="hann"), ref=np.max, top_db=80.0)
    assert ours.shape == ref.shape == (n_mels, 1 + n // hop_length)
    np.testing.assert_allclose(ours, ref, atol=0.01)  # dB; float32 against librosa's


def test_melspectrogram_matches_librosa_on_real_speech(real_catalogue):
    path = real_catalogue["path"].iloc[0]
    y = load_audio(path)
    ref, _ = librosa.load(path, sr=SR)
    ref = ref - ref.mean()  # load_audio also removes the DC offset
    np.testing.assert_allclose(y, ref, atol=1e-6)
    S = librosa.power_to_db(librosa.feature.melspectrogram(y=ref, sr=SR, n_fft=512,
                                                           hop_length=512), ref=np.max)
    np.testing.assert_allclose(compute_melspectrogram(y, sr=SR), S, atol=0.01)


def test_spectrogram_and_spectrum_find_the_tone():
    y = tone(1000, 1.0)
    S = compute_spectrogram(y, sr=SR, n_fft=2048, hop_length=512)
    assert S.shape == (1025, 1 + y.size // 512)
    assert abs(S[:, 10].argmax() * SR / 2048 - 1000) < SR / 2048
    freqs, mag = compute_spectrum(y, sr=SR)
    assert freqs.shape == mag.shape == y.shape
    assert abs(abs(freqs[mag.argmax()]) - 1000) <= 1.0
    np.testing.assert_allclose(mag[1:], mag[1:][::-1], rtol=1e-6, atol=1e-6)  # real signal


def test_describe_frames_in_milliseconds():
    info = describe_frames(sr=22050, n_fft=512, hop_length=512)
    assert info["window_ms"] == pytest.approx(23.22, abs=0.01)
    assert info["hop_ms"] == pytest.approx(23.22, abs=0.01)
    assert info["overlap"] == 0.0 and info["bin_hz"] == pytest.approx(43.07, abs=0.01)


# --- images ----------------------------------------------------------------------------

@pytest.mark.parametrize("channels", [3, 1])
def test_image_shape_dtype_range(channels):
    s = FeatureSettings(channels=channels)
    img = compute_feature_image(step_tone(2.0), sr=SR, settings=s)
    assert img.shape == (64, 64, channels) and img.dtype == np.float32
    assert img.min() >= 0.0 and img.max() <= 1.0 and img.max() > img.min()
    np.testing.assert_allclose(img * 255, np.round(img * 255), atol=1e-4)  # 8-bit levels


def test_rgb_is_the_colour_map_of_the_grey_image():
    import matplotlib

    y = step_tone(2.0)
    grey = compute_feature_image(y, sr=SR, settings=FeatureSettings(channels=1))[..., 0]
    rgb = compute_feature_image(y, sr=SR, settings=FeatureSettings(channels=3, cmap="magma"))
    expected = matplotlib.colormaps["magma"](grey)[..., :3]
    np.testing.assert_allclose(rgb, expected, atol=1.5 / 255)


def test_image_orientation_low_frequencies_at_the_bottom():
    img = compute_feature_image(step_tone(2.0), sr=SR, settings=FeatureSettings(channels=1))[..., 0]
    # first half: 300 Hz, the bright rows are low in the image; second half: 4 kHz, higher up
    assert img[:, :28].mean(axis=1).argmax() > img[:, 36:].mean(axis=1).argmax()


@pytest.mark.parametrize("duration", [1.0, 4.0, 14.0])
def test_resize_policy_squeezes_the_whole_clip(duration):
    grey = FeatureSettings(channels=1)
    img = compute_feature_image(step_tone(duration), sr=SR, settings=grey)[..., 0]
    assert img.shape == (64, 64)
    # the low-to-high step is at half the clip, so at half the image, whatever the length
    # (rows 16-21 hold 4 kHz; the first and last columns are left out because the
    # clip's abrupt ends splash energy over all bands)
    energy = img[16:22, 3:61].mean(axis=0)
    change = 3 + int(np.argmax(energy > (energy.min() + energy.max()) / 2))
    assert abs(change - 32) <= 2


def test_fixed_policy_pads_short_and_crops_long_clips():
    s = FeatureSettings(channels=1, length_policy="fixed", duration=3.0)
    short = compute_feature_image(tone(500, 1.0), sr=SR, settings=s)[..., 0]
    # 1 s centred in 3 s: the outer thirds are silence, i.e. the floor (0)
    assert short[:, :18].max() == 0 and short[:, -18:].max() == 0
    assert short[:, 28:36].max() > 0.5
    long_ = compute_feature_image(step_tone(9.0), sr=SR, settings=s)
    assert long_.shape == (64, 64, 1)
    np.testing.assert_array_equal(fix_length(np.arange(10.0), sr=1, duration=4), [3, 4, 5, 6])
    np.testing.assert_array_equal(fix_length(np.ones(2), sr=1, duration=5), [0, 1, 1, 0, 0])


def test_image_resamples_a_foreign_rate():
    y16 = tone(440, 2.0, sr=16000)
    img = compute_feature_image(y16, sr=16000)
    ref = compute_feature_image(tone(440, 2.0), sr=SR)
    assert np.abs(img - ref).mean() < 0.02


# --- audio loading ------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000, 22050])
def test_load_audio_resamples(tmp_path, rate):
    path = tmp_path / f"tone_{rate}.wav"
    sf.write(path, tone(440, 1.5, sr=rate), rate)
    y = load_audio(path, sr=SR)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(y.size - 1.5 * SR) <= 2
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(spectrum.argmax() * SR / y.size - 440) < 2
    assert 0.4 < np.abs(y[1000:-1000]).max() < 0.6  # no loss or gain


def test_load_audio_averages_stereo(tmp_path):
    left, right = tone(300, 1.0, sr=48000), tone(300, 1.0, sr=48000, amp=0.1)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 48000)
    y = load_audio(path, sr=SR)
    assert y.ndim == 1 and abs(y.size - SR) <= 1
    assert np.abs(y[500:-500]).max() == pytest.approx(0.3, abs=0.01)


BAD_CASES = {
    "empty": "empty",
    "short": "shorter than one analysis window",
    "silent": "all silence",
    "nonfinite": "NaN or infinite",
    "garbage": "cannot decode",
}


@pytest.fixture
def bad_files(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    files = {}
    for name, y, subtype in [("empty", np.zeros(0, np.float32), "PCM_16"),
                             ("short", tone(440, 0.01), "PCM_16"),
                             ("silent", np.zeros(SR, np.float32), "PCM_16"),
                             ("nonfinite", np.where(np.arange(SR) == 100, np.nan,
                                                    tone(440, 1.0)).astype(np.float32), "FLOAT")]:
        files[name] = folder / f"{name}.wav"
        sf.write(files[name], y, SR, subtype=subtype)
    files["garbage"] = folder / "garbage.wav"
    files["garbage"].write_bytes(b"RIFF not really a wave file" * 10)
    return files


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_load_audio_rejects_bad_files_naming_them(bad_files, case):
    with pytest.raises(FserError, match=BAD_CASES[case]) as info:
        load_audio(bad_files[case])
    assert str(bad_files[case]) in str(info.value)


def test_silence_threshold_is_one_16_bit_step(tmp_path):
    path = tmp_path / "quiet.wav"
    sf.write(path, tone(440, 1.0, amp=2 * SILENCE_PEAK), SR, subtype="FLOAT")
    assert load_audio(path).size == SR  # very quiet is not silent


def test_load_features_fails_or_reports_bad_files(tmp_path, cache_dir, bad_files):
    good = write_clips(tmp_path / "good", {"a": tone(300, 1.0), "b": step_tone(2.0)})
    cat = pd.concat([good.iloc[:1], pd.DataFrame({"path": [str(p) for p in bad_files.values()],
                                                  "name": list(bad_files)}), good.iloc[1:]],
                    ignore_index=True)
    with pytest.raises(FserError, match="and 4 more") as info:
        load_features(cat, n_jobs=1, progress=False)
    assert str(bad_files["empty"]) in str(info.value)
    X, kept = load_features(cat, skip_bad=True, n_jobs=1, progress=False)
    assert X.shape == (2, 64, 64, 3) and list(kept["name"]) == ["a", "b"]
    skipped = kept.attrs["skipped"]
    assert sorted(skipped["path"]) == sorted(str(p) for p in bad_files.values())
    for path, reason in zip(skipped["path"], skipped["reason"]):
        assert path in reason
    # the report survives a cached load too
    X2, kept2 = load_features(cat, skip_bad=True, n_jobs=1, progress=False)
    assert kept2.attrs["n_computed"] == 0 and len(kept2.attrs["skipped"]) == len(bad_files)
    np.testing.assert_array_equal(X, X2)


def test_missing_file_is_reported(tmp_path, cache_dir):
    cat = pd.DataFrame({"path": [str(tmp_path / "nowhere.wav")]})
    with pytest.raises(FserError, match="nowhere.wav"):
        load_features(cat, n_jobs=1, progress=False)


# --- load_features and its cache ------------------------------------------------------------

@pytest.fixture
def small_catalogue(demo_root):
    from fser_utils.data.catalogue import load_catalogue

    return load_catalogue(demo_root, corpora=("demo",)).iloc[:40].reset_index(drop=True)


def test_load_features_matches_single_images(small_catalogue, cache_dir):
    X, kept = load_features(small_catalogue, n_jobs=1, progress=False)
    assert X.shape == (40, 64, 64, 3) and X.dtype == np.float32
    assert 0 <= X.min() and X.max() <= 1
    assert kept["path"].tolist() == small_catalogue["path"].tolist()
    assert kept.attrs["skipped"].empty and kept.attrs["n_computed"] == 40
    for i in (0, 17, 39):
        y = load_audio(small_catalogue["path"][i])
        np.testing.assert_array_equal(X[i], compute_feature_image(y, sr=SR))


def test_parallel_equals_serial(small_catalogue, cache_dir):
    X1, _ = load_features(small_catalogue, n_jobs=1, cache=False, progress=False)
    X2, _ = load_features(small_catalogue, n_jobs=2, cache=False, progress=False)
    np.testing.assert_array_equal(X1, X2)


def test_cache_hit_miss_and_subsets(small_catalogue, cache_dir):
    X, kept = load_features(small_catalogue, n_jobs=1, progress=False)
    file = get_feature_cache_path(FeatureSettings())
    assert file.exists() and file.parent.parent == cache_dir
    X2, kept2 = load_features(small_catalogue, n_jobs=1, progress=False)  # hit
    assert kept2.attrs["n_computed"] == 0
    np.testing.assert_array_equal(X, X2)
    Xs, kept_s = load_features(small_catalogue.iloc[[5, 2, 30]], n_jobs=1, progress=False)
    assert kept_s.attrs["n_computed"] == 0
    np.testing.assert_array_equal(Xs, X[[5, 2, 30]])
    grey = FeatureSettings(channels=1)  # a changed setting recomputes, in its own file
    Xg, kept_g = load_features(small_catalogue, grey, n_jobs=1, progress=False)
    assert kept_g.attrs["n_computed"] == 40 and Xg.shape == (40, 64, 64, 1)
    assert get_feature_cache_path(grey) != file and get_feature_cache_path(grey).exists()


def test_cache_notices_a_changed_file(tmp_path, cache_dir):
    cat = write_clips(tmp_path / "clips", {"a": tone(300, 1.0), "b": tone(600, 1.0)})
    X, _ = load_features(cat, n_jobs=1, progress=False)
    sf.write(cat["path"][1], step_tone(2.0), SR)
    X2, kept = load_features(cat, n_jobs=1, progress=False)
    assert kept.attrs["n_computed"] == 1
    np.testing.assert_array_equal(X2[0], X[0])
    assert not np.array_equal(X2[1], X[1])


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_damaged_cache_is_rebuilt(small_catalogue, cache_dir, damage):
    X, _ = load_features(small_catalogue, n_jobs=1, progress=False)
    file = get_feature_cache_path(FeatureSettings())
    data = file.read_bytes()
    if damage == "truncate":
        file.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        pos = len(data) // 2
        file.write_bytes(data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1:])
    else:
        file.write_bytes(b"not a cache")
    with pytest.warns(UserWarning, match="rebuilding"):
        X2, kept = load_features(small_catalogue, n_jobs=1, progress=False)
    assert kept.attrs["n_computed"] == 40
    np.testing.assert_array_equal(X, X2)
    _, kept3 = load_features(small_catalogue, n_jobs=1, progress=False)  # rebuilt and valid
    assert kept3.attrs["n_computed"] == 0


def test_no_cache_leaves_no_file(small_catalogue, cache_dir):
    load_features(small_catalogue.iloc[:3], cache=False, n_jobs=1, progress=False)
    assert not get_feature_cache_path(FeatureSettings()).exists()


# --- the command -------------------------------------------------------------------------

def test_cli_features(demo_root, cache_dir, capsys):
    from fser_utils.cli import main

    status = main(["features", "--root", str(demo_root), "--corpora", "demo", "--quiet",
                   "--jobs", "1"])
    out = capsys.readouterr().out
    assert status == 0
    assert "demo" in out and "192 of   192" in out and "skipped:   0" in out
    assert "time:" in out and "192 clips extracted" in out
    main(["features", "--root", str(demo_root), "--corpora", "demo", "--quiet"])
    assert "0 clips extracted, 192 from the cache" in capsys.readouterr().out


def test_cli_features_reports_skipped(tmp_path, cache_dir, capsys, bad_files):
    from fser_utils.cli import main

    root = tmp_path / "root"
    folder = root / "demo" / "s01"
    folder.mkdir(parents=True)
    sf.write(folder / "s01_anger_01.wav", tone(300, 1.0), SR)
    (folder / "s01_calm_01.wav").write_bytes(bad_files["garbage"].read_bytes())
    # the catalogue already reads headers, so a broken file fails there, naming it
    assert main(["features", "--root", str(root), "--corpora", "demo", "--quiet"]) == 2
    assert "s01_calm_01.wav" in capsys.readouterr().err
    (folder / "s01_calm_01.wav").unlink()
    sf.write(folder / "s01_calm_01.wav", np.zeros(SR, np.float32), SR)
    assert main(["features", "--root", str(root), "--corpora", "demo", "--quiet"]) == 2
    assert "all silence" in capsys.readouterr().err
    assert main(["features", "--root", str(root), "--corpora", "demo", "--quiet",
                 "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert "skipped:   1" in out and "s01_calm_01.wav" in out and "all silence" in out


@pytest.mark.parametrize("policy", ["resize", "fixed"])
def test_feature_steps_end_in_the_image(policy):
    s = FeatureSettings(length_policy=policy, duration=1.5)
    y = step_tone(2.0, sr=16000)
    steps = compute_feature_steps(y, sr=16000, settings=s)
    np.testing.assert_array_equal(steps["image"], compute_feature_image(y, sr=16000, settings=s))
    assert steps["mel_db"].shape[0] == 128 and steps["grey"].shape == (64, 64)
    assert steps["scaled"].min() >= 0 and steps["scaled"].max() == 1
    assert steps["signal"].size == (round(1.5 * SR) if policy == "fixed" else round(2.0 * SR))


def test_joblib_backend_can_be_swapped(small_catalogue, cache_dir):
    # what a Dask or Ray cluster plugs into: joblib's parallel_config
    from joblib import parallel_config

    X1, _ = load_features(small_catalogue, n_jobs=1, cache=False, progress=False)
    with parallel_config(backend="threading"):
        X2, _ = load_features(small_catalogue, n_jobs=2, cache=False, progress=False)
    np.testing.assert_array_equal(X1, X2)


def test_cli_features_of_another_kind(tmp_path, cache_dir, capsys):
    from fser_utils.cli import main

    root = tmp_path / "root"
    write_clips(root / "demo" / "s01",
                {"s01_anger_01": step_tone(1.0), "s01_calm_01": tone(300, 1.0)})
    assert main(["features", "--root", str(root), "--corpora", "demo", "--quiet", "--jobs", "1",
                 "--features", "logmel", "--n-mels", "32"]) == 0
    out = capsys.readouterr().out
    assert "'kind': 'logmel'" in out and "'n_mels': 32" in out and "X (2, 32, 200, 1)" in out
    assert main(["features", "--root", str(root), "--corpora", "demo", "--quiet",
                 "--features", "logmel", "--channels", "1"]) == 2
    assert "bad settings for feature kind 'logmel'" in capsys.readouterr().err
