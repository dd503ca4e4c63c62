"""A training loop that keeps every image on the accelerator (JAX backend only).

``keras.Model.fit`` hands the device one batch at a time: the host slices a numpy
array, copies the batch over and launches one compiled step, so a small network such
as FSER spends most of each step waiting on Python. The paper's recipe makes that
expensive: 20 copies of every image, 400 epochs, some 200 000 steps. Here the whole
augmented training set is copied to the device once, an epoch's shuffle is drawn on
the device, and one compiled function runs the epoch's steps with
``jax.lax.scan``. The maths is the model's own (``stateless_call``) and the
optimiser's own (``stateless_apply``), so the result differs from ``fit`` only in the
order of the shuffles and in float rounding; the last partial batch of an epoch is
dropped (fewer than ``batch_size`` of ~35 000 images).

The loop also logs the test accuracy after every epoch. It is never used to choose
anything: it is there so that chapter 8 can show what choosing the epoch on the test
set would have reported (``fser leak select-on-test``).

Select it with ``fser train --loop resident`` or ``train_model(..., loop="resident")``.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from fser_utils.errors import FserError

__all__ = ["check_resident_backend", "fit_resident"]

#: epochs between two checkpoints (a checkpoint writes the model and optimiser)
CHECKPOINT_EVERY = 10


def check_resident_backend() -> None:
    """Raise a one-line error unless Keras runs on JAX."""
    import keras

    if keras.backend.backend() != "jax":
        raise FserError("the resident training loop needs KERAS_BACKEND=jax "
                        f"(this process runs Keras on {keras.backend.backend()})")


def _make_steps(model, loss_fn, batch_size: int):
    """Compiled functions: one epoch of training steps, and batched prediction."""
    import jax
    import jax.numpy as jnp

    optimizer = model.optimizer

    def loss_and_updates(tv, ntv, x, y):
        probs, ntv = model.stateless_call(tv, ntv, x, training=True)
        return loss_fn(y, probs), (probs, ntv)

    grad_fn = jax.value_and_grad(loss_and_updates, has_aux=True)

    def one_step(state, batch):
        tv, ntv, ov = state
        x, y = batch
        (loss, (probs, ntv)), grads = grad_fn(tv, ntv, x, y)
        tv, ov = optimizer.stateless_apply(ov, grads, tv)
        hit = jnp.mean(jnp.argmax(probs, -1) == jnp.argmax(y, -1))
        return (tv, ntv, ov), (loss, hit)

    @jax.jit
    def run_epoch(state, X, Y, key):
        steps = X.shape[0] // batch_size
        order = jax.random.permutation(key, X.shape[0])[:steps * batch_size]
        order = order.reshape(steps, batch_size)

        def step(state, idx):
            return one_step(state, (X[idx], Y[idx]))

        state, (losses, hits) = jax.lax.scan(step, state, order)
        return state, jnp.mean(losses), jnp.mean(hits)

    @jax.jit
    def predict_batch(tv, ntv, x):
        probs, _ = model.stateless_call(tv, ntv, x, training=False)
        return probs

    return run_epoch, predict_batch


def _predict(predict_batch, tv, ntv, X, batch: int = 512) -> np.ndarray:
    import jax.numpy as jnp

    # pad the last chunk so that one compiled shape serves every call
    out = []
    for s in range(0, len(X), batch):
        chunk = X[s:s + batch]
        n = chunk.shape[0]
        if n < batch:
            chunk = jnp.concatenate([chunk, jnp.zeros((batch - n,) + chunk.shape[1:],
                                                      chunk.dtype)])
        out.append(np.asarray(predict_batch(tv, ntv, chunk))[:n])
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _assign(model, state) -> None:
    """Write the loop's variables back into the Keras model and its optimiser."""
    tv, ntv, ov = state
    for var, value in zip(model.trainable_variables, tv):
        var.assign(value)
    for var, value in zip(model.non_trainable_variables, ntv):
        var.assign(value)
    for var, value in zip(model.optimizer.variables, ov):
        var.assign(value)


def _reseed(model, train_state, seed: int, epoch: int):
    """``train_state`` with every random layer's generator (dropout) at its state for
    ``epoch`` (:func:`fser_utils.training.augment.compute_epoch_seeds`).

    A checkpoint does not keep the generators' states, so without this a resumed run
    would draw other dropout masks than the uninterrupted one.
    """
    import jax.numpy as jnp

    from fser_utils.training.augment import compute_epoch_seeds

    values = {id(var): value for var, value in compute_epoch_seeds(model, seed, epoch)}
    if not values:
        return train_state
    tv, ntv, ov = train_state
    ntv = [jnp.asarray(values[id(var)]) if id(var) in values else value
           for var, value in zip(model.non_trainable_variables, ntv)]
    return tv, ntv, ov


def _save(run, model, train_state, state: dict) -> None:
    """Best weights (if they changed) and the checkpoint, written together so that a
    resumed run never holds best weights newer than its state says."""
    best = state.pop("best", None)
    if best is not None:
        _assign(model, best)
        run.save_best_weights(model)
    _assign(model, train_state)
    run.save_checkpoint(model, state)


