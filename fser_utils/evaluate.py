"""Evaluation of a trained run: the paper's Tables 2-4 and Figure 6, with bootstrap intervals.

Everything here works from the files of a run folder (``settings.json``,
``metrics.json``, ``test_predictions.csv``), so a run can be evaluated again
without Keras and without the audio. All scores are in percent, like the paper's
tables.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .corpora import EMOTIONS
from .errors import FserError

__all__ = [
    "PAPER_ACCURACY",
    "PAPER_N_CLIPS",
    "PAPER_N_TEST",
    "PAPER_TABLE2",
    "PAPER_TABLE3",
    "PAPER_TABLE4",
    "PAPER_UNSEEN",
    "EMODB_NOTE",
    "load_predictions",
    "compute_classification_report",
    "compute_confusion_matrix",
    "compute_roc_curves",
    "compute_bootstrap_ci",
    "compute_group_accuracy",
    "compute_corpus_table",
    "describe_run",
    "plot_confusion_matrix",
    "plot_roc_curves",
    "plot_group_accuracy",
    "format_markdown",
    "evaluate_run",
]

# --- the paper's reference numbers {cite}`dossou2021fser` ------------------------------
#: overall test accuracy [%] (abstract and Table 2), over 8 classes
PAPER_ACCURACY = 95.05
#: clips of the four corpora (Table 1) and of the random 20 % test split (Section 3)
PAPER_N_CLIPS = 3043
PAPER_N_TEST = 609

#: Table 2 of the paper: precision, recall, F1 [%], support [clips], one-vs-rest AUC [%]
PAPER_TABLE2 = pd.DataFrame(
    [[96, 96, 96, 91, 99.84], [94, 97, 95, 80, 99.85], [93, 97, 95, 54, 99.92],
     [97, 92, 94, 77, 99.72], [95, 93, 94, 83, 99.75], [94, 94, 94, 77, 99.74],
     [95, 94, 94, 78, 99.76], [94, 95, 94, 69, 99.82],
     [np.nan, np.nan, 95, 609, np.nan],
     [95, 95, 95, 609, 99.79], [95, 95, 95, 609, 99.79]],
    index=list(EMOTIONS) + ["accuracy", "macro avg", "weighted avg"],
    columns=["precision", "recall", "f1", "support", "auc"])

#: Table 3 of the paper: normalized confusion matrix [% of each true class]
PAPER_TABLE3 = pd.DataFrame(
    [[96.92, 0.31, 0.16, 0.42, 1.15, 0.42, 0.37, 0.26],
     [0.53, 95.46, 0.47, 0.29, 1.12, 0.53, 0.94, 0.65],
     [0.00, 0.18, 96.59, 0.00, 0.18, 1.97, 0.81, 0.27],
     [0.88, 1.19, 1.00, 91.49, 0.56, 2.06, 1.44, 1.38],
     [1.72, 0.98, 0.40, 0.40, 93.16, 1.03, 0.86, 1.44],
     [0.37, 0.50, 1.43, 0.50, 0.50, 95.45, 1.06, 0.19],
     [0.41, 0.94, 1.00, 0.35, 0.23, 0.59, 95.84, 0.64],
     [0.43, 1.58, 0.14, 0.50, 0.65, 0.14, 1.08, 95.46]],
    index=list(EMOTIONS), columns=list(EMOTIONS))

#: Table 4 of the paper: accuracy [%] per corpus, FSER's and the related works' it quotes.
#: The paper's text gives 97.44 for EmoDB and 95.53 for Zhao et al.; the table's values
#: are kept here.
PAPER_TABLE4 = [
    # work, corpus, features, accuracy [%], protocol and data
    ("Qayyum et al. (as quoted by the paper)", "savee", "MFCC", 83.61,
     "that work's own split of SAVEE; not re-measured here"),
    ("Kannan & Haresh (as quoted by the paper)", "ravdess", "mel-spectrogram", 86.0,
     "that work's own split of RAVDESS; not re-measured here"),
    ("Kannan & Haresh (as quoted by the paper)", "ravdess", "MFCC", 53.0,
     "that work's own split of RAVDESS; not re-measured here"),
    ("Zhao et al. (as quoted by the paper)", "emodb", "mel-spectrogram", 95.33,
     "that work's own split of EmoDB; not re-measured here"),
    ("FSER paper", "emodb", "mel-spectrogram", 97.74,
     "paper: one model on 4 corpora (3043 clips, 48 kHz), random clip split; "
     "how the per-corpus number was computed is not stated"),
    ("FSER paper", "savee", "mel-spectrogram", 99.10,
     "paper: one model on 4 corpora (3043 clips, 48 kHz), random clip split; "
     "how the per-corpus number was computed is not stated"),
    ("FSER paper", "ravdess", "mel-spectrogram", 98.67,
     "paper: one model on 4 corpora (3043 clips, 48 kHz), random clip split; "
     "how the per-corpus number was computed is not stated"),
]

#: the paper's own unseen-language test (Section 4.2): correct clips, total clips
#: (French, Fon and Igbo speakers, 3 clips per class); the clips are not published
PAPER_UNSEEN = (20, 24)

EMODB_NOTE = ("our EmoDB copy was resampled to 22.05 kHz and cut or zero-padded to 2.0 s: "
              "not comparable with published EmoDB numbers")

_CORPUS_TITLES = {"emodb": "EmoDB", "emovo": "EMOVO", "savee": "SAVEE", "ravdess": "RAVDESS",
                  "nemo": "nEMO", "urdu": "URDU", "demo": "demo"}
_PRED_COLUMNS = ["relpath", "corpus", "speaker", "sex", "emotion", "predicted"]


# --- reading a run ------------------------------------------------------------------------
def load_predictions(run_dir) -> tuple[pd.DataFrame, dict]:
    """Read a run folder's test predictions and settings, checking their columns.

    Parameters
    ----------
    run_dir : path-like
        A run folder written by :func:`fser_utils.train.train_model`.

    Returns
    -------
    predictions : pd.DataFrame [shape=(n_test, ...)]
        ``test_predictions.csv``: true ``emotion``, ``predicted`` and one ``p_<class>``
        column per class of :data:`EMOTIONS`.
    settings : dict
        ``settings.json`` with ``metrics.json`` under the key ``"metrics"`` (empty dicts
        where a file is absent) and the folder under ``"run_dir"``.

    Raises
    ------
    FserError
        If the folder or its predictions are missing or lack a needed column.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FserError(f"run folder '{run_dir}' does not exist")
    path = run_dir / "test_predictions.csv"
    if not path.is_file():
        raise FserError(f"'{run_dir}' is not a finished run: test_predictions.csv is missing")
    try:
        pred = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except Exception as exc:  # pandas raises several parser errors
        raise FserError(f"cannot read '{path}': {exc}") from None
    need = _PRED_COLUMNS + [f"p_{c}" for c in EMOTIONS]
    missing = [c for c in need if c not in pred.columns]
    if missing:
        raise FserError(f"'{path}' lacks column(s) {', '.join(missing)}")
    if pred.empty:
        raise FserError(f"'{path}' holds no test clip")
    unknown = set(pred["emotion"]) | set(pred["predicted"])
    unknown -= set(EMOTIONS)
    if unknown:
        raise FserError(f"'{path}' has unknown class(es) {', '.join(map(str, sorted(unknown)))}")
    settings = {}
    for name, key in (("settings.json", None), ("metrics.json", "metrics")):
        file = run_dir / name
        data = json.loads(file.read_text()) if file.is_file() else {}
        if key is None:
            settings.update(data)
        else:
            settings[key] = data
    settings["run_dir"] = str(run_dir)
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
        ``metric``, ``estimate``, ``low``, ``high`` (percent), ``level``, ``n_boot``, ``n``.
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
    return {"metric": metric, "estimate": 100 * float(estimate), "low": 100 * float(low),
            "high": 100 * float(high), "level": level, "n_boot": n_boot, "n": n}


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
        Columns ``by``, ``n``, ``correct``, ``accuracy``, ``ci_low``, ``ci_high`` (percent).
    """
    if by not in predictions.columns:
        raise FserError(f"predictions have no column '{by}'")
    rows = []
    for group, part in predictions.groupby(by, sort=True, observed=True):
        ci = compute_bootstrap_ci(part["emotion"], part["predicted"], n_boot=n_boot,
                                  level=level, seed=seed)
        rows.append({by: group, "n": len(part),
                     "correct": int((part["emotion"] == part["predicted"]).sum()),
                     "accuracy": ci["estimate"], "ci_low": ci["low"], "ci_high": ci["high"]})
    return pd.DataFrame(rows, columns=[by, "n", "correct", "accuracy", "ci_low", "ci_high"])


# --- Table 4 ---------------------------------------------------------------------------
def compute_corpus_table(predictions: pd.DataFrame, settings: dict | None = None, *,
                         corpora=("emodb", "emovo", "savee", "ravdess"), n_boot: int = 2000,
                         seed: int = 0) -> pd.DataFrame:
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

    Returns
    -------
    table : pd.DataFrame
        Columns ``work``, ``corpus``, ``features``, ``accuracy``, ``ci_low``, ``ci_high``
        (percent; NaN where not measured here), ``n`` (test clips, where measured) and
        ``protocol`` (what the number means, on which data).
    """
    rows = [{"work": w, "corpus": _CORPUS_TITLES.get(c, c), "features": f, "accuracy": a,
             "ci_low": np.nan, "ci_high": np.nan, "n": np.nan,
             "protocol": p + ("; on the original EmoDB recordings (ours differ, see "
                              "below)" if c == "emodb" else "")}
            for w, c, f, a, p in PAPER_TABLE4]
    run = describe_run(settings) if settings else "this repository's run"
    per = compute_group_accuracy(predictions, "corpus", n_boot=n_boot, seed=seed)
    per = per.set_index("corpus")
    for c in corpora:
        row = {"work": "this repository", "corpus": _CORPUS_TITLES.get(c, c),
               "features": "mel-spectrogram"}
        if c in per.index:
            g = per.loc[c]
            row.update(accuracy=g["accuracy"], ci_low=g["ci_low"], ci_high=g["ci_high"],
                       n=int(g["n"]),
                       protocol=f"{run}; accuracy on the test clips of this corpus, "
                                f"95 % bootstrap interval")
            if c == "emodb":
                row["protocol"] += "; " + EMODB_NOTE
        else:
            row.update(accuracy=np.nan, ci_low=np.nan, ci_high=np.nan, n=np.nan,
                       protocol="not measured: no test clip of this corpus in the run"
                                + (" (SAVEE is not available here)" if c == "savee" else ""))
        rows.append(row)
    table = pd.DataFrame(rows)
    table["n"] = table["n"].astype("Int64")
    return table


