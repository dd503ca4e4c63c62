"""The figures of chapters 1 to 5 and the training curves of chapter 8 are legible in
the book's 760-px column: every text at least 8 px, legends of at most 8 entries."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from fser_utils import plotting  # noqa: E402
from fser_utils.plotting import find_small_text  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(n: int, seed: int, test: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rise = 1 - np.exp(-np.arange(n) / 20)
    h = pd.DataFrame({"epoch": range(n), "accuracy": rise,
                      "val_accuracy": 0.8 * rise + rng.uniform(0, 0.05, n)})
    return h.assign(test_accuracy=0.75 * rise) if test else h


def test_recipe_curves_of_chapter_8_keep_a_short_legend():
    """3 seeds and arm (a), test and training each, and the paper's line: 7 entries."""
    histories = {**{f"seed {s}": _history(400 - 100 * s, s) for s in range(3)},
                 "(a) copies before split": _history(400, 9)}
    ax = plotting.plot_recipe_curves(histories, reference={"paper": 95.05})
    ax.figure.set_size_inches(9, 4.5)  # as chapter 8 shows it
    assert find_small_text(ax.figure) == []
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["seed 0", "seed 1", "seed 2", "(a) copies before split", "test",
                     "training", "paper: 95.05 %"]


def test_recipe_curves_split_their_legend_when_many_runs():
    histories = {f"run {k}": _history(50, k) for k in range(7)}
    ax = plotting.plot_recipe_curves(histories, reference={"paper": 95.05})
    assert find_small_text(ax.figure) == []
    legends = [c for c in ax.get_children() if isinstance(c, matplotlib.legend.Legend)]
    assert len(legends) == 2


def _leak_table(arms) -> pd.DataFrame:
    rows = []
    for k, arm in enumerate(arms):
        for epoch in range(1, 11):
            train = 10 * epoch
            rows.append({"arm": arm, "epoch": epoch, "train_accuracy": train,
                         "val_accuracy": train * (0.6 + 0.04 * k),
                         "test_accuracy": train * (0.6 + 0.04 * k), "kept": epoch == 8})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("arms", [["honest", "(a) copies before the split"],
                                  ["honest"] + [f"({c}) arm" for c in "abcdef"]])
def test_leak_curves_are_legible(arms):
    ax = plotting.plot_leak_curves(_leak_table(arms))
    assert find_small_text(ax.figure) == []
    texts = [t.get_text() for legend in ax.figure.findobj(matplotlib.legend.Legend)
             for t in legend.get_texts()]
    assert set(arms) | {"test = training", "epoch kept (validation)"} <= set(texts)
