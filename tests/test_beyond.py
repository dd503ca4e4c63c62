"""Chapters 9 to 11's choices (studies.beyond) on small made-up tables, one check on the
stored comparison, and their figures (plotting.beyond)."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from fser_utils import plotting
from fser_utils.errors import FserError
from fser_utils.models.registry import DEFAULT_MODEL
from fser_utils.studies import beyond


def _runs(rows):
    """Per-seed runs from (model, protocol, seed, val, test[, minutes, epochs])."""
    out = []
    for model, protocol, seed, val, test, *rest in rows:
        minutes, epochs = (rest + [10.0, 40])[:2] if rest else (10.0, 40)
        out.append({"model": model, "protocol": protocol, "seed": seed, "val_accuracy": val,
                    "accuracy": test, "accuracy_se": 1.0, "macro_f1": test, "macro_f1_se": 1.0,
                    "params": 1, "train_minutes": minutes, "scoring_ms": 1.0, "epochs": epochs})
    return pd.DataFrame(out)


def test_speaker_batch_follows_the_registry_budgets_and_ensembles():
    assert beyond.needs_speaker_batch("logmel-cnn-spk")
    assert not beyond.needs_speaker_batch("logmel-cnn | 120 epochs, CPU")
    assert beyond.needs_speaker_batch("svm-compare-spk | 60 epochs, GPU")
    members = {"mix": ["logmel-cnn", "svm-egemaps-spk"], "plain": ["logmel-cnn", "tcn"]}
    assert beyond.needs_speaker_batch("mix", members)
    assert not beyond.needs_speaker_batch("plain", members)
    with pytest.raises(FserError):
        beyond.needs_speaker_batch("no-such-model")


def test_choice_is_made_on_validation_and_single_clip_skips_per_speaker_models():
    rows = pd.DataFrame({"model": ["logmel-cnn", "svm-compare-spk", "tcn"],
                         "val_accuracy": [60.0, 70.0, 59.0], "accuracy": [50.0, 65.0, 80.0]})
    assert beyond.choose_on_validation(rows)["model"] == "svm-compare-spk"
    assert beyond.choose_on_validation(rows, single_clip=True)["model"] == "logmel-cnn"
    with pytest.raises(FserError):
        beyond.choose_on_validation(rows[rows["model"] == "svm-compare-spk"], single_clip=True)
    # names may sit in the index
    assert beyond.choose_on_validation(rows.set_index("model"), single_clip=True).name == "logmel-cnn"


def test_single_clip_model_from_runs_ignores_ensembles_and_averages_seeds():
    runs = _runs([("logmel-cnn", "speaker", 1, 60, 55), ("logmel-cnn", "speaker", 2, 62, 55),
                  ("logmel-cnn-warp", "speaker", 1, 64, 50), ("logmel-cnn-warp", "speaker", 2, 57, 50),
                  ("logmel-cnn-spk", "speaker", 1, 80, 70), ("ensemble", "speaker", 1, 90, 90),
                  ("logmel-cnn-warp", "paper", 1, 99, 99)])
    means = beyond.compute_model_means(runs, "speaker")
    assert list(means.index)[:1] == ["ensemble"] and means.loc["logmel-cnn", "seeds"] == 2
    assert means.loc["logmel-cnn-warp", "val_accuracy"] == pytest.approx(60.5)
    assert beyond.choose_single_clip_model(runs) == "logmel-cnn"
    assert beyond.choose_single_clip_model(runs, "paper") == "logmel-cnn-warp"


def test_target_lines_respect_budget_device_and_verdict():
    table = pd.DataFrame({
        "model": ["a-long", "b-fast", "svm-egemaps-spk", "logmel-cnn"],
        "protocol": "speaker", "val_accuracy": [80.0, 70.0, 75.0, 60.0],
        "accuracy": [75.0, 69.0, 72.0, 60.0], "accuracy_low": [71.0, 65.0, 69.0, 58.0],
        "accuracy_high": [79.0, 73.0, 75.0, 62.0], "train_minutes": [90.0, 20.0, 5.0, 10.0]})
    table["model"] = ["logmel-cnn-wide | 300 epochs, GPU", "logmel-cnn | 120 epochs, CPU",
                      "svm-egemaps-spk", "logmel-cnn"]
    lines = beyond.compute_target_lines(table, on_cpu=[False, True, True, True],
                                        targets={"speaker": 70.0})
    speaker = lines.loc["speaker"]
    assert speaker.loc["best", "model"].startswith("logmel-cnn-wide")
    assert speaker.loc["best", "verdict"] == "met"
    assert speaker.loc["within budget", "model"] == "svm-egemaps-spk"
    assert speaker.loc["within budget", "verdict"] == "undecided (interval spans it)"
    assert speaker.loc["single clip, within budget", "model"] == "logmel-cnn | 120 epochs, CPU"
    assert speaker.loc["single clip", "model"].startswith("logmel-cnn-wide")
    lines = beyond.compute_target_lines(table.iloc[[3]], targets={"speaker": 70.0})
    assert (lines["verdict"] == "not met").all()


def test_pair_gains_are_normalised_minus_plain_per_cell():
    runs = _runs([("svm-egemaps", "speaker", 1, 50, 40), ("svm-egemaps-spk", "speaker", 1, 55, 47),
                  ("svm-egemaps", "speaker", 2, 52, 42), ("svm-egemaps-spk", "speaker", 2, 51, 45)])
    gains = beyond.compute_pair_gains(runs, {"eGeMAPS": ("svm-egemaps", "svm-egemaps-spk"),
                                             "absent": ("tcn", "logmel-cnn-spk")})
    assert set(gains["pair"]) == {"eGeMAPS"}
    assert sorted(gains["test gain"]) == [3, 7]
    assert sorted(gains["validation gain"]) == [-1, 5]


def test_budget_choice_skips_budgets_too_slow_or_short_of_seeds():
    budgets = pd.DataFrame({"seeds": [3, 3, 1, 3], "val_accuracy": [50.0, 58.0, 70.0, 60.0],
                            "cost": [5.0, 20.0, 25.0, 45.0]}, index=[40, 120, 200, 300])
    assert beyond.choose_budget(budgets, "cost") == 120
    assert beyond.choose_budget(budgets, "cost", max_minutes=60) == 300
    with pytest.raises(FserError):
        beyond.choose_budget(budgets, "cost", max_minutes=1)


def test_longer_comparison_estimates_cpu_minutes_from_the_shared_network():
    runs = _runs([("logmel-cnn", p, s, 50, 50, 20.0, 40) for p in ("paper", "speaker")
                  for s in (1, 2, 3)] + [("svm-egemaps", "speaker", 1, 40, 40)])
    cpu = beyond.with_budget(_runs([("logmel-cnn", "speaker", 1, 60, 55, 30.0, 120),
                                    ("logmel-cnn-warp", "speaker", 1, 61, 55, 60.0, 120)]), "CPU")
    gpu = beyond.with_budget(_runs([("logmel-cnn-wide", "speaker", 1, 65, 58, 3.0, 300)]), "GPU")
    longer = beyond.compute_longer_comparison(runs, cpu, gpu)
    table = longer["table"]
    assert "svm-egemaps | 40 epochs, CPU" not in table.index.get_level_values(0)
    # 15 and 30 s per epoch: warp is a variant of the plain network, so both paces count
    row = table.loc[("logmel-cnn | 40 epochs, CPU", "speaker")]
    assert row["cpu_min_fast"] == pytest.approx(40 * 0.25)
    assert row["cpu_min_slow"] == pytest.approx(40 * 0.5)
    # the wider network never ran on this CPU: no estimate
    assert np.isnan(table.loc[("logmel-cnn-wide | 300 epochs, GPU", "speaker"), "cpu_min_fast"])
    assert longer["pace_range"] == pytest.approx((0.25, 0.5))
    budgets = beyond.compute_budgets(longer["runs"], "logmel-cnn")
    assert list(budgets.index) == [40, 120] and budgets.loc[40, "seeds"] == 3


def test_needed_accuracy_holds_the_others_fixed():
    per_corpus = pd.DataFrame({"corpus": ["a", "b"], "correct": [80, 9], "n": [100, 10]})
    needed = beyond.compute_needed_accuracy(per_corpus, 90.0)
    # 0.9 * 110 = 99 correct: a needs 90 of 100, b needs 19 of 10 (out of reach)
    assert needed.loc["a", "needs"] == pytest.approx(90.0)
    assert needed.loc["b", "needs"] == pytest.approx(190.0)
    assert needed.attrs["overall"] == pytest.approx(100 * 89 / 110)


def test_stored_comparison_gives_the_default_model():
    """The package's default is the single-clip model that validates best on unseen
    speakers, each model at its own recipe (chapters 7 and 11)."""
    from fser_utils.studies import stored_comparison

    section2, cpu_long, _ = stored_comparison.load_comparison()
    at_recipe = stored_comparison._at_recipe(set(section2["model"]) | set(cpu_long["model"]))
    assert beyond.choose_single_clip_model(at_recipe) == DEFAULT_MODEL


def test_figures_return_what_they_drew():
    table = pd.DataFrame({"accuracy": [50.0, 60.0, 40.0, 45.0], "accuracy_low": [45.0, 55, 35, 40],
                          "accuracy_high": [55.0, 65, 45, 50]},
                         index=pd.MultiIndex.from_product([["a", "b"], ["paper", "speaker"]],
                                                          names=["model", "protocol"]))
    ax = plotting.plot_pair_accuracy(table, ["a", "b"])
    assert len(ax.patches) == 4 and len(ax.get_legend().get_texts()) == 2
    history = pd.DataFrame({"epoch": range(5), "accuracy": np.linspace(0.2, 0.9, 5),
                            "val_accuracy": np.linspace(0.2, 0.5, 5)})
    axes = plotting.plot_learning_curves({"x": history, "y": history, "z": history}, n_cols=2)
    assert axes.shape == (2, 2) and not axes[1, 1].get_visible()
    ax = plotting.plot_curves({"a": [3, 2, 1], "b": [1, 1, 1]}, reference={"chance": 2.0},
                              window=2)
    assert len(ax.lines) == 3 and ax.lines[0].get_ydata()[1] == pytest.approx(2.5)
    summary = pd.DataFrame({"net": ["n", "n", "n"], "device": ["CPU", "CPU", "GPU"],
                            "epochs": [40, 120, 300], "accuracy": [50.0, 55, 57],
                            "accuracy_low": [48.0, 53, 55], "accuracy_high": [52.0, 57, 59]})
    ax = plotting.plot_budget_curves(summary)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["n, CPU", "n, GPU"]
    gains = pd.DataFrame({"protocol": ["paper", "speaker"], "name": ["wide", "wide"],
                          "val gain": [1.0, -1.0], "test gain": [0.5, 0.0]})
    assert len(plotting.plot_variant_gains(gains).texts) == 2
    probe = pd.DataFrame({"model": ["a", "b"] * 2, "part": ["train"] * 2 + ["val"] * 2,
                          "probe_accuracy": [0.9, 0.8, 0.7, 0.6], "majority": [0.1] * 4,
                          "n_speakers": [20, 20, 4, 4]})
    ax = plotting.plot_speaker_probe(probe, ["b", "a"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b", "a"]
    plt.close("all")


def test_labels_and_gains_over_a_baseline():
    by_label = pd.DataFrame({"model": ["logmel-cnn", "logmel-cnn-wide", "logmel-cnn"],
                             "epochs": [120, 120, 300], "device": ["GPU", "GPU", "GPU"]},
                            index=["a | 120", "b | 120", "a | 300"])
    assert beyond.select_labels(by_label, device="GPU", models={"logmel-cnn", "logmel-cnn-wide"},
                                epochs=120) == ["a | 120", "b | 120"]
    assert beyond.select_labels(by_label, device="CPU", models={"logmel-cnn"}, epochs=120) == []
    table = pd.DataFrame({"val_accuracy": [60.0, 62.0, 50.0], "accuracy": [55.0, 54.0, 40.0]},
                         index=pd.MultiIndex.from_tuples(
                             [("a", "speaker"), ("b", "speaker"), ("b", "paper")],
                             names=["model", "protocol"]))
    gains = beyond.compute_gains_over(table, "a").set_index("model")
    assert list(gains.index) == ["a", "b"]  # no baseline on the paper split: left out
    assert gains.loc["b", "val gain"] == 2.0 and gains.loc["b", "test gain"] == -1.0
    with pytest.raises(FserError):
        beyond.compute_gains_over(table, "c")
