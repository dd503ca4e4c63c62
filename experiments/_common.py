"""What chapter 10's experiment scripts share: their command line and where they write."""
from __future__ import annotations

import argparse
from pathlib import Path

#: where the experiments' results are stored with the book (chapter 10 reads them there)
RESULTS = Path(__file__).resolve().parents[1] / "results" / "experiments"


def parse_run_args(description: str, result: str, argv=None) -> argparse.Namespace:
    """The options of an experiment that scores run folders: the runs, ``--root`` and
    ``--result`` (default: ``results/experiments/RESULT``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("runs", nargs="+", help="run folders that hold their model")
    parser.add_argument("--root", help="data root (default: as fser finds it)")
    parser.add_argument("--result", default=str(RESULTS / result))
    return parser.parse_args(argv)
