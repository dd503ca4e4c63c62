"""Results: confusion matrices and ROC curves (and their saved files), accuracy per group
and per held-out corpus with intervals, a recording's emotions over time, reliability
diagrams (chapters 6, 7 and the model card). Models compared are
:mod:`~fser_utils.plotting.comparison`."""
from __future__ import annotations

import functools
import os

import numpy as np

from fser_utils.atomic import write_atomic
from fser_utils.errors import FserError
from fser_utils.plotting._style import _axes, _legend_below, _legible, _text_size, _title

__all__ = ["plot_confusion_matrix", "plot_roc_curves", "save_evaluation_figures",
           "plot_group_accuracy", "plot_emotion_timeline", "plot_reliability",
           "plot_heldout_accuracy", "plot_remedy_effects"]


# --- evaluation (chapters 6 and 7) ------------------------------------------------------
def plot_confusion_matrix(matrix, *, ax=None, fmt: str = ".0f", cmap: str = "Blues",
                          title: str | None = None, fontsize: float = 10):
    """Heatmap of a (normalized) confusion matrix with the percentages written in.

    The percentages are rounded to whole numbers by default and written at ``fontsize``
    points, or larger where the figure is wide enough to be scaled down in the book's
    760-px column (two matrices side by side in an 11-inch figure): every text of the
    panel, its colour bar included, keeps capitals of at least 8 px there.

    Parameters
    ----------
    matrix : pd.DataFrame [shape=(k, k)]
        From :func:`fser_utils.studies.evaluate.compute_confusion_matrix` [% of each true class].
    ax : matplotlib Axes or None
        Drawn into if given, else a new square figure of 6.5 x 6 inches.
    fmt : str
        Format of the numbers written in the cells (``".0f"``: whole percent).
    cmap : str
    title : str or None
    fontsize : float > 0 [pt]
        Size of the numbers in the cells, and the least size of every other text.

    Returns
    -------
    ax : matplotlib Axes
    """
    import seaborn as sns

    ax = _axes(ax, figsize=(6.5, 6))
    sns.heatmap(matrix, annot=True, fmt=fmt, cmap=cmap, vmin=0, vmax=100, square=True,
                cbar_kws={"label": "% of true class", "shrink": 0.8},
                annot_kws={"size": fontsize}, ax=ax)
    ax.set_xlabel("predicted emotion")
    ax.set_ylabel("true emotion")
    # slanted: eight emotion names side by side touch each other in a narrow panel
    ax.tick_params(axis="x", rotation=40)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
        label.set_rotation_mode("anchor")
    ax.tick_params(axis="y", rotation=0)
    _title(ax, title)
    _legible(ax, fontsize)
    return ax


