"""Models side by side: one table and one figure over runs of the same splits and seeds.

Every run of a comparison is an ordinary run folder (:func:`fser_utils.training.train.train_model`).
Runs are grouped by model and protocol (split, and the held-out corpus for
leave-one-corpus-out); each group's seeds are averaged.

Intervals. A group's 95 % interval combines the two sources of doubt: the finite test
set (each run's bootstrap standard error) and the spread between seeds (the seeds'
standard deviation), as ``mean +- 1.96 * sqrt(sd_seeds**2 / k + mean(se_run**2) / k)``
for ``k`` seeds. With a single seed it is the test-set interval alone.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fser_utils.data.corpora import EMOTIONS
from fser_utils.studies.evaluate import compute_bootstrap_ci
from fser_utils.paper import PAPER_ACCURACY, PAPER_RECIPE

__all__ = ["ANCHORS", "get_results_dir", "compute_comparison_runs", "compute_ensemble_runs",
           "compute_ensemble_predictions",
           "compute_comparison_table", "compute_shared_cells", "compute_ensemble_selection",
           "TARGETS", "compute_target_verdict"]

#: published results drawn on the comparison figure
#: (:func:`fser_utils.plotting.plot_comparison`), each with its protocol. The FSER
#: paper's number comes from :mod:`fser_utils.paper`; the others are other publications'
#: results, not claims of the paper, so they live here.
ANCHORS = (
    {"label": "FSER paper (claimed)", "accuracy": PAPER_ACCURACY, "short": "FSER paper",
     "protocol": f"random split, 4 corpora incl. SAVEE, {PAPER_RECIPE['epochs']} epochs"},
    {"label": "TIM-Net, RAVDESS", "accuracy": 90.07, "short": "TIM-Net RAVDESS",
     "protocol": "random 10-fold, one corpus, test-set selection removed"},
    {"label": "TIM-Net, EmoDB", "accuracy": 90.28, "short": "TIM-Net EmoDB",
     "protocol": "random 10-fold, one corpus, test-set selection removed"},
    {"label": "EmoBox, RAVDESS, Whisper-large-v3", "accuracy": 75.9, "short": "EmoBox Whisper",
     "protocol": "speakers held out, frozen pretrained encoder"},
    {"label": "EmoBox, RAVDESS, small from scratch", "accuracy": 65.0, "short": "EmoBox small",
     "protocol": "speakers held out, UAR"},
)


#: the targets that chapter 9's issue set: test accuracy [%] on each protocol, for a model
#: trained from scratch here within 30 minutes of the 2-core CPU
TARGETS = {"paper": 90.0, "speaker": 70.0}


def compute_target_verdict(low: float, high: float, target: float) -> str:
    """Whether a 95 % interval ``[low, high]`` [%] meets ``target`` [%].

    ``"met"`` when the whole interval lies at or above the target, ``"not met"`` when it
    lies below, else ``"undecided (interval spans it)"``.
    """
    if low >= target:
        return "met"
    return "not met" if high < target else "undecided (interval spans it)"


def get_results_dir(*, gpu: bool = False, longer: bool = False) -> "Path":
    """Where the comparison's stored runs live in the repository (chapter 9).

    ``results/beyond`` holds every model's runs with its own recipe on this book's CPU;
    ``results/beyond_gpu`` (``gpu=True``) the runs trained for more epochs on a lent GPU;
    ``results/beyond_longer`` (``longer=True``) those trained for more epochs on the CPU.
    """
    from fser_utils.config import REPO_ROOT

    if gpu and longer:
        raise ValueError("gpu and longer name different folders: ask for one")
    return REPO_ROOT / "results" / ("beyond_gpu" if gpu else "beyond_longer" if longer
                                    else "beyond")


def compute_comparison_runs(run_dirs, *, n_boot: int = 1000) -> pd.DataFrame:
    """One row per run: model, protocol, seed, accuracy and macro F1 with standard errors,
    and the epochs and hardware it was trained with.

    Parameters
    ----------
    run_dirs : iterable of path-like
        Finished run folders.
    n_boot : int > 0
        Bootstrap resamples for each run's standard errors.

    Returns
    -------
    runs : pd.DataFrame
        Columns ``model``, ``protocol``, ``seed``, ``run`` (folder), ``accuracy``,
        ``accuracy_se``, ``macro_f1``, ``macro_f1_se`` [%] on the test clips (the standard
        error is the standard deviation of the bootstrap's resampled scores,
        :func:`~fser_utils.studies.evaluate.compute_bootstrap_ci`), ``val_accuracy`` [%],
        ``n_test``, ``params``, ``train_minutes``, ``scoring_ms``, ``epochs``, ``hardware``.
    """
    from fser_utils.training.run import Run

    rows = []
    for run_dir in run_dirs:
        run = Run.open(run_dir, finished=True)
        s, m, pred = run.load_settings(), run.load_metrics(), run.load_predictions("test")
        protocol = s["split"] + (f"-{s['test_corpus']}" if s.get("test_corpus") else "")
        row = _run_row(run.model_name, protocol, s["seed"], str(run.path), pred, n_boot)
        row.update(val_accuracy=100 * m["val_accuracy"], n_test=m["n_test"],
                   params=m.get("n_params"), train_minutes=m["train_seconds"] / 60,
                   scoring_ms=m.get("scoring_ms_per_clip"),
                   epochs=s["profile_settings"]["epochs"], hardware=s["hardware"])
        rows.append(row)
    return pd.DataFrame(rows)


def _run_row(model, protocol, seed, run, pred, n_boot):
    row = {"model": model, "protocol": protocol, "seed": seed, "run": run}
    for metric in ("accuracy", "macro_f1"):
        ci = compute_bootstrap_ci(pred["emotion"], pred["predicted"], metric=metric,
                                  n_boot=n_boot)
        row.update({k: ci[k] for k in (metric, f"{metric}_se")})
    return row


def _load_aligned_probabilities(run_paths, part: str):
    """The first run's prediction table and every run's class probabilities on ``part``,
    all in the first run's clip order (runs of one split hold the same clips)."""
    from fser_utils.training.run import Run

    preds = [Run(path).load_predictions(part).set_index("relpath") for path in run_paths]
    order = preds[0].index
    cols = [f"p_{e}" for e in EMOTIONS]
    return preds[0].reset_index(), [p.loc[order, cols].to_numpy() for p in preds]


