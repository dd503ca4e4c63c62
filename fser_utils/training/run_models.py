"""The model files of a run folder: how :class:`fser_utils.training.run.Run` stages,
signs, checks and loads them.

A run holds its network as ``model.keras`` or its scikit-learn model as ``model.skops``
(``model.joblib`` pickles of older versions are refused unread); the model is written
whole under a hidden name and renamed into place after ``metrics.json``, with
``model.json`` recording its sha256 and this installation's HMAC of it
(:mod:`fser_utils.trust`). The functions here work on the paths and records that ``Run``
hands them: ``Run`` stays the only reader and writer of a run folder and decides when
each file is written, and this module says how a model file is written, refused or
loaded without running code from the folder.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fser_utils.atomic import write_atomic as _write_atomic
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError

__all__ = ["KERAS", "SKOPS", "JOBLIB", "MODEL_FILES", "RECORD", "STAGED",
           "find_model_file", "find_staged_model", "stage_model", "install_staged_model",
           "make_record", "check_digest", "describe_untrusted", "load_model_file",
           "check_model_fits", "read_model_config", "load_keras"]

KERAS, SKOPS, JOBLIB = "model.keras", "model.skops", "model.joblib"
#: every model file a run may hold, in the order they are looked for
MODEL_FILES = (KERAS, SKOPS, JOBLIB)
#: the model file's name, sha256 and this installation's HMAC of that digest
RECORD = "model.json"
#: a model waiting for ``metrics.json``: renamed into place right after it, so the model
#: is the last file a run gets
STAGED = ".staged-"


def find_model_file(folder: Path) -> Path | None:
    """``model.keras``, ``model.skops`` or ``model.joblib`` of ``folder``, whichever
    exists, else None."""
    return next((f for f in (folder / n for n in MODEL_FILES) if f.is_file()), None)


def find_staged_model(folder: Path) -> tuple[Path, str] | None:
    """The model staged by :func:`stage_model` and the name it is renamed to, or None."""
    return next(((folder / f"{STAGED}{n}", n) for n in (KERAS, SKOPS)
                 if (folder / f"{STAGED}{n}").is_file()), None)


def stage_model(model, folder: Path) -> None:
    """Write ``model`` whole under its hidden name in ``folder``: ``model.keras`` for a
    Keras model, ``model.skops`` for a scikit-learn one."""
    if hasattr(model, "save") and hasattr(model, "input_shape"):
        _write_atomic(folder / f"{STAGED}{KERAS}", model.save)
    else:
        from fser_utils.trust import dump_sklearn

        _write_atomic(folder / f"{STAGED}{SKOPS}", lambda tmp: dump_sklearn(model, tmp))


def install_staged_model(staged: Path, name: str) -> None:
    """Rename a staged model to ``name`` beside it, and remove any other model file
    there (the new one replaces it, whichever kind it was)."""
    folder = staged.parent
    try:
        os.replace(staged, folder / name)
    except OSError as exc:
        from fser_utils.atomic import describe_os_error

        raise FserError(describe_os_error(exc, folder / name)) from None
    for other in MODEL_FILES:
        if other != name:
            (folder / other).unlink(missing_ok=True)


def make_record(name: str, digest: str) -> dict:
    """The contents of ``model.json`` for the model file ``name`` of sha256 ``digest``,
    signed by this installation."""
    from fser_utils.trust import get_installation_id, sign_digest

    return {"file": name, "sha256": digest, "signature": sign_digest(digest),
            "installation": get_installation_id()}


def check_digest(path: Path, record: dict) -> None:
    """Refuse a model file other than the one whose sha256 ``record`` (``model.json``)
    holds; a record without a digest (written before digests were) lets it pass."""
    from fser_utils.trust import compute_file_sha256

    digest, name = record.get("sha256"), record.get("file", path.name)
    if not digest:
        return  # written before digests were recorded; safe loading still applies
    if name != path.name:
        raise FserError(f"'{path.parent}' holds {path.name} but its {RECORD} records "
                        f"{name}: the model was replaced; not loaded")
    if compute_file_sha256(path) != digest:
        raise FserError(f"'{path}' does not match the sha256 recorded in {RECORD} "
                        "(changed since it was written, or its write was cut): not loaded")


def describe_untrusted(path: Path | None, record: dict) -> str | None:
    """Why the model file ``path`` cannot be trusted as this installation's, given its
    ``model.json`` record, or None if it can.

    It can when the record holds the file's sha256, the file still has it, and the
    recorded HMAC of it is this installation's (:func:`fser_utils.trust.check_signature`).
    """
    from fser_utils.trust import check_signature

    if path is None:
        return "no model"
    if path.name == JOBLIB:
        return "a pickled model.joblib of an older version"
    if not record.get("sha256"):
        return f"no {RECORD} (written by an older version or elsewhere)"
    if not check_signature(record["sha256"], record.get("signature")):
        return "its model is not signed by this installation"
    try:
        check_digest(path, record)
    except FserError:
        return f"{path.name} differs from the digest in {RECORD}"
    return None


def load_model_file(path: Path, record: dict):
    """The model in ``path``, once it matches ``record`` (:func:`check_digest`).

    Raises
    ------
    FserError
        A pickle (never opened), a file that differs from its record, or a model file
        that is truncated, unreadable or holds code.
    """
    if path.name == JOBLIB:
        # a pickle runs whatever code it names while it is read: never open one
        raise FserError(f"'{path}' is a pickle, which can run code when loaded: it was "
                        "made by an older version of fser_utils or is untrusted, and is not "
                        "loaded; retrain the model with 'fser train'")
    check_digest(path, record)
    if path.name == SKOPS:
        from fser_utils.trust import load_sklearn

        return load_sklearn(path)
    return load_keras(path)


def check_model_fits(model, shape: tuple, *, path: Path, settings: Path) -> None:
    """Refuse a model whose input does not take features of ``shape`` (recorded in
    ``settings``) or that does not give one output per class of :data:`EMOTIONS`."""
    where = f"'{settings}' does not fit '{path}'"
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


def read_model_config(path: Path) -> dict:
    """The architecture stored in a ``.keras`` file (its ``config.json``), read without
    Keras."""
    from fser_utils.trust import read_zip_json

    config = read_zip_json(path, "config.json",
                           f"cannot read the model configuration of '{path}'")
    if not isinstance(config, dict):
        raise FserError(f"the model configuration of '{path}' is not a JSON object")
    return config


def load_keras(path: Path):
    """A saved Keras model, with the package's custom layers registered first."""
    import zipfile

    if not zipfile.is_zipfile(path):
        raise FserError(f"'{path}' is unreadable: not a complete Keras model file "
                        "(truncated or damaged)")
    import keras

    from fser_utils.training import augment  # noqa: F401  (register SpecAugment, Reverse, ...)
    from fser_utils.models import networks  # noqa: F401  (register the custom layers)

    try:
        # safe mode (Keras' default, stated so that no setting elsewhere can lift it):
        # a Lambda layer's Python code is refused, never deserialised
        return keras.models.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a broken file
        message = " ".join(str(exc).split()) or type(exc).__name__
        if "safe_mode" in message or "unsafe" in message.lower():
            raise FserError(f"'{path}' holds Python code (e.g. a Lambda layer), which is "
                            "never run: not loaded; use a model trained with 'fser train'"
                            ) from None
        raise FserError(f"cannot load the model '{path}': {message}") from None
