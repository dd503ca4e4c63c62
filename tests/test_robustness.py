"""Restricted scoring, baselines, group gaps and the rule-based verdicts of chapter 7."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
from fser_utils.studies.robustness import (
    compute_baselines, compute_group_gap, compute_run_table, compute_unseen_table,
    predict_restricted)
from fser_utils.studies.verdicts import (
    CLAIM_COLUMNS, EQUIVALENCE_MARGIN, compute_claims_table, compute_equivalence_clips,
    judge_claim, judge_difference)


def test_predict_restricted_ignores_other_classes():
    proba = np.zeros((2, len(EMOTIONS)))
    proba[0, EMOTIONS.index("calm")] = 0.9  # calm is not allowed: next best wins
    proba[0, EMOTIONS.index("sadness")] = 0.06
    proba[0, EMOTIONS.index("anger")] = 0.04
    proba[1, EMOTIONS.index("anger")] = 0.5
    pred = predict_restricted(proba, allowed=["anger", "sadness"])
    assert list(pred) == ["sadness", "anger"]
    with pytest.raises(FserError):
        predict_restricted(proba, allowed=["boredom"])


def test_baselines():
    b = compute_baselines(["a", "a", "a", "b"], k=4)
    assert b == {"chance": 25.0, "majority": 75.0, "majority_class": "a"}
    assert compute_baselines(["a", "b"])["chance"] == 50


def test_unseen_table():
    cat = pd.DataFrame({"corpus": ["urdu"] * 4 + ["nemo"] * 2,
                        "language": ["Urdu"] * 4 + ["Polish"] * 2,
                        "style": ["natural"] * 4 + ["acted"] * 2,
                        "emotion": ["anger", "anger", "sadness", "neutral", "fear?", "surprise"]})
    cat["emotion"] = cat["emotion"].where(cat["emotion"] != "fear?", "anxiety")
    proba = np.full((6, len(EMOTIONS)), 0.01)
    for i, c in enumerate(["calm", "anger", "sadness", "happiness", "anxiety", "anxiety"]):
        proba[i, EMOTIONS.index(c)] = 0.9
    table, pred = compute_unseen_table(cat, proba, n_boot=50)
    urdu = table.set_index("corpus").loc["urdu"]
    assert urdu["k"] == 3 and urdu["classes"] == "anger, neutral, sadness"
    # row 0: calm ruled out, the next best is the tie at 0.01 -> first allowed (anger): right
    assert urdu["accuracy"] == pytest.approx(75)
    assert urdu["accuracy_low"] <= 75 <= urdu["accuracy_high"]
    assert urdu["unrestricted"] == pytest.approx(50)
    assert urdu["chance"] == pytest.approx(100 / 3) and urdu["majority"] == 50
    assert list(pred["predicted"][:4]) == ["anger", "anger", "sadness", "anger"]
    nemo = table.set_index("corpus").loc["nemo"]
    assert nemo["accuracy"] == 50 and nemo["n"] == 2


def test_group_gap():
    pred = pd.DataFrame({"sex": ["f"] * 50 + ["m"] * 50, "emotion": ["a"] * 100,
                         "predicted": ["a"] * 45 + ["b"] * 5 + ["a"] * 30 + ["b"] * 20})
    gap = compute_group_gap(pred, "sex", ("f", "m"), n_boot=500)
    assert gap["difference"] == pytest.approx(30) and gap["n"] == 100
    assert 0 < gap["difference_low"] < gap["difference_low90"] < 30
    assert 30 < gap["difference_high90"] < gap["difference_high"]
    # the spread of the resampled differences: sqrt(.9 * .1 / 50 + .6 * .4 / 50), in points
    assert gap["difference_se"] == pytest.approx(100 * (0.09 / 50 + 0.24 / 50) ** 0.5, rel=0.15)
    assert "low" not in gap and "high" not in gap  # one name per interval
    with pytest.raises(FserError):
        compute_group_gap(pred, "sex", ("f", "x"))


def test_score_verdicts():
    """A claimed number inside our interval is consistent with it, never shown to hold."""
    assert judge_claim(95, 90, 96) == "consistent"
    assert judge_claim(95, 96, 99) == "exceeded"  # we measure more than claimed
    assert judge_claim(95, 80, 90) == "does not hold"
    assert judge_claim(95, 40, 50, baseline=30) == \
        "does not hold (above the majority-class baseline)"
    assert judge_claim(95, 20, 35, baseline=30) == \
        "does not hold (not above the majority-class baseline)"
    assert judge_claim(95, 90, 99, testable=False) == "not testable here"
    assert judge_claim(95, np.nan, np.nan) == "not testable here"


def test_no_difference_is_undecided_when_the_interval_is_wide():
    """[-14.2, 3.9] points contains zero, and yet says nothing about equivalence: chapter
    7's speaker split, which the old rule (zero inside the interval) counted as holding."""
    judged = judge_difference(-14.2, 3.9, low90=-12.7, high90=2.4, n=494, se=4.617)
    assert judged["verdict"] == "undecided (3608 test clips needed, 494 here)"
    assert judged["clips_needed"] == 3608
    # without a measured standard error it stays undecided, and asks for nothing
    judged = judge_difference(-14.2, 3.9, low90=-12.7, high90=2.4, n=494)
    assert judged["verdict"] == "undecided (494 test clips here)"
    assert np.isnan(judged["clips_needed"])


