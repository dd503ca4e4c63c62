"""Metrics against hand-computed cases, and ``fser evaluate`` on a fabricated run folder."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fser_utils.cli import main
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
from fser_utils.studies.evaluate import (
    compute_bootstrap_ci, compute_classification_report, compute_confusion_matrix,
    OLD_INTERVAL_NAMES, compute_corpus_table, compute_group_accuracy, compute_roc_curves,
    evaluate_run, format_markdown, load_predictions, rename_old_interval_names)
from fser_utils.paper import PAPER_TABLE2, PAPER_TABLE3

# a hand-checked case: 3 classes, 6 clips
#   true: a a a b b c ; predicted: a a b b c c
#   a: tp 2, fp 0, fn 1 -> P 1, R 2/3, F1 0.8
#   b: tp 1, fp 1, fn 1 -> P 1/2, R 1/2, F1 1/2
#   c: tp 1, fp 1, fn 0 -> P 1/2, R 1, F1 2/3
TRUE = ["a", "a", "a", "b", "b", "c"]
PRED = ["a", "a", "b", "b", "c", "c"]


def test_report_hand_computed():
    rep = compute_classification_report(TRUE, PRED, classes=["a", "b", "c"])
    assert rep.loc["a", "precision"] == pytest.approx(100)
    assert rep.loc["a", "recall"] == pytest.approx(200 / 3)
    assert rep.loc["a", "f1"] == pytest.approx(80)
    assert rep.loc["b", "f1"] == pytest.approx(50)
    assert rep.loc["c", "recall"] == pytest.approx(100)
    assert rep.loc["c", "f1"] == pytest.approx(200 / 3)
    assert list(rep["support"][:3]) == [3, 2, 1]
    assert rep.loc["accuracy", "f1"] == pytest.approx(400 / 6)
    assert rep.loc["macro avg", "f1"] == pytest.approx((80 + 50 + 200 / 3) / 3)
    assert rep.loc["weighted avg", "f1"] == pytest.approx((3 * 80 + 2 * 50 + 200 / 3) / 6)
    assert rep.loc["macro avg", "support"] == 6
    assert rep["auc"].isna().all()  # no probabilities given


def test_report_auc_and_absent_class():
    # class c never occurs: its scores are NaN and stay out of the averages
    true = ["a", "a", "b", "b"]
    pred = ["a", "b", "b", "b"]
    proba = np.array([[0.9, 0.1, 0], [0.4, 0.6, 0], [0.3, 0.7, 0], [0.2, 0.8, 0]])
    rep = compute_classification_report(true, pred, proba, classes=["a", "b", "c"])
    # scores of a: 0.9, 0.4 (positives) vs 0.3, 0.2 -> every positive ranked higher: AUC 1
    assert rep.loc["a", "auc"] == pytest.approx(100)
    assert rep.loc["b", "auc"] == pytest.approx(100)
    assert np.isnan(rep.loc["c", "auc"]) and np.isnan(rep.loc["c", "precision"])
    assert rep.loc["c", "support"] == 0
    assert rep.loc["macro avg", "recall"] == pytest.approx((50 + 100) / 2)


def test_report_rejects_mismatch():
    with pytest.raises(FserError):
        compute_classification_report(["a"], ["a", "b"])


def test_confusion_matrix_normalized():
    cm = compute_confusion_matrix(TRUE, PRED, classes=["a", "b", "c"])
    assert cm.loc["a", "a"] == pytest.approx(200 / 3)
    assert cm.loc["a", "b"] == pytest.approx(100 / 3)
    assert cm.loc["b", "c"] == pytest.approx(50)
    np.testing.assert_allclose(cm.sum(axis=1), 100)
    counts = compute_confusion_matrix(TRUE, PRED, classes=["a", "b", "c", "d"], normalize=False)
    assert counts.loc["a", "a"] == 2 and counts.to_numpy().sum() == 6
    assert counts.loc["d"].sum() == 0
    cm = compute_confusion_matrix(TRUE, PRED, classes=["a", "b", "c", "d"])
    assert cm.loc["d"].isna().all()


def test_roc_curves_perfect_and_averages():
    true = np.array(["a", "b", "c"] * 4)
    proba = np.eye(3)[[0, 1, 2] * 4] * 0.8 + 0.2 / 3
    curves = compute_roc_curves(true, proba, classes=["a", "b", "c"])
    for name in ("a", "b", "c", "micro", "macro"):
        assert curves[name]["auc"] == pytest.approx(1.0)
    # a chance-level scorer: constant probabilities give AUC 0.5
    curves = compute_roc_curves(true, np.full((12, 3), 1 / 3), classes=["a", "b", "c"])
    assert curves["macro"]["auc"] == pytest.approx(0.5)
    assert curves["micro"]["auc"] == pytest.approx(0.5)


def test_bootstrap_ci():
    true = ["a"] * 80 + ["b"] * 20
    pred = ["a"] * 70 + ["b"] * 10 + ["b"] * 20  # 90 % correct
    ci = compute_bootstrap_ci(true, pred, n_boot=500, seed=1)
    # one vocabulary: the value under the metric's name, its interval and standard error
    assert set(ci) == {"metric", "accuracy", "accuracy_low", "accuracy_high", "accuracy_se",
                       "level", "n_boot", "n"}
    assert ci["accuracy"] == pytest.approx(90)
    assert ci["accuracy_low"] < 90 < ci["accuracy_high"]
    # binomial standard error is 3 points: the 95 % interval is about +-6
    assert 3 < ci["accuracy_high"] - ci["accuracy_low"] < 20
    assert ci["accuracy_se"] == pytest.approx(100 * np.sqrt(0.9 * 0.1 / 100), rel=0.15)
    assert compute_bootstrap_ci(true, pred, n_boot=500, seed=1) == ci  # seeded
    f1 = compute_bootstrap_ci(true, pred, metric="macro_f1", n_boot=300, seed=1)
    from sklearn.metrics import f1_score
    assert f1["macro_f1"] == pytest.approx(100 * f1_score(true, pred, average="macro"))
    assert f1["macro_f1_low"] <= f1["macro_f1"] <= f1["macro_f1_high"]
    assert f1["macro_f1_se"] > 0
    perfect = compute_bootstrap_ci(["a", "b"] * 5, ["a", "b"] * 5, n_boot=50)
    assert perfect["accuracy_low"] == perfect["accuracy_high"] == 100
    assert perfect["accuracy_se"] == 0
    assert np.isnan(compute_bootstrap_ci(true, pred, n_boot=1)["accuracy_se"])
    with pytest.raises(FserError):
        compute_bootstrap_ci(true, pred, metric="auc")


def test_group_accuracy():
    pred = pd.DataFrame({"emotion": ["a", "a", "b", "b"], "predicted": ["a", "b", "b", "b"],
                         "sex": ["female", "female", "male", "male"]})
    table = compute_group_accuracy(pred, "sex", n_boot=100)
    assert list(table.columns) == ["sex", "n", "correct", "accuracy", "accuracy_low",
                                   "accuracy_high"]
    assert list(table["sex"]) == ["female", "male"]
    assert list(table["accuracy"]) == [50, 100]
    assert list(table["n"]) == [2, 2]


def test_old_interval_names_are_read_under_the_new_ones():
    # arm (a)'s metrics.json stored before the vocabulary: ci_low, ci_high [%]
    old = {"test_accuracy": 0.8, "ci_low": 79.7, "ci_high": 81.2, "n_test": 10}
    assert rename_old_interval_names(old) == {"test_accuracy": 0.8, "accuracy_low": 79.7,
                                              "accuracy_high": 81.2, "n_test": 10}
    new = {"accuracy": 80.0, "accuracy_low": 79.7, "accuracy_high": 81.2}
    assert rename_old_interval_names(new) == new  # current names pass unchanged
    table = pd.DataFrame({"corpus": ["emodb"], "accuracy": [80.0], "ci_low": [70.0],
                          "ci_high": [90.0]})  # fser evaluate's tables, written before
    assert list(rename_old_interval_names(table).columns) == [
        "corpus", "accuracy", "accuracy_low", "accuracy_high"]
    assert set(OLD_INTERVAL_NAMES) == {"ci_low", "ci_high"}


def test_paper_constants():
    assert list(PAPER_TABLE2.index[:8]) == list(EMOTIONS)
    assert PAPER_TABLE2.loc["surprise", "support"] == 69
    assert PAPER_TABLE2["support"][:8].sum() == 609
    np.testing.assert_allclose(PAPER_TABLE3.sum(axis=1), 100, atol=0.05)


def test_format_markdown():
    md = format_markdown(pd.DataFrame({"x": [1.234, np.nan], "y": ["a|b", "c"]}), index=False)
    assert md.splitlines()[0] == "| x | y |"
    assert "| 1.23 | a\\|b |" in md and "|  | c |" in md


# --- a fabricated run folder ------------------------------------------------------------
def make_fake_run(folder, *, n=120, seed=0, accuracy=0.8):
    """A run folder following the run-folder contract, with noisy but informative scores."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    true = rng.choice(EMOTIONS, size=n)
    logits = rng.normal(size=(n, len(EMOTIONS)))
    hit = rng.random(n) < accuracy
    for i, t in enumerate(true):
        if hit[i]:
            logits[i, EMOTIONS.index(t)] += 6
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    corpus = rng.choice(["emodb", "emovo", "ravdess"], size=n)
    pred = pd.DataFrame({
        "relpath": [f"{c}/clip{i:03d}.flac" for i, c in enumerate(corpus)], "corpus": corpus,
        "language": "x", "speaker": [f"{c}_{i % 4}" for i, c in enumerate(corpus)],
        "sex": rng.choice(["female", "male"], size=n), "emotion": true,
        "predicted": np.array(EMOTIONS)[proba.argmax(axis=1)]})
    for i, c in enumerate(EMOTIONS):
        pred[f"p_{c}"] = proba[:, i]
    pred.to_csv(folder / "test_predictions.csv", index=False)
    train = pd.DataFrame({"relpath": [f"emodb/train{i:03d}.flac" for i in range(20)],
                          "part": "train"})
    pd.concat([pred.drop(columns=["predicted"] + [f"p_{c}" for c in EMOTIONS])
               .assign(part="test"), train]).to_csv(folder / "split.csv", index=False)
    (folder / "settings.json").write_text(json.dumps({
        "profile": "ci", "split": "paper", "test_corpus": None, "seed": 42,
        "corpora": ["emodb", "emovo", "ravdess"], "n_train": 300, "n_val": 80, "n_test": n,
        "data_notes": {"emodb": "our copy: cut to 2.00 s: not comparable with published results",
                       "savee": "not found under the data root"}}))
    (folder / "metrics.json").write_text(json.dumps(
        {"test_accuracy": float((pred["emotion"] == pred["predicted"]).mean())}))
    return folder, pred


