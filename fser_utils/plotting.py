"""Every figure of the package: signals, features, corpora, training, evaluation, comparison.

One convention for every ``plot_*`` helper:

- it takes a keyword ``ax=None`` and **returns the axes it drew into**, so that a
  chapter can label, rearrange or save the figure (``ax.figure``);
- a *single-panel* helper takes and returns one ``matplotlib.axes.Axes``;
- a *multi-panel* helper (:func:`plot_fft`, :func:`plot_feature_grid`,
  :func:`plot_class_means`, :func:`plot_history`, :func:`plot_gallery`) takes and
  returns an ``np.ndarray`` of Axes whose shape its docstring states;
- with ``ax=None`` a new figure is made with pyplot; nothing here calls
  ``plt.show()`` or closes a figure it did not make.

The numbers behind a figure come from ``compute_*`` functions elsewhere
(:mod:`~fser_utils.features`, :mod:`~fser_utils.data.catalogue`,
:mod:`~fser_utils.studies.evaluate`, ...), so that they can be tested and printed without
drawing. matplotlib is imported only when a figure is drawn: importing this module
costs no more than numpy.
"""
from __future__ import annotations

import functools
import os

import numpy as np

from fser_utils.atomic import write_atomic
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
# computed in images; chapter 3 still calls it as plotting.compute_class_means
from fser_utils.features.images import compute_class_means

__all__ = [
    "compute_colours",
    "plot_reliability",
    "plot_heldout_accuracy",
    "plot_recipe_curves",
    "plot_leak_curves",
    "plot_waveform",
    "plot_fft",
    "plot_spectrogram",
    "plot_melspectrogram",
    "plot_feature_image",
    "plot_feature_grid",
    "plot_class_means",
    "plot_emotion_counts",
    "plot_durations",
    "plot_speakers_by_sex",
    "display_examples",
    "plot_gallery",
    "plot_architecture",
    "plot_history",
    "plot_confusion_matrix",
    "plot_roc_curves",
    "save_evaluation_figures",
    "plot_group_accuracy",
    "plot_comparison",
    "plot_emotion_timeline",
]


# --- the convention ---------------------------------------------------------------------

def compute_colours(keys) -> dict:
    """One distinct colour per key, in order: Matplotlib's ten-colour cycle while it
    suffices, else the twenty colours of ``tab20`` (repeating only past twenty)."""
    import matplotlib.pyplot as plt

    keys = list(dict.fromkeys(keys))
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if len(keys) > len(cycle):
        cycle = [plt.get_cmap("tab20")(i) for i in range(20)]
    return {k: cycle[i % len(cycle)] for i, k in enumerate(keys)}


def _axes(ax, **subplot_kw):
    """``ax``, or a new single Axes."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(**subplot_kw)
    return ax


def _panels(ax, n_rows: int, n_cols: int, **subplot_kw) -> np.ndarray:
    """``ax`` (or a new grid) as an array of Axes of shape ``(n_rows, n_cols)``."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(n_rows, n_cols, squeeze=False, **subplot_kw)
    return np.asarray(ax, dtype=object).reshape(n_rows, n_cols)


def _title(ax, title: str | None, **kwargs) -> None:
    if title:
        ax.set_title(title, **kwargs)


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
    return ax


def _specshow(S_db, *, sr, hop_length, n_fft, y_axis, ax, colorbar, title, cmap, ylabel):
    import librosa.display

    ax = _axes(ax, figsize=(8, 3.5))
    mesh = librosa.display.specshow(S_db, sr=sr, hop_length=hop_length, n_fft=n_fft,
                                    x_axis="time", y_axis=y_axis, ax=ax, cmap=cmap)
    ax.set(xlabel="time [s]", ylabel=ylabel)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, format="%+2.0f", label="dB")
    _title(ax, title)
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
    _title(ax, title, fontsize=8)
    return ax