def _most_probable(proba: np.ndarray) -> np.ndarray:
    """Class names of the highest probability in each row of ``proba``."""
    return np.asarray(EMOTIONS)[proba.argmax(axis=1)]


def compute_ensemble_predictions(run_paths, part: str = "test") -> pd.DataFrame:
    """One ensemble's predictions on ``part``: the members' class probabilities averaged.

    Parameters
    ----------
    run_paths : sequence of path-like
        The members' run folders, all of one split (so the same clips).
    part : {"test", "val"}

    Returns
    -------
    predictions : pd.DataFrame
        The first run's prediction table (``relpath``, ``corpus``, ``speaker``, ...,
        ``emotion``) with ``predicted`` and the ``p_*`` columns of the average.
    """
    first, proba = _load_aligned_probabilities(run_paths, part)
    mean = np.mean(proba, axis=0)
    first[[f"p_{e}" for e in EMOTIONS]] = mean
    first["predicted"] = _most_probable(mean)
    return first


def compute_ensemble_runs(runs: pd.DataFrame, members, *, name: str = "ensemble",
                          n_boot: int = 1000) -> pd.DataFrame:
    """Rows for an ensemble that averages the members' class probabilities.

    For every protocol and seed where all ``members`` have a run (same split, so the
    same test clips), the ensemble predicts the class of highest mean probability. Its
    parameters, training time and scoring time are the members' sums. Nothing is
    tuned: the members and the plain average are fixed in advance.

    Parameters
    ----------
    runs : pd.DataFrame
        From :func:`compute_comparison_runs`.
    members : sequence of str
        Model names.

    Returns
    -------
    rows : pd.DataFrame
        In the format of :func:`compute_comparison_runs`; empty if no protocol and seed
        has all members.
    """
    rows = []
    for (protocol, seed), g in runs.groupby(["protocol", "seed"], sort=False):
        g = g.set_index("model")
        if not set(members) <= set(g.index):
            continue
        paths = [g.loc[m, "run"] for m in members]
        pred = compute_ensemble_predictions(paths, "test")
        val = compute_ensemble_predictions(paths, "val")
        val_hits = val["predicted"].to_numpy() == val["emotion"].to_numpy()
        row = _run_row(name, protocol, seed, "+".join(paths), pred, n_boot)
        row.update(val_accuracy=100 * float(val_hits.mean()), n_test=len(pred),
                   params=int(g.loc[list(members), "params"].sum()),
                   train_minutes=float(g.loc[list(members), "train_minutes"].sum()),
                   scoring_ms=float(g.loc[list(members), "scoring_ms"].sum()))
        rows.append(row)
    return pd.DataFrame(rows, columns=runs.columns)


def compute_shared_cells(runs: pd.DataFrame, models) -> list[tuple]:
    """The (protocol, seed) cells in which every one of ``models`` has a run.

    Parameters
    ----------
    runs : pd.DataFrame
        From :func:`compute_comparison_runs`.
    models : iterable of str
        Model names (all of them must have a run in a cell for it to count).
    """
    models = set(models)
    return [cell for cell, g in runs.groupby(["protocol", "seed"]) if models <= set(g["model"])]


