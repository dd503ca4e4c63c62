"""Data augmentation for feature images: the paper's Algorithm 1 and SpecAugment.

The paper fed each training image to Keras' old ``ImageDataGenerator`` (width and
height shift, zoom, horizontal flip) and kept 20 generated copies per image
{cite}`dossou2021fser`. That API is deprecated; here the same four transforms are
Keras 3 preprocessing layers, which run on every backend and can be used

* offline (:func:`compute_augmented_images`): copies are made once, before
  training, as the paper did, or
* on the fly (:func:`build_augmenter` put in front of the network): a fresh copy
  each epoch; the layers are active only while training, so validation, test and
  prediction images are never altered.

A horizontal flip of a spectrogram image plays the clip backwards in time; the
book measures what that does rather than assume it. :class:`SpecAugment` (time and
frequency masking, after Park et al.) is offered as a transform that respects the
direction of time.
"""
from __future__ import annotations

import numpy as np

from fser_utils.errors import FserError

__all__ = [
    "AUGMENT_DEFAULTS",
    "SpecAugment",
    "build_augmenter",
    "compute_augmented_images",
    "compute_batch_augmentation",
    "make_batch_sequence",
    "list_seed_generators",
    "compute_epoch_seeds",
    "reseed_random_layers",
]

#: Algorithm 1's transforms; the paper does not give their ranges, these are ours
AUGMENT_DEFAULTS = {"width_shift": 0.1, "height_shift": 0.1, "zoom": 0.1, "flip": True}


def _keras():
    import keras

    return keras


def _register_specaugment():
    # Over 60 lines because it is one Keras layer class (docstring, config, call): the
    # class is built inside a function so that importing this module does not import Keras.
    keras = _keras()
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="fser")
    class SpecAugment(keras.layers.Layer):
        """Mask random bands of mel bins (rows) and frames (columns) while training.

        Parameters
        ----------
        freq_mask : int >= 0 [rows]
            Widest frequency band masked; each band's width is uniform in ``[0, freq_mask]``.
        time_mask : int >= 0 [columns]
            Widest time band masked.
        n_freq_masks, n_time_masks : int >= 0
            Bands of each kind per image.
        seed : int or None

        Notes
        -----
        Input and output: ``[shape=(batch, height, width, channels)]``. Masked pixels
        take the image's mean value rather than zero, because zero is not a colour
        the colour map produces and would be an easy cue. Outside training the layer
        returns its input unchanged.
        """

        def __init__(self, *, freq_mask=8, time_mask=8, n_freq_masks=2, n_time_masks=2,
                     seed=None, **kwargs):
            super().__init__(**kwargs)
            self.freq_mask = int(freq_mask)
            self.time_mask = int(time_mask)
            self.n_freq_masks = int(n_freq_masks)
            self.n_time_masks = int(n_time_masks)
            self.seed = seed
            self.seed_generator = keras.random.SeedGenerator(seed)
            self.supports_masking = False

        def _band(self, batch, size, widest):
            width = ops.floor(keras.random.uniform((batch, 1), 0.0, widest + 1.0,
                                                   seed=self.seed_generator))
            start = ops.floor(keras.random.uniform((batch, 1), 0.0, 1.0,
                                                   seed=self.seed_generator) * (size - width + 1))
            pos = ops.cast(ops.arange(size), "float32")[None, :]
            return ops.cast((pos >= start) & (pos < start + width), "float32")

        def call(self, images, training=None):
            if not training:
                return images
            shape = ops.shape(images)
            batch, height, width = shape[0], shape[1], shape[2]
            keep = ops.ones((batch, height, width, 1), dtype="float32")
            for _ in range(self.n_freq_masks):
                band = self._band(batch, height, self.freq_mask)
                keep = keep * (1.0 - band[:, :, None, None])
            for _ in range(self.n_time_masks):
                band = self._band(batch, width, self.time_mask)
                keep = keep * (1.0 - band[:, None, :, None])
            keep = ops.cast(keep, images.dtype)
            fill = ops.mean(images, axis=(1, 2), keepdims=True)
            return images * keep + fill * (1 - keep)

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            config = super().get_config()
            config.update(freq_mask=self.freq_mask, time_mask=self.time_mask,
                          n_freq_masks=self.n_freq_masks, n_time_masks=self.n_time_masks,
                          seed=self.seed)
            return config

    return SpecAugment


SpecAugment = _register_specaugment()


