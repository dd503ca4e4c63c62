import numpy as np
import pandas as pd
import pytest

from fser_utils.errors import FserError
from fser_utils.features.speaker_norm import compute_speaker_groups, normalize_per_speaker


def test_each_speaker_gets_mean_zero_and_unit_spread():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4)) * [1, 5, 0.1, 2] + [3, -2, 0, 10]
    X[:, 3] = 7.0  # constant for everyone: becomes 0, not NaN
    groups = np.repeat(["a", "b", "c"], 10)
    Z = normalize_per_speaker(X, groups=groups)
    for g in "abc":
        rows = groups == g
        np.testing.assert_allclose(Z[rows, :3].mean(axis=0), 0, atol=1e-6)
        np.testing.assert_allclose(Z[rows, :3].std(axis=0), 1, atol=1e-5)
    assert (Z[:, 3] == 0).all()


def test_a_speakers_gain_and_offset_disappear():
    """Why it helps: a louder or higher voice shifts and scales that speaker's features."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 5))
    groups = np.repeat(["quiet", "loud"], 6)
    louder = X.copy()
    louder[6:] = 3.0 * louder[6:] + 20.0
    np.testing.assert_allclose(normalize_per_speaker(louder, groups=groups),
                               normalize_per_speaker(X, groups=groups), atol=1e-5)
    # without the per-speaker step the two versions differ
    assert not np.allclose(louder, X)


def test_speaker_keys_keep_corpora_apart():
    cat = pd.DataFrame({"corpus": ["emodb", "emovo", "emodb"], "speaker": ["01", "01", "01"]})
    assert compute_speaker_groups(cat).tolist() == ["emodb/01", "emovo/01", "emodb/01"]
    with pytest.raises(FserError, match="catalogue columns: speaker"):
        compute_speaker_groups(cat.drop(columns="speaker"))


@pytest.mark.parametrize("X, groups, match", [
    (np.zeros((6, 2, 2)), ["a"] * 6, "one feature vector per clip"),
    (np.zeros((6, 2)), ["a"] * 5, "5 speaker keys for 6 clips"),
    (np.zeros((7, 2)), ["a"] * 5 + ["b"] * 2, r"at least 5 clips per speaker; too few for: b \(2\)"),
])
def test_bad_input_is_one_clear_error(X, groups, match):
    with pytest.raises(FserError, match=match):
        normalize_per_speaker(X, groups=groups)


def test_svm_search_calibrates_only_the_kept_model():
    """The C search skips probability calibration; the model kept is refitted with it."""
    from fser_utils.models.classical import build_svm, fit_classical

    calls = []

    def build(**kw):
        calls.append((kw["C"], kw["probability"]))
        return build_svm(**kw)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    model, history = fit_classical(build, X[:60], y[:60], X[60:], y[60:], n_classes=2,
                                   seed=0, grid=(0.1, 1.0, 10.0))
    best = max(history, key=lambda r: r["val_accuracy"])["C"]
    assert calls == [(0.1, False), (1.0, False), (10.0, False), (best, True)]
    assert model.predict_proba(X[60:]).shape == (20, 2)


def test_spectrograms_are_standardised_per_band_over_speech_frames():
    """Log-mel arrays (n, n_mels, n_frames, 1): padding stays out of the statistics."""
    from fser_utils.features.speaker_norm import PAD_VALUE

    rng = np.random.default_rng(2)
    X = rng.normal(size=(10, 3, 8, 1)) * np.array([2.0, 0.5, 1.0])[:, None, None] + 1.0
    X[:, :, :2] = -5.0  # two padding frames at the floor of every clip
    groups = np.repeat(["a", "b"], 5)
    Z = normalize_per_speaker(X, groups=groups, time_axis=1)
    assert Z.shape == X.shape
    assert (Z[:, :, :2] == PAD_VALUE).all()
    for g in "ab":
        speech = Z[groups == g][:, :, 2:, 0]  # (clips, bands, frames)
        np.testing.assert_allclose(speech.mean(axis=(0, 2)), 0, atol=1e-5)
        np.testing.assert_allclose(speech.std(axis=(0, 2)), 1, atol=1e-4)
    # a louder speaker (every band shifted in dB) looks the same after the step
    louder = X.copy()
    louder[5:, :, 2:] += 12.0
    louder[5:, :, :2] = -5.0 + 12.0
    np.testing.assert_allclose(normalize_per_speaker(louder, groups=groups, time_axis=1), Z,
                               atol=1e-4)


def test_a_time_axis_outside_the_clip_is_refused():
    with pytest.raises(FserError, match="time axis 3 is not an axis of clips of shape"):
        normalize_per_speaker(np.zeros((6, 2, 2, 1)), groups=["a"] * 6, time_axis=3)


def test_time_axis_of_each_feature_kind():
    from fser_utils.features.kinds import get_feature_settings, get_time_axis

    assert get_time_axis(get_feature_settings("logmel")) == 1
    assert get_time_axis(get_feature_settings("egemaps")) is None
    # the paper's images, like a user's own kind, need not declare one
    assert get_time_axis(get_feature_settings("mel-image")) is None


def test_per_clip_normalisation_needs_only_the_clip():
    from fser_utils.features.speaker_norm import PAD_VALUE, normalize_per_clip

    rng = np.random.default_rng(0)
    X = rng.normal(-30, 8, size=(3, 16, 50, 1)).astype(np.float32)
    X[1] = 0.5 * X[1] - 10  # another voice level and spread
    X[2, :, 40:] = X[2].min() - 1  # padding at the end
    Z = normalize_per_clip(X, time_axis=1)
    speech = Z[0, :, :, 0]
    np.testing.assert_allclose(speech.mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(speech.std(axis=1), 1, atol=1e-4)
    # a clip alone is normalised as in any batch, and its level and spread are gone
    np.testing.assert_allclose(normalize_per_clip(X[1:2], time_axis=1)[0], Z[1], atol=1e-5)
    np.testing.assert_allclose(Z[1, :, :, 0].std(axis=1), 1, atol=1e-4)
    assert (Z[2, :, 40:] == PAD_VALUE).all()
    np.testing.assert_allclose(Z[2, :, :40, 0].mean(axis=1), 0, atol=1e-4)
