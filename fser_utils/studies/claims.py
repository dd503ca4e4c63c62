"""The paper's claims, each turned into a measurement on our runs. The paper claims its model
is reliable "independently of the language, sex identity, and any other external factor"
{cite}`dossou2021fser`; :func:`compute_paper_claims` pairs each of its claims (the overall
accuracy, Table 4's per-corpus accuracies, speakers and languages never heard, the
unseen-language test, no difference between the sexes) with the run that can answer it,
our bootstrap interval from :mod:`fser_utils.studies.robustness`, and the recipe and budget
that run was trained with, so that :func:`fser_utils.studies.verdicts.compute_claims_table`
can judge it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.data.corpora import PAPER_CORPORA, get_corpus
from fser_utils.errors import FserError
from fser_utils.studies.evaluate import compute_group_accuracy, load_predictions
from fser_utils.studies.robustness import compute_group_gap, compute_run_table, describe_budget
from fser_utils.paper import PAPER_ACCURACY, PAPER_RECIPE, PAPER_UNSEEN, get_paper_corpus_accuracy

__all__ = ["describe_budget_label", "compute_paper_claims"]


def describe_budget_label(run_dir) -> str:
    """Whether a run is the paper's recipe at its full budget, in a few words:
    ``full budget: 400 epochs`` or ``shorter: 30 epochs, profile 'quick'``."""
    from fser_utils.training.run import Run

    run = Run(run_dir)
    settings, metrics = run.load_settings(), run.load_metrics(missing_ok=True)
    epochs, profile = metrics.get("epochs_run"), settings.get("profile", "?")
    if profile == "paper" and epochs == PAPER_RECIPE["epochs"]:
        return f"full budget: {epochs} epochs"
    return f"shorter: {epochs if epochs is not None else '?'} epochs, profile '{profile}'"


def _interval(row) -> dict:
    """An accuracy and its interval under the claims table's names: its ``measured`` column
    holds accuracies and differences alike."""
    return {"measured": row["accuracy"], "measured_low": row["accuracy_low"],
            "measured_high": row["accuracy_high"]}


def _pick_runs(table: pd.DataFrame) -> tuple[str, str | None, list]:
    """The random-split run, the speaker-split run and the held-out-corpus runs, by name."""
    paper = table.index[table["split"] == "paper"]
    if not len(paper):
        raise FserError("the paper's claims need a run on the paper's random split "
                        f"(got splits: {', '.join(map(str, table['split'].unique()))})")
    speaker = table.index[table["split"] == "speaker"]
    return paper[0], (speaker[0] if len(speaker) else None), \
        list(table.index[table["split"] == "corpus"])


def _corpus_claims(pred, paper: str, notes: dict, n_boot: int, seed: int) -> list[dict]:
    """Table 4's per-corpus accuracies against the random-split run's test clips."""
    measured = compute_group_accuracy(pred, "corpus", n_boot=n_boot, seed=seed).set_index("corpus")
    claims = []
    for c, claimed in get_paper_corpus_accuracy().items():
        row = {"claim": f"{c} accuracy {claimed} % (Table 4)", "paper": claimed}
        if c in measured.index:
            row.update(_interval(measured.loc[c]), run=paper,
                       evidence=f"{paper}, test clips of {c}")
        if c in notes:  # the copy differs from the paper's: a number, but not the claim's
            row.update(testable=False, why=notes[c])
        claims.append(row)
    return claims


def _protocol_claims(table: pd.DataFrame, speaker: str | None, held_out: list) -> list[dict]:
    """The overall accuracy claimed, against runs whose test speakers or language are new."""
    what = {n: "reliable independently of the language: "
               f"{get_corpus(table.loc[n, 'test_corpus']).language} never heard" for n in held_out}
    if speaker is not None:
        what = {speaker: "reliable for any other external factor: speakers never heard", **what}
    return [{"claim": claim, "paper": PAPER_ACCURACY, **_interval(table.loc[name]),
             "baseline": table.loc[name, "majority"], "run": name, "evidence": name}
            for name, claim in what.items()]


def _unseen_claims(unseen: pd.DataFrame | None, model_run: str, full_run=None) -> list[dict]:
    """The paper's 24-clip test (not published) and ours on whole corpora it never saw,
    scored by the model of ``model_run``; a row saying so when the full-budget run
    ``full_run`` (a path) is another run."""
    n_ok, n_all = PAPER_UNSEEN
    claims = [{"claim": f"{n_ok} of {n_all} clips in French, Fon, Igbo correct",
               "paper": 100 * n_ok / n_all, "testable": False,
               "why": f"the {n_all} clips are not published"}]
    rows = [] if unseen is None else unseen.to_dict("records")
    if rows and full_run is not None:
        from fser_utils.training.run import Run

        why = ("the run stores its predictions, not its model, so it cannot score them"
               if Run(full_run).model_file is None else "its model has not scored them here")
        claims.append({"claim": f"unseen language like the {n_all}-clip test: "
                                f"{', '.join(r['language'] for r in rows)}",
                       "paper": 100 * n_ok / n_all, "testable": False, "why": why,
                       "run": Path(full_run).name, "evidence": Path(full_run).name})
    for r in rows:
        claims.append({"claim": f"unseen language like the {n_all}-clip test: {r['language']} "
                                f"({r['corpus']}, {r['k']} classes)",
                       "paper": 100 * n_ok / n_all, **_interval(r), "baseline": r["majority"],
                       "run": model_run, "evidence": f"{model_run} model, all {r['n']} clips"})
    return claims


def _sex_claim(run_dir, name: str, n_boot: int, seed: int) -> list[dict]:
    """No difference between female and male speakers, on one run's test clips."""
    pred = load_predictions(run_dir)[0]
    if not {"female", "male"} <= set(pred["sex"]):
        return []
    g = compute_group_gap(pred, "sex", ("female", "male"), n_boot=n_boot, seed=seed)
    return [{"claim": "reliable independently of sex: female - male accuracy = 0",
             "paper": np.nan, "kind": "difference", "n": g["n"], "run": name, "evidence": name,
             **{k.replace("difference", "measured"): v for k, v in g.items()
                if k.startswith("difference")}}]


