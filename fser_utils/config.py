"""One place for run settings: data root, cache, runs folder, profile, seeding.

Every setting can come from the environment so that CI and the book's re-execution
can point the chapters at real corpora without editing them.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

__all__ = [
    "DATA_ENV",
    "REPO_ROOT",
    "get_data_root",
    "get_cache_dir",
    "get_runs_dir",
    "get_profile",
    "setup",
]

DATA_ENV = "FSER_DATA"
CACHE_ENV = "FSER_CACHE"
RUNS_ENV = "FSER_RUNS"
PROFILE_ENV = "FSER_PROFILE"

#: the checkout the package lives in (also right for an editable install)
REPO_ROOT = Path(__file__).resolve().parents[1]


def get_data_root(root: str | os.PathLike | None = None) -> Path:
    """Resolve the folder that holds the corpora.

    Parameters
    ----------
    root : path-like or None
        An explicit folder (the ``--root`` option). It wins when given, because
        an explicit choice should beat a variable set long ago in a shell profile.

    Returns
    -------
    root : Path
        ``root`` if given, else ``$FSER_DATA``, else ``data/`` in the repository.
    """
    if root is not None:
        return Path(root).expanduser().resolve()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return REPO_ROOT / "data"


def get_cache_dir() -> Path:
    """Folder for derived data (features, demo corpus): ``$FSER_CACHE`` or ``.cache/fser``."""
    env = os.environ.get(CACHE_ENV)
    path = Path(env).expanduser() if env else REPO_ROOT / ".cache" / "fser"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def get_runs_dir() -> Path:
    """Folder that holds training runs: ``$FSER_RUNS`` or ``runs/`` in the repository."""
    env = os.environ.get(RUNS_ENV)
    path = Path(env).expanduser() if env else REPO_ROOT / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def get_profile(default: str = "ci") -> str:
    """Training profile the chapters use: ``$FSER_PROFILE``, else ``default``."""
    return os.environ.get(PROFILE_ENV, default)


def setup(seed: int = 42) -> int:
    """Seed Python, NumPy and (if imported) Keras so that a run can be repeated.

    Returns the seed, so a notebook can print what it used.
    """
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import keras

        keras.utils.set_random_seed(seed)
    except ImportError:  # the data chapters do not need Keras
        pass
    return seed
