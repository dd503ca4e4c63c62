"""Fitting a configured model on prepared arrays: the callbacks and the loops.

:func:`fit_arrays` takes the training, validation and test arrays of a run and fits the
configured model, writing its history and checkpoints to the run folder as it goes:
Keras' ``Model.fit`` (resumable epoch by epoch, with every random draw taken from the
seed and the epoch alone), the resident loop of :mod:`fser_utils.training.resident`, or
one scikit-learn fit. Model selection and early stopping look only at the validation
set; the test set is predicted once, after training, with the selected model.
"""
from __future__ import annotations

import functools
import time

import numpy as np
import pandas as pd

from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
from fser_utils.training import devices
from fser_utils.training.devices import make_keep_memory_callback
from fser_utils.training.profiles import (TrainingProfile, check_converge_rule,
                                          update_converge_rule)
from fser_utils.training.run import Run
from fser_utils.training.run_config import RunConfig
from fser_utils.training.trainer import build_trainer, compile_trainer, get_inner_network

__all__ = ["fit_arrays", "LOOPS", "compute_corpus_weights"]


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
                run.save_best_weights(get_inner_network(self.model))
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
                probs = get_inner_network(self.model).predict(X_test, batch_size=256, verbose=0)
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


def _start_or_resume(run: Run, data: dict, config: RunConfig, resuming: bool,
                     steps_per_epoch: int):
    """The trainer to fit: the checkpointed one (history cut back to its epoch) or a new
    compiled one. Returns ``(trainer, state, initial_epoch, done)``; ``state`` is ``None``
    for a new trainer, and ``done`` says whether the checkpoint already ends the run."""
    p = config.profile
    if not resuming:
        trainer, _ = build_trainer(p, data["X_train"].shape[1:], config.seed,
                                   spec=config.model, params=config.model_params,
                                   n_speakers=data.get("n_speakers"))
        compile_trainer(trainer, p, steps_per_epoch)
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
    # looked up on the module, where a test pretends to have a GPU
    if p.mixed_precision and devices.list_gpus():
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
                     "time_shift": p.time_shift, "freq_warp": p.freq_warp,
                     "tempo": p.tempo} if batch else {}
            train = make_batch_sequence(data["X_train"], Y_train, batch_size=p.batch_size,
                                        seed=seed, initial_epoch=initial_epoch,
                                        augment=batch, weights=_training_weights(data, p),
                                        **extra)
            cbs.insert(0, _epoch_seeds(seed))
            # shuffle=False: the sequence is shuffled already, and Keras would permute
            # its batches with Python's global generator
            trainer.fit(train, epochs=p.epochs, initial_epoch=initial_epoch,
                        validation_data=(data["X_val"], Y_val), callbacks=cbs,
                        verbose=2 if verbose >= 2 else 0, shuffle=False)
        network = get_inner_network(trainer)
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
    if p.balance_corpora:
        raise FserError("the resident loop draws every clip once per epoch; balancing the "
                        "corpora needs the default loop (--loop fit)")
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
    with a speaker adversary also ``s_train`` (speaker codes from 0) and ``n_speakers``;
    for a profile with ``balance_corpora`` also ``c_train`` (the corpus of each training
    image), from which :func:`compute_corpus_weights` weighs the training clips.
    :func:`fser_utils.training.train.train_model` prepares it from a split of clips;
    chapter 8's leak arm (:func:`fser_utils.studies.pooled_arm.train_pooled_arm`) from a
    split of pooled images. ``log_test``: see :func:`~fser_utils.training.train.train_model`.
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
                                   seed=config.seed,
                                   sample_weight=_training_weights(data, config.profile))
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


def compute_corpus_weights(corpora) -> np.ndarray:
    """Weights that give every corpus the same total weight in training.

    Parameters
    ----------
    corpora : array-like [shape=(n,)]
        The corpus of each training clip (or image: augmented copies count as clips of
        their source's corpus).

    Returns
    -------
    weights : np.ndarray [shape=(n,), dtype=float64]
        One over the number of clips of the clip's corpus, scaled to mean 1, so that a
        loss or a margin keeps its usual scale; all 1 for a single corpus.
    """
    corpora = np.asarray(corpora)
    if not len(corpora):
        return np.ones(0)
    _, inverse, counts = np.unique(corpora, return_inverse=True, return_counts=True)
    # n / (corpora x clips of the corpus): each corpus sums to n / corpora, the mean is 1
    return len(corpora) / (len(counts) * counts[inverse].astype(np.float64))


def _training_weights(data: dict, profile: TrainingProfile) -> np.ndarray | None:
    """The training clips' weights for a profile that balances corpora, else None."""
    if not profile.balance_corpora:
        return None
    if "c_train" not in data:
        raise FserError("balancing corpora needs the corpus of every training clip, which "
                        "this training data does not carry")
    return compute_corpus_weights(data["c_train"])
