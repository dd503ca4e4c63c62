"""The FSER network: four convolutional blocks, three dense layers, softmax.

The paper fixes the outline (Figure 5 of {cite}`dossou2021fser`) but not the
filters, kernel sizes, padding or dropout rates. Our choices, and why:

* 3 x 3 kernels with "same" padding: the smallest kernel that sees a neighbourhood,
  the usual choice for 64 x 64 inputs; padding keeps the 2 x 2 pooling exact
  (64 -> 32 -> 16 -> 8 -> 4).
* 32, 64, 128, 256 filters: doubling the filters each time the map is halved keeps
  the work per block roughly constant (the VGG rule).
* Dropout 0.1 after every block and 0.2 after each hidden dense layer: light,
  because augmentation already fights over-fitting, and in our trials the usual
  heavier rates (0.25 and 0.5) left the network at chance level for many more
  epochs, which a 2-core CPU cannot afford.
* Dense 256 -> 128 -> 8, the last one feeding the softmax; the softmax is a layer
  of its own kept in float32, so that mixed precision cannot round the probabilities.

Everything is written with ``keras.layers`` only, so the model runs unchanged with
``KERAS_BACKEND=tensorflow``, ``jax`` or ``torch``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .corpora import EMOTIONS

__all__ = ["FSER_DEFAULTS", "build_fser", "compute_model_table", "plot_architecture"]

FSER_DEFAULTS = {
    "filters": (32, 64, 128, 256),
    "kernel_size": 3,
    "dropout": 0.1,
    "dense_units": (256, 128),
    "dense_dropout": 0.2,
}


def build_fser(*, input_shape=(64, 64, 3), n_classes: int = len(EMOTIONS),
               filters=FSER_DEFAULTS["filters"], kernel_size: int = FSER_DEFAULTS["kernel_size"],
               dropout: float = FSER_DEFAULTS["dropout"],
               dense_units=FSER_DEFAULTS["dense_units"],
               dense_dropout: float = FSER_DEFAULTS["dense_dropout"], name: str = "fser"):
    """Build the FSER convolutional network (uncompiled).

    Parameters
    ----------
    input_shape : tuple of int [shape=(height, width, channels)]
        ``(64, 64, 3)`` in the paper (RGB mel-spectrogram images).
    n_classes : int > 1
        Number of emotions (8).
    filters : sequence of 4 int > 0
        Filters of the four convolutional blocks.
    kernel_size : int > 0
        Side of the square convolution kernels.
    dropout : float in [0, 1)
        Dropout rate closing each convolutional block.
    dense_units : sequence of 2 int > 0
        Units of the two hidden dense layers; the third dense layer has ``n_classes``.
    dense_dropout : float in [0, 1)
        Dropout after each hidden dense layer.
    name : str

    Returns
    -------
    model : keras.Model
        Input ``[shape=(batch, *input_shape)]``, output ``[shape=(batch, n_classes)]``:
        class probabilities that sum to 1.
    """
    import keras
    from keras import layers

    if len(filters) != 4:
        raise ValueError(f"FSER has four convolutional blocks; got filters={filters}")
    if len(dense_units) != 2:
        raise ValueError(f"FSER has two hidden dense layers; got dense_units={dense_units}")
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, n in enumerate(filters, start=1):
        x = layers.Conv2D(n, kernel_size, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        x = layers.Dropout(dropout, name=f"drop{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, n in enumerate(dense_units, start=1):
        x = layers.Dense(n, activation="relu", name=f"dense{i}")(x)
        if dense_dropout:
            x = layers.Dropout(dense_dropout, name=f"drop_dense{i}")(x)
    x = layers.Dense(n_classes, name="dense3")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


def compute_model_table(model) -> pd.DataFrame:
    """One row per layer: name, type, output shape, parameters, and a short description.

    Returns
    -------
    table : pd.DataFrame [shape=(n_layers, 5)]
        Columns ``layer``, ``type``, ``output_shape``, ``params``, ``detail``.
    """
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        cfg = layer.get_config()
        if kind == "Conv2D":
            k = cfg["kernel_size"]
            detail = f"{cfg['filters']} filters {k[0]}x{k[1]}, {cfg['activation']}"
        elif kind == "MaxPooling2D":
            detail = f"pool {cfg['pool_size'][0]}x{cfg['pool_size'][1]}"
        elif kind == "Dropout":
            detail = f"rate {cfg['rate']}"
        elif kind == "Dense":
            detail = f"{cfg['units']} units, {cfg['activation']}"
        elif kind == "Activation":
            detail = cfg["activation"]
        else:
            detail = ""
        shape = layer.output.shape if hasattr(layer, "output") else None
        rows.append({"layer": layer.name, "type": "Input" if kind == "InputLayer" else kind,
                     "output_shape": "x".join(str(d) for d in shape[1:]) if shape else "",
                     "params": int(layer.count_params()), "detail": detail})
    return pd.DataFrame(rows)


_COLOURS = {"Input": "#dddddd", "Conv2D": "#8ecae6", "MaxPooling2D": "#ffb703",
            "Dropout": "#e5e5e5", "Flatten": "#bde0a8", "Dense": "#fb8500",
            "Activation": "#d62828"}
_SHORT = {"Input": "Input", "Conv2D": "CL", "MaxPooling2D": "MPL", "Dropout": "Dr",
          "Flatten": "Flatten", "Dense": "FCL", "Activation": "Softmax"}


def plot_architecture(model, *, ax=None):
    """Draw the network as a row of boxes, one per layer (the paper's Figure 5).

    Box heights follow the size of each layer's output, so the shrinking feature maps
    and the dense funnel can be seen; labels use the paper's abbreviations (CL,
    MPL, Dr, FCL) with our filter counts and shapes.

    Parameters
    ----------
    model : keras.Model
        As built by :func:`build_fser`.
    ax : matplotlib Axes or None

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    table = compute_model_table(model)
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 3.6))
    sizes = []
    for shape in table["output_shape"]:
        dims = [int(d) for d in shape.split("x")] if shape else [1]
        sizes.append(np.prod(dims))
    heights = 0.6 + 2.4 * (np.log10(np.array(sizes, dtype=float)) / np.log10(max(sizes)))
    x = 0.0
    width, gap = 0.8, 0.25
    for (_, row), h in zip(table.iterrows(), heights):
        colour = _COLOURS.get(row["type"], "#cccccc")
        ax.add_patch(FancyBboxPatch((x, -h / 2), width, h, boxstyle="round,pad=0.02",
                                    facecolor=colour, edgecolor="black", linewidth=0.8))
        label = _SHORT.get(row["type"], row["type"])
        if row["type"] == "Conv2D":
            label += f"\n{row['detail'].split(' ')[0]}"
        elif row["type"] == "Dense":
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
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=_COLOURS[k], edgecolor="black")
               for k in ("Conv2D", "MaxPooling2D", "Dropout", "Dense")]
    ax.legend(handles, ["CL: convolution + ReLU", "MPL: max-pooling 2x2", "Dr: dropout",
                        "FCL: dense"], loc="upper center", ncol=4, fontsize=7, frameon=False)
    return ax
