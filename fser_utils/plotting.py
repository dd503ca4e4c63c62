"""Figures of signals and features: waveform, FFT, spectrograms, feature images.

Every function draws into ``ax`` (or ``axes``) when given, else into a new figure, and
returns what it drew, so that chapters can arrange, label and reuse the plots.
Nothing here calls ``plt.show()``.
"""
from __future__ import annotations

import numpy as np

from .corpora import EMOTIONS

__all__ = [
    "plot_waveform",
    "plot_fft",
    "plot_spectrogram",
    "plot_melspectrogram",
    "plot_feature_image",
    "plot_feature_grid",
    "plot_class_means",
]


def _axes(ax, **subplot_kw):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(**subplot_kw)
    return ax


def plot_waveform(y: np.ndarray, *, sr: int, ax=None, title: str | None = None, **kwargs):
    """Amplitude against time (the paper's Figure 1).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int > 0 [Hz]
    ax : matplotlib Axes or None
    title : str or None
    **kwargs
        Passed to ``ax.plot`` (e.g. ``color``, ``linewidth``).

    Returns
    -------
    line : matplotlib.lines.Line2D
    """
    ax = _axes(ax, figsize=(8, 2.5))
    t = np.arange(len(y)) / sr
    (line,) = ax.plot(t, y, linewidth=kwargs.pop("linewidth", 0.5), **kwargs)
    ax.set(xlabel="time [s]", ylabel="amplitude", xlim=(0, len(y) / sr))
    if title:
        ax.set_title(title)
    return line


def plot_fft(y: np.ndarray, *, sr: int, axes=None, fmax: float | None = None):
    """The signal, its double-sided and its positive-frequency magnitude spectrum (Figure 2).

    The spectrum is :func:`fser_utils.features.compute_spectrum` (``scipy.fft``) of the
    whole signal: it says which frequencies the clip contains, but not when.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int > 0 [Hz]
    axes : sequence of 3 Axes or None
    fmax : float > 0 [Hz] or None
        Upper limit of the positive-frequency panel (default ``sr / 2``).

    Returns
    -------
    lines : list of 3 matplotlib.lines.Line2D
        Signal, double-sided spectrum, positive spectrum.
    """
    import matplotlib.pyplot as plt

    from .features import compute_spectrum

    if axes is None:
        _, axes = plt.subplots(3, 1, figsize=(8, 6.5), constrained_layout=True)
    freqs, mag = compute_spectrum(y, sr=sr)
    lines = [plot_waveform(y, sr=sr, ax=axes[0], title="signal")]
    (line,) = axes[1].plot(freqs, mag, linewidth=0.5)
    axes[1].set(xlabel="frequency [Hz]", ylabel="|FFT|", xlim=(-sr / 2, sr / 2),
                title="double-sided magnitude spectrum")
    lines.append(line)
    pos = freqs >= 0
    (line,) = axes[2].plot(freqs[pos], mag[pos], linewidth=0.5)
    axes[2].set(xlabel="frequency [Hz]", ylabel="|FFT|", xlim=(0, fmax or sr / 2),
                title="positive-frequency spectrum")
    lines.append(line)
    return lines


def _colorbar(mesh, ax, label="dB"):
    return ax.figure.colorbar(mesh, ax=ax, format="%+2.0f", label=label)


def plot_spectrogram(S_db: np.ndarray, *, sr: int, hop_length: int, ax=None,
                     fmax: float | None = None, colorbar: bool = True,
                     title: str | None = None, cmap: str = "magma"):
    """A linear-frequency spectrogram in dB (see :func:`fser_utils.features.compute_spectrogram`).

    Parameters
    ----------
    S_db : np.ndarray [shape=(1 + n_fft // 2, n_frames)] [dB]
    sr : int > 0 [Hz]
    hop_length : int > 0 [samples]
    ax : Axes or None
    fmax : float [Hz] or None
        Upper frequency shown (default ``sr / 2``).
    colorbar : bool
    title : str or None
    cmap : str

    Returns
    -------
    mesh : matplotlib.collections.QuadMesh
    """
    import librosa.display

    ax = _axes(ax, figsize=(8, 3.5))
    n_fft = 2 * (S_db.shape[0] - 1)
    mesh = librosa.display.specshow(S_db, sr=sr, hop_length=hop_length, n_fft=n_fft,
                                    x_axis="time", y_axis="linear", ax=ax, cmap=cmap)
    ax.set(xlabel="time [s]", ylabel="frequency [Hz]")
    if fmax:
        ax.set_ylim(0, fmax)
    if colorbar:
        _colorbar(mesh, ax)
    if title:
        ax.set_title(title)
    return mesh