def plot_feature_grid(X: np.ndarray, labels, *, classes=EMOTIONS, n_per_class: int = 4,
                      seed: int = 0, ax=None, size: float = 1.1, row_labels: bool = True):
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
    ax : array of Axes [shape=(len(classes), n_per_class)] or None
    size : float [inches]
        Side of one image when a new figure is made.
    row_labels : bool
        Name each row (class and its number of images) on its left.

    Returns
    -------
    ax : np.ndarray of Axes [shape=(len(classes), n_per_class)]
    """
    labels = np.asarray(labels, dtype=object)
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
            row[0].axis("on")
            row[0].set_xticks([])
            row[0].set_yticks([])
            row[0].set_ylabel(f"{cls}\n({idx.size})", fontsize=8, rotation=0, ha="right",
                              va="center")
    return ax


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
        shared by all panels: where a class is brighter (red) or darker (blue) than
        average.
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
        if not count:
            a.axis("off")
        elif relative:
            a.imshow(means[k], cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
            a.set_xticks([])
            a.set_yticks([])
            a.set_title(f"{cls} ({count})", fontsize=8)
        else:
            plot_feature_image(means[k], ax=a, title=f"{cls} ({count})")
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
        if i < n:
            _show_image(a, images[i])
            if titles is not None:
                a.set_title(titles[i], fontsize=8)
    return ax


# --- corpora (chapter 1) ----------------------------------------------------------------
def plot_emotion_counts(table, *, ax=None, paper: bool = True):
    """Bar chart of Table 1 (clips per class, stacked by corpus if the table has them).

    Parameters
    ----------
    table : pd.DataFrame
        From :func:`fser_utils.data.catalogue.compute_emotion_table` (``by_corpus`` or not).
    ax : matplotlib Axes or None
    paper : bool
        Mark the paper's counts (:data:`fser_utils.paper.PAPER_TABLE1`) as black ticks.

    Returns
    -------
    ax : matplotlib Axes
    """
    from fser_utils.paper import PAPER_TABLE1

    ax = _axes(ax, figsize=(8, 3.5))
    body = table[table["emotion"] != "total"].set_index("emotion")
    corpora = [c for c in body.columns if c not in ("count", "percent")]
    x = np.arange(len(body))
    bottom = np.zeros(len(body))
    for name in corpora or ["count"]:
        ax.bar(x, body[name], bottom=bottom, label=name)
        bottom += body[name].to_numpy()
    if paper:
        ax.scatter(x, [PAPER_TABLE1[e] for e in body.index], marker="_", s=600, color="k",
                   label="paper (with SAVEE)", zorder=3)
    ax.set_xticks(x, body.index, rotation=30)
    ax.set_ylabel("clips")
    ax.legend(fontsize="small", ncol=2)
    return ax


def plot_durations(catalogue, *, ax=None):
    """Clip duration [s] per corpus as box plots with the individual clips overlaid.

    Parameters
    ----------
    catalogue : pd.DataFrame
        With ``corpus`` and ``duration`` [s].
    ax : matplotlib Axes or None

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax, figsize=(8, 3.5))
    names = list(dict.fromkeys(catalogue["corpus"]))
    data = [catalogue.loc[catalogue["corpus"] == n, "duration"].to_numpy() for n in names]
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(np.arange(1, len(names) + 1), names)
    rng = np.random.default_rng(0)  # the jitter only spreads the dots; fixed for stable pages
    for i, d in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.2, 0.2, d.size), d, s=2, alpha=0.3)
    ax.set_ylabel("duration [s]")
    return ax


