"""Every notebook in book/ and its MyST Markdown source, paired by Jupytext, hold the same cells.

A chapter may be edited in either form: the text source (``book/src/NAME.md``) reads and
diffs well, the notebook holds the outputs the book renders. Editing one without syncing
the other (``jupytext --sync book/*.ipynb``) fails here. Only files are read, nothing runs.
"""
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.paired_paths import paired_paths

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


def _cells(nb) -> list:
    """What a cell is, for both forms: its kind, its text and its tags (the book's
    hide-input and the like); outputs and execution records live in the notebook only."""
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


def _text_sources(path: Path, nb) -> list:
    """The MyST Markdown files the notebook's own Jupytext metadata pairs it with."""
    formats = nb.metadata.get("jupytext", {}).get("formats", "")
    if not formats:
        return []
    return [Path(p) for p, fmt in paired_paths(str(path), "ipynb", formats)
            if fmt.get("extension") == ".md" and fmt.get("format_name") == "myst"]


def test_the_book_has_notebooks():
    # a moved book/ would otherwise leave the parametrised test below with nothing to check
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_and_its_text_source_hold_the_same_cells(path):
    nb = nbformat.read(path, as_version=4)
    sources = _text_sources(path, nb)
    assert sources, (f"{path.name} is not paired with a MyST source: "
                     f"jupytext --set-formats ipynb,src//md:myst book/{path.name}")
    for source in sources:
        assert source.exists(), f"{source} is missing: jupytext --sync book/{path.name}"
        want, got = _cells(nb), _cells(jupytext.read(source))
        if want == got:
            continue
        first = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b),
                     min(len(want), len(got)))
        pytest.fail(f"{path.name} and {source.relative_to(BOOK.parent)} differ from cell "
                    f"{first} on ({len(want)} cells against {len(got)}): edit one, then "
                    f"jupytext --sync book/{path.name}")
