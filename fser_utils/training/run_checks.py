"""The checks :class:`fser_utils.training.run.Run` applies to a run folder before it is
trusted: that it can be written, that its predictions fit the run, that its exported
graph is the one it records, that an interrupted run is resumed on the same split.

Each check takes what ``Run`` read (a table, a record, a path) and raises
:class:`~fser_utils.errors.FserError` with one line naming the file and, for a table,
the line at fault, so that a damaged or foreign file is refused before any audio is read
or any work is done. ``Run`` stays the only reader and writer of the folder; this module
only judges what it hands over.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError

__all__ = ["PRED_COLUMNS", "check_writable_folder", "check_prediction_columns",
           "check_prediction_rows", "check_prediction_values", "check_same_split",
           "check_export_record"]

#: columns every predictions file has, besides one ``p_<class>`` per class
PRED_COLUMNS = ("relpath", "corpus", "speaker", "sex", "emotion", "predicted")


def check_writable_folder(path: Path, *, inner: str) -> None:
    """Refuse, before any work, a folder that cannot be created or written to: a file
    in the way, a name too long, a read-only or foreign folder (one line).

    ``inner`` names the subfolder of ``path`` that is written to as well (the run's
    checkpoints), checked where it already exists.
    """
    long = next((part for part in path.parts if len(os.fsencode(part)) > 255), None)
    if long is not None:
        raise FserError(f"'{path}' cannot be created: the name '{long[:40]}...' is "
                        f"longer than 255 bytes")
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                what = "exists and is not a folder" if p == path else \
                    f"cannot be created: '{p}' is a file"
                raise FserError(f"'{path}' {what}")
            # the folder and its checkpoints are written to, whichever exists
            for folder in (p, p / inner if p == path else p):
                if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
                    raise FserError(f"cannot write to '{folder}': read-only or not "
                                    "yours; give another --out")
            return


def check_prediction_columns(pred: pd.DataFrame, path: Path, *, part: str) -> None:
    """Refuse a predictions table lacking a column of :data:`PRED_COLUMNS` or a
    ``p_<class>`` column, or holding no row."""
    need = list(PRED_COLUMNS) + [f"p_{c}" for c in EMOTIONS]
    missing = [c for c in need if c not in pred.columns]
    if missing:
        raise FserError(f"'{path}' lacks column(s) {', '.join(missing)}")
    if pred.empty:
        raise FserError(f"'{path}' holds no {part} clip")


def check_prediction_rows(pred: pd.DataFrame, path: Path, *, part: str, n_clips: int,
                          split: pd.DataFrame | None, split_name: str) -> None:
    """Refuse predictions whose rows are not the ``n_clips`` clips of the run's ``part``
    (listed in ``split``, the run's ``split.csv`` named ``split_name``, where it has one)."""
    if len(pred) != n_clips:
        raise FserError(f"'{path}' has {len(pred)} rows but the run's {part} set has "
                        f"{n_clips} clips (truncated or from another run?)")
    if split is not None:
        expected = set(split.loc[split["part"] == part, "relpath"].astype(str))
        odd = set(pred["relpath"].astype(str)) ^ expected
        if odd:
            raise FserError(f"'{path}' does not list the clips of the run's {part} set "
                            f"({len(odd)} differ from {split_name}, e.g. '{sorted(odd)[0]}')")


def check_prediction_values(pred: pd.DataFrame, path: Path) -> None:
    """Refuse unknown or empty classes and probabilities that are not numbers in [0, 1]
    summing to 1; the ``p_<class>`` columns are converted to float64 in place."""
    for col in ("emotion", "predicted"):
        values = pred[col]
        bad = values.isna() | ~values.astype(str).isin(EMOTIONS)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            v = values.iloc[i]
            what = "is empty" if pd.isna(v) else f"holds unknown class '{v}'"
            raise FserError(f"'{path}' line {i + 2}: column {col} {what} "
                            f"(classes: {', '.join(EMOTIONS)})")
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


def check_same_split(old: pd.DataFrame, new: pd.DataFrame, folder: Path) -> None:
    """Refuse to resume the interrupted run in ``folder``, trained on the split ``old``,
    with another split ``new`` (other clips, order or parts)."""
    same = (len(old) == len(new)
            and (old["relpath"].to_numpy() == new["relpath"].to_numpy()).all()
            and (old["part"].to_numpy() == new["part"].to_numpy()).all())
    if not same:
        raise FserError(f"the run in '{folder}' was trained on another split; "
                        "pass resume=False (or --no-resume) or another output folder")


def check_export_record(record, path: Path, onnx_path: Path) -> None:
    """Refuse an export record (``path``, read as ``record``) without the graph's digest,
    or a graph at ``onnx_path`` missing or changed since it was exported."""
    from fser_utils.trust import compute_file_sha256

    if not isinstance(record, dict) or "onnx_sha256" not in record:
        raise FserError(f"'{path}' is not an export record (no onnx_sha256)")
    if not onnx_path.is_file() or compute_file_sha256(onnx_path) != record["onnx_sha256"]:
        raise FserError(f"'{onnx_path}' is missing or does not match the digest in "
                        f"{path.name}: it was changed after export; export it again")
