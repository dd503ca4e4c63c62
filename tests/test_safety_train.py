"""``fser train`` checks every option before it touches anything (issue 32, item 3)."""
from __future__ import annotations

import json
import os

import pytest

from fser_utils.cli import main
from fser_utils.training.run_config import RunConfig


def _finished_run(folder):
    """A finished run of ``fser train --profile ci`` (its files are never read here)."""
    (folder / "checkpoints").mkdir(parents=True)
    key = RunConfig(model="fser", profile="ci").key
    files = {"settings.json": json.dumps({"model": {"name": "fser"}, "config_key": key}),
             "metrics.json": json.dumps({"val_accuracy": 0.5, "test_accuracy": 0.5}),
             "history.csv": "epoch,loss\n0,1.0\n", "split.csv": "relpath,part\na,test\n",
             "test_predictions.csv": "relpath\na\n", "val_predictions.csv": "relpath\n",
             "model.keras": "not a model", "checkpoints/state.json": '{"epoch": 9}',
             "checkpoints/last.keras": "not a model"}
    for name, text in files.items():
        (folder / name).write_text(text)


def _snapshot(folder):
    return {os.path.relpath(os.path.join(d, f), folder):
            open(os.path.join(d, f), "rb").read()
            for d, _, names in os.walk(folder) for f in names}


REFUSED = [
    (["--devices", "0", "--no-resume"], "devices must be a positive integer"),
    (["--devices", "3"], "needs the JAX backend"),
    (["--no-resume"], "holds a finished run, which --no-resume would delete"),
    (["--seed", "7"], "holds a finished run made with other settings (seed)"),
    (["--model", "svm-egemaps", "--features", "logmel"], "reads one feature vector per clip"),
    (["--model", "fser", "--features", "egemaps"], "reads a feature map per clip"),
    (["--model", "svm-egemaps", "--devices", "2"], "--devices is for networks"),
    (["--loop", "resident"], "resident training loop needs KERAS_BACKEND=jax"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--split", "corpus"], "needs --test-corpus"),
    (["--profile", "nope"], "unknown profile"),
]


@pytest.mark.parametrize("options, message", REFUSED, ids=[" ".join(o) for o, _ in REFUSED])
def test_a_finished_run_survives_every_refused_command(options, message, tmp_path, capsys,
                                                       monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    run = tmp_path / "run"
    _finished_run(run)
    before = _snapshot(run)
    # no --root: had the options been accepted, the empty data root would be read next
    monkeypatch.setenv("FSER_DATA", str(tmp_path / "no-data"))
    assert main(["train", "--model", "fser", "--profile", "ci", "--out", str(run), "--quiet",
                 *options]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert _snapshot(run) == before  # every file, byte for byte, and no new one


def test_a_read_only_output_folder_is_refused_first(tmp_path, capsys, monkeypatch):
    out = tmp_path / "ro"
    out.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(out)
                        else real(p, mode, **kw))  # tests run as root: chmod would not bite
    monkeypatch.setenv("FSER_DATA", str(tmp_path / "no-data"))
    assert main(["train", "--profile", "ci", "--out", str(out / "run")]) == 2
    err = capsys.readouterr().err
    assert f"cannot write to '{out}': read-only" in err and err.count("\n") == 1
    assert list(out.iterdir()) == []


def test_an_over_long_output_name_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FSER_DATA", str(tmp_path / "no-data"))
    assert main(["train", "--profile", "ci", "--out", str(tmp_path / ("x" * 300))]) == 2
    err = capsys.readouterr().err
    assert "longer than 255 bytes" in err and err.count("\n") == 1
