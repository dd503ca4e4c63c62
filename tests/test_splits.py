"""Split invariants: no file in two parts, no speaker in two parts (speaker split),
every corpus in every part, repeatable with a seed."""
import numpy as np
import pandas as pd
import pytest

from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError
from fser_utils.data.splits import PARTS, check_split, describe_split, make_split


@pytest.fixture(scope="module")
def toy():
    """Three corpora, 4-10 speakers each, every speaker saying every emotion 3 times."""
    rows = []
    for corpus, n_spk in (("a", 10), ("b", 6), ("c", 4)):
        for s in range(n_spk):
            for e in EMOTIONS:
                for k in range(3):
                    rows.append({"relpath": f"{corpus}/{s}/{e}_{k}.wav", "corpus": corpus,
                                 "speaker": f"{corpus}_{s}", "sex": "male" if s % 2 else "female",
                                 "emotion": e})
    cat = pd.DataFrame(rows)
    cat["emotion"] = pd.Categorical(cat["emotion"], categories=EMOTIONS)
    return cat


@pytest.mark.parametrize("kind,test_corpus", [("paper", None), ("speaker", None), ("corpus", "b")])
def test_every_file_in_exactly_one_part(toy, kind, test_corpus):
    part = make_split(toy, kind=kind, test_corpus=test_corpus)
    assert part.index.equals(toy.index)
    assert set(part.unique()) == set(PARTS)
    # one label per row, so no file can be in two parts; and no duplicate files
    assert not toy["relpath"].duplicated().any()
    check_split(toy, part, kind=kind)


def test_paper_split_sizes_and_strata(toy):
    part = make_split(toy, kind="paper")
    n = len(toy)
    n_test = (part == "test").sum()
    assert n_test == int(np.ceil(0.2 * n))
    n_val = (part == "val").sum()
    assert n_val == int(np.ceil(0.2 * (n - n_test)))
    # stratified: every emotion keeps its share in the test part (within one clip)
    share = toy.loc[part == "test", "emotion"].value_counts()
    assert share.max() - share.min() <= 1


def test_speaker_split_shares_no_speaker(toy):
    part = make_split(toy, kind="speaker", seed=3)
    per_speaker = part.groupby(toy["speaker"]).nunique()
    assert (per_speaker == 1).all()
    # done per corpus: each corpus is in all three parts
    table = pd.crosstab(toy["corpus"], part)
    assert (table[list(PARTS)] > 0).all().all()


def test_corpus_split_holds_out_one_corpus(toy):
    part = make_split(toy, kind="corpus", test_corpus="a")
    assert (part[toy["corpus"] == "a"] == "test").all()
    assert (part[toy["corpus"] != "a"] != "test").all()


@pytest.mark.parametrize("kind,test_corpus", [("paper", None), ("speaker", None), ("corpus", "c")])
def test_same_seed_same_split(toy, kind, test_corpus):
    a = make_split(toy, kind=kind, seed=7, test_corpus=test_corpus)
    b = make_split(toy, kind=kind, seed=7, test_corpus=test_corpus)
    assert a.equals(b)
    if kind != "corpus":
        c = make_split(toy, kind=kind, seed=8)
        assert not a.equals(c)


def test_speaker_split_of_a_corpus_ignores_the_others(toy):
    # drawn per corpus: dropping a corpus leaves the other corpora's split unchanged
    full = make_split(toy, kind="speaker", seed=1)
    part = make_split(toy[toy["corpus"] != "a"], kind="speaker", seed=1)
    assert (full.loc[part.index] == part).all()


def test_bad_input(toy):
    with pytest.raises(FserError, match="unknown split"):
        make_split(toy, kind="random")
    with pytest.raises(FserError, match="needs test_corpus"):
        make_split(toy, kind="corpus")
    with pytest.raises(FserError, match="not in the catalogue"):
        make_split(toy, kind="corpus", test_corpus="zzz")
    with pytest.raises(FserError, match="at least 3"):
        make_split(toy[toy["speaker"].isin(["c_0", "c_1"])], kind="speaker")
    bad = toy.copy()
    bad.loc[0, "emotion"] = np.nan
    with pytest.raises(FserError, match="no emotion label.*a/0/anger_0.wav"):
        make_split(bad, kind="paper")


def test_check_split_catches_a_leak(toy):
    part = make_split(toy, kind="speaker")
    leaky = part.copy()
    spk = toy["speaker"].iloc[0]
    rows = toy.index[toy["speaker"] == spk]
    leaky.loc[rows[0]] = "test" if part.loc[rows[0]] != "test" else "train"
    with pytest.raises(FserError, match=f"speaker '{spk}'"):
        check_split(toy, leaky, kind="speaker")


def test_describe_split(toy):
    part = make_split(toy, kind="paper")
    table = describe_split(toy, part)
    assert table.loc["total", "total"] == len(toy)
    assert list(table.columns) == ["train", "val", "test", "total"]


def test_real_corpora_splits(real_catalogue):
    from fser_utils.data.corpora import PAPER_CORPORA

    cat = real_catalogue[real_catalogue["corpus"].isin(PAPER_CORPORA)].reset_index(drop=True)
    for kind, tc in (("paper", None), ("speaker", None), ("corpus", "emodb")):
        part = make_split(cat, kind=kind, test_corpus=tc)
        check_split(cat, part, kind=kind)
    part = make_split(cat, kind="speaker")
    assert (part.groupby(cat["speaker"]).nunique() == 1).all()
    assert (pd.crosstab(cat["corpus"], part) > 0).all().all()