def compute_ensemble_selection(runs: pd.DataFrame, candidates, *,
                               max_minutes: float | None = None) -> list[str]:
    """Ensemble members chosen by greedy forward selection on validation accuracy.

    Start from no member; at each step add the candidate whose addition gives the
    highest validation accuracy of the averaged class probabilities; stop when no
    addition (within ``max_minutes``, if given) raises it (forward ensemble selection,
    without replacement). Accuracy is the mean over the (protocol, seed) cells in which
    *every* candidate has a run, so that all member sets are scored on the same clips.
    Test predictions are never read.

    Parameters
    ----------
    runs : pd.DataFrame
        From :func:`compute_comparison_runs`.
    candidates : iterable of str
        Model names; those without runs are ignored.
    max_minutes : float > 0 [min], optional
        A training budget for the whole ensemble: a candidate is only tried while the
        members' minutes, summed, stay within it. A model's minutes are the largest,
        over the protocols, of the median of ``train_minutes`` over its seeds.

    Returns
    -------
    members : list of str
        In the order they were added (the first is the best single model there).

    Raises
    ------
    FserError
        No (protocol, seed) cell holds a run of every candidate with runs.
    """
    from fser_utils.errors import FserError

    candidates = [m for m in dict.fromkeys(candidates) if m in set(runs["model"])]
    shared = set(compute_shared_cells(runs, candidates))
    cells = [g.set_index("model")["run"] for cell, g in runs.groupby(["protocol", "seed"])
             if cell in shared]
    if not candidates or not cells:
        raise FserError(f"no protocol and seed has runs of every candidate "
                        f"({', '.join(candidates) or 'none'})")
    proba, truth = [], []
    for cell in cells:
        val, probs = _load_aligned_probabilities([cell[m] for m in candidates], "val")
        proba.append(dict(zip(candidates, probs)))
        truth.append(val["emotion"].to_numpy())

    def score(members):  # mean over cells of the averaged probabilities' accuracy
        hits = [(_most_probable(np.mean([p[m] for m in members], axis=0)) == t).mean()
                for p, t in zip(proba, truth)]
        return float(np.mean(hits))

    cost = None if max_minutes is None else (
        runs.groupby(["model", "protocol"])["train_minutes"].median().groupby(level="model").max())

    def affordable(members):  # within the training budget, if there is one
        return cost is None or sum(cost[m] for m in members) <= max_minutes

    members, best = [], -1.0
    while len(members) < len(candidates):
        trial = {m: score(members + [m]) for m in candidates
                 if m not in members and affordable(members + [m])}
        if not trial:
            break
        pick = max(trial, key=trial.get)
        if trial[pick] <= best:
            break
        members.append(pick)
        best = trial[pick]
    return members


def compute_comparison_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Average the seeds of each model and protocol (see the module docstring).

    Parameters
    ----------
    runs : pd.DataFrame
        From :func:`compute_comparison_runs`.

    Returns
    -------
    table : pd.DataFrame
        Index (model, protocol); columns ``seeds``, ``accuracy``, ``accuracy_low``,
        ``accuracy_high``, ``macro_f1``, ``macro_f1_low``, ``macro_f1_high``,
        ``val_accuracy``, ``params``, ``train_minutes`` and ``scoring_ms`` (medians).
    """
    out = {}
    for key, g in runs.groupby(["model", "protocol"], sort=False):
        k = len(g)
        row = {"seeds": k}
        for metric in ("accuracy", "macro_f1"):
            mean = g[metric].mean()
            between = g[metric].std(ddof=1) if k > 1 else 0.0
            half = 1.96 * np.sqrt(between ** 2 / k + (g[f"{metric}_se"] ** 2).mean() / k)
            row.update({metric: mean, f"{metric}_low": mean - half,
                        f"{metric}_high": mean + half})
        row.update(val_accuracy=g["val_accuracy"].mean(), params=g["params"].iloc[0],
                   train_minutes=g["train_minutes"].median(),
                   scoring_ms=g["scoring_ms"].median())
        out[key] = row
    table = pd.DataFrame.from_dict(out, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["model", "protocol"])
    return table


def export_comparison_runs(runs_dir=None, dest=None) -> list:
    """Copy the small files of every finished run under ``runs_dir`` into ``dest``.

    Returns the exported folders. Defaults: :func:`fser_utils.config.get_runs_dir` and
    :func:`get_results_dir`.
    """
    from pathlib import Path

    from fser_utils.training.run_names import list_runs

    dest = Path(dest) if dest is not None else get_results_dir()
    return [run.export(dest / run.name).path
            for run in list_runs(runs_dir, finished=True)]


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--export"]:
        for folder in export_comparison_runs():
            print(folder)
