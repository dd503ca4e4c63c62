"""A run's split stored once and shared: ``split.json`` in the run folder names it by hash.

A run being written keeps its own ``split.csv``. The stored results of the long runs
(``results/``) hold hundreds of run folders but few distinct splits (every model and seed
of a protocol sees the same clips), so there each distinct ``split.csv`` is stored once,
gzip-compressed, as ``splits/<first 16 hex digits of its sha256>.csv.gz`` beside the
folders of runs, and each run folder holds a small ``split.json`` instead::

    {"sha256": "<sha256 of the uncompressed split.csv>", "file": "<prefix>.csv.gz",
     "rows": 3043}

:class:`~fser_utils.training.run.Run` reads either form the same way. The shared file is
looked for in a ``splits/`` folder of the run folder's parents (``results/splits/`` for
``results/beyond/RUN``, the same layout in an installed package), then under the stored
results (:data:`fser_utils.config.RESULTS_ROOT`), so a stored run folder copied elsewhere
still finds it. Its content is checked against the recorded sha256 on every read: a
shared split changed after it was stored is refused, never silently used by every run
that names it. ``tools/results/share_splits.py`` converts stored run folders.
"""
from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

from fser_utils.atomic import write_bytes_atomic
from fser_utils.errors import FserError

__all__ = ["SPLIT_REF", "SPLITS_DIR", "compute_split_sha256", "shared_split_name",
           "find_shared_split", "read_shared_split", "store_shared_split",
           "make_split_reference"]

#: the reference a run folder holds instead of ``split.csv``
SPLIT_REF = "split.json"
#: the folder of shared splits, beside the folders of runs' folders
SPLITS_DIR = "splits"
_PREFIX = 16  # hex digits of the sha256 in a shared split's file name
_PARENTS = 3  # how many parents of a run folder are searched for splits/


def compute_split_sha256(data: bytes) -> str:
    """The sha256 (hex) of a ``split.csv``'s bytes, uncompressed."""
    return hashlib.sha256(data).hexdigest()


def shared_split_name(sha256: str) -> str:
    """The file name of the shared split of digest ``sha256``: ``<prefix>.csv.gz``."""
    return f"{sha256[:_PREFIX]}.csv.gz"


def _check_reference(record, ref: Path) -> tuple[str, str]:
    sha = record.get("sha256") if isinstance(record, dict) else None
    if not isinstance(sha, str) or len(sha) != 64 or not all(c in "0123456789abcdef"
                                                             for c in sha):
        raise FserError(f"'{ref}' is not a split reference (no sha256 of 64 hex digits)")
    name = record.get("file", shared_split_name(sha))
    if name != shared_split_name(sha):
        raise FserError(f"'{ref}' names the shared split '{name}', which is not the file "
                        f"of its sha256 ({shared_split_name(sha)})")
    return sha, name


def find_shared_split(run_dir: Path, name: str) -> Path:
    """The shared split ``name`` of the run folder ``run_dir`` (see the module docstring).

    Raises
    ------
    FserError
        If no searched ``splits/`` folder holds it (one line listing where it looked).
    """
    from fser_utils.config import RESULTS_ROOT

    run_dir = Path(run_dir)
    places = [parent / SPLITS_DIR for parent in list(run_dir.parents)[:_PARENTS]]
    places.append(Path(RESULTS_ROOT) / "results" / SPLITS_DIR)
    for place in places:
        if (place / name).is_file():
            return place / name
    raise FserError(f"run folder '{run_dir}' refers to the shared split {name} "
                    f"({SPLIT_REF}), which is missing: looked in "
                    + ", ".join(f"'{p}'" for p in dict.fromkeys(places)))


def read_shared_split(run_dir: Path) -> tuple[bytes, Path]:
    """The bytes of the ``split.csv`` that ``run_dir/split.json`` refers to, and the file.

    Raises
    ------
    FserError
        A malformed reference, a missing or unreadable shared split, or one whose content
        does not match the recorded sha256 (changed after it was stored).
    """
    ref = Path(run_dir) / SPLIT_REF
    try:
        record = json.loads(ref.read_text())
    except (OSError, ValueError) as exc:
        raise FserError(f"cannot read the split reference '{ref}': "
                        f"{' '.join(str(exc).split())}") from None
    sha, name = _check_reference(record, ref)
    path = find_shared_split(Path(run_dir), name)
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise FserError(f"cannot read the shared split '{path}': "
                        f"{' '.join(str(exc).split())}") from None
    if compute_split_sha256(data) != sha:
        raise FserError(f"the shared split '{path}' does not match the sha256 recorded in "
                        f"'{ref}': it was changed after it was stored; refusing it")
    return data, path


def make_split_reference(data: bytes) -> dict:
    """The ``split.json`` record of a ``split.csv`` whose bytes are ``data``."""
    sha = compute_split_sha256(data)
    return {"sha256": sha, "file": shared_split_name(sha),
            "rows": max(len(data.splitlines()) - 1, 0)}


def store_shared_split(data: bytes, splits_dir: Path) -> Path:
    """Store the ``split.csv`` bytes ``data`` in ``splits_dir`` once (gzip, no timestamp,
    so the file is the same each time); an existing file is checked, not rewritten.

    Raises
    ------
    FserError
        If a file of that name is there with other content.
    """
    splits_dir = Path(splits_dir)
    sha = compute_split_sha256(data)
    path = splits_dir / shared_split_name(sha)
    if path.is_file():
        try:
            same = compute_split_sha256(gzip.decompress(path.read_bytes())) == sha
        except (OSError, EOFError, gzip.BadGzipFile):
            same = False
        if not same:
            raise FserError(f"'{path}' exists with other content than the split of sha256 "
                            f"{sha}; remove it or find out who changed it")
        return path
    splits_dir.mkdir(parents=True, exist_ok=True)
    packed = gzip.compress(data, compresslevel=9, mtime=0)
    return write_bytes_atomic(path, packed)
