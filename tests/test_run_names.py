"""Run folder names carry every setting that differs from the model's defaults."""
import json

import pytest

# flatten, one hidden layer, softmax: seconds to train on the demo corpus
from test_registry import build_tiny


def _name(tmp_path, tag=None, **settings):
    from fser_utils.training.run_config import RunConfig
    from fser_utils.training.run_names import find_run_for_config

    return find_run_for_config(RunConfig(**settings), tag=tag, runs_dir=tmp_path).name


def test_names_follow_the_stored_scheme(tmp_path):
    from fser_utils.features.kinds import get_feature_settings
    from fser_utils.training.profiles import PROFILES

    assert PROFILES["budget"].epochs != 300
    assert _name(tmp_path, "s1", model="logmel-cnn", split="speaker",
                 overrides={"epochs": 300}) == "logmel-cnn-budget-speaker-e300-s1"
    assert _name(tmp_path, model="logmel-cnn-warp", split="corpus", test_corpus="emodb",
                 overrides={"epochs": 40}) == "logmel-cnn-warp-recognizer-corpus-emodb-e40"
    # the model's own epochs and feature kind are left out, as before
    assert _name(tmp_path, model="logmel-cnn", overrides={"epochs": PROFILES["budget"].epochs}) \
        == "logmel-cnn-budget-paper"
    assert _name(tmp_path, model="fser", profile="quick") == "fser-quick-paper"
    assert _name(tmp_path, model="fser", profile="cpu") == "fser-quick-paper"  # its old name
    assert _name(tmp_path, model="logmel-cnn", feature_settings=get_feature_settings("mfcc")) \
        == "logmel-cnn-budget-paper-mfcc"
    assert _name(tmp_path, model="svm-egemaps",
                 feature_settings=get_feature_settings("compare")) \
        == "svm-egemaps-fit-once-paper-compare"
    changed = _name(tmp_path, model="logmel-cnn",
                    feature_settings=get_feature_settings("mfcc", n_mfcc=20))
    assert changed.startswith("logmel-cnn-budget-paper-mfcc-") and len(changed) == 35
    # the GPU runs' tag already named their epochs
    assert _name(tmp_path, "e120-gpu", model="logmel-cnn", overrides={"epochs": 120}) \
        == "logmel-cnn-budget-paper-e120-gpu"


def test_a_finished_run_under_its_older_name_is_reused(tmp_path):
    from fser_utils.training.run import to_jsonable
    from fser_utils.training.run_config import RunConfig
    from fser_utils.training.run_names import find_run_for_config

    config = RunConfig(model="logmel-cnn", overrides={"epochs": 5})
    older = tmp_path / "logmel-cnn-budget-paper"
    older.mkdir()
    (older / "settings.json").write_text(json.dumps({"config_key": to_jsonable(config.key)}))
    assert find_run_for_config(config, runs_dir=tmp_path).name == "logmel-cnn-budget-paper-e5"
    (older / "metrics.json").write_text("{}")
    assert find_run_for_config(config, runs_dir=tmp_path).path == older
    other = RunConfig(model="logmel-cnn", overrides={"epochs": 6})
    assert find_run_for_config(other, runs_dir=tmp_path).name == "logmel-cnn-budget-paper-e6"


def test_a_run_made_under_a_profiles_old_name_is_reused_not_retrained(tmp_path):
    """Profiles were renamed by purpose (cpu -> quick, cnn -> budget ...): a run folder and
    configuration key written under the old name still match today's configuration."""
    from fser_utils.training.profiles import (PROFILE_ALIASES, PROFILES, get_training_profile,
                                              migrate_settings)
    from fser_utils.training.run import Run, to_jsonable
    from fser_utils.training.run_config import RunConfig
    from fser_utils.training.run_names import find_run_for_config

    assert get_training_profile("cpu") == get_training_profile("quick") == PROFILES["cpu"]
    config = RunConfig(model="fser", profile="quick")
    old_key = to_jsonable(config.key)
    old_key["profile_settings"]["name"] = "cpu"
    older = tmp_path / "fser-cpu-paper"
    older.mkdir()
    (older / "settings.json").write_text(json.dumps(
        {"profile": "cpu", "profile_settings": {"name": "cpu"}, "config_key": old_key}))
    (older / "metrics.json").write_text("{}")
    assert Run(older).config_key == to_jsonable(config.key)
    assert Run(older).load_settings()["profile"] == "quick"
    assert find_run_for_config(config, runs_dir=tmp_path).path == older
    # a key made under another profile is not mistaken for it
    assert find_run_for_config(RunConfig(model="fser", profile="ci"),
                               runs_dir=tmp_path).name == "fser-ci-paper"
    assert migrate_settings({"profile": "gpu"}) == {"profile": "gpu"}  # unknown: unchanged
    pooled = {"recipe_profile": {"name": "paper-adam"}}  # a pooled leak arm's recipe
    assert migrate_settings(pooled)["recipe_profile"]["name"] == "converge"
    assert pooled["recipe_profile"]["name"] == "paper-adam"  # the settings read are kept
    assert set(PROFILE_ALIASES.values()) <= set(PROFILES)


