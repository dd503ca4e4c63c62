"""fser train on a full disk: one line, no traceback, no half-made run left behind, and a
history that is never cut mid-line (issue 32)."""
import errno

import pandas as pd
import pytest


def _full_disk_after(n_writes, monkeypatch):
    """Make the n-th atomic write of the run folder fail as a full disk would."""
    from fser_utils import atomic

    real, count = atomic.os.replace, {"n": 0}

    def replace(src, dst):
        count["n"] += 1
        if count["n"] >= n_writes:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    return count


@pytest.mark.parametrize("n_writes", [1, 4])
def test_full_disk_during_training_is_one_line_and_leaves_nothing(demo_root, tmp_path, capsys,
                                                                  monkeypatch, n_writes):
    from fser_utils.data import corpora
    from fser_utils.cli import main

    monkeypatch.setattr(corpora, "PAPER_CORPORA", ("demo",))
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    _full_disk_after(n_writes, monkeypatch)
    out = tmp_path / "run"
    status = main(["train", "--profile", "ci", "--root", str(demo_root), "--out", str(out),
                   "--epochs", "2", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2
    lines = [line for line in err.splitlines() if line.startswith("fser: error:")]
    assert len(lines) == 1 and "No space left on device" in lines[0], err
    assert "Traceback" not in err
    assert not out.exists()  # the half-made run is gone, not left with split.csv or checkpoints


def test_history_logger_rewrites_the_whole_file(tmp_path):
    from fser_utils.training.run import Run

    run = Run(tmp_path / "r")
    run.path.mkdir()
    logger = run.make_history_logger()
    logger.on_epoch_end(0, {"loss": 2.0, "accuracy": 0.25})
    logger.on_epoch_end(1, {"loss": 1.5, "accuracy": 0.5})
    history = pd.read_csv(run.path / "history.csv")
    assert list(history.columns) == ["epoch", "accuracy", "loss"]
    assert history["loss"].tolist() == [2.0, 1.5] and history["epoch"].tolist() == [0, 1]
    assert not [p for p in run.path.iterdir() if p.name != "history.csv"]  # no temporaries