def plot_melspectrogram(S_db: np.ndarray, *, sr: int, hop_length: int = 512, ax=None,
                        colorbar: bool = True, title: str | None = None,
                        cmap: str = "magma", n_fft: int = 512):
    """A mel-spectrogram in dB with time and frequency axes and a colour bar (Figure 3).

    Parameters
    ----------
    S_db : np.ndarray [shape=(n_mels, n_frames)] [dB]
        From :func:`fser_utils.features.compute_melspectrogram`.
    sr : int > 0 [Hz]
    hop_length : int > 0 [samples]
    ax : Axes or None
    colorbar : bool
    title : str or None
    cmap : str
    n_fft : int > 0 [samples]
        Only used to place the mel bands on the frequency axis.

    Returns
    -------
    mesh : matplotlib.collections.QuadMesh
    """
    import librosa.display

    ax = _axes(ax, figsize=(8, 3.5))
    mesh = librosa.display.specshow(S_db, sr=sr, hop_length=hop_length, n_fft=n_fft,
                                    x_axis="time", y_axis="mel", ax=ax, cmap=cmap)
    ax.set(xlabel="time [s]", ylabel="frequency [Hz] (mel scale)")
    if colorbar:
        _colorbar(mesh, ax)
    if title:
        ax.set_title(title)
    return mesh


def plot_feature_image(image: np.ndarray, *, ax=None, title: str | None = None):
    """One feature image as the network sees it (64 x 64 pixels, no axes).

    Parameters
    ----------
    image : np.ndarray [shape=(h, w, 3) or (h, w, 1) or (h, w)]
        Values in ``[0, 1]``; single-channel images are drawn in grey.

    Returns
    -------
    im : matplotlib.image.AxesImage
    """
    ax = _axes(ax, figsize=(2, 2))
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    grey = image.ndim == 2
    im = ax.imshow(image, cmap="gray" if grey else None, vmin=0, vmax=1,
                   interpolation="nearest", aspect="equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
    return im


def _grid(n_rows, n_cols, axes, size):
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(n_rows, n_cols, figsize=(size * n_cols, size * n_rows),
                               squeeze=False, constrained_layout=True)
    return np.asarray(axes).reshape(n_rows, n_cols)


def plot_feature_grid(X: np.ndarray, labels, *, classes=EMOTIONS, n_per_class: int = 4,
                      seed: int = 0, axes=None, size: float = 1.1, row_labels: bool = True):
    """A few feature images per class: one row per class, one column per example.

    Parameters
    ----------
    X : np.ndarray [shape=(n, h, w, c)]
    labels : sequence [shape=(n,)]
        Class of each image.
    classes : sequence of str
        Rows, in order; a class with no image gets an empty row.
    n_per_class : int > 0
        Examples drawn at random (``seed``) from each class.
    axes : array of Axes [shape=(len(classes), n_per_class)] or None
    size : float [inches]
        Side of one image when a new figure is made.
    row_labels : bool
        Name each row (class and its number of images) on its left.

    Returns
    -------
    axes : np.ndarray of Axes [shape=(len(classes), n_per_class)]
    """
    labels = np.asarray(labels, dtype=object)
    rng = np.random.default_rng(seed)
    axes = _grid(len(classes), n_per_class, axes, size)
    for row, cls in zip(axes, classes):
        idx = np.flatnonzero(labels == cls)
        chosen = rng.choice(idx, size=min(n_per_class, idx.size), replace=False) if idx.size else []
        for j, ax in enumerate(row):
            if j < len(chosen):
                plot_feature_image(X[chosen[j]], ax=ax)
            else:
                ax.axis("off")
        if row_labels:
            row[0].axis("on")
            row[0].set_xticks([])
            row[0].set_yticks([])
            row[0].set_ylabel(f"{cls}\n({idx.size})", fontsize=8, rotation=0, ha="right",
                              va="center")
    return axes


def plot_class_means(X: np.ndarray, labels, *, classes=EMOTIONS, axes=None, size: float = 1.4,
                     relative: bool = False, cmap: str = "RdBu_r"):
    """The mean feature image of each class, in one row.

    Parameters
    ----------
    X : np.ndarray [shape=(n, h, w, c)]
    labels : sequence [shape=(n,)]
    classes : sequence of str
    axes : sequence of Axes [shape=(len(classes),)] or None
    size : float [inches]
    relative : bool
        Draw each class mean *minus the mean of all images* (channels averaged), on a
        diverging colour map shared by all panels: where a class is brighter (red) or
        darker (blue) than average.
    cmap : str
        Colour map of the relative view.

    Returns
    -------
    means : np.ndarray [shape=(len(classes), h, w, c)]
        What was drawn (NaN for a class with no image); with ``relative`` the
        differences, shape ``(len(classes), h, w)``.
    """
    labels = np.asarray(labels, dtype=object)
    axes = _grid(1, len(classes), axes, size)[0]
    means = np.full((len(classes),) + X.shape[1:], np.nan, dtype=np.float32)
    counts = []
    for k, cls in enumerate(classes):
        idx = np.flatnonzero(labels == cls)
        counts.append(idx.size)
        if idx.size:
            means[k] = X[idx].mean(axis=0)
    if relative:
        means = means.mean(axis=-1) - X.mean(axis=(0, -1))
        limit = float(np.nanmax(np.abs(means))) if np.isfinite(means).any() else 1.0
    for k, (ax, cls) in enumerate(zip(axes, classes)):
        if not counts[k]:
            ax.axis("off")
        elif relative:
            ax.imshow(means[k], cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{cls} ({counts[k]})", fontsize=8)
        else:
            plot_feature_image(means[k], ax=ax, title=f"{cls} ({counts[k]})")
    return means