@pytest.fixture
def tiny(monkeypatch):
    from fser_utils.data import corpora
    from fser_utils.models import registry

    monkeypatch.setattr(corpora, "PAPER_CORPORA", ("demo",))
    monkeypatch.setitem(registry.MODELS, "tiny-names", registry.ModelSpec(
        "tiny-names", build_tiny, features="mel-image", profile="ci", params={"units": 4}))


def test_fser_train_epochs_next_to_a_default_run_trains_its_own_folder(
        demo_root, tiny, tmp_path, monkeypatch, capsys):
    from fser_utils.cli import main
    from fser_utils.training.run import Run

    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FSER_RUNS", str(tmp_path / "runs"))
    command = ["train", "--model", "tiny-names", "--profile", "ci", "--root", str(demo_root),
               "--quiet"]
    assert main(command) == 0, capsys.readouterr().err
    default = Run(tmp_path / "runs" / "tiny-names-ci-paper")
    assert default.load_metrics()["epochs_run"] == 10
    assert main(command + ["--epochs", "3"]) == 0, capsys.readouterr().err
    assert "tiny-names-ci-paper-e3" in capsys.readouterr().out
    shorter = Run(tmp_path / "runs" / "tiny-names-ci-paper-e3")
    assert shorter.load_metrics()["epochs_run"] == 3
    assert default.load_metrics()["epochs_run"] == 10  # left as it was
    # fser train draws the learning curves once the run is written
    for run in (default, shorter):
        assert (run.path / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_a_finished_fser_run_under_its_name_without_the_model_is_reused(tmp_path):
    from fser_utils.training.run import to_jsonable
    from fser_utils.training.run_config import RunConfig
    from fser_utils.training.run_names import find_run_for_config

    config = RunConfig(model="fser", profile="ci")
    older = tmp_path / "ci-paper"  # the scheme before every name led with its model
    older.mkdir()
    (older / "settings.json").write_text(json.dumps({"config_key": to_jsonable(config.key)}))
    assert find_run_for_config(config, runs_dir=tmp_path).name == "fser-ci-paper"  # unfinished
    (older / "metrics.json").write_text("{}")
    assert find_run_for_config(config, runs_dir=tmp_path).path == older
    other = RunConfig(model="fser", profile="ci", seed=3)  # another configuration: its own
    assert find_run_for_config(other, runs_dir=tmp_path).name == "fser-ci-paper"


def test_make_stored_run_name_reads_the_tags_from_the_settings():
    from fser_utils.training.profiles import PROFILES
    from fser_utils.training.run_names import make_stored_run_name

    settings = {"model": {"name": "logmel-cnn-warp"}, "profile": "cnn-warp", "split": "corpus",
                "test_corpus": "nemo", "seed": 2, "hardware": "2 CPU cores; no GPU",
                "corpora": ["emodb", "emovo", "nemo", "ravdess", "urdu"],
                "profile_settings": {"epochs": PROFILES["recognizer"].epochs}}
    # made under the profile's old name, named by its current one
    assert make_stored_run_name(settings) == "logmel-cnn-warp-recognizer-corpus-nemo-all-s2"
    gpu = {**settings, "hardware": "16 CPU cores; GPU: NVIDIA H100", "seed": 42,
           "corpora": ["emodb", "emovo", "ravdess"], "split": "paper", "test_corpus": None,
           "profile_settings": {"epochs": 300}}
    assert make_stored_run_name(gpu) == "logmel-cnn-warp-recognizer-paper-e300-gpu"
    assert make_stored_run_name({**gpu, "arm": "augment before split", "profile": "paper"}) \
        == "leak-pooled-paper-gpu"


def test_every_stored_run_folder_follows_the_scheme():
    from fser_utils.config import get_stored_path
    from fser_utils.training.run_names import make_stored_run_name

    folders = sorted(get_stored_path("results").glob("*/*/settings.json"))
    assert len(folders) > 200
    off = [f"{p.parent.parent.name}/{p.parent.name} -> {make_stored_run_name(json.loads(p.read_text()))}"
           for p in folders if make_stored_run_name(json.loads(p.read_text())) != p.parent.name]
    assert not off, f"rename with tools/results/rename_stored.py --apply: {off[:5]}"


def test_name_used_corpora_reads_the_set_asked_for_from_the_corpora_read():
    from fser_utils.data.corpora import name_used_corpora

    assert name_used_corpora(["emodb", "emovo", "ravdess"]) is None  # SAVEE absent: paper
    assert name_used_corpora(["emodb", "emovo", "nemo", "ravdess", "urdu"]) == "all"
    assert name_used_corpora(["emodb", "nemo"]) == "emodb+nemo"
    assert name_used_corpora(None) is None
