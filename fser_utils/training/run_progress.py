"""What a run writes while it trains: ``history.csv``, one epoch at a time, and the
``checkpoints/`` an interrupted Keras run resumes from.

:class:`RunProgress` holds these methods of :class:`fser_utils.training.run.Run`, which
inherits them: ``Run`` stays the one class that reads and writes a run folder, and these
methods go through its ``path``, ``load_history``, ``save_history``, ``_read_json`` and
``_write_json``. The history is rewritten whole at every epoch and a checkpoint's model
and state are written with Ctrl-C held back, so that a run killed at any moment resumes
from a consistent last epoch and never trains one twice.
"""
from __future__ import annotations

import contextlib
import signal
import threading

import pandas as pd

from fser_utils.atomic import write_atomic as _write_atomic
from fser_utils.training.run_models import load_keras

__all__ = ["HISTORY", "CHECKPOINTS", "RunProgress", "defer_interrupts"]

HISTORY = "history.csv"
#: ``last.keras`` (model + optimiser state), ``best.weights.h5`` and ``state.json``
#: (epoch, best epoch, patience counter)
CHECKPOINTS = "checkpoints"


class RunProgress:
    """The history and checkpoint methods of :class:`~fser_utils.training.run.Run`
    (a base class of it, not used alone)."""

    @property
    def can_resume(self) -> bool:
        """Whether an interrupted Keras run left a checkpoint to continue from."""
        ckpt = self.path / CHECKPOINTS
        return (ckpt / "state.json").is_file() and (ckpt / "last.keras").is_file()

    # --- history.csv ---------------------------------------------------------------------
    def list_history_columns(self) -> list[str]:
        """The columns ``history.csv`` logs (empty when it has no rows yet)."""
        if not (self.path / HISTORY).exists():
            return []
        return list(self.load_history().columns)

    def truncate_history(self, n_epochs: int) -> None:
        """Drop log rows written after the last checkpoint (an interruption between the two)."""
        if (self.path / HISTORY).exists():
            history = self.load_history()
            if len(history) > n_epochs:
                self.save_history(history.iloc[:n_epochs])

    def append_history(self, rows: pd.DataFrame) -> None:
        """Add epochs to ``history.csv`` (written whole, so a cut write cannot corrupt it)."""
        path = self.path / HISTORY
        old = self.load_history() if path.exists() else None
        self.save_history(rows if old is None else pd.concat([old, rows], ignore_index=True))

    def make_history_logger(self):
        """A Keras callback adding one row per epoch to ``history.csv``.

        The file is rewritten whole through :meth:`append_history` (a temporary file,
        then a rename), where Keras' ``CSVLogger`` appends in place: a kill or a full
        disk leaves the previous complete log, never a cut line. Columns as
        ``CSVLogger`` writes them: ``epoch``, then the logs in alphabetical order.
        """
        import keras

        run = self

        class HistoryLogger(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                row = {"epoch": epoch, **{k: float(logs[k]) for k in sorted(logs)}}
                run.append_history(pd.DataFrame([row]))

        return HistoryLogger()

    # --- checkpoints of an interrupted Keras run -----------------------------------------
    def save_checkpoint(self, trainer, state: dict) -> None:
        """The last epoch: the trainer with its optimiser state, then ``state.json``.

        Ctrl-C and SIGTERM wait until both are written: a model of epoch ``e`` beside
        the state of epoch ``e - 1`` would be resumed as if it had not trained epoch
        ``e``, and train it twice.
        """
        with defer_interrupts():
            _write_atomic(self.path / CHECKPOINTS / "last.keras", trainer.save)
            self._write_json(f"{CHECKPOINTS}/state.json", state)

    def load_checkpoint(self):
        """``(trainer, state)`` of the last finished epoch."""
        state = self._read_json(f"{CHECKPOINTS}/state.json")
        return load_keras(self.path / CHECKPOINTS / "last.keras"), state

    def save_best_weights(self, network) -> None:
        _write_atomic(self.path / CHECKPOINTS / "best.weights.h5", network.save_weights)

    def load_best_weights(self, network) -> None:
        network.load_weights(self.path / CHECKPOINTS / "best.weights.h5")


@contextlib.contextmanager
def defer_interrupts():
    """Hold SIGINT and SIGTERM until the block ends, then deliver them.

    Python runs signal handlers in the main thread between two bytecodes, so a handler
    swapped in here defers them whichever thread the operating system handed them to
    (blocking them with ``pthread_sigmask`` would not: TensorFlow's threads would still
    take them). Outside the main thread, where handlers cannot be set, nothing is held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    names = (signal.SIGINT, signal.SIGTERM)
    old = {}
    for name in names:
        old[name] = signal.signal(name, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for name, handler in old.items():
            # None: a handler set outside Python, which cannot be put back
            signal.signal(name, signal.SIG_DFL if handler is None else handler)
        for name in dict.fromkeys(caught):
            signal.raise_signal(name)
