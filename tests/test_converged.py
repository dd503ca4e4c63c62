"""Chapter 8's converged arms: combinations of the mistakes and the smallest that reaches."""
import numpy as np
import pandas as pd
import pytest

from fser_utils.errors import FserError
from fser_utils.studies.converged import (compute_arm_combinations, compute_pooled_twin_mask,
                                          find_smallest_reaching)

CATALOGUE = pd.DataFrame({
    "relpath": ["A", "B", "C", "D"], "speaker": ["1", "1", "2", "1"],
    "sentence": ["s1", "s1", "s1", "s2"], "emotion": ["anger"] * 4})


def test_a_clips_own_copies_are_not_a_twin():
    test = pd.DataFrame({"relpath": ["A", "B", "D", "C"]})
    # A's twin B has no picture in training; B's twin A has; D and C have none
    mask = compute_pooled_twin_mask(test, ["A", "C"], CATALOGUE)
    assert mask.tolist() == [False, True, False, False]


def _table(accuracies):
    return pd.DataFrame({"mistakes": list(accuracies), "accuracy": list(accuracies.values()),
                         "n_mistakes": [len(k) for k in accuracies]})


def test_the_fewest_mistakes_that_reach_win_over_a_higher_combination():
    found = find_smallest_reaching(_table({"": 60, "a": 96, "ab": 99, "c": 70}), 95.05)
    assert found["mistakes"] == "a" and found["reaches"]


def test_when_nothing_reaches_the_closest_is_named():
    found = find_smallest_reaching(_table({"": 60, "a": 90, "ab": 93.5, "ac": 92}), 95.05)
    assert found["mistakes"] == "ab" and not found["reaches"]
    with pytest.raises(FserError):
        find_smallest_reaching(_table({}), 95.05)


class _FakeRun:
    def __init__(self, history, predictions=None, split=None, metrics=None):
        self._h, self._p, self._s, self._m = history, predictions, split, metrics

    def load_history(self):
        return self._h

    def load_predictions(self):
        return self._p

    def load_split(self):
        return self._s

    def load_metrics(self):
        return self._m


def test_combinations_score_each_mistake_at_its_own_epoch():
    rng = np.random.default_rng(0)
    n = 40
    split = pd.DataFrame({"relpath": [f"c{i}" for i in range(2 * n)],
                          "speaker": ["1"] * (2 * n), "emotion": ["anger"] * (2 * n),
                          "part": ["train"] * n + ["test"] * n})
    catalogue = split.assign(sentence=[f"s{i % n}" for i in range(2 * n)])
    test = split[split["part"] == "test"]
    predicted = np.where(rng.random(n) < 0.5, "anger", "sadness")
    predictions = pd.DataFrame({"relpath": test["relpath"], "emotion": test["emotion"],
                                "predicted": predicted})
    history = pd.DataFrame({"epoch": [0, 1, 2], "val_accuracy": [0.3, 0.6, 0.5],
                            "test_accuracy": [0.4, float(np.mean(predicted == "anger")), 0.7]})
    pooled_history = pd.DataFrame({"epoch": [0, 1], "val_accuracy": [0.9, 0.8],
                                   "test_accuracy": [0.91, 0.97]})
    metrics = {"n_test": 1000, "test_accuracy": 0.91, "accuracy_low": 89.0,
               "accuracy_high": 93.0, "best_epoch": 1}
    pooled_test = pd.DataFrame({"relpath": ["c40"] * 4, "emotion": ["anger"] * 4,
                                "predicted": ["anger", "anger", "anger", "sadness"],
                                "twin": [True, True, False, False]})
    table = compute_arm_combinations(_FakeRun(history, predictions, split),
                                     _FakeRun(pooled_history, metrics=metrics), catalogue,
                                     pooled_test=pooled_test, n_boot=200).set_index("mistakes")
    assert list(table.index) == ["", "b", "c", "a", "ab", "ac"]
    assert table.loc["", "epoch"] == 2 and table.loc["b", "epoch"] == 3
    assert table.loc["b", "accuracy"] == pytest.approx(70.0)
    assert table.loc["ab", "accuracy"] == pytest.approx(97.0) and table.loc["ab", "epoch"] == 2
    assert table.loc["ac", "accuracy"] == pytest.approx(100.0) and table.loc["ac", "n"] == 2
    # every test clip has a twin (same speaker, sentence and emotion) in training
    assert table.loc["c", "n"] == n
    assert (table["accuracy_low"] <= table["accuracy"]).all()
    assert (table.loc["a", "accuracy_low"], table.loc["a", "accuracy_high"]) == (89.0, 93.0)
    # arm (a)'s metrics stored under the old names read the same
    old = {k: v for k, v in metrics.items() if not k.startswith("accuracy_")}
    old.update(ci_low=89.0, ci_high=93.0)
    again = compute_arm_combinations(_FakeRun(history, predictions, split),
                                     _FakeRun(pooled_history, metrics=old), catalogue,
                                     pooled_test=pooled_test, n_boot=200).set_index("mistakes")
    pd.testing.assert_frame_equal(again, table)


def test_the_verdict_names_the_mistakes_and_says_whether_they_reach():
    from fser_utils.studies.converged import describe_combination, format_verdict

    assert describe_combination("") == "no mistake (the honest run)"
    assert describe_combination("abc").count("(") == 3 and " and (c)" in describe_combination("abc")
    row = {"mistakes": "ab", "accuracy": 93.21, "accuracy_low": 92.7, "accuracy_high": 93.7}
    assert format_verdict({**row, "reaches": False}, 95.05).startswith("No combination reaches")
    text = format_verdict({**row, "reaches": True}, 95.05)
    assert text.startswith("The fewest mistakes") and "93.2 %" in text and "(b)" in text


def test_describe_stop_reason_names_every_rule():
    from fser_utils.studies.converged import describe_stop_reason
    from fser_utils.training.profiles import STOP_REASONS

    phrases = {describe_stop_reason(r) for r in STOP_REASONS}
    assert len(phrases) == len(STOP_REASONS) and not any("stopped (" in p for p in phrases)
    assert "by hand" in describe_stop_reason("interrupted")
    assert describe_stop_reason("odd") == "stopped (odd)"