def plot_roc_curves(curves: dict, *, ax=None, title: str | None = None):
    """ROC curve of every class with the micro and macro averages (the paper's Figure 6).

    The legend names the classes only (at most eight entries); the two averages, drawn
    in black, are named in a note beside it.

    Parameters
    ----------
    curves : dict
        From :func:`fser_utils.studies.evaluate.compute_roc_curves`.
    ax : matplotlib Axes or None
    title : str or None

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax, figsize=(6, 6))
    for name, c in curves.items():
        if name not in ("micro", "macro"):
            ax.plot(c["fpr"], c["tpr"], lw=1.2, label=f"{name} (AUC {100 * c['auc']:.2f} %)")
    notes = []
    for name, style, look in (("micro", ":", "dotted"), ("macro", "--", "dashed")):
        c = curves[name]
        ax.plot(c["fpr"], c["tpr"], style, color="k", lw=2)
        notes.append(f"{name}-average ({look}): AUC {100 * c['auc']:.2f} %")
    ax.plot([0, 1], [0, 1], color="0.7", lw=1)
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate",
           ylabel="true positive rate")
    size = _text_size(ax, 9)
    ax.legend(loc="lower right", fontsize=size)
    # on a white box: the chance diagonal runs behind it
    ax.text(0.98, 0.5, "\n".join(notes), transform=ax.transAxes, ha="right", va="bottom",
            fontsize=size, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9})
    _title(ax, title)
    _legible(ax)
    return ax


def save_evaluation_figures(results: dict, *, dpi: int = 90) -> list:
    """Draw the figures of :func:`fser_utils.studies.evaluate.evaluate_run` next to its tables.

    Parameters
    ----------
    results : dict
        What ``evaluate_run`` returns (``confusion``, ``curves``, ``out``).
    dpi : int > 0
        Resolution of the saved figures.

    Returns
    -------
    written : list of Path
        ``confusion.png`` (Table 3) and, when the test set holds more than one class,
        ``roc.png`` (Figure 6), each written whole under a temporary name and renamed.
    """
    # figures made without pyplot: saving them must not touch the notebook's backend
    from matplotlib.figure import Figure

    drawn = [("confusion.png", (6.5, 6), plot_confusion_matrix, results["confusion"])]
    if results["curves"]:
        drawn.append(("roc.png", (6, 6), plot_roc_curves, results["curves"]))
    written = []
    for name, size, plot, data in drawn:
        fig = Figure(figsize=size)
        plot(data, ax=fig.subplots())
        fig.tight_layout()
        write_atomic(results["out"] / name, functools.partial(fig.savefig, dpi=dpi))
        written.append(results["out"] / name)
    return written


def plot_group_accuracy(table, by: str, *, ax=None, reference: dict | None = None,
                        title: str | None = None):
    """Accuracy per group as bars with their bootstrap intervals.

    Parameters
    ----------
    table : pd.DataFrame
        From :func:`fser_utils.studies.evaluate.compute_group_accuracy` (columns ``by``,
        ``accuracy``, ``accuracy_low``, ``accuracy_high``, ``n``), or any table with those
        columns.
    by : str
        Column naming the groups.
    ax : matplotlib Axes or None
    reference : dict or None
        ``{label: value [%]}`` drawn as horizontal lines (the paper's number, chance, ...).
    title : str or None

    Returns
    -------
    ax : matplotlib Axes
    """
    # at most 8.4 inches (756 px at 90 dpi): a wider figure is shrunk to the column,
    # and its text with it
    ax = _axes(ax, figsize=(min(8.4, max(4, 0.8 * len(table) + 1.5)), 3.8))
    x = np.arange(len(table))
    acc = table["accuracy"].to_numpy(dtype=float)
    err = np.vstack([acc - table["accuracy_low"].to_numpy(dtype=float),
                     table["accuracy_high"].to_numpy(dtype=float) - acc])
    ax.bar(x, acc, yerr=err, capsize=4, color="tab:blue", alpha=0.8)
    size = _text_size(ax, 9)
    labels, rows = _fit_names(ax, [str(g) for g in table[by]],
                              table["n"] if "n" in table else None, size)
    ax.set_xticks(x, labels, fontsize=size)
    lines = max(label.count("\n") + 1 for label in labels)
    if rows == 2:
        # every other name one row lower: side by side on one row they would touch
        for tick in ax.xaxis.get_major_ticks()[1::2]:
            tick.set_pad(tick.get_pad() + lines * size * 1.2 + 2)
    for i, (label, value) in enumerate((reference or {}).items()):
        ax.axhline(value, ls=("--", ":", "-.")[i % 3], color=f"C{i + 1}",
                   label=f"{label} ({value:.2f} %)")
    if reference:
        # below the group names, an offset in points (not a share of the axes, which a
        # later tight_layout changes): inside, it would hide bars or reference lines, and
        # above, a title set later would cover it
        from matplotlib.transforms import ScaledTranslation

        drop = ScaledTranslation(0, -(rows * lines * size * 1.2 + 2 * rows + 10) / 72,
                                 ax.figure.dpi_scale_trans)
        ax.legend(fontsize=size, loc="upper center", bbox_to_anchor=(0.5, 0),
                  bbox_transform=ax.transAxes + drop, ncol=len(reference), frameon=False,
                  borderaxespad=0)
    ax.set_ylim(0, 100)
    ax.set_ylabel("accuracy [%]")
    _title(ax, title)
    _legible(ax, size)
    return ax


def _fit_names(ax, names: list, counts, size: float) -> tuple[list, int]:
    """The group names of ``ax``'s bars wrapped on short lines (with ``(n=...)`` under
    each when ``counts`` is given), and on how many rows they must go (1, or 2 with every
    other name one row lower) so that neighbours do not touch at ``size`` points.

    Widths are measured with the font, not counted in letters, so a label that fits is
    never staggered; the bars' spacing is read from the axes' current width, which a
    constrained layout set afterwards only widens.
    """
    import textwrap

    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font = FontProperties(size=size)
    measure = TextToPath()
    spacing = ax.get_position().width * ax.figure.get_size_inches()[0] * 72 / max(
        1.0, len(names) + 0.2)  # [pt] between two bars' centres (matplotlib's 5 % margins)

    def widest(label):
        return max(measure.get_text_width_height_descent(line, font, ismath=False)[0]
                   for line in label.split("\n"))

    labels = []
    for rows, chars in ((1, 9), (2, 14), (2, 9)):
        wrapped = [textwrap.fill(name, chars, break_long_words=False) for name in names]
        labels = ([f"{g}\n(n={n})" for g, n in zip(wrapped, counts)] if counts is not None
                  else wrapped)
        if len(labels) < 2 or max(map(widest, labels)) + 4 < rows * spacing:
            break
    return labels, rows


def plot_emotion_timeline(table: pd.DataFrame, *, ax=None):
    """Emotion probabilities of a recording's windows against time.

    Parameters
    ----------
    table : pd.DataFrame
        :func:`fser_utils.scoring.windows.predict_windows` output for one file.
    ax : matplotlib Axes or None
        Drawn into if given, else a new figure.

    Returns
    -------
    ax : matplotlib Axes
        One line per class at the windows' centres; windows left out of the file's
        label (not voiced) are shaded grey.
    """
    if table.empty or table["path"].nunique() != 1:
        raise FserError(f"plot_emotion_timeline needs the windows of exactly one file, "
                        f"got {table['path'].nunique()} files")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(10, 3), layout="constrained")
    centre = (table["start"] + table["end"]) / 2
    p_cols = [c for c in table.columns if c.startswith("p_")]
    marker = "o" if len(table) < 50 else None  # a lone window is a point, not a line
    for k, col in enumerate(p_cols):
        ax.plot(centre, table[col], color=f"C{k}", linewidth=1.2, marker=marker,
                markersize=3, label=col[2:])
    # one grey span per run of consecutive unvoiced windows, not one per window
    quiet = ~table["voiced"].to_numpy()
    edges = np.flatnonzero(np.diff(np.concatenate(([0], quiet.astype(int), [0]))))
    for first, stop in zip(edges[::2], edges[1::2]):
        ax.axvspan(table["start"].iloc[first], table["end"].iloc[stop - 1], color="0.9",
                   zorder=0, linewidth=0)
    ax.set(xlim=(table["start"].min(), table["end"].max()), ylim=(0, 1),
           xlabel="time [s]", ylabel="probability",
           title=os.path.basename(str(table["path"].iloc[0])))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    _legible(ax)
    return ax


def plot_reliability(tables: dict, *, ax=None):
    """Reliability diagram: accuracy against confidence, one line per table.

    The diagonal is labelled "perfect calibration", so that a table labelled
    "calibrated" (after temperature scaling) is not confused with it; the legend sits
    below the axes, where it covers no line.

    Parameters
    ----------
    tables : dict of str -> pd.DataFrame
        Label -> :func:`fser_utils.scoring.calibration.compute_reliability` table.
    ax : matplotlib.axes.Axes or None

    Returns
    -------
    ax : matplotlib.axes.Axes
        The diagonal is perfect calibration; a line below it is over-confident.
    """
    ax = _axes(ax, figsize=(5, 5.5))
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1,
            label="perfect calibration")
    for label, table in tables.items():
        full = table[table["n"] > 0]
        ax.plot(full["confidence"], full["accuracy"], marker="o", label=label)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top probability)",
           ylabel="accuracy", aspect="equal")
    size = _text_size(ax, 9)
    _legend_below(ax, size, ncol=min(3, len(tables) + 1))
    _legible(ax, size)
    return ax


def plot_heldout_accuracy(table, *, ax=None, target: float | None = None):
    """Accuracy on each held-out corpus with its interval, one bar per recipe.

    Parameters
    ----------
    table : pd.DataFrame
        :func:`fser_utils.studies.model_card.compute_heldout_table`.
    target : float or None [%]
        Drawn as a horizontal line.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    ax = _axes(ax, figsize=(6.5, 4))
    corpora = list(dict.fromkeys(table["heldout"]))
    recipes = list(dict.fromkeys(table["recipe"]))
    width = 0.8 / len(recipes)
    for i, recipe in enumerate(recipes):
        rows = table[table["recipe"] == recipe].set_index("heldout").reindex(corpora)
        x = np.arange(len(corpora)) + (i - (len(recipes) - 1) / 2) * width
        err = np.vstack([rows["accuracy_own"] - rows["accuracy_own_low"],
                         rows["accuracy_own_high"] - rows["accuracy_own"]])
        ax.bar(x, rows["accuracy_own"], width=width, yerr=err, capsize=3, label=recipe)
    if target is not None:
        ax.axhline(target, color="0.3", linestyle="--", linewidth=1, label=f"target {target:g} %")
    ax.set_xticks(np.arange(len(corpora)), corpora)
    ax.set(ylabel="accuracy on the corpus's\nown classes [%]", xlabel="held-out corpus",
           ylim=(0, 100))
    size = _text_size(ax, 9)
    # above the axes: inside, it covered the bars
    ax.legend(fontsize=size, loc="lower left", bbox_to_anchor=(0, 1.01), frameon=False,
              ncol=min(3, len(recipes) + (target is not None)), borderaxespad=0)
    _legible(ax, size)
    return ax


