"""Signals and what is computed from them: waveforms, spectra, spectrograms (chapter 2)
and the feature images the network sees (chapters 3 and 4)."""
from __future__ import annotations

import numpy as np

from fser_utils.data.corpora import EMOTIONS
from fser_utils.features.images import compute_class_means
from fser_utils.plotting._style import _axes, _legible, _panels, _text_size, _title

__all__ = ["plot_waveform", "plot_fft", "plot_spectrogram", "plot_melspectrogram",
           "plot_feature_image", "plot_feature_grid", "plot_class_means", "plot_gallery"]


# --- signals and spectrograms (chapter 2) ----------------------------------------------
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
    ax : matplotlib Axes
    """
    ax = _axes(ax, figsize=(8, 2.5))
    t = np.arange(len(y)) / sr
    ax.plot(t, y, linewidth=kwargs.pop("linewidth", 0.5), **kwargs)
    ax.set(xlabel="time [s]", ylabel="amplitude", xlim=(0, len(y) / sr))
    _title(ax, title)
    _legible(ax, 10)  # chapters draw these panels in grids up to 11 in wide
    return ax


def plot_fft(y: np.ndarray, *, sr: int, ax=None, fmax: float | None = None):
    """The signal, its double-sided and its positive-frequency magnitude spectrum (Figure 2).

    The spectrum is :func:`fser_utils.features.compute_spectrum` (``scipy.fft``) of the
    whole signal: it says which frequencies the clip contains, but not when.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int > 0 [Hz]
    ax : array of 3 Axes or None
    fmax : float > 0 [Hz] or None
        Upper limit of the positive-frequency panel (default ``sr / 2``).

    Returns
    -------
    ax : np.ndarray of Axes [shape=(3,)]
        Signal, double-sided spectrum, positive spectrum.
    """
    from fser_utils.features import compute_spectrum

    ax = _panels(ax, 3, 1, figsize=(8, 6.5), constrained_layout=True)[:, 0]
    freqs, mag = compute_spectrum(y, sr=sr)
    plot_waveform(y, sr=sr, ax=ax[0], title="signal")
    ax[1].plot(freqs, mag, linewidth=0.5)
    ax[1].set(xlabel="frequency [Hz]", ylabel="|FFT|", xlim=(-sr / 2, sr / 2),
              title="double-sided magnitude spectrum")
    pos = freqs >= 0
    ax[2].plot(freqs[pos], mag[pos], linewidth=0.5)
    ax[2].set(xlabel="frequency [Hz]", ylabel="|FFT|", xlim=(0, fmax or sr / 2),
              title="positive-frequency spectrum")
    for a in ax[1:]:
        _legible(a, 10)
    return ax


def _specshow(S_db, *, sr, hop_length, n_fft, y_axis, ax, colorbar, title, cmap, ylabel):
    import librosa.display
    from matplotlib.ticker import MaxNLocator

    ax = _axes(ax, figsize=(8, 3.5))
    mesh = librosa.display.specshow(S_db, sr=sr, hop_length=hop_length, n_fft=n_fft,
                                    x_axis="time", y_axis=y_axis, ax=ax, cmap=cmap)
    ax.set(xlabel="time [s]", ylabel=ylabel)
    _title(ax, title)
    size = _legible(ax, 10)
    if colorbar:
        bar = ax.figure.colorbar(mesh, ax=ax, format="%+2.0f")
        bar.set_label("dB", fontsize=size)
        bar.ax.tick_params(labelsize=size)
        bar.locator = MaxNLocator(5)  # five labels, not nine, at the larger size
        bar.update_ticks()
    return ax


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
    ax : matplotlib Axes
        The spectrogram is ``ax.collections[0]``.
    """
    ax = _specshow(S_db, sr=sr, hop_length=hop_length, n_fft=2 * (S_db.shape[0] - 1),
                   y_axis="linear", ax=ax, colorbar=colorbar, title=title, cmap=cmap,
                   ylabel="frequency [Hz]")
    if fmax:
        ax.set_ylim(0, fmax)
    return ax


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
    ax : matplotlib Axes
        The spectrogram is ``ax.collections[0]``.
    """
    return _specshow(S_db, sr=sr, hop_length=hop_length, n_fft=n_fft, y_axis="mel", ax=ax,
                     colorbar=colorbar, title=title, cmap=cmap,
                     ylabel="frequency [Hz] (mel scale)")


# --- feature images (chapters 3 and 4) --------------------------------------------------
def _show_image(ax, image: np.ndarray, **kwargs) -> None:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    # vmin/vmax pin the scale: a dark image must not be stretched to look bright
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1, **kwargs)


def plot_feature_image(image: np.ndarray, *, ax=None, title: str | None = None):
    """One feature image as the network sees it (64 x 64 pixels, no axes).

    Parameters
    ----------
    image : np.ndarray [shape=(h, w, 3) or (h, w, 1) or (h, w)]
        Values in ``[0, 1]``; single-channel images are drawn in grey.
    ax : Axes or None
    title : str or None

    Returns
    -------
    ax : matplotlib Axes
        The image is ``ax.images[0]``.
    """
    ax = _axes(ax, figsize=(2, 2))
    _show_image(ax, image, interpolation="nearest", aspect="equal")
    ax.set_xticks([])
    ax.set_yticks([])
    _title(ax, title, fontsize=_text_size(ax, 8))
    return ax


def plot_feature_grid(X: np.ndarray, labels, *, classes=EMOTIONS, n_per_class: int = 4,
                      seed: int = 0, ax=None, size: float = 1.1, row_labels: bool = True,
                      groups=None):
    """A few feature images per class: one row per class, one column per example.

    With ``groups`` (e.g. the corpus of each image), each group gets ``n_per_class``
    columns of its own, titled with its name, in the order the groups first appear; the
    examples of group ``k`` are drawn with seed ``seed + k``.

    Parameters
    ----------
    X : np.ndarray [shape=(n, h, w, c)]
    labels : sequence [shape=(n,)]
        Class of each image.
    classes : sequence of str
        Rows, in order; a class with no image gets an empty row.
    n_per_class : int > 0
        Examples drawn at random (``seed``) from each class.
    ax : array of Axes [shape=(len(classes), n_per_class)] or None
    size : float [inches]
        Side of one image when a new figure is made.
    row_labels : bool
        Name each row (class and its number of images) on its left.
    groups : sequence [shape=(n,)] or None
        Group of each image; ``None``: one group.

    Returns
    -------
    ax : np.ndarray of Axes [shape=(len(classes), n_per_class * number of groups)]
    """
    labels = np.asarray(labels, dtype=object)
    if groups is not None:
        groups = np.asarray(groups, dtype=object)
        names = list(dict.fromkeys(groups))
        n = n_per_class
        ax = _panels(ax, len(classes), n * len(names), constrained_layout=True,
                     figsize=(size * n * len(names) + 1, size * len(classes) + 0.4))
        for k, name in enumerate(names):
            mask = groups == name
            plot_feature_grid(X[mask], labels[mask], classes=classes, n_per_class=n,
                              seed=seed + k, ax=ax[:, n * k:n * (k + 1)], row_labels=False)
            ax[0, n * k].set_title(name, fontsize=_text_size(ax[0, 0], 9), loc="left")
        if row_labels:
            _label_rows(ax[:, 0], classes, labels)
        return ax
    rng = np.random.default_rng(seed)
    ax = _panels(ax, len(classes), n_per_class, constrained_layout=True,
                 figsize=(size * n_per_class, size * len(classes)))
    for row, cls in zip(ax, classes):
        idx = np.flatnonzero(labels == cls)
        chosen = rng.choice(idx, size=min(n_per_class, idx.size), replace=False) if idx.size else []
        for j, a in enumerate(row):
            if j < len(chosen):
                plot_feature_image(X[chosen[j]], ax=a)
            else:
                a.axis("off")
    if row_labels:
        _label_rows(ax[:, 0], classes, labels)
    return ax


def _label_rows(first_column, classes, labels) -> None:
    """Name each row on its left: the class and its number of images."""
    for a, cls in zip(first_column, classes):
        a.axis("on")
        a.set_xticks([])
        a.set_yticks([])
        if not a.images:  # no image in this row: a label without an empty frame
            for spine in a.spines.values():
                spine.set_visible(False)
        a.set_ylabel(f"{cls}\n({int((labels == cls).sum())})", fontsize=_text_size(a, 8),
                     rotation=0, ha="right", va="center")


def plot_class_means(X: np.ndarray, labels, *, classes=EMOTIONS, ax=None, size: float = 1.4,
                     relative: bool = False, cmap: str = "RdBu_r"):
    """The mean feature image of each class, in one row (see :func:`compute_class_means`).

    Parameters
    ----------
    X : np.ndarray [shape=(n, h, w, c)]
    labels : sequence [shape=(n,)]
    classes : sequence of str
    ax : array of Axes [shape=(len(classes),)] or None
    size : float [inches]
    relative : bool
        Draw each class mean minus the mean of all images on a diverging colour map
        shared by all panels, with a colour bar: where a class is brighter (red) or
        darker (blue) than average.
    cmap : str
        Colour map of the relative view.

    Returns
    -------
    ax : np.ndarray of Axes [shape=(len(classes),)]
    """
    labels = np.asarray(labels, dtype=object)
    ax = _panels(ax, 1, len(classes), constrained_layout=True,
                 figsize=(size * len(classes), size))[0]
    means = compute_class_means(X, labels, classes=classes, relative=relative)
    finite = np.isfinite(means)
    limit = float(np.abs(means[finite]).max()) if relative and finite.any() else 1.0
    for k, (a, cls) in enumerate(zip(ax, classes)):
        count = int((labels == cls).sum())
        # the count on a line of its own: on one line, neighbouring titles ran together
        title = f"{cls}\n({count})"
        if not count:
            a.axis("off")
        elif relative:
            image = a.imshow(means[k], cmap=cmap, vmin=-limit, vmax=limit,
                             interpolation="nearest")
            a.set_xticks([])
            a.set_yticks([])
            a.set_title(title, fontsize=_text_size(a, 8))
        else:
            plot_feature_image(means[k], ax=a, title=title)
    if relative and any(a.images for a in ax):
        bar = ax[0].figure.colorbar(image, ax=list(ax), fraction=0.05, pad=0.02)
        bar.ax.tick_params(labelsize=_text_size(ax[0], 8))
    return ax


def plot_gallery(images, *, titles=None, ncols: int = 7, ax=None):
    """Feature images in a grid, e.g. an image and its augmented copies.

    Parameters
    ----------
    images : np.ndarray [shape=(n, h, w, c)] in [0, 1]
        Images as the network sees them (low mel bins at the bottom row).
    titles : sequence of str or None
    ncols : int > 0
    ax : array of Axes or None
        At least ``n`` Axes, in any shape; those left over are blanked.

    Returns
    -------
    ax : np.ndarray of Axes [shape=(n_axes,)]
        Flattened, in reading order.
    """
    images = np.asarray(images)
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    if ax is None:
        ax = _panels(None, nrows, ncols, figsize=(1.4 * ncols, 1.5 * nrows))
    ax = np.ravel(np.asarray(ax, dtype=object))
    for i, a in enumerate(ax):
        a.axis("off")
        # no tick labels at all: hidden ones would still count as (small) text
        a.set_xticks([])
        a.set_yticks([])
        if i < n:
            _show_image(a, images[i])
            if titles is not None:
                a.set_title(titles[i], fontsize=_text_size(a, 8))
    return ax
