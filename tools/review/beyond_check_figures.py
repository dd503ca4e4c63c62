"""Check every figure a chapter displays against ``find_small_text``.

Each chapter is executed in a temporary copy (the notebook in ``book/`` is not touched)
with a first cell that wraps ``FigureCanvasBase.print_figure``: every figure the inline
backend draws is checked with :func:`fser_utils.plotting.find_small_text` and saved as a
PNG, so that its layout can be looked at too.

Usage
-----
From the repository root, with the environment the chapters need::

    FSER_DATA=/work/shared/corpora FSER_CACHE=/work/cache \\
        .venv/bin/python tools/review/beyond_check_figures.py 09_baselines model_card \\
        --out /tmp/figures

It prints one line per figure (``<chapter> fig <k> [cell <first words>]: ok`` or its
problems) and writes ``<out>/<chapter>-<k>.png`` and ``<out>/report.json``. The exit
status is 1 when a figure has a problem or a chapter fails to execute.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

#: run first in the kernel: checks and saves each figure that the inline backend draws
_PROBE = r'''
import json as _json, matplotlib.backend_bases as _bb
from fser_utils.plotting import find_small_text as _find
_probe = {"cell": "", "n": 0}
get_ipython().events.register(
    "pre_run_cell", lambda info: _probe.update(cell=info.raw_cell.strip().split("\n")[-1][:60]))
_print_figure = _bb.FigureCanvasBase.print_figure
def _checked(self, filename, *args, **kwargs):
    fig = self.figure
    if not getattr(fig, "_beyond_checked", False) and kwargs.get("format", "png") == "png":
        fig._beyond_checked = True
        _probe["n"] += 1
        fig.canvas.draw()
        with open(LOG, "a") as f:
            f.write(_json.dumps({"k": _probe["n"], "cell": _probe["cell"],
                                 "size": [float(v) for v in fig.get_size_inches()],
                                 "problems": _find(fig)}) + "\n")
        _print_figure(self, OUT + f"-{_probe['n']}.png", format="png", bbox_inches="tight")
    return _print_figure(self, filename, *args, **kwargs)
_bb.FigureCanvasBase.print_figure = _checked
'''


def check_chapter(name: str, out: Path) -> list[dict]:
    """Execute ``book/<name>.ipynb`` in a copy and return one record per figure drawn."""
    nb = nbformat.read(f"book/{name}.ipynb", as_version=4)
    log = out / f"{name}.jsonl"
    log.unlink(missing_ok=True)
    probe = _PROBE.replace("LOG", repr(str(log))).replace("OUT", repr(str(out / name)))
    nb.cells.insert(0, nbformat.v4.new_code_cell(probe))
    with tempfile.TemporaryDirectory() as tmp:
        NotebookClient(nb, timeout=-1, kernel_name="python3",
                       resources={"metadata": {"path": "book"}}).execute()
        nbformat.write(nb, Path(tmp) / f"{name}.ipynb")
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="+", help="notebook names in book/, without .ipynb")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "figures")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FSER_EMBED_AUDIO", "0")
    os.environ.pop("MPLBACKEND", None)  # the inline backend, as in the book
    report, status = {}, 0
    for name in args.chapters:
        try:
            figures = check_chapter(name, args.out.resolve())
        except Exception as error:  # a chapter that fails is reported, the others still run
            print(f"{name}: FAILED to execute: {type(error).__name__}: {str(error)[-300:]}")
            report[name] = {"error": str(error)[-2000:]}
            status = 1
            continue
        report[name] = figures
        for f in figures:
            problems = f["problems"]
            more = f" (+{len(problems) - 6} more)" if len(problems) > 6 else ""
            print(f"{name} fig {f['k']} [{f['cell']}] {f['size']}: "
                  f"{'; '.join(problems[:6]) + more if problems else 'ok'}")
            status |= bool(problems)
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
