"""What every figure shares: its axes (given or new), its title, its colours.

matplotlib is imported inside the functions, only when a figure is drawn.
"""
from __future__ import annotations

import numpy as np

__all__ = ["compute_colours", "find_small_text", "COLUMN_PX", "MIN_TEXT_PX", "CAP_HEIGHT",
           "MAX_LEGEND_ENTRIES"]

#: width a figure is shown at, at most, in a 1280-px browser window [px]: a wider figure is
#: scaled down to it, and its text with it. Measured in the built book with headless
#: Chromium (the article column is 752 px wide; a figure's block leaves 672)
COLUMN_PX = 672

#: smallest legible text on the page, as the height of its capital letters [px]: what a
#: reader sees (a font of 8 px has capitals under 6 px, too small at arm's length)
MIN_TEXT_PX = 8.0

#: height of a capital letter of the figures' font (DejaVu Sans), as a fraction of its size
CAP_HEIGHT = 0.73

#: most entries a legend may hold before a reader loses track
MAX_LEGEND_ENTRIES = 8


def compute_colours(keys) -> dict:
    """One distinct colour per key, in order: Matplotlib's ten-colour cycle while it
    suffices, else the twenty colours of ``tab20`` (repeating only past twenty)."""
    import matplotlib.pyplot as plt

    keys = list(dict.fromkeys(keys))
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if len(keys) > len(cycle):
        cycle = [plt.get_cmap("tab20")(i) for i in range(20)]
    return {k: cycle[i % len(cycle)] for i, k in enumerate(keys)}


def _axes(ax, **subplot_kw):
    """``ax``, or a new single Axes."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(**subplot_kw)
    return ax


def _panels(ax, n_rows: int, n_cols: int, **subplot_kw) -> np.ndarray:
    """``ax`` (or a new grid) as an array of Axes of shape ``(n_rows, n_cols)``."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(n_rows, n_cols, squeeze=False, **subplot_kw)
    return np.asarray(ax, dtype=object).reshape(n_rows, n_cols)


def _title(ax, title: str | None, **kwargs) -> None:
    if title:
        ax.set_title(title, **kwargs)


def find_small_text(fig, *, width_px: float = COLUMN_PX, min_px: float = MIN_TEXT_PX,
                    max_legend: int = MAX_LEGEND_ENTRIES) -> list[str]:
    """What a reader of the book could not read in ``fig``: texts whose capitals are under
    ``min_px`` tall and legends of more than ``max_legend`` entries, once the figure is
    shown in the column.

    The figure is drawn at ``figure.dpi`` and scaled down to ``width_px`` when wider, so
    a text of ``s`` points has capitals ``CAP_HEIGHT * s * min(dpi, width_px / width_in) / 72``
    pixels tall.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    width_px : float > 0 [px]
        Width of the column the figure is shown in.
    min_px : float > 0 [px]
        Smallest height of a capital letter.
    max_legend : int > 0

    Returns
    -------
    problems : list of str
        One line per illegible text (``"'anger' 6.1 px"``, the height of its capitals) or
        crowded legend; empty when
        every visible text and legend passes.
    """
    from matplotlib.legend import Legend
    from matplotlib.text import Text

    px_per_point = _px_per_point(fig, width_px)
    problems = []
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and text.get_figure() is fig:
            size = CAP_HEIGHT * text.get_fontsize() * px_per_point
            if size < min_px:
                problems.append(f"{text.get_text()[:40]!r} {size:.1f} px")
    for legend in fig.findobj(Legend):
        n = len(legend.get_texts())
        if legend.get_visible() and n > max_legend:
            problems.append(f"a legend of {n} entries (at most {max_legend})")
    return problems


def _px_per_point(fig, width_px: float = COLUMN_PX) -> float:
    """Pixels a point of text takes once ``fig`` is shown in a column ``width_px`` wide
    (drawn at ``figure.dpi``, scaled down when wider)."""
    return min(fig.dpi, width_px / fig.get_size_inches()[0]) / 72


def _text_size(ax, points: float = 8.0) -> float:
    """A font size [pt], at least ``points``, that stays legible (capitals a little above
    :data:`MIN_TEXT_PX`) once the figure of ``ax`` is scaled down to the book's column:
    grids of many small images make wide figures, shown smaller."""
    return max(points, 1.05 * MIN_TEXT_PX / CAP_HEIGHT / _px_per_point(ax.figure))


def _legends(ax, first: list, second: list, *, fontsize: float, places: tuple) -> None:
    """One legend of the handles ``first + second`` while it holds at most
    :data:`MAX_LEGEND_ENTRIES`, else one legend each; ``places`` holds the two legends'
    placing keywords (``{"loc": "upper left"}``, or an anchor outside the axes), the
    first also serving the single legend."""
    if len(first) + len(second) <= MAX_LEGEND_ENTRIES:
        ax.legend(handles=first + second, fontsize=fontsize, **places[0])
    else:
        ax.add_artist(ax.legend(handles=first, fontsize=fontsize, **places[0]))
        ax.legend(handles=second, fontsize=fontsize, **places[1])


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


def _legend_below(ax, size: float, **kwargs):
    """The legend of ``ax`` under its x label, where it covers no line: an offset in
    points, which grows with the size of the tick labels and of the x label (a share of
    the axes would change with a later layout)."""
    from matplotlib.transforms import ScaledTranslation

    drop = ScaledTranslation(0, -(2 * 1.3 * size + 16) / 72, ax.figure.dpi_scale_trans)
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0),
                     bbox_transform=ax.transAxes + drop, fontsize=size, frameon=False,
                     borderaxespad=0, **kwargs)
