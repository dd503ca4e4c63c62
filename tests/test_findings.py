"""The headline numbers of the findings page, checked against the stored result files."""
import json
import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from fser_utils.studies import findings, stored, stored_comparison
from fser_utils.config import CHECKOUT, get_stored_path
from fser_utils.paper import PAPER_ACCURACY, PAPER_CORPUS_SIZES, PAPER_N_CLIPS, PAPER_RECIPE
from fser_utils.models.registry import DEFAULT_MODEL, MODELS

STORED = "results/paper_recipe"


def _check_interval(result, metric="accuracy", *, within=(0, 100)):
    low, value, high = (result[f"{metric}_low"], result[metric], result[f"{metric}_high"])
    assert within[0] <= low <= value <= high <= within[1], (low, value, high)
    assert high - low > 0


def _chosen_on_validation(history: pd.DataFrame) -> float:
    """Test accuracy [%] at the first epoch of best validation accuracy, read directly."""
    return 100 * history["test_accuracy"].iloc[int(history["val_accuracy"].to_numpy().argmax())]


def test_paper_recipe_matches_its_stored_predictions():
    result = stored.compute_paper_recipe()
    folder = get_stored_path(f"{STORED}/{stored.PAPER_RECIPE_RUNS[42]}")
    pred = pd.read_csv(folder / "test_predictions.csv")
    metrics = json.loads((folder / "metrics.json").read_text())
    assert result["accuracy"] == pytest.approx(100 * (pred["emotion"] == pred["predicted"]).mean())
    assert result["accuracy"] == pytest.approx(100 * metrics["test_accuracy"])
    _check_interval(result)
    # the paper's recipe at its full budget on a GPU, far below the paper's claim
    assert 45 < result["accuracy"] < 70 and result["accuracy_high"] < PAPER_ACCURACY
    assert result["paper"] == PAPER_ACCURACY
    assert result["below_paper"] == pytest.approx(PAPER_ACCURACY - result["accuracy"])
    assert result["epochs"] == result["epochs_planned"] == PAPER_RECIPE["epochs"]
    assert result["n_test"] == len(pred)
    assert result["hardware"].startswith("NVIDIA")
    assert result["protocol"] == "paper protocol: random clips"


def test_paper_recipe_seeds_read_each_history():
    result = stored.compute_paper_recipe_seeds()
    per_seed = {}
    for seed, name in stored.PAPER_RECIPE_RUNS.items():
        history = pd.read_csv(get_stored_path(f"{STORED}/{name}") / "history.csv")
        per_seed[seed] = (len(history), _chosen_on_validation(history))
    assert result["seeds"] == len(per_seed) == 3
    assert result["epochs_run"] == {s: n for s, (n, _) in per_seed.items()}
    assert result["accuracy"] == pytest.approx(np.mean([a for _, a in per_seed.values()]))
    _check_interval(result)
    # the seeds do not all reach the recipe's budget, and the result says so
    assert result["epochs_max"] == PAPER_RECIPE["epochs"]
    assert result["epochs_min"] < PAPER_RECIPE["epochs"] and not result["full_budget"]
    # the mean lies between the seeds, and its interval is narrower than one seed's
    accs = [a for _, a in per_seed.values()]
    assert min(accs) <= result["accuracy"] <= max(accs)
    one = result["per_seed"].iloc[0]
    assert result["accuracy_high"] - result["accuracy_low"] < one["accuracy_high"] - one["accuracy_low"]


def test_leak_before_split_and_closest_leak():
    leak = stored.compute_leak_before_split()
    metrics = json.loads((get_stored_path(f"{STORED}/{stored.LEAK_RUN}") / "metrics.json")
                         .read_text())
    assert leak["accuracy"] == pytest.approx(100 * metrics["test_accuracy"])
    # stored before intervals were named accuracy_low, accuracy_high: read through the mapping
    from fser_utils.studies.evaluate import rename_old_interval_names

    renamed = rename_old_interval_names(metrics)
    assert (leak["accuracy_low"], leak["accuracy_high"]) == (renamed["accuracy_low"],
                                                             renamed["accuracy_high"])
    _check_interval(leak)
    assert 70 < leak["accuracy"] < PAPER_ACCURACY and leak["same_clip_in_train"] > 90
    closest = stored.compute_closest_leak()
    arms = closest["arms"].set_index("arm")
    # at the paper's budget the leak arm beats choosing the epoch on the test set
    assert leak["arm"] == "augmenting before the split"
    assert arms.loc[leak["arm"], "accuracy"] > arms.loc["choosing the epoch on the test set",
                                                         "accuracy"]
    assert closest["accuracy"] == arms["accuracy"].max()
    assert closest["accuracy"] > stored.compute_paper_recipe()["accuracy_high"]
    assert closest["below_paper"] == pytest.approx(PAPER_ACCURACY - closest["accuracy"])
    # the converged arms, once stored, join the comparison: each holds arm (a)
    converged = stored.compute_converged_arms()
    if converged:
        assert len(arms) > 2 and all("copies made before the split" in a for a in arms.index[2:])
        assert converged["pooled"]["accuracy"] > converged["honest"]["accuracy_high"]