def _to_device(data: dict, n_classes: int):
    """Training pictures, their one-hot labels, validation and test pictures on the device."""
    import jax
    import jax.numpy as jnp

    return (jnp.asarray(data["X_train"], dtype=jnp.float32),
            jax.nn.one_hot(jnp.asarray(data["y_train"]), n_classes),
            jnp.asarray(data["X_val"], dtype=jnp.float32),
            jnp.asarray(data["X_test"], dtype=jnp.float32))


def _epoch_row(epoch: int, loss, acc, p_val, p_test, data: dict, seconds: float) -> dict:
    """One line of ``history.csv``; the test accuracy is logged, never used to choose."""
    return {"epoch": epoch, "accuracy": float(acc), "loss": float(loss),
            "val_accuracy": float(np.mean(p_val.argmax(1) == data["y_val"])),
            "val_loss": _cross_entropy(p_val, data["y_val"]),
            "test_accuracy": float(np.mean(p_test.argmax(1) == data["y_test"])),
            "seconds": seconds}


def _cross_entropy(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0))))


def fit_resident(model, data: dict, *, epochs: int, batch_size: int, seed: int,
                 patience: int | None = None, state: dict | None = None, run=None,
                 initial_epoch: int = 0, loss_fn=None, progress: bool = True) -> dict:
    """Train a compiled Keras model with the data held on the device.

    Parameters
    ----------
    model : keras.Model
        Compiled (its optimiser is used); on resume, the checkpointed trainer.
    data : dict
        ``X_train``, ``y_train`` (int class codes), ``X_val``, ``y_val``, ``X_test``,
        ``y_test``: images float32 [shape=(n, h, w, c)] and codes [shape=(n,)].
    epochs : int > 0
        Last epoch (exclusive), counted from 0 as in Keras.
    batch_size : int > 0
    seed : int
        Seeds every epoch's shuffle and dropout masks from (``seed``, epoch), so that a
        resumed run continues the same sequence.
    patience : int > 0 or None
        Early stopping on validation accuracy.
    state : dict or None
        Training state (best epoch, best validation accuracy, wait, seconds) to continue.
    run : fser_utils.training.run.Run or None
        Where history, best weights and checkpoints go (``None``: nowhere, for tests).
    initial_epoch : int >= 0
    loss_fn : keras loss or None
        Defaults to categorical cross-entropy.
    progress : bool

    Returns
    -------
    state : dict
        ``epoch``, ``best_epoch``, ``best_val_accuracy``, ``wait``, ``train_seconds``
        and ``history`` (the epochs run in this call, as a table).
    """
    import jax
    import keras
    from tqdm.auto import tqdm

    check_resident_backend()
    if loss_fn is None:
        loss_fn = keras.losses.CategoricalCrossentropy()
    n_classes = model.output_shape[-1]
    if len(data["X_train"]) < batch_size:
        raise FserError(f"{len(data['X_train'])} training images are fewer than one batch "
                        f"of {batch_size}")
    if not model.optimizer.built:  # a resumed checkpoint's optimiser is built, with its state
        model.optimizer.build(model.trainable_variables)
    X, Y, X_val, X_test = _to_device(data, n_classes)
    run_epoch, predict_batch = _make_steps(model, loss_fn, batch_size)
    train_state = ([v.value for v in model.trainable_variables],
                   [v.value for v in model.non_trainable_variables],
                   [v.value for v in model.optimizer.variables])
    state = dict(state or {"epoch": -1, "best_epoch": -1, "best_val_accuracy": -1.0,
                           "wait": 0, "train_seconds": 0.0})
    rows = []
    bar = tqdm(total=epochs, initial=initial_epoch, desc="training", unit="epoch",
               disable=not progress)
    t_start, seconds_before = time.perf_counter(), state["train_seconds"]
    for epoch in range(initial_epoch, epochs):
        key = jax.random.fold_in(jax.random.PRNGKey(seed), epoch)
        train_state = _reseed(model, train_state, seed, epoch)
        train_state, loss, acc = run_epoch(train_state, X, Y, key)
        tv, ntv, _ = train_state
        p_val = _predict(predict_batch, tv, ntv, X_val)
        p_test = _predict(predict_batch, tv, ntv, X_test)
        state["train_seconds"] = seconds_before + time.perf_counter() - t_start
        row = _epoch_row(epoch, loss, acc, p_val, p_test, data, state["train_seconds"])
        val_acc = row["val_accuracy"]
        rows.append(row)
        improved = state["best_epoch"] < 0 or val_acc > state["best_val_accuracy"]
        if improved:
            state.update(best_val_accuracy=val_acc, best_epoch=epoch, wait=0)
            state["best"] = train_state
        else:
            state["wait"] += 1
        state["epoch"] = epoch
        stop = patience is not None and state["wait"] >= patience
        if run is not None:
            run.append_history(pd.DataFrame([row]))
            if stop or epoch + 1 == epochs or (epoch + 1) % CHECKPOINT_EVERY == 0:
                _save(run, model, train_state, state)
        bar.set_postfix(accuracy=f"{acc:.3f}", val_accuracy=f"{val_acc:.3f}")
        bar.update(1)
        if stop:
            break
    bar.close()
    best = state.pop("best", None)
    if best is not None:
        _assign(model, best)
    elif run is not None:
        run.load_best_weights(model)
    state["history"] = pd.DataFrame(rows)
    return state
