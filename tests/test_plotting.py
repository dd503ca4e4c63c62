"""Plot helpers draw into the axes they are given and return what they drew."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fser_utils.features import compute_melspectrogram, compute_spectrogram
from fser_utils.plotting import (
    plot_class_means,
    plot_feature_grid,
    plot_feature_image,
    plot_fft,
    plot_melspectrogram,
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


def test_plot_waveform_time_axis(y):
    fig, ax = plt.subplots()
    line = plot_waveform(y, sr=SR, ax=ax, title="t")
    assert line.axes is ax and ax.get_xlabel() == "time [s]"
    assert line.get_xdata()[-1] == pytest.approx((SR - 1) / SR)
    assert plot_waveform(y, sr=SR).axes is not ax  # new figure when no ax


def test_plot_fft_three_panels(y):
    fig, axes = plt.subplots(3, 1)
    lines = plot_fft(y, sr=SR, axes=axes, fmax=2000)
    assert [line.axes for line in lines] == list(axes)
    freqs = lines[2].get_xdata()
    mag = lines[2].get_ydata()
    assert freqs.min() >= 0 and abs(freqs[mag.argmax()] - 440) <= 1
    assert lines[1].get_xdata().min() < 0
    assert axes[2].get_xlim() == (0, 2000)


def test_plot_spectrograms(y):
    fig, (a, b) = plt.subplots(1, 2)
    S = compute_melspectrogram(y, sr=SR)
    mesh = plot_melspectrogram(S, sr=SR, ax=a, title="mel")
    assert mesh.axes is a and len(fig.axes) == 3  # plus the colour bar
    L = compute_spectrogram(y, sr=SR, n_fft=2048, hop_length=256)
    mesh = plot_spectrogram(L, sr=SR, hop_length=256, ax=b, fmax=4000, colorbar=False)
    assert mesh.axes is b and b.get_ylim()[1] == 4000


@pytest.mark.parametrize("shape", [(64, 64, 3), (64, 64, 1), (64, 64)])
def test_plot_feature_image(shape):
    im = plot_feature_image(np.random.default_rng(0).random(shape))
    assert im.get_array().shape[:2] == (64, 64)


def test_feature_grid_and_means():
    rng = np.random.default_rng(0)
    X = rng.random((20, 8, 8, 3)).astype(np.float32)
    labels = ["anger"] * 10 + ["calm"] * 7 + ["sadness"] * 3
    axes = plot_feature_grid(X, labels, classes=("anger", "calm", "sadness", "surprise"),
                             n_per_class=4)
    assert axes.shape == (4, 4)
    assert len(axes[2, 3].images) == 0 and len(axes[2, 2].images) == 1  # only 3 sadness
    means = plot_class_means(X, labels, classes=("anger", "calm", "surprise"))
    np.testing.assert_allclose(means[0], X[:10].mean(axis=0), rtol=1e-6)
    assert np.isnan(means[2]).all()
    diffs = plot_class_means(X, labels, classes=("anger", "calm", "surprise"), relative=True)
    assert diffs.shape == (3, 8, 8)
    np.testing.assert_allclose(diffs[0], X[:10].mean(axis=(0, 3)) - X.mean(axis=(0, 3)),
                               atol=1e-6)


def test_feature_grid_uses_given_axes():
    fig, axes = plt.subplots(2, 3)
    X = np.zeros((6, 4, 4, 1), np.float32)
    got = plot_feature_grid(X, ["anger"] * 3 + ["calm"] * 3, classes=("anger", "calm"),
                            n_per_class=3, axes=axes)
    assert got[1, 2] is axes[1, 2]
    plot_feature_grid(X, ["anger"] * 6, classes=("anger", "calm"), n_per_class=3,
                      axes=axes, row_labels=False)
    assert axes[0, 0].get_ylabel() == "anger\n(3)"  # left as the first call drew it

