"""Evaluation of a trained run: the paper's Tables 2-4 and Figure 6, with bootstrap intervals.

Everything here works from a run's stored results (its settings, metrics and test
predictions, read through :class:`fser_utils.training.run.Run`), so a run can be evaluated again
without Keras and without the audio. All scores are in percent, like the paper's
tables.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.atomic import describe_os_error, write_csv_atomic, write_text_atomic
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
from fser_utils.paper import PAPER_TABLE4

__all__ = [
    "load_predictions",
    "compute_classification_report",
    "compute_confusion_matrix",
    "compute_roc_curves",
    "compute_bootstrap_ci",
    "rename_old_interval_names",
    "compute_group_accuracy",
    "compute_corpus_table",
    "describe_run",
    "format_markdown",
    "evaluate_run",
]

_CORPUS_TITLES = {"emodb": "EmoDB", "emovo": "EMOVO", "savee": "SAVEE", "ravdess": "RAVDESS",
                  "nemo": "nEMO", "urdu": "URDU", "demo": "demo"}


# --- reading a run ------------------------------------------------------------------------
def load_predictions(run_dir) -> tuple[pd.DataFrame, dict]:
    """A run's test predictions, validated, and its settings.

    Parameters
    ----------
    run_dir : path-like or Run
        A run folder written by :func:`fser_utils.training.train.train_model`.

    Returns
    -------
    predictions : pd.DataFrame [shape=(n_test, ...)]
        True ``emotion``, ``predicted`` and one ``p_<class>`` column per class of
        :data:`EMOTIONS` (see :meth:`fser_utils.training.run.Run.load_predictions`).
    settings : dict
        The run's settings with its metrics under the key ``"metrics"`` (empty dicts
        where the run has none) and the folder under ``"run_dir"``.

    Raises
    ------
    FserError
        A missing folder or predictions; predictions that lack a column, or whose rows,
        classes or probabilities do not match the run (truncated or damaged).
    """
    from fser_utils.training.run import Run

    run = Run.open(run_dir)
    pred = run.load_predictions("test")
    settings = {**run.load_settings(missing_ok=True),
                "metrics": run.load_metrics(missing_ok=True), "run_dir": str(run.path)}
    return pred, settings


def describe_run(settings: dict) -> str:
    """One line naming a run: folder, split, profile, data and sizes."""
    name = Path(settings.get("run_dir", "?")).name
    split = settings.get("split", "?")
    if settings.get("test_corpus"):
        split += f" (test corpus {settings['test_corpus']})"
    sizes = "/".join(str(settings.get(f"n_{p}", "?")) for p in ("train", "val", "test"))
    profile = settings.get("profile", "?")
    if isinstance(profile, dict):
        profile = profile.get("name", "?")
    corpora = settings.get("corpora", "?")
    if isinstance(corpora, (list, tuple)):
        corpora = ", ".join(corpora)
    return (f"run {name}: split {split}, profile {profile}, corpora {corpora}, "
            f"train/val/test {sizes} clips")


# --- Table 2 ---------------------------------------------------------------------------
def _proba(pred: pd.DataFrame, classes=EMOTIONS) -> np.ndarray:
    return pred[[f"p_{c}" for c in classes]].to_numpy(dtype=float)


def compute_classification_report(y_true, y_pred, proba=None, *,
                                  classes=EMOTIONS) -> pd.DataFrame:
    """The paper's Table 2: per-class precision, recall, F1, support and ROC AUC.

    Parameters
    ----------
    y_true, y_pred : array-like of str [shape=(n,)]
        True and predicted class names.
    proba : np.ndarray [shape=(n, len(classes))] or None
        Class probabilities, columns in the order of ``classes``; gives the AUC column.
    classes : sequence of str
        The classes, in table order.

    Returns
    -------
    report : pd.DataFrame [shape=(len(classes) + 3, 5)]
        Rows: the classes, ``accuracy``, ``macro avg``, ``weighted avg``; columns
        ``precision``, ``recall``, ``f1``, ``auc`` in percent and ``support`` in clips.
        As in the paper (and scikit-learn), the accuracy row holds the accuracy in its
        ``f1`` column. A class never predicted has precision 0; the scores of a class
        absent from ``y_true`` are NaN and left out of the averages.
    """
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    if len(y_true) != len(y_pred) or len(y_true) == 0:
        raise FserError(f"need as many predictions as true labels (got {len(y_true)}, "
                        f"{len(y_pred)}), and at least one")
    classes = list(classes)
    # a class never predicted gets precision 0 (scikit-learn's convention), so that a
    # model that ignores classes is not flattered by the macro average
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0.0)
    auc = np.full(len(classes), np.nan)
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        for i, c in enumerate(classes):
            positive = y_true == c
            if 0 < positive.sum() < len(y_true):  # AUC needs both outcomes
                auc[i] = roc_auc_score(positive, proba[:, i])
    p[s == 0] = r[s == 0] = f[s == 0] = np.nan  # undefined for a class with no test clip
    table = pd.DataFrame({"precision": 100 * p, "recall": 100 * r, "f1": 100 * f,
                          "support": s.astype(int), "auc": 100 * auc}, index=classes)
    n = len(y_true)
    rows = {"accuracy": {"precision": np.nan, "recall": np.nan,
                         "f1": 100 * float(np.mean(y_true == y_pred)), "support": n,
                         "auc": np.nan}}
    for name, weighted in (("macro avg", False), ("weighted avg", True)):
        row = {"support": n}
        for col in ("precision", "recall", "f1", "auc"):
            v = table[col].to_numpy()
            ok = ~np.isnan(v)
            w = table["support"].to_numpy()[ok] if weighted else np.ones(ok.sum())
            row[col] = float(np.average(v[ok], weights=w)) if ok.any() and w.sum() else np.nan
        rows[name] = row
    table = pd.concat([table, pd.DataFrame.from_dict(rows, orient="index")])
    table["support"] = table["support"].astype(int)
    table.index.name = "class"
    return table[["precision", "recall", "f1", "support", "auc"]]


# --- Table 3 ---------------------------------------------------------------------------
def compute_confusion_matrix(y_true, y_pred, *, classes=EMOTIONS,
                             normalize: bool = True) -> pd.DataFrame:
    """The paper's Table 3: the confusion matrix, rows true class, columns predicted.

    Parameters
    ----------
    y_true, y_pred : array-like of str [shape=(n,)]
    classes : sequence of str
    normalize : bool
        Percent of each true class (rows sum to 100; NaN for a class with no clip),
        else counts.

    Returns
    -------
    matrix : pd.DataFrame [shape=(len(classes), len(classes))]
    """
    from sklearn.metrics import confusion_matrix

    classes = list(classes)
    counts = confusion_matrix(np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object),
                              labels=classes)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(totals > 0, 100 * counts / totals, np.nan)
    else:
        values = counts
    matrix = pd.DataFrame(values, index=pd.Index(classes, name="true"),
                          columns=pd.Index(classes, name="predicted"))
    return matrix


# --- Figure 6 --------------------------------------------------------------------------
def compute_roc_curves(y_true, proba, *, classes=EMOTIONS) -> dict:
    """One-vs-rest ROC curves per class, with their micro and macro averages.

    Parameters
    ----------
    y_true : array-like of str [shape=(n,)]
    proba : np.ndarray [shape=(n, len(classes))]
    classes : sequence of str

    Returns
    -------
    curves : dict
        ``{name: {"fpr": np.ndarray, "tpr": np.ndarray, "auc": float}}`` for every
        class present in ``y_true`` (and absent from nowhere: a class that is all of
        ``y_true`` has no curve), plus ``"micro"`` (all one-vs-rest decisions pooled)
        and ``"macro"`` (the mean of the class curves on a common false-positive grid).
        AUCs are fractions in [0, 1].
    """
    from sklearn.metrics import auc, roc_curve

    y_true = np.asarray(y_true, dtype=object)
    proba = np.asarray(proba, dtype=float)
    curves = {}
    for i, c in enumerate(classes):
        positive = y_true == c
        if 0 < positive.sum() < len(y_true):
            fpr, tpr, _ = roc_curve(positive, proba[:, i])
            curves[c] = {"fpr": fpr, "tpr": tpr, "auc": float(auc(fpr, tpr))}
    if not curves:
        raise FserError("ROC curves need at least two true classes")
    onehot = np.stack([y_true == c for c in classes], axis=1)
    fpr, tpr, _ = roc_curve(onehot.ravel(), proba.ravel())
    micro = {"fpr": fpr, "tpr": tpr, "auc": float(auc(fpr, tpr))}
    grid = np.unique(np.concatenate([v["fpr"] for v in curves.values()]))
    mean_tpr = np.mean([np.interp(grid, v["fpr"], v["tpr"]) for v in curves.values()], axis=0)
    macro = {"fpr": grid, "tpr": mean_tpr, "auc": float(auc(grid, mean_tpr))}
    curves["micro"], curves["macro"] = micro, macro
    return curves


# --- bootstrap -------------------------------------------------------------------------
def _macro_f1_from_counts(counts: np.ndarray, present: np.ndarray) -> np.ndarray:
    # counts [shape=(b, k, k)]: per resample, rows true, columns predicted
    tp = np.diagonal(counts, axis1=1, axis2=2).astype(float)
    fp = counts.sum(axis=1) - tp
    fn = counts.sum(axis=2) - tp
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return f1[:, present].mean(axis=1)


def compute_bootstrap_ci(y_true, y_pred, *, metric: str = "accuracy", n_boot: int = 2000,
                         level: float = 0.95, seed: int = 0) -> dict:
    """Percentile bootstrap confidence interval of accuracy or macro F1.

    Clips are resampled with replacement ``n_boot`` times {cite}`efron1994bootstrap`;
    the interval is the central ``level`` share of the resampled scores. It reflects
    the finite test set only, not the variation between training runs.

    Parameters
    ----------
    y_true, y_pred : array-like [shape=(n,)]
    metric : {"accuracy", "macro_f1"}
        Macro F1 averages over the classes present in ``y_true``.
    n_boot : int > 0
    level : float in (0, 1)
    seed : int

    Returns
    -------
    ci : dict
        ``metric`` (its name, below ``M``), ``M`` (the score on all clips), ``M_low``,
        ``M_high`` (the interval), ``M_se`` (the standard error: the standard deviation
        of the resampled scores, NaN for ``n_boot`` = 1), all in percent, and
        ``level``, ``n_boot``, ``n``; e.g. ``accuracy``, ``accuracy_low``,
        ``accuracy_high``, ``accuracy_se``.
    """
    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    n = len(y_true)
    if n == 0 or len(y_pred) != n:
        raise FserError(f"bootstrap needs matching non-empty labels (got {n}, {len(y_pred)})")
    if not 0 < level < 1 or n_boot < 1:
        raise FserError(f"bootstrap needs 0 < level < 1 and n_boot >= 1 (got {level}, {n_boot})")
    rng = np.random.default_rng(seed)
    if metric == "accuracy":
        correct = (y_true == y_pred).astype(float)
        estimate = correct.mean()
        scores = np.empty(n_boot)
        for start in range(0, n_boot, 256):  # chunks keep memory small for large n
            idx = rng.integers(0, n, size=(min(256, n_boot - start), n))
            scores[start:start + len(idx)] = correct[idx].mean(axis=1)
    elif metric == "macro_f1":
        classes = sorted(set(y_true) | set(y_pred))
        code = {c: i for i, c in enumerate(classes)}
        k = len(classes)
        t = np.array([code[c] for c in y_true])
        p = np.array([code[c] for c in y_pred])
        present = np.isin(np.arange(k), np.unique(t))
        pair = t * k + p
        counts = np.bincount(pair, minlength=k * k).reshape(1, k, k)
        estimate = _macro_f1_from_counts(counts, present)[0]
        scores = np.empty(n_boot)
        for b in range(n_boot):
            idx = rng.integers(0, n, size=n)
            scores[b] = _macro_f1_from_counts(
                np.bincount(pair[idx], minlength=k * k).reshape(1, k, k), present)[0]
    else:
        raise FserError(f"unknown metric '{metric}'; use accuracy or macro_f1")
    alpha = (1 - level) / 2
    low, high = np.quantile(scores, [alpha, 1 - alpha])
    se = np.std(scores, ddof=1) if n_boot > 1 else np.nan
    return {"metric": metric, metric: 100 * float(estimate), f"{metric}_low": 100 * float(low),
            f"{metric}_high": 100 * float(high), f"{metric}_se": 100 * float(se),
            "level": level, "n_boot": n_boot, "n": n}


#: the interval names of results stored before every interval was ``{metric}_low``,
#: ``{metric}_high`` (arm a's ``metrics.json``, ``fser evaluate``'s tables) -> those names
OLD_INTERVAL_NAMES = {"ci_low": "accuracy_low", "ci_high": "accuracy_high"}


def rename_old_interval_names(record):
    """A stored dict or DataFrame with its old interval names (:data:`OLD_INTERVAL_NAMES`)
    renamed: stored results are read through it, never rewritten."""
    if isinstance(record, pd.DataFrame):
        return record.rename(columns=OLD_INTERVAL_NAMES)
    return {OLD_INTERVAL_NAMES.get(k, k): v for k, v in record.items()}


#: a bootstrap accuracy's value and interval: the columns of the tables of accuracies
_ACCURACY = ("accuracy", "accuracy_low", "accuracy_high")


def compute_group_accuracy(predictions: pd.DataFrame, by: str, *, n_boot: int = 2000,
                           level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Accuracy per group of test clips (corpus, sex, speaker, ...) with bootstrap intervals.

    Parameters
    ----------
    predictions : pd.DataFrame
        With columns ``emotion`` (true), ``predicted`` and ``by``.
    by : str
        Column to group on.

    Returns
    -------
    table : pd.DataFrame
        Columns ``by``, ``n``, ``correct``, ``accuracy``, ``accuracy_low``,
        ``accuracy_high`` (percent).
    """
    if by not in predictions.columns:
        raise FserError(f"predictions have no column '{by}'")
    rows = []
    for group, part in predictions.groupby(by, sort=True, observed=True):
        ci = compute_bootstrap_ci(part["emotion"], part["predicted"], n_boot=n_boot,
                                  level=level, seed=seed)
        rows.append({by: group, "n": len(part),
                     "correct": int((part["emotion"] == part["predicted"]).sum()),
                     **{k: ci[k] for k in _ACCURACY}})
    return pd.DataFrame(rows, columns=[by, "n", "correct", *_ACCURACY])


