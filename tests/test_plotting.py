"""Every plot helper lives in the plotting package, draws into the axes it is given and
returns them."""
from __future__ import annotations

import inspect
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from fser_utils import plotting
from fser_utils.studies.evaluate import compute_confusion_matrix, compute_roc_curves
from fser_utils.features import compute_melspectrogram, compute_spectrogram
from fser_utils.plotting import (
    compute_class_means,
    plot_class_means,
    plot_confusion_matrix,
    plot_durations,
    plot_emotion_counts,
    plot_feature_grid,
    plot_feature_image,
    plot_fft,
    plot_gallery,
    plot_group_accuracy,
    plot_history,
    plot_melspectrogram,
    plot_roc_curves,
    plot_speakers_by_sex,
    plot_spectrogram,
    plot_waveform,
)

SR = 22050


@pytest.fixture
def y():
    t = np.arange(SR) / SR
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


# --- the convention ---------------------------------------------------------------------
def test_every_plot_helper_takes_ax_and_lives_here():
    helpers = [name for name in plotting.__all__ if name.startswith("plot_")]
    assert len(helpers) >= 16
    for name in helpers:
        params = inspect.signature(getattr(plotting, name)).parameters
        assert "ax" in params and params["ax"].default is None, name
        assert params["ax"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert "plt.show" not in inspect.getsource(getattr(plotting, name)), name
    # no plot helper is left in another module of the package, and every one in the
    # plotting package is exported by it
    drawing = Path(plotting.__file__).parent
    package = drawing.parent
    elsewhere = [f"{path.relative_to(package)}: {line.strip()[:50]}"
                 for path in package.rglob("*.py") if drawing not in path.parents
                 for line in path.read_text().splitlines() if line.startswith("def plot_")]
    assert not elsewhere, elsewhere
    defined = {line[4:].split("(")[0] for path in drawing.rglob("*.py")
               for line in path.read_text().splitlines() if line.startswith("def plot_")}
    assert defined == set(helpers)


def test_importing_plotting_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, fser_utils.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- signals and spectrograms -----------------------------------------------------------
def test_plot_waveform_time_axis(y):
    fig, ax = plt.subplots()
    assert plot_waveform(y, sr=SR, ax=ax, title="t") is ax
    assert ax.get_xlabel() == "time [s]" and ax.get_title() == "t"
    assert ax.lines[0].get_xdata()[-1] == pytest.approx((SR - 1) / SR)
    assert plot_waveform(y, sr=SR) is not ax  # new figure when no ax


def test_plot_fft_three_panels(y):
    fig, axes = plt.subplots(3, 1)
    got = plot_fft(y, sr=SR, ax=axes, fmax=2000)
    assert got.shape == (3,) and list(got) == list(axes)
    freqs, mag = axes[2].lines[0].get_xdata(), axes[2].lines[0].get_ydata()
    assert freqs.min() >= 0 and abs(freqs[mag.argmax()] - 440) <= 1
    assert axes[1].lines[0].get_xdata().min() < 0
    assert axes[2].get_xlim() == (0, 2000)
    assert plot_fft(y, sr=SR).shape == (3,)


def test_plot_spectrograms(y):
    fig, (a, b) = plt.subplots(1, 2)
    S = compute_melspectrogram(y, sr=SR)
    assert plot_melspectrogram(S, sr=SR, ax=a, title="mel") is a
    assert len(a.collections) == 1 and len(fig.axes) == 3  # plus the colour bar
    L = compute_spectrogram(y, sr=SR, n_fft=2048, hop_length=256)
    assert plot_spectrogram(L, sr=SR, hop_length=256, ax=b, fmax=4000, colorbar=False) is b
    assert b.get_ylim()[1] == 4000 and len(fig.axes) == 3


# --- feature images ---------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(64, 64, 3), (64, 64, 1), (64, 64)])
def test_plot_feature_image(shape):
    ax = plot_feature_image(np.random.default_rng(0).random(shape))
    assert ax.images[0].get_array().shape[:2] == (64, 64)
    assert (ax.images[0].get_cmap().name == "gray") == (len(shape) == 2 or shape[2] == 1)


def test_feature_grid_and_means():
    rng = np.random.default_rng(0)
    X = rng.random((20, 8, 8, 3)).astype(np.float32)
    labels = ["anger"] * 10 + ["calm"] * 7 + ["sadness"] * 3
    axes = plot_feature_grid(X, labels, classes=("anger", "calm", "sadness", "surprise"),
                             n_per_class=4)
    assert axes.shape == (4, 4)
    assert len(axes[2, 3].images) == 0 and len(axes[2, 2].images) == 1  # only 3 sadness
    classes = ("anger", "calm", "surprise")
    means = compute_class_means(X, labels, classes=classes)
    np.testing.assert_allclose(means[0], X[:10].mean(axis=0), rtol=1e-6)
    assert np.isnan(means[2]).all()
    diffs = compute_class_means(X, labels, classes=classes, relative=True)
    assert diffs.shape == (3, 8, 8)
    np.testing.assert_allclose(diffs[0], X[:10].mean(axis=(0, 3)) - X.mean(axis=(0, 3)),
                               atol=1e-6)
    ax = plot_class_means(X, labels, classes=classes)
    assert ax.shape == (3,) and ax[0].get_title() == "anger\n(10)"
    np.testing.assert_allclose(ax[0].images[0].get_array(), means[0], rtol=1e-6)
    assert not ax[2].axison  # no surprise image: an empty panel
    ax = plot_class_means(X, labels, classes=classes, relative=True)
    limit = np.nanmax(np.abs(diffs))
    assert ax[1].images[0].get_clim() == pytest.approx((-limit, limit))


def test_feature_grid_uses_given_axes():
    fig, axes = plt.subplots(2, 3)
    X = np.zeros((6, 4, 4, 1), np.float32)
    got = plot_feature_grid(X, ["anger"] * 3 + ["calm"] * 3, classes=("anger", "calm"),
                            n_per_class=3, ax=axes)
    assert got[1, 2] is axes[1, 2]
    plot_feature_grid(X, ["anger"] * 6, classes=("anger", "calm"), n_per_class=3,
                      ax=axes, row_labels=False)
    assert axes[0, 0].get_ylabel() == "anger\n(3)"  # left as the first call drew it


def test_feature_grid_by_group():
    X = np.random.default_rng(0).random((9, 4, 4, 3)).astype(np.float32)
    labels = ["anger", "calm", "anger"] * 3
    groups = ["emodb"] * 6 + ["ravdess"] * 3
    axes = plot_feature_grid(X, labels, classes=("anger", "calm"), n_per_class=2,
                             groups=groups)
    assert axes.shape == (2, 4)
    assert [axes[0, 0].get_title(loc="left"), axes[0, 2].get_title(loc="left")] == [
        "emodb", "ravdess"]
    assert axes[0, 0].get_ylabel() == "anger\n(6)" and axes[1, 0].get_ylabel() == "calm\n(3)"
    assert len(axes[1, 3].images) == 0  # ravdess has one calm image only


def test_plot_gallery_blanks_spare_axes():
    images = np.random.default_rng(0).random((6, 8, 8, 3))
    ax = plot_gallery(images, titles=[str(i) for i in range(6)], ncols=4)
    assert ax.shape == (8,) and ax[0].get_title() == "0"
    assert len(ax[5].images) == 1 and len(ax[6].images) == 0


# --- corpora ----------------------------------------------------------------------------
def _catalogue():
    return pd.DataFrame({"corpus": ["a", "a", "b"], "speaker": ["a1", "a2", "b1"],
                         "sex": ["female", "male", "male"], "duration": [1.0, 2.0, 3.0]})


def test_corpus_plots():
    from fser_utils.data.corpora import EMOTIONS
    from fser_utils.paper import PAPER_TABLE1

    table = pd.DataFrame({"emotion": list(EMOTIONS) + ["total"], "x": [1] * 8 + [8],
                          "y": [2] * 8 + [16], "count": [3] * 8 + [24]})
    ax = plot_emotion_counts(table)
    assert len(ax.patches) == 16  # two corpora stacked, eight classes
    assert list(ax.collections[0].get_offsets()[:, 1]) == [PAPER_TABLE1[e] for e in EMOTIONS]
    assert [t.get_text() for t in plot_durations(_catalogue()).get_xticklabels()] == ["a", "b"]
    ax = plot_speakers_by_sex(_catalogue())
    assert sorted(p.get_height() for p in ax.patches) == [0, 1, 1, 1]


# --- training and evaluation ------------------------------------------------------------
def test_plot_history_marks_the_kept_epoch():
    history = pd.DataFrame({"epoch": [0, 1, 2], "loss": [2, 1, 0.5], "accuracy": [.2, .5, .7],
                            "val_loss": [2, 1.5, 1.4], "val_accuracy": [.2, .4, .45]})
    ax = plot_history(history, best_epoch=3)
    assert ax.shape == (2,) and ax[1].get_title() == "accuracy"
    assert list(ax[0].lines[0].get_xdata()) == [1, 2, 3]
    assert ax[1].lines[-1].get_xdata()[0] == 3  # the "kept" line


def test_evaluation_plots_return_axes():
    true, pred = ["a", "a", "a", "b", "b", "c"], ["a", "a", "b", "b", "c", "c"]
    ax = plot_confusion_matrix(compute_confusion_matrix(true, pred, classes=["a", "b", "c"]))
    assert ax.get_xlabel() == "predicted emotion"
    labels = np.array(["a", "b", "c"] * 4)
    ax = plot_roc_curves(compute_roc_curves(labels, np.eye(3)[[0, 1, 2] * 4], classes="abc"))
    assert len(ax.get_lines()) == 3 + 2 + 1
    # the legend names the classes only; the averages are named in a note beside it
    assert [t.get_text() for t in ax.get_legend().get_texts()][0].startswith("a (AUC")
    assert len(ax.get_legend().get_texts()) == 3
    assert any("macro-average (dashed)" in t.get_text() for t in ax.texts)


def test_plot_group_accuracy():
    table = pd.DataFrame({"sex": ["female", "male"], "n": [3, 4], "accuracy": [50.0, 75.0],
                          "accuracy_low": [20.0, 40.0], "accuracy_high": [80.0, 100.0]})
    ax = plot_group_accuracy(table, "sex", reference={"paper": 95.05, "chance": 12.5})
    assert len(ax.patches) == 2 and len(ax.get_lines()) >= 2
    assert ax.get_xticklabels()[0].get_text() == "female\n(n=3)"


def test_plot_comparison_draws_the_anchors():
    from fser_utils.studies.compare import ANCHORS
    from fser_utils.plotting import plot_comparison

    index = pd.MultiIndex.from_tuples([("fser", "paper"), ("svm", "speaker")],
                                      names=["model", "protocol"])
    table = pd.DataFrame({"accuracy": [70.0, 40.0], "accuracy_low": [65.0, 30.0],
                          "accuracy_high": [75.0, 50.0], "train_minutes": [10.0, 1.0]},
                         index=index)
    ax = plot_comparison(table)
    levels = {line.get_ydata()[0] for line in ax.lines if len(set(line.get_ydata())) == 1}
    assert {a["accuracy"] for a in ANCHORS} <= levels
    assert len(ax.containers) == 2  # one error bar per model and protocol


def test_recipe_curves_use_a_log_epoch_axis():
    import pandas as pd

    from fser_utils.plotting import plot_recipe_curves

    h = pd.DataFrame({"epoch": range(5), "accuracy": [.1, .2, .3, .4, .5],
                      "val_accuracy": [.1, .2, .2, .3, .3]})
    logged = h.assign(test_accuracy=[.1, .1, .2, .2, .2])
    ax = plot_recipe_curves({"a": h, "b": logged}, reference={"paper": 95.05})
    assert ax.get_xscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["a: val", "a: training", "b: test", "b: training", "paper: 95.05 %"]
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3, 4, 5]  # epochs count from 1