def test_best_ensembles_follow_chapter_9s_rules():
    budget = stored_comparison.BUDGET_MINUTES
    cheap = {p: stored_comparison.compute_best_ensemble(p, max_cpu_minutes=budget)
             for p in ("paper", "speaker")}
    best = {p: stored_comparison.compute_best_ensemble(p) for p in ("paper", "speaker")}
    for protocol in ("paper", "speaker"):
        for result in (cheap[protocol], best[protocol]):
            _check_interval(result)
            assert result["seeds"] == 3 and len(result["members"]) >= 2
            assert len(result["commands"]) == len(result["members"])
            assert all(c.startswith("fser train --model ") for c in result["commands"])
        # within the CPU budget: CPU runs only
        assert cheap[protocol]["train_minutes"] <= budget
        assert "H100" not in cheap[protocol]["hardware"]
        # chosen on validation accuracy among chapter 9's ensembles
        vals = [stored_comparison.compute_ensemble(n, protocol)["val_accuracy"]
                for n in stored_comparison.ENSEMBLES]
        assert best[protocol]["val_accuracy"] == max(vals)
        assert best[protocol]["val_accuracy"] >= cheap[protocol]["val_accuracy"]
    # honest ensembles: far above the paper's network, still below the paper's claim
    assert 75 < cheap["paper"]["accuracy"] < 92 and best["paper"]["accuracy_high"] < PAPER_ACCURACY
    assert 60 < cheap["speaker"]["accuracy"] < 80
    single = stored_comparison.compute_ensemble("ensemble, CPU runs, single clip, 30 min",
                                                "speaker")
    assert not single["needs_speaker_batch"]
    assert not any(MODELS[m.split(" | ")[0]].speaker_norm for m in single["members"])


def test_default_model_on_unseen_speakers():
    result = stored_comparison.compute_default_model("speaker")
    assert result["model"] == DEFAULT_MODEL and result["seeds"] == 3
    _check_interval(result)
    assert 50 < result["accuracy"] < 70
    assert result["protocol"] == "unseen speakers" and "GPU" not in result["hardware"]
    # it scores a single clip, and the per-speaker model validates above it
    assert not MODELS[result["model"]].speaker_norm
    per_speaker = stored_comparison.compute_best_per_speaker_model("speaker")
    assert MODELS[per_speaker["model"]].speaker_norm and per_speaker["min_clips"] >= 2
    assert per_speaker["val_accuracy"] > result["val_accuracy"]
    _check_interval(per_speaker)


def test_paper_network_on_unseen_speakers_and_corpora():
    speaker = stored_comparison.compute_paper_network("speaker")
    _check_interval(speaker)
    assert speaker["model"] == "fser" and speaker["seeds"] == 3
    assert speaker["accuracy_high"] < stored_comparison.compute_default_model("speaker")["accuracy"]
    for corpus in ("emodb", "emovo", "ravdess"):
        _check_interval(stored_comparison.compute_paper_network(f"corpus-{corpus}"))


def test_per_corpus_and_sex_gap_of_the_full_budget_run():
    corpora = stored.compute_paper_recipe_corpora()
    assert corpora["savee"]["n"] == 0 and "accuracy" not in corpora["savee"]
    measured = {c: r for c, r in corpora.items() if r["n"]}
    assert set(measured) == {"emodb", "ravdess"}
    for r in measured.values():
        _check_interval(r)
        assert r["accuracy_high"] < r["paper"]
    n_test = stored.compute_paper_recipe()["n_test"]
    assert sum(r["n"] for r in measured.values()) < n_test  # EMOVO is not in Table 4
    gap = stored.compute_paper_recipe_sex_gap()
    _check_interval(gap, "difference", within=(-100, 100))
    assert gap["difference"] == pytest.approx(gap["female"] - gap["male"])


def test_data_caveats():
    caveats = stored.compute_data_caveats()
    assert caveats["savee_clips"] == PAPER_CORPUS_SIZES["savee"]
    assert caveats["paper_clips"] == PAPER_N_CLIPS
    assert 0 < caveats["nemo_clips"] < caveats["nemo_total"]
    assert not caveats["savee_found"]
    if caveats["from_data"]:
        assert caveats["emodb_duration"] == pytest.approx(2.0, abs=0.01)


def test_describe_hardware():
    assert stored.describe_hardware(
        "Intel(R) Xeon(R) Processor, 16 CPU cores; GPU: NVIDIA H200") == "NVIDIA H200"
    assert stored.describe_hardware(
        "Intel(R) Xeon(R) Processor (family 6, model 207), 16 CPU cores; GPU: NVIDIA H100 80GB "
        "HBM3") == "NVIDIA H100"
    assert stored.describe_hardware(
        "AMD EPYC (family 26, model 2), 2 CPU cores; no GPU") == "2-core AMD EPYC CPU"


