"""The run folder has one owner (:class:`fser_utils.training.run.Run`); the run configuration one home."""
from __future__ import annotations

import ast
import dataclasses
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from fser_utils.errors import FserError
from fser_utils.training.run import RESULT_FILES, Run
from fser_utils.training.run_names import find_latest_run, find_run_for_config, list_runs


def test_run_config_defaults_are_the_cli_defaults():
    from fser_utils.cli import build_parser
    from fser_utils.models.registry import DEFAULT_MODEL
    from fser_utils.training.run_config import RunConfig

    default = RunConfig.defaults()
    args = build_parser().parse_args(["train"])
    assert (args.model, args.profile, args.split, args.test_corpus, args.seed) == tuple(
        default[k] for k in ("model", "profile", "split", "test_corpus", "seed"))
    assert default["model"] == DEFAULT_MODEL
    config = RunConfig()
    assert config.model.name == DEFAULT_MODEL and config.profile.name == config.model.profile
    assert config.feature_settings.kind == config.model.features


def test_run_config_key_is_stable_and_complete():
    from fser_utils.features.kinds import get_feature_settings
    from fser_utils.training.profiles import PROFILES
    from fser_utils.training.run_config import RunConfig

    a = RunConfig(model="fser", profile="ci")
    same = RunConfig(model="fser", profile=PROFILES["ci"], overrides={"epochs": 10})
    assert a == same and a.key == same.key and hash(a) == hash(same)
    assert a.digest() == same.digest() and len(a.digest()) == 16
    assert json.loads(json.dumps(a.key)) == a.key
    others = [{"overrides": {"epochs": 3}}, {"seed": 1}, {"split": "speaker"},
              {"feature_settings": get_feature_settings("mel-image", channels=1)},
              {"split": "corpus", "test_corpus": "emodb"}]
    digests = {RunConfig(model="fser", profile="ci", **o).digest() for o in others}
    assert len(digests) == len(others) and a.digest() not in digests
    # the feature code's version is part of the key: older features make a run stale
    import fser_utils.features.images as images

    version, before = images.FEATURE_VERSION, a.digest()
    try:
        images.FEATURE_VERSION = version + 1
        assert a.digest() != before
    finally:
        images.FEATURE_VERSION = version
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.seed = 3
    assert dataclasses.replace(a, seed=7).seed == 7


@pytest.mark.parametrize("fields, message", [
    ({"split": "corpus"}, "needs --test-corpus"),
    ({"test_corpus": "emodb"}, "only used with the corpus split"),
    ({"split": "corpus", "test_corpus": "nope"}, "unknown test corpus 'nope'"),
    ({"seed": -5}, r"seed must be an integer in \[0, 2\*\*32\)"),
    ({"seed": True}, "seed must be an integer"),
    ({"model": "nope"}, "unknown model 'nope'"),
])
def test_run_config_refuses_bad_fields(fields, message):
    from fser_utils.training.run_config import RunConfig

    with pytest.raises(FserError, match=message):
        RunConfig(**fields)


def test_names_of_runs(tmp_path):
    from fser_utils.training.run_config import RunConfig, run_name

    assert run_name("quick", "corpus", "emodb") == "fser-quick-corpus-emodb"
    assert run_name("ci", "paper", tag="noflip") == "fser-ci-paper-noflip"
    assert run_name("budget-light", "speaker", model="tcn") == "tcn-budget-light-speaker"
    config = RunConfig(model="fser", profile="ci", split="corpus", test_corpus="emodb")
    assert find_run_for_config(config, runs_dir=tmp_path).path == tmp_path / "fser-ci-corpus-emodb"
    assert find_run_for_config(config, runs_dir=tmp_path, tag="s1").name == "fser-ci-corpus-emodb-s1"
    assert find_run_for_config(config, out=tmp_path / "x").path == tmp_path / "x"


def _fake_model_run(folder: Path, model: str, mtime: float) -> Run:
    folder.mkdir(parents=True)
    (folder / "settings.json").write_text(json.dumps({"model": {"name": model}}))
    (folder / "model.skops").write_bytes(f"not used {model} {mtime}".encode())
    Run(folder).sign_model()  # only runs this installation wrote are found
    os.utime(folder / "model.skops", (mtime, mtime))
    return Run(folder)


def test_find_latest_prefers_the_model_asked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("FSER_CONFIG_DIR", str(tmp_path / "config"))
    old_a = _fake_model_run(tmp_path / "a1", "a", 1_000)
    new_a = _fake_model_run(tmp_path / "a2", "a", 2_000)
    new_b = _fake_model_run(tmp_path / "b", "b", 3_000)
    (tmp_path / "empty").mkdir()
    assert find_latest_run(tmp_path, model="a") == new_a != old_a
    assert find_latest_run(tmp_path, model="c") == new_b  # none of that model: the newest
    assert [r.name for r in list_runs(tmp_path, with_model=True)] == ["a1", "a2", "b"]
    with pytest.raises(FserError, match="no trained model under"):
        find_latest_run(tmp_path / "empty")


def test_writes_are_atomic_and_reads_validated(tmp_path):
    run = Run(tmp_path / "run")
    run.create()
    run.save_settings({"split": "paper", "n_test": 2, "path": tmp_path})
    run.save_split(pd.DataFrame({"relpath": ["a", "b", "c"], "part": ["train", "test", "test"]}))
    run.save_metrics({"test_accuracy": 0.5})
    assert not [p.name for p in run.path.rglob(".tmp-*")]
    assert run.is_finished and run.count_clips("test") == 2 and run.count_clips("train") == 1
    assert run.load_settings()["path"] == str(tmp_path)
    (run.path / "metrics.json").write_text("{\n  \"test_accuracy\": 0.")
    with pytest.raises(FserError, match=r"metrics.json' is not valid JSON: .*line 2") as info:
        run.load_metrics()
    assert "\n" not in str(info.value)
    (run.path / "settings.json").write_text("[1, 2]")
    with pytest.raises(FserError, match="does not hold a JSON object"):
        Run.open(run.path)
    with pytest.raises(FserError, match="does not exist"):
        Run.open(tmp_path / "nope")


def test_folder_cannot_be_made_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FserError, match="exists and is not a folder"):
        Run(tmp_path / "file").create()
    with pytest.raises(FserError, match="cannot be created: .* is a file"):
        Run(tmp_path / "file" / "run").check_writable()
    assert (tmp_path / "file").read_text() == "x"


def test_only_the_run_module_names_the_run_files():
    """No module of the package reads or writes a run's files by name except run.py and
    the two parts of :class:`Run` it delegates the model and the progress files to."""
    names = set(RESULT_FILES) | {"model.keras", "model.joblib", "state.json", "checkpoints",
                                 "classical.json", "last.keras", "best.weights.h5"}
    package = Path(__file__).resolve().parents[1] / "fser_utils"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if path.parent.name == "training" \
                and path.name in ("run.py", "run_models.py", "run_progress.py"):
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef,
                                           ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in docstrings \
                    and any(n in node.value for n in names):
                offenders.append(f"{path.name}:{node.lineno}: {node.value[:60]!r}")
    assert not offenders, offenders
