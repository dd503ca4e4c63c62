"""The findings page: the paper's claims beside what the book measured, the headline figure's
table, the decision table ("what should I use?") and every text the page pastes. Every
number that the findings page and the introduction state is computed once, from the stored
results, by :mod:`fser_utils.studies.stored` (chapter 8's runs, the data's caveats) and
:mod:`fser_utils.studies.stored_comparison` (chapter 9's models and ensembles); this module
lays them out as tables (:func:`compute_claims_table`, :func:`compute_headline_table`,
:func:`compute_decision_table`) and as the texts the pages glue
(:func:`compute_glue_texts`, :func:`compute_glue_markdown`), so that no page types a
measured number. The paper's own numbers come from :mod:`fser_utils.paper`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fser_utils.paper import PAPER_ACCURACY, PAPER_RECIPE
from fser_utils.studies import confirm
from fser_utils.studies.heldout_remedies import compute_language_summary
from fser_utils.studies.stored import (compute_closest_leak, compute_converged_arms,
                                       compute_data_caveats,
                                       compute_leak_before_split, compute_paper_recipe,
                                       compute_paper_recipe_corpora, compute_paper_recipe_seeds,
                                       compute_paper_recipe_sex_gap)
from fser_utils.studies.stored_comparison import (BUDGET_MINUTES, compute_best_ensemble,
                                                  compute_best_per_speaker_model,
                                                  compute_default_model, compute_paper_network)

__all__ = ["SPLIT_TITLES", "compute_claims_table", "compute_decision_table",
           "compute_headline_table", "compute_glue_texts", "compute_glue_markdown",
           "describe_converged_arms", "describe_gap_to_paper", "describe_language",
           "format_change_interval", "format_value",
           "format_change", "format_interval", "format_result"]

#: the two protocols of the headline figure, with their titles
SPLIT_TITLES = {"paper": "the paper's random split", "speaker": "unseen speakers"}


# -- formatting ----------------------------------------------------------------------------

def format_value(value: float, unit: str = "%", digits: int = 1) -> str:
    """``57.3 %``; a signed value for points (``+6.2 points``)."""
    if unit == "points":
        return f"{value:+.{digits}f} points"
    return f"{value:.{digits}f} {unit}".rstrip()


def format_change(value: float, digits: int = 1) -> str:
    """A signed change in points, ``+2.1`` or ``-0.7``; one that rounds to zero is ``0.0``
    (not ``-0.0``)."""
    text = f"{value:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def format_change_interval(row, *, short: bool = False) -> str:
    """A change with its 95 % interval, from ``change``, ``change_low`` and
    ``change_high`` [points]: ``+2.1 points, 95 % interval 0.0 to +4.1``, or
    ``+2.1 (0.0 to +4.1)`` with ``short=True`` (a table column that names its unit)."""
    c, lo, hi = (format_change(row[k]) for k in ("change", "change_low", "change_high"))
    return f"{c} ({lo} to {hi})" if short else f"{c} points, 95 % interval {lo} to {hi}"


def format_interval(result: dict, metric: str = "accuracy", digits: int = 1) -> str:
    """``53.0-61.6 %``: the 95 % interval of ``result[metric]``, with an en dash."""
    low, high = result[f"{metric}_low"], result[f"{metric}_high"]
    unit = " points" if metric == "difference" else " %"
    return f"{low:.{digits}f}\u2013{high:.{digits}f}{unit}"


def format_result(result: dict, metric: str = "accuracy") -> dict:
    """A result's value and interval as the texts a page pastes: ``{"": "57.3 %",
    "_ci": "53.0\u201361.6 %"}`` (keys are suffixes of the result's glue name)."""
    unit = "points" if metric == "difference" else "%"
    return {"": format_value(result[metric], unit), "_ci": format_interval(result, metric)}


# -- the findings page's tables ------------------------------------------------------------

def _row(claim, paper, result, what, budget, hardware, metric="accuracy") -> dict:
    measured = (format_value(result[metric], "points" if metric == "difference" else "%")
                if result else "not measured")
    return {"the paper claims": claim, "paper": paper, "measured here": measured,
            "95 % interval": format_interval(result, metric) if result else "",
            "what was measured": what, "budget": budget, "hardware": hardware}


def compute_claims_table() -> pd.DataFrame:
    """Each of the paper's claims beside what the book measured, as display strings.

    Columns: the claim, the paper's number, the measured value, its 95 % interval, what
    was measured (model and protocol), the training budget and the hardware.
    """
    paper_pct = f"{PAPER_ACCURACY} %"
    recipe, seeds = compute_paper_recipe(), compute_paper_recipe_seeds()
    cheap = compute_best_ensemble("paper", max_cpu_minutes=BUDGET_MINUTES)
    best = compute_best_ensemble("paper")
    epochs = " / ".join(str(e) for e in seeds["epochs_run"].values())
    rows = [
        _row("accuracy over 8 classes, random split", paper_pct, recipe,
             f"the paper's recipe, seed {recipe['seed']}", f"{recipe['epochs']} epochs",
             recipe["hardware"]),
        _row("", paper_pct, seeds, f"the paper's recipe, mean of {seeds['seeds']} seeds",
             f"{epochs} epochs", seeds["hardware"]),
        _row("", paper_pct, cheap, f"best ensemble within {BUDGET_MINUTES} min "
             "(chapter 11)", f"{cheap['train_minutes']:.0f} min", cheap["hardware"]),
        _row("", paper_pct, best, "best ensemble, any budget (chapter 11)",
             f"{best['train_minutes']:.0f} min", best["hardware"]),
    ]
    for corpus, r in compute_paper_recipe_corpora().items():
        rows.append(_row(f"accuracy on {corpus} (Table 4)", f"{r['paper']} %",
                         r if r["n"] else None,
                         f"the paper's recipe, seed 42, {r['n']} {corpus} test clips"
                         if r["n"] else f"{corpus} is not in this book's data",
                         f"{recipe['epochs']} epochs" if r["n"] else "",
                         recipe["hardware"] if r["n"] else ""))
    net = compute_paper_network("speaker")
    default = compute_default_model("speaker")
    rows += [
        _row("reliable for speakers never heard", "no number", net,
             f"the paper's network, unseen speakers, {net['seeds']} seeds",
             f"{net['epochs']} epochs", net["hardware"]),
        _row("", "no number", default,
             f"the default model ({default['model']}), unseen speakers",
             f"{default['epochs']} epochs", default["hardware"]),
    ]
    from fser_utils.data.corpora import get_corpus

    for corpus in ("emodb", "emovo", "ravdess"):
        r = compute_paper_network(f"corpus-{corpus}")
        rows.append(_row("reliable whatever the language" if corpus == "emodb" else "",
                         "no number", r,
                         f"the paper's network, {get_corpus(corpus).language} never heard",
                         f"{r['epochs']} epochs", r["hardware"]))
    from fser_utils.paper import PAPER_UNSEEN

    n_ok, n_all = PAPER_UNSEEN
    rows.append(_row(f"{n_ok} of {n_all} clips in French, Fon and Igbo correct",
                     f"{100 * n_ok / n_all:.1f} %", None,
                     "not testable: the paper's clips are not published", "", ""))
    gap = compute_paper_recipe_sex_gap()
    rows.append(_row("reliable whatever the speaker's sex", "no number", gap,
                     "female minus male accuracy, the paper's recipe, seed 42",
                     f"{recipe['epochs']} epochs", recipe["hardware"], metric="difference"))
    return pd.DataFrame(rows)


def compute_headline_table() -> pd.DataFrame:
    """The headline accuracies with their intervals, for the findings page's figure.

    Returns
    -------
    table : pd.DataFrame
        Columns ``split`` (``paper`` or ``speaker``), ``result`` (a short label with
        line breaks), ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%].
    """
    cheap = f"ensemble\n\u2264 {BUDGET_MINUTES} min\nCPU"
    rows = [("paper", "recipe\nseed 42", compute_paper_recipe()),
            ("paper", "recipe\n3 seeds", compute_paper_recipe_seeds()),
            ("paper", "leak\n(SGD)", compute_leak_before_split()),
            ("paper", cheap, compute_best_ensemble("paper", max_cpu_minutes=BUDGET_MINUTES)),
            ("paper", "ensemble\nany budget", compute_best_ensemble("paper")),
            ("speaker", "paper's\nnetwork", compute_paper_network("speaker")),
            ("speaker", "default\nmodel", compute_default_model("speaker")),
            ("speaker", "per-speaker\nmodel", compute_best_per_speaker_model("speaker")),
            ("speaker", cheap, compute_best_ensemble("speaker", max_cpu_minutes=BUDGET_MINUTES)),
            ("speaker", "ensemble\nany budget", compute_best_ensemble("speaker"))]
    converged = compute_converged_arms()
    if converged:  # the same leak, trained further (chapter 8, section 7)
        rows.insert(3, ("paper", "leak\n(Adam)", converged["pooled"]))
    return pd.DataFrame([{"split": split, "result": label,
                          **{k: r[k] for k in ("accuracy", "accuracy_low", "accuracy_high")}}
                         for split, label, r in rows])


def compute_decision_table() -> pd.DataFrame:
    """"What should I use?": for one clip of an unknown speaker (the default model),
    several clips of one speaker (the best per-speaker model) and the best accuracy
    whatever the cost (the best ensemble), chosen on validation accuracy on unseen
    speakers.

    Returns
    -------
    table : pd.DataFrame
        Index ``one clip``, ``one speaker``, ``any cost``; columns ``model``,
        ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%] on unseen speakers,
        ``seeds``, ``train_minutes``, ``hardware``, ``train`` (the ``fser train``
        commands, one per line) and ``predict`` (how to score recordings with it).
    """
    default = compute_default_model("speaker")
    speaker = compute_best_per_speaker_model("speaker")
    best = compute_best_ensemble("speaker")
    rows = {
        # the shipped recognizer is this model trained on five corpora: nothing to train
        "one clip": {**default, "train": "none: shipped with the package (fser train for "
                                         "your own run)",
                     "predict": "fser predict clip.wav"},
        "one speaker": {**speaker, "train": f"fser train --model {speaker['model']}",
                        "predict": "fser predict speaker_folder/ --run RUN_DIR"},
        "any cost": {**best, "model": best["name"], "train": "\n".join(best["commands"]),
                     "predict": "fser predict FILES --json --run RUN_DIR  "
                                "# once per member, then average the probabilities"},
    }
    columns = ["model", "accuracy", "accuracy_low", "accuracy_high", "seeds",
               "train_minutes", "hardware", "train", "predict"]
    return pd.DataFrame.from_dict(rows, orient="index")[columns]


def _join(items) -> str:
    """``a, b and c``."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def compute_glue_texts() -> dict:
    """Every text the findings page (and the introduction, through it) pastes, by glue key.

    Each headline result gives two keys, ``NAME`` (the value) and ``NAME_ci`` (its 95 %
    interval); the other keys give the budgets, hardware, models and data caveats that
    the prose names. One key per quantity: the pages never type a measured number.
    """
    cheap = {"max_cpu_minutes": BUDGET_MINUTES}
    results = {
        "recipe": compute_paper_recipe(), "seeds": compute_paper_recipe_seeds(),
        "leak": compute_closest_leak(), "network": compute_paper_network("speaker"),
        "ens30_paper": compute_best_ensemble("paper", **cheap),
        "ens30_speaker": compute_best_ensemble("speaker", **cheap),
        "ens_paper": compute_best_ensemble("paper"),
        "ens_speaker": compute_best_ensemble("speaker"),
        "default": compute_default_model("speaker"),
        "per_speaker": compute_best_per_speaker_model("speaker")}
    texts = {"paper_acc": f"{PAPER_ACCURACY} %", "budget": f"{BUDGET_MINUTES} minutes",
             "paper_epochs": str(PAPER_RECIPE["epochs"]),
             "paper_copies": str(PAPER_RECIPE["n_copies"])}
    for key, result in results.items():
        texts.update({key + suffix: text for suffix, text in format_result(result).items()})
    r, s, leak = results["recipe"], results["seeds"], results["leak"]
    texts.update({
        "recipe_epochs": str(r["epochs"]), "recipe_hardware": r["hardware"],
        "recipe_below": f"{r['below_paper']:.1f}", "recipe_corpora": _join(r["corpora"]),
        "recipe_test_clips": str(r["n_test"]), "seeds_n": str(s["seeds"]),
        "seeds_epochs": _join(s["epochs_run"].values()), "seeds_hardware": s["hardware"],
        "leak_arm": leak["arm"], "leak_below": f"{leak['below_paper']:.1f}",
        "leak_relation": describe_gap_to_paper(leak["below_paper"])})
    texts["confirm_result"] = confirm.compare_with_exploration(
        confirm.compute_stored_confirmation(),
        {s: results[f"ens30_{s}"] for s in confirm.CONFIRMATION_SPLITS})["text"]
    for key in ("ens30_paper", "ens30_speaker", "ens_paper", "ens_speaker"):
        e = results[key]
        texts.update({f"{key}_name": e["name"], f"{key}_minutes": f"{e['train_minutes']:.0f}",
                      f"{key}_hardware": e["hardware"], f"{key}_members": " + ".join(e["members"]),
                      f"{key}_verdict": e["verdict"], f"{key}_target": f"{e['target']:.0f} %"})
    for key in ("default", "per_speaker", "network"):
        m = results[key]
        texts.update({f"{key}_model": m["model"], f"{key}_epochs": str(m["epochs"]),
                      f"{key}_minutes": f"{m['train_minutes']:.0f}",
                      f"{key}_hardware": m["hardware"], f"{key}_seeds": str(m["seeds"])})
    texts["ens_speaker_batch"] = (
        "It holds per-speaker members, so it too needs several clips of the speaker."
        if results["ens_speaker"]["needs_speaker_batch"] else "It scores a single clip.")
    texts.update(per_speaker_min_clips=str(results["per_speaker"]["min_clips"]),
                 per_speaker_runner_up=str(results["per_speaker"]["runner_up"]))
    texts.update(describe_converged_arms(compute_converged_arms()))
    texts.update(describe_language(compute_language_summary()))
    data = compute_data_caveats()
    texts.update({k: str(data[k]) for k in ("savee_clips", "paper_clips", "nemo_clips",
                                            "nemo_total")})
    texts["emodb_duration"] = ("unknown (the corpora are not on this machine)"
                               if np.isnan(data["emodb_duration"])
                               else f"{data['emodb_duration']:.2f} s")
    return texts


def describe_gap_to_paper(below: float) -> str:
    """How far a result lies from the paper's number, in words: ``below`` is the paper's
    accuracy minus the result's [percentage points]; within 0.05 either way the two read
    the same at one decimal."""
    if abs(below) < 0.05:
        return "level with it"
    return f"still {below:.1f} points short" if below > 0 else f"{-below:.1f} points above it"


def describe_converged_arms(arms: dict) -> dict:
    """The findings' sentences on chapter 8's converged arms (``leak_converged``, what
    they gave, and ``leak_longer``, what that says about a longer budget), from
    :func:`~fser_utils.studies.stored.compute_converged_arms`; without them, what the
    stored runs of the paper's budget alone can say."""
    if not arms:
        return {"leak_converged": "",
                "leak_longer": ("trained longer than the paper's budget: the leaky run's test "
                                "accuracy was still rising with its training accuracy at its "
                                "last epoch")}
    h, a = arms["honest"], arms["pooled"]
    early = [name for name, r in (("the honest run", h), ("augmenting before the split", a))
             if r["stop_reason"] not in ("converged", "levelled off")]
    ending = ("." if not early else
              ", both stopped before their training accuracy levelled off." if len(early) == 2
              else f"; {early[0]} was stopped before its training accuracy levelled off.")
    return {
        "leak_converged": (
            f"Trained with Adam instead of plain SGD (one seed), the honest run scores "
            f"{format_value(h['accuracy'])} ({format_interval(h)}) after {h['epochs_run']} "
            f"epochs and augmenting before the split {format_value(a['accuracy'])} "
            f"({format_interval(a)}) after {a['epochs_run']}" + ending),
        "leak_longer": ("trained further than plain SGD gets in the paper's budget: with Adam, "
                        "augmenting before the split "
                        + ("goes past the paper's number (its whole interval lies above it)"
                           if a["accuracy_low"] > PAPER_ACCURACY else
                           "comes within reach of the paper's number (its interval holds it)"
                           if a["accuracy_high"] >= PAPER_ACCURACY else
                           "comes closer to the paper's number without reaching it"))}


def describe_language(summary: dict) -> dict:
    """The texts of :func:`fser_utils.studies.heldout_remedies.compute_language_summary`:
    ``lang_heldout`` and ``lang_heldout_ci``, ``lang_target``, and the best remedy and
    the best single-clip one with their changes (``lang_best``, ``lang_best_change``,
    ``lang_best_needs``: what it needs at scoring time, ``lang_single``,
    ``lang_single_change``)."""
    texts = {"lang_heldout" + k: v for k, v in format_result(summary["heldout"]).items()}
    texts["lang_target"] = format_value(summary["heldout"]["target"])
    texts["lang_best_needs"] = {
        "one clip": "and it scores a single clip",
        "clips of the speaker": "but it needs a batch of clips of each speaker",
        "clips of the corpus": "but it needs a batch of clips from each recording setting",
    }[summary["best"]["needs"]]
    for key, row in (("lang_best", summary["best"]), ("lang_single", summary["best_single"])):
        texts[key] = row["text"]
        texts[key + "_change"] = format_change_interval(row)
    return texts


def compute_glue_markdown() -> dict:
    """The decision table's cells that hold commands, as Markdown, by glue key
    (``cmd_ROW_train``, ``cmd_ROW_predict`` for the rows of
    :func:`compute_decision_table`, and ``cmd_any_cost_block``: every command of the
    ensemble in a code block), and ``leak_other_list``: the leaks other than the closest,
    one per line of a bulleted list (a long pasted sentence is hard to read)."""
    table = compute_decision_table()
    out = {}
    for row, r in table.iterrows():
        key = "cmd_" + row.replace(" ", "_")
        commands = r["train"].splitlines()
        # a cell that says what to do instead of a command is prose, its command in code
        one = (f"`{commands[0]}`" if commands[0].startswith("fser ")
               else commands[0].replace("fser train", "`fser train`"))
        out[f"{key}_train"] = (one if len(commands) == 1 else
                               f"{len(commands)} `fser train` commands, listed below")
        out[f"{key}_predict"] = f"`{r['predict'].split('  #')[0]}`"
    any_cost = table.loc["any cost"]
    # the comment on a line of its own: after the command, it ran past the page's column
    command, _, note = any_cost["predict"].partition("  # ")
    out["cmd_any_cost_block"] = ("```bash\n" + any_cost["train"] + "\n"
                                 + (f"# {note}\n" if note else "") + command + "\n```")
    leak = compute_closest_leak()
    out["leak_other_list"] = "\n".join(
        f"* {a.arm}: {format_value(a.accuracy)} ({format_interval(a._asdict())})"
        for a in leak["arms"].itertuples() if a.arm != leak["arm"])
    return out