# --- plots -----------------------------------------------------------------------------
def plot_confusion_matrix(matrix: pd.DataFrame, *, ax=None, fmt: str = ".1f", cmap: str = "Blues",
                          title: str | None = None):
    """Heatmap of a (normalized) confusion matrix with the percentages written in.

    Parameters
    ----------
    matrix : pd.DataFrame [shape=(k, k)]
        From :func:`compute_confusion_matrix`.
    ax : matplotlib.axes.Axes or None

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    sns.heatmap(matrix, annot=True, fmt=fmt, cmap=cmap, vmin=0, vmax=100, square=True,
                cbar_kws={"label": "% of true class"}, annot_kws={"size": 8}, ax=ax)
    ax.set_xlabel("predicted emotion")
    ax.set_ylabel("true emotion")
    ax.tick_params(axis="y", rotation=0)
    if title:
        ax.set_title(title)
    return ax


def plot_roc_curves(curves: dict, *, ax=None, title: str | None = None):
    """ROC curve of every class with the micro and macro averages (the paper's Figure 6).

    Parameters
    ----------
    curves : dict
        From :func:`compute_roc_curves`.
    ax : matplotlib.axes.Axes or None

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 6))
    for name, c in curves.items():
        if name in ("micro", "macro"):
            continue
        ax.plot(c["fpr"], c["tpr"], lw=1.2, label=f"{name} (AUC {100 * c['auc']:.2f} %)")
    for name, style in (("micro", ":"), ("macro", "--")):
        c = curves[name]
        ax.plot(c["fpr"], c["tpr"], style, color="k", lw=2,
                label=f"{name}-average (AUC {100 * c['auc']:.2f} %)")
    ax.plot([0, 1], [0, 1], color="0.7", lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def plot_group_accuracy(table: pd.DataFrame, by: str, *, ax=None, reference: dict | None = None,
                        title: str | None = None):
    """Accuracy per group as bars with their bootstrap intervals.

    Parameters
    ----------
    table : pd.DataFrame
        From :func:`compute_group_accuracy` (columns ``by``, ``accuracy``, ``ci_low``,
        ``ci_high``, ``n``), or any table with those columns.
    by : str
        Column naming the groups.
    ax : matplotlib.axes.Axes or None
    reference : dict or None
        ``{label: value [%]}`` drawn as horizontal lines (the paper's number, chance, ...).

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(max(4, 1.1 * len(table) + 2), 3.5))
    x = np.arange(len(table))
    acc = table["accuracy"].to_numpy(dtype=float)
    err = np.vstack([acc - table["ci_low"].to_numpy(dtype=float),
                     table["ci_high"].to_numpy(dtype=float) - acc])
    ax.bar(x, acc, yerr=err, capsize=4, color="tab:blue", alpha=0.8)
    labels = [f"{g}\n(n={n})" if "n" in table else str(g)
              for g, n in zip(table[by], table["n"] if "n" in table else table[by])]
    ax.set_xticks(x, labels)
    for i, (label, value) in enumerate((reference or {}).items()):
        ax.axhline(value, ls=("--", ":", "-.")[i % 3], color=f"C{i + 1}",
                   label=f"{label} ({value:.2f} %)")
    if reference:  # below the axes: inside, it would hide bars or reference lines
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22),
                  ncol=len(reference), frameon=False)
    ax.set_ylim(0, 100)
    ax.set_ylabel("accuracy [%]")
    if title:
        ax.set_title(title)
    return ax


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
    table.to_csv(folder / f"{name}.csv", index=index, float_format="%.4f")
    (folder / f"{name}.md").write_text(format_markdown(table, index=index))


def evaluate_run(run_dir, *, out=None, n_boot: int = 2000, seed: int = 0, dpi: int = 90) -> dict:
    """Compute every table and figure of the paper's results for one run and save them.

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
    dpi : int > 0
        Resolution of the saved figures.

    Returns
    -------
    results : dict
        ``report`` (Table 2), ``confusion`` (Table 3, percent), ``counts`` (Table 3 as
        counts), ``curves`` (Figure 6), ``per_corpus`` (Table 4), ``per_sex``,
        ``bootstrap`` (accuracy and macro-F1 intervals), ``settings``, ``out`` (folder).
        Written to ``out``: ``report``, ``confusion``, ``per_corpus``, ``per_sex`` as
        ``.csv`` and ``.md``; ``confusion.png``, ``roc.png``; ``bootstrap.json``.
    """
    # figures made without pyplot: saving them must not touch the notebook's backend
    from matplotlib.figure import Figure

    pred, settings = load_predictions(run_dir)
    out = Path(out) if out is not None else Path(run_dir) / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
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
    (out / "bootstrap.json").write_text(json.dumps(
        {"run": describe_run(settings), **boot, "roc_auc": roc_auc}, indent=2))

    fig = Figure(figsize=(7, 6))
    plot_confusion_matrix(confusion, ax=fig.subplots())
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=dpi)
    if curves:
        fig = Figure(figsize=(6.5, 6))
        plot_roc_curves(curves, ax=fig.subplots())
        fig.tight_layout()
        fig.savefig(out / "roc.png", dpi=dpi)
    return {"report": report, "confusion": confusion, "counts": counts, "curves": curves,
            "per_corpus": per_corpus, "per_sex": per_sex, "bootstrap": boot,
            "settings": settings, "out": out}