def test_evaluate_run_writes_everything(tmp_path):
    run, pred = make_fake_run(tmp_path / "ci-paper")
    from fser_utils.plotting import save_evaluation_figures

    res = evaluate_run(run, n_boot=200)
    out = run / "evaluation"
    for name in ("report.csv", "report.md", "confusion.csv", "confusion.md",
                 "per_corpus.csv", "per_corpus.md", "per_sex.csv", "bootstrap.json"):
        assert (out / name).is_file(), name
    # computing draws nothing; the figures come from its results
    assert not (out / "confusion.png").exists()
    assert save_evaluation_figures(res) == [out / "confusion.png", out / "roc.png"]
    for name in ("confusion.png", "roc.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    acc = 100 * (pred["emotion"] == pred["predicted"]).mean()
    assert res["report"].loc["accuracy", "f1"] == pytest.approx(acc)
    assert res["bootstrap"]["accuracy"]["accuracy"] == pytest.approx(acc)
    boot = json.loads((out / "bootstrap.json").read_text())
    assert boot["accuracy"]["accuracy_low"] <= acc <= boot["accuracy"]["accuracy_high"]
    assert boot["macro_f1"]["macro_f1_low"] <= boot["macro_f1"]["macro_f1_high"]
    table4 = res["per_corpus"]
    ours = table4[table4["work"] == "this repository"].set_index("corpus")
    assert np.isnan(ours.loc["SAVEE", "accuracy"])
    assert "not found under the data root" in ours.loc["SAVEE", "protocol"]
    assert "not comparable" in ours.loc["EmoDB", "protocol"]
    paper = table4[table4["work"] == "FSER paper"].set_index("corpus")
    assert "our copy differs" in paper.loc["EmoDB", "protocol"]
    assert "our copy differs" not in paper.loc["SAVEE", "protocol"]  # not measured here
    emodb = pred[pred["corpus"] == "emodb"]
    assert ours.loc["EmoDB", "accuracy"] == pytest.approx(
        100 * (emodb["emotion"] == emodb["predicted"]).mean())
    assert 97.74 in set(table4["accuracy"])


def test_corpus_table_without_settings():
    pred = pd.DataFrame({"corpus": ["ravdess"] * 4, "emotion": ["anger"] * 4,
                         "predicted": ["anger"] * 3 + ["calm"]})
    table = compute_corpus_table(pred, n_boot=50)
    ours = table[table["work"] == "this repository"].set_index("corpus")
    assert ours.loc["RAVDESS", "accuracy"] == 75
    assert ours.loc["RAVDESS", "accuracy_low"] <= 75 <= ours.loc["RAVDESS", "accuracy_high"]
    assert ours.loc["RAVDESS", "n"] == 4
    assert np.isnan(ours.loc["EMOVO", "accuracy"]) and np.isnan(ours.loc["EMOVO", "accuracy_low"])


def test_fser_evaluate_command(tmp_path, capsys):
    run, _ = make_fake_run(tmp_path / "run")
    assert main(["evaluate", str(run), "--n-boot", "100"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "macro F1" in out and str(run / "evaluation") in out
    assert (run / "evaluation" / "report.md").is_file()


def test_fser_evaluate_bad_run_dir(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fser: error:") and "does not exist" in err and "\n" not in err
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", str(tmp_path / "empty")]) == 2
    assert "test_predictions.csv is missing" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "test_predictions.csv").write_text("relpath,emotion\nx,anger\n")
    with pytest.raises(FserError, match="lacks column"):
        load_predictions(bad)


# --- damaged predictions are refused with one line (issue 13, items 3 and 8) -------------
def _evaluate_error(run, capsys) -> str:
    """``fser evaluate RUN``'s message, after checking that it refused in one line."""
    assert main(["evaluate", str(run), "--n-boot", "10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fser: error:") and err.count("\n") == 1, err
    return err


def test_evaluate_refuses_predictions_cut_inside_a_number(tmp_path, capsys):
    run, _ = make_fake_run(tmp_path / "run", n=513)
    path = run / "test_predictions.csv"
    lines = path.read_text().splitlines(keepends=True)
    row300 = lines[300]  # line 0 is the header
    cut = sum(map(len, lines[:300])) + row300.rindex(",") + 4  # inside the last number
    path.write_bytes(path.read_bytes()[:cut])
    err = _evaluate_error(run, capsys)
    assert "has 300 rows but the run's test set has 513 clips" in err and str(path) in err
    assert not (run / "evaluation").exists()


def test_evaluate_refuses_a_row_cut_short_and_text_for_a_number(tmp_path, capsys):
    run, pred = make_fake_run(tmp_path / "run")
    path = run / "test_predictions.csv"
    text = path.read_text()
    path.write_text(text[:text.rstrip().rindex(",")])  # the last row loses its last cell
    assert f"line {len(pred) + 1}: column p_surprise is empty" in _evaluate_error(run, capsys)
    bad = pred.copy()
    bad["p_anger"] = bad["p_anger"].astype(object)
    bad.loc[7, "p_anger"] = "abc"
    bad.to_csv(path, index=False)
    assert "line 9: column p_anger holds 'abc', not a probability" in _evaluate_error(run, capsys)
    bad["p_anger"] = pred["p_anger"] + 2
    bad.to_csv(path, index=False)
    assert "not a probability in [0, 1]" in _evaluate_error(run, capsys)


def test_evaluate_names_an_empty_class_cell(tmp_path, capsys):
    run, pred = make_fake_run(tmp_path / "run")
    bad = pred.copy()
    bad.loc[3, "emotion"] = None
    bad.to_csv(run / "test_predictions.csv", index=False)
    err = _evaluate_error(run, capsys)
    assert "line 5: column emotion is empty" in err and "unknown class" not in err
    bad.loc[3, "emotion"] = "boredom"
    bad.to_csv(run / "test_predictions.csv", index=False)
    assert "unknown class 'boredom'" in _evaluate_error(run, capsys)


def test_evaluate_refuses_predictions_of_other_clips(tmp_path, capsys):
    run, pred = make_fake_run(tmp_path / "run")
    pred.assign(relpath=pred["relpath"].str.replace("clip", "other")).to_csv(
        run / "test_predictions.csv", index=False)
    assert "does not list the clips of the run's test set" in _evaluate_error(run, capsys)
    (run / "settings.json").write_text('{"split": "paper", ')
    assert "settings.json' is not valid JSON" in _evaluate_error(run, capsys)
