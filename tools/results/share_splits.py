"""Store each distinct ``split.csv`` of the stored results once, referenced by its hash.

    python tools/results/share_splits.py            # convert every run folder under results/
    python tools/results/share_splits.py --check    # only check the references

Every stored run folder under ROOT (default: the repository's ``results/``) that holds a
``split.csv`` gets a ``split.json`` naming the split by its sha256 instead; the split itself
goes once to ``ROOT/splits/<sha256 prefix>.csv.gz``
(:mod:`fser_utils.training.run_split`). Each reference is read back and compared with the
original bytes before the folder's ``split.csv`` is removed, so the stored runs read the
same splits as before. Rerun it after storing new runs (``fser train`` and
:meth:`~fser_utils.training.run.Run.export` write a plain ``split.csv``); it is idempotent.
``--check`` reads every reference (its shared split, checked against the hash) and lists
shared splits no run refers to.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fser_utils.atomic import write_text_atomic
from fser_utils.errors import FserError
from fser_utils.training.run_split import (SPLIT_REF, SPLITS_DIR, make_split_reference,
                                           read_shared_split, store_shared_split)

REPO = Path(__file__).resolve().parents[2]


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def share_splits(root: Path) -> int:
    """Convert the run folders under ``root``; returns how many were converted."""
    splits = root / SPLITS_DIR
    converted = 0
    for csv in sorted(root.rglob("split.csv")):
        folder = csv.parent
        if splits in folder.parents or folder == splits:
            continue
        data = csv.read_bytes()
        store_shared_split(data, splits)
        ref = folder / SPLIT_REF
        write_text_atomic(ref, json.dumps(make_split_reference(data), indent=2) + "\n")
        if read_shared_split(folder)[0] != data:  # read back before the original goes
            raise FserError(f"'{ref}' does not read back as '{csv}'; left both in place")
        csv.unlink()
        converted += 1
    return converted


def check_splits(root: Path) -> int:
    """Read every reference under ``root``; returns how many failed (each printed)."""
    used, bad = set(), 0
    for ref in sorted(root.rglob(SPLIT_REF)):
        try:
            used.add(read_shared_split(ref.parent)[1].name)
        except FserError as exc:
            print(f"error: {exc}")
            bad += 1
    unused = sorted(p.name for p in (root / SPLITS_DIR).glob("*.csv.gz")) if (
        root / SPLITS_DIR).is_dir() else []
    unused = [name for name in unused if name not in used]
    print(f"{len(used)} shared splits referenced; unreferenced: {', '.join(unused) or 'none'}")
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=REPO / "results",
                        help="folder of stored run folders (default: results/)")
    parser.add_argument("--check", action="store_true", help="only check the references")
    args = parser.parse_args(argv)
    if args.check:
        return 1 if check_splits(args.root) else 0
    before = (_size(args.root), len(list(args.root.rglob("split.csv"))))
    converted = share_splits(args.root)
    after = _size(args.root)
    n_shared = len(list((args.root / SPLITS_DIR).glob("*.csv.gz")))
    print(f"{converted} run folders now refer to a shared split; {args.root}: "
          f"{before[0]:,} -> {after:,} bytes, split.csv files {before[1]} -> "
          f"{len(list(args.root.rglob('split.csv')))}, shared splits {n_shared}")
    return 1 if check_splits(args.root) else 0


if __name__ == "__main__":
    sys.exit(main())
