"""The benchmark scripts that the tests can afford to run (tiny runs on the demo corpus)."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest


def _load_benchmark(name):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def demo_train(demo_root, tmp_path, monkeypatch):
    """``fser train ... --quiet`` on the demo corpus, data and cache in ``tmp_path``."""
    from fser_utils.data import corpora
    from fser_utils.cli import build_parser, main

    # some commands read the corpus list when first imported: import them all before
    # pointing the list at the demo corpus, so that later tests see the real one
    build_parser()
    monkeypatch.setattr(corpora, "PAPER_CORPORA", ("demo",))
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FSER_DATA", str(demo_root))
    return lambda *args: main(["train", *args, "--quiet"])


def test_bench_rerun_repeats_a_stored_run(demo_train, tmp_path):
    assert demo_train("--model", "fser", "--profile", "ci", "--epochs", "2", "--out",
                      str(tmp_path / "stored")) == 0
    result = _load_benchmark("bench_rerun").main(
        [str(tmp_path / "stored"), "--out", str(tmp_path / "again"),
         "--result", str(tmp_path / "rerun.json")])
    assert result["command"] == ("fser train --model fser --profile ci --split paper "
                                 "--epochs 2 --seed 42")
    # same code, machine and seed: the arithmetic repeats, to the last digit
    assert result["rerun"]["first_epoch_loss"] == result["stored"]["first_epoch_loss"]
    assert result["rerun"]["test_accuracy"] == result["stored"]["test_accuracy"]
    assert json.loads((tmp_path / "rerun.json").read_text())["pace_ratio"] > 0


def test_bench_tta_scores_a_run_three_ways(demo_train, demo_root, tmp_path):
    from fser_utils.training.run import Run

    run_dir = tmp_path / "run"
    assert demo_train("--model", "logmel-cnn", "--profile", "ci", "--epochs", "1", "--out",
                      str(run_dir)) == 0
    result = _load_benchmark("bench_tta").main(
        [str(run_dir), "--root", str(demo_root), "--result", str(tmp_path / "tta.json")])
    rows = {(r["part"], r["shifts"]): r["accuracy"] for r in result["rows"]}
    assert len(rows) == 6
    # unshifted scoring repeats what training measured on the same clips
    metrics = Run(run_dir).load_metrics()
    assert rows["val", "none"] == pytest.approx(metrics["val_accuracy"])
    assert rows["test", "none"] == pytest.approx(metrics["test_accuracy"])


def test_speaker_probe_reads_speakers_only_where_features_carry_them():
    import numpy as np

    probe = _load_benchmark("bench_speaker_probe").compute_probe_accuracy
    rng = np.random.default_rng(0)
    speakers = np.repeat(np.arange(6), 20)
    noise = rng.normal(size=(len(speakers), 8))
    offsets = 3 * rng.normal(size=(6, 8))
    assert probe(noise + offsets[speakers], speakers) > 0.95
    assert probe(noise, speakers) < 0.4  # chance is 1/6
    assert np.isnan(probe(noise[:20], speakers[:20]))  # one speaker


def test_bench_speaker_probe_probes_both_parts_of_a_run(demo_train, demo_root, tmp_path):
    run_dir = tmp_path / "run"
    assert demo_train("--model", "logmel-cnn-adv", "--profile", "ci", "--epochs", "1",
                      "--split", "speaker", "--out", str(run_dir)) == 0
    result = _load_benchmark("bench_speaker_probe").main(
        [str(run_dir), "--root", str(demo_root), "--result", str(tmp_path / "probe.json")])
    rows = {r["part"]: r for r in result["rows"]}
    assert set(rows) == {"train", "val"}
    assert all(r["model"] == "logmel-cnn-adv" for r in rows.values())
    assert rows["train"]["n_speakers"] >= 2 and 0 <= rows["train"]["probe_accuracy"] <= 1
    # a part with a single speaker has nothing to tell apart: no accuracy, not a crash
    for r in rows.values():
        assert (r["probe_accuracy"] is None) == (r["n_speakers"] < 2)


def test_bench_adversary_head_logs_the_speaker_loss_of_each_arm(demo_root, tmp_path):
    bench = _load_benchmark("bench_adversary_head")
    assert bench.compute_speaker_entropy(["a", "a", "b", "b"]) == pytest.approx(np.log(2))
    assert bench.parse_arms("1:12,10:3") == [(1.0, 12), (10.0, 3)]
    with pytest.raises(SystemExit, match="SPEEDUP:EPOCHS"):
        bench.parse_arms("fast")
    result = bench.main(["--work", str(tmp_path / "arms"), "--root", str(demo_root),
                         "--corpora", "demo", "--arms", "1:1,4:2",
                         "--result", str(tmp_path / "head.json")])
    assert [len(a["speaker_loss"]) for a in result["arms"]] == [1, 2]
    assert all(a["chance"] > 0 and 0 <= a["val_accuracy"] <= 1 for a in result["arms"])
    assert json.loads((tmp_path / "head.json").read_text())["reversal_weight"] == 1e-9
