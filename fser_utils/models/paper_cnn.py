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

import pandas as pd

from fser_utils.data.corpora import EMOTIONS

__all__ = ["FSER_DEFAULTS", "build_fser", "compute_model_table"]

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