def plot_speakers_by_sex(catalogue, *, ax=None):
    """Number of speakers per corpus, stacked by sex.

    Parameters
    ----------
    catalogue : pd.DataFrame
        With ``corpus``, ``speaker`` and ``sex``.
    ax : matplotlib Axes or None

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax, figsize=(6, 3))
    counts = (catalogue.drop_duplicates("speaker").groupby(["corpus", "sex"]).size()
              .unstack(fill_value=0).reindex(list(dict.fromkeys(catalogue["corpus"]))))
    counts.plot.bar(ax=ax, stacked=True, rot=0)
    ax.set_ylabel("speakers")
    return ax


def display_examples(examples) -> None:
    """Show an audio player for each example.

    The audio is embedded only when ``$FSER_EMBED_AUDIO`` is not ``0``: the book's
    stored outputs are made with it set to 0, because the corpora's licences do not
    let us redistribute their recordings.

    Parameters
    ----------
    examples : pd.DataFrame
        From :func:`fser_utils.data.catalogue.select_examples` (columns ``relpath``, ``path``).
    """
    from IPython.display import HTML, Audio, display

    embed = os.environ.get("FSER_EMBED_AUDIO", "1") != "0"
    for emotion, row in examples.iterrows():
        display(HTML(f"<b>{emotion}</b> &mdash; {row['relpath']}"))
        if embed:
            display(Audio(filename=row["path"]))
    if not embed:
        display(HTML("<i>Audio players are left out of the published book (the corpora may "
                     "not be redistributed); run this chapter to listen.</i>"))


# --- the network and its training (chapter 5) -------------------------------------------
_LAYER_COLOURS = {"Input": "#dddddd", "Conv2D": "#8ecae6", "MaxPooling2D": "#ffb703",
                  "Dropout": "#e5e5e5", "Flatten": "#bde0a8", "Dense": "#fb8500",
                  "Activation": "#d62828"}
_LAYER_SHORT = {"Input": "Input", "Conv2D": "CL", "MaxPooling2D": "MPL", "Dropout": "Dr",
                "Flatten": "Flatten", "Dense": "FCL", "Activation": "Softmax"}


def plot_architecture(model, *, ax=None):
    """Draw the network as a row of boxes, one per layer (the paper's Figure 5).

    Box heights follow the size of each layer's output, so the shrinking feature maps
    and the dense funnel can be seen; labels use the paper's abbreviations (CL,
    MPL, Dr, FCL) with our filter counts and shapes.

    Parameters
    ----------
    model : keras.Model
        As built by :func:`fser_utils.models.paper_cnn.build_fser`.
    ax : matplotlib Axes or None

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    from fser_utils.models.paper_cnn import compute_model_table

    table = compute_model_table(model)
    ax = _axes(ax, figsize=(12, 3.6))
    sizes = [np.prod([int(d) for d in shape.split("x")] if shape else [1])
             for shape in table["output_shape"]]
    heights = 0.6 + 2.4 * (np.log10(np.array(sizes, dtype=float)) / np.log10(max(sizes)))
    x, width, gap = 0.0, 0.8, 0.25
    for (_, row), h in zip(table.iterrows(), heights):
        ax.add_patch(FancyBboxPatch((x, -h / 2), width, h, boxstyle="round,pad=0.02",
                                    facecolor=_LAYER_COLOURS.get(row["type"], "#cccccc"),
                                    edgecolor="black", linewidth=0.8))
        label = _LAYER_SHORT.get(row["type"], row["type"])
        if row["type"] in ("Conv2D", "Dense"):
            label += f"\n{row['detail'].split(' ')[0]}"
        ax.text(x + width / 2, 0, label, ha="center", va="center", fontsize=7, rotation=0)
        ax.text(x + width / 2, -h / 2 - 0.15, row["output_shape"], ha="center", va="top",
                fontsize=6, rotation=60)
        if x > 0:
            ax.annotate("", xy=(x, 0), xytext=(x - gap, 0),
                        arrowprops={"arrowstyle": "->", "linewidth": 0.6})
        x += width + gap
    ax.set_xlim(-0.2, x)
    ax.set_ylim(-2.6, 1.8)
    ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=_LAYER_COLOURS[k], edgecolor="black")
               for k in ("Conv2D", "MaxPooling2D", "Dropout", "Dense")]
    ax.legend(handles, ["CL: convolution + ReLU", "MPL: max-pooling 2x2", "Dr: dropout",
                        "FCL: dense"], loc="upper center", ncol=4, fontsize=7, frameon=False)
    return ax


