"""The run folder: written, read and validated by :class:`Run` alone.

A run is one folder holding everything needed to trust, reuse or resume it:

=========================  ================================================================
``settings.json``          model (name, flags, parameters), profile and its parameters,
                           split, seed, feature settings and kind (registry name, class),
                           Keras backend and versions, hardware, data root, sizes, date,
                           and ``config_key``, the configuration that decides reuse
``split.csv``              relpath, corpus, speaker, sex, emotion, part of every clip
``split.json``             in stored results, instead of ``split.csv``: the sha256 of a
                           split stored once for many runs (:mod:`~fser_utils.training.run_split`)
``history.csv``            one row per epoch: loss, accuracy, val_loss, val_accuracy, lr
``learning_curves.png``    loss and accuracy per epoch (drawn by ``fser train``)
``model.keras``            the network at the epoch with the best validation accuracy
``model.skops``            or the fitted scikit-learn model (skops: loading runs no code;
                           ``model.joblib`` pickles of older versions are refused)
``metrics.json``           val/test accuracy, epochs, wall time, throughput
``model.json``             the model file's name and sha256, and this installation's HMAC
                           of that digest (:mod:`fser_utils.trust`)
``model.onnx``             after ``fser export``: the network as an ONNX graph, scored by
                           onnxruntime without Keras (:mod:`fser_utils.scoring.export`)
``export.json``            the graph's sha256, its largest difference from the Keras model,
                           the temperature fitted on validation and the calibration errors
``test_predictions.csv``   relpath ... emotion, predicted, ``p_<emotion>`` per class
``val_predictions.csv``    the same for the validation set
``checkpoints/``           ``last.keras`` (model + optimiser state), ``best.weights.h5``
                           and ``state.json`` (epoch, best epoch, patience counter), so
                           that an interrupted run resumes where it stopped
``evaluation/``            what :func:`fser_utils.studies.evaluate.evaluate_run` writes
=========================  ================================================================

A run counts as finished when it holds ``metrics.json``. Every file is written
atomically (a temporary file, then a rename), so an interruption never leaves half a
file, and the model is renamed into place last, after ``metrics.json`` and
``model.json`` (its digest): a run killed while writing its results has the new model
or none, never the previous run's model beside the new results. Loading a model checks
that digest and never runs code from the folder (:mod:`fser_utils.trust`);
:func:`~fser_utils.training.run_names.find_latest_run` only picks runs this installation
wrote. Every file is checked when it is read, and a bad one is refused with one line
naming it, before any audio is read: malformed JSON, settings that do not fit the model,
a truncated model, predictions whose rows, classes or probabilities do not match the run.

``Run`` delegates by job: how a model file is staged, signed and loaded
(:mod:`~fser_utils.training.run_models`), the checks of what it reads
(:mod:`~fser_utils.training.run_checks`), and the history and checkpoints written while a
run trains (:mod:`~fser_utils.training.run_progress`, a base class of ``Run``). Naming run
folders and finding runs under the runs folder is :mod:`~fser_utils.training.run_names`.
"""
from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.atomic import write_atomic as _write_atomic
from fser_utils.errors import FserError
from fser_utils.training.profiles import migrate_settings
from fser_utils.training.run_checks import (check_export_record, check_prediction_columns,
                                            check_prediction_rows, check_prediction_values,
                                            check_same_split, check_writable_folder)
from fser_utils.training.run_models import (JOBLIB, KERAS, MODEL_FILES, RECORD, SKOPS, STAGED,
                                            check_model_fits, describe_untrusted,
                                            find_model_file, find_staged_model,
                                            install_staged_model, load_model_file,
                                            make_record, read_model_config, stage_model)
from fser_utils.training.run_progress import CHECKPOINTS, HISTORY, RunProgress
from fser_utils.training.run_split import SPLIT_REF, read_shared_split

__all__ = ["Run", "RESULT_FILES", "to_jsonable"]