# --- Table 4 ---------------------------------------------------------------------------
def compute_corpus_table(predictions: pd.DataFrame, settings: dict | None = None, *,
                         corpora=("emodb", "emovo", "savee", "ravdess"), n_boot: int = 2000,
                         seed: int = 0, notes: dict | None = None) -> pd.DataFrame:
    """The paper's Table 4 next to our accuracy per corpus, with a protocol column.

    Parameters
    ----------
    predictions : pd.DataFrame
        A run's test predictions (columns ``corpus``, ``emotion``, ``predicted``).
    settings : dict or None
        The run's settings (see :func:`load_predictions`), to describe its protocol.
    corpora : sequence of str
        The corpora to give a row of ours; one absent from the test set gets a row
        that says so, with no number.
    notes : dict of str -> str, or None
        How the run's copy of each corpus differs from the original, added to its
        protocol; default :func:`fser_utils.data.catalogue.get_run_data_notes` of ``settings``.

    Returns
    -------
    table : pd.DataFrame
        Columns ``work``, ``corpus``, ``features``, ``accuracy``, ``accuracy_low``,
        ``accuracy_high`` (percent; NaN where not measured here), ``n`` (test clips, where
        measured) and ``protocol`` (what the number means, on which data).
    """
    if notes is None:
        from fser_utils.data.catalogue import get_run_data_notes

        notes = get_run_data_notes(settings, corpora=corpora) if settings else {}
    per = compute_group_accuracy(predictions, "corpus", n_boot=n_boot, seed=seed)
    per = per.set_index("corpus")
    rows = [{"work": w, "corpus": _CORPUS_TITLES.get(c, c), "features": f, "accuracy": a,
             "accuracy_low": np.nan, "accuracy_high": np.nan, "n": np.nan,
             "protocol": p + ("; on the original recordings (our copy differs, see below)"
                              if c in notes and c in per.index else "")}
            for w, c, f, a, p in PAPER_TABLE4]
    run = describe_run(settings) if settings else "this repository's run"
    for c in corpora:
        row = {"work": "this repository", "corpus": _CORPUS_TITLES.get(c, c),
               "features": "mel-spectrogram"}
        if c in per.index:
            g = per.loc[c]
            row.update({k: g[k] for k in _ACCURACY}, n=int(g["n"]),
                       protocol=f"{run}; accuracy on the test clips of this corpus, "
                                f"95 % bootstrap interval")
            if c in notes:
                row["protocol"] += "; " + notes[c]
        else:
            row.update(dict.fromkeys(_ACCURACY, np.nan), n=np.nan,
                       protocol="not measured: no test clip of this corpus in the run"
                                + (f" ({notes[c]})" if c in notes else ""))
        rows.append(row)
    table = pd.DataFrame(rows)
    table["n"] = table["n"].astype("Int64")
    return table