def plot_history(history, *, ax=None, best_epoch: int | None = None):
    """Learning curves: loss and accuracy per epoch, training and validation.

    Parameters
    ----------
    history : pd.DataFrame
        ``history.csv`` of a run (columns ``epoch``, ``loss``, ``accuracy``,
        ``val_loss``, ``val_accuracy``).
    ax : array of 2 Axes or None
    best_epoch : int >= 1 or None
        Marks the epoch whose weights were kept.

    Returns
    -------
    ax : np.ndarray of Axes [shape=(2,)]
        Loss, accuracy.
    """
    ax = _panels(ax, 1, 2, figsize=(10, 3.4)).ravel()
    epoch = history["epoch"] + 1 if "epoch" in history else np.arange(1, len(history) + 1)
    panels = ((ax[0], "loss", "loss (cross-entropy)"), (ax[1], "accuracy", "accuracy"))
    for a, key, title in panels:
        a.plot(epoch, history[key], label="training")
        if f"val_{key}" in history:
            a.plot(epoch, history[f"val_{key}"], label="validation")
        if best_epoch is not None:
            a.axvline(best_epoch, color="grey", linestyle=":", label="kept")
        a.set_xlabel("epoch")
        a.set_title(title)
        a.grid(alpha=0.3)
    ax[1].legend(loc="lower right")
    return ax


def plot_recipe_curves(histories: dict, *, ax=None, reference: dict | None = None):
    """Accuracy per epoch of several runs, epochs on a log scale (chapter 8).

    A log scale shows the early epochs, where most of the learning happens, and the
    long tail of a 400-epoch run in one picture, without inviting a straight-line
    extrapolation beyond the last epoch.

    Parameters
    ----------
    histories : dict of str -> pd.DataFrame
        Label -> ``history.csv`` of a run; ``accuracy`` (training, dashed) and
        ``test_accuracy`` if logged, else ``val_accuracy`` (solid), in [0, 1].
    ax : Axes or None
    reference : dict of str -> float or None
        Horizontal lines [%], e.g. ``{"paper": 95.05}``.

    Returns
    -------
    ax : Axes
    """
    ax = _panels(ax, 1, 1, figsize=(8, 4))[0, 0]
    for k, (label, h) in enumerate(histories.items()):
        epoch = h["epoch"] + 1
        held = "test_accuracy" if "test_accuracy" in h else "val_accuracy"
        ax.plot(epoch, 100 * h[held], color=f"C{k}", label=f"{label}: {held.split('_')[0]}")
        ax.plot(epoch, 100 * h["accuracy"], color=f"C{k}", linestyle="--", alpha=0.7,
                label=f"{label}: training")
    for k, (label, value) in enumerate((reference or {}).items()):
        ax.axhline(value, color="black", linestyle=":", label=f"{label}: {value} %")
    ax.set(xscale="log", xlabel="epoch (log scale)", ylabel="accuracy [%]", ylim=(0, 100))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small", loc="upper left")
    return ax


# --- evaluation (chapters 6 and 7) ------------------------------------------------------
def plot_confusion_matrix(matrix, *, ax=None, fmt: str = ".1f", cmap: str = "Blues",
                          title: str | None = None):
    """Heatmap of a (normalized) confusion matrix with the percentages written in.

    Parameters
    ----------
    matrix : pd.DataFrame [shape=(k, k)]
        From :func:`fser_utils.studies.evaluate.compute_confusion_matrix` [% of each true class].
    ax : matplotlib Axes or None
    fmt : str
        Format of the numbers written in the cells.
    cmap : str
    title : str or None

    Returns
    -------
    ax : matplotlib Axes
    """
    import seaborn as sns

    ax = _axes(ax, figsize=(7, 6))
    sns.heatmap(matrix, annot=True, fmt=fmt, cmap=cmap, vmin=0, vmax=100, square=True,
                cbar_kws={"label": "% of true class"}, annot_kws={"size": 8}, ax=ax)
    ax.set_xlabel("predicted emotion")
    ax.set_ylabel("true emotion")
    ax.tick_params(axis="y", rotation=0)
    _title(ax, title)
    return ax


