"""Networks beyond FSER: a modern log-mel CNN and a temporal convolutional network.

Both are written with ``keras.layers`` only (any Keras 3 backend) and end in a float32
softmax, like :func:`fser_utils.models.paper_cnn.build_fser`.

Batch normalisation uses a momentum of 0.9 for its running statistics (Keras: 0.99):
with only ~50 steps per epoch and a high learning rate, the slower average lagged so
far behind the weights that inference-mode accuracy fell to chance while batch-mode
accuracy rose (measured in our first run).

* :func:`build_logmel_cnn` reads a single-channel log-mel spectrogram at its own
  resolution (64 bands x 200 frames of 20 ms) instead of a 64 x 64 colour picture.
  Batch normalisation after every convolution lets it train fast at a high learning
  rate; global pooling over time (mean and max) makes it indifferent to *where* in the
  window the emotional cue sits and keeps the dense part tiny.
* :func:`build_tcn` follows the idea of TIM-Net {cite}`ye2023timnet`: a stack of
  dilated causal 1-D convolutions over MFCC frames, run forwards and backwards in time,
  each stack level gated by a sigmoid, and the levels' pooled outputs fused with
  learned weights, so that the classifier can draw on short and long time scales.
  It is our own, smaller re-implementation of the idea, not the authors' code.

Two optional parts of the log-mel CNN, each behind a registered variant that chapter 9
measures: :class:`TimeDeltas` (deltas as input channels) and :class:`AttentionPooling`
(attentive statistics over time). A third is only used while training:
:func:`build_speaker_adversary` adds a speaker classifier behind a
:class:`GradientReversal`, so that the network's pooled features are pushed to carry
less of who is speaking (domain-adversarial training, {cite}`ganin2016dann`).
"""
from __future__ import annotations

import keras
from keras import layers

from fser_utils.data.corpora import EMOTIONS

__all__ = ["build_logmel_cnn", "build_tcn", "build_speaker_adversary",
           "compute_adversary_ramp", "Reverse",
           "StackLevels", "TimeDeltas", "AttentionPooling", "GradientReversal",
           "EmotionSpeakerLoss", "emotion_accuracy", "speaker_cross_entropy"]


