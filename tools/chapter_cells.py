"""What the chapter generators share: the cell makers, chapter 1's set-up cell, writing."""
from pathlib import Path

import nbformat as nbf

BOOK = Path(__file__).resolve().parents[1] / "book"
md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell


def load_setup_cell():
    """Chapter 1's set-up cell, so that every chapter starts the same way."""
    return next(c for c in nbf.read(BOOK / "01_corpora.ipynb", as_version=4).cells
                if c.cell_type == "code")


def write_chapter(cells, name: str) -> None:
    """Write ``book/NAME.ipynb`` (cells only; outputs come from executing it)."""
    nb = nbf.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    nbf.write(nb, BOOK / f"{name}.ipynb")
    print("wrote", BOOK / f"{name}.ipynb")
