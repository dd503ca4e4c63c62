"""The benchmark scripts that the tests can afford to run (tiny runs on the demo corpus)."""
import importlib.util
import json
from pathlib import Path


def _load_benchmark(name):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_rerun_repeats_a_stored_run(demo_root, tmp_path, monkeypatch):
    from fser_utils import corpora
    from fser_utils.cli import build_parser, main

    # some commands read the corpus list when first imported: import them all before
    # pointing the list at the demo corpus, so that later tests see the real one
    build_parser()
    monkeypatch.setattr(corpora, "PAPER_CORPORA", ("demo",))
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FSER_DATA", str(demo_root))
    assert main(["train", "--model", "fser", "--profile", "ci", "--epochs", "2", "--out",
                 str(tmp_path / "stored"), "--quiet"]) == 0
    result = _load_benchmark("bench_rerun").main(
        [str(tmp_path / "stored"), "--out", str(tmp_path / "again"),
         "--result", str(tmp_path / "rerun.json")])
    assert result["command"] == ("fser train --model fser --profile ci --split paper "
                                 "--epochs 2 --seed 42")
    # same code, machine and seed: the arithmetic repeats, to the last digit
    assert result["rerun"]["first_epoch_loss"] == result["stored"]["first_epoch_loss"]
    assert result["rerun"]["test_accuracy"] == result["stored"]["test_accuracy"]
    assert json.loads((tmp_path / "rerun.json").read_text())["pace_ratio"] > 0


def test_bench_tta_scores_a_run_three_ways(demo_root, tmp_path, monkeypatch):
    import pytest

    from fser_utils import corpora
    from fser_utils.cli import build_parser, main
    from fser_utils.run import Run

    build_parser()  # as above: commands bind the corpus list when first imported
    monkeypatch.setattr(corpora, "PAPER_CORPORA", ("demo",))
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FSER_DATA", str(demo_root))
    run_dir = tmp_path / "run"
    assert main(["train", "--model", "logmel-cnn", "--profile", "ci", "--epochs", "1", "--out",
                 str(run_dir), "--quiet"]) == 0
    result = _load_benchmark("bench_tta").main(
        [str(run_dir), "--root", str(demo_root), "--result", str(tmp_path / "tta.json")])
    rows = {(r["part"], r["shifts"]): r["accuracy"] for r in result["rows"]}
    assert len(rows) == 6
    # unshifted scoring repeats what training measured on the same clips
    metrics = Run(run_dir).load_metrics()
    assert rows["val", "none"] == pytest.approx(metrics["val_accuracy"])
    assert rows["test", "none"] == pytest.approx(metrics["test_accuracy"])
