"""Figures of chapters 9 to 11 (beyond the paper): models side by side, learning curves,
budgets, variants of the log-mel CNN, and the speaker probe.

The numbers come from :mod:`fser_utils.studies.compare` and :mod:`fser_utils.studies.beyond`.
"""
from __future__ import annotations

import numpy as np

# every helper here ends by raising its texts to the size the book's column needs (_legible)
from fser_utils.plotting._style import _axes, _legend_below, _legible, _panels, _text_size, _title

__all__ = ["plot_pair_accuracy", "plot_learning_curves", "plot_curves", "plot_budget_curves",
           "plot_variant_gains", "plot_speaker_probe", "plot_speaker_breakdown"]


def plot_pair_accuracy(table, names, *, ax=None, colors=None):
    """Test accuracy with 95 % intervals, one group of bars per protocol, one bar per model.

    Parameters
    ----------
    table : pd.DataFrame
        Index (model, protocol); columns ``accuracy``, ``accuracy_low``, ``accuracy_high``
        (:func:`fser_utils.studies.compare.compute_comparison_table`).
    names : sequence of str
        The models, in the order of their bars (at most 8: one legend entry each).
    colors : sequence, optional
        One colour per model.

    Returns
    -------
    ax : Axes
    """
    ax = _axes(ax, figsize=(9, 4))
    rows = table.loc[list(names)].reset_index()
    acc, low, high = (rows.pivot(index="protocol", columns="model", values=v)[list(names)]
                      for v in ("accuracy", "accuracy_low", "accuracy_high"))
    # pandas wants (models, low/high, protocols) for asymmetric error bars
    acc.plot.bar(ax=ax, yerr=np.stack([(acc - low).T, (high - acc).T], axis=1), capsize=3,
                 rot=0, color=list(colors)[:len(names)] if colors is not None else None)
    ax.set(xlabel="", ylabel="test accuracy [%]")
    # below the axes, inside the figure's width: a legend on the right would widen the
    # figure and shrink its text in the book's column
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=min(len(names), 3))
    _legible(ax)
    return ax


