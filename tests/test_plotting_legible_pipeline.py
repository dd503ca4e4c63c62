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
from fser_utils.plotting import COLUMN_PX, find_small_text  # noqa: E402


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
    fig = ax.figure
    fig.canvas.draw()
    # the picture shown is the figure and the legend beside it (a tight box), scaled down
    shown = fig.get_tightbbox(fig.canvas.get_renderer()).width
    assert find_small_text(fig, width_px=min(fig.dpi, COLUMN_PX / shown)
                           * fig.get_size_inches()[0]) == []
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


# --- chapters 1 to 5: corpora, signals, feature images, the network ---------------------
SR = 22050
EMOTIONS = ["anger", "anxiety", "calm", "disgust", "happiness", "neutral", "sadness", "surprise"]


@pytest.fixture
def catalogue():
    rng = np.random.default_rng(0)
    rows = [{"corpus": corpus, "speaker": f"{corpus}_{k % 6}", "sex": "fm"[k % 2] + "ale",
             "emotion": EMOTIONS[k % 8], "duration": rng.uniform(1, 5)}
            for corpus in ("emodb", "emovo", "ravdess") for k in range(48)]
    return pd.DataFrame(rows)


def test_corpora_figures_are_legible(catalogue):
    from fser_utils.data.catalogue import compute_emotion_table

    plt.rcParams["figure.dpi"] = 90  # as chapter 1 draws them
    try:
        table = compute_emotion_table(catalogue, by_corpus=True)
        for ax in (plotting.plot_emotion_counts(table), plotting.plot_durations(catalogue),
                   plotting.plot_speakers_by_sex(catalogue)):
            assert find_small_text(ax.figure) == []
    finally:
        plt.rcParams["figure.dpi"] = plt.rcParamsDefault["figure.dpi"]


def test_signal_figures_are_legible():
    t = np.arange(SR) / SR
    y = (0.5 * np.sin(2 * np.pi * 220 * t)).astype("float32")
    S = 20 * np.log10(np.abs(np.random.default_rng(0).normal(size=(128, 44))) + 1e-3)
    axes = [plotting.plot_waveform(y, sr=SR, title="a clip"),
            plotting.plot_fft(y, sr=SR, fmax=4000)[0],
            plotting.plot_spectrogram(S, sr=SR, hop_length=512, title="spectrogram"),
            plotting.plot_melspectrogram(S, sr=SR, hop_length=512, title="mel")]
    for ax in axes:
        assert find_small_text(ax.figure) == []


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (96, 64, 64, 3)).astype("float32")
    labels = np.array(EMOTIONS * 12, dtype=object)
    return X, labels


def test_a_feature_image_in_a_wide_row_keeps_a_legible_title(images):
    X, _ = images
    fig, axes = plt.subplots(1, 4, figsize=(12, 3), dpi=85)  # chapters 2 and 3
    for ax in axes:
        plotting.plot_feature_image(X[0], ax=ax, title="4. colour map")
    assert find_small_text(fig) == []


def test_feature_grid_class_means_and_gallery_are_legible(images):
    X, labels = images
    plt.rcParams["figure.dpi"] = 85  # as chapters 3 and 4 draw them
    try:
        groups = np.array(["emodb", "emovo", "ravdess", "nemo", "urdu"] * 20)[:len(X)]
        grid = plotting.plot_feature_grid(X, labels, n_per_class=2, size=0.95, groups=groups)
        means = plotting.plot_class_means(X, labels)
        relative = plotting.plot_class_means(X[..., :1], labels, relative=True)
        gallery = plotting.plot_gallery(X[:21], titles=["original"] + ["copy"] * 20, ncols=7)
        for ax in (grid[0, 0], means[0], relative[0], gallery[0]):
            ax.figure.canvas.draw()  # as shown: hidden axes keep no tick labels either
            assert find_small_text(ax.figure) == []
        assert len(relative[0].figure.axes) == 8 + 1  # the relative view has a colour bar
    finally:
        plt.rcParams["figure.dpi"] = plt.rcParamsDefault["figure.dpi"]


def test_feature_grid_leaves_no_frame_in_an_empty_labelled_cell(images):
    X, labels = images
    ax = plotting.plot_feature_grid(X[labels != "surprise"], labels[labels != "surprise"],
                                    n_per_class=2)
    assert not any(s.get_visible() for s in ax[-1, 0].spines.values())
    assert ax[-1, 0].get_ylabel().startswith("surprise")


def test_history_is_legible():
    h = _history(30, 0)
    h = h.assign(loss=1 - h["accuracy"], val_loss=1 - h["val_accuracy"])
    ax = plotting.plot_history(h, best_epoch=25)
    assert find_small_text(ax[0].figure) == []


def test_architecture_is_legible_at_chapter_5_size():
    pytest.importorskip("keras")
    from fser_utils.models.paper_cnn import build_fser

    fig, ax = plt.subplots(figsize=(12, 3.8), dpi=85)
    plotting.plot_architecture(build_fser(), ax=ax, title="FSER as built here")
    fig.canvas.draw()  # tick labels exist once drawn: none may be left, even hidden
    assert find_small_text(fig) == []


# --- tools/review/check_figures.py: the chapters' own figures -----------------------------
def test_the_chapter_checker_names_the_cell_of_each_small_text(tmp_path):
    """Each figure a notebook shows is checked at the width shown, under its cell's index."""
    import importlib.util
    from pathlib import Path

    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    tool = Path(__file__).parents[1] / "tools" / "review" / "check_figures.py"
    spec = importlib.util.spec_from_file_location("check_figures", tool)
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    draw = ("import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(6, 3), dpi=100)\n"
            "ax.set_title('T', fontsize={})\nax.set_xticks([]); ax.set_yticks([])")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# a chapter"),
        nbformat.v4.new_code_cell("%matplotlib inline\n" + draw.format(6)),
        nbformat.v4.new_code_cell(draw.format(12))])
    nbformat.write(nb, tmp_path / "ch.ipynb")
    records = checker.check_chapter(tmp_path / "ch.ipynb")
    assert [(r["cell"], r["problems"]) for r in records] == [(1, ["'T' 6.1 px"]), (2, [])]
    assert checker.format_record("ch", records[1]) == "ch cell 2 fig 6.0 in: ok"
