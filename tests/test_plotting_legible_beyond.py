"""The figures of chapters 9 to 11 (plotting/beyond.py) are legible in the book's column:
each plot function, drawn on small synthetic data shaped like the chapters' (their long
model names, their numbers of lines and panels), leaves find_small_text nothing to report."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from fser_utils import plotting  # noqa: E402
from fser_utils.plotting import find_small_text  # noqa: E402

PROTOCOLS = ["corpus-emodb", "corpus-emovo", "corpus-ravdess", "paper", "speaker"]
PAIRS = ["svm-egemaps", "svm-egemaps-spk", "svm-compare", "svm-compare-spk", "logmel-cnn",
         "logmel-cnn-spk"]
ADVERSARIES = ["logmel-cnn", "logmel-cnn-adv", "logmel-cnn-adv-strong", "logmel-cnn-adv-ramp",
               "logmel-cnn-spk"]


def _history(n=40):
    return pd.DataFrame({"epoch": range(n), "accuracy": np.linspace(0.2, 0.9, n),
                         "val_accuracy": np.linspace(0.2, 0.6, n)})


def _assert_legible(drawn):
    fig = np.ravel(drawn)[0].get_figure()
    fig.canvas.draw()
    assert find_small_text(fig) == []
    plt.close(fig)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_pair_accuracy_is_legible():
    index = pd.MultiIndex.from_product([PAIRS, PROTOCOLS], names=["model", "protocol"])
    acc = np.linspace(30, 70, len(index))
    table = pd.DataFrame({"accuracy": acc, "accuracy_low": acc - 3, "accuracy_high": acc + 3},
                         index=index)
    _assert_legible(plotting.plot_pair_accuracy(table, PAIRS))


def test_learning_curves_one_panel_per_split_are_legible():
    histories = {(p, net): _history() for p in PROTOCOLS
                 for net in ("fser", "logmel-cnn", "logmel-cnn-spk", "tcn")}
    axes = plotting.plot_learning_curves(histories)
    assert axes.shape == (2, 3) and len(axes[0, 0].lines) == 8
    legend = axes[0, 0].get_legend()
    assert [t.get_text() for t in legend.get_texts()][:4] == ["fser", "logmel-cnn",
                                                             "logmel-cnn-spk", "tcn"]
    _assert_legible(axes)


def test_curves_are_legible_alone_and_two_side_by_side():
    curves = {f"alone, x{s}, {e} epochs": np.linspace(3.2, 2.9, 120)
              for s, e in ((1, 12), (1, 120), (3, 12), (10, 12))}
    curves.update({n: np.linspace(3.2, 3.1, 120) for n in ADVERSARIES[1:4]})
    _assert_legible(plotting.plot_curves(curves, reference={"chance": 3.19},
                                         ylabel="speaker cross-entropy [nats]"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for a in axes:
        plotting.plot_curves({n: np.linspace(40, 60, 120) for n in ADVERSARIES[:4]}, ax=a,
                             window=5, reference={"chance (25 speakers)": 3.2})
    _assert_legible(axes)


def test_budget_curves_are_legible():
    rows = [(net, dev, e) for net in ("logmel-cnn", "logmel-cnn-wide", "tcn")
            for dev in ("CPU", "GPU") for e in (40, 120, 300)]
    summary = pd.DataFrame(rows, columns=["net", "device", "epochs"]).assign(
        accuracy=60.0, accuracy_low=57.0, accuracy_high=63.0)
    _assert_legible(plotting.plot_budget_curves(summary, title="speaker split"))


def test_variant_gains_are_legible():
    gains = pd.DataFrame({"protocol": ["paper"] * 4 + ["speaker"] * 4,
                          "name": ["wide", "delta", "fine", "att"] * 2,
                          "val gain": np.linspace(-2, 2, 8), "test gain": np.linspace(1, -1, 8)})
    _assert_legible(plotting.plot_variant_gains(gains, title="Variants of the log-mel CNN"))


def test_speaker_probe_is_legible_with_tilted_names():
    probe = pd.DataFrame([(m, part, seed, 0.5, 0.05, 25 if part == "train" else 5)
                          for m in ADVERSARIES for part in ("train", "val") for seed in (1, 2, 42)],
                         columns=["model", "part", "seed", "probe_accuracy", "majority",
                                  "n_speakers"])
    ax = plotting.plot_speaker_probe(probe, ADVERSARIES, title="Speaker probe, speaker split")
    assert all(t.get_rotation() > 0 for t in ax.get_xticklabels())
    _assert_legible(ax)


def test_speaker_breakdown_is_legible():
    emotions = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"]
    matrix = pd.DataFrame(np.full((7, 7), 100 / 7), index=emotions, columns=emotions)
    by_corpus = pd.DataFrame({"corpus": ["emodb", "emovo", "ravdess"], "accuracy": [60.0, 50, 55],
                              "accuracy_low": [55.0, 45, 50], "accuracy_high": [65.0, 55, 60],
                              "n": [300, 400, 500]})
    breakdowns = {name: {"matrix": matrix, "by_corpus": by_corpus, "runs": 3}
                  for name in ("svm-compare", "logmel-cnn")}
    _assert_legible(plotting.plot_speaker_breakdown(breakdowns))
