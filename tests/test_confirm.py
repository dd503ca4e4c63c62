"""The frozen ensemble rule: members from validation only, and the confirmation's commands."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from fser_utils.studies.confirm import (CONFIRMATION_SEEDS, CONFIRMATION_SPLITS, FROZEN_MEMBERS,
                                compute_confirmation, freeze_ensemble, load_candidate_runs)
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
from fser_utils.models.registry import get_model_spec
from fser_utils.training.run import Run
from fser_utils.training.profiles import PROFILES

TRUTH = list(EMOTIONS[:4])


def _probabilities(right, wrong):
    """Rows of class probabilities: sure of the truth on the clips in ``right``, leaning
    to ``wrong`` on the others."""
    rows = []
    for i, label in enumerate(TRUTH):
        p = dict.fromkeys(EMOTIONS, 0.0)
        if i in right:
            p[label], p[EMOTIONS[6]] = 0.9, 0.1
        else:
            p[label], p[wrong] = 0.4, 0.6
        rows.append(p)
    return rows


def _make_run(folder, model, split, seed, *, epochs=None, proba, minutes=1.0,
              corpora=("emodb", "emovo", "ravdess")):
    """A finished run folder whose validation and test parts hold the same four clips'
    names and probabilities ``proba``."""
    spec = get_model_spec(model)
    profile = PROFILES[spec.profile].asdict()
    folder.mkdir(parents=True)
    (folder / "settings.json").write_text(json.dumps({
        "model": {"name": model}, "profile": spec.profile,
        "profile_settings": {**profile, "epochs": epochs or profile["epochs"]},
        "split": split, "test_corpus": None, "seed": seed, "corpora": list(corpora),
        "hardware": "2 CPU cores; no GPU"}))
    parts = []
    for part in ("val", "test"):
        frame = pd.DataFrame(proba).add_prefix("p_")
        frame.insert(0, "relpath", [f"emodb/{part}{i}.flac" for i in range(len(TRUTH))])
        frame = frame.assign(corpus="emodb", speaker="s", sex="female", emotion=TRUTH,
                             predicted=[max(p, key=p.get) for p in proba])
        frame.to_csv(folder / f"{part}_predictions.csv", index=False)
        parts.append(frame[["relpath"]].assign(part=part))
    pd.concat(parts).to_csv(folder / "split.csv", index=False)
    (folder / "metrics.json").write_text(json.dumps({
        "train_seconds": 60 * minutes, "val_accuracy": 0.5, "n_test": len(TRUTH)}))


@pytest.fixture
def only_validation(monkeypatch):
    """Fails a test in which anything reads test predictions."""
    read = Run.load_predictions

    def load_predictions(self, part="test"):
        assert part == "val", f"the frozen rule read {part} predictions of {self.path}"
        return read(self, part)

    monkeypatch.setattr(Run, "load_predictions", load_predictions)


@pytest.fixture
def exploration(tmp_path):
    """Three candidates on both splits, seeds 42, 1, 2: two that are half right on different
    clips (together: all right) and one always wrong; plus runs the rule must ignore."""
    half_a, half_b = _probabilities({0, 1}, EMOTIONS[5]), _probabilities({2, 3}, EMOTIONS[6])
    wrong = [{**dict.fromkeys(EMOTIONS, 0.0), EMOTIONS[4]: 1.0} for _ in TRUTH]
    every = _probabilities({0, 1, 2, 3}, EMOTIONS[5])
    for split in CONFIRMATION_SPLITS:
        for seed in (42, 1, 2):
            _make_run(tmp_path / f"a-{split}-{seed}", "logmel-cnn", split, seed, epochs=300,
                      proba=half_a, minutes=20)
            _make_run(tmp_path / f"b-{split}-{seed}", "svm-egemaps", split, seed,
                      proba=half_b, minutes=15)
            _make_run(tmp_path / f"c-{split}-{seed}", "tcn", split, seed, proba=wrong)
        # a confirmation seed, or a run on other corpora, cannot change the choice
        _make_run(tmp_path / f"c-{split}-3", "tcn", split, 3, proba=every)
        _make_run(tmp_path / f"c-{split}-all", "tcn", split, 42, proba=every,
                  corpora=("emodb", "emovo", "ravdess", "nemo", "urdu"))
    # a model with a seed missing on one split is no candidate
    _make_run(tmp_path / "d-paper-42", "fser", "paper", 42, proba=every)
    return tmp_path


def test_candidate_runs_are_labelled_by_budget(exploration):
    runs = load_candidate_runs([exploration])
    assert set(runs["model"]) == {"logmel-cnn | 300 epochs", "svm-egemaps", "tcn", "fser"}
    assert set(runs["seed"]) == {42, 1, 2} and len(runs) == 19
    assert runs.loc[runs["model"] == "svm-egemaps", "train_minutes"].eq(15).all()


def test_freeze_chooses_on_validation_and_writes_the_commands(exploration, only_validation):
    frozen = freeze_ensemble([exploration], max_minutes=40)
    assert frozen["members"] == ["logmel-cnn | 300 epochs", "svm-egemaps"]
    assert frozen["candidates"] == ["logmel-cnn | 300 epochs", "svm-egemaps", "tcn"]
    assert frozen["val_accuracy"] == {"paper": 100.0, "speaker": 100.0}
    assert frozen["train_minutes"] == pytest.approx(35)
    assert len(frozen["cells"]) == 6
    assert frozen["commands"] == [
        f"fser train --model {model} --split {split}{extra} --seed {seed}"
        for model, extra in (("logmel-cnn", " --epochs 300"), ("svm-egemaps", ""))
        for split in CONFIRMATION_SPLITS for seed in CONFIRMATION_SEEDS]


def test_freeze_keeps_within_the_budget(exploration, only_validation):
    # the two halves cost 35 minutes together: within 30, the first one alone (a tie at
    # 50 % goes to the first candidate in name order)
    frozen = freeze_ensemble([exploration], max_minutes=30, seeds=(7,))
    assert frozen["members"] == ["logmel-cnn | 300 epochs"]
    assert frozen["val_accuracy"] == {"paper": 50.0, "speaker": 50.0}
    assert frozen["commands"] == ["fser train --model logmel-cnn --split paper --epochs 300 "
                                  "--seed 7", "fser train --model logmel-cnn --split speaker "
                                  "--epochs 300 --seed 7"]


def test_freeze_needs_a_candidate(tmp_path):
    _make_run(tmp_path / "d-paper-42", "fser", "paper", 42, proba=_probabilities({0}, "calm"))
    with pytest.raises(FserError, match="no stored model"):
        freeze_ensemble([tmp_path])


def test_stored_runs_still_give_the_frozen_members(only_validation):
    """The book's stored exploration runs, read through validation only, give the members
    frozen in the code: adding runs of other seeds or corpora cannot move them."""
    frozen = freeze_ensemble()
    assert tuple(frozen["members"]) == FROZEN_MEMBERS
    assert len(frozen["commands"]) == len(FROZEN_MEMBERS) * len(CONFIRMATION_SPLITS) * len(
        CONFIRMATION_SEEDS)
    assert frozen["train_minutes"] <= 30


def test_confirmation_scores_the_frozen_members_on_the_new_seeds(exploration):
    """The confirmation's runs are scored as they come: the frozen members averaged, on the
    seeds that chose nothing; a member without its run is listed, not replaced."""
    members = ("logmel-cnn | 300 epochs", "svm-egemaps")
    fresh = exploration / "fresh"
    half_a, half_b = _probabilities({0, 1}, EMOTIONS[5]), _probabilities({2, 3}, EMOTIONS[6])
    for split in CONFIRMATION_SPLITS:
        for seed in CONFIRMATION_SEEDS:
            _make_run(fresh / f"a-{split}-{seed}", "logmel-cnn", split, seed, epochs=300,
                      proba=half_a)
            if (split, seed) != ("speaker", 5):
                _make_run(fresh / f"b-{split}-{seed}", "svm-egemaps", split, seed,
                          proba=half_b)
    # the same network at another budget is not the frozen member
    _make_run(fresh / "a40-speaker-5", "logmel-cnn", "speaker", 5, epochs=40, proba=half_b)
    got = compute_confirmation([exploration, fresh], members=members, n_boot=20)
    assert got["missing"] == [("svm-egemaps", "speaker", 5)]
    assert sorted(zip(got["runs"]["protocol"], got["runs"]["seed"])) == [
        ("paper", 3), ("paper", 4), ("paper", 5), ("speaker", 3), ("speaker", 4)]
    assert (got["runs"]["accuracy"] == 100).all()  # the two halves make a whole
    table = got["table"]
    assert list(table.index) == [("confirmation", "paper"), ("confirmation", "speaker")]
    assert list(table["seeds"]) == [3, 2]
    nothing = compute_confirmation([exploration], members=members)
    assert len(nothing["missing"]) == 2 * 2 * 3 and nothing["runs"].empty


def test_compare_with_exploration_says_what_ran_and_what_is_missing(exploration):
    from fser_utils.studies.confirm import compare_with_exploration

    members = ("logmel-cnn | 300 epochs", "svm-egemaps")
    explored = {s: {"accuracy": 80.0 + i, "accuracy_low": 78.0, "accuracy_high": 82.0 + i,
                    "seeds": 3} for i, s in enumerate(CONFIRMATION_SPLITS)}
    nothing = compare_with_exploration(compute_confirmation([exploration], members=members),
                                       explored)
    assert nothing["text"].startswith("No run of the confirmation seeds has finished")
    assert list(nothing["table"].index) == list(CONFIRMATION_SPLITS)
    assert "confirmation" not in nothing["table"]
    assert list(nothing["table"]["exploratory"]) == ["80.0 % (78.0\u201382.0 %)",
                                                     "81.0 % (78.0\u201383.0 %)"]
    fresh = exploration / "fresh"
    half_a, half_b = _probabilities({0, 1}, EMOTIONS[5]), _probabilities({2, 3}, EMOTIONS[6])
    for split in CONFIRMATION_SPLITS:
        _make_run(fresh / f"a-{split}", "logmel-cnn", split, 3, epochs=300, proba=half_a)
        _make_run(fresh / f"b-{split}", "svm-egemaps", split, 3, proba=half_b)
    got = compare_with_exploration(
        compute_confirmation([exploration, fresh], members=members, n_boot=20), explored)
    assert "100.0 %" in got["text"] and "seed 3)" in got["text"]
    assert "against the exploratory 80.0 % and 81.0 %" in got["text"]
    assert got["text"].endswith("8 of its runs are still missing, so this is not yet the "
                                "whole confirmation.")
    assert list(got["table"]["confirmation seeds"]) == ["3", "3"]


def test_the_stored_confirmation_holds_whole_seeds():
    """Every stored confirmation seed has all frozen members on both splits: a seed whose
    runs are only partly stored would be scored on fewer members than were frozen."""
    from fser_utils.studies.confirm import compute_stored_confirmation

    got = compute_stored_confirmation(n_boot=20)
    done = set(got["runs"]["seed"].astype(int)) if len(got["runs"]) else set()
    missing = {seed for _, _, seed in got["missing"]}
    assert done <= set(CONFIRMATION_SEEDS) and not done & missing


def test_a_whole_confirmation_says_whether_the_exploratory_values_hold():
    from fser_utils.studies.confirm import _judge_confirmation

    index = pd.MultiIndex.from_tuples([("confirmation", s) for s in CONFIRMATION_SPLITS])
    table = pd.DataFrame({"accuracy_low": [80.0, 60.0], "accuracy_high": [86.0, 70.0]},
                         index=index)

    def explored(paper, speaker):
        return {"paper": {"accuracy": paper}, "speaker": {"accuracy": speaker}}

    assert "On both splits" in _judge_confirmation(table, explored(83.9, 69.9))
    assert "On neither split" in _judge_confirmation(table, explored(90.0, 75.0))
    one = _judge_confirmation(table, explored(83.9, 75.0))
    assert "on the paper split only" in one and "flattered" in one


def test_the_stored_confirmation_is_whole_and_judged():
    from fser_utils.studies.confirm import compare_with_exploration, compute_stored_confirmation
    from fser_utils.studies.stored_comparison import BUDGET_MINUTES, compute_best_ensemble

    got = compute_stored_confirmation(n_boot=200)
    assert not got["missing"]  # seeds 3, 4 and 5 are all stored
    explored = {s: compute_best_ensemble(s, max_cpu_minutes=BUDGET_MINUTES)
                for s in CONFIRMATION_SPLITS}
    text = compare_with_exploration(got, explored)["text"]
    assert "seeds 3, 4, 5" in text and "split" in text.split(".")[-2]
