"""A run describes itself: it reopens from its own settings, whatever the registries hold."""
import dataclasses
import json
import sys
from dataclasses import dataclass

import numpy as np
import pytest

from fser_utils.errors import FserError
# flatten, one hidden layer, softmax: every input value reaches the output
from test_registry import build_tiny


@dataclass(frozen=True)
class BandEnergySettings:
    """A toy feature kind: log energy in 4 bands of ``n_frames`` frames, frames first."""

    sr: int = 8000
    n_fft: int = 256
    n_frames: int = 16
    kind = "band-energy"
    time_axis = 0
    dtype = np.float32

    @property
    def shape(self):
        return (self.n_frames, 4)

    def asdict(self):
        return {"kind": self.kind, **dataclasses.asdict(self)}

    def key(self):
        return f"band-energy-{self.n_frames}"

    def compute(self, y):
        frames = np.resize(y, self.n_frames * self.n_fft).reshape(self.n_frames, self.n_fft)
        spectrum = np.abs(np.fft.rfft(frames, axis=1))[:, :128]
        return np.log1p(spectrum.reshape(self.n_frames, 4, 32).mean(axis=2)).astype(np.float32)

    def finish(self, arrays):
        return np.asarray(arrays, dtype=np.float32)


@pytest.fixture(scope="module")
def demo_cat(demo_root):
    from fser_utils.data.catalogue import load_catalogue

    return load_catalogue(demo_root, corpora=("demo",))


def test_a_run_predicts_after_its_feature_kind_and_model_are_unregistered(
        demo_cat, tmp_path, monkeypatch, capsys):
    from fser_utils.features import kinds as feature_kinds
    from fser_utils.models import registry
    from fser_utils.cli import main
    from fser_utils.features.kinds import compute_features
    from fser_utils.features import load_audio
    from fser_utils.training.run import Run
    from fser_utils.features.speaker_norm import normalize_per_clip
    from fser_utils.training.train import train_model

    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(feature_kinds.FEATURE_KINDS, "band-energy", BandEnergySettings)
    monkeypatch.setitem(registry.MODELS, "tiny-clip", registry.ModelSpec(
        "tiny-clip", build_tiny, features="band-energy", profile="ci", clip_norm=True,
        params={"units": 4}))
    run = Run(train_model(demo_cat, model="tiny-clip", out=tmp_path / "run", verbose=0,
                          overrides={"epochs": 2}))
    settings = run.load_settings()
    assert settings["feature_kind"] == {
        "name": "band-energy", "class": f"{__name__}:BandEnergySettings",
        "settings": {"sr": 8000, "n_fft": 256, "n_frames": 16}}
    assert settings["model"]["clip_norm"] is True and settings["model"]["speaker_norm"] is False

    monkeypatch.delitem(feature_kinds.FEATURE_KINDS, "band-energy")
    monkeypatch.delitem(registry.MODELS, "tiny-clip")
    assert run.load_feature_settings() == BandEnergySettings()
    clip = demo_cat["path"].iloc[0]
    assert main(["predict", "--run", str(run.path), str(clip), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)["predictions"]
    assert len(scored) == 1 and scored[0]["path"] == str(clip)
    # the run's own flag, not today's registry, says each clip is standardised on its own
    s = BandEnergySettings()
    x = compute_features(load_audio(clip, sr=s.sr, n_fft=s.n_fft), sr=s.sr, settings=s)
    expected = run.load_model().predict(normalize_per_clip(x[None], time_axis=0), verbose=0)[0]
    got = np.array(list(scored[0]["probabilities"].values()))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    raw = run.load_model().predict(x[None], verbose=0)[0]
    assert np.abs(raw - expected).max() > 1e-4  # so that the check above could fail


def test_every_registered_kind_round_trips_by_name():
    from fser_utils.features.kinds import (FEATURE_KINDS, describe_feature_kind,
                                          feature_settings_from_record, get_feature_settings)

    for name in FEATURE_KINDS:
        s = get_feature_settings(name)
        record = json.loads(json.dumps(describe_feature_kind(s)))
        assert record["name"] == name
        assert feature_settings_from_record({"feature_kind": record}) == s
    # both openSMILE kinds share a class: the name tells them apart
    assert describe_feature_kind(get_feature_settings("compare"))["name"] == "compare"
    assert describe_feature_kind(get_feature_settings("egemaps"))["name"] == "egemaps"


def test_runs_of_the_older_format_still_reopen():
    from fser_utils.features.kinds import feature_settings_from_record, get_feature_settings

    compare = get_feature_settings("compare")
    old = {"features": {**compare.asdict(), "kind": "smile"}}
    assert compare.asdict()["kind"] == "smile"
    assert feature_settings_from_record(old) == compare
    mel = get_feature_settings("mel-image")
    assert feature_settings_from_record({"features": mel.asdict()}) == mel
    with pytest.raises(FserError, match="does not record its feature settings"):
        feature_settings_from_record({})


def test_a_recorded_class_is_used_only_when_safe():
    from fser_utils.features.kinds import feature_settings_from_record

    def record(cls):
        return {"feature_kind": {"name": None, "class": cls, "settings": {"sr": 8000}}}

    with pytest.raises(FserError, match="neither registered nor imported"):
        feature_settings_from_record(record("fser_selftest_not_imported:Settings"))
    assert "fser_selftest_not_imported" not in sys.modules
    with pytest.raises(FserError, match="not a feature settings class"):
        feature_settings_from_record(record("os:path"))
    with pytest.raises(FserError, match="no longer exists"):
        feature_settings_from_record(record("fser_utils.no_such_module:Settings"))
    with pytest.raises(FserError, match="does not name a settings class"):
        feature_settings_from_record(record("os:system('x')"))
    # a class of fser_utils, rebuilt from its path alone
    assert feature_settings_from_record(
        record("fser_utils.features.kinds:LogMelSettings")).sr == 8000


def test_one_normalisation_serves_training_and_scoring():
    from fser_utils.features.kinds import get_feature_settings
    from fser_utils.features.speaker_norm import (normalize_features, normalize_per_clip,
                                         normalize_per_speaker)

    s = get_feature_settings("logmel")
    X = np.random.default_rng(0).normal(size=(10, 4, 6, 1)).astype(np.float32)
    groups = np.repeat(["a", "b"], 5)
    np.testing.assert_array_equal(
        normalize_features(X, settings=s, speaker_norm=True, groups=groups),
        normalize_per_speaker(X, groups=groups, time_axis=1))
    np.testing.assert_array_equal(normalize_features(X, settings=s, clip_norm=True),
                                  normalize_per_clip(X, time_axis=1))
    assert normalize_features(X, settings=s) is X
    with pytest.raises(FserError, match="one of them"):
        normalize_features(X, settings=s, speaker_norm=True, clip_norm=True, groups=groups)
    with pytest.raises(FserError, match="needs the speaker"):
        normalize_features(X, settings=s, speaker_norm=True)
