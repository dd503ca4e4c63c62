"""Results: confusion matrices and ROC curves (and their saved files), accuracy per group
and per held-out corpus with intervals, models compared, a recording's emotions over
time, reliability diagrams (chapters 6, 7, 9 and the model card)."""
from __future__ import annotations

import functools
import os

import numpy as np

from fser_utils.atomic import write_atomic
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
from fser_utils.plotting._style import _axes, _text_size, _title, compute_colours

__all__ = ["plot_confusion_matrix", "plot_roc_curves", "save_evaluation_figures",
           "plot_group_accuracy", "plot_comparison", "plot_emotion_timeline",
           "plot_reliability", "plot_heldout_accuracy"]


def _legible(ax, points: float = 9.0) -> float:
    """Raise every text of ``ax`` (title, axis labels, tick labels, written texts, legend,
    and the colour bar drawn beside it) to a size that stays legible once the figure is
    scaled to the book's column, and return that size [pt].

    A helper sizes its texts for the figure it is drawn in, which a chapter may have made
    wider (a pair of panels, a grid) than the helper's own default: a text of fixed size
    shrinks with the figure in the column.

    Parameters
    ----------
    ax : matplotlib Axes
    points : float > 0 [pt]
        The size wanted when the figure is not scaled down.

    Returns
    -------
    size : float [pt]
        At least ``points``; a text already larger keeps its size.
    """
    size = _text_size(ax, points)
    targets = [ax]
    for image in [*ax.collections, *ax.images]:
        colorbar = getattr(image, "colorbar", None)
        if colorbar is not None:  # seaborn's heatmap draws its scale in an Axes of its own
            targets.append(colorbar.ax)
    for a in targets:
        for axis in (a.xaxis, a.yaxis):
            current = min([t.get_fontsize() for t in axis.get_ticklabels()] or [size])
            # tick_params, not the labels drawn now: a locator makes new ticks at drawing
            axis.set_tick_params(which="both", labelsize=max(size, current))
        texts = [a.title, a._left_title, a._right_title, a.xaxis.label, a.yaxis.label,
                 *a.texts]
        legend = a.get_legend()
        if legend is not None:
            texts += [*legend.get_texts(), legend.get_title()]
        for text in texts:
            if text.get_fontsize() < size:
                text.set_fontsize(size)
    return size


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
    ax.text(0.98, 0.5, "\n".join(notes), transform=ax.transAxes, ha="right", va="bottom",
            fontsize=size)
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


