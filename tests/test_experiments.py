"""Chapter 10's experiment scripts (``experiments/``), on tiny runs of the demo corpus."""
import json

import numpy as np
import pytest
from fixtures import load_script


def test_default_results_are_the_stored_ones():
    # chapter 10 reads them from results/experiments, where a rerun must write them
    for name in ("tta", "speaker_probe", "adversary_head"):
        module = load_script("experiments", name)
        assert (module.RESULTS / f"{name}.json").is_file(), name


def test_tta_scores_a_run_three_ways(demo_train, demo_root, tmp_path):
    from fser_utils.training.run import Run

    run_dir = tmp_path / "run"
    assert demo_train("--model", "logmel-cnn", "--profile", "ci", "--epochs", "1", "--out",
                      str(run_dir)) == 0
    result = load_script("experiments", "tta").main(
        [str(run_dir), "--root", str(demo_root), "--result", str(tmp_path / "tta.json")])
    rows = {(r["part"], r["shifts"]): r["accuracy"] for r in result["rows"]}
    assert len(rows) == 6
    # unshifted scoring repeats what training measured on the same clips
    metrics = Run(run_dir).load_metrics()
    assert rows["val", "none"] == pytest.approx(metrics["val_accuracy"])
    assert rows["test", "none"] == pytest.approx(metrics["test_accuracy"])


def test_speaker_probe_reads_speakers_only_where_features_carry_them():
    import numpy as np

    probe = load_script("experiments", "speaker_probe").compute_probe_accuracy
    rng = np.random.default_rng(0)
    speakers = np.repeat(np.arange(6), 20)
    noise = rng.normal(size=(len(speakers), 8))
    offsets = 3 * rng.normal(size=(6, 8))
    assert probe(noise + offsets[speakers], speakers) > 0.95
    assert probe(noise, speakers) < 0.4  # chance is 1/6
    assert np.isnan(probe(noise[:20], speakers[:20]))  # one speaker


def test_speaker_probe_probes_both_parts_of_a_run(demo_train, demo_root, tmp_path):
    run_dir = tmp_path / "run"
    assert demo_train("--model", "logmel-cnn-adv", "--profile", "ci", "--epochs", "1",
                      "--split", "speaker", "--out", str(run_dir)) == 0
    result = load_script("experiments", "speaker_probe").main(
        [str(run_dir), "--root", str(demo_root), "--result", str(tmp_path / "probe.json")])
    rows = {r["part"]: r for r in result["rows"]}
    assert set(rows) == {"train", "val"}
    assert all(r["model"] == "logmel-cnn-adv" for r in rows.values())
    assert rows["train"]["n_speakers"] >= 2 and 0 <= rows["train"]["probe_accuracy"] <= 1
    # a part with a single speaker has nothing to tell apart: no accuracy, not a crash
    for r in rows.values():
        assert (r["probe_accuracy"] is None) == (r["n_speakers"] < 2)


def test_adversary_head_logs_the_speaker_loss_of_each_arm(demo_root, tmp_path):
    bench = load_script("experiments", "adversary_head")
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