def plot_roc_curves(curves: dict, *, ax=None, title: str | None = None):
    """ROC curve of every class with the micro and macro averages (the paper's Figure 6).

    Parameters
    ----------
    curves : dict
        From :func:`fser_utils.studies.evaluate.compute_roc_curves`.
    ax : matplotlib Axes or None
    title : str or None

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax, figsize=(6.5, 6))
    for name, c in curves.items():
        if name not in ("micro", "macro"):
            ax.plot(c["fpr"], c["tpr"], lw=1.2, label=f"{name} (AUC {100 * c['auc']:.2f} %)")
    for name, style in (("micro", ":"), ("macro", "--")):
        c = curves[name]
        ax.plot(c["fpr"], c["tpr"], style, color="k", lw=2,
                label=f"{name}-average (AUC {100 * c['auc']:.2f} %)")
    ax.plot([0, 1], [0, 1], color="0.7", lw=1)
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate",
           ylabel="true positive rate")
    ax.legend(loc="lower right", fontsize=8)
    _title(ax, title)
    return ax


def save_evaluation_figures(results: dict, *, dpi: int = 90) -> list:
    """Draw the figures of :func:`fser_utils.studies.evaluate.evaluate_run` next to its tables.

    Parameters
    ----------
    results : dict
        What ``evaluate_run`` returns (``confusion``, ``curves``, ``out``).
    dpi : int > 0
        Resolution of the saved figures.

    Returns
    -------
    written : list of Path
        ``confusion.png`` (Table 3) and, when the test set holds more than one class,
        ``roc.png`` (Figure 6), each written whole under a temporary name and renamed.
    """
    # figures made without pyplot: saving them must not touch the notebook's backend
    from matplotlib.figure import Figure

    drawn = [("confusion.png", (7, 6), plot_confusion_matrix, results["confusion"])]
    if results["curves"]:
        drawn.append(("roc.png", (6.5, 6), plot_roc_curves, results["curves"]))
    written = []
    for name, size, plot, data in drawn:
        fig = Figure(figsize=size)
        plot(data, ax=fig.subplots())
        fig.tight_layout()
        write_atomic(results["out"] / name, functools.partial(fig.savefig, dpi=dpi))
        written.append(results["out"] / name)
    return written


def plot_group_accuracy(table, by: str, *, ax=None, reference: dict | None = None,
                        title: str | None = None):
    """Accuracy per group as bars with their bootstrap intervals.

    Parameters
    ----------
    table : pd.DataFrame
        From :func:`fser_utils.studies.evaluate.compute_group_accuracy` (columns ``by``,
        ``accuracy``, ``ci_low``, ``ci_high``, ``n``), or any table with those columns.
    by : str
        Column naming the groups.
    ax : matplotlib Axes or None
    reference : dict or None
        ``{label: value [%]}`` drawn as horizontal lines (the paper's number, chance, ...).
    title : str or None

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax, figsize=(max(4, 1.1 * len(table) + 2), 3.5))
    x = np.arange(len(table))
    acc = table["accuracy"].to_numpy(dtype=float)
    err = np.vstack([acc - table["ci_low"].to_numpy(dtype=float),
                     table["ci_high"].to_numpy(dtype=float) - acc])
    ax.bar(x, acc, yerr=err, capsize=4, color="tab:blue", alpha=0.8)
    labels = [f"{g}\n(n={n})" if "n" in table else str(g)
              for g, n in zip(table[by], table["n"] if "n" in table else table[by])]
    ax.set_xticks(x, labels)
    for i, (label, value) in enumerate((reference or {}).items()):
        ax.axhline(value, ls=("--", ":", "-.")[i % 3], color=f"C{i + 1}",
                   label=f"{label} ({value:.2f} %)")
    if reference:  # below the axes: inside, it would hide bars or reference lines
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22),
                  ncol=len(reference), frameon=False)
    ax.set_ylim(0, 100)
    ax.set_ylabel("accuracy [%]")
    _title(ax, title)
    return ax


