"""The network to fit: built from the registry, wrapped, and compiled with its recipe.

:func:`build_trainer` builds a registered model and wraps it where the profile or the
model asks: with image augmentation layers (``augment="online"``) or with a speaker
adversary (:func:`fser_utils.models.networks.build_speaker_adversary`).
:func:`compile_trainer` gives it the profile's optimizer, learning-rate schedule and
loss, and :func:`get_inner_network` finds the network inside the wrapper, which is what
a run keeps and scores with.
"""
from __future__ import annotations

from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
from fser_utils.training.profiles import TrainingProfile

__all__ = ["build_trainer", "compile_trainer", "get_inner_network"]


def _make_optimizer(p: TrainingProfile, steps_per_epoch: int):
    import keras

    lr = p.learning_rate
    if p.schedule == "cosine":
        total = max(1, p.epochs * steps_per_epoch)
        warm = p.warmup_epochs * steps_per_epoch
        lr = keras.optimizers.schedules.CosineDecay(
            0.0 if warm else p.learning_rate, decay_steps=max(1, total - warm),
            warmup_target=p.learning_rate if warm else None, warmup_steps=warm)
    elif p.schedule != "constant":
        raise FserError(f"unknown learning-rate schedule '{p.schedule}'")
    if p.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=p.momentum)
    if p.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=lr)
    if p.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=p.weight_decay)
    raise FserError(f"unknown optimizer '{p.optimizer}' (sgd, adam or adamw)")


def build_trainer(p: TrainingProfile, input_shape, seed: int, *, spec="fser",
                  params: dict | None = None, n_speakers: int | None = None):
    """The model, wrapped with on-the-fly image augmentation if the profile asks for it,
    or with a speaker adversary if the model is registered with one.

    Parameters
    ----------
    p : TrainingProfile
    input_shape : tuple of int
        One example's shape.
    seed : int
        Seeds the augmentation layers.
    spec : str or ModelSpec
        A registered model (:func:`fser_utils.models.registry.get_model_spec`).
    params : dict or None
        Builder keyword arguments over the registered ones.
    n_speakers : int or None
        Training speakers, for a model with a speaker adversary.

    Returns
    -------
    trainer, network : keras.Model
        What is fitted, and the network inside it (the same model when nothing wraps it).
    """
    import keras

    from fser_utils.models.registry import get_model_spec

    spec = get_model_spec(spec)
    network = spec.build(input_shape=tuple(input_shape), n_classes=len(EMOTIONS),
                         **{**spec.params, **(params or {})})
    if spec.speaker_adversary:
        if p.augment == "online":
            raise FserError(f"model '{spec.name}' trains against a speaker classifier, "
                            f"which does not combine with online image augmentation")
        from fser_utils.models.networks import build_speaker_adversary

        return build_speaker_adversary(network, n_speakers=n_speakers,
                                       weight=spec.speaker_adversary,
                                       speedup=spec.adversary_speedup,
                                       name=_ADVERSARIAL), network
    if p.augment != "online":
        return network, network
    from fser_utils.training.augment import build_augmenter

    augmenter = build_augmenter(width_shift=p.width_shift, height_shift=p.height_shift,
                                zoom=p.zoom, flip=p.flip, specaugment=p.specaugment,
                                seed=seed)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    trainer = keras.Model(inputs, network(augmenter(inputs)), name="trainer")
    return trainer, network


#: the name :func:`fser_utils.models.networks.build_speaker_adversary` gives its trainer
_ADVERSARIAL = "adversarial_trainer"


def compile_trainer(trainer, p: TrainingProfile, steps_per_epoch: int):
    """Compile a trainer of :func:`build_trainer` with the profile's optimizer, schedule
    and label smoothing (and, with a speaker adversary, its joint loss).

    Parameters
    ----------
    trainer : keras.Model
    p : TrainingProfile
    steps_per_epoch : int > 0
        Batches per epoch, which the learning-rate schedule counts in.
    """
    import keras

    if trainer.name == _ADVERSARIAL:
        from fser_utils.models.networks import (EmotionSpeakerLoss, emotion_accuracy,
                                                speaker_cross_entropy)

        # named "accuracy" so that the logs, and every reader of them, stay the same;
        # the speaker term is logged apart (0 on validation, whose speakers are unknown)
        loss = EmotionSpeakerLoss(label_smoothing=p.label_smoothing)
        metrics = [keras.metrics.MeanMetricWrapper(emotion_accuracy, name="accuracy"),
                   keras.metrics.MeanMetricWrapper(speaker_cross_entropy,
                                                   name="speaker_loss")]
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=p.label_smoothing)
        metrics = ["accuracy"]
    trainer.compile(optimizer=_make_optimizer(p, steps_per_epoch), loss=loss,
                    metrics=metrics)


def get_inner_network(trainer):
    """The network inside a trainer that wraps it with augmentation layers or with a
    speaker adversary (the trainer itself when nothing wraps it)."""
    import keras

    if trainer.name == _ADVERSARIAL:
        # the adversary shares the network's layers: the network is the trainer's graph
        # up to its emotion softmax, built once per trainer
        if getattr(trainer, "_fser_network", None) is None:
            trainer._fser_network = keras.Model(trainer.inputs,
                                                trainer.get_layer("softmax").output)
        return trainer._fser_network
    # the trainer is input -> augmenter -> network, so the network is its last layer
    return trainer.layers[-1] if trainer.name in ("trainer", "fser_trainer") else trainer