# --- models compared (chapter 9) --------------------------------------------------------
def plot_comparison(table, *, ax=None, anchors=None, protocols=("paper", "speaker")):
    """Test accuracy against training time, one marker per model and protocol.

    Each model is named once, in its colour, beside its best point (the names pushed apart
    where they would touch), so the legend holds only the protocols' markers, not one entry
    per model and protocol. Published results (``anchors``) are horizontal lines labelled
    with their protocol, since their training times on this CPU are unknown; anchors of the
    same protocol within 3 points of each other share one label.

    Parameters
    ----------
    table : pd.DataFrame
        From :func:`fser_utils.studies.compare.compute_comparison_table`.
    ax : matplotlib Axes or None
    anchors : sequence of dict or None
        ``label``, ``accuracy`` [%], ``protocol``; default
        :data:`fser_utils.studies.compare.ANCHORS`.
    protocols : sequence of str
        Which protocols to draw.

    Returns
    -------
    ax : matplotlib Axes
    """
    from matplotlib.lines import Line2D

    if anchors is None:
        from fser_utils.studies.compare import ANCHORS as anchors
    # taller than wide: the anchors' labels take two lines each, stacked near the top
    ax = _axes(ax, figsize=(8, 7))
    size = _text_size(ax, 9)
    markers = dict(zip(protocols, "os^vD"))
    models = list(dict.fromkeys(table.index.get_level_values("model")))
    colours = compute_colours(models)
    best, points = {}, []
    for (model, protocol), r in table.iterrows():
        if protocol not in markers:
            continue
        err = [[r["accuracy"] - r["accuracy_low"]], [r["accuracy_high"] - r["accuracy"]]]
        ax.errorbar(r["train_minutes"], r["accuracy"], yerr=err, fmt=markers[protocol],
                    color=colours[model], capsize=3, markersize=7)
        points.append((r["train_minutes"], r["accuracy_low"], r["accuracy_high"]))
        if r["accuracy"] > best.get(model, (0, -np.inf))[1]:
            best[model] = (r["train_minutes"], r["accuracy"])
    ax.axhline(100 / len(EMOTIONS), color="black", linewidth=0.8)
    chance = ax.annotate("chance (8 classes)", (0.01, 100 / len(EMOTIONS)),
                xycoords=("axes fraction", "data"), fontsize=size, va="bottom")
    ax.set_xscale("log")
    ax.set_xlabel("training time on this 2-core CPU [min] (median over seeds)")
    ax.set_ylabel("test accuracy [%]\n(mean over seeds, 95 % interval)")
    # room above 100 % for the label of the highest anchor (two lines), which would
    # otherwise cross the next anchor's line or run out of the axes
    headroom = (2 * 1.25 * size + 6) / 72 * ax.figure.dpi / ax.bbox.height * 100
    ax.set_ylim(0, 100 + headroom)
    ax.set_yticks(range(0, 101, 20))
    ax.grid(alpha=0.3)
    handles = [Line2D([], [], marker=m, linestyle="", color="0.3", label=f"{p} split")
               for p, m in markers.items()]
    ax.legend(handles=handles, fontsize=size, loc="lower right")
    _legible(ax, size)
    ax.figure.canvas.draw()  # fixes the limits, so that boxes in pixels can be compared
    renderer = ax.figure.canvas.get_renderer()
    taken = [_point_box(ax, x, low, high) for x, low, high in points]
    taken += [ax.get_legend().get_window_extent(renderer), chance.get_window_extent(renderer)]
    texts, lines = _draw_anchors(ax, anchors, taken, size)
    taken += [t.get_window_extent(renderer) for t in texts]
    for model, (x, y) in best.items():
        taken.append(_place_label(ax, x, y, model, colours[model], taken, lines=lines,
                                  fontsize=size))
    return ax


def _point_box(ax, x, low, high, *, half_width: float = 7):
    """Pixel box of a marker with its error bar and caps."""
    from matplotlib.transforms import Bbox

    (px, p0), (_, p1) = ax.transData.transform([(x, low), (x, high)])
    return Bbox([[px - half_width, min(p0, p1) - 4], [px + half_width, max(p0, p1) + 4]])


#: where a point's name may go, in offset points from the point, in order of preference
_LABEL_SPOTS = tuple((sign * dx, dy, ("left" if sign > 0 else "right") if dx else "center",
                      "center" if not dy else ("bottom" if dy > 0 else "top"))
                     for dx, dy in ((8, 0), (0, 11), (0, -11), (8, 13), (8, -13),
                                    (0, 24), (0, -24), (14, 26), (14, -26), (0, 38),
                                    (0, -38), (20, 40), (20, -40), (0, 52), (0, -52),
                                    (30, 0), (40, 20), (40, -20))
                     for sign in ((1, -1) if dx else (1,)))


def _place_label(ax, x, y, text, colour, taken, *, lines=(), fontsize: float = 9):
    """Write ``text`` beside the point ``(x, y)`` at the first spot that stays inside
    the axes and touches none of the pixel boxes ``taken`` (points, error bars, other
    labels) nor ``lines`` (thin boxes of the anchor lines), else where it touches fewest,
    a text or a point counting three times a line; a name written away from its point
    is tied to it by a thin line. Returns the box it took, a little larger than the
    letters so that a line or bar passing close by does not touch them."""
    renderer = ax.figure.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    label = ax.annotate(text, (x, y), xytext=(8, 0), textcoords="offset points",
                        fontsize=fontsize, color=colour)
    scored = []
    for i, (dx, dy, ha, va) in enumerate(_LABEL_SPOTS):
        label.set(position=(dx, dy), ha=ha, va=va)
        box = label.get_window_extent(renderer).expanded(1.02, 1.15)
        clashes = 3 * sum(box.overlaps(t) for t in taken) + sum(box.overlaps(t) for t in lines)
        outside = not (inside.x0 <= box.x0 and box.x1 <= inside.x1
                       and inside.y0 <= box.y0 and box.y1 <= inside.y1)
        scored.append((clashes + 100 * outside, i, box))
    _, i, box = min(scored, key=lambda s: s[:2])
    dx, dy, ha, va = _LABEL_SPOTS[i]
    label.set(position=(dx, dy), ha=ha, va=va)
    if abs(dy) > 14 or abs(dx) > 14:  # far from its point: a leader says whose name it is
        label.remove()
        ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                    fontsize=fontsize, color=colour,
                    arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.6, "shrinkA": 1,
                                "shrinkB": 6})
    return box