def test_no_difference_holds_only_inside_the_margin():
    assert EQUIVALENCE_MARGIN == 5
    judged = judge_difference(-2.5, 3.0, low90=-2.0, high90=2.5, n=4000)
    assert judged["verdict"] == "holds" and np.isnan(judged["clips_needed"])
    assert judge_difference(-4.8, 5.5, low90=-4.0, high90=4.9, n=4000)["verdict"] == "holds"
    # a difference that is real but smaller than the margin does not matter
    assert judge_difference(0.5, 3.5, low90=0.8, high90=3.2, n=9000)["verdict"] == \
        "holds (a difference, within the margin)"
    # the 90 % interval reaching past the margin leaves it undecided, however near zero
    assert judge_difference(-4.0, 6.0, low90=-3.2, high90=5.2, n=2000)["verdict"].startswith(
        "undecided")
    # a margin fixed elsewhere is honoured
    assert judge_difference(-4.0, 6.0, low90=-3.2, high90=5.2, n=2000,
                            margin=6)["verdict"] == "holds"


def test_no_difference_does_not_hold_when_the_interval_excludes_zero():
    for low, high, low90, high90 in [(2.61, 19.9, 4.0, 18.5), (-9.0, -1.0, -8.0, -2.0)]:
        judged = judge_difference(low, high, low90=low90, high90=high90, n=513)
        assert judged["verdict"] == "does not hold" and np.isnan(judged["clips_needed"])
    assert judge_difference(np.nan, np.nan, low90=np.nan, high90=np.nan, n=0)["verdict"] == \
        "not testable here"


def test_clips_needed_for_the_equivalence_test():
    """ceil(n * (se / se_needed)**2), se_needed = margin / (z(0.95) + z(0.9)) at 80 %
    power for a true difference of zero."""
    from scipy.stats import norm

    se = 4.617  # chapter 7's speaker split: a 95 % interval of [-14.2, 3.9] points
    se_needed = 5 / (norm.ppf(0.95) + norm.ppf(0.90))
    assert compute_equivalence_clips(se, 494) == np.ceil(494 * (se / se_needed) ** 2)
    assert compute_equivalence_clips(se, 494) == 3608
    # same variance per clip, four times the clips: half the standard error, the same answer
    assert compute_equivalence_clips(se / 2, 4 * 494) == pytest.approx(3608, abs=1)
    # planned for a true difference of 2 points: less room, one test at 80 % power
    se_needed = 3 / (norm.ppf(0.95) + norm.ppf(0.80))
    assert compute_equivalence_clips(se, 494, assumed_difference=-2) == \
        np.ceil(494 * (se / se_needed) ** 2)
    # a true difference as large as the margin can never be shown equivalent
    assert compute_equivalence_clips(se, 494, assumed_difference=5.27) == np.inf
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(FserError):
            compute_equivalence_clips(bad, 494)


