"""What every figure shares: its axes (given or new), its title, its colours.

matplotlib is imported inside the functions, only when a figure is drawn.
"""
from __future__ import annotations

import numpy as np

__all__ = ["compute_colours"]


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
