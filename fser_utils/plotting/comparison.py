"""Models compared (chapter 9): test accuracy against training time, each model named
beside its best point where the name crosses the fewest points, labels and lines."""
from __future__ import annotations

import numpy as np

from fser_utils.data.corpora import EMOTIONS
from fser_utils.plotting._style import _axes, _legible, _text_size, compute_colours

__all__ = ["plot_comparison"]


def plot_comparison(table, *, ax=None, anchors=None, protocols=("paper", "speaker")):
    """Test accuracy against training time, one marker per model and protocol.

    Each model is named once, in its colour, beside its best point (the names pushed apart
    where they would touch), so the legend holds only the protocols' markers, not one entry
    per model and protocol. Published results (``anchors``) are horizontal lines, since
    their training times on this CPU are unknown, named in the right margin (their
    protocols differ: the chapter says how); anchors within 3 points share one name.
    When this function makes the figure, it leaves room in it for those names.

    Parameters
    ----------
    table : pd.DataFrame
        From :func:`fser_utils.studies.compare.compute_comparison_table`.
    ax : matplotlib Axes or None
    anchors : sequence of dict or None
        ``label`` (or the shorter ``short``, written when given), ``accuracy`` [%]; default
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
    own_figure = ax is None
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
    ax.set_ylim(0, 100)
    ax.set_yticks(range(0, 101, 20))
    ax.grid(alpha=0.3)
    handles = [Line2D([], [], marker=m, linestyle="", color="0.3", label=f"{p} split")
               for p, m in markers.items()]
    ax.legend(handles=handles, fontsize=size, loc="lower right")
    _legible(ax, size)
    ax.figure.canvas.draw()  # fixes the limits, so that boxes in pixels can be compared
    renderer = ax.figure.canvas.get_renderer()
    texts = _draw_anchors(ax, anchors, size)
    if own_figure:  # the anchors' names sit right of the axes: room for them in the figure
        fig = ax.figure
        overhang = max(t.get_window_extent(renderer).x1 for t in texts) - fig.bbox.x1
        if overhang > -4:
            fig.subplots_adjust(right=ax.get_position().x1 - (overhang + 6) / fig.bbox.width)
        fig.canvas.draw()
    lines = _line_boxes(ax, [a["accuracy"] for a in anchors] + [100 / len(EMOTIONS)])
    taken = [_point_box(ax, x, low, high) for x, low, high in points]
    taken += [ax.get_legend().get_window_extent(renderer), chance.get_window_extent(renderer)]
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
    point = ax.transData.transform((x, y))
    scored = []
    for i, (dx, dy, ha, va) in enumerate(_LABEL_SPOTS):
        label.set(position=(dx, dy), ha=ha, va=va)
        box = label.get_window_extent(renderer).expanded(1.02, 1.15)
        clashes = 3 * sum(box.overlaps(t) for t in taken) + sum(box.overlaps(t) for t in lines)
        if abs(dy) > 14 or abs(dx) > 14:  # its leader must not run through another name
            centre = np.array([box.x0 + box.x1, box.y0 + box.y1]) / 2
            along = point + np.linspace(0.15, 0.85, 8)[:, None] * (centre - point)
            clashes += 2 * sum(any(t.contains(*p) for p in along) for t in taken)
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


def _draw_anchors(ax, anchors, size: float = 9) -> list:
    """Lines at the published accuracies, each named in the right margin beside its line
    (``short`` name and value; anchors within 3 points of each other share one label, a
    line each), names pushed apart where they would touch. Outside the axes, they can
    cross no point and no model's name. Returns the texts.
    """
    merged = []
    for a in sorted(anchors, key=lambda a: -a["accuracy"]):
        text = f"{a.get('short', a['label'])} {a['accuracy']:.2f} %"
        if merged and merged[-1]["values"][-1] - a["accuracy"] < 3:
            merged[-1]["labels"].append(text)
            merged[-1]["values"].append(a["accuracy"])
        else:
            merged.append({"labels": [text], "values": [a["accuracy"]]})
    renderer = ax.figure.canvas.get_renderer()
    texts, floor = [], None
    for i, m in enumerate(merged):
        for value in m["values"]:
            ax.axhline(value, color="grey", linestyle=(0, (2, 2 + i)), linewidth=1)
        label = ax.annotate("\n".join(m["labels"]), (1, float(np.mean(m["values"]))),
                            xycoords=("axes fraction", "data"), xytext=(4, 0),
                            textcoords="offset points", fontsize=size, color="dimgrey",
                            va="center", ha="left", annotation_clip=False)
        box = label.get_window_extent(renderer)
        if floor is not None and box.y1 > floor - 2:  # pushed below the label above it
            label.set_position((4, -(box.y1 - floor + 2) * 72 / ax.figure.dpi))
            box = label.get_window_extent(renderer)
        floor = box.y0
        texts.append(label)
    return texts


def _line_boxes(ax, values) -> list:
    """Thin pixel boxes along the horizontal lines at ``values`` [%] across ``ax``: a
    model's name should not sit across one."""
    from matplotlib.transforms import Bbox

    inside = ax.get_window_extent(ax.figure.canvas.get_renderer())
    return [Bbox([[inside.x0, y - 2], [inside.x1, y + 2]])
            for y in ax.transData.transform([(1, v) for v in values])[:, 1]]