def test_tables_have_no_gaps():
    claims = findings.compute_claims_table()
    assert not claims.isna().any().any()
    assert (claims["paper"].iloc[:4] == f"{PAPER_ACCURACY} %").all()
    decision = findings.compute_decision_table()
    assert list(decision.index) == ["one clip", "one speaker", "any cost"]
    assert decision.loc["one clip", "model"] == DEFAULT_MODEL
    assert (decision["accuracy_low"] < decision["accuracy"]).all()
    headlines = findings.compute_headline_table()
    assert set(headlines["split"]) == set(findings.SPLIT_TITLES)
    assert ((headlines["accuracy_low"] <= headlines["accuracy"])
            & (headlines["accuracy"] <= headlines["accuracy_high"])).all()


#: glue keys whose text is read from the corpora, not from the stored results
_FROM_CORPORA = {"emodb_duration", "nemo_clips"}


def test_pages_paste_only_glued_keys():
    """Every {glue} key of the findings page and the introduction is glued by the page, and
    every glued text is one that findings computes (the page's stored outputs included)."""
    texts, markdown = findings.compute_glue_texts(), findings.compute_glue_markdown()
    data_here = findings.compute_data_caveats()["from_data"]
    book = CHECKOUT / "book"
    nb = nbformat.read(book / "00_findings.ipynb", as_version=4)
    pages = {"00_findings": "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"),
             "intro": (book / "intro.md").read_text()}
    stored = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                stored[name] = out["data"]
    used = set()
    for text in pages.values():
        for key in re.findall(r"\{glue(?::\w+)?\}`([^`]+)`", text):
            used.add(key.split("::")[-1].rsplit(":", 1)[0] if "::" in key else key)
        used.update(re.findall(r"```\{glue(?::\w+)?\} (\S+)", text))
    assert used <= set(texts) | set(markdown) | {"fig_headlines"}, used - set(texts)
    for key in used - {"fig_headlines"}:
        assert key in stored, f"{key} is not glued in the stored outputs: re-execute the page"
        # the stored page says what findings computes now; the data caveats need the
        # corpora, so without them only the stored results' numbers can be compared
        if key in texts and (data_here or key not in _FROM_CORPORA):
            assert stored[key]["application/papermill.record/text/plain"] == repr(texts[key])
    # no measured number typed into the prose: digits only inside glue roles or code
    prose = re.sub(r"\{[^}]+\}`[^`]*`|`[^`]*`|```.*?```", "", pages["00_findings"], flags=re.S)
    assert not re.findall(r"\d+(?:\.\d+)? ?%", prose.replace("95 %", ""))


def test_describe_converged_arms_says_what_the_runs_gave():
    # without the converged runs the page says what the paper's budget alone shows
    assert findings.describe_converged_arms({})["leak_converged"] == ""
    assert "still rising" in findings.describe_converged_arms({})["leak_longer"]
    arm = {"epochs_run": 80, "stop_reason": "converged"}
    arms = {"honest": {**arm, "accuracy": 60.0, "accuracy_low": 55.0, "accuracy_high": 65.0},
            "pooled": {**arm, "accuracy": 94.0, "accuracy_low": 93.5, "accuracy_high": 94.5}}
    texts = findings.describe_converged_arms(arms)
    assert "60.0 %" in texts["leak_converged"] and "93.5\u201394.5 %" in texts["leak_converged"]
    assert texts["leak_longer"].endswith("without reaching it")
    assert texts["leak_converged"].endswith("after 80.")
    arms["pooled"].update(accuracy=95.2, accuracy_low=94.8, accuracy_high=95.6,
                          stop_reason="interrupted")
    texts = findings.describe_converged_arms(arms)
    assert texts["leak_longer"].endswith("(its interval holds it)")
    arms["pooled"].update(accuracy=95.7, accuracy_low=95.3, accuracy_high=96.0)
    assert findings.describe_converged_arms(arms)["leak_longer"].endswith(
        "(its whole interval lies above it)")
    arms["pooled"].update(accuracy=95.2, accuracy_low=94.8, accuracy_high=95.6)
    assert texts["leak_converged"].endswith(
        "; augmenting before the split was stopped before its training accuracy levelled off.")
    arms["honest"]["stop_reason"] = "interrupted"
    assert findings.describe_converged_arms(arms)["leak_converged"].endswith(
        ", both stopped before their training accuracy levelled off.")


def test_describe_gap_to_paper():
    assert findings.describe_gap_to_paper(14.3) == "still 14.3 points short"
    assert findings.describe_gap_to_paper(-0.036) == "level with it"
    assert findings.describe_gap_to_paper(-1.24) == "1.2 points above it"
