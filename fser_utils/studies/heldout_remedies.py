"""What the literature's remedies for an unseen language give, measured on held-out corpora.

A recognizer trained on some corpora is much worse on a corpus (a language, a studio, a
set of actors) it never heard. The cross-corpus literature proposes a handful of
remedies: train on more languages, normalise the features per corpus, per speaker or per
recording, sample the corpora evenly, perturb pitch and tempo, combine models of
different kinds. Each remedy here is a pair of stored run sets that differ in that one
respect, both left one corpus out of training in turn (the ``corpus`` split; a fusion
averages the probabilities of two sets, :func:`fuse_predictions`).
:func:`compute_remedy_table` scores both on the held-out corpora's own classes (as the
model card does, :mod:`fser_utils.studies.model_card`) and gives the change with a paired
bootstrap interval.

Pairs are compared on the runs both sets have (the same held-out corpus and seed), so
that a remedy run with one seed is not set against a baseline averaged over three. What
a remedy needs at scoring time matters as much as its gain: per-speaker and per-corpus
normalisation need a batch of unlabelled clips from the same speaker or setting, so they
cannot score one clip alone.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.errors import FserError
from fser_utils.studies.model_card import load_heldout_predictions

__all__ = ["Remedy", "REMEDIES", "REMEDY_FOLDERS", "find_heldout_runs", "fuse_predictions",
           "compute_paired_difference", "compute_remedy_table", "compute_language_summary",
           "select_best_remedies"]


@dataclasses.dataclass(frozen=True)
class Remedy:
    """One remedy, as two sets of leave-one-corpus-out runs that differ in it alone.

    Runs are found by their settings: ``(model, profile, epochs, n_corpora)``, where
    ``n_corpora`` counts the corpora of the catalogue (the held-out one included).
    """

    name: str
    needs: str  # what scoring needs: "one clip", or the batch the statistics come from
    runs: tuple
    baseline: tuple
    balance_corpora: bool = False  # the remedy runs' profile setting (else as baseline)
    text: str = ""  # the remedy in words, for prose
    fuse_with: tuple = ()  # runs whose probabilities are averaged with ``runs``' (a fusion)


#: the folders of ``results/`` that hold the runs of :data:`REMEDIES`
REMEDY_FOLDERS = ("beyond", "beyond_longer", "heldout", "shipped")

_RECIPE = ("logmel-cnn-warp", "recognizer", 120, 3)
_RECIPE5 = ("logmel-cnn-warp", "recognizer", 120, 5)
_CLIP5 = ("logmel-cnn-clip", "recognizer", 120, 5)
_SVM = ("svm-egemaps", "fit-once", 1, 5)

#: the remedies the book reports, with the runs that measure each: first those that score
#: one clip alone, then those that need a batch of clips; "CNN" is the recognizer's network
#: and recipe on the paper's three corpora (per speaker: the plain log-mel CNN at 40
#: epochs, three seeds, as chapter 9 ran it), "SVM" the eGeMAPS SVM
REMEDIES = (
    Remedy("frequency warping (VTLP), CNN", "one clip", _RECIPE,
           ("logmel-cnn", "budget", 120, 3),
           text="stretching the mel axis at random in training, which moves pitch and "
                "formants together, as the recognizer's recipe does"),
    Remedy("tempo perturbation, CNN", "one clip", ("logmel-cnn-warp", "recognizer-tempo", 120, 3),
           _RECIPE, text="making the speech up to 10 % faster or slower at random in "
                         "training, at the same pitch"),
    Remedy("per-recording norm., CNN", "one clip", ("logmel-cnn-clip", "recognizer", 120, 3),
           _RECIPE, text="standardising each recording over its own frames"),
    Remedy("balanced corpora, CNN", "one clip", _RECIPE, _RECIPE, balance_corpora=True,
           text="drawing the training corpora evenly with the log-mel CNN"),
    Remedy("balanced corpora, SVM, 5 corpora", "one clip", _SVM, _SVM, balance_corpora=True,
           text="weighing the training corpora evenly with the eGeMAPS SVM"),
    Remedy("five corpora, not three, CNN", "one clip", _RECIPE5,
           _RECIPE, text="training on five corpora instead of three"),
    Remedy("CNN + SVM averaged, 5 corpora", "one clip", _RECIPE5, _RECIPE5, fuse_with=_SVM,
           text="averaging the five-corpus CNN's probabilities with the eGeMAPS SVM's"),
    Remedy("per-recording norm., CNN, 5 corpora", "one clip", _CLIP5, _RECIPE5,
           text="standardising each recording over its own frames, on five corpora"),
    Remedy("per-recording CNN + SVM, 5 corpora", "one clip", _CLIP5, _RECIPE5,
           fuse_with=_SVM, text="standardising each recording over its own frames and "
                                "averaging the CNN's probabilities with the eGeMAPS SVM's, "
                                "on five corpora"),
    Remedy("per-corpus norm., CNN", "clips of the corpus",
           ("logmel-cnn-warp-corpus", "recognizer", 120, 3), _RECIPE,
           text="standardising the features over each corpus's clips with the log-mel CNN"),
    Remedy("per-corpus norm., SVM, 5 corpora", "clips of the corpus",
           ("svm-egemaps-corpus", "fit-once", 1, 5), _SVM,
           text="standardising the features over each corpus's clips with the eGeMAPS SVM"),
    Remedy("per-speaker norm., CNN, 40 epochs", "clips of the speaker",
           ("logmel-cnn-spk", "budget", 40, 3), ("logmel-cnn", "budget", 40, 3),
           text="standardising the features over each speaker's clips with the log-mel CNN "
                "at 40 epochs"),
    Remedy("per-speaker norm., SVM", "clips of the speaker",
           ("svm-egemaps-spk", "fit-once", 1, 3), ("svm-egemaps", "fit-once", 1, 3),
           text="standardising the features over each speaker's clips with the eGeMAPS SVM"),
)


def _signature(settings: dict) -> tuple:
    p = settings.get("profile_settings", {})
    return ((settings.get("model") or {}).get("name"), settings.get("profile"),
            p.get("epochs"), len(settings.get("corpora", [])), bool(p.get("balance_corpora")))


def find_heldout_runs(folders) -> dict:
    """Every stored leave-one-corpus-out run under some folders, by what it was.

    Parameters
    ----------
    folders : iterable of path-like
        Folders of run folders (e.g. ``results/beyond``, ``results/heldout``).

    Returns
    -------
    runs : dict
        ``(model, profile, epochs, n_corpora, balance_corpora)`` to a sorted list of
        run folders of the ``corpus`` split.
    """
    from fser_utils.training.run import Run

    runs = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*/")):
            settings = Run(path).load_settings(missing_ok=True)
            if settings.get("split") == "corpus":
                runs.setdefault(_signature(settings), []).append(path)
    return runs


def fuse_predictions(*preds: pd.DataFrame, label: str) -> pd.DataFrame:
    """Late fusion: the class probabilities of several run sets, averaged clip by clip.

    Parameters
    ----------
    *preds : pd.DataFrame
        :func:`fser_utils.studies.model_card.load_heldout_predictions` of each set.
    label : str
        What the fusion is (the ``recipe`` column).

    Returns
    -------
    pred : pd.DataFrame
        The same columns, for the (held-out corpus, seed, clip) that every set has, with
        the averaged ``p_<class>`` and the ``predicted`` and ``predicted_own`` classes
        they give.

    Raises
    ------
    FserError
        The sets share no clip of a held-out corpus with the same seed.
    """
    from fser_utils.data.corpora import EMOTIONS
    from fser_utils.studies.model_card import compute_own_class_predictions

    keys, columns = ["heldout", "seed", "relpath"], [f"p_{c}" for c in EMOTIONS]
    tables = [p.set_index(keys) for p in preds]
    shared = tables[0].index
    for table in tables[1:]:
        shared = shared.intersection(table.index)
    if shared.empty:
        raise FserError(f"'{label}': the run sets share no clip with the same held-out "
                        "corpus and seed: nothing to fuse")
    out = tables[0].loc[shared].copy()
    proba = np.mean([t.loc[shared, columns].to_numpy(float) for t in tables], axis=0)
    out[columns] = proba
    out["predicted"] = np.asarray(EMOTIONS, dtype=object)[proba.argmax(axis=1)]
    out = out.assign(recipe=label).reset_index()
    return out.assign(predicted_own=compute_own_class_predictions(out))


def _per_clip(pred: pd.DataFrame) -> pd.Series:
    """Own-class correctness per (held-out corpus, clip), averaged over seeds."""
    right = (pred["emotion"] == pred["predicted_own"]).astype(float)
    return right.groupby([pred["heldout"], pred["relpath"]]).mean()


def compute_paired_difference(baseline: pd.DataFrame, remedy: pd.DataFrame, *,
                              n_boot: int = 2000, seed: int = 0) -> dict:
    """Mean held-out-corpus accuracy of two run sets and their difference, paired by clip.

    Parameters
    ----------
    baseline, remedy : pd.DataFrame
        :func:`fser_utils.studies.model_card.load_heldout_predictions` of each set. Only
        the runs of a held-out corpus and seed that both sets have are compared.
    n_boot : int > 0
    seed : int

    Returns
    -------
    result : dict
        ``baseline``, ``remedy`` (mean over held-out corpora of the accuracy on each
        corpus's own classes, %), ``difference`` (remedy minus baseline, points) with
        ``difference_low`` and ``difference_high`` (95 % interval: clips resampled within
        each corpus, the same draw for both sets), ``corpora`` and ``seeds``.

    Raises
    ------
    FserError
        The sets share no run (held-out corpus and seed), or their shared runs hold
        other clips.
    """
    def runs(pred):
        return pd.MultiIndex.from_frame(pred[["heldout", "seed"]])

    shared = runs(baseline).unique().intersection(runs(remedy).unique())
    if shared.empty:
        raise FserError("the two run sets share no held-out corpus with the same seed: "
                        "nothing to pair")
    # only the (held-out corpus, seed) runs both sets have, so that seeds pair up too
    a = _per_clip(baseline[runs(baseline).isin(shared)])
    b = _per_clip(remedy[runs(remedy).isin(shared)])
    seeds = sorted(set(shared.get_level_values("seed")))
    if not a.index.equals(b.index):
        raise FserError("the two run sets were tested on different corpora or clips")
    rng = np.random.default_rng(seed)
    corpora = sorted(a.index.get_level_values(0).unique())
    diff = np.zeros(n_boot)
    for corpus in corpora:
        x, y = a.loc[corpus].to_numpy(), b.loc[corpus].to_numpy()
        idx = rng.integers(0, len(x), size=(n_boot, len(x)))
        diff += (y[idx] - x[idx]).mean(axis=1)
    diff *= 100 / len(corpora)
    low, high = np.quantile(diff, [0.025, 0.975])
    mean_a = 100 * a.groupby(level=0).mean().mean()
    mean_b = 100 * b.groupby(level=0).mean().mean()
    return {"baseline": float(mean_a), "remedy": float(mean_b),
            "difference": float(mean_b - mean_a), "difference_low": float(low),
            "difference_high": float(high), "corpora": corpora, "seeds": [int(s) for s in seeds]}


def compute_remedy_table(folders, *, remedies=REMEDIES, n_boot: int = 2000,
                         seed: int = 0) -> pd.DataFrame:
    """Each remedy's effect on held-out corpora, from the stored runs that measure it.

    Parameters
    ----------
    folders : iterable of path-like
        Where to look for the runs (:func:`find_heldout_runs`).
    remedies : sequence of Remedy

    Returns
    -------
    table : pd.DataFrame
        One row per remedy whose runs are all there: ``remedy`` (a short name),
        ``text`` (the remedy in words), ``needs``, ``model``
        (of the remedy runs), ``corpora`` (in the catalogue), ``seeds`` (compared),
        ``baseline``, ``with remedy``, ``change`` and its interval ``change_low``,
        ``change_high`` (points), ``folds`` (held-out corpora); the remedies without runs
        are listed in ``table.attrs["missing"]``.
    """
    found = find_heldout_runs(folders)
    rows, missing = [], []
    for remedy in remedies:
        runs = found.get((*remedy.runs, remedy.balance_corpora), [])
        base = found.get((*remedy.baseline, False), [])
        fused = found.get((*remedy.fuse_with, False), []) if remedy.fuse_with else None
        if not runs or not base or fused == []:
            missing.append(remedy.name)
            continue
        pred = load_heldout_predictions(runs, label=remedy.name)
        if fused:
            pred = fuse_predictions(pred, load_heldout_predictions(fused, label="fused"),
                                    label=remedy.name)
        r = compute_paired_difference(load_heldout_predictions(base, label="baseline"), pred,
                                      n_boot=n_boot, seed=seed)
        model = " + ".join([remedy.runs[0]] + ([remedy.fuse_with[0]] if fused else []))
        rows.append({"remedy": remedy.name, "text": remedy.text or remedy.name,
                     "needs": remedy.needs, "model": model,
                     "corpora": remedy.runs[3], "seeds": ", ".join(map(str, r["seeds"])),
                     "folds": len(r["corpora"]), "baseline": r["baseline"],
                     "with remedy": r["remedy"], "change": r["difference"],
                     "change_low": r["difference_low"], "change_high": r["difference_high"]})
    table = pd.DataFrame(rows)
    table.attrs["missing"] = missing
    return table


def compute_language_summary(*, n_boot: int = 2000, seed: int = 0) -> dict:
    """What the stored results say about a language never heard, for the findings page.

    Returns
    -------
    summary : dict
        ``heldout``: the shipped recipe's mean accuracy over the five held-out corpora
        (:func:`fser_utils.studies.model_card.compute_mean_heldout_accuracy`), with
        ``target`` [%]; ``best``: the row of :func:`compute_remedy_table` with the
        largest change, and ``best_single``: the same among remedies that score one clip.
    """
    from fser_utils.config import get_stored_path
    from fser_utils.studies.model_card import compute_mean_heldout_accuracy, find_card_runs

    results = get_stored_path("results")
    five = load_heldout_predictions(find_card_runs(results)["five"], label="five corpora")
    table = compute_remedy_table([results / d for d in REMEDY_FOLDERS], n_boot=n_boot, seed=seed)
    best, best_single = select_best_remedies(table)
    return {"heldout": compute_mean_heldout_accuracy(five, n_boot=n_boot, seed=seed),
            "best": best, "best_single": best_single}


def select_best_remedies(table: pd.DataFrame) -> tuple[dict, dict]:
    """The rows of :func:`compute_remedy_table` with the largest change: over all remedies,
    and over those that score a single clip (``needs == "one clip"``), as dicts."""
    single = table[table["needs"] == "one clip"]
    return (table.loc[table["change"].idxmax()].to_dict(),
            single.loc[single["change"].idxmax()].to_dict())