# --- models compared (chapter 9) --------------------------------------------------------
def plot_comparison(table, *, ax=None, anchors=None, protocols=("paper", "speaker")):
    """Test accuracy against training time, one marker per model and protocol.

    Published results (``anchors``) are horizontal lines labelled with their protocol,
    since their training times on this CPU are unknown.

    Parameters
    ----------
    table : pd.DataFrame
        From :func:`fser_utils.studies.compare.compute_comparison_table`.
    ax : matplotlib Axes or None
    anchors : sequence of dict or None
        ``label``, ``accuracy`` [%], ``protocol``; default
        :data:`fser_utils.studies.compare.ANCHORS`.
    protocols : sequence of str
        Which protocols to draw.

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if anchors is None:
        from fser_utils.studies.compare import ANCHORS as anchors
    ax = _axes(ax, figsize=(9, 5.5))
    markers = dict(zip(protocols, "os^vD"))
    models = list(dict.fromkeys(table.index.get_level_values("model")))
    colours = compute_colours(models)
    for (model, protocol), r in table.iterrows():
        if protocol not in markers:
            continue
        err = [[r["accuracy"] - r["accuracy_low"]], [r["accuracy_high"] - r["accuracy"]]]
        ax.errorbar(r["train_minutes"], r["accuracy"], yerr=err, fmt=markers[protocol],
                    color=colours[model], capsize=3, markersize=8,
                    label=f"{model}, {protocol} split")
    _draw_anchors(ax, anchors)
    ax.axhline(100 / len(EMOTIONS), color="black", linewidth=0.8)
    ax.annotate("chance (8 classes)", (0.01, 100 / len(EMOTIONS)),
                xycoords=("axes fraction", "data"), fontsize=7, va="bottom")
    ax.set_xscale("log")
    ax.set_xlabel("training time on this 2-core CPU [min] (median over seeds)")
    ax.set_ylabel("test accuracy [%] (mean over seeds, 95 % interval)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    # outside the axes: inside, it hid the points it names
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    return ax


def _draw_anchors(ax, anchors) -> None:
    previous = None
    for i, a in enumerate(sorted(anchors, key=lambda a: -a["accuracy"])):
        ax.axhline(a["accuracy"], color="grey", linestyle=(0, (2, 2 + i)), linewidth=1)
        # a label close above another goes over its line, the lower one under it
        close = previous is not None and previous - a["accuracy"] < 3
        ax.annotate(f"{a['label']}: {a['accuracy']:.2f} % ({a['protocol']})",
                    (0.01, a["accuracy"]), xycoords=("axes fraction", "data"),
                    fontsize=7, va="top" if close else "bottom", color="dimgrey")
        previous = a["accuracy"]


def plot_emotion_timeline(table: pd.DataFrame, *, ax=None):
    """Emotion probabilities of a recording's windows against time.

    Parameters
    ----------
    table : pd.DataFrame
        :func:`fser_utils.scoring.windows.predict_windows` output for one file.
    ax : matplotlib Axes or None
        Drawn into if given, else a new figure.

    Returns
    -------
    ax : matplotlib Axes
        One line per class at the windows' centres; windows left out of the file's
        label (not voiced) are shaded grey.
    """
    if table.empty or table["path"].nunique() != 1:
        raise FserError(f"plot_emotion_timeline needs the windows of exactly one file, "
                        f"got {table['path'].nunique()} files")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(10, 3), layout="constrained")
    centre = (table["start"] + table["end"]) / 2
    p_cols = [c for c in table.columns if c.startswith("p_")]
    marker = "o" if len(table) < 50 else None  # a lone window is a point, not a line
    for k, col in enumerate(p_cols):
        ax.plot(centre, table[col], color=f"C{k}", linewidth=1.2, marker=marker,
                markersize=3, label=col[2:])
    # one grey span per run of consecutive unvoiced windows, not one per window
    quiet = ~table["voiced"].to_numpy()
    edges = np.flatnonzero(np.diff(np.concatenate(([0], quiet.astype(int), [0]))))
    for first, stop in zip(edges[::2], edges[1::2]):
        ax.axvspan(table["start"].iloc[first], table["end"].iloc[stop - 1], color="0.9",
                   zorder=0, linewidth=0)
    ax.set(xlim=(table["start"].min(), table["end"].max()), ylim=(0, 1),
           xlabel="time [s]", ylabel="probability", title=os.path.basename(str(table["path"].iloc[0])))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


def plot_reliability(tables: dict, *, ax=None):
    """Reliability diagram: accuracy against confidence, one line per table.

    Parameters
    ----------
    tables : dict of str -> pd.DataFrame
        Label -> :func:`fser_utils.scoring.calibration.compute_reliability` table.
    ax : matplotlib.axes.Axes or None

    Returns
    -------
    ax : matplotlib.axes.Axes
        The diagonal is perfect calibration; a line below it is over-confident.
    """
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="calibrated")
    for label, table in tables.items():
        full = table[table["n"] > 0]
        ax.plot(full["confidence"], full["accuracy"], marker="o", label=label)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top probability)",
           ylabel="accuracy", aspect="equal")
    ax.legend(loc="upper left", fontsize=9)
    return ax


def plot_heldout_accuracy(table, *, ax=None, target: float | None = None):
    """Accuracy on each held-out corpus with its interval, one bar per recipe.

    Parameters
    ----------
    table : pd.DataFrame
        :func:`fser_utils.studies.model_card.compute_heldout_table`.
    target : float or None [%]
        Drawn as a horizontal line.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    ax = _axes(ax)
    corpora = list(dict.fromkeys(table["heldout"]))
    recipes = list(dict.fromkeys(table["recipe"]))
    width = 0.8 / len(recipes)
    for i, recipe in enumerate(recipes):
        rows = table[table["recipe"] == recipe].set_index("heldout").reindex(corpora)
        x = np.arange(len(corpora)) + (i - (len(recipes) - 1) / 2) * width
        err = np.vstack([rows["accuracy_own"] - rows["accuracy_own_low"],
                         rows["accuracy_own_high"] - rows["accuracy_own"]])
        ax.bar(x, rows["accuracy_own"], width=width, yerr=err, capsize=3, label=recipe)
    if target is not None:
        ax.axhline(target, color="0.3", linestyle="--", linewidth=1, label=f"target {target:g} %")
    ax.set_xticks(np.arange(len(corpora)), corpora)
    ax.set(ylabel="accuracy on the corpus's own classes [%]", xlabel="held-out corpus",
           ylim=(0, 100))
    ax.legend(fontsize=9)
    return ax