def test_claims_table():
    table = compute_claims_table([
        {"claim": "x", "paper": 95.0, "measured": 70, "measured_low": 65, "measured_high": 75,
         "evidence": "run", "budget": "shorter: 30 epochs, profile 'quick'"},
        {"claim": "y", "paper": 99.1, "testable": False, "why": "SAVEE absent"},
        {"claim": "z", "paper": np.nan, "kind": "difference", "measured": 1,
         "measured_low": -2, "measured_high": 4, "measured_low90": -1.5,
         "measured_high90": 3.5, "n": 3000},
        {"claim": "w", "paper": np.nan, "kind": "difference", "measured": -5.27,
         "measured_low": -14.2, "measured_high": 3.9, "measured_low90": -12.7,
         "measured_high90": 2.4, "n": 494, "measured_se": 4.617},
        {"claim": "v", "paper": 80.0, "measured": 78, "measured_low": 75, "measured_high": 81}])
    assert list(table.columns) == CLAIM_COLUMNS
    assert list(table["verdict"]) == ["does not hold", "not testable here", "holds",
                                      "undecided (3608 test clips needed, 494 here)",
                                      "consistent"]
    assert table.loc[3, "clips_needed"] == 3608 and table["clips_needed"].isna().sum() == 4
    assert table.loc[1, "evidence"] == "SAVEE absent"
    assert table.loc[0, "budget"] == "shorter: 30 epochs, profile 'quick'"


def test_run_table(tmp_path):
    from test_evaluate import make_fake_run

    a, pa = make_fake_run(tmp_path / "ci-paper", accuracy=0.9)
    b, pb = make_fake_run(tmp_path / "ci-speaker", seed=1, accuracy=0.5)
    table = compute_run_table({"paper": a, "speaker": b}, n_boot=100)
    assert list(table["protocol"]) == ["paper", "speaker"]
    assert list(table["run"]) == ["ci-paper", "ci-speaker"]
    assert table.loc[0, "accuracy"] == pytest.approx(100 * (pa.emotion == pa.predicted).mean())
    assert ((table["accuracy_low"] <= table["accuracy"])
            & (table["accuracy"] <= table["accuracy_high"])).all()
    assert ((table["macro_f1_low"] <= table["macro_f1"])
            & (table["macro_f1"] <= table["macro_f1_high"])).all()


def test_split_overlap():
    from fser_utils.studies.robustness import compute_split_overlap

    split = pd.DataFrame({"relpath": list("abcdef"),
                          "speaker": ["s1", "s1", "s2", "s1", "s2", "s3"],
                          "emotion": ["anger", "sadness", "anger", "anger", "sadness", "anger"],
                          "part": ["train", "train", "train", "test", "test", "test"]})
    cat = pd.DataFrame({"relpath": list("abcdef"), "sentence": ["x", "x", "y", "x", "y", "x"]})
    ov = compute_split_overlap(split, cat)
    assert ov["n_test"] == 3
    assert ov["speaker_seen"] == pytest.approx(200 / 3)  # d (s1), e (s2); not f (s3)
    assert ov["speaker_emotion_seen"] == pytest.approx(100 / 3)  # only d: s1 + anger
    assert ov["twin_seen"] == pytest.approx(100 / 3)  # d: s1, x, anger = a


# --- the chapter's tables, built by the package ------------------------------------------
def _fake_runs(tmp_path):
    """A random-split, a speaker-split and a held-out-EmoDB run (fabricated folders)."""
    import json

    from test_evaluate import make_fake_run

    runs = {}
    for name, split, corpus, acc in [("ci-paper", "paper", None, 0.9),
                                     ("ci-speaker", "speaker", None, 0.5),
                                     ("ci-corpus-emodb", "corpus", "emodb", 0.3)]:
        run, _ = make_fake_run(tmp_path / name, seed=len(runs), accuracy=acc)
        settings = json.loads((run / "settings.json").read_text())
        settings.update(split=split, test_corpus=corpus)
        (run / "settings.json").write_text(json.dumps(settings))
        runs[split] = run
    return runs