_SETTINGS, _METRICS, _SPLIT = "settings.json", "metrics.json", "split.csv"
_ONNX, _EXPORT = "model.onnx", "export.json"
_PARTS = {"test": "test_predictions.csv", "val": "val_predictions.csv"}
_PROBABILITY_FORMAT = "%.6g"  # float64's 17 significant digits only made the wheel larger

#: the small files of a run: enough to show and evaluate it without retraining
RESULT_FILES = (_SETTINGS, _METRICS, HISTORY, _SPLIT, _PARTS["test"], _PARTS["val"])


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_jsonable(data):
    """``data`` as it reads back from JSON (NumPy scalars, tuples and paths converted)."""
    return json.loads(json.dumps(data, default=_json_default))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Run(RunProgress):
    """One run folder (see the module docstring for its files).

    ``Run(path)`` only names the folder; :meth:`open` also checks that it exists.
    Readers (``load_*``) validate what they read and raise :class:`FserError` with
    one line naming the file; writers (``save_*``) write atomically.

    Parameters
    ----------
    path : path-like
        The run folder.
    """

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Run('{self.path}')"

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __eq__(self, other) -> bool:
        return isinstance(other, Run) and self.path == other.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    # --- trusting the model (how: fser_utils.training.run_models) ------------------------
    def check_written_here(self) -> str | None:
        """Why the run's model cannot be trusted as this installation's, or None if it can
        (:func:`fser_utils.training.run_models.describe_untrusted`)."""
        path, record = self.model_file, {}
        if path is not None and path.name != JOBLIB:
            try:
                record = self._read_json(RECORD, missing_ok=True)
            except FserError as exc:
                return str(exc)
        return describe_untrusted(path, record)

    def sign_model(self) -> None:
        """Vouch for the run's model as this installation's (write ``model.json``).

        For a run folder the user trusts but this installation did not write (one trained
        before runs were signed): :func:`~fser_utils.training.run_names.find_latest_run`
        picks it afterwards. A pickle is never signed: it cannot be loaded.
        """
        path = self.model_file
        if path is None or path.name == JOBLIB:
            raise FserError(f"'{self.path}' has no {KERAS} or {SKOPS} to sign")
        from fser_utils.trust import compute_file_sha256

        self._write_json(RECORD, make_record(path.name, compute_file_sha256(path)))

    # --- state ---------------------------------------------------------------------------
    @property
    def is_finished(self) -> bool:
        """Whether training finished (``metrics.json`` is written last)."""
        return (self.path / _METRICS).is_file()

    @property
    def model_file(self) -> Path | None:
        """``model.keras``, ``model.skops`` or ``model.joblib``, whichever exists, else None."""
        return find_model_file(self.path)

    @property
    def evaluation_dir(self) -> Path:
        """Where the evaluation's tables and figures go by default."""
        return self.path / "evaluation"

    @classmethod
    def open(cls, path, *, finished: bool = False) -> "Run":
        """An existing run folder; ``finished`` also requires ``metrics.json``.

        Its ``settings.json``, if present, is parsed at once, so malformed JSON is
        reported before anything else is done with the run.
        """
        run = cls(path)
        if not run.path.is_dir():
            raise FserError(f"run folder '{run.path}' does not exist")
        if finished and not run.is_finished:
            raise FserError(f"'{run.path}' holds no finished run (no {_METRICS})")
        run.load_settings(missing_ok=True)
        return run

    # --- JSON and CSV files --------------------------------------------------------------
    def _read_json(self, name: str, *, missing_ok: bool = False) -> dict:
        path = self.path / name
        if not path.is_file():
            if missing_ok:
                return {}
            raise FserError(f"run folder '{self.path}' has no {name}")
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise FserError(f"'{path}' is not valid JSON: {_one_line(exc)}") from None
        except OSError as exc:
            raise FserError(f"cannot read '{path}': {_one_line(exc)}") from None
        if not isinstance(data, dict):
            raise FserError(f"'{path}' does not hold a JSON object")
        return data

    def _write_json(self, name: str, data: dict) -> None:
        text = json.dumps(data, indent=2, default=_json_default)
        _write_atomic(self.path / name, lambda tmp: tmp.write_text(text))

    def _read_csv(self, name: str, data: bytes | None = None) -> pd.DataFrame:
        """``name`` of the folder, or the CSV bytes ``data`` read from ``name``."""
        path = Path(name) if data is not None else self.path / name
        if data is None and not path.is_file():
            raise FserError(f"run folder '{self.path}' has no {name}")
        try:
            # "NA", "null" ... are kept as strings: only an empty cell is missing
            return pd.read_csv(io.BytesIO(data) if data is not None else path,
                               keep_default_na=False, na_values=[""])
        except Exception as exc:  # pandas raises several parser errors
            raise FserError(f"cannot read '{path}': {_one_line(exc)}") from None

    def _write_csv(self, name: str, table: pd.DataFrame, **kwargs) -> None:
        _write_atomic(self.path / name, lambda tmp: table.to_csv(tmp, index=False, **kwargs))

    # --- reading -------------------------------------------------------------------------
    def load_settings(self, *, missing_ok: bool = False) -> dict:
        """``settings.json`` (an empty dict if it is absent and ``missing_ok``), with the
        profile under its current name where the run was made under an old one
        (:func:`~fser_utils.training.profiles.migrate_settings`)."""
        return migrate_settings(self._read_json(_SETTINGS, missing_ok=missing_ok))

    def load_metrics(self, *, missing_ok: bool = False) -> dict:
        """``metrics.json`` (an empty dict if it is absent and ``missing_ok``)."""
        return self._read_json(_METRICS, missing_ok=missing_ok)

    def load_history(self) -> pd.DataFrame:
        """``history.csv``: one row per epoch."""
        return self._read_csv(HISTORY)

    @property
    def has_split(self) -> bool:
        """Whether the run holds its split: ``split.csv``, or ``split.json`` naming one shared."""
        return (self.path / _SPLIT).is_file() or (self.path / SPLIT_REF).is_file()

    def load_split(self) -> pd.DataFrame:
        """``split.csv``: one row per clip with its ``part`` (train, val, test); in stored
        results, the shared split that ``split.json`` names, checked against its sha256."""
        if (self.path / _SPLIT).is_file() or not (self.path / SPLIT_REF).is_file():
            split, path = self._read_csv(_SPLIT), self.path / _SPLIT
        else:
            data, path = read_shared_split(self.path)
            split = self._read_csv(str(path), data)
        if not {"relpath", "part"} <= set(split.columns):
            raise FserError(f"'{path}' lacks the columns relpath and part")
        return split

    @property
    def config_key(self) -> dict | None:
        """The configuration the run was made with, None if unrecorded or unreadable."""
        try:
            key = self.load_settings().get("config_key")
        except FserError:
            return None
        return key if isinstance(key, dict) else None

    @property
    def model_name(self) -> str:
        """Registered name of the run's model: ``fser`` for runs older than the registry,
        ``""`` if ``settings.json`` is missing or unreadable."""
        try:
            model = self.load_settings().get("model", {})
        except FserError:
            return ""
        return model.get("name", "fser") if isinstance(model, dict) else "fser"

    def load_feature_settings(self):
        """The feature settings the run was trained with, rebuilt from ``settings.json``
        (:func:`fser_utils.features.kinds.feature_settings_from_record`: by the kind's
        recorded name, else its recorded class, else the older ``features`` record)."""
        from fser_utils.features.kinds import feature_settings_from_record

        try:
            return feature_settings_from_record(self.load_settings())
        except FserError as exc:
            raise FserError(f"'{self.path / _SETTINGS}': {exc}") from None

    def count_clips(self, part: str = "test") -> int:
        """Clips of a part of the split, from ``split.csv`` (else ``n_<part>`` of the settings)."""
        if self.has_split:
            return int((self.load_split()["part"] == part).sum())
        n = self.load_settings(missing_ok=True).get(f"n_{part}")
        if not isinstance(n, int):
            raise FserError(f"run folder '{self.path}' has no {_SPLIT}: cannot check the "
                            f"size of its {part} set")
        return n

    def has_predictions(self, part: str = "test") -> bool:
        """Whether the run holds predictions for ``part`` (test or val)."""
        return part in _PARTS and (self.path / _PARTS[part]).is_file()

    def load_predictions(self, part: str = "test") -> pd.DataFrame:
        """``test_predictions.csv`` (or ``val_``), checked against the run's split.

        Returns
        -------
        predictions : pd.DataFrame [shape=(n_part, ...)]
            ``relpath``, ``corpus``, ``speaker``, ``sex``, true ``emotion``, ``predicted``
            and ``p_<class>`` for every class of :data:`~fser_utils.data.corpora.EMOTIONS`.

        Raises
        ------
        FserError
            Missing or unreadable file, missing columns, a row count or clips other than
            the split's, unknown classes, probabilities that are not numbers in [0, 1].
        """
        if part not in _PARTS:
            raise FserError(f"unknown part '{part}' (test or val)")
        path = self.path / _PARTS[part]
        if not path.is_file() and self.path.is_dir() and part == "test":
            raise FserError(f"'{self.path}' is not a finished run: {path.name} is missing")
        pred = self._read_csv(_PARTS[part])
        check_prediction_columns(pred, path, part=part)
        split = self.load_split() if self.has_split else None
        check_prediction_rows(pred, path, part=part, n_clips=self.count_clips(part),
                              split=split, split_name=_SPLIT)
        check_prediction_values(pred, path)
        return pred

    def load_model(self, *, check: bool = True):
        """The trained model: ``model.keras`` (Keras) or ``model.joblib`` (scikit-learn).

        Parameters
        ----------
        check : bool
            Also check that the model fits the run's feature settings (its input shape)
            and gives one output per class.

        Raises
        ------
        FserError
            No model, a model file that is truncated or unreadable, or a model whose
            input does not fit the feature settings of ``settings.json``.
        """
        path = self.model_file
        if path is None:
            if not self.path.is_dir():
                raise FserError(f"run folder '{self.path}' does not exist")
            raise FserError(f"run folder '{self.path}' has no {KERAS} or {SKOPS}")
        model = load_model_file(path, self._read_json(RECORD, missing_ok=True))
        if check:
            check_model_fits(model, tuple(self.load_feature_settings().shape), path=path,
                             settings=self.path / _SETTINGS)
        return model

    def load_model_config(self) -> dict:
        """The architecture stored in ``model.keras`` (its ``config.json``), read without Keras."""
        return read_model_config(self.path / KERAS)

    def load(self) -> dict:
        """Every result of a finished run, validated.

        Returns
        -------
        run : dict
            ``settings`` and ``metrics`` (dicts), ``history``, ``split``, ``predictions``
            (test set) and ``val_predictions`` (DataFrames), and ``path``.
        """
        if not self.is_finished:
            raise FserError(f"'{self.path}' holds no finished run (no {_METRICS})")
        return {"path": self.path, "settings": self.load_settings(),
                "metrics": self.load_metrics(), "history": self.load_history(),
                "split": self.load_split(), "predictions": self.load_predictions("test"),
                "val_predictions": self.load_predictions("val")}

    def export(self, dest) -> "Run":
        """Copy the small result files (:data:`RESULT_FILES`, no model) to ``dest``.

        The copy is itself a run folder, so the book can show a long run stored in the
        repository. The run is validated first: a damaged run is not exported. A shared
        split (``split.json``) is written out as the copy's own ``split.csv``, the
        predictions as :meth:`save_predictions` writes them.
        """
        run = self.load()
        dest = Run(dest)
        dest.path.mkdir(parents=True, exist_ok=True)
        for name in RESULT_FILES:
            if name == _SPLIT and not (self.path / _SPLIT).is_file():  # a shared split
                data = read_shared_split(self.path)[0]
                _write_atomic(dest.path / name, lambda tmp: tmp.write_bytes(data))
            elif name not in _PARTS.values():  # predictions below, in the stored format
                _write_atomic(dest.path / name, lambda tmp: shutil.copy2(self.path / name, tmp))
        for part, key in (("test", "predictions"), ("val", "val_predictions")):
            dest.save_predictions(run[key], part)
        return dest

    # --- writing -------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Refuse, before any work, a folder that cannot be created or written to: a file
        in the way, a name too long, a read-only or foreign folder (one line)."""
        check_writable_folder(self.path, inner=CHECKPOINTS)

    def create(self) -> None:
        """Make the folder and its ``checkpoints/``."""
        self.check_writable()
        try:
            (self.path / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FserError(f"cannot create the run folder '{self.path}': "
                            f"{_one_line(exc)}") from None

    def clear(self) -> None:
        """Forget the results of an earlier attempt, so that training starts afresh.

        The model goes too: once ``metrics.json`` is gone, nothing vouches for it.
        """
        for name in (HISTORY, _METRICS, RECORD, "state.json", "classical.json"):
            for f in (self.path / name, self.path / CHECKPOINTS / name):
                f.unlink(missing_ok=True)
        for name in MODEL_FILES:
            (self.path / name).unlink(missing_ok=True)
            (self.path / f"{STAGED}{name}").unlink(missing_ok=True)

    def check_resume(self, *, key: dict, split: pd.DataFrame) -> None:
        """Refuse to resume an interrupted run made with another split or configuration."""
        check_same_split(self.load_split(), split, self.path)
        old_key = self.load_settings(missing_ok=True).get("config_key")
        if old_key is not None and old_key != to_jsonable(key):
            raise FserError(f"the interrupted run in '{self.path}' was started with another "
                            "configuration; use another output folder or --no-resume")

    def save_settings(self, settings: dict) -> None:
        self._write_json(_SETTINGS, settings)

    @property
    def onnx_path(self) -> Path:
        """Where the exported graph lies (``model.onnx``; it may not exist yet)."""
        return self.path / _ONNX

    def save_export(self, record: dict) -> None:
        """Write ``export.json``; ``record`` must hold ``onnx_sha256`` of :attr:`onnx_path`."""
        if "onnx_sha256" not in record:
            raise FserError("an export record needs onnx_sha256")
        self._write_json(_EXPORT, record)

    def load_export(self) -> dict | None:
        """``export.json`` (None when the run was never exported), with the graph checked
        against the digest it records.

        Raises
        ------
        FserError
            An unreadable record, or a graph missing or changed since it was exported.
        """
        if not (self.path / _EXPORT).is_file():
            return None
        record = self._read_json(_EXPORT)
        check_export_record(record, self.path / _EXPORT, self.onnx_path)
        return record

    def save_metrics(self, metrics: dict) -> None:
        """Write ``metrics.json``, which marks the run as finished, then the model.

        A model staged by :meth:`save_model` is recorded in ``model.json`` (its file name,
        sha256 and this installation's HMAC of it) and renamed into place after both:
        the model is the last file of a run.
        """
        from fser_utils.trust import compute_file_sha256

        staged = find_staged_model(self.path)
        self._write_json(_METRICS, metrics)
        if staged is not None:
            tmp, name = staged
            self._write_json(RECORD, make_record(name, compute_file_sha256(tmp)))
            install_staged_model(tmp, name)

    def save_split(self, split: pd.DataFrame) -> None:
        self._write_csv(_SPLIT, split)

    def save_history(self, history: pd.DataFrame) -> None:
        self._write_csv(HISTORY, history)

    def save_predictions(self, predictions: pd.DataFrame, part: str = "test") -> None:
        self._write_csv(_PARTS[part], predictions, float_format=_PROBABILITY_FORMAT)

    def save_figure(self, fig, name: str = "learning_curves.png", *, dpi: int = 90) -> None:
        _write_atomic(self.path / name,
                      lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight"))

    def save_model(self, model) -> None:
        """Stage ``model.keras`` (a Keras model) or ``model.skops`` (scikit-learn).

        The file is written whole under a hidden name; :meth:`save_metrics` records its
        digest and renames it into place, so call it next.
        """
        stage_model(model, self.path)
