"""Store the small files of finished runs under ``results/``, named by the one scheme.

    python tools/results/store_runs.py RUNS_DIR DEST [--match GLOB]

Every finished run folder in RUNS_DIR (whose name matches GLOB, default ``*``) is copied
with :meth:`fser_utils.training.run.Run.export` (settings, metrics, history, predictions,
split; never the model) to ``results/DEST/<stored name>``, the name its own settings give
it (:func:`fser_utils.training.run_names.make_stored_run_name`); a folder already stored is
left alone, an unfinished run is listed and skipped. Then the splits are shared
(``share_splits.py``). Run ``rename_stored.py --apply`` afterwards when the runs were made
under a profile's older name.
"""
import argparse
import subprocess
import sys
from pathlib import Path

from fser_utils.training.run import Run
from fser_utils.training.run_names import make_stored_run_name

REPO = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2].strip())
    parser.add_argument("runs_dir", type=Path)
    parser.add_argument("dest", help="folder under results/, e.g. heldout")
    parser.add_argument("--match", default="*", metavar="GLOB")
    args = parser.parse_args(argv)
    dest = REPO / "results" / args.dest
    dest.mkdir(exist_ok=True)
    stored = 0
    for path in sorted(args.runs_dir.glob(args.match)):
        run = Run(path)
        if not path.is_dir():
            continue
        if not run.is_finished:
            print(f"not finished: {path.name}")
            continue
        name = make_stored_run_name(run.load_settings())
        if not (dest / name).exists():
            run.export(dest / name)
            stored += 1
            print(f"stored {args.dest}/{name}")
    subprocess.run([sys.executable, str(REPO / "tools/results/share_splits.py")], cwd=REPO,
                   check=True)
    print(f"{stored} new")
    return 0


if __name__ == "__main__":
    sys.exit(main())
