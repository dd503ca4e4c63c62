"""Give every stored run folder the name its own settings give it.

Usage::

    python tools/results/rename_stored.py            # list the folders whose name is off
    python tools/results/rename_stored.py --apply    # rename them (git mv) and the JSON
                                                     # files that name them, and write
                                                     # settings made under a profile's
                                                     # old name with its new one

The one scheme is :func:`fser_utils.training.run_names.make_stored_run_name`; the folders
are those under ``results/`` (and ``benchmarks/results/`` for the JSON references). A name
that depends on a profile's name or default budget changes when they do: run this after
renaming or changing a profile, then re-execute the chapters that print run names.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from fser_utils.training.profiles import migrate_settings
from fser_utils.training.run import Run
from fser_utils.training.run_names import make_stored_run_name

ROOT = Path(__file__).resolve().parents[2]
def find_renames(root: Path = ROOT) -> dict:
    """``{old path: new path}`` for every stored run folder whose name is not its scheme's."""
    renames = {}
    for settings in sorted((root / "results").glob("*/*/settings.json")):  # every run folder
        run = settings.parent
        name = make_stored_run_name(json.loads(settings.read_text()))  # it reads old names too
        if name != run.name:
            renames[run] = run.with_name(name)
    targets = [new for new in renames.values()]
    clash = {t for t in targets if targets.count(t) > 1 or (t.exists() and t not in renames)}
    if clash:
        raise SystemExit(f"rename_stored: two folders would share a name: {sorted(clash)}")
    return renames


def rewrite_references(renames: dict, root: Path = ROOT) -> list[Path]:
    """Replace old folder names by new ones in the JSON files beside the results, in one
    pass (an old name may be another folder's new name)."""
    names = {}
    for old, new in renames.items():
        if names.get(old.name, new.name) != new.name:
            raise SystemExit(f"rename_stored: '{old.name}' names two folders; rename by hand")
        names[old.name] = new.name
    if not names:
        return []
    pattern = re.compile('(?<=["/])(' + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                         + ')(?=")')
    changed = []
    for path in [*root.glob("results/experiments/*.json"), *root.glob("benchmarks/results/*.json")]:
        text = path.read_text()
        new = pattern.sub(lambda m: names[m.group(1)], text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def migrate_stored_settings(root: Path = ROOT) -> list[Path]:
    """Write every stored ``settings.json`` made under a profile's old name with its new
    one (:func:`fser_utils.training.profiles.migrate_settings`), so that the stored files say
    what the code reads."""
    changed = []
    for path in sorted((root / "results").glob("*/*/settings.json")):
        old = json.loads(path.read_text())
        new = migrate_settings(old)
        if new != old:
            Run(path.parent).save_settings(new)  # the run folder's own writer
            changed.append(path)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apply", action="store_true", help="rename with git mv")
    args = parser.parse_args(argv)
    renames = find_renames()
    for old, new in renames.items():
        print(f"{old.relative_to(ROOT)} -> {new.name}")
    if args.apply:
        print(f"wrote {len(migrate_stored_settings())} settings with current profile names")
    if args.apply and renames:
        changed = rewrite_references(renames)
        for old, new in renames.items():
            subprocess.run(["git", "mv", str(old), str(new)], cwd=ROOT, check=True)
        print(f"renamed {len(renames)} folders; rewrote {len(changed)} JSON files")
    return 1 if renames and not args.apply else 0


if __name__ == "__main__":
    sys.exit(main())