def test_run_table_names_split_and_summary(tmp_path):
    from fser_utils.studies.robustness import compute_run_summary

    runs = _fake_runs(tmp_path)
    table = compute_run_table(runs, n_boot=20)
    assert list(table["split"]) == ["paper", "speaker", "corpus"]
    assert list(table["test_corpus"].fillna("-")) == ["-", "-", "emodb"]
    summary = compute_run_summary(runs)
    assert list(summary["run"]) == ["ci-paper", "ci-speaker", "ci-corpus-emodb"]
    assert summary["same_settings"].all() and summary["same_network"].isna().all()
    assert summary.loc["speaker", "n_test"] == 120
    import json

    s = json.loads((runs["corpus"] / "settings.json").read_text())
    (runs["corpus"] / "settings.json").write_text(json.dumps({**s, "seed": 1}))
    assert list(compute_run_summary(runs)["same_settings"]) == [True, True, False]


def test_group_table(tmp_path):
    from fser_utils.studies.robustness import compute_group_table

    runs = _fake_runs(tmp_path)
    table = compute_group_table({"paper": runs["paper"], "speaker": runs["speaker"]}, n_boot=20)
    assert list(table.columns) == ["run", "by", "group", "n", "correct", "accuracy",
                                   "accuracy_low", "accuracy_high"]
    # all runs by sex first, then all runs by corpus
    assert list(dict.fromkeys(zip(table["by"], table["run"]))) == [
        ("sex", "paper"), ("sex", "speaker"), ("corpus", "paper"), ("corpus", "speaker")]
    part = table[(table["run"] == "paper") & (table["by"] == "sex")]
    assert part["n"].sum() == 120


def test_paper_claims_from_runs(tmp_path):
    from fser_utils.paper import PAPER_ACCURACY, PAPER_UNSEEN
    from fser_utils.studies.claims import compute_paper_claims

    runs = _fake_runs(tmp_path)
    unseen = pd.DataFrame([{"corpus": "urdu", "language": "Urdu", "n": 40, "k": 4,
                            "accuracy": 40.0, "accuracy_low": 30.0, "accuracy_high": 50.0,
                            "majority": 25.0}])
    claims = compute_paper_claims(reversed(list(runs.values())), unseen=unseen, n_boot=50)
    table = compute_claims_table(claims)
    first = table.iloc[0]
    assert first["paper"] == PAPER_ACCURACY and first["evidence"].startswith("ci-paper; ")
    assert "(no savee) [profile " in first["evidence"]  # every number names its budget
    by_claim = table.set_index("claim")
    # the fabricated run records that its EmoDB copy differs and that SAVEE is absent
    assert by_claim.loc["emodb accuracy 97.74 % (Table 4)", "verdict"] == "not testable here"
    assert "not comparable" in by_claim.loc["emodb accuracy 97.74 % (Table 4)", "evidence"]
    assert by_claim.loc["savee accuracy 99.1 % (Table 4)", "evidence"] == \
        "not found under the data root"
    assert by_claim.loc["ravdess accuracy 98.67 % (Table 4)", "verdict"] != "not testable here"
    speaker = by_claim.loc["reliable for any other external factor: speakers never heard"]
    assert speaker["evidence"].startswith("ci-speaker [profile ")
    assert speaker["verdict"].startswith("does not hold")
    assert "reliable independently of the language: German never heard" in by_claim.index
    n_ok, n_all = PAPER_UNSEEN
    assert f"{n_ok} of {n_all} clips in French, Fon, Igbo correct" in by_claim.index
    urdu = by_claim.loc["unseen language like the 24-clip test: Urdu (urdu, 4 classes)"]
    assert urdu["measured"] == 40 and urdu["verdict"].startswith("does not hold (above")
    sex = table[table["claim"].str.contains("sex")]
    assert [e.split(" [")[0] for e in sex["evidence"]] == ["ci-paper", "ci-speaker"]
    # explicit notes replace the recorded ones
    plain = compute_claims_table(compute_paper_claims(runs.values(), notes={}, n_boot=20))
    assert "not testable here" != plain.set_index("claim").loc[
        "emodb accuracy 97.74 % (Table 4)", "verdict"]
    with pytest.raises(FserError, match="random split"):
        compute_paper_claims([runs["speaker"]], n_boot=10)


