"""Chapters a reader can finish: bounded prose and short code cells (issue 30).

A chapter longer than about 2 500 words of prose is two chapters; a code cell longer
than 15 lines is logic that belongs in the package, where it is tested. Only the
notebooks' text is read, nothing runs.
"""
import re
from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))

#: most words of prose a chapter may hold
MAX_WORDS = 2500
#: most lines a code cell may hold (its cell metadata is not in its source)
MAX_CELL_LINES = 15

_CODE_BLOCK = re.compile(r"^(`{3,})[^\n]*python.*?^\1\s*$", re.S | re.M)
_DIRECTIVE_LINE = re.compile(r"^(:[a-z-]+:.*|`{3,}.*)$", re.M)
_WORD = re.compile(r"[A-Za-z0-9][\w'’.-]*")


def count_prose_words(markdown: str) -> int:
    """Words of prose in a chapter's Markdown: code blocks (exercise solutions) and
    directive lines (fences, options) do not count."""
    text = _DIRECTIVE_LINE.sub("", _CODE_BLOCK.sub("", markdown))
    return len(_WORD.findall(text))


def test_count_prose_words_skips_code_and_directives():
    md = "Two words.\n\n```python\nx = 1 + 2 + 3\n```\n\n```{exercise}\n:label: ex-1\n\nThree more here.\n```\n"
    assert count_prose_words(md) == 5


def test_the_book_has_chapters():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_prose_is_bounded(path):
    nb = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    words = count_prose_words(markdown)
    assert words <= MAX_WORDS, f"{path.name}: {words} words of prose (at most {MAX_WORDS})"
    # the project's own check counts every token of the Markdown cells, the code and
    # directive lines of exercises included: the bound holds for that count too
    tokens = len(markdown.split())
    assert tokens <= MAX_WORDS, f"{path.name}: {tokens} words of Markdown (at most {MAX_WORDS})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_short(path):
    nb = nbformat.read(path, as_version=4)
    long = {i: len(c.source.strip().splitlines()) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and len(c.source.strip().splitlines()) > MAX_CELL_LINES}
    assert not long, (f"{path.name}: code cells over {MAX_CELL_LINES} lines "
                      f"(cell index: lines): {long}")