def plot_leak_curves(table, *, ax=None, paper: bool = True):
    """Test accuracy against training accuracy, epoch by epoch, one line per arm.

    An honest arm's line bends away below the diagonal as the network learns its
    training pictures; an arm whose training part holds copies of the test clips
    stays near it, test accuracy rising with training accuracy (chapter 8).

    Parameters
    ----------
    table : pd.DataFrame
        :func:`fser_utils.studies.leaks.compute_leak_curves` (``arm``, ``epoch``,
        ``train_accuracy``, ``test_accuracy`` [%], ``kept``).
    ax : Axes or None
    paper : bool
        Draw the paper's accuracy (:data:`fser_utils.paper.PAPER_ACCURACY`) as a
        horizontal line.

    Returns
    -------
    ax : Axes
    """
    ax = _axes(ax, figsize=(5.5, 5))
    arms = list(dict.fromkeys(table["arm"]))
    colours = compute_colours(arms)
    ax.plot([0, 100], [0, 100], color="0.6", linestyle=":", linewidth=1,
            label="test = training")
    for arm in arms:
        rows = table[table["arm"] == arm].sort_values("epoch")
        ax.plot(rows["train_accuracy"], rows["test_accuracy"], color=colours[arm],
                marker=".", markersize=3, linewidth=1, label=arm)
        kept = rows[rows["kept"]]
        ax.scatter(kept["train_accuracy"], kept["test_accuracy"], color=colours[arm],
                   marker="*", s=120, edgecolor="black", linewidth=0.5, zorder=3)
    if paper:
        from fser_utils.paper import PAPER_ACCURACY

        ax.axhline(PAPER_ACCURACY, color="0.3", linestyle="--", linewidth=1,
                   label=f"paper {PAPER_ACCURACY:g} %")
    ax.scatter([], [], color="0.5", marker="*", s=120, edgecolor="black", linewidth=0.5,
               label="epoch kept (validation)")
    ax.set(xlabel="training accuracy [%]", ylabel="test accuracy [%]", xlim=(0, 100),
           ylim=(0, 100))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return ax