def test_paper_claims_with_a_full_budget_run(tmp_path):
    """A larger-budget random-split run answers the random-split claims; the short run
    keeps a row of its own, and the evidence says which recipe each number comes from."""
    import json

    from test_evaluate import make_fake_run

    from fser_utils.studies.claims import compute_paper_claims, describe_budget_label
    from fser_utils.studies.robustness import describe_budget

    runs = _fake_runs(tmp_path)
    full, _ = make_fake_run(tmp_path / "fser-paper-paper", seed=7, accuracy=0.6)
    settings = json.loads((full / "settings.json").read_text())
    settings.update(split="paper", profile="paper", n_train_images=34440,
                    hardware="a GPU")
    (full / "settings.json").write_text(json.dumps(settings))
    metrics = json.loads((full / "metrics.json").read_text())
    (full / "metrics.json").write_text(json.dumps({**metrics, "epochs_run": 400}))
    assert describe_budget(full) == "profile 'paper', 400 epochs x 34440 images, a GPU"
    assert describe_budget_label(full) == "full budget: 400 epochs"
    assert describe_budget_label(runs["paper"]) == "shorter: ? epochs, profile 'ci'"
    unseen = pd.DataFrame([{"corpus": "urdu", "language": "Urdu", "n": 40, "k": 4,
                            "accuracy": 40.0, "accuracy_low": 30.0, "accuracy_high": 50.0,
                            "majority": 25.0}])
    table = compute_claims_table(compute_paper_claims(runs.values(), notes={}, n_boot=20,
                                                      paper_run=full, unseen=unseen))
    overall = table[table["claim"].str.startswith("95.05 %")]
    assert [e.split(";")[0] for e in overall["evidence"]] == ["fser-paper-paper", "ci-paper"]
    assert list(overall["budget"]) == ["full budget: 400 epochs",
                                       "shorter: ? epochs, profile 'ci'"]
    assert "400 epochs" in overall["evidence"].iloc[0]
    assert "400 epochs" not in overall["evidence"].iloc[1]
    # every Table 4 row that has a number is the full-budget run's
    corpus = table[table["claim"].str.contains("Table 4") & table["measured"].notna()]
    assert len(corpus) and corpus["evidence"].str.startswith("fser-paper-paper, test").all()
    assert (corpus["budget"] == "full budget: 400 epochs").all()
    # the unseen corpora need a model: the full-budget run has none, and says so
    unseen_rows = table[table["claim"].str.startswith("unseen language")]
    assert list(unseen_rows["budget"]) == ["full budget: 400 epochs",
                                           "shorter: ? epochs, profile 'ci'"]
    assert unseen_rows["verdict"].iloc[0] == "not testable here"
    assert "not its model" in unseen_rows["evidence"].iloc[0]
    assert unseen_rows["evidence"].iloc[1].startswith("ci-paper model, all 40 clips")
    sex = table[table["claim"].str.contains("sex")]
    assert [e.split(" [")[0] for e in sex["evidence"]] == ["fser-paper-paper", "ci-paper",
                                                           "ci-speaker"]
    assert sex["evidence"].iloc[0].startswith("fser-paper-paper [profile 'paper'")
    assert sex["budget"].iloc[0] == "full budget: 400 epochs"
    assert sex["measured_low"].lt(sex["measured_low90"]).all()
    assert sex["verdict"].str.split(" ").str[0].isin(["holds", "does", "undecided"]).all()
    # every measured claim names its budget
    assert (table.loc[table["measured"].notna(), "budget"] != "").all()


def test_protocol_comparison_lines_models_up_by_protocol(tmp_path):
    from fser_utils.studies.robustness import compute_protocol_comparison, describe_protocol

    assert describe_protocol("corpus", "emodb") == "German (emodb) held out"
    assert describe_protocol("speaker") == "unseen speakers"
    runs = _fake_runs(tmp_path / "a")
    other = _fake_runs(tmp_path / "b")
    table = compute_protocol_comparison({"A": runs.values(), "B": [other["speaker"]]},
                                        n_boot=20)
    assert list(table.index) == [("paper protocol: random clips", "A"),
                                 ("unseen speakers", "A"), ("unseen speakers", "B"),
                                 ("German (emodb) held out", "A")]
    assert (table["accuracy_low"] <= table["accuracy"]).all()
    with pytest.raises(FserError, match="no finished run"):
        compute_protocol_comparison({"A": []})
