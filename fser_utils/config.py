"""One place for run settings: data root, cache, runs folder, profile, seeding.

Every setting can come from the environment so that CI and the book's re-execution
can point the chapters at real corpora without editing them.

Where things go by default depends on how the package was installed:

* **from a checkout** (``pip install -e .`` inside the repository, what ``make`` does):
  ``data/``, ``.cache/fser/`` and ``runs/`` in the repository, as before;
* **installed** (``pip install`` of a wheel or of the repository URL, what Colab and
  most readers do): the user's data and cache folders of the platform, from
  :mod:`platformdirs` (on Linux ``~/.local/share/fser/data``,
  ``~/.local/share/fser/runs`` and ``~/.cache/fser``; they follow ``XDG_DATA_HOME`` and
  ``XDG_CACHE_HOME``). Nothing is ever written inside the installed package.

``FSER_DATA``, ``FSER_CACHE`` and ``FSER_RUNS`` (and ``--root``/``--out`` on the command
line) override both. Results stored with the book (benchmarks, the comparison runs of
chapter 9) are read from :data:`RESULTS_ROOT`: the checkout, or their copy shipped
inside the wheel.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

__all__ = [
    "describe_commit",
    "DATA_ENV",
    "CHECKOUT",
    "RESULTS_ROOT",
    "REPO_ROOT",
    "get_repository_url",
    "get_data_root",
    "get_cache_dir",
    "get_runs_dir",
    "get_stored_path",
    "get_profile",
    "setup",
]

DATA_ENV = "FSER_DATA"

#: the --root option's help, the same in every command
ROOT_HELP = ("data root (default: $FSER_DATA, else data/ in a checkout or the user's data "
             "folder for an installed package)")
CACHE_ENV = "FSER_CACHE"
RUNS_ENV = "FSER_RUNS"
PROFILE_ENV = "FSER_PROFILE"
APP_NAME = "fser"

_PACKAGE_DIR = Path(__file__).resolve().parent


def _find_checkout() -> Path | None:
    # an installed package sits in site-packages, which never holds a pyproject.toml
    root = _PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() else None


def describe_commit(checkout, paths=("fser_utils",), *, short: int = 12) -> str | None:
    """The checkout's commit, with ``+changes`` when any of ``paths`` (relative to the
    checkout) differ from it, so a result says which code made it; ``None`` for an
    installed package (``checkout`` None) or without git."""
    import subprocess

    if checkout is None:
        return None
    try:
        def git(*args):
            return subprocess.run(["git", "-C", str(checkout), *args], capture_output=True,
                                  text=True, timeout=20, check=True).stdout.strip()

        commit = git("rev-parse", f"--short={short}", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", *paths)
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+changes" if changed else "")


#: the repository the package runs from (editable install), or ``None`` when installed
CHECKOUT = _find_checkout()

#: where the results stored with the book live: ``benchmarks/results/*.json`` and
#: ``results/beyond/*/`` in the checkout, else their copy inside the installed package
#: (``fser_utils/stored``, see ``[tool.setuptools.package-dir]`` in pyproject.toml)
RESULTS_ROOT = CHECKOUT if CHECKOUT is not None else _PACKAGE_DIR / "stored"

#: the old name of :data:`RESULTS_ROOT`, kept for chapters 3, 5 and 9, which read stored
#: results as ``REPO_ROOT / "benchmarks" / ...``; use :func:`get_stored_path` in new code
REPO_ROOT = RESULTS_ROOT


def get_repository_url() -> str:
    """The repository's URL: ``[project.urls] Repository`` of pyproject.toml.

    This is the one setting; README.md, book/intro.md, _config.yml and the set-up cell
    of every chapter repeat it, ``tests/test_config.py`` checks that they agree, and
    ``make repository-url URL=...`` rewrites them all. Until the repository is published
    it is a placeholder, ``https://github.com/OWNER/fser``. Read from pyproject.toml in a
    checkout (it may have changed since the install), else from the installed metadata.
    """
    if CHECKOUT is not None:
        import re

        found = re.search(r'^Repository\s*=\s*"([^"]+)"',
                          (CHECKOUT / "pyproject.toml").read_text(), flags=re.M)
        if found:
            return found.group(1)
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = metadata("fser_utils").get_all("Project-URL") or []
    except PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip()
    raise RuntimeError("fser_utils has no Repository URL in pyproject.toml or its metadata")


def _default_dir(kind: str) -> Path:
    """The folder ``kind`` ("data", "runs" or "cache") defaults to (module docstring)."""
    if CHECKOUT is not None:
        return CHECKOUT / {"data": "data", "runs": "runs", "cache": ".cache/fser"}[kind]
    import platformdirs

    if kind == "cache":
        return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / kind


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
        ``root`` if given, else ``$FSER_DATA``, else ``data/`` in the checkout, else
        the user's data folder (``~/.local/share/fser/data`` on Linux).
    """
    if root is not None:
        return Path(root).expanduser().resolve()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return _default_dir("data")


def get_cache_dir() -> Path:
    """Folder for derived data (features, demo corpus, downloads), created if missing.

    ``$FSER_CACHE``, else ``.cache/fser`` in the checkout, else the user's cache folder
    (``~/.cache/fser`` on Linux).
    """
    env = os.environ.get(CACHE_ENV)
    path = Path(env).expanduser() if env else _default_dir("cache")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def get_runs_dir() -> Path:
    """Folder that holds training runs, created if missing.

    ``$FSER_RUNS``, else ``runs/`` in the checkout, else the user's data folder
    (``~/.local/share/fser/runs`` on Linux).
    """
    env = os.environ.get(RUNS_ENV)
    path = Path(env).expanduser() if env else _default_dir("runs")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def get_stored_path(relpath: str) -> Path:
    """A result stored with the book, e.g. ``"benchmarks/results/training.json"``.

    Parameters
    ----------
    relpath : str
        Path relative to the repository root; ``benchmarks/results/`` and
        ``results/beyond/`` are shipped in the wheel too.

    Raises
    ------
    FileNotFoundError
        If the file or folder is neither in the checkout nor in the package.
    """
    path = RESULTS_ROOT / relpath
    if not path.exists():
        raise FileNotFoundError(f"no stored result '{relpath}' under {RESULTS_ROOT}")
    return path


def get_profile(default: str = "ci") -> str:
    """Training profile the chapters use: ``$FSER_PROFILE``, else ``default``.

    :func:`fser_utils.chapter.setup_chapter` sets ``$FSER_PROFILE`` to the profile that
    fits the device when it is unset, so inside a chapter this is that choice.
    """
    return os.environ.get(PROFILE_ENV, default)


def setup(seed: int = 42, *, seed_keras: bool = True) -> int:
    """Seed Python, NumPy and (if installed) Keras so that a run can be repeated.

    Parameters
    ----------
    seed : int
    seed_keras : bool
        Also seed Keras (and so its backend). ``False`` spares the data chapters the
        seconds it takes to import TensorFlow.

    Returns the seed, so a notebook can print what it used.
    """
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if not seed_keras:
        return seed
    try:
        import keras

        keras.utils.set_random_seed(seed)
    except ImportError:  # the data chapters do not need Keras
        pass
    return seed
