"""The benchmark scripts that the tests can afford to run (tiny runs on the demo corpus)."""
import json

from fixtures import load_script


def test_bench_rerun_repeats_a_stored_run(demo_train, tmp_path):
    assert demo_train("--model", "fser", "--profile", "ci", "--epochs", "2", "--out",
                      str(tmp_path / "stored")) == 0
    result = load_script("benchmarks", "bench_rerun").main(
        [str(tmp_path / "stored"), "--out", str(tmp_path / "again"),
         "--result", str(tmp_path / "rerun.json")])
    assert result["command"] == ("fser train --model fser --profile ci --split paper "
                                 "--epochs 2 --seed 42")
    # same code, machine and seed: the arithmetic repeats, to the last digit
    assert result["rerun"]["first_epoch_loss"] == result["stored"]["first_epoch_loss"]
    assert result["rerun"]["test_accuracy"] == result["stored"]["test_accuracy"]
    assert json.loads((tmp_path / "rerun.json").read_text())["pace_ratio"] > 0