def build_augmenter(*, width_shift: float = 0.1, height_shift: float = 0.1, zoom: float = 0.1,
                    flip: bool = True, specaugment: bool = False, freq_mask: int = 8,
                    time_mask: int = 8, seed: int | None = None, name: str = "augment"):
    """Algorithm 1's transforms (and optionally SpecAugment) as one Keras block.

    Parameters
    ----------
    width_shift, height_shift : float in [0, 1)
        Largest shift along time (columns) and mel bins (rows), as a fraction of
        the image size; ``0`` turns it off.
    zoom : float in [0, 1)
        Largest zoom in or out, as a fraction.
    flip : bool
        Random horizontal flip (time reversal) with probability 1/2.
    specaugment : bool
        Append :class:`SpecAugment` masking.
    freq_mask, time_mask : int >= 0 [pixels]
        Widest masked band of each kind, if ``specaugment``.
    seed : int or None
        Seeds each random layer, so that a seeded run is repeatable.

    Returns
    -------
    augmenter : keras.Sequential
        Maps ``[shape=(batch, h, w, c)]`` images in [0, 1] to images of the same
        shape; it changes them only when called with ``training=True``.
    """
    keras = _keras()
    layers = []

    def _seed(k):
        return None if seed is None else seed + k

    # ImageDataGenerator fills the uncovered border with the nearest pixel; the
    # Keras 3 layers default to reflection, so ask for "nearest" to stay faithful.
    if width_shift or height_shift:
        layers.append(keras.layers.RandomTranslation(height_shift, width_shift,
                                                     fill_mode="nearest", seed=_seed(1),
                                                     name="shift"))
    if zoom:
        layers.append(keras.layers.RandomZoom(zoom, zoom, fill_mode="nearest", seed=_seed(2),
                                              name="zoom"))
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=_seed(3), name="flip"))
    if specaugment:
        layers.append(SpecAugment(freq_mask=freq_mask, time_mask=time_mask, seed=_seed(4),
                                  name="specaugment"))
    return keras.Sequential(layers, name=name)


def compute_augmented_images(images: np.ndarray, *, n_copies: int = 20, augmenter=None,
                             batch_size: int = 256, progress: bool = True):
    """Offline augmentation: every image followed by ``n_copies`` transformed copies.

    Parameters
    ----------
    images : np.ndarray [shape=(n, h, w, c)], float32 in [0, 1]
        Training images only: validation and test images must never be passed here.
    n_copies : int >= 0
        Copies per image; the paper used 20, so 1947 images became 40 887.
    augmenter : keras layer or None
        Defaults to :func:`build_augmenter` with :data:`AUGMENT_DEFAULTS`.
    batch_size : int > 0
    progress : bool
        Show a progress bar.

    Returns
    -------
    augmented : np.ndarray [shape=(n * (1 + n_copies), h, w, c)], float32
        The originals first, then copy 1 of every image, copy 2, ...
    source : np.ndarray [shape=(n * (1 + n_copies),)], int
        Row of ``images`` each output image came from (to repeat the labels).
    """
    from tqdm.auto import tqdm

    keras = _keras()
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (n, h, w, c), not {images.shape}")
    if augmenter is None:
        augmenter = build_augmenter(**AUGMENT_DEFAULTS)
    n = len(images)
    out = np.empty(((1 + n_copies) * n,) + images.shape[1:], dtype=np.float32)
    out[:n] = images
    starts = [(k, s) for k in range(1, n_copies + 1) for s in range(0, n, batch_size)]
    for k, s in tqdm(starts, desc="augmenting", unit="batch", disable=not progress):
        batch = images[s:s + batch_size]
        aug = augmenter(batch, training=True)
        out[k * n + s:k * n + s + len(batch)] = np.clip(keras.ops.convert_to_numpy(aug), 0, 1)
    source = np.tile(np.arange(n), 1 + n_copies)
    return out, source


# --- batch augmentation for spectrogram and MFCC arrays (numpy, any backend) -------------

def _time_freq_axes(x: np.ndarray) -> tuple[int, int]:
    """(time axis, frequency axis) of a batch: (n, F, T, 1) spectrograms or (n, T, C) MFCCs."""
    return (2, 1) if x.ndim == 4 else (1, 2)