def _draw_anchors(ax, anchors, taken, size: float = 9) -> tuple[list, list]:
    """Lines at the published accuracies (returned: their texts, and the pixel boxes of
    these lines and of the chance line, which the points' names should not cross); anchors of one protocol within 3 points of each
    other share one label (their names and values, the protocol on a second line),
    written above its line or below it, at either end or in the middle, wherever it stays
    inside the axes and touches fewest of the pixel boxes ``taken`` and of the labels
    already written."""
    merged = []
    for a in sorted(anchors, key=lambda a: -a["accuracy"]):
        last = merged[-1] if merged else None
        if last and last["protocol"] == a["protocol"] and last["values"][-1] - a["accuracy"] < 3:
            last["labels"].append(f"{a['label']} {a['accuracy']:.2f} %")
            last["values"].append(a["accuracy"])
        else:
            merged.append({"labels": [f"{a['label']} {a['accuracy']:.2f} %"],
                           "protocol": a["protocol"], "values": [a["accuracy"]]})
    from matplotlib.transforms import Bbox

    renderer = ax.figure.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    # each anchor's line as a thin box: another anchor's label must not sit across it
    lines = [[Bbox([[inside.x0, y - 2], [inside.x1, y + 2]])
              for y in ax.transData.transform([(1, v) for v in m["values"]])[:, 1]]
             for m in merged]
    texts, boxes = [], []
    for i, m in enumerate(merged):
        others = [b for j, line in enumerate(lines) if j != i for b in line]
        for value in m["values"]:
            ax.axhline(value, color="grey", linestyle=(0, (2, 2 + i)), linewidth=1)
        label = ax.annotate(f"{'; '.join(m['labels'])}\n({m['protocol']})",
                            (0.01, max(m["values"])), xycoords=("axes fraction", "data"),
                            xytext=(0, 1), textcoords="offset points", fontsize=size,
                            color="dimgrey")
        scored = []
        # the ends of the line first, then its middle, where fewer points may lie
        for x, ha in ((0.01, "left"), (0.99, "right"), (0.5, "center"), (0.3, "left"),
                      (0.7, "right")):
            for y, va, dy in ((max(m["values"]), "bottom", 1), (min(m["values"]), "top", -1)):
                label.set(va=va, ha=ha, position=(0, dy))
                label.xy = (x, y)
                box = label.get_window_extent(renderer)
                outside = not (inside.x0 <= box.x0 and box.x1 <= inside.x1
                               and inside.y0 <= box.y0 and box.y1 <= inside.y1)
                clashes = sum(box.overlaps(t) for t in taken + boxes + others)
                # a label under its line meets the next anchor's line sooner than one above
                scored.append((clashes + 10 * outside, len(scored), x, ha, y, va, dy))
        _, _, x, ha, y, va, dy = min(scored)
        label.set(va=va, ha=ha, position=(0, dy))
        label.xy = (x, y)
        texts.append(label)
        boxes.append(label.get_window_extent(renderer))
    chance = ax.transData.transform([(1, 100 / len(EMOTIONS))])[0, 1]
    lines.append([Bbox([[inside.x0, chance - 2], [inside.x1, chance + 2]])])
    return texts, [b for line in lines for b in line]


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


def _legend_below(ax, size: float, **kwargs):
    """The legend of ``ax`` under its x label, where it covers no line: an offset in
    points, which grows with the size of the tick labels and of the x label (a share of
    the axes would change with a later layout)."""
    from matplotlib.transforms import ScaledTranslation

    drop = ScaledTranslation(0, -(2 * 1.3 * size + 16) / 72, ax.figure.dpi_scale_trans)
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0),
                     bbox_transform=ax.transAxes + drop, fontsize=size, frameon=False,
                     borderaxespad=0, **kwargs)


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
