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
from fser_utils.plotting import comparison, find_small_text, results  # noqa: E402


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


def _groups(names) -> pd.DataFrame:
    acc = np.linspace(40, 80, len(names))
    return pd.DataFrame({"result": names, "accuracy": acc, "accuracy_low": acc - 4,
                         "accuracy_high": acc + 4, "n": 500})


def test_group_accuracy_names_do_not_run_into_each_other():
    names = ["paper's network", "default model", "per-speaker model",
             "ensemble ≤ 30 min CPU", "ensemble, any budget"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), sharey=True)  # the findings' pair
    for ax in axes:
        results.plot_group_accuracy(_groups(names), "result", ax=ax,
                                    reference={"paper": 95.05}, title="a title")
    assert find_small_text(fig) == []
    renderer = _renderer(fig)
    assert _overlapping(axes[0].get_xticklabels(), renderer) == []
    ax = results.plot_group_accuracy(_groups([f"corpus {i}" for i in range(9)]), "result",
                                     reference={"paper": 95.05, "chance": 12.5})
    assert find_small_text(ax.figure) == []
    ax.set_title("a title set afterwards")
    renderer = _renderer(ax.figure)
    assert _overlapping(ax.get_xticklabels(), renderer) == []
    assert not _legend_covers_lines(ax, renderer)
    legend = ax.get_legend().get_window_extent(renderer)
    assert not any(legend.overlaps(t.get_window_extent(renderer))
                   for t in [ax.title, *ax.get_xticklabels()])


def _comparison(n_models: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for m in range(n_models):
        minutes = 10 ** rng.uniform(-1, 1.6)
        for protocol, base in (("paper", 65), ("speaker", 50)):
            acc = base + rng.uniform(-10, 10)
            rows.append({"model": f"model-{m}", "protocol": protocol, "accuracy": acc,
                         "accuracy_low": acc - 3, "accuracy_high": acc + 3,
                         "train_minutes": minutes * rng.uniform(0.9, 1.1)})
    return pd.DataFrame(rows).set_index(["model", "protocol"])


def test_comparison_has_a_short_legend_and_separate_anchor_labels():
    ax = comparison.plot_comparison(_comparison(9))  # chapter 9: 9 models x 2 protocols
    fig = ax.figure
    assert find_small_text(fig) == []
    assert len(ax.get_legend().get_texts()) <= 8
    renderer = _renderer(fig)
    anchor_labels = [t for t in ax.texts if "%" in t.get_text()]
    assert sum("TIM-Net" in t.get_text() for t in anchor_labels) == 1  # one shared label
    boxes = [t.get_window_extent(renderer) for t in anchor_labels]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    names = [t for t in ax.texts if t.get_text().startswith("model-")]
    assert len(names) == 9


def test_roc_curves_and_heldout_accuracy_are_legible():
    fpr = np.linspace(0, 1, 20)
    curves = {name: {"fpr": fpr, "tpr": np.sqrt(fpr), "auc": 0.8}
              for name in [*EMOTIONS, "micro", "macro"]}
    ax = results.plot_roc_curves(curves, title="ROC curves, fser-quick-paper")
    assert find_small_text(ax.figure) == []
    table = pd.DataFrame([{"recipe": r, "heldout": c, "accuracy_own": 50.0,
                           "accuracy_own_low": 45.0, "accuracy_own_high": 55.0}
                          for r in ("recipe a", "recipe b") for c in ("crema-d", "nemo", "tess")])
    fig, ax = plt.subplots(figsize=(9, 3.8))  # the model card's size
    results.plot_heldout_accuracy(table, ax=ax, target=50)
    assert find_small_text(fig) == []
    assert not _legend_covers_lines(ax, _renderer(fig))
