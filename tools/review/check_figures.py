"""Execute chapters and say, for every figure they display, what a reader could not read.

Each chapter is executed in memory (the notebook file is not written) with a first cell
that wraps ``FigureCanvasBase.print_figure``: every figure the inline backend renders is
checked with :func:`fser_utils.plotting.find_small_text` before it is saved. The inline
backend crops the figure to its drawn content (``bbox_inches="tight"``), so a legend or
label outside the figure makes the picture wider than the figure; the check is therefore
made at the width that is actually shown, the larger of the two.

Usage
-----
From the repository root, with the environment a chapter needs to read its data::

    FSER_DATA=... FSER_CACHE=... .venv/bin/python tools/review/check_figures.py \\
        01_corpora 02_spectrograms

It prints one line per figure, ``NN_name cell K fig W.W in: ok`` or the problems, and
exits 1 when any figure has one or a chapter fails to execute (the other chapters are
still checked).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

#: run first in the kernel: check each figure as it is rendered, one JSON line per figure
PATCH = '''
import json as _json, matplotlib.backend_bases as _bb
from fser_utils.plotting import find_small_text as _find, COLUMN_PX as _COLUMN_PX
_print_figure = _bb.FigureCanvasBase.print_figure
def _checked(self, *args, **kwargs):
    fig = self.figure
    width = fig.get_size_inches()[0]
    try:
        if kwargs.get("bbox_inches") == "tight":
            # the picture shown is the tight box around what is drawn, maybe wider
            box = fig.get_tightbbox(fig.canvas.get_renderer())
            width = max(width, box.width)
        # find_small_text reads the width from the figure: measure at the shown one
        shown = min(fig.dpi, _COLUMN_PX / width) * fig.get_size_inches()[0]
        problems = _find(fig, width_px=shown)
    except Exception as error:  # a check that fails must say so, not hide the figure
        problems = [f"not checked: {{error!r}}"]
    with open({log!r}, "a") as f:
        f.write(_json.dumps({{"width_in": width, "problems": problems}}) + "\\n")
    return _print_figure(self, *args, **kwargs)
_bb.FigureCanvasBase.print_figure = _checked
'''


def check_chapter(path: Path) -> list[dict]:
    """Execute the notebook ``path`` in memory and return one record per figure shown.

    Parameters
    ----------
    path : Path
        A chapter notebook, e.g. ``book/01_corpora.ipynb``.

    Returns
    -------
    records : list of dict
        ``cell`` (its index in the notebook's cells, from 0), ``width_in`` (the width
        shown [in]) and ``problems`` (:func:`find_small_text`'s lines).
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "figures.jsonl"
        log.touch()
        nb.cells.insert(0, nbformat.v4.new_code_cell(PATCH.format(log=str(log))))

        def mark(cell, cell_index, **_):  # the figures logged next are this cell's
            with open(log, "a") as f:
                f.write(json.dumps({"start": cell_index - 1}) + "\n")

        NotebookClient(nb, timeout=-1, resources={"metadata": {"path": str(path.parent)}},
                       on_cell_execute=mark).execute()
        lines = [json.loads(line) for line in log.read_text().splitlines()]
    records, cell = [], -1
    for line in lines:
        if "start" in line:
            cell = line["start"]
        else:
            records.append({"cell": cell, **line})
    return records


def format_record(name: str, record: dict) -> str:
    """One line: the chapter, the cell (its index in the notebook), the width, the verdict."""
    verdict = "ok" if not record["problems"] else "; ".join(record["problems"])
    return f"{name} cell {record['cell']} fig {record['width_in']:.1f} in: {verdict}"


def main(names: list[str]) -> int:
    os.environ.pop("MPLBACKEND", None)  # the inline backend, as the book is built
    bad = 0
    for name in names:
        try:
            records = check_chapter(Path("book") / f"{name}.ipynb")
        except Exception as error:  # reported; the other chapters are still checked
            print(f"{name}: failed to execute: {type(error).__name__}: {str(error)[-300:]}")
            bad += 1
            continue
        for record in records:
            print(format_record(name, record), flush=True)
            bad += bool(record["problems"])
    return int(bad > 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