def compute_paper_claims(runs, *, unseen: pd.DataFrame | None = None, notes: dict | None = None,
                         n_boot: int = 2000, seed: int = 0, paper_run=None) -> list[dict]:
    """Each of the paper's claims with what we measured, for
    :func:`~fser_utils.studies.verdicts.compute_claims_table`.

    The claims, in order: the overall accuracy and Table 4's per-corpus accuracies
    (on the random-split run), reliability for speakers never heard (speaker split)
    and for languages never heard (each held-out-corpus run), the unseen-language
    test (``unseen``), and no difference between female and male speakers (each
    random- and speaker-split run).

    Parameters
    ----------
    runs : iterable of path-like
        Finished runs; each is recognised by its split. One on the paper's random split
        is required; the speaker-split and held-out-corpus runs are optional.
    unseen : pd.DataFrame or None
        From :func:`~fser_utils.studies.robustness.compute_unseen_table`, scored by the
        model of the random-split run of ``runs``.
    notes : dict of str -> str, or None
        How the local copy of each corpus differs from the original (a corpus with a
        note cannot test Table 4's number); default
        :func:`fser_utils.data.catalogue.get_run_data_notes` of the random-split run.
    n_boot, seed
        Of every bootstrap interval.
    paper_run : path-like or None
        A random-split run of the paper's recipe at its full budget (chapter 8's). When
        given, it alone answers the random-split claims (overall, per corpus, sex), and a
        claim it cannot answer (the unseen corpora: no stored model) says so; the
        random-split run of ``runs`` then gets rows of its own (overall, sex, unseen
        corpora), which ``budget`` labels.

    Returns
    -------
    claims : list of dict
        In the format of :func:`~fser_utils.studies.verdicts.compute_claims_table`; every
        measured claim names its run in ``evidence`` with the recipe and budget
        (:func:`~fser_utils.studies.robustness.describe_budget`) and in ``budget``
        (:func:`describe_budget_label`).
    """
    from fser_utils.data.catalogue import get_run_data_notes

    runs = {Path(r).name: r for r in runs}
    table = compute_run_table(runs, n_boot=n_boot, seed=seed).set_index("run")
    short, speaker, held_out = _pick_runs(table)
    paper = short
    if paper_run is not None:
        paper = Path(paper_run).name
        runs = {paper: paper_run, **runs}
        table = pd.concat([compute_run_table({paper: paper_run}, n_boot=n_boot,
                                             seed=seed).set_index("run"), table])
    pred, settings = load_predictions(runs[paper])
    notes = get_run_data_notes(settings) if notes is None else notes
    absent = [c for c in PAPER_CORPORA if c not in (settings.get("corpora") or [])]
    random = [paper] + ([short] if short != paper else [])
    claims = [{"claim": f"{PAPER_ACCURACY} % accuracy over 8 classes (random clip split)",
               "paper": PAPER_ACCURACY, **_interval(table.loc[name]), "run": name,
               "evidence": f"{name}; {table.loc[name, 'test_corpora']}"
                           + (f" (no {', '.join(absent)})" if absent else "")}
              for name in random]
    claims += _corpus_claims(pred, paper, notes, n_boot, seed)
    claims += _protocol_claims(table, speaker, held_out)
    claims += _unseen_claims(unseen, short, paper_run)
    for name in random + ([speaker] if speaker else []):
        claims += _sex_claim(runs[name], name, n_boot, seed)
    for claim in claims:
        name = claim.pop("run", None)
        if name is not None:
            claim["evidence"] += f" [{describe_budget(runs[name])}]"
            claim["budget"] = describe_budget_label(runs[name])
    return claims