def plot_learning_curves(histories: dict, *, ax=None, n_cols: int = 3):
    """Training and validation accuracy per epoch, one panel per split (or per run).

    Parameters
    ----------
    histories : dict
        ``(panel, line) -> history`` draws one coloured line pair per ``line`` in each
        ``panel``; ``panel -> history`` one pair per panel. A history is a run's
        ``history.csv`` (``epoch``, ``accuracy``, ``val_accuracy`` in [0, 1]).
    n_cols : int >= 1
        Panels per row.

    Returns
    -------
    ax : np.ndarray of Axes, shape (n_rows, n_cols); panels beyond the runs are hidden,
        the first of them giving its place to the legend
    """
    from matplotlib.lines import Line2D

    from fser_utils.plotting._style import compute_colours

    keyed = {(k if isinstance(k, tuple) else (k, None)): h for k, h in histories.items()}
    panels = list(dict.fromkeys(p for p, _ in keyed))
    colours = compute_colours(line for _, line in keyed)
    n_rows = max(1, -(-len(panels) // n_cols))
    axes = _panels(ax, n_rows, n_cols, figsize=(3.3 * n_cols, 2.9 * n_rows), sharey=True)
    for a in axes.flat[len(panels):]:
        a.set_visible(False)
    for (panel, line), h in keyed.items():
        a = axes.flat[panels.index(panel)]
        colour = colours[line] if line is not None else "C0"
        a.plot(h["epoch"] + 1, 100 * h["accuracy"], color=colour, ls="--", lw=1)
        a.plot(h["epoch"] + 1, 100 * h["val_accuracy"], color=colour, lw=1.5)
        a.set(title=panel, xlabel="epoch")
        a.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("accuracy [%]")
    handles = [Line2D([], [], color=c, lw=1.5, label=line) for line, c in colours.items()
               if line is not None]
    handles += [Line2D([], [], color="grey", ls="--", lw=1, label="training (augmented)"),
                Line2D([], [], color="grey", lw=1.5, label="validation")]
    spare = axes.flat[len(panels)] if len(panels) < axes.size else None
    if spare is None:
        axes.flat[0].legend(handles=handles)
    else:  # drawn by a visible panel, placed where the first hidden panel sits
        legend = axes.flat[0].legend(handles=handles, loc="center",
                                     bbox_to_anchor=(0.5, 0.5), bbox_transform=spare.transAxes)
        legend.set_in_layout(False)
    for a in axes.flat[:len(panels)]:
        _legible(a)
    return axes


def plot_curves(curves: dict, *, ax=None, styles: dict | None = None,
                reference: dict | None = None, window: int = 1, ylabel: str = "",
                title: str | None = None):
    """One line per curve, against the epoch (1, 2, ...).

    Parameters
    ----------
    curves : dict of str -> sequence of float
        Legend label -> a value per epoch.
    styles : dict of str -> dict, optional
        Label -> keyword arguments of ``ax.plot`` (colour, line style, width).
    reference : dict of str -> float, optional
        Horizontal lines, dotted black (chance, a target).
    window : int >= 1
        A rolling mean over this many epochs (1: as logged).

    Returns
    -------
    ax : Axes
        With its legend inside the axes for at most four lines, else below the x label
        in two columns (a long legend inside covers curves wherever it goes).
    """
    import pandas as pd

    ax = _axes(ax, figsize=(8, 4))
    for label, y in curves.items():
        y = pd.Series(np.asarray(y, dtype=float)).rolling(window, min_periods=1).mean()
        ax.plot(np.arange(1, len(y) + 1), y, label=label, **(styles or {}).get(label, {}))
    for label, value in (reference or {}).items():
        ax.axhline(value, color="black", ls=":", label=label)
    ax.set(xlabel="epoch", ylabel=ylabel)
    _title(ax, title)
    ax.grid(alpha=0.3)
    if len(curves) + len(reference or {}) > 4:
        # a long legend inside the axes covers curves wherever it goes: below them
        _legend_below(ax, _text_size(ax, 9), ncol=2)
    else:
        ax.legend()
    _legible(ax)
    return ax


def plot_budget_curves(summary, *, ax=None, targets=(90, 70), title: str | None = None):
    """Test accuracy against the number of epochs, one line per network and device.

    Parameters
    ----------
    summary : pd.DataFrame
        Seed-averaged rows of one protocol with ``net``, ``device``, ``epochs``,
        ``accuracy``, ``accuracy_low``, ``accuracy_high``. Each line is drawn a little
        to the side of the budgets it ran (the ticks), so that lines sharing a budget
        do not hide each other.
    targets : sequence of float
        Drawn as grey lines (dotted, dashed).

    Returns
    -------
    ax : Axes
    """
    from fser_utils.plotting._style import compute_colours

    ax = _axes(ax, figsize=(7, 4.5))
    colours = compute_colours(summary["net"])
    series = list(summary.groupby(["net", "device"]))
    # the series share their budgets: each is moved a little sideways (at most 2 % of the
    # axis either way), so that points and bars at one budget stand apart
    span = summary["epochs"].max() - summary["epochs"].min()
    shifts = np.linspace(-0.02, 0.02, len(series)) * span if len(series) > 1 else [0.0]
    for ((net, device), g), shift in zip(series, shifts):
        g = g.sort_values("epochs")
        cpu = device == "CPU"
        ax.errorbar(g["epochs"] + shift, g["accuracy"], capsize=3, marker="o" if cpu else "s",
                    ls="-" if cpu else ":", color=colours[net], label=f"{net}, {device}",
                    yerr=[g["accuracy"] - g["accuracy_low"], g["accuracy_high"] - g["accuracy"]])
    for target, style in zip(targets, (":", "--")):
        ax.axhline(target, color="grey", ls=style, lw=1)
    ax.set(xticks=sorted(summary["epochs"].unique()), xlabel="epochs",
           ylabel="test accuracy [%]")
    _title(ax, title)
    ax.grid(alpha=0.3)
    ax.legend()
    _legible(ax)
    return ax


def plot_variant_gains(gains, *, ax=None, title: str | None = None):
    """Each variant's validation gain against its test gain over a baseline [points].

    Parameters
    ----------
    gains : pd.DataFrame
        Columns ``protocol``, ``name`` (the point's label), ``val gain``, ``test gain``.

    Returns
    -------
    ax : Axes
    """
    ax = _axes(ax, figsize=(8, 4.2))
    for k, (protocol, g) in enumerate(gains.groupby("protocol")):
        ax.scatter(g["val gain"], g["test gain"], marker="os^v"[k % 4], s=50,
                   label=f"{protocol} split")
        for _, r in g.iterrows():
            ax.annotate(r["name"], (r["val gain"], r["test gain"]), textcoords="offset points",
                        xytext=(5, 4), fontsize=10)
    ax.axhline(0, color="grey", lw=1)
    ax.axvline(0, color="grey", lw=1)
    ax.set(xlabel="validation gain [points]", ylabel="test gain [points]")
    ax.margins(x=0.12, y=0.12)  # room for the names right of and above the outermost points
    _title(ax, title)
    ax.legend()
    ax.grid(alpha=0.3)
    _legible(ax)
    return ax


def plot_speaker_probe(probe, order, *, ax=None, title: str | None = None):
    """How often a probe names the speaker from a network's features, per seed (dots),
    beside chance (dashes), for the training and the validation part.

    Parameters
    ----------
    probe : pd.DataFrame
        Columns ``model``, ``part`` (``train``, ``val``), ``probe_accuracy`` and
        ``majority`` in [0, 1], ``n_speakers``.
    order : sequence of str
        The models, left to right.

    Returns
    -------
    ax : Axes
    """
    ax = _axes(ax, figsize=(8, 3.6))
    order = list(order)
    for k, part in enumerate(("train", "val")):
        rows = probe[(probe["part"] == part) & probe["model"].isin(order)]
        ax.scatter(rows["model"].map(order.index) + (k - 0.5) * 0.2,
                   100 * rows["probe_accuracy"], color=f"C{k}",
                   label=f"{part} part ({rows['n_speakers'].iloc[0]} speakers)")
        ax.scatter(np.arange(len(order)) + (k - 0.5) * 0.2,
                   100 * rows.groupby("model")["majority"].mean().loc[order], marker="_",
                   s=300, color=f"C{k}")
    ax.set(xticks=range(len(order)), ylim=(0, 100), ylabel="speaker named [%]")
    # long model names side by side overlap: tilted, anchored at their right end
    ax.set_xticklabels(order, rotation=20, ha="right", rotation_mode="anchor")
    _title(ax, title)
    ax.legend(loc="center right")
    ax.grid(alpha=0.3)
    _legible(ax)
    return ax


def plot_speaker_breakdown(breakdowns: dict, *, ax=None):
    """For each model, its confusion matrix and its accuracy per corpus, one row a model.

    Parameters
    ----------
    breakdowns : dict of str -> dict
        Model label -> :func:`fser_utils.studies.beyond.compute_pooled_breakdown`.

    Returns
    -------
    ax : np.ndarray of Axes, shape (len(breakdowns), 2)
    """
    from fser_utils.plotting.results import plot_confusion_matrix, plot_group_accuracy

    axes = _panels(ax, len(breakdowns), 2, figsize=(10, 5.2 * len(breakdowns)))
    for row, (name, b) in zip(axes, breakdowns.items()):
        plot_confusion_matrix(b["matrix"], ax=row[0])
        # the model's name on a line of its own: a long label side by side with the
        # other panel's title would run into it
        row[0].set_title(f"{name}\n% of each true class")
        plot_group_accuracy(b["by_corpus"], "corpus", ax=row[1],
                            title=f"{name}\naccuracy per corpus ({b['runs']} seeds)")
    return axes
