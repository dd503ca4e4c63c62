"""Training recipes (profiles), the run configuration, and resumable training runs.

A run is defined by a :class:`RunConfig` (model and its parameters, features, profile,
split, seed) and written to a run folder, which :class:`fser_utils.training.run.Run` alone
reads and writes (its files are listed there). Training is: prepare the features,
make the split, build the model, fit, write the run.

Model selection and early stopping look only at the validation set; the test set is
predicted once, after training, with the selected model.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import hashlib
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.config import setup
from fser_utils.data.corpora import EMOTIONS
from fser_utils.training.devices import distribution_scope, make_keep_memory_callback
from fser_utils.errors import FserError
from fser_utils.features.kinds import describe_feature_kind
from fser_utils.paper import PAPER_RECIPE
from fser_utils.models.registry import DEFAULT_MODEL
from fser_utils.training.run import RESULT_FILES, Run, to_jsonable
from fser_utils.features.speaker_norm import compute_speaker_groups, normalize_features
from fser_utils.data.splits import check_split, make_split
from fser_utils.trust import get_installation_id

__all__ = [
    "TrainingProfile",
    "PROFILES",
    "get_training_profile",
    "RunConfig",
    "make_run_config",
    "run_name",
    "describe_hardware",
    "describe_train_command",
    "train_model",
    "check_train_options",
    "fit_arrays",
    "LOOPS",
    "load_or_train",
    "load_run",
    "load_run_model",
    "export_run_results",
    "RESULT_FILES",
    "compute_training_table",
    "AUGMENTATION_ARMS",
    "train_augmentation_ablation",
    "STOP_REASONS",
    "update_converge_rule",
    "check_converge_rule",
]


@dataclasses.dataclass(frozen=True)
class TrainingProfile:
    """A training recipe.

    Attributes
    ----------
    name : str
    epochs : int > 0
        Most epochs to run.
    batch_size : int > 0
    optimizer : {"sgd", "adam", "adamw"}
    learning_rate : float > 0
        Peak learning rate.
    momentum : float in [0, 1)
        SGD only.
    schedule : {"constant", "cosine"}
        ``cosine`` decays to 0 over ``epochs`` after ``warmup_epochs`` of linear warm-up.
    warmup_epochs : int >= 0
    weight_decay : float >= 0
        AdamW only.
    label_smoothing : float in [0, 1)
    augment : {"none", "offline", "online", "batch"}
        ``offline``: ``n_copies`` transformed copies of every training image made
        before training (the paper); ``online``: a fresh random copy every epoch
        (image transforms as Keras layers); ``batch``: time shift, SpecAugment and
        mixup on each batch of spectrogram or MFCC arrays
        (:func:`fser_utils.training.augment.compute_batch_augmentation`).
    n_copies : int >= 0
        Copies per image for ``offline``.
    width_shift, height_shift, zoom : float in [0, 1)
    flip : bool
        Horizontal flip, i.e. time reversal.
    specaugment : bool
        Time and frequency masking.
    patience : int > 0 or None
        Stop after this many epochs without a better validation accuracy; ``None``
        runs every epoch (the best epoch is still the one kept).
    max_train : int > 0 or None
        Use at most this many training images (a seeded random subset), for quick runs.
    mixed_precision : bool
        float16 compute on a GPU (ignored on a CPU, where it is slower).
    mixup : float >= 0
        Beta parameter of mixup for ``augment="batch"`` (0: off).
    time_shift : float in [0, 1)
        Largest circular time shift for ``augment="batch"``, as a fraction of the frames.
    freq_warp : float in [0, 1)
        Largest stretch of a spectrogram's frequency axis for ``augment="batch"``
        (vocal tract length perturbation; 0: off).
    converge_accuracy : float in (0, 1] or None
        Stop once the epoch's training accuracy reaches this (``stop_reason``
        "converged"); ``None``: off. ``epochs`` stays the upper bound, and the epoch
        kept is still the one with the best validation accuracy.
    converge_patience : int > 0 or None
        Stop once training accuracy has not improved for this many epochs ("levelled
        off"); ``None``: off. See :func:`update_converge_rule`.
    """

    name: str
    epochs: int
    batch_size: int = 64
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    schedule: str = "constant"
    warmup_epochs: int = 0
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    augment: str = "none"
    n_copies: int = 20
    width_shift: float = 0.1
    height_shift: float = 0.1
    zoom: float = 0.1
    flip: bool = True
    specaugment: bool = False
    patience: int | None = None
    max_train: int | None = None
    mixed_precision: bool = False
    mixup: float = 0.0
    time_shift: float = 0.0
    freq_warp: float = 0.0
    converge_accuracy: float | None = None
    converge_patience: int | None = None

    def asdict(self) -> dict:
        out = dataclasses.asdict(self)
        # a profile without the stopping rule reads as before the rule existed, so that
        # stored and interrupted runs keep their configuration key (and stay resumable)
        for name in _CONVERGE_FIELDS:
            if out[name] is None:
                del out[name]
        return out

    @property
    def converges(self) -> bool:
        """Whether the training-accuracy stopping rule is on."""
        return self.converge_accuracy is not None or self.converge_patience is not None


_CONVERGE_FIELDS = ("converge_accuracy", "converge_patience")


# the log-mel CNN's recipe (chapter 9): AdamW, warm-up then cosine decay, label smoothing,
# time shift + SpecAugment + mixup on every batch. 120 epochs: the budget with the best
# validation accuracy on unseen speakers among those that fit 30 minutes of the book's
# 2-core CPU (chapter 9, section 7); section 2's comparison ran 40
_CNN_RECIPE = TrainingProfile("cnn", epochs=120, batch_size=32, optimizer="adamw",
                              learning_rate=2e-3, schedule="cosine", warmup_epochs=3,
                              weight_decay=1e-2, label_smoothing=0.1, augment="batch",
                              specaugment=True, mixup=0.2, time_shift=0.1)

PROFILES = {
    # seconds on a CPU, for tests and CI: a subset, no augmentation, Adam
    "ci": TrainingProfile("ci", epochs=10, batch_size=16, optimizer="adam",
                          learning_rate=1e-3, augment="none", max_train=640),
    # the best we found for a 2-core CPU in a few minutes: Adam, cosine decay over 30
    # epochs, early stopping on validation accuracy, and no augmentation, which won the
    # augmentation ablation of chapter 4 (on validation accuracy) at this budget
    "cpu": TrainingProfile("cpu", epochs=30, batch_size=64, optimizer="adam",
                           learning_rate=1e-3, schedule="cosine", augment="none",
                           patience=10),
    # the paper, as written: offline 20x augmentation, plain SGD at 0.001, batch 64,
    # categorical cross-entropy, up to 400 epochs (meant for a GPU): fser_utils.paper
    "paper": TrainingProfile("paper", epochs=PAPER_RECIPE["epochs"],
                             batch_size=PAPER_RECIPE["batch_size"],
                             optimizer=PAPER_RECIPE["optimizer"],
                             learning_rate=PAPER_RECIPE["learning_rate"], augment="offline",
                             n_copies=PAPER_RECIPE["n_copies"]),
    # ours for one GPU: AdamW with warm-up and cosine decay, larger batches, fresh
    # augmentation every epoch (no time reversal, SpecAugment masks instead), label
    # smoothing, mixed precision
    "fast": TrainingProfile("fast", epochs=150, batch_size=128, optimizer="adamw",
                            learning_rate=2e-3, schedule="cosine", warmup_epochs=5,
                            weight_decay=1e-4, label_smoothing=0.1, augment="online",
                            flip=False, specaugment=True, patience=40,
                            mixed_precision=True),
    "cnn": _CNN_RECIPE,
    # the TCN's recipe (chapter 9): the log-mel CNN's without mixup, SpecAugment and
    # label smoothing, under which the small TCN underfitted (37 % training accuracy
    # after 40 epochs); the time shift stays. 120 epochs beat 40 on the speaker split's
    # validation parts (3 seeds each)
    "tcn": dataclasses.replace(_CNN_RECIPE, name="tcn", mixup=0.0, specaugment=False,
                               label_smoothing=0.0),
    # scikit-learn models fit once; the profile only records that
    "classical": TrainingProfile("classical", epochs=1, augment="none"),
}
# the log-mel CNN's recipe plus vocal tract length perturbation: a random stretch of the
# mel axis by up to 10 % either way, aimed at the gap between seen and unseen speakers
PROFILES["cnn-warp"] = dataclasses.replace(PROFILES["cnn"], name="cnn-warp", freq_warp=0.1)
# chapter 8's converged arms (issue 33): the paper's recipe (20 offline copies, batch 64,
# rate 0.001) with Adam instead of plain SGD, which after 400 epochs still had not fitted
# its training pictures, trained until training accuracy levels off, so that each arm
# shows what it gives once the network has learnt its training set. The paper's 400
# epochs bound the run
PROFILES["paper-adam"] = dataclasses.replace(PROFILES["paper"], name="paper-adam",
                                             optimizer="adam", converge_accuracy=0.99,
                                             converge_patience=10)


def get_training_profile(profile="ci", **overrides) -> TrainingProfile:
    """A profile by name (or as given), with some fields replaced.

    Raises
    ------
    FserError
        Unknown profile name or field.
    """
    if isinstance(profile, TrainingProfile):
        base = profile
    elif profile in PROFILES:
        base = PROFILES[profile]
    else:
        raise FserError(f"unknown profile '{profile}' (choose from: {', '.join(PROFILES)})")
    fields = {f.name for f in dataclasses.fields(TrainingProfile)}
    bad = sorted(set(overrides) - fields)
    if bad:
        raise FserError(f"unknown profile setting(s): {', '.join(bad)}")
    return dataclasses.replace(base, **overrides) if overrides else base


def run_name(profile, split: str = "paper", test_corpus: str | None = None, *,
             tag: str | None = None, model: str = "fser") -> str:
    """Default run folder name (:meth:`fser_utils.training.run.Run.make_name`), e.g. ``cpu-paper``,
    ``cpu-corpus-emodb``, ``ci-paper-noflip``; models other than FSER lead, e.g.
    ``tcn-tcn-speaker``."""
    name = profile.name if isinstance(profile, TrainingProfile) else str(profile)
    return Run.make_name(model=getattr(model, "name", model), profile=name, split=split,
                         test_corpus=test_corpus, tag=tag)


#: where Linux describes the CPU (a test points it at a file of its own)
_CPUINFO = "/proc/cpuinfo"


def describe_hardware() -> str:
    """A one-line description of the CPU (model, cores) and of any GPU Keras can use.

    Where the CPU reports its family and model numbers (x86), they follow its name: a
    virtual machine may name only the vendor ("AMD EPYC"), and the generation changes
    both the speed and the rounding of the arithmetic (chapter 9, section 7).
    """
    cpu = platform.processor() or platform.machine()
    info = {}
    try:
        with open(_CPUINFO) as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = info.get("model name", cpu)
    if "cpu family" in info and "model" in info:
        cpu += f" (family {info['cpu family']}, model {info['model']})"
    n = os.cpu_count()
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    gpus = _list_gpus()
    text = f"{cpu}, {n} CPU cores"
    return text + (f"; GPU: {', '.join(gpus)}" if gpus else "; no GPU")


def describe_train_command(settings: dict) -> str:
    """The ``fser train`` command that makes a run with these settings.

    Parameters
    ----------
    settings : dict
        A run's ``settings.json`` (:meth:`fser_utils.training.run.Run.load_settings`).

    Returns
    -------
    command : str
        Options that equal the model's defaults are left out. Profile changes that the
        command line cannot express follow as a ``#`` comment.
    """
    from fser_utils.models.registry import get_model_spec

    name = settings["model"]["name"]
    spec = get_model_spec(name)
    parts = ["fser train", f"--model {name}"]
    profile = settings["profile"]
    if profile != spec.profile:
        parts.append(f"--profile {profile}")
    features = _feature_kind_of(settings.get("features"), spec.features)
    if features != spec.features:
        parts.append(f"--features {features}")
    parts.append(f"--split {settings['split']}")
    if settings.get("test_corpus"):
        parts.append(f"--test-corpus {settings['test_corpus']}")
    from fser_utils.data.corpora import EXTRA_CORPORA

    used = settings.get("corpora") or []
    if any(c in EXTRA_CORPORA for c in used):
        # the paper's corpora that were absent (SAVEE) were asked for all the same
        parts.append("--corpora all" if set(EXTRA_CORPORA) <= set(used)
                     else f"--corpora {','.join(used)}")
    parts.append(f"--seed {settings['seed']}")
    known = PROFILES[profile].asdict() if profile in PROFILES else {}
    changed = {k: v for k, v in settings.get("profile_settings", {}).items()
               if k in known and v != known[k]}
    if "epochs" in changed:
        parts.insert(-1, f"--epochs {changed.pop('epochs')}")
    command = " ".join(parts)
    if changed:
        command += "  # profile changed: " + ", ".join(f"{k}={v}" for k, v in changed.items())
    return command


def _feature_kind_of(recorded: dict | None, default: str) -> str:
    """The registered feature kind whose settings are ``recorded`` (the default when
    nothing is recorded or the default matches)."""
    from fser_utils.features.kinds import FEATURE_KINDS, get_feature_settings

    names = [default] + [n for n in FEATURE_KINDS if n != default]
    for name in names if recorded else []:
        if to_jsonable(get_feature_settings(name).asdict()) == to_jsonable(recorded):
            return name
    if recorded:
        raise FserError(f"the run's feature settings match no registered feature kind: "
                        f"{recorded}")
    return default


def _list_gpus() -> list[str]:
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [tf.config.experimental.get_device_details(d).get("device_name", d.name)
                    for d in tf.config.list_physical_devices("GPU")]
        if backend == "jax":
            import jax

            return [str(d.device_kind) for d in jax.devices() if d.platform == "gpu"]
        if backend == "torch":
            import torch

            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # a broken driver must not stop a CPU run
        return []
    return []


def _versions() -> dict:
    import keras

    from fser_utils import __version__
    from fser_utils.config import CHECKOUT, describe_commit

    out = {"fser_utils": __version__, "code_commit": describe_commit(CHECKOUT),
           "keras_backend": keras.backend.backend(), "keras": keras.__version__}
    backend = out["keras_backend"]
    try:
        module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
        out[module] = __import__(module).__version__
    except (KeyError, ImportError):
        pass
    return out


# --- the training loop -----------------------------------------------------------------

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


def _build_trainer(p: TrainingProfile, input_shape, seed: int, *, spec="fser",
                   params: dict | None = None, n_speakers: int | None = None):
    """The model, wrapped with on-the-fly image augmentation if the profile asks for it,
    or with a speaker adversary if the model is registered with one.

    Returns ``(trainer, network)``: what is fitted, and the network inside it.
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


def _compile(trainer, p: TrainingProfile, steps_per_epoch: int):
    import keras

    if trainer.name == _ADVERSARIAL:
        from fser_utils.models.networks import EmotionSpeakerLoss, emotion_accuracy, speaker_cross_entropy

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


def _inner_network(trainer):
    """The network inside a trainer that wraps it with augmentation layers or with a
    speaker adversary."""
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


#: why a run with the training-accuracy rule stopped (``stop_reason`` in its metrics):
#: the rule's two reasons, the validation patience, or the epoch budget spent
STOP_REASONS = ("converged", "levelled off", "no validation gain", "epochs")


def update_converge_rule(state: dict, train_accuracy: float, profile: TrainingProfile):
    """One epoch of the rule "train until training accuracy levels off".

    Parameters
    ----------
    state : dict
        The run's training state (``checkpoints/state.json``), updated in place: the
        rule keeps ``best_train_accuracy`` and ``train_wait`` (epochs since it last
        improved) there, so that a resumed run continues the count it had.
    train_accuracy : float in [0, 1]
        This epoch's training accuracy.
    profile : TrainingProfile
        Its ``converge_accuracy`` and ``converge_patience``; without either, nothing
        is changed.

    Returns
    -------
    reason : {"converged", "levelled off"} or None
        Why training stops after this epoch (also kept as ``state["stop_reason"]``);
        ``None`` to go on.
    """
    if not profile.converges:
        return None
    state.setdefault("best_train_accuracy", -1.0)
    state.setdefault("train_wait", 0)
    acc = float(train_accuracy)
    if acc > state["best_train_accuracy"]:
        state.update(best_train_accuracy=acc, train_wait=0)
    else:
        # a NaN accuracy counts as no gain: it can never be the level reached
        state["train_wait"] += 1
    reason = None
    if profile.converge_accuracy is not None and acc >= profile.converge_accuracy:
        reason = "converged"
    elif profile.converge_patience is not None \
            and state["train_wait"] >= profile.converge_patience:
        reason = "levelled off"
    if reason:
        state["stop_reason"] = reason
    return reason


def check_converge_rule(profile: TrainingProfile, *, loop: str = "fit") -> None:
    """Refuse a stopping rule that cannot apply, before any work.

    Raises
    ------
    FserError
        Bad ``converge_accuracy`` or ``converge_patience``; the rule with the resident
        loop, which does not run it.
    """
    acc, wait = profile.converge_accuracy, profile.converge_patience
    if acc is not None and not (isinstance(acc, (int, float)) and 0 < acc <= 1):
        raise FserError(f"converge_accuracy must lie in (0, 1], not {acc!r}")
    if wait is not None and (isinstance(wait, bool) or not isinstance(wait, int) or wait < 1):
        raise FserError(f"converge_patience must be a whole number of epochs >= 1, "
                        f"not {wait!r}")
    if profile.converges and loop != "fit":
        raise FserError(f"profile '{profile.name}' stops when training accuracy levels off, "
                        f"which only the default loop does: use --loop fit")


def _describe_stop(state: dict, p: TrainingProfile, epochs_run: int) -> dict:
    """``stop_reason`` for the metrics of a run with the stopping rule (none otherwise)."""
    if not p.converges:
        return {}
    reason = state.get("stop_reason")
    if reason is None:
        reason = "epochs" if epochs_run >= p.epochs else "no validation gain"
    return {"stop_reason": reason}


def _run_callbacks(run: Run, state: dict, profile: TrainingProfile, t_start: float):
    """Checkpointing, best-model tracking and early stopping (on validation accuracy,
    and on training accuracy for a profile with :func:`update_converge_rule`) that
    survive a restart, and the allocator setting that keeps an epoch fast
    (:func:`fser_utils.training.devices.keep_freed_memory`)."""
    import keras

    patience = profile.patience

    class RunState(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            val = float(logs.get("val_accuracy", np.nan))
            if state["best_epoch"] < 0 or val > state["best_val_accuracy"]:
                state.update(best_val_accuracy=val, best_epoch=epoch, wait=0)
                run.save_best_weights(_inner_network(self.model))
            else:
                state["wait"] += 1
            state["epoch"] = epoch
            state["train_seconds"] = state["seconds_before"] + time.perf_counter() - t_start
            # before the checkpoint, so that the saved state already counts this epoch
            converged = update_converge_rule(state, logs.get("accuracy", np.nan), profile)
            run.save_checkpoint(self.model, state)
            if converged or (patience is not None and state["wait"] >= patience):
                self.model.stop_training = True

    class LearningRate(keras.callbacks.Callback):
        # log the rate actually used, which a schedule changes step by step
        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                opt = self.model.optimizer
                lr = opt.learning_rate
                logs["lr"] = float(keras.ops.convert_to_numpy(
                    lr(opt.iterations) if callable(lr) else lr))

    # the epoch's history row before its checkpoint: an interruption between the two
    # leaves a row the resumed run drops (Run.truncate_history), never a missing one
    return [make_keep_memory_callback(), LearningRate(), run.make_history_logger(),
            RunState()]


def _epoch_seeds(seed: int):
    """A callback giving every random layer (dropout, augmentation layers) the state of
    epoch ``e`` drawn from ``(seed, e)`` as the epoch begins
    (:func:`fser_utils.training.augment.reseed_random_layers`), so that a resumed run draws the
    same masks as an uninterrupted one."""
    import keras

    from fser_utils.training.augment import reseed_random_layers

    class EpochSeeds(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            reseed_random_layers(self.model, seed, epoch)

    return EpochSeeds()


def _adversary_ramp(epochs: int):
    """A callback setting the speaker adversary's reversal for each epoch
    (:func:`fser_utils.models.networks.compute_adversary_ramp`); a resumed run sets it afresh."""
    import keras

    from fser_utils.models.networks import compute_adversary_ramp

    class AdversaryRamp(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.get_layer("reverse_gradient").ramp.assign(
                compute_adversary_ramp(epoch, epochs))

    return AdversaryRamp()


def _logs_test(run: Run, resuming: bool, log_test: bool) -> bool:
    """Whether this (possibly resumed) run logs the test accuracy: a resumed run keeps
    the columns its history already has."""
    columns = run.list_history_columns() if resuming else []
    if not columns:
        return log_test
    logged = "test_accuracy" in columns
    if log_test and not logged:
        raise FserError(f"{run.path} was started without --log-test; resume it without "
                        f"the option, or start afresh with --no-resume")
    return logged


def _test_logger(X_test: np.ndarray, y_test: np.ndarray):
    """A callback adding ``test_accuracy`` to each epoch's logs; it must come before the
    history logger, which writes the logs it is handed."""
    import keras

    class TestAccuracy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                probs = _inner_network(self.model).predict(X_test, batch_size=256, verbose=0)
                logs["test_accuracy"] = float(np.mean(np.argmax(probs, 1) == y_test))

    return TestAccuracy()


def _epoch_bar(total: int, initial: int):
    import keras
    from tqdm.auto import tqdm

    class EpochBar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=total, initial=initial, desc="training", unit="epoch")

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            self.bar.set_postfix({k: f"{logs[k]:.3f}" for k in
                                  ("loss", "accuracy", "val_accuracy") if k in logs})
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochBar()


def _subset_train(part: pd.Series, labels: pd.Series, max_train: int | None, seed: int):
    """Positions of the training rows, at most ``max_train`` of them, stratified."""
    train = np.flatnonzero(part.to_numpy() == "train")
    if max_train is None or len(train) <= max_train:
        return train
    from sklearn.model_selection import train_test_split

    lab = labels.to_numpy()[train]
    counts = pd.Series(lab).value_counts()
    strat = lab if counts.min() >= 2 and max_train >= counts.size else None
    keep, _ = train_test_split(train, train_size=max_train, random_state=seed, stratify=strat)
    return np.sort(keep)


def _split_table(catalogue: pd.DataFrame, part: pd.Series) -> pd.DataFrame:
    cols = [c for c in ("relpath", "corpus", "speaker", "sex", "emotion") if c in catalogue]
    table = catalogue[cols].copy()
    table["emotion"] = table["emotion"].astype(str)
    table["part"] = part.to_numpy()
    return table.reset_index(drop=True)


def _predictions(catalogue: pd.DataFrame, probs: np.ndarray) -> pd.DataFrame:
    cols = [c for c in ("relpath", "corpus", "language", "speaker", "sex", "emotion")
            if c in catalogue]
    table = catalogue[cols].copy().reset_index(drop=True)
    table["emotion"] = table["emotion"].astype(str)
    table["predicted"] = np.asarray(EMOTIONS)[np.argmax(probs, axis=1)]
    for k, emotion in enumerate(EMOTIONS):
        table[f"p_{emotion}"] = probs[:, k].astype(np.float64)
    return table


def _labels(catalogue: pd.DataFrame) -> np.ndarray:
    codes = pd.Categorical(catalogue["emotion"].astype(str), categories=EMOTIONS).codes
    if (codes < 0).any():
        bad = catalogue["emotion"].astype(str)[codes < 0].iloc[0]
        raise FserError(f"emotion '{bad}' is not one of the eight classes")
    return codes.astype(np.int64)


def train_model(catalogue: pd.DataFrame, X: np.ndarray | None = None, *,
                config: "RunConfig | None" = None, out=None, resume: bool = True,
                verbose: int = 1, tag: str | None = None, callbacks=None,
                devices: int | None = None, loop: str = "fit", log_test: bool = False,
                **settings) -> Path:
    """Train a registered model on a catalogue and write a run folder.

    The steps are short functions of their own: check the configuration, the output
    folder and the test corpus (before any audio is read), prepare the features
    (:func:`_prepare_features`; standardised per speaker for a model registered with
    ``speaker_norm``), make the split and open the run folder
    (:func:`_open_run`), fit (:func:`_fit_keras` or :func:`_fit_sklearn`), write the
    results (:func:`_write_results`). The folder is created only once the split is made.

    Parameters
    ----------
    catalogue : pd.DataFrame [shape=(n, ...)]
        From :func:`fser_utils.data.catalogue.load_catalogue`; with ``X`` given, the rows
        must be aligned with it (``kept`` of :func:`fser_utils.features.load_features`).
    X : np.ndarray [shape=(n, *feature_settings.shape)] or None
        Features as the model eats them; ``None`` computes them with ``load_features``.
    config : RunConfig or None
        What to train; or give its fields as keyword arguments (``**settings``).
    out : path-like or None
        Run folder; defaults to ``get_runs_dir() / run_name(...)``.
    resume : bool
        Continue an interrupted run found in ``out`` from its last finished epoch, if it
        was started with the same configuration; ``False`` starts afresh.
    verbose : int
        0 silent, 1 one progress bar over epochs, 2 Keras' bar over steps.
    tag : str or None
        Appended to the default run name (for variants made with ``overrides``).
    callbacks : list of keras.callbacks.Callback or None
        Extra callbacks (the tests use one to interrupt a run).
    devices : int or None
        Split each batch over this many devices with the backend's data-parallel API
        (:func:`fser_utils.training.devices.distribution_scope`; JAX backend). Not part of the
        configuration: the result is the same as on one device up to float rounding.
    loop : {"fit", "resident"}
        ``fit``: Keras' ``Model.fit``. ``resident``: every image held on the device and
        each epoch one compiled scan (:mod:`fser_utils.training.resident`; JAX backend; logs the
        test accuracy per epoch for chapter 8). Not part of the configuration.
    log_test : bool
        With ``loop="fit"``, also log the test accuracy of every epoch in the history
        (it is never used to choose anything; chapter 8's arm (b) reads it). Costs one
        pass over the test images per epoch. The resident loop always logs it.
    **settings
        Fields of :class:`RunConfig` when ``config`` is None: ``model`` (default
        :data:`fser_utils.models.registry.DEFAULT_MODEL`; ``"fser"`` is the paper's CNN),
        ``profile`` (default: the model's own), ``split``, ``test_corpus``, ``seed``,
        ``overrides``, ``model_params``, ``feature_settings``.

    Returns
    -------
    run_dir : Path
        The run folder; read it with :func:`load_run` or :class:`fser_utils.training.run.Run`.

    Raises
    ------
    FserError
        A bad configuration (see :class:`RunConfig`); an output path that cannot be a
        folder; a test corpus absent from the catalogue; a run folder holding another
        configuration; features not aligned with the catalogue.
    """
    config = _resolve_config(config, settings)
    run = Run.for_config(config, out=out, tag=tag)
    scope = check_train_options(config, run, devices=devices, loop=loop, resume=resume)
    _check_test_corpus(catalogue, config)
    X, catalogue = _prepare_features(catalogue, X, config.feature_settings, verbose)
    spec = config.model
    X = normalize_features(X, settings=config.feature_settings, speaker_norm=spec.speaker_norm,
                           clip_norm=spec.clip_norm,
                           groups=compute_speaker_groups(catalogue) if spec.speaker_norm else None)
    part, resuming = _open_run(run, catalogue, config, resume)
    data = _split_arrays(catalogue, X, part, config)
    run.save_settings(_settings_record(catalogue, config, data))
    with scope:
        result = fit_arrays(run, data, config, resuming=resuming, verbose=verbose,
                            callbacks=callbacks, loop=loop, log_test=log_test)
    _write_results(run, catalogue, data, result, config)
    return run.path


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run, resolved and checked before any audio is read.

    The defaults here are the package's only ones: ``fser train`` takes its defaults
    from them (:meth:`defaults`), and :func:`train_model` and :func:`load_or_train`
    pass their keyword arguments through. Names are resolved on construction: after
    it, ``model`` is a :class:`~fser_utils.models.registry.ModelSpec`, ``profile`` a
    :class:`TrainingProfile` with ``overrides`` applied (``overrides`` is then None),
    ``model_params`` the builder's keyword arguments over its registered ones, and
    ``feature_settings`` the settings of a feature kind.

    Attributes
    ----------
    model : str or ModelSpec
        A key of :data:`fser_utils.models.registry.MODELS`.
    profile : str, TrainingProfile or None
        See :data:`PROFILES`; None takes the model's own.
    split : {"paper", "speaker", "corpus"}
        See :func:`fser_utils.data.splits.make_split`.
    test_corpus : str or None
        The corpus held out by ``split="corpus"`` (given with that split only).
    seed : int in [0, 2**32)
        Seeds the split, the weights, the augmentation and the batch order.
    overrides : dict or None
        Profile fields to change, e.g. ``{"flip": False}``; see :class:`TrainingProfile`.
    model_params : dict or None
        Keyword arguments for the model's builder, over its registered defaults.
    feature_settings : settings of a feature kind, or None
        None: the model's feature kind with its default settings.

    Raises
    ------
    FserError
        Unknown model, profile, profile field, augmentation mode, split or corpus; a
        seed out of range; a test corpus missing for, or given without, the corpus split.
    """

    model: object = DEFAULT_MODEL
    profile: object = None
    split: str = "paper"
    test_corpus: str | None = None
    seed: int = 42
    overrides: dict | None = None
    model_params: dict | None = None
    feature_settings: object = None

    def __post_init__(self):
        from fser_utils.features.kinds import get_feature_settings
        from fser_utils.models.registry import get_model_spec

        spec = get_model_spec(self.model)
        p = get_training_profile(spec.profile if self.profile is None else self.profile,
                                 **(self.overrides or {}))
        _check_config(p, self.split, self.test_corpus, self.seed)
        fs = self.feature_settings
        resolved = {"model": spec, "profile": p, "overrides": None, "seed": int(self.seed),
                    "model_params": {**spec.params, **(self.model_params or {})},
                    "feature_settings": get_feature_settings(spec.features) if fs is None else fs}
        _check_model_features(spec, resolved["feature_settings"])
        for name, value in resolved.items():
            object.__setattr__(self, name, value)

    def __hash__(self) -> int:
        return hash(self.digest())

    @property
    def key(self) -> dict:
        """The part that decides whether a run folder is reused or resumed, as JSON reads
        it back (a run keeps it as ``config_key`` in its settings)."""
        return to_jsonable({
            "model": self.model.name, "model_params": self.model_params,
            "profile_settings": self.profile.asdict(), "features": self.feature_settings.asdict(),
            # the cache key carries the feature code's version, so a run trained on features
            # computed by older code counts as stale even when the settings read the same
            "features_key": self.feature_settings.key(),
            "split": self.split, "test_corpus": self.test_corpus, "seed": self.seed})

    def digest(self) -> str:
        """A short hash of :attr:`key`."""
        return hashlib.sha256(json.dumps(self.key, sort_keys=True).encode()).hexdigest()[:16]

    @classmethod
    def defaults(cls) -> dict:
        """The default of every field (what ``fser train`` uses without options)."""
        return {f.name: f.default for f in dataclasses.fields(cls)}


def _check_config(p: TrainingProfile, split: str, test_corpus, seed) -> None:
    from fser_utils.data.corpora import CORPORA
    from fser_utils.data.splits import SPLIT_KINDS

    if p.augment not in ("none", "offline", "online", "batch"):
        raise FserError(f"unknown augmentation mode '{p.augment}' (none, offline, online, batch)")
    check_converge_rule(p)
    if split not in SPLIT_KINDS:
        raise FserError(f"unknown split '{split}' (choose from: {', '.join(SPLIT_KINDS)})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed < 2 ** 32:
        raise FserError(f"the seed must be an integer in [0, 2**32), got {seed!r}")
    if split == "corpus" and not test_corpus:
        raise FserError("the corpus split needs --test-corpus (test_corpus), e.g. emodb")
    if split != "corpus" and test_corpus:
        raise FserError("--test-corpus (test_corpus) is only used with the corpus split")
    if test_corpus and test_corpus not in CORPORA:
        raise FserError(f"unknown test corpus '{test_corpus}' "
                        f"(choose from: {', '.join(c for c in CORPORA if c != 'demo')})")


def _check_model_features(spec, fs) -> None:
    """Refuse a feature kind the model cannot read, before any feature is computed: a
    scikit-learn model takes one vector per clip, a network a map (time x bands)."""
    ndim = len(tuple(fs.shape))
    kind = getattr(fs, "kind", type(fs).__name__)
    if spec.family == "sklearn" and ndim != 1:
        raise FserError(f"model '{spec.name}' reads one feature vector per clip (e.g. "
                        f"{spec.features}); '{kind}' features have shape {tuple(fs.shape)}")
    if spec.family == "keras" and ndim < 2:
        raise FserError(f"model '{spec.name}' reads a feature map per clip (e.g. "
                        f"{spec.features}); '{kind}' features are a vector of {fs.shape[0]}")


def check_train_options(config: RunConfig, run: Run, *, devices: int | None = None,
                        loop: str = "fit", resume: bool = True, keep_finished: bool = False):
    """Check every option of a training run before anything is read, removed or written.

    Parameters
    ----------
    config : RunConfig
        Already checked on construction (model, profile, split, feature kind).
    run : Run
        The output folder: it must be creatable and writable.
    devices, loop
        As for :func:`train_model`.
    resume : bool
        ``False`` starts afresh, which deletes the folder's earlier results.
    keep_finished : bool
        Refuse ``resume=False`` on a folder that holds a finished run (``fser train
        --no-resume``: a finished run is never deleted by a command line).

    Returns
    -------
    scope : context manager
        The device scope to train in (:func:`fser_utils.training.devices.distribution_scope`).

    Raises
    ------
    FserError
        One line for the first problem found.
    """
    if loop not in LOOPS:
        raise FserError(f"unknown training loop '{loop}' (choose from: {', '.join(LOOPS)})")
    if config.model.family != "sklearn":
        check_converge_rule(config.profile, loop=loop)
    if config.model.family == "sklearn" and devices not in (None, 1):
        raise FserError(f"model '{config.model.name}' is fitted by scikit-learn on the CPU; "
                        "--devices is for networks")
    if loop == "resident" and config.model.family != "sklearn":
        from fser_utils.training.resident import check_resident_backend

        check_resident_backend()
    scope = distribution_scope(devices)
    run.check_writable()
    if keep_finished and run.is_finished:
        if not resume:
            raise FserError(f"'{run.path}' holds a finished run, which --no-resume would "
                            "delete: give another --out, or remove the folder yourself")
        if run.config_key != to_jsonable(config.key):
            raise FserError(f"'{run.path}' holds a finished run made with other settings "
                            f"({_describe_key_change(run.config_key, config.key)}): give "
                            "another --out, or remove the folder yourself")
    elif resume and run.can_resume and run.config_key not in (None, to_jsonable(config.key)):
        # said here, before the features are computed, rather than when the run is opened
        change = _describe_key_change(run.config_key, config.key)
        what = "another split" if {"split", "seed", "test_corpus"} & set(change.split(", ")) \
            else "another configuration"
        raise FserError(f"the interrupted run in '{run.path}' was started with {what} "
                        f"({change}); use another output folder or --no-resume")
    return scope


def _describe_key_change(old: dict | None, new: dict) -> str:
    new = to_jsonable(new)
    return ", ".join(sorted(k for k in new if (old or {}).get(k) != new[k])) or "unrecorded"


def make_run_config(**settings) -> RunConfig:
    """The :class:`RunConfig` of these fields (kept for older code)."""
    return RunConfig(**settings)


_CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig))


def _resolve_config(config: RunConfig | None, settings: dict) -> RunConfig:
    if config is None:
        unknown = sorted(set(settings) - set(_CONFIG_FIELDS))
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
        return RunConfig(**settings)
    if settings:
        raise TypeError("give either config or its fields "
                        f"({', '.join(sorted(settings))}), not both")
    return config


def _check_test_corpus(catalogue: pd.DataFrame, config: RunConfig) -> None:
    found = sorted(set(catalogue["corpus"].astype(str))) if "corpus" in catalogue else []
    if config.test_corpus and config.test_corpus not in found:
        raise FserError(f"test corpus '{config.test_corpus}' is not among the corpora found "
                        f"({', '.join(found) or 'none'})")


def _prepare_features(catalogue, X, feature_settings, verbose):
    if X is None:
        from fser_utils.features import load_features

        X, catalogue = load_features(catalogue, feature_settings, progress=verbose > 0)
    catalogue = catalogue.reset_index(drop=True)
    X = np.asarray(X, dtype=np.float32)
    if len(X) != len(catalogue):
        raise FserError(f"{len(X)} feature arrays for {len(catalogue)} catalogue rows")
    if X.shape[1:] != tuple(feature_settings.shape):
        raise FserError(f"features of shape {X.shape[1:]} do not match the feature settings "
                        f"{tuple(feature_settings.shape)}")
    return X, catalogue


def _open_run(run: Run, catalogue, config: RunConfig, resume: bool):
    """Make the split, then the run folder; decide whether an interrupted run is resumed."""
    setup(config.seed)
    part = make_split(catalogue, kind=config.split, seed=config.seed,
                      test_corpus=config.test_corpus)
    check_split(catalogue, part, kind=config.split)
    split_table = _split_table(catalogue, part)
    run.create()
    resuming = resume and run.can_resume
    if resuming:
        run.check_resume(key=config.key, split=split_table)
    else:
        run.clear()
        run.save_split(split_table)
    return part, resuming


def _split_arrays(catalogue, X, part, config) -> dict:
    """Training, validation and test arrays (training augmented offline if asked)."""
    p, seed = config.profile, config.seed
    y = _labels(catalogue)
    train_idx = _subset_train(part, catalogue["emotion"].astype(str), p.max_train, seed)
    val_idx = np.flatnonzero(part.to_numpy() == "val")
    test_idx = np.flatnonzero(part.to_numpy() == "test")
    X_train, y_train = X[train_idx], y[train_idx]
    # speakers numbered within the training part, for a speaker adversary
    s_train = pd.factorize(catalogue["speaker"].to_numpy()[train_idx], sort=True)[0]
    if p.augment == "offline" and p.n_copies > 0:
        from fser_utils.training.augment import build_augmenter, compute_augmented_images

        augmenter = build_augmenter(width_shift=p.width_shift, height_shift=p.height_shift,
                                    zoom=p.zoom, flip=p.flip, specaugment=p.specaugment,
                                    seed=seed)
        X_train, source = compute_augmented_images(X_train, n_copies=p.n_copies,
                                                   augmenter=augmenter, progress=True)
        y_train, s_train = y_train[source], s_train[source]
    return {"X_train": X_train, "y_train": y_train, "s_train": s_train,
            "n_speakers": int(s_train.max()) + 1 if len(s_train) else 0, "train_idx": train_idx,
            "X_val": X[val_idx], "y_val": y[val_idx], "val_idx": val_idx,
            "X_test": X[test_idx], "y_test": y[test_idx], "test_idx": test_idx}


def _settings_record(catalogue, config: RunConfig, data) -> dict:
    p, spec = config.profile, config.model
    use_mixed = p.mixed_precision and bool(_list_gpus())
    return {
        # the flags that decide how features are read, so that the run reopens on its own
        "model": {"name": spec.name, "family": spec.family, "features": spec.features,
                  "speaker_norm": spec.speaker_norm, "clip_norm": spec.clip_norm,
                  "speaker_adversary": spec.speaker_adversary, **config.model_params},
        "profile": p.name, "profile_settings": p.asdict(), "split": config.split,
        "test_corpus": config.test_corpus, "seed": config.seed,
        "features": config.feature_settings.asdict(),
        # the kind's registry name and class too: "features" alone does not tell egemaps
        # from compare, nor rebuild a kind that is no longer registered
        "feature_kind": describe_feature_kind(config.feature_settings), **_versions(),
        "hardware": describe_hardware(), "mixed_precision_used": use_mixed,
        "data_root": str(catalogue.attrs.get("root", "")),
        "corpora": sorted(catalogue["corpus"].unique().tolist()),
        "n_train": int(len(data["train_idx"])), "n_train_images": int(len(data["X_train"])),
        "n_val": int(len(data["val_idx"])), "n_test": int(len(data["test_idx"])),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        # which installation wrote the run (its model.json carries the proof, an HMAC)
        "installation": get_installation_id(),
        "config_key": config.key,
    }


def _start_or_resume(run: Run, data: dict, config: RunConfig, resuming: bool,
                     steps_per_epoch: int):
    """The trainer to fit: the checkpointed one (history cut back to its epoch) or a new
    compiled one. Returns ``(trainer, state, initial_epoch, done)``; ``state`` is ``None``
    for a new trainer, and ``done`` says whether the checkpoint already ends the run."""
    p = config.profile
    if not resuming:
        trainer, _ = _build_trainer(p, data["X_train"].shape[1:], config.seed,
                                    spec=config.model, params=config.model_params,
                                    n_speakers=data.get("n_speakers"))
        _compile(trainer, p, steps_per_epoch)
        return trainer, None, 0, False
    trainer, state = run.load_checkpoint()
    initial_epoch = state["epoch"] + 1
    run.truncate_history(initial_epoch)
    done = (p.patience is not None and state["wait"] >= p.patience) or \
        initial_epoch >= p.epochs or bool(state.get("stop_reason"))
    return trainer, state, initial_epoch, done


def _fit_keras(run: Run, data: dict, config: RunConfig, *, resuming: bool, verbose: int,
               callbacks=None, log_test: bool = False) -> dict:
    """Fit (or resume) a Keras model; returns probabilities and the training state."""
    import keras

    p, seed = config.profile, config.seed
    n_classes = len(EMOTIONS)
    Y_train = keras.utils.to_categorical(data["y_train"], n_classes)
    Y_val = keras.utils.to_categorical(data["y_val"], n_classes)
    if config.model.speaker_adversary:
        # speaker targets follow the emotions; validation speakers are not among them
        n_speakers = data["n_speakers"]
        Y_train = np.concatenate(
            [Y_train, keras.utils.to_categorical(data["s_train"], n_speakers)], axis=1)
        Y_val = np.concatenate([Y_val, np.zeros((len(Y_val), n_speakers))], axis=1)
    steps_per_epoch = int(np.ceil(len(data["X_train"]) / p.batch_size))
    old_policy = keras.mixed_precision.dtype_policy().name
    if p.mixed_precision and _list_gpus():
        keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        trainer, state, initial_epoch, done = _start_or_resume(run, data, config, resuming,
                                                               steps_per_epoch)
        if state is None:
            state = {"epoch": -1, "best_epoch": -1, "best_val_accuracy": -1.0, "wait": 0,
                     "train_seconds": 0.0}
        state["seconds_before"] = state.get("train_seconds", 0.0)
        cbs = _run_callbacks(run, state, p, time.perf_counter())
        if _logs_test(run, resuming, log_test):
            cbs.insert(0, _test_logger(data["X_test"], data["y_test"]))
        if verbose == 1:
            cbs.append(_epoch_bar(p.epochs, initial_epoch))
        if config.model.speaker_adversary and config.model.adversary_ramp:
            cbs.insert(0, _adversary_ramp(p.epochs))
        cbs += list(callbacks or [])
        if not done:
            from fser_utils.training.augment import make_batch_sequence

            # the batch order (and augmentation) of epoch e, like the layers' random
            # state (_epoch_seeds), is drawn from (seed, e) alone: Keras' own shuffle
            # draws from a global generator that a resumed process cannot put back
            # where it was, so the resumed run would train on other batches
            batch = p.augment == "batch"
            extra = {"specaugment": p.specaugment, "mixup": p.mixup,
                     "time_shift": p.time_shift, "freq_warp": p.freq_warp} if batch else {}
            train = make_batch_sequence(data["X_train"], Y_train, batch_size=p.batch_size,
                                        seed=seed, initial_epoch=initial_epoch,
                                        augment=batch, **extra)
            cbs.insert(0, _epoch_seeds(seed))
            # shuffle=False: the sequence is shuffled already, and Keras would permute
            # its batches with Python's global generator
            trainer.fit(train, epochs=p.epochs, initial_epoch=initial_epoch,
                        validation_data=(data["X_val"], Y_val), callbacks=cbs,
                        verbose=2 if verbose >= 2 else 0, shuffle=False)
        network = _inner_network(trainer)
        run.load_best_weights(network)
        val_probs = np.asarray(network.predict(data["X_val"], batch_size=256, verbose=0))
        test_probs = np.asarray(network.predict(data["X_test"], batch_size=256, verbose=0))
        run.save_model(network)
    finally:
        keras.mixed_precision.set_dtype_policy(old_policy)
    return {"val_probs": val_probs, "test_probs": test_probs, "state": state,
            "n_params": int(network.count_params()), "predict": network.predict}


def _fit_resident(run: Run, data: dict, config: RunConfig, *, resuming: bool, verbose: int,
                  callbacks=None) -> dict:
    """As :func:`_fit_keras`, with :func:`fser_utils.training.resident.fit_resident` as the loop."""
    import keras

    from fser_utils.training.resident import check_resident_backend, fit_resident

    check_resident_backend()
    p = config.profile
    if callbacks:
        raise FserError("extra Keras callbacks need the default loop (--loop fit)")
    if p.augment in ("online", "batch"):
        raise FserError(f"the resident loop takes offline augmentation or none, not "
                        f"'{p.augment}' (profile {p.name})")
    if config.model.speaker_adversary:
        raise FserError(f"model '{config.model.name}' trains against a speaker classifier; "
                        "use the default loop (--loop fit)")
    trainer, state, initial_epoch, done = _start_or_resume(
        run, data, config, resuming, max(1, len(data["X_train"]) // p.batch_size))
    if done:
        run.load_best_weights(trainer)
    else:
        state = fit_resident(
            trainer, data, epochs=p.epochs, batch_size=p.batch_size, seed=config.seed,
            patience=p.patience, state=state, run=run, initial_epoch=initial_epoch,
            loss_fn=keras.losses.CategoricalCrossentropy(label_smoothing=p.label_smoothing),
            progress=verbose == 1)
        state.pop("history")
    val_probs = np.asarray(trainer.predict(data["X_val"], batch_size=256, verbose=0))
    test_probs = np.asarray(trainer.predict(data["X_test"], batch_size=256, verbose=0))
    run.save_model(trainer)
    return {"val_probs": val_probs, "test_probs": test_probs, "state": state,
            "n_params": int(trainer.count_params()), "predict": trainer.predict}


#: training loops for Keras models: Keras' own ``fit``, or all data on the device (JAX)
LOOPS = ("fit", "resident")


def fit_arrays(run: Run, data: dict, config: RunConfig, *, resuming: bool = False,
               verbose: int = 1, callbacks=None, loop: str = "fit",
               log_test: bool = False) -> dict:
    """Fit the configured model on prepared arrays, writing history and checkpoints to ``run``.

    ``data`` holds ``X_train``, ``y_train``, ``X_val``, ``y_val``, ``X_test``, ``y_test``
    (images and int class codes) and ``train_idx``, ``val_idx``, ``test_idx``; for a model
    with a speaker adversary also ``s_train`` (speaker codes from 0) and ``n_speakers``.
    :func:`train_model` prepares it from a split of clips; chapter 8's leak arm
    (:func:`fser_utils.studies.leaks.train_pooled_arm`) from a split of pooled images.
    ``log_test``: see :func:`train_model`.
    Returns the validation and test probabilities, the training state and the model's size.
    """
    if loop not in LOOPS:
        raise FserError(f"unknown training loop '{loop}' (choose from: {', '.join(LOOPS)})")
    if config.model.family != "sklearn":
        # callers that skip check_train_options (chapter 8's pooled arm) are refused too
        check_converge_rule(config.profile, loop=loop)
    if config.model.family == "sklearn":
        fit = _fit_sklearn
    elif loop == "resident":
        fit = _fit_resident  # logs the test accuracy anyway
    else:
        fit = functools.partial(_fit_keras, log_test=log_test)
    return fit(run, data, config, resuming=resuming, verbose=verbose, callbacks=callbacks)


def _fit_sklearn(run: Run, data: dict, config: RunConfig, *, resuming: bool, verbose: int,
                 callbacks=None) -> dict:
    """Fit a scikit-learn model, choosing ``C`` on validation; save it with the run."""
    from fser_utils.models.classical import expand_proba, fit_classical

    n_classes = len(EMOTIONS)
    t0 = time.perf_counter()
    model, history = fit_classical(config.model.build, data["X_train"], data["y_train"],
                                   data["X_val"], data["y_val"], n_classes=n_classes,
                                   seed=config.seed)
    seconds = time.perf_counter() - t0
    run.save_history(pd.DataFrame([{"epoch": i, **row} for i, row in enumerate(history)]))
    run.save_model(model)
    best = int(np.argmax([row["val_accuracy"] for row in history]))
    state = {"epoch": len(history) - 1, "best_epoch": best, "train_seconds": seconds,
             "chosen": history[best]}
    svc = model[-1]
    return {"val_probs": expand_proba(model, data["X_val"], n_classes),
            "test_probs": expand_proba(model, data["X_test"], n_classes), "state": state,
            "n_params": int(svc.support_vectors_.size + svc.dual_coef_.size),
            "predict": lambda X, **_: expand_proba(model, X, n_classes)}


def _scoring_ms(catalogue, data, config, predict, n: int = 40) -> float:
    """Median milliseconds to score one clip from its file: decode, features, model.

    NaN when the audio is not on this machine (features computed elsewhere and carried
    to a GPU machine): the time cannot be measured there, and no number is made up.
    """
    from fser_utils.features.kinds import compute_features
    from fser_utils.features import load_audio

    fs = config.feature_settings
    rows = catalogue.iloc[data["test_idx"][:n]]
    if "path" not in rows or not all(Path(p).is_file() for p in rows["path"]):
        return float("nan")
    times = []
    for path in rows["path"]:
        t0 = time.perf_counter()
        y = load_audio(path, sr=fs.sr, n_fft=fs.n_fft)
        predict(compute_features(y, sr=fs.sr, settings=fs)[None], verbose=0)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000) if times else float("nan")


def _write_results(run: Run, catalogue, data, result, config: RunConfig) -> None:
    p, state = config.profile, result["state"]
    val_pred = _predictions(catalogue.iloc[data["val_idx"]], result["val_probs"])
    test_pred = _predictions(catalogue.iloc[data["test_idx"]], result["test_probs"])
    run.save_predictions(val_pred, "val")
    run.save_predictions(test_pred, "test")
    epochs_run = int(state["epoch"] + 1)
    seconds = float(state["train_seconds"])
    n_images = len(data["X_train"])
    metrics = {
        "val_accuracy": float((val_pred["predicted"] == val_pred["emotion"]).mean()),
        "test_accuracy": float((test_pred["predicted"] == test_pred["emotion"]).mean()),
        "best_epoch": int(state["best_epoch"] + 1),
        "epochs_run": epochs_run,
        "stopped_early": bool(config.model.family == "keras" and epochs_run < p.epochs),
        "train_seconds": seconds,
        "seconds_per_epoch": seconds / max(1, epochs_run),
        "images_per_second": n_images * epochs_run / seconds if seconds else float("nan"),
        "n_train_images": int(n_images), "n_val": int(len(data["val_idx"])),
        "n_test": int(len(data["test_idx"])), "n_params": result["n_params"],
        "scoring_ms_per_clip": _scoring_ms(catalogue, data, config, result["predict"]),
        **_describe_stop(state, p, epochs_run),
    }
    run.save_metrics(metrics)


def load_or_train(catalogue: pd.DataFrame, X: np.ndarray | None = None, *,
                  config: RunConfig | None = None, out=None, tag: str | None = None,
                  **kwargs) -> Path:
    """The run folder of a finished run with this configuration, training it if needed.

    Takes the keyword arguments of :func:`train_model`. A folder counts as finished
    when it holds ``metrics.json``; an unfinished one is resumed. A finished run whose
    configuration (:attr:`RunConfig.key`: model and its parameters, profile, features,
    split, seed) differs from the one asked for is not reused: it is trained again from
    scratch, with a note.
    """
    config = _resolve_config(config, {k: kwargs.pop(k) for k in _CONFIG_FIELDS if k in kwargs})
    run = Run.for_config(config, out=out, tag=tag)
    if run.is_finished:
        old, wanted = run.config_key, config.key
        if old == wanted:
            return run.path
        stale = sorted(k for k in wanted if (old or {}).get(k) != wanted[k])
        print(f"note: {run.path} was trained with other settings ({', '.join(stale)}); "
              "training it again")
        kwargs["resume"] = False
    return train_model(catalogue, X, config=config, out=run.path, tag=tag, **kwargs)


def load_run(run_dir) -> dict:
    """Every result of a finished run folder as a dict, each file validated: see
    :meth:`fser_utils.training.run.Run.load`. Raises :class:`FserError` if the folder is missing,
    the run has not finished, or a file is damaged."""
    return Run.open(run_dir, finished=True).load()


def export_run_results(run_dir, dest) -> Path:
    """Copy a finished run's small result files (no model, no checkpoints) to ``dest``.

    The copy is itself a run folder that :func:`load_run` reads, so the book can show
    a long run stored in the repository.
    """
    return Run(run_dir).export(dest).path


def load_run_model(run_dir):
    """The trained model of a run folder, checked against its feature settings."""
    return Run.open(run_dir).load_model()


def compute_training_table(runs) -> pd.DataFrame:
    """One row per finished run: accuracies with their standard errors, epochs, time.

    Parameters
    ----------
    runs : dict of str -> path-like
        Row label -> run folder.

    Returns
    -------
    table : pd.DataFrame [shape=(len(runs), 9)]
        Index: the labels. Columns ``profile``, ``val_accuracy``, ``test_accuracy``,
        ``test_se`` (binomial standard error ``sqrt(p (1 - p) / n_test)``),
        ``n_test``, ``best_epoch``, ``epochs_run``, ``train_minutes``, ``images_per_second``.
    """
    rows = {}
    for label, run_dir in runs.items():
        run = load_run(run_dir)
        m = run["metrics"]
        p, n = m["test_accuracy"], m["n_test"]
        rows[label] = {"profile": run["settings"]["profile"], "val_accuracy": m["val_accuracy"],
                       "test_accuracy": p, "test_se": float(np.sqrt(p * (1 - p) / n)),
                       "n_test": n, "best_epoch": m["best_epoch"], "epochs_run": m["epochs_run"],
                       "train_minutes": m["train_seconds"] / 60,
                       "images_per_second": m["images_per_second"]}
    return pd.DataFrame.from_dict(rows, orient="index")


#: the augmentation ablation of chapter 4: profile overrides per arm
AUGMENTATION_ARMS = {
    "none": {"augment": "none"},
    "shift+zoom+flip": {"augment": "online", "flip": True, "specaugment": False},
    "shift+zoom": {"augment": "online", "flip": False, "specaugment": False},
    "shift+zoom+SpecAugment": {"augment": "online", "flip": False, "specaugment": True},
}


def train_augmentation_ablation(catalogue: pd.DataFrame, X: np.ndarray | None = None, *,
                                profile="cpu", epochs: int | None = None, split: str = "paper",
                                seed: int = 42, verbose: int = 1) -> dict:
    """Train (or load) one run per arm of :data:`AUGMENTATION_ARMS`.

    Every arm shares the profile, split, seed and number of epochs, so the arms
    differ only in their augmentation.

    Parameters
    ----------
    epochs : int > 0 or None
        Overrides the profile's epochs (and then the patience is ``epochs // 3``).

    Returns
    -------
    runs : dict of str -> Path
        Arm -> run folder (``<profile>-<split>-aug-<arm>``).
    """
    base = {}
    if epochs is not None:
        base = {"epochs": int(epochs), "patience": max(1, int(epochs) // 3)}
    runs = {}
    for arm, overrides in AUGMENTATION_ARMS.items():
        tag = "aug-" + arm.replace("+", "-").lower()
        runs[arm] = load_or_train(catalogue, X, model="fser", profile=profile, split=split,
                                  seed=seed, overrides={**base, **overrides}, tag=tag,
                                  verbose=verbose)
    return runs
