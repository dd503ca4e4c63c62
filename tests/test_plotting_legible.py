"""Figures are legible in the book's column: find_small_text says what is not."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fser_utils.plotting import COLUMN_PX, find_small_text  # noqa: E402


def test_find_small_text_scales_wide_figures_down_to_the_column():
    fig, ax = plt.subplots(figsize=(COLUMN_PX / 100, 3), dpi=100)
    ax.set_title("fits", fontsize=8)  # 8 pt at 100 dpi: 11.1 px, capitals 8.1 px
    assert find_small_text(fig) == []
    ax.set_title("fits", fontsize=6)  # a font of 8.3 px: capitals of 6.1 px
    assert find_small_text(fig) == ["'fits' 6.1 px"]
    ax.set_title("fits", fontsize=8)
    fig.set_size_inches(2 * COLUMN_PX / 100, 3)  # twice as wide: shown at half size
    assert find_small_text(fig) and "'fits' 4.1 px" in find_small_text(fig)
    plt.close(fig)


def test_find_small_text_counts_legend_entries():
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    for i in range(9):
        ax.plot([0, 1], [i, i], label=f"line {i}")
    ax.legend(fontsize=10)
    assert find_small_text(fig) == ["a legend of 9 entries (at most 8)"]
    plt.close(fig)
