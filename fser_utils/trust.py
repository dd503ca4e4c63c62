"""What may be loaded from a run folder, and which run folders this installation wrote.

A run folder can come from anywhere (downloaded, copied, planted in the runs folder),
so loading its model must never run code:

* scikit-learn models are stored with skops (``model.skops``), whose loader builds
  objects from a JSON schema instead of unpickling them. Before loading, every type the
  file names is checked against :data:`SKLEARN_TYPES`, the types our pipelines are made
  of; a file naming any other type is refused, unloaded.
* pickles (``model.joblib``, written by older versions) are refused, never opened.
* Keras models are loaded in Keras' safe mode, which refuses the Python code a
  ``Lambda`` layer carries.

Each model file's sha256 is recorded in ``metrics.json`` when it is written, with an
HMAC of that digest under this installation's key (:func:`get_installation_key`, kept
in the user's configuration folder). Loading checks the digest; ``fser predict`` without
``--model`` only picks runs whose HMAC matches, i.e. runs written by this installation.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import zipfile
from pathlib import Path

from fser_utils.errors import FserError

__all__ = [
    "SKLEARN_TYPES",
    "KEY_ENV",
    "get_installation_key",
    "get_installation_id",
    "compute_file_sha256",
    "sign_digest",
    "check_signature",
    "dump_sklearn",
    "load_sklearn",
    "list_skops_types",
    "read_zip_json",
]

#: environment variable naming the folder of the installation key (tests, CI)
KEY_ENV = "FSER_CONFIG_DIR"
_KEY_NAME = "installation.key"

#: the objects a stored scikit-learn model may hold: our pipelines (scaler + SVM) and the
#: containers and arrays they are made of. Anything else in a skops file is refused.
SKLEARN_TYPES = frozenset({
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.svm._classes.SVC",
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.str", "builtins.int",
    "builtins.float", "builtins.bool", "builtins.NoneType", "builtins.slice",
    "builtins.type",
    "numpy.ndarray", "numpy.float64", "numpy.float32", "numpy.int64", "numpy.int32",
    "numpy.bool_", "numpy.dtype", "numpy.random.mtrand.RandomState",
})


def _key_dir() -> Path:
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("fser", appauthor=False))


def get_installation_key(*, create: bool = True) -> bytes | None:
    """This installation's secret key (32 random bytes), made on first use.

    Kept in ``$FSER_CONFIG_DIR/installation.key`` (default: the user's configuration
    folder, e.g. ``~/.config/fser``), readable by its owner only. ``None`` when it does
    not exist and cannot (or, with ``create=False``, may not) be made: runs are then
    written unsigned, and runs are not picked implicitly.
    """
    path = _key_dir() / _KEY_NAME
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    if not create:
        return None
    tmp = path.with_name(f".tmp-{os.getpid()}-{_KEY_NAME}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        # link, not replace: two processes making the key at once keep the first one
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        return path.read_bytes()
    except OSError:
        return None


def get_installation_id() -> str | None:
    """A public name of the key (16 hex digits), recorded in each run's settings."""
    key = get_installation_key()
    return None if key is None else hashlib.sha256(b"fser-id" + key).hexdigest()[:16]


def compute_file_sha256(path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def sign_digest(digest: str) -> str | None:
    """HMAC-SHA256 of a model's digest under the installation key (None without a key)."""
    key = get_installation_key()
    if key is None:
        return None
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def check_signature(digest, signature) -> bool:
    """Whether ``signature`` is this installation's HMAC of ``digest``."""
    if not isinstance(digest, str) or not isinstance(signature, str):
        return False
    key = get_installation_key(create=False)
    if key is None:
        return False
    expected = hmac.new(key, digest.encode("ascii", "replace"), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def dump_sklearn(model, path) -> None:
    """Write a fitted scikit-learn model with skops (no pickle)."""
    import skops.io as sio

    sio.dump(model, path)


def read_zip_json(path, member: str, what: str):
    """The JSON document ``member`` of the zip file ``path`` (a ``.keras`` or ``.skops``
    model), read without loading anything; ``what`` starts the one-line error."""
    try:
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read(member))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise FserError(f"{what}: {' '.join(str(exc).split())}") from None


def list_skops_types(path) -> set[str]:
    """Every type a skops file names (``module.Class``), read from its schema, unloaded."""
    schema = read_zip_json(path, "schema.json", f"'{path}' is not a readable skops model file")
    found, todo = set(), [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if isinstance(node.get("__module__"), str) and isinstance(node.get("__class__"), str):
                found.add(f"{node['__module__']}.{node['__class__']}")
            if node.get("__loader__") == "TypeNode" and isinstance(node.get("content"), dict):
                c = node["content"]
                found.add(f"{c.get('__module__')}.{c.get('__class__')}")
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found


def load_sklearn(path):
    """A scikit-learn model stored with :func:`dump_sklearn`, if it holds only known types.

    Raises
    ------
    FserError
        The file names a type outside :data:`SKLEARN_TYPES` or one skops does not trust
        and we do not list (nothing is loaded), or it is damaged.
    """
    import skops.io as sio

    odd = sorted(list_skops_types(path) - SKLEARN_TYPES)
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises several types for a damaged file
        raise FserError(f"'{path}' is not a readable skops model file: "
                        f"{' '.join(str(exc).split())}") from None
    odd += sorted(set(untrusted) - SKLEARN_TYPES - set(odd))
    if odd:
        raise FserError(f"'{path}' holds types this package does not load "
                        f"({', '.join(odd[:3])}{', ...' if len(odd) > 3 else ''}): not loaded; "
                        "retrain the model here with 'fser train'")
    try:
        return sio.load(path, trusted=list(untrusted))
    except Exception as exc:  # skops raises many types for a broken file
        raise FserError(f"cannot load the model '{path}': {' '.join(str(exc).split())}"
                        ) from None
