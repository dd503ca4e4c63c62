"""The run folder: written, read, validated, named and found by :class:`Run` alone.

A run is one folder holding everything needed to trust, reuse or resume it:

=========================  ================================================================
``settings.json``          model (name, flags, parameters), profile and its parameters,
                           split, seed, feature settings and kind (registry name, class),
                           Keras backend and versions, hardware, data root, sizes, date,
                           and ``config_key``, the configuration that decides reuse
``split.csv``              relpath, corpus, speaker, sex, emotion, part of every clip
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
:meth:`Run.find_latest` only picks runs this installation wrote. Every file is checked
when it is read, and a bad one is refused with one line naming it, before any audio is
read: malformed JSON, settings that do not fit the model, a truncated model,
predictions whose rows, classes or probabilities do not match the run.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.atomic import write_atomic as _write_atomic
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError

__all__ = ["Run", "RESULT_FILES", "to_jsonable"]

_SETTINGS, _METRICS, _SPLIT, _HISTORY = "settings.json", "metrics.json", "split.csv", "history.csv"
_KERAS, _SKOPS, _JOBLIB, _CKPT = "model.keras", "model.skops", "model.joblib", "checkpoints"
#: a model waiting for ``metrics.json``: renamed into place right after it, so the model
#: is the last file a run gets
_STAGED = ".staged-"
_RECORD = "model.json"
_ONNX, _EXPORT = "model.onnx", "export.json"
_PARTS = {"test": "test_predictions.csv", "val": "val_predictions.csv"}

#: the small files of a run: enough to show and evaluate it without retraining
RESULT_FILES = (_SETTINGS, _METRICS, _HISTORY, _SPLIT, _PARTS["test"], _PARTS["val"])

#: columns every predictions file has, besides one ``p_<class>`` per class
_PRED_COLUMNS = ("relpath", "corpus", "speaker", "sex", "emotion", "predicted")


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


class Run:
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

    # --- naming and finding --------------------------------------------------------------
    @staticmethod
    def make_name(*, model: str, profile: str, split: str, test_corpus: str | None = None,
                  tag: str | None = None, epochs: int | None = None,
                  features: str | None = None) -> str:
        """Default folder name, e.g. ``cpu-paper``, ``cpu-corpus-emodb``, ``ci-paper-noflip``;
        models other than FSER lead, e.g. ``tcn-tcn-speaker``.

        ``epochs`` and ``features`` (given only when they differ from the model's
        defaults) follow the test corpus as ``-e{epochs}`` and ``-{features}``, then the
        tag: ``logmel-cnn-cnn-speaker-e120-s1``. A part the tag already holds is not
        repeated (the GPU runs were tagged ``e120-gpu`` before epochs were named).
        """
        parts = ([] if model == "fser" else [model]) + [str(profile), split]
        changed = [p for p in (f"e{epochs}" if epochs is not None else None, features) if p]
        tagged = set(tag.split("-")) if tag else set()
        changed = [p for p in changed if p not in tagged]
        return "-".join(parts + [p for p in (test_corpus, *changed, tag) if p])

    @staticmethod
    def describe_changes(config) -> dict:
        """The ``epochs`` and ``features`` parts of :meth:`make_name` for a
        :class:`fser_utils.training.train.RunConfig`: each None where it is the model's default.

        ``features`` is the kind's registry name, followed by a short hash of its
        settings when they are not that kind's defaults (e.g. ``mfcc-3fa2c1``).
        """
        from fser_utils.features.kinds import get_feature_settings, name_feature_kind
        from fser_utils.training.train import PROFILES

        base = PROFILES.get(config.profile.name)
        epochs = config.profile.epochs if base and base.epochs != config.profile.epochs else None
        fs, features = config.feature_settings, None
        if fs != get_feature_settings(config.model.features):
            name = name_feature_kind(fs)
            features = name if name and fs == get_feature_settings(name) else \
                f"{name or getattr(fs, 'kind', 'features')}-{fs.key()[:6]}"
        return {"epochs": epochs, "features": features}

    @classmethod
    def for_config(cls, config, *, out=None, tag: str | None = None,
                   runs_dir=None) -> "Run":
        """The run of a configuration: ``out``, else ``runs_dir`` / :meth:`make_name`.

        ``config`` is a :class:`fser_utils.training.train.RunConfig`; ``runs_dir`` defaults to
        :func:`fser_utils.config.get_runs_dir`. A run of this very configuration
        finished under the name of the older scheme (without epochs and feature kind)
        is returned where no folder has the new name, so that it is not trained again.
        """
        if out is not None:
            return cls(out)
        from fser_utils.config import get_runs_dir

        runs_dir = Path(runs_dir) if runs_dir is not None else get_runs_dir()
        names = dict(model=config.model.name, profile=config.profile.name,
                     split=config.split, test_corpus=config.test_corpus, tag=tag)
        run = cls(runs_dir / cls.make_name(**names, **cls.describe_changes(config)))
        older = cls(runs_dir / cls.make_name(**names))
        if older != run and not run.path.exists() and older.is_finished \
                and older.config_key == to_jsonable(config.key):
            return older
        return run

    @classmethod
    def list_runs(cls, runs_dir=None, *, finished: bool = False,
                  with_model: bool = False) -> list["Run"]:
        """The run folders directly under ``runs_dir`` (default: the runs folder), by name."""
        from fser_utils.config import get_runs_dir

        runs_dir = Path(runs_dir) if runs_dir is not None else get_runs_dir()
        if not runs_dir.is_dir():
            raise FserError(f"runs folder '{runs_dir}' does not exist")
        runs = [cls(d) for d in sorted(runs_dir.iterdir()) if d.is_dir()]
        return [r for r in runs if (r.is_finished or not finished)
                and (r.model_file is not None or not with_model)]

    @classmethod
    def find_latest(cls, runs_dir=None, *, model: str | None = None) -> "Run":
        """The newest run with a model, preferring runs of the registered model ``model``.

        Newest by the time its model was written. Raises :class:`FserError` if no
        run folder under ``runs_dir`` holds a model.
        """
        from fser_utils.config import get_runs_dir

        runs_dir = Path(runs_dir) if runs_dir is not None else get_runs_dir()
        found = cls.list_runs(runs_dir, with_model=True) if runs_dir.is_dir() else []
        # a run folder copied or planted into the runs folder must not be picked without
        # the user naming it: only runs whose model this installation signed are
        trusted, skipped = [], []
        for run in found:
            problem = run.check_written_here()
            (skipped if problem else trusted).append((run, problem))
        if skipped:
            run, problem = skipped[0]
            print(f"fser: note: skipped {len(skipped)} run folder(s) under '{runs_dir}' not "
                  f"written by this installation (e.g. '{run.name}': {problem}); pass "
                  "--run RUN_DIR to use one", file=sys.stderr)
        found = [run for run, _ in trusted]
        if not found:
            raise FserError(f"no trained model under '{runs_dir}': train one with 'fser train' "
                            "or pass --run RUN_DIR")
        preferred = [r for r in found if model is not None and r.model_name == model]
        return max(preferred or found, key=lambda r: r.model_file.stat().st_mtime)

    def check_written_here(self) -> str | None:
        """Why the run's model cannot be trusted as this installation's, or None if it can.

        It can when ``model.json`` records the model file's sha256, the file still has
        it, and the recorded HMAC of it is this installation's
        (:func:`fser_utils.trust.check_signature`).
        """
        from fser_utils.trust import check_signature

        path = self.model_file
        if path is None:
            return "no model"
        if path.name == _JOBLIB:
            return "a pickled model.joblib of an older version"
        try:
            record = self._read_json(_RECORD, missing_ok=True)
        except FserError as exc:
            return str(exc)
        if not record.get("sha256"):
            return f"no {_RECORD} (written by an older version or elsewhere)"
        if not check_signature(record["sha256"], record.get("signature")):
            return "its model is not signed by this installation"
        try:
            self._check_digest(path)
        except FserError:
            return f"{path.name} differs from the digest in {_RECORD}"
        return None

    def sign_model(self) -> None:
        """Vouch for the run's model as this installation's (write ``model.json``).

        For a run folder the user trusts but this installation did not write (one trained
        before runs were signed): :meth:`find_latest` picks it afterwards. A pickle is
        never signed: it cannot be loaded.
        """
        path = self.model_file
        if path is None or path.name == _JOBLIB:
            raise FserError(f"'{self.path}' has no {_KERAS} or {_SKOPS} to sign")
        from fser_utils.trust import compute_file_sha256

        self._write_record(path.name, compute_file_sha256(path))

    def _write_record(self, name: str, digest: str) -> None:
        from fser_utils.trust import get_installation_id, sign_digest

        self._write_json(_RECORD, {"file": name, "sha256": digest,
                                   "signature": sign_digest(digest),
                                   "installation": get_installation_id()})

    # --- state ---------------------------------------------------------------------------
    @property
    def is_finished(self) -> bool:
        """Whether training finished (``metrics.json`` is written last)."""
        return (self.path / _METRICS).is_file()

    @property
    def model_file(self) -> Path | None:
        """``model.keras``, ``model.skops`` or ``model.joblib``, whichever exists, else None."""
        return next((f for f in (self.path / n for n in (_KERAS, _SKOPS, _JOBLIB))
                     if f.is_file()), None)

    @property
    def evaluation_dir(self) -> Path:
        """Where the evaluation's tables and figures go by default."""
        return self.path / "evaluation"

    @property
    def can_resume(self) -> bool:
        """Whether an interrupted Keras run left a checkpoint to continue from."""
        ckpt = self.path / _CKPT
        return (ckpt / "state.json").is_file() and (ckpt / "last.keras").is_file()

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

    def _read_csv(self, name: str) -> pd.DataFrame:
        path = self.path / name
        if not path.is_file():
            raise FserError(f"run folder '{self.path}' has no {name}")
        try:
            # "NA", "null" ... are kept as strings: only an empty cell is missing
            return pd.read_csv(path, keep_default_na=False, na_values=[""])
        except Exception as exc:  # pandas raises several parser errors
            raise FserError(f"cannot read '{path}': {_one_line(exc)}") from None

    def _write_csv(self, name: str, table: pd.DataFrame) -> None:
        _write_atomic(self.path / name, lambda tmp: table.to_csv(tmp, index=False))

    # --- reading -------------------------------------------------------------------------
    def load_settings(self, *, missing_ok: bool = False) -> dict:
        """``settings.json`` (an empty dict if it is absent and ``missing_ok``)."""
        return self._read_json(_SETTINGS, missing_ok=missing_ok)

    def load_metrics(self, *, missing_ok: bool = False) -> dict:
        """``metrics.json`` (an empty dict if it is absent and ``missing_ok``)."""
        return self._read_json(_METRICS, missing_ok=missing_ok)

    def load_history(self) -> pd.DataFrame:
        """``history.csv``: one row per epoch."""
        return self._read_csv(_HISTORY)

    def list_history_columns(self) -> list[str]:
        """The columns ``history.csv`` logs (empty when it has no rows yet)."""
        if not (self.path / _HISTORY).exists():
            return []
        return list(self.load_history().columns)

    def load_split(self) -> pd.DataFrame:
        """``split.csv``: one row per clip with its ``part`` (train, val, test)."""
        split = self._read_csv(_SPLIT)
        if not {"relpath", "part"} <= set(split.columns):
            raise FserError(f"'{self.path / _SPLIT}' lacks the columns relpath and part")
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
        if (self.path / _SPLIT).is_file():
            return int((self.load_split()["part"] == part).sum())
        n = self.load_settings(missing_ok=True).get(f"n_{part}")
        if not isinstance(n, int):
            raise FserError(f"run folder '{self.path}' has no {_SPLIT}: cannot check the "
                            f"size of its {part} set")
        return n

    def load_predictions(self, part: str = "test") -> pd.DataFrame:
        """``test_predictions.csv`` (or ``val_``), checked against the run's split.

        Returns
        -------
        predictions : pd.DataFrame [shape=(n_part, ...)]
            ``relpath``, ``corpus``, ``speaker``, ``sex``, true ``emotion``,
            ``predicted`` and ``p_<class>`` for every class of :data:`EMOTIONS`.

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
        need = list(_PRED_COLUMNS) + [f"p_{c}" for c in EMOTIONS]
        missing = [c for c in need if c not in pred.columns]
        if missing:
            raise FserError(f"'{path}' lacks column(s) {', '.join(missing)}")
        if pred.empty:
            raise FserError(f"'{path}' holds no {part} clip")
        self._check_rows(pred, path, part)
        _check_classes(pred, path)
        _check_probabilities(pred, path)
        return pred

    def _check_rows(self, pred: pd.DataFrame, path: Path, part: str) -> None:
        n = self.count_clips(part)
        if len(pred) != n:
            raise FserError(f"'{path}' has {len(pred)} rows but the run's {part} set has {n} "
                            "clips (truncated or from another run?)")
        if (self.path / _SPLIT).is_file():
            split = self.load_split()
            expected = set(split.loc[split["part"] == part, "relpath"].astype(str))
            odd = set(pred["relpath"].astype(str)) ^ expected
            if odd:
                raise FserError(f"'{path}' does not list the clips of the run's {part} set "
                                f"({len(odd)} differ from {_SPLIT}, e.g. '{sorted(odd)[0]}')")

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
            raise FserError(f"run folder '{self.path}' has no {_KERAS} or {_SKOPS}")
        if path.name == _JOBLIB:
            # a pickle runs whatever code it names while it is read: never open one
            raise FserError(f"'{path}' is a pickle, which can run code when loaded: it was "
                            "made by an older version of fser_utils or is untrusted, and is not "
                            "loaded; retrain the model with 'fser train'")
        self._check_digest(path)
        if path.name == _SKOPS:
            from fser_utils.trust import load_sklearn

            model = load_sklearn(path)
        else:
            model = _load_keras(path)
        if check:
            self._check_model_fits(model, path)
        return model

    def _check_digest(self, path: Path) -> None:
        """Refuse a model file other than the one whose sha256 ``model.json`` records."""
        from fser_utils.trust import compute_file_sha256

        record = self._read_json(_RECORD, missing_ok=True)
        digest, name = record.get("sha256"), record.get("file", path.name)
        if not digest:
            return  # written before digests were recorded; safe loading still applies
        if name != path.name:
            raise FserError(f"'{self.path}' holds {path.name} but its {_RECORD} records "
                            f"{name}: the model was replaced; not loaded")
        if compute_file_sha256(path) != digest:
            raise FserError(f"'{path}' does not match the sha256 recorded in {_RECORD} "
                            "(changed since it was written, or its write was cut): not loaded")

    def _check_model_fits(self, model, path: Path) -> None:
        shape = tuple(self.load_feature_settings().shape)
        where = f"'{self.path / _SETTINGS}' does not fit '{path}'"
        if hasattr(model, "input_shape"):
            got = model.input_shape
            got = tuple(got[0] if isinstance(got, list) else got)[1:]
            if len(got) != len(shape) or any(g not in (None, s) for g, s in zip(got, shape)):
                raise FserError(f"{where}: features of shape {shape}, model input {got}")
            n_out = model.output_shape[-1]
            if n_out != len(EMOTIONS):
                raise FserError(f"'{path}' gives {n_out} outputs, expected {len(EMOTIONS)}")
        n_in = getattr(model, "n_features_in_", None)
        if n_in is not None and n_in != int(np.prod(shape)):
            raise FserError(f"{where}: {int(np.prod(shape))} features, model expects {n_in}")

    def load_model_config(self) -> dict:
        """The architecture stored in ``model.keras`` (its ``config.json``), read without Keras."""
        from fser_utils.trust import read_zip_json

        path = self.path / _KERAS
        config = read_zip_json(path, "config.json",
                               f"cannot read the model configuration of '{path}'")
        if not isinstance(config, dict):
            raise FserError(f"the model configuration of '{path}' is not a JSON object")
        return config

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
        repository. The run is validated first: a damaged run is not exported.
        """
        self.load()
        dest = Run(dest)
        dest.path.mkdir(parents=True, exist_ok=True)
        for name in RESULT_FILES:
            _write_atomic(dest.path / name, lambda tmp: shutil.copy2(self.path / name, tmp))
        return dest

    # --- writing -------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Refuse, before any work, a folder that cannot be created or written to: a file
        in the way, a name too long, a read-only or foreign folder (one line)."""
        long = next((part for part in self.path.parts if len(os.fsencode(part)) > 255), None)
        if long is not None:
            raise FserError(f"'{self.path}' cannot be created: the name '{long[:40]}...' is "
                            f"longer than 255 bytes")
        for p in (self.path, *self.path.parents):
            if p.exists():
                if not p.is_dir():
                    what = "exists and is not a folder" if p == self.path else \
                        f"cannot be created: '{p}' is a file"
                    raise FserError(f"'{self.path}' {what}")
                # the folder and its checkpoints are written to, whichever exists
                for folder in (p, p / _CKPT if p == self.path else p):
                    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
                        raise FserError(f"cannot write to '{folder}': read-only or not "
                                        "yours; give another --out")
                return

    def create(self) -> None:
        """Make the folder and its ``checkpoints/``."""
        self.check_writable()
        try:
            (self.path / _CKPT).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FserError(f"cannot create the run folder '{self.path}': "
                            f"{_one_line(exc)}") from None

    def clear(self) -> None:
        """Forget the results of an earlier attempt, so that training starts afresh.

        The model goes too: once ``metrics.json`` is gone, nothing vouches for it.
        """
        for name in (_HISTORY, _METRICS, _RECORD, "state.json", "classical.json"):
            for f in (self.path / name, self.path / _CKPT / name):
                f.unlink(missing_ok=True)
        for name in (_KERAS, _SKOPS, _JOBLIB):
            (self.path / name).unlink(missing_ok=True)
            (self.path / f"{_STAGED}{name}").unlink(missing_ok=True)

    def check_resume(self, *, key: dict, split: pd.DataFrame) -> None:
        """Refuse to resume an interrupted run made with another split or configuration."""
        old = self.load_split()
        same = (len(old) == len(split)
                and (old["relpath"].to_numpy() == split["relpath"].to_numpy()).all()
                and (old["part"].to_numpy() == split["part"].to_numpy()).all())
        if not same:
            raise FserError(f"the run in '{self.path}' was trained on another split; "
                            "pass resume=False (or --no-resume) or another output folder")
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
        from fser_utils.trust import compute_file_sha256

        if not (self.path / _EXPORT).is_file():
            return None
        record = self._read_json(_EXPORT)
        if not isinstance(record, dict) or "onnx_sha256" not in record:
            raise FserError(f"'{self.path / _EXPORT}' is not an export record (no onnx_sha256)")
        if not self.onnx_path.is_file() \
                or compute_file_sha256(self.onnx_path) != record["onnx_sha256"]:
            raise FserError(f"'{self.onnx_path}' is missing or does not match the digest in "
                            f"{_EXPORT}: it was changed after export; export it again")
        return record

    def save_metrics(self, metrics: dict) -> None:
        """Write ``metrics.json``, which marks the run as finished, then the model.

        A model staged by :meth:`save_model` is recorded in ``model.json`` (its file name,
        sha256 and this installation's HMAC of it) and renamed into place after both:
        the model is the last file of a run.
        """
        from fser_utils.trust import compute_file_sha256

        staged = next(((self.path / f"{_STAGED}{n}", n) for n in (_KERAS, _SKOPS)
                       if (self.path / f"{_STAGED}{n}").is_file()), None)
        if staged is None:
            self._write_json(_METRICS, metrics)
            return
        tmp, name = staged
        self._write_json(_METRICS, metrics)
        self._write_record(name, compute_file_sha256(tmp))
        try:
            os.replace(tmp, self.path / name)
        except OSError as exc:
            from fser_utils.atomic import describe_os_error

            raise FserError(describe_os_error(exc, self.path / name)) from None
        for other in (_KERAS, _SKOPS, _JOBLIB):
            if other != name:
                (self.path / other).unlink(missing_ok=True)

    def save_split(self, split: pd.DataFrame) -> None:
        self._write_csv(_SPLIT, split)

    def save_history(self, history: pd.DataFrame) -> None:
        self._write_csv(_HISTORY, history)

    def save_predictions(self, predictions: pd.DataFrame, part: str = "test") -> None:
        self._write_csv(_PARTS[part], predictions)

    def save_figure(self, fig, name: str = "learning_curves.png", *, dpi: int = 90) -> None:
        _write_atomic(self.path / name,
                      lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight"))

    def truncate_history(self, n_epochs: int) -> None:
        """Drop log rows written after the last checkpoint (an interruption between the two)."""
        if (self.path / _HISTORY).exists():
            history = self.load_history()
            if len(history) > n_epochs:
                self.save_history(history.iloc[:n_epochs])

    def append_history(self, rows: pd.DataFrame) -> None:
        """Add epochs to ``history.csv`` (written whole, so a cut write cannot corrupt it)."""
        path = self.path / _HISTORY
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

    def save_model(self, model) -> None:
        """Stage ``model.keras`` (a Keras model) or ``model.skops`` (scikit-learn).

        The file is written whole under a hidden name; :meth:`save_metrics` records its
        digest and renames it into place, so call it next.
        """
        if hasattr(model, "save") and hasattr(model, "input_shape"):
            _write_atomic(self.path / f"{_STAGED}{_KERAS}", model.save)
        else:
            from fser_utils.trust import dump_sklearn

            _write_atomic(self.path / f"{_STAGED}{_SKOPS}", lambda tmp: dump_sklearn(model, tmp))

    # --- checkpoints of an interrupted Keras run -----------------------------------------
    def save_checkpoint(self, trainer, state: dict) -> None:
        """The last epoch: the trainer with its optimiser state, then ``state.json``.

        Ctrl-C and SIGTERM wait until both are written: a model of epoch ``e`` beside
        the state of epoch ``e - 1`` would be resumed as if it had not trained epoch
        ``e``, and train it twice.
        """
        with _interrupts_deferred():
            _write_atomic(self.path / _CKPT / "last.keras", trainer.save)
            self._write_json(f"{_CKPT}/state.json", state)

    def load_checkpoint(self):
        """``(trainer, state)`` of the last finished epoch."""
        state = self._read_json(f"{_CKPT}/state.json")
        return _load_keras(self.path / _CKPT / "last.keras"), state

    def save_best_weights(self, network) -> None:
        _write_atomic(self.path / _CKPT / "best.weights.h5", network.save_weights)

    def load_best_weights(self, network) -> None:
        network.load_weights(self.path / _CKPT / "best.weights.h5")


@contextlib.contextmanager
def _interrupts_deferred():
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


def _check_classes(pred: pd.DataFrame, path: Path) -> None:
    for col in ("emotion", "predicted"):
        values = pred[col]
        bad = values.isna() | ~values.astype(str).isin(EMOTIONS)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            v = values.iloc[i]
            what = "is empty" if pd.isna(v) else f"holds unknown class '{v}'"
            raise FserError(f"'{path}' line {i + 2}: column {col} {what} "
                            f"(classes: {', '.join(EMOTIONS)})")


def _check_probabilities(pred: pd.DataFrame, path: Path) -> None:
    for c in EMOTIONS:
        col = f"p_{c}"
        values = pd.to_numeric(pred[col], errors="coerce")
        bad = values.isna() | ~values.between(0.0, 1.0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raw = pred[col].iloc[i]
            what = "is empty" if pd.isna(raw) else f"holds '{raw}', not a probability in [0, 1]"
            raise FserError(f"'{path}' line {i + 2}: column {col} {what}")
        pred[col] = values.astype(np.float64)
    total = pred[[f"p_{c}" for c in EMOTIONS]].sum(axis=1).to_numpy()
    off = np.flatnonzero(np.abs(total - 1) > 0.01)
    if off.size:
        raise FserError(f"'{path}' line {off[0] + 2}: the probabilities sum to "
                        f"{total[off[0]]:.4f}, not 1")


def _load_keras(path: Path):
    """A saved Keras model, with the package's custom layers registered first."""
    import zipfile

    if not zipfile.is_zipfile(path):
        raise FserError(f"'{path}' is unreadable: not a complete Keras model file "
                        "(truncated or damaged)")
    import keras

    from fser_utils.training import augment  # noqa: F401  (register SpecAugment, Reverse, ...)
    from fser_utils.models import networks

    try:
        # safe mode (Keras' default, stated so that no setting elsewhere can lift it):
        # a Lambda layer's Python code is refused, never deserialised
        return keras.models.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a broken file
        message = _one_line(exc)
        if "safe_mode" in message or "unsafe" in message.lower():
            raise FserError(f"'{path}' holds Python code (e.g. a Lambda layer), which is "
                            "never run: not loaded; use a model trained with 'fser train'"
                            ) from None
        raise FserError(f"cannot load the model '{path}': {message}") from None
