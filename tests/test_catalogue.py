"""The catalogue and Table 1, on generated fixtures and (when present) the real corpora."""
import os

import pandas as pd
import pytest

from fser_utils.data.catalogue import (CATALOGUE_COLUMNS, NOTE_FILE, compute_corpus_summary,
                                  compute_emotion_table, compute_table1_comparison,
                                  describe_missing, get_run_data_notes, load_catalogue,
                                  load_data_notes, select_examples)
from fser_utils.data.corpora import EMOTIONS, EXTRA_CORPORA, PAPER_CORPORA
from fser_utils.errors import FserError
from fser_utils.paper import PAPER_TABLE1

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
    # the folder to create is named within the data root, not as a path of this machine
    assert not any(str(tmp_path) in line for line in lines)
    assert any("(folder ravdess/)" in line for line in lines)


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


# --- what the data say about the local copies ---------------------------------------------
def _emovo(root, durations):
    names = ["f1/dis-f1-b1.wav", "f1/gio-f1-b1.wav", "m1/neu-m1-b1.wav"]
    for name, d in zip(names, durations):
        write_tone(root / "emovo" / name, duration=d)


def test_notes_come_from_the_data_not_the_code(tmp_path):
    _emovo(tmp_path, [0.2, 0.2, 0.2])  # every clip one length: cut or padded
    cat = load_catalogue(tmp_path, corpora=("emovo", "savee"))
    notes = cat.attrs["notes"]
    assert "exactly 0.20 s" in notes["emovo"] and "3 of the 588 clips" in notes["emovo"]
    assert "not comparable" in notes["emovo"]
    assert notes["savee"] == "not found under the data root"
    # a copy with clips of their own lengths and no note file says only that it is a subset
    other = tmp_path / "other"
    _emovo(other, [0.2, 0.3, 0.25])
    assert "exactly" not in load_catalogue(other, corpora=("emovo",)).attrs["notes"]["emovo"]


def test_note_file_beside_the_corpus_is_read(tmp_path):
    _emovo(tmp_path, [0.2, 0.3, 0.25])
    (tmp_path / "emovo" / NOTE_FILE).write_text(
        "# Resampled to 16 kHz\nby our lab, in 2020.\n\nSecond paragraph, not shown.\n")
    note = load_catalogue(tmp_path, corpora=("emovo",)).attrs["notes"]["emovo"]
    assert note.startswith("our copy: Resampled to 16 kHz by our lab, in 2020.;")
    assert "Second paragraph" not in note
    summary = compute_corpus_summary(load_catalogue(tmp_path, corpora=("emovo",)))
    assert summary.loc["emovo", "note"] == note and summary.loc["emovo", "of"] == 588


def test_demo_corpus_carries_its_note(demo_root):
    from fser_utils.data.demo import DEMO_NOTE

    notes = load_catalogue(demo_root, corpora=("demo",)).attrs["notes"]
    assert DEMO_NOTE in notes["demo"]


def test_run_data_notes(tmp_path):
    _emovo(tmp_path, [0.2, 0.2, 0.2])
    recorded = {"emovo": "recorded at training time"}
    assert get_run_data_notes({"data_notes": recorded, "data_root": str(tmp_path)}) == recorded
    notes = get_run_data_notes({"corpora": ["emovo"], "data_root": str(tmp_path)})
    assert "exactly 0.20 s" in notes["emovo"] and "not found" in notes["ravdess"]
    # a data root that is not on this machine: nothing is known, nothing is made up
    assert get_run_data_notes({"corpora": ["emovo"], "data_root": str(tmp_path / "no")}) == {}
    assert load_data_notes(None) == {}


def test_table1_comparison_and_examples(tmp_path):
    make_savee_fixture(tmp_path)
    cat = load_catalogue(tmp_path, corpora=("savee",))
    comparison = compute_table1_comparison(compute_emotion_table(cat))
    assert comparison.loc["total", "paper"] == sum(PAPER_TABLE1.values())
    assert comparison.loc["neutral", "ours"] == 120
    assert comparison.loc["neutral", "difference"] == 120 - PAPER_TABLE1["neutral"]
    examples = select_examples(cat, corpus="savee")
    assert list(examples.index) == [e for e in EMOTIONS if e != "calm"]
    assert examples.equals(select_examples(cat, corpus="savee"))  # reproducible


def test_real_emodb_copy_is_flagged(real_catalogue):
    notes = real_catalogue.attrs["notes"]
    assert "exactly 2.00 s" in notes["emodb"]
    assert "512 of the 4481 clips" in notes["nemo"]
    assert not {"emovo", "ravdess", "urdu"} & set(notes)


def test_contrast_pair_matches_everything_but_the_emotion():
    from fser_utils.data.catalogue import select_contrast_pair

    rows = [("b/1.wav", "anger", "s1", "x", "strong", 1), ("a/2.wav", "anxiety", "s1", "x",
                                                           "normal", 1),
            ("a/3.wav", "anger", "s1", "x", "normal", 1), ("c/4.wav", "anxiety", "s1", "x",
                                                           "strong", 1),
            ("c/5.wav", "anxiety", "s2", "x", "strong", 1)]
    cat = pd.DataFrame(rows, columns=["relpath", "emotion", "speaker", "sentence",
                                      "intensity", "take"])
    angry, anxious = select_contrast_pair(cat)
    assert (angry["relpath"], anxious["relpath"]) == ("b/1.wav", "c/4.wav")
    with pytest.raises(LookupError, match="anger/calm"):
        select_contrast_pair(cat, second="calm")