def plot_remedy_effects(table, *, ax=None):
    """Each remedy's change of held-out-corpus accuracy, with its interval.

    Parameters
    ----------
    table : pd.DataFrame
        :func:`fser_utils.studies.heldout_remedies.compute_remedy_table`: ``remedy``,
        ``needs``, ``change``, ``change_low``, ``change_high`` [points].

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    ax = _axes(ax, figsize=(8, 0.55 * len(table) + 1.4))
    y = np.arange(len(table))[::-1]
    single = (table["needs"] == "one clip").to_numpy()
    for keep, colour, label in ((single, "C0", "scores one clip"),
                                (~single, "C1", "needs a batch of clips")):
        if keep.any():
            rows = table[keep]
            err = np.vstack([rows["change"] - rows["change_low"],
                             rows["change_high"] - rows["change"]])
            ax.errorbar(rows["change"], y[keep], xerr=err, fmt="o", color=colour, capsize=3,
                        label=label)
    ax.axvline(0, color="0.3", linewidth=1)
    ax.set_yticks(y, table["remedy"])
    ax.set(xlabel="change of mean held-out-corpus accuracy [points]")
    ax.grid(axis="x", alpha=0.3)
    size = _text_size(ax, 9)
    ax.legend(fontsize=size, loc="lower left", bbox_to_anchor=(0, 1.01), frameon=False, ncol=2,
              borderaxespad=0)
    _legible(ax, size)
    return ax
