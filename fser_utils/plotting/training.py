"""The network and its training: its architecture (chapter 5), learning curves, several
recipes' curves and the leak curves of chapter 8."""
from __future__ import annotations

import numpy as np

from fser_utils.plotting._style import _axes, _legends, _panels, _text_size, _title, compute_colours

__all__ = ["plot_architecture", "plot_history", "plot_recipe_curves", "plot_leak_curves"]


# --- the network and its training (chapter 5) -------------------------------------------
_LAYER_COLOURS = {"Input": "#dddddd", "Conv2D": "#8ecae6", "MaxPooling2D": "#ffb703",
                  "Dropout": "#e5e5e5", "Flatten": "#bde0a8", "Dense": "#fb8500",
                  "Activation": "#d62828"}
_LAYER_SHORT = {"Input": "Input", "Conv2D": "CL", "MaxPooling2D": "MPL", "Dropout": "Dr",
                "Flatten": "Flatten", "Dense": "FCL", "Activation": "Softmax"}


def plot_architecture(model, *, ax=None, title: str | None = None):
    """Draw the network as a row of boxes, one per layer (the paper's Figure 5).

    Box heights follow the size of each layer's output, so the shrinking feature maps
    and the dense funnel can be seen; labels use the paper's abbreviations (CL,
    MPL, Dr, FCL) with our filter counts and shapes.

    Parameters
    ----------
    model : keras.Model
        As built by :func:`fser_utils.models.paper_cnn.build_fser`.
    ax : matplotlib Axes or None
    title : str or None
        Set at the labels' size, legible in the column however wide the figure.

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    from fser_utils.models.paper_cnn import compute_model_table

    table = compute_model_table(model)
    ax = _axes(ax, figsize=(12, 3.6))
    size = _text_size(ax, 9)  # legible once a 12-inch figure is scaled to the column
    sizes = [np.prod([int(d) for d in shape.split("x")] if shape else [1])
             for shape in table["output_shape"]]
    heights = 1.0 + 2.2 * (np.log10(np.array(sizes, dtype=float)) / np.log10(max(sizes)))
    x, width, gap = 0.0, 0.8, 0.25
    for (_, row), h in zip(table.iterrows(), heights):
        ax.add_patch(FancyBboxPatch((x, -h / 2), width, h, boxstyle="round,pad=0.02",
                                    facecolor=_LAYER_COLOURS.get(row["type"], "#cccccc"),
                                    edgecolor="black", linewidth=0.8))
        label = _LAYER_SHORT.get(row["type"], row["type"])
        if row["type"] in ("Conv2D", "Dense"):
            label += f"\n{row['detail'].split(' ')[0]}"
        long = len(label) > 4 and "\n" not in label  # "Input", "Flatten": upright in the box
        ax.text(x + width / 2, 0, label, ha="center", va="center", fontsize=size,
                rotation=90 if long else 0)
        ax.text(x + width / 2, -h / 2 - 0.12, row["output_shape"].replace("x", "×"),
                ha="center", va="top", fontsize=size, rotation=90)
        if x > 0:
            ax.annotate("", xy=(x, 0), xytext=(x - gap, 0),
                        arrowprops={"arrowstyle": "->", "linewidth": 0.6})
        x += width + gap
    ax.set_xlim(-0.2, x)
    ax.set_ylim(-3.2, 2.3)
    ax.axis("off")
    # no ticks at all: hidden ones would still count as (small) text
    ax.set_xticks([])
    ax.set_yticks([])
    _title(ax, title, fontsize=size)
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=_LAYER_COLOURS[k], edgecolor="black")
               for k in ("Conv2D", "MaxPooling2D", "Dropout", "Dense")]
    ax.legend(handles, ["CL: convolution + ReLU", "MPL: max-pooling 2x2", "Dr: dropout",
                        "FCL: dense"], loc="upper center", ncol=4, fontsize=size, frameon=False)
    return ax


def plot_history(history, *, ax=None, best_epoch: int | None = None):
    """Learning curves: loss and accuracy per epoch, training and validation.

    Parameters
    ----------
    history : pd.DataFrame
        ``history.csv`` of a run (columns ``epoch``, ``loss``, ``accuracy``,
        ``val_loss``, ``val_accuracy``).
    ax : array of 2 Axes or None
    best_epoch : int >= 1 or None
        Marks the epoch whose weights were kept.

    Returns
    -------
    ax : np.ndarray of Axes [shape=(2,)]
        Loss, accuracy.
    """
    # two panels side by side in the column: 7.6 in at 100 dpi is shown at full size
    ax = _panels(ax, 1, 2, figsize=(7.6, 3)).ravel()
    # a chapter may draw them in a wider grid of its own, shown smaller: fonts follow
    size = _text_size(ax[0], 10)
    epoch = history["epoch"] + 1 if "epoch" in history else np.arange(1, len(history) + 1)
    panels = ((ax[0], "loss", "loss (cross-entropy)"), (ax[1], "accuracy", "accuracy"))
    for a, key, title in panels:
        a.plot(epoch, history[key], label="training")
        if f"val_{key}" in history:
            a.plot(epoch, history[f"val_{key}"], label="validation")
        if best_epoch is not None:
            a.axvline(best_epoch, color="grey", linestyle=":", label="kept")
        a.set_xlabel("epoch", fontsize=size)
        a.set_title(title, fontsize=size)
        a.tick_params(labelsize=size)
        a.locator_params(axis="x", nbins=5)  # fewer, larger tick labels
        a.grid(alpha=0.3)
    ax[1].legend(loc="lower right", fontsize=size)
    return ax


def plot_recipe_curves(histories: dict, *, ax=None, reference: dict | None = None):
    """Accuracy per epoch of several runs, epochs on a log scale (chapter 8).

    A log scale shows the early epochs, where most of the learning happens, and the
    long tail of a 400-epoch run in one picture, without inviting a straight-line
    extrapolation beyond the last epoch.

    Parameters
    ----------
    histories : dict of str -> pd.DataFrame
        Label -> ``history.csv`` of a run; ``accuracy`` (training, dashed) and
        ``test_accuracy`` if logged, else ``val_accuracy`` (solid), in [0, 1].
    ax : Axes or None
    reference : dict of str -> float or None
        Horizontal lines [%], e.g. ``{"paper": 95.05}``.

    Returns
    -------
    ax : Axes
        Its legend gives each run's colour once and says once which line style is test
        (or validation) and which is training, so that it stays short (at most
        :data:`~fser_utils.plotting.MAX_LEGEND_ENTRIES` entries, else one legend for the
        runs and one for the line styles).
    """
    from matplotlib.lines import Line2D

    # 7 in and the legend beside it make a picture about 9.5 in wide, scaled to the column
    ax = _panels(ax, 1, 1, figsize=(7, 4), layout="constrained")[0, 0]
    runs, held_names = [], set()
    for k, (label, h) in enumerate(histories.items()):
        epoch = h["epoch"] + 1
        held = "test_accuracy" if "test_accuracy" in h else "val_accuracy"
        held_names.add(held.split("_")[0])
        ax.plot(epoch, 100 * h[held], color=f"C{k}", label=f"{label}: {held.split('_')[0]}")
        ax.plot(epoch, 100 * h["accuracy"], color=f"C{k}", linestyle="--", alpha=0.7,
                label=f"{label}: training")
        runs.append(Line2D([], [], color=f"C{k}", linewidth=4, label=label))
    # one entry per run (its colour), two for the line styles, one per reference line
    styles = [Line2D([], [], color="0.3", label=" / ".join(sorted(held_names, reverse=True))),
              Line2D([], [], color="0.3", linestyle="--", alpha=0.7, label="training")]
    for label, value in (reference or {}).items():
        ax.axhline(value, color="black", linestyle=":", label=f"{label}: {value} %")
        styles.append(Line2D([], [], color="black", linestyle=":", label=f"{label}: {value} %"))
    ax.set(xscale="log", xlabel="epoch (log scale)", ylabel="accuracy [%]", ylim=(0, 100))
    ax.grid(alpha=0.3, which="both")
    # 12 pt stays legible once the figure and its legend (about 9.5 in) fill the column
    ax.tick_params(labelsize=12)
    ax.xaxis.label.set_size(12)
    ax.yaxis.label.set_size(12)
    # beside the axes, outside the data: the runs' curves fill the plot
    _legends(ax, runs, styles, fontsize=12, places=(
        {"loc": "upper left", "bbox_to_anchor": (1.02, 1), "borderaxespad": 0},
        {"loc": "lower left", "bbox_to_anchor": (1.02, 0), "borderaxespad": 0}))
    return ax


def plot_leak_curves(table, *, ax=None, paper: bool = True):
    """Test accuracy against training accuracy, epoch by epoch, one line per arm.

    An honest arm's line bends away below the diagonal as the network learns its
    training pictures; an arm whose training part holds copies of the test clips
    stays near it, test accuracy rising with training accuracy (chapter 8).

    Parameters
    ----------
    table : pd.DataFrame
        :func:`fser_utils.studies.leaks.compute_leak_curves` (``arm``, ``epoch``,
        ``train_accuracy``, ``test_accuracy`` [%], ``kept``).
    ax : Axes or None
    paper : bool
        Draw the paper's accuracy (:data:`fser_utils.paper.PAPER_ACCURACY`) as a
        horizontal line.

    Returns
    -------
    ax : Axes
    """
    from matplotlib.lines import Line2D

    ax = _axes(ax, figsize=(5.5, 5))
    arms = list(dict.fromkeys(table["arm"]))
    colours = compute_colours(arms)
    ax.plot([0, 100], [0, 100], color="0.6", linestyle=":", linewidth=1,
            label="test = training")
    for arm in arms:
        rows = table[table["arm"] == arm].sort_values("epoch")
        ax.plot(rows["train_accuracy"], rows["test_accuracy"], color=colours[arm],
                marker=".", markersize=3, linewidth=1, label=arm)
        kept = rows[rows["kept"]]
        ax.scatter(kept["train_accuracy"], kept["test_accuracy"], color=colours[arm],
                   marker="*", s=120, edgecolor="black", linewidth=0.5, zorder=3)
    key = [Line2D([], [], color="0.6", linestyle=":", label="test = training"),
           Line2D([], [], color="0.5", marker="*", markersize=11, markeredgecolor="black",
                  markeredgewidth=0.5, linestyle="none", label="epoch kept (validation)")]
    from fser_utils.paper import PAPER_ACCURACY

    if paper:
        ax.axhline(PAPER_ACCURACY, color="0.3", linestyle="--", linewidth=1,
                   label=f"paper {PAPER_ACCURACY:g} %")
        key.insert(1, Line2D([], [], color="0.3", linestyle="--",
                             label=f"paper {PAPER_ACCURACY:g} %"))
    ax.set(xlabel="training accuracy [%]", ylabel="test accuracy [%]", xlim=(0, 100),
           ylim=(0, 100))
    ax.grid(alpha=0.3)
    runs = [Line2D([], [], color=colours[arm], marker=".", linewidth=1, label=arm)
            for arm in arms]
    # above the diagonal, where no arm runs, but under the paper's line at the top; past
    # the bound, a legend per meaning: the arms there, the key below the diagonal
    top = {"loc": "upper left", "bbox_to_anchor": (0, (PAPER_ACCURACY - 3) / 100 if paper else 1)}
    _legends(ax, runs, key, fontsize=8, places=(top, {"loc": "lower right"}))
    return ax
