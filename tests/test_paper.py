"""The paper's numbers: one home, internally consistent, and used by the rest of the package."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fser_utils import paper
from fser_utils.data.corpora import EMOTIONS, PAPER_CORPORA, get_corpus


def test_split_sizes_add_up():
    s = paper.PAPER_SPLIT
    assert s["train"] + s["test"] == s["clips"] == sum(paper.PAPER_TABLE1.values())
    assert s["fit"] + s["val"] == s["train"]
    assert s["fit"] * (1 + paper.PAPER_RECIPE["n_copies"]) == s["augmented"]
    assert paper.PAPER_N_TEST == paper.PAPER_TABLE2.loc["accuracy", "support"] == s["test"]
    assert paper.PAPER_TABLE2["support"][:8].sum() == s["test"]


def test_corpus_sizes_are_the_registry_sizes():
    assert sum(paper.PAPER_CORPUS_SIZES.values()) == paper.PAPER_N_CLIPS
    assert set(paper.PAPER_CORPUS_SIZES) == set(PAPER_CORPORA)
    for name, n in paper.PAPER_CORPUS_SIZES.items():
        assert get_corpus(name).n_files == n, name


def test_tables_are_well_formed():
    assert list(paper.PAPER_TABLE2.index[:8]) == list(EMOTIONS)
    assert paper.PAPER_TABLE2.loc["surprise", "support"] == 69
    np.testing.assert_allclose(paper.PAPER_TABLE3.sum(axis=1), 100, atol=0.05)
    assert list(paper.PAPER_TABLE3.columns) == list(EMOTIONS)
    assert set(paper.PAPER_TABLE1) == set(EMOTIONS)
    # Table 2's overall accuracy rounds the abstract's 95.05 %
    assert round(paper.PAPER_ACCURACY) == paper.PAPER_TABLE2.loc["accuracy", "f1"]
    assert paper.get_paper_corpus_accuracy() == {"emodb": 97.74, "savee": 99.10,
                                                 "ravdess": 98.67}
    for (work, corpus), (table, _) in paper.PAPER_TEXT_DISAGREES.items():
        assert (work, corpus, table) in {(w, c, a) for w, c, _, a, _ in paper.PAPER_TABLE4}


def test_paper_profile_follows_the_recipe():
    from fser_utils.training.profiles import PROFILES

    p, r = PROFILES["paper"], paper.PAPER_RECIPE
    assert (p.epochs, p.batch_size, p.optimizer, p.learning_rate, p.n_copies) == \
        (r["epochs"], r["batch_size"], r["optimizer"], r["learning_rate"], r["n_copies"])
    assert p.augment == "offline"


def _value(literal: str) -> complex:
    import ast

    return ast.literal_eval(literal.replace("_", ""))


def test_paper_numbers_are_written_only_in_paper_py():
    """No other module restates one of the paper's numbers as a literal in its code."""
    import io
    import tokenize

    quoted = {95.05, 97.74, 99.10, 98.67, 97.44, 95.33, 95.53, 83.61, 3043, 2434, 1947, 487,
              609, 40887}
    package = Path(paper.__file__).parent
    found = [f"{path.name}:{tok.start[0]}: {tok.string}"
             for path in package.rglob("*.py") if path.name != "paper.py"
             for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
             if tok.type == tokenize.NUMBER and _value(tok.string) in quoted]
    assert not found, found


def test_anchors_take_the_claim_from_the_paper_module():
    from fser_utils.studies.compare import ANCHORS

    fser = [a for a in ANCHORS if a["label"].startswith("FSER")]
    assert [a["accuracy"] for a in fser] == [paper.PAPER_ACCURACY]
    assert f"{paper.PAPER_RECIPE['epochs']} epochs" in fser[0]["protocol"]