# --- output ----------------------------------------------------------------------------
def format_markdown(table: pd.DataFrame, *, floatfmt: str = ".2f", index: bool = True) -> str:
    """A pipe table in Markdown (NaN shown as an empty cell)."""
    frame = table.reset_index() if index else table

    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else format(v, floatfmt)
        if v is None or v is pd.NA:
            return ""
        return str(v).replace("|", "\\|")

    head = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _write_table(table: pd.DataFrame, folder: Path, name: str, *, index: bool = True) -> None:
    write_csv_atomic(folder / f"{name}.csv", table, index=index, float_format="%.4f")
    write_text_atomic(folder / f"{name}.md", format_markdown(table, index=index))


def evaluate_run(run_dir, *, out=None, n_boot: int = 2000, seed: int = 0) -> dict:
    """Compute every table of the paper's results for one run and save them.

    Figures are drawn from the results by
    :func:`fser_utils.plotting.save_evaluation_figures` (``fser evaluate`` does both):
    computing never imports the drawing code.

    Parameters
    ----------
    run_dir : path-like
        A finished run folder.
    out : path-like or None
        Output folder; default ``run_dir / "evaluation"``.
    n_boot : int > 0
        Bootstrap resamples for the intervals.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    results : dict
        ``report`` (Table 2), ``confusion`` (Table 3, percent), ``counts`` (Table 3 as
        counts), ``curves`` (Figure 6), ``per_corpus`` (Table 4), ``per_sex``,
        ``bootstrap`` (:func:`compute_bootstrap_ci` by metric), ``settings``, ``out``.
        Written to ``out``: ``report``, ``confusion``, ``per_corpus``, ``per_sex`` as
        ``.csv`` and ``.md``; ``bootstrap.json``. Each
        file is written whole under a temporary name and renamed over the old one, so
        an interruption leaves the previous file or the new one; a folder that cannot be
        written or a full disk is one :class:`FserError` line naming the file.
    """
    from fser_utils.training.run import Run

    pred, settings = load_predictions(run_dir)
    out = Path(out) if out is not None else Run(run_dir).evaluation_dir
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FserError(describe_os_error(exc, out, "create")) from None
    y_true, y_pred, proba = pred["emotion"], pred["predicted"], _proba(pred)

    report = compute_classification_report(y_true, y_pred, proba)
    confusion = compute_confusion_matrix(y_true, y_pred)
    counts = compute_confusion_matrix(y_true, y_pred, normalize=False)
    boot = {m: compute_bootstrap_ci(y_true, y_pred, metric=m, n_boot=n_boot, seed=seed)
            for m in ("accuracy", "macro_f1")}
    per_corpus = compute_corpus_table(pred, settings, n_boot=n_boot, seed=seed)
    per_sex = compute_group_accuracy(pred, "sex", n_boot=n_boot, seed=seed)
    curves = compute_roc_curves(y_true, proba) if y_true.nunique() > 1 else {}

    _write_table(report, out, "report")
    _write_table(confusion, out, "confusion")
    _write_table(per_corpus, out, "per_corpus", index=False)
    _write_table(per_sex, out, "per_sex", index=False)
    roc_auc = {k: v["auc"] for k, v in curves.items()}
    write_text_atomic(out / "bootstrap.json", json.dumps(
        {"run": describe_run(settings), **boot, "roc_auc": roc_auc}, indent=2))
    return {"report": report, "confusion": confusion, "counts": counts, "curves": curves,
            "per_corpus": per_corpus, "per_sex": per_sex, "bootstrap": boot,
            "settings": settings, "out": out}
