"""The catalogue and Table 1, on generated fixtures and (when present) the real corpora."""
import os

import pandas as pd
import pytest

from fser_utils.catalogue import (CATALOGUE_COLUMNS, PAPER_TABLE1, compute_emotion_table,
                                  describe_missing, load_catalogue)
from fser_utils.corpora import EMOTIONS, EXTRA_CORPORA, PAPER_CORPORA
from fser_utils.errors import FserError

from fixtures import make_savee_fixture, write_tone



def test_savee_fixture_layouts(tmp_path):
    make_savee_fixture(tmp_path)
    cat = load_catalogue(tmp_path, corpora=("savee",))
    assert len(cat) == 480
    assert cat["speaker"].nunique() == 4 and set(cat["sex"]) == {"male"}
    assert cat.groupby("emotion", observed=True).size().to_dict() == {
        "anger": 60, "anxiety": 60, "disgust": 60, "happiness": 60, "neutral": 120,
        "sadness": 60, "surprise": 60}
    flat = tmp_path / "flat"
    make_savee_fixture(flat, flat=True)
    assert len(load_catalogue(flat, corpora=("savee",))) == 480


def test_catalogue_columns_and_non_audio_ignored(tmp_path):
    write_tone(tmp_path / "emovo/f1/dis-f1-b1.wav", sr=16000, duration=0.5)
    write_tone(tmp_path / "emovo/m2/neu-m2-n3.flac", sr=48000, duration=0.25, channels=2)
    for junk in ("emovo/README.txt", "emovo/.DS_Store", "emovo/SHA256SUMS", "emovo/f1/._dis-f1-b1.wav"):
        (tmp_path / junk).write_text("not audio")
    cat = load_catalogue(tmp_path, corpora=("emovo",))
    assert list(cat.columns) == CATALOGUE_COLUMNS
    assert len(cat) == 2
    row = cat.set_index("relpath").loc["emovo/m2/neu-m2-n3.flac"]
    assert row["sr"] == 48000 and row["channels"] == 2
    assert row["duration"] == pytest.approx(0.25)
    assert row["speaker"] == "emovo_m2" and row["emotion"] == "neutral"


def test_unparsable_audio_name_is_an_error_not_dropped(tmp_path):
    write_tone(tmp_path / "emovo/f1/dis-f1-b1.wav")
    write_tone(tmp_path / "emovo/f1/recording 1.wav")
    with pytest.raises(FserError, match=r"recording 1\.wav.*expected"):
        load_catalogue(tmp_path, corpora=("emovo",))


def test_unreadable_audio_is_an_error(tmp_path):
    bad = tmp_path / "emovo/f1/dis-f1-b1.wav"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"RIFF not really")
    with pytest.raises(FserError, match="dis-f1-b1.wav"):
        load_catalogue(tmp_path, corpora=("emovo",))


def test_missing_corpora_are_reported_with_source(tmp_path):
    make_savee_fixture(tmp_path)
    cat = load_catalogue(tmp_path)
    assert set(cat.attrs["missing"]) == {"emodb", "emovo", "ravdess"}
    lines = describe_missing(cat)
    assert any("zenodo" in line and "ravdess" in line for line in lines)


def test_emotion_table_totals_and_csv_shape(tmp_path):
    make_savee_fixture(tmp_path)
    table = compute_emotion_table(load_catalogue(tmp_path, corpora=("savee",)), by_corpus=True)
    assert list(table["emotion"]) == list(EMOTIONS) + ["total"]
    assert table.iloc[-1]["count"] == 480 and table.iloc[-1]["savee"] == 480
    assert table["percent"].iloc[:-1].sum() == pytest.approx(100, abs=0.05)
    assert table.set_index("emotion").loc["calm", "count"] == 0


def _link_real_with_savee(real_root, tmp_path):
    for name in ("emodb", "emovo", "ravdess"):
        os.symlink(real_root / name, tmp_path / name)
    make_savee_fixture(tmp_path)
    return tmp_path


def test_real_paper_corpora_give_2563(real_root):
    table = compute_emotion_table(load_catalogue(real_root)).set_index("emotion")
    assert table.loc["total", "count"] == 2563
    assert table.loc["calm", "count"] == 273  # RAVDESS calm + EmoDB boredom, no SAVEE share


def test_real_corpora_plus_savee_fixture_reproduce_table1_exactly(real_root, tmp_path):
    cat = load_catalogue(_link_real_with_savee(real_root, tmp_path))
    table = compute_emotion_table(cat).set_index("emotion")
    assert table["count"].drop("total").to_dict() == PAPER_TABLE1
    assert table.loc["total", "count"] == 3043
    # the paper prints shares with two decimals; ours must agree
    assert table.loc["anger", "percent"] == pytest.approx(15.22, abs=0.005)
    assert table.loc["calm", "percent"] == pytest.approx(8.97, abs=0.005)


def test_real_catalogue_metadata(real_catalogue):
    cat = real_catalogue
    counts = cat.groupby("corpus").size().to_dict()
    assert counts == {"emodb": 535, "emovo": 588, "ravdess": 1440, "nemo": 512, "urdu": 400}
    speakers = cat.groupby("corpus")["speaker"].nunique().to_dict()
    assert speakers == {"emodb": 10, "emovo": 6, "ravdess": 24, "nemo": 9, "urdu": 29}
    assert cat.loc[cat.corpus.isin(PAPER_CORPORA), "emotion"].notna().all()
    assert set(cat["sex"]) == {"female", "male"}
    assert (cat["duration"] > 0.5).all()