def compute_batch_augmentation(x: np.ndarray, y: np.ndarray, *, rng: np.random.Generator,
                               specaugment: bool = True, mixup: float = 0.0,
                               time_shift: float = 0.0, freq_warp: float = 0.0,
                               tempo: float = 0.0, freq_mask: int = 8, time_mask: int = 25,
                               n_masks: int = 2):
    """Augment one batch: random time shift, frequency warp, tempo change, SpecAugment masks,
    then mixup.

    Parameters
    ----------
    x : np.ndarray [shape=(n, F, T, 1) or (n, T, C)]
        Normalised features (0 is the mean level, so masks write 0).
    y : np.ndarray [shape=(n, n_classes)]
        One-hot (or soft) labels.
    rng : np.random.Generator
    specaugment : bool
        ``n_masks`` frequency bands of up to ``freq_mask`` bins and ``n_masks`` time
        bands of up to ``time_mask`` frames, per example.
    mixup : float >= 0
        Beta(mixup, mixup) mixing weight with a shuffled copy of the batch; 0 = off.
    time_shift : float in [0, 1)
        Circular shift by up to this fraction of the frames, either way.
    freq_warp : float in [0, 1)
        Spectrograms only: stretch each example's frequency axis by a factor drawn
        uniformly from ``[1 - freq_warp, 1 + freq_warp]``, moving its formants up or
        down as a shorter or longer vocal tract would (vocal tract length
        perturbation, {cite}`jaitly2013vocal`, applied to the mel bands); 0 = off.
    tempo : float in [0, 1)
        Stretch each example's time axis by a factor drawn uniformly from
        ``[1 - tempo, 1 + tempo]``: the same words spoken faster or slower at the same
        pitch (tempo perturbation, the pitch-preserving half of the speed perturbation
        of {cite}`ko2015audio`); 0 = off.

    Returns
    -------
    x_aug, y_aug : np.ndarray
        New arrays; the inputs are not modified.
    """
    x = np.array(x, dtype=np.float32, copy=True)
    y = np.asarray(y, dtype=np.float32)
    t_ax, f_ax = _time_freq_axes(x)
    n, n_t, n_f = len(x), x.shape[t_ax], x.shape[f_ax]
    if time_shift > 0:
        shifts = rng.integers(-int(time_shift * n_t), int(time_shift * n_t) + 1, size=n)
        for i, s in enumerate(shifts):
            x[i] = np.roll(x[i], int(s), axis=t_ax - 1)
    if freq_warp > 0:
        if x.ndim != 4:
            raise FserError("freq_warp stretches the frequency axis of a spectrogram; "
                            f"these features are not one (shape {x.shape[1:]})")
        x = _stretch_axis(x, rng.uniform(1 - freq_warp, 1 + freq_warp, size=n), axis=f_ax)
    if tempo > 0:
        x = _stretch_axis(x, rng.uniform(1 - tempo, 1 + tempo, size=n), axis=t_ax)
    if specaugment:
        for i in range(n):
            for axis, width, size in ((f_ax, freq_mask, n_f), (t_ax, time_mask, n_t)):
                for _ in range(n_masks):
                    w = int(rng.integers(0, min(width, size) + 1))
                    start = int(rng.integers(0, size - w + 1))
                    index = [slice(None)] * (x.ndim - 1)
                    index[axis - 1] = slice(start, start + w)
                    x[i][tuple(index)] = 0.0
    if mixup > 0 and n > 1:
        lam = rng.beta(mixup, mixup, size=n).astype(np.float32)
        lam = np.maximum(lam, 1 - lam)  # the original stays the larger part
        perm = rng.permutation(n)
        shape = (n,) + (1,) * (x.ndim - 1)
        x = lam.reshape(shape) * x + (1 - lam.reshape(shape)) * x[perm]
        y = lam[:, None] * y + (1 - lam[:, None]) * y[perm]
    return x, y


def _stretch_axis(x: np.ndarray, factors: np.ndarray, *, axis: int) -> np.ndarray:
    """Index ``j`` along ``axis`` of example ``i`` becomes index ``j / factors[i]`` of the
    input, linearly interpolated; beyond the last index the last is repeated."""
    moved = np.moveaxis(x, axis, 1)
    size = moved.shape[1]
    src = np.clip(np.arange(size)[None, :] / factors[:, None], 0, size - 1)  # (n, size)
    lo = np.minimum(np.floor(src).astype(int), size - 2)
    frac = (src - lo).reshape(src.shape + (1,) * (moved.ndim - 2)).astype(np.float32)
    rows = np.arange(len(x))[:, None]
    return np.moveaxis((1 - frac) * moved[rows, lo] + frac * moved[rows, lo + 1], 1, axis)