@keras.saving.register_keras_serializable(package="fser")
class Reverse(layers.Layer):
    """Reverse a sequence along ``axis`` (time runs backwards)."""

    def __init__(self, axis: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, x):
        return keras.ops.flip(x, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@keras.saving.register_keras_serializable(package="fser")
class StackLevels(layers.Layer):
    """Stack equally shaped tensors along a new axis 1."""

    def call(self, xs):
        return keras.ops.stack(xs, axis=1)


@keras.saving.register_keras_serializable(package="fser")
class TimeDeltas(layers.Layer):
    """Stack a spectrogram with its deltas and delta-deltas over time as channels.

    The delta of frame t is the least-squares slope over frames t - width ... t + width,
    edges repeated (``librosa.feature.delta(width=2 * width + 1, mode="nearest")``); the
    delta-delta is the delta of the delta, as in HTK: [shape=(batch, n_mels, n_frames, 1)]
    in, [shape=(batch, n_mels, n_frames, 3)] out.
    """

    def __init__(self, width: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.width = width

    def _delta(self, x):
        n, t = self.width, x.shape[2]
        padded = keras.ops.concatenate([x[:, :, :1]] * n + [x] + [x[:, :, -1:]] * n, axis=2)
        slope = sum(k * (padded[:, :, n + k:n + k + t] - padded[:, :, n - k:n - k + t])
                    for k in range(1, n + 1))
        return slope / (2.0 * sum(k * k for k in range(1, n + 1)))

    def call(self, x):
        d1 = self._delta(x)
        return keras.ops.concatenate([x, d1, self._delta(d1)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "width": self.width}


@keras.saving.register_keras_serializable(package="fser")
class AttentionPooling(layers.Layer):
    """Attentive statistics pooling over time: a weighted mean and standard deviation.

    A small scoring layer gives each frame a weight (softmax over time), so frames that
    carry the emotion count more than pauses: [shape=(batch, n_frames, channels)] in,
    [shape=(batch, 2 * channels)] out.
    """

    def __init__(self, units: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(units, activation="tanh")
        self.score = layers.Dense(1)

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.score.build((*input_shape[:-1], self.units))

    def call(self, x):
        w = keras.ops.softmax(self.score(self.hidden(x)), axis=1)
        mean = keras.ops.sum(w * x, axis=1)
        var = keras.ops.sum(w * keras.ops.square(x), axis=1) - keras.ops.square(mean)
        return keras.ops.concatenate([mean, keras.ops.sqrt(keras.ops.relu(var) + 1e-6)],
                                     axis=-1)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="fser")
class GradientReversal(layers.Layer):
    """The identity going forwards; going backwards, the gradient times ``-weight * ramp``.

    Written as ``stop_gradient((1 + w) x) - w x``, whose value is ``x`` and whose
    derivative is ``-w``, so it needs no backend's custom-gradient hook. ``ramp`` is a
    non-trainable variable, 1 unless a schedule sets it (:func:`compute_adversary_ramp`).
    """

    def __init__(self, weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.weight = float(weight)

    def build(self, input_shape):
        self.ramp = self.add_weight(shape=(), initializer="ones", trainable=False,
                                    name="ramp")

    def call(self, x):
        w = self.weight * keras.ops.cast(self.ramp, x.dtype)
        return keras.ops.stop_gradient((1.0 + w) * x) - w * x

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}


def compute_adversary_ramp(epoch: int, epochs: int, *, gamma: float = 10.0) -> float:
    """The share of the reversal's weight in force at ``epoch``: ``2 / (1 + exp(-gamma p))
    - 1`` with ``p`` the fraction of the ``epochs`` done, 0 at the start and near 1 after a
    third of training (the schedule of {cite}`ganin2016dann`), so that the speaker
    classifier learns before it pushes back on the network."""
    import math

    return 2.0 / (1.0 + math.exp(-gamma * epoch / max(1, epochs))) - 1.0


def build_speaker_adversary(network, *, n_speakers: int, weight: float = 0.1,
                            units: int = 128, speedup: float = 1.0,
                            name: str = "adversarial_trainer"):
    """The model that trains ``network`` against a speaker classifier.

    The speaker classifier reads the features ``network`` hands to its last layer
    (the one named ``logits``) through a :class:`GradientReversal`: it learns to tell the
    training speakers apart while the network beneath it learns to make that harder.

    Parameters
    ----------
    network : keras.Model
        A functional network with a ``logits`` layer and a softmax output
        [shape=(batch, n_classes)].
    n_speakers : int > 1
        Speakers in the training part.
    weight : float > 0
        How strongly the reversed speaker gradient pulls on the network.
    units : int > 0
        Hidden units of the speaker classifier.
    speedup : float >= 1
        How many times faster than the network the speaker classifier learns. Each of
        its two layers computes ``speedup * (W x + b)`` from weights initialised
        ``speedup`` times smaller: the same function at the start, but Adam's steps, of
        about the learning rate whatever the gradient's size, now move its output
        ``speedup`` times as far. 1 builds the plain classifier.

    Returns
    -------
    trainer : keras.Model
        Output [shape=(batch, n_classes + n_speakers)]: the emotion probabilities, then
        the speaker probabilities; it shares every layer of ``network``.
    """
    from fser_utils.errors import FserError

    try:
        features = network.get_layer("logits").input
    except ValueError:
        raise FserError(f"network '{network.name}' has no 'logits' layer for a speaker "
                        "adversary to read") from None
    if speedup < 1:
        raise FserError(f"the speaker classifier's speedup must be >= 1, not {speedup}")
    h = GradientReversal(weight, name="reverse_gradient")(features)
    h = _fast_dense(h, units, speedup, "relu", "speaker_hidden")
    speaker = _fast_dense(h, n_speakers, speedup, "softmax", "speaker", dtype="float32")
    outputs = layers.Concatenate(name="emotion_speaker")([network.output, speaker])
    return keras.Model(network.input, outputs, name=name)


def _fast_dense(x, units, speedup, activation, name, dtype=None):
    # a dense layer whose effective learning rate is ``speedup`` times the optimiser's
    if speedup == 1:
        return layers.Dense(units, activation=activation, dtype=dtype, name=name)(x)
    init = keras.initializers.VarianceScaling(1.0 / speedup ** 2, mode="fan_avg",
                                              distribution="uniform")
    x = layers.Dense(units, kernel_initializer=init, dtype=dtype, name=f"{name}_slow")(x)
    x = layers.Rescaling(speedup, dtype=dtype, name=f"{name}_speedup")(x)
    return layers.Activation(activation, dtype=dtype, name=name)(x)


@keras.saving.register_keras_serializable(package="fser")
class EmotionSpeakerLoss(keras.losses.Loss):
    """Cross-entropy of the emotion part of an adversarial trainer's output plus
    cross-entropy of its speaker part (:func:`build_speaker_adversary`).

    Targets are [shape=(batch, n_classes + n_speakers)]: one-hot (or mixed-up) emotions,
    then speakers. A row whose speaker part is all zeros (a validation clip of a speaker
    the classifier never met) adds nothing to the speaker term.
    """

    def __init__(self, n_classes: int = len(EMOTIONS), label_smoothing: float = 0.0,
                 name: str = "emotion_speaker_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.n_classes = n_classes
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        n = self.n_classes
        emotion = keras.losses.categorical_crossentropy(
            y_true[:, :n], y_pred[:, :n], label_smoothing=self.label_smoothing)
        return emotion + _speaker_term(y_true, y_pred, n)

    def get_config(self):
        return {**super().get_config(), "n_classes": self.n_classes,
                "label_smoothing": self.label_smoothing}


def _speaker_term(y_true, y_pred, n_classes):
    # cross-entropy of the columns after the emotions; all-zero targets give 0
    speaker_p = keras.ops.clip(y_pred[:, n_classes:], 1e-7, 1.0)
    return -keras.ops.sum(y_true[:, n_classes:] * keras.ops.log(speaker_p), axis=-1)


@keras.saving.register_keras_serializable(package="fser")
def speaker_cross_entropy(y_true, y_pred):
    """The speaker term of :class:`EmotionSpeakerLoss` alone, to watch whether the speaker
    classifier learns (its chance level is about the log of the number of speakers)."""
    return _speaker_term(y_true, y_pred, len(EMOTIONS))


@keras.saving.register_keras_serializable(package="fser")
def emotion_accuracy(y_true, y_pred):
    """Accuracy over the emotion part (the first ``len(EMOTIONS)`` columns) only."""
    n = len(EMOTIONS)
    hit = keras.ops.argmax(y_true[:, :n], axis=-1) == keras.ops.argmax(y_pred[:, :n], axis=-1)
    return keras.ops.cast(hit, "float32")


def build_logmel_cnn(*, input_shape=(64, 200, 1), n_classes: int = len(EMOTIONS),
                     filters=(32, 64, 128, 256), convs_per_block: int = 1,
                     stem_stride: int = 2, dropout: float = 0.3, deltas: bool = False,
                     pooling: str = "mean-max", name: str = "logmel_cnn"):
    """A CNN with batch normalisation and global pooling over a log-mel spectrogram.

    Parameters
    ----------
    input_shape : tuple of int [shape=(n_mels, n_frames, 1)]
    n_classes : int > 1
    filters : sequence of int > 0
        One block per entry: ``convs_per_block`` times (3 x 3 convolution, batch norm,
        ReLU), then 2 x 2 max-pooling.
    convs_per_block : int > 0
    stem_stride : int > 0
        Stride of the very first convolution: 2 halves both axes at once, which on a
        CPU costs far less than convolving the full-resolution map.
    dropout : float in [0, 1)
        Before the classifier.
    deltas : bool
        Add the deltas and delta-deltas over time as two more input channels
        (:class:`TimeDeltas`), computed inside the network from the same features.
    pooling : {'mean-max', 'attention'}
        How the time axis is summarised: its mean and its maximum, or attentive
        statistics (:class:`AttentionPooling`).

    Returns
    -------
    model : keras.Model
        Uncompiled; output [shape=(batch, n_classes)] probabilities.
    """
    if pooling not in ("mean-max", "attention"):
        raise ValueError(f"pooling must be 'mean-max' or 'attention', not {pooling!r}")
    inputs = keras.Input(shape=tuple(input_shape), name="logmel")
    x = TimeDeltas(name="deltas")(inputs) if deltas else inputs
    for i, f in enumerate(filters):
        for j in range(convs_per_block):
            stride = stem_stride if i == j == 0 else 1
            x = layers.Conv2D(f, 3, strides=stride, padding="same", use_bias=False,
                              name=f"conv{i}_{j}")(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}_{j}")(x)
            x = layers.Activation("relu", name=f"relu{i}_{j}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    # average over frequency, then summarise time by its mean and its strongest moment
    n_freq, n_time, n_ch = x.shape[1], x.shape[2], x.shape[3]
    x = layers.AveragePooling2D((n_freq, 1), name="mean_freq")(x)
    x = layers.Reshape((n_time, n_ch), name="time_major")(x)
    if pooling == "attention":
        x = AttentionPooling(name="pool_time")(x)
    else:
        x = layers.Concatenate(name="pool_time")([layers.GlobalAveragePooling1D()(x),
                                                  layers.GlobalMaxPooling1D()(x)])
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(n_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


def _tab(x, filters: int, dilation: int, dropout: float, prefix: str):
    """A temporal-aware block: two dilated causal convolutions, then a sigmoid gate on x."""
    h = x
    for j in range(2):
        # a causal convolution of width 2 and dilation d is one dense map of the
        # frame and the frame d steps back; written so, it runs several times faster
        # on a CPU than the dilated Conv1D kernel
        past = layers.ZeroPadding1D((dilation, 0), name=f"{prefix}_pad{j}")(h)
        past = layers.Cropping1D((0, dilation), name=f"{prefix}_past{j}")(past)
        h = layers.Concatenate(name=f"{prefix}_pair{j}")([past, h])
        h = layers.Dense(filters, name=f"{prefix}_conv{j}")(h)
        h = layers.BatchNormalization(momentum=0.9, name=f"{prefix}_bn{j}")(h)
        h = layers.Activation("relu", name=f"{prefix}_relu{j}")(h)
        h = layers.SpatialDropout1D(dropout, name=f"{prefix}_drop{j}")(h)
    gate = layers.Activation("sigmoid", name=f"{prefix}_gate")(h)
    return layers.Multiply(name=f"{prefix}_mul")([x, gate])


def build_tcn(*, input_shape=(125, 39), n_classes: int = len(EMOTIONS), filters: int = 39,
              n_levels: int = 7, dropout: float = 0.1, input_norm: bool = False,
              name: str = "tcn"):
    """A bidirectional, multi-scale temporal convolutional network (TIM-Net's idea).

    Parameters
    ----------
    input_shape : tuple of int [shape=(n_frames, n_coefficients)]
    n_classes : int > 1
    filters : int > 0
        Channels of every level.
    n_levels : int > 0
        Dilations 1, 2, 4, ..., 2 ** (n_levels - 1) frames: the top level sees about
        2 ** (n_levels + 1) frames (over 4 s at 32 ms per frame for 7 levels).
    dropout : float in [0, 1)
    input_norm : bool
        Batch-normalise each coefficient before the first layer. Raw MFCCs differ in
        scale by two orders of magnitude (the first sits near -400, the others within
        tens), and the gated levels carry that scale through. On the paper split (seed
        42, 40 epochs, the ``tcn`` recipe) it raised validation accuracy from 51 to 59 %.
        Off by default: the network as first registered.

    Returns
    -------
    model : keras.Model
        Uncompiled; output [shape=(batch, n_classes)] probabilities.
    """
    inputs = keras.Input(shape=tuple(input_shape), name="mfcc")
    x = (layers.BatchNormalization(momentum=0.9, name="input_bn")(inputs) if input_norm
         else inputs)
    directions = {"fwd": x, "bwd": Reverse(axis=1, name="reverse")(x)}
    pooled = []
    streams = {d: layers.Conv1D(filters, 1, name=f"{d}_in")(x) for d, x in directions.items()}
    for level in range(n_levels):
        for d in streams:
            streams[d] = _tab(streams[d], filters, 2 ** level, dropout, f"{d}{level}")
        both = layers.Add(name=f"sum{level}")(list(streams.values()))
        pooled.append(layers.GlobalAveragePooling1D(name=f"gap{level}")(both))
    # (batch, levels, filters): one learned weight per level fuses the time scales
    stack = StackLevels(name="levels")(pooled)
    weights = layers.Dense(n_levels, activation="softmax", name="level_weights")(
        layers.Flatten()(stack))
    fused = layers.Dot(axes=1, name="fuse")([weights, stack])
    x = layers.Dropout(dropout, name="dropout")(fused)
    x = layers.Dense(n_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=name)
