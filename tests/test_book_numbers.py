"""Numbers in the book's prose come from computations, and chapters agree on them.

A sentence that states a measured value pastes it with MyST-NB's glue from the stored
results. Two checks keep it so, on the chapters' text sources and stored outputs (no
execution): the prose types no percentage and no signed number of points other than the
paper's own numbers and a few fixed conventions; and a quantity that several chapters
glue, under one key or under the keys listed in :data:`SAME_QUANTITY`, reads the same
everywhere.
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from fser_utils import paper

BOOK = Path(__file__).resolve().parents[1] / "book"

#: percentages the prose may type because they are not measurements: interval and test
#: levels (95, 90), the issue's targets (90 on the paper split, 70 on unseen speakers),
#: split fractions (80/20), the augmentation's shift range (10), a confusion row (100), the
#: converged runs' stopping rule (99) and exercises' hypothetical marks (50, 85)
CONVENTIONS = {"95", "90", "70", "80", "20", "10", "100", "99", "50", "85"}

#: glue keys of different chapters that name one quantity: ``{chapter: key}`` per quantity
SAME_QUANTITY = [
    {"00_findings": "ens30_paper", "11_what_to_use": "explore_paper"},
    {"00_findings": "ens30_paper", "11_what_to_use": "ch11_cheap_paper"},
    {"00_findings": "ens30_speaker", "11_what_to_use": "explore_speaker"},
    {"00_findings": "ens30_speaker", "11_what_to_use": "ch11_cheap_speaker"},
    {"00_findings": "ens_paper", "11_what_to_use": "ch11_best_paper"},
    {"00_findings": "ens_speaker", "11_what_to_use": "ch11_best_speaker"},
    {"00_findings": "default", "11_what_to_use": "ch11_default_test"},
    {"00_findings": "leak", "08_leaks": "conv_a"},
    {"00_findings": "paper_acc", "07_robustness": "paper_accuracy"},
]


def _paper_numbers() -> set[str]:
    """Every number the paper module holds, as the prose would type it."""
    found = set()

    def walk(value):
        if dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple, set)):
            for v in value:
                walk(v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found.add(f"{value:g}")

    for name in dir(paper):
        if name.isupper():
            walk(getattr(paper, name))
    correct, clips = paper.PAPER_UNSEEN
    found.add(f"{100 * correct / clips:.2f}")  # the paper's 24-clip test, as a percentage
    return found


def find_typed_numbers(text: str, allowed=frozenset()) -> list[str]:
    """Percentages and signed points typed into Markdown prose, outside code and glue.

    Code cells, fenced code, inline code, roles (``{glue:text}`key```), maths and the
    YAML header are skipped; the prose inside directives (notes, exercises) is read.
    """
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    text = re.sub(r"^(`{3,})(?:\{code-cell\}|[a-z]*\n).*?^\1\s*$", "", text, flags=re.S | re.M)
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", "", text, flags=re.S)
    text = re.sub(r"^`{3,}.*$", "", text, flags=re.M)  # directive fences; their prose stays
    text = re.sub(r"\{[\w:-]+\}`[^`\n]*`|`[^`\n]*`", "", text)
    found = [m.group(0) for m in re.finditer(r"(?<![\w.])\d+(?:\.\d+)?\s?%", text)
             if re.match(r"[\d.]+", m.group(0)).group(0) not in allowed]
    found += re.findall(r"[+\-\u2212]\d+(?:\.\d+)?\s?points?", text)
    return found


def test_find_typed_numbers_skips_code_glue_and_maths():
    prose = ("---\njupytext: {format_version: 0.13}\n---\nIt scores 57.3 % and gains +4.1 "
             "points; {glue:text}`x` is 95 % sure, `61 %` is code, $50 %$ maths.\n"
             "```{code-cell} ipython3\nprint('12 %')\n```\n```{note}\nEven here: 8.5 %.\n```\n")
    assert find_typed_numbers(prose, {"95"}) == ["57.3 %", "8.5 %", "+4.1 points"]


@pytest.mark.parametrize("source", sorted([*BOOK.glob("src/*.md"), BOOK / "intro.md"]),
                         ids=lambda p: p.stem)
def test_prose_types_no_measured_number(source):
    typed = find_typed_numbers(source.read_text(), CONVENTIONS | _paper_numbers())
    assert not typed, f"{source.name} types measured numbers (glue them): {typed}"


def _glued(chapter: str) -> dict:
    """The glued texts a chapter's stored outputs hold: ``{key: text}``."""
    nb = json.loads((BOOK / f"{chapter}.ipynb").read_text())
    out = {}
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            text = output.get("data", {}).get("application/papermill.record/text/plain")
            if name and text:
                out[name] = text.strip("'\"")
    return out


def _first_number(text: str) -> str:
    match = re.search(r"-?\d+(?:\.\d+)?", text)
    assert match, text
    return match.group(0)


def test_chapters_state_one_quantity_alike():
    chapters = {p.stem: _glued(p.stem) for p in BOOK.glob("*.ipynb")}
    by_key: dict = {}
    for chapter, texts in chapters.items():
        for key, text in texts.items():
            by_key.setdefault(key, {})[chapter] = text
    for key, where in by_key.items():
        assert len(set(where.values())) == 1, f"glue key {key!r} differs between chapters: {where}"
    for same in SAME_QUANTITY:
        values = {f"{c}::{k}": chapters[c].get(k) for c, k in same.items()}
        assert None not in values.values(), f"a listed key is not glued (re-execute): {values}"
        assert len({_first_number(v) for v in values.values()}) == 1, values