def make_batch_sequence(x: np.ndarray, y: np.ndarray, *, batch_size: int, seed: int,
                        initial_epoch: int = 0, augment: bool = True, weights=None,
                        **settings):
    """A ``keras.utils.PyDataset`` of shuffled (and augmented) batches, new each epoch.

    The random state of epoch ``e`` depends only on ``seed`` and ``e``, so a resumed
    run sees the same batches as an uninterrupted one, with or without ``weights``.

    Parameters
    ----------
    x, y : np.ndarray
        Training features and one-hot labels.
    batch_size : int > 0
    seed : int
    initial_epoch : int >= 0
        The epoch the first pass belongs to (resuming).
    augment : bool
        ``False``: the batches are only shuffled (what ``fit(..., shuffle=True)`` does,
        but with an order a resumed run can draw again).
    weights : array-like [shape=(len(x),)] of float >= 0, or None
        None: each epoch is a permutation of the clips. Otherwise each epoch is
        ``len(x)`` draws with replacement, clip ``i`` drawn with probability
        ``weights[i] / sum(weights)`` (balanced corpora:
        :func:`fser_utils.training.fit.compute_corpus_weights`), so that a small corpus's
        clips come up more often than once an epoch and a large one's less.
    **settings
        Keyword arguments of :func:`compute_batch_augmentation` (with ``augment``).
    """
    keras = _keras()
    p = None
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(x),) or not np.isfinite(weights).all() \
                or (weights < 0).any() or weights.sum() <= 0:
            raise FserError(f"batch weights must be {len(x)} finite numbers >= 0, not all 0")
        p = weights / weights.sum()

    class BatchSequence(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = initial_epoch
            self._order()

        def _order(self):
            self.rng = np.random.default_rng([seed, self.epoch])
            self.order = (self.rng.permutation(len(x)) if p is None
                          else self.rng.choice(len(x), size=len(x), replace=True, p=p))

        def __len__(self):
            return int(np.ceil(len(x) / batch_size))

        def __getitem__(self, i):
            idx = np.sort(self.order[i * batch_size:(i + 1) * batch_size])
            if not augment:
                # float32 as Keras makes arrays passed to fit (one-hot labels are float64)
                return x[idx], np.asarray(y[idx], dtype=np.float32)
            batch_rng = np.random.default_rng([seed, self.epoch, i])
            return compute_batch_augmentation(x[idx], y[idx], rng=batch_rng, **settings)

        def on_epoch_end(self):
            self.epoch += 1
            self._order()

    return BatchSequence()


# --- the random state of Keras layers (dropout, augmentation layers) ---------------------

def list_seed_generators(model) -> list:
    """Every ``keras.random.SeedGenerator`` of a model's layers, nested ones included,
    in layer order (the same for a built model and for the same model loaded from a
    file)."""
    seen, out = set(), []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for generator in getattr(layer, "_seed_generators", ()):
            if id(generator) not in seen:
                seen.add(id(generator))
                out.append(generator)
    return out


def compute_epoch_seeds(model, seed: int, epoch: int) -> list:
    """The state each seed generator of ``model`` starts epoch ``epoch`` with.

    Parameters
    ----------
    model : keras.Model
    seed : int
        The run's seed.
    epoch : int >= 0

    Returns
    -------
    states : list of (keras.Variable, np.ndarray [shape=(2,)])
        Each generator's state variable and its value ``[derived seed, 0]``, the seed
        drawn from ``(seed, epoch, position of the generator)``.

    Notes
    -----
    Keras saves a layer's weights but not its generators' states, so a model loaded
    from a checkpoint would draw other dropout and augmentation masks than the
    uninterrupted run; deriving each epoch's state from the epoch number needs nothing
    saved and gives a resumed run the same masks.
    """
    out = []
    for j, generator in enumerate(list_seed_generators(model)):
        value = np.random.SeedSequence([int(seed), int(epoch), j]).generate_state(1)[0]
        # below 2**31: a valid seed for every backend's seed dtype (int64, uint32)
        state = np.array([int(value) & 0x7FFFFFFF, 0])
        out.append((generator.state, state.astype(generator.state.dtype)))
    return out


def reseed_random_layers(model, seed: int, epoch: int) -> None:
    """Set every seed generator of ``model`` to its state for ``epoch``
    (:func:`compute_epoch_seeds`); call it as the epoch begins."""
    for variable, value in compute_epoch_seeds(model, seed, epoch):
        variable.assign(value)
