"""Every output is written whole or not at all (issue 32, item 4): run results and
evaluation tables; read-only folders and full disks are one line naming the path."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fser_utils import atomic
from fser_utils.cli import main
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
from fser_utils.training.run import Run


def _failing_writes(monkeypatch, code: int, where=None):
    """Writes (``Path.write_bytes``, what the atomic writers use) put down half their data
    and then fail with ``code``: ENOSPC for a full disk, EACCES for a read-only folder
    (the tests run as root, where chmod would not bite). ``where``: only in that folder."""
    real = Path.write_bytes

    def write_bytes(self, data):
        if where is not None and self.parent != where:
            return real(self, data)
        if code != errno.EACCES:
            real(self, data[: len(data) // 2])
        raise OSError(code, os.strerror(code), str(self))

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def _finished_run(folder: Path) -> Path:
    """A finished run with 16 test clips, readable by ``fser evaluate``."""
    rng = np.random.default_rng(0)
    run = Run(folder)
    run.create()
    clips = [f"demo/s{i % 4:02d}/c{i}.wav" for i in range(32)]
    parts = ["test"] * 16 + ["val"] * 16
    split = pd.DataFrame({"relpath": clips, "corpus": "demo", "speaker": [c[5:8] for c in clips],
                          "sex": "f", "emotion": [EMOTIONS[i % 8] for i in range(32)],
                          "part": parts})
    run.save_split(split)
    run.save_settings({"model": {"name": "fser"}, "profile": "ci", "split": "paper",
                       "seed": 42, "n_test": 16, "n_val": 16})
    for part in ("test", "val"):
        rows = split[split["part"] == part].drop(columns="part").reset_index(drop=True)
        p = rng.dirichlet(np.ones(8), size=len(rows))
        rows["predicted"] = [EMOTIONS[i] for i in p.argmax(1)]
        for i, c in enumerate(EMOTIONS):
            rows[f"p_{c}"] = p[:, i]
        run.save_predictions(rows, part)
    run.save_history(pd.DataFrame({"epoch": [0], "loss": [1.0]}))
    run.save_metrics({"test_accuracy": 0.1, "val_accuracy": 0.1})
    return folder


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_write_atomic_keeps_the_old_file_on_a_full_disk(tmp_path, monkeypatch):
    target = tmp_path / "report.csv"
    target.write_text("the previous complete table\n")
    _failing_writes(monkeypatch, errno.ENOSPC)
    with pytest.raises(FserError) as info:
        atomic.write_text_atomic(target, "new\n" * 1000)
    assert str(info.value) == f"cannot write '{target}': No space left on device"
    assert target.read_text() == "the previous complete table\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]


def test_evaluate_on_a_full_disk_is_one_line_and_leaves_no_partial_file(tmp_path, monkeypatch,
                                                                        capsys):
    run = _finished_run(tmp_path / "run")
    assert main(["evaluate", str(run), "--n-boot", "20"]) == 0
    capsys.readouterr()
    before = _snapshot(run)
    _failing_writes(monkeypatch, errno.ENOSPC)
    assert main(["evaluate", str(run), "--n-boot", "20"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err
    assert f"'{run / 'evaluation' / 'report.csv'}'" in err and "Traceback" not in err
    assert _snapshot(run) == before  # the previous tables, whole; no temporary file


def test_evaluate_into_a_read_only_folder_is_one_line(tmp_path, monkeypatch, capsys):
    run = _finished_run(tmp_path / "run")
    out = tmp_path / "ro"
    out.mkdir()

    _failing_writes(monkeypatch, errno.EACCES, where=out)
    assert main(["evaluate", str(run), "--out", str(out), "--n-boot", "20"]) == 2
    err = capsys.readouterr().err
    assert err == f"fser: error: cannot write '{out / 'report.csv'}': Permission denied\n"
    assert list(out.iterdir()) == []


def test_results_are_written_with_the_model_last(tmp_path, monkeypatch):
    """A kill while a run's results are written leaves the new model or none, never a
    model beside missing results: the model is renamed into place after everything."""
    import keras

    order = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (order.append(Path(b).name),
                                                      real_replace(a, b))[1])
    run = Run(tmp_path / "run")
    run.create()
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(8)])
    run.save_model(model)
    run.save_predictions(pd.DataFrame({"relpath": ["a"]}), "test")
    run.save_metrics({"test_accuracy": 0.5})
    assert order[-3:] == ["metrics.json", "model.json", "model.keras"]
    assert order.index("test_predictions.csv") < order.index("model.keras")
    # killed before the model's rename: the folder holds no model at all
    run2 = Run(tmp_path / "run2")
    run2.create()
    run2.save_model(model)
    assert run2.model_file is None


def test_a_staged_model_left_by_a_kill_is_cleared(tmp_path):
    run = Run(tmp_path / "run")
    run.create()
    (run.path / ".staged-model.keras").write_bytes(b"half")
    (run.path / "model.keras").write_bytes(b"old")
    run.clear()
    assert not list(run.path.glob("*.keras")) and not list(run.path.glob(".staged-*"))
