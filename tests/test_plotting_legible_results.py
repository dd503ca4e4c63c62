"""The figures of fser_utils.plotting.results are legible in the book's 760-px column:
no text under 8 px, legends of at most 8 entries, no overlapping tick labels, and legends
that do not cover what they name."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from fser_utils.data.corpora import EMOTIONS  # noqa: E402
from fser_utils.plotting import find_small_text, results  # noqa: E402


@pytest.fixture(autouse=True)
def _book_dpi():
    with plt.rc_context({"figure.dpi": 90}):  # the chapters' setting
        yield
    plt.close("all")


def _renderer(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _overlapping(labels, renderer) -> list:
    """Pairs of neighbouring labels that touch; slanted labels are measured across their
    slant (their boxes overlap even when the letters do not)."""
    labels = [t for t in labels if t.get_visible() and t.get_text()]
    pairs = []
    for a, b in zip(labels, labels[1:]):
        angle = np.deg2rad(a.get_rotation())
        if angle:
            # slanted labels are anchored at their right end
            gap_px = abs(b.get_window_extent(renderer).x1 - a.get_window_extent(renderer).x1)
            height_px = a.get_fontsize() * a.figure.dpi / 72
            if gap_px * np.sin(angle) < height_px:
                pairs.append((a.get_text(), b.get_text()))
        elif a.get_window_extent(renderer).overlaps(b.get_window_extent(renderer)):
            pairs.append((a.get_text(), b.get_text()))
    return pairs


def _legend_covers_lines(ax, renderer) -> bool:
    legend = ax.get_legend().get_window_extent(renderer)
    for line in ax.get_lines():
        xy = ax.transData.transform(np.column_stack(line.get_data()).astype(float))
        if any(legend.contains(x, y) for x, y in xy):
            return True
    return False


def _confusion() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    m = rng.uniform(0, 20, (8, 8)) + np.diag(rng.uniform(40, 100, 8))
    m = 100 * m / m.sum(axis=1, keepdims=True)
    return pd.DataFrame(m, index=EMOTIONS, columns=EMOTIONS)


def _reliability(shift: float) -> pd.DataFrame:
    conf = np.linspace(0.05, 0.95, 10)
    return pd.DataFrame({"confidence": conf, "accuracy": np.clip(conf - shift, 0, 1),
                         "n": np.arange(10)})


def test_confusion_matrix_is_legible_alone_and_side_by_side():
    ax = results.plot_confusion_matrix(_confusion(), title="ours")
    fig = ax.figure
    assert find_small_text(fig) == []
    cells = [t for t in ax.texts if t.get_text()]
    assert len(cells) == 64 and all(t.get_fontsize() >= 9 for t in cells)
    assert all("." not in t.get_text() for t in cells)  # whole percent
    assert _overlapping(ax.get_xticklabels(), _renderer(fig)) == []
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))  # the chapters' pair
    for a in axes:
        results.plot_confusion_matrix(_confusion(), ax=a, title="a title")
    assert find_small_text(fig) == []
    assert _overlapping(axes[0].get_xticklabels(), _renderer(fig)) == []


def test_reliability_legend_covers_no_line_and_names_each_line_once():
    ax = results.plot_reliability({"network": _reliability(0.2),
                                   "calibrated": _reliability(0.02)})
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == len(set(labels)) == 3 and "calibrated" in labels
    assert find_small_text(ax.figure) == []
    assert not _legend_covers_lines(ax, _renderer(ax.figure))
    fig, ax = plt.subplots(figsize=(4.6, 4.6))  # the model card's size
    results.plot_reliability({"network": _reliability(0.2),
                              "calibrated": _reliability(0.02)}, ax=ax)
    assert find_small_text(fig) == []
    assert not _legend_covers_lines(ax, _renderer(fig))
    renderer = _renderer(fig)
    assert not ax.get_legend().get_window_extent(renderer).overlaps(
        ax.xaxis.label.get_window_extent(renderer))
