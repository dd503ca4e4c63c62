"""File-name parsers and the label map of every corpus."""
import pytest

from fser_utils.data.corpora import (CORPORA, EMOTIONS, EXTRA_CORPORA, PAPER_CORPORA,
                                compute_label_table, get_corpus, parse_path, unify_label)
from fser_utils.errors import FserError


@pytest.mark.parametrize("corpus, rel, expected", [
    ("ravdess", "Actor_01/03-01-06-02-01-02-01.wav",
     dict(speaker="01", sex="male", raw_label="fearful", intensity="strong", sentence="01", take="02")),
    ("ravdess", "Actor_24/03-01-02-01-02-01-24.flac",
     dict(speaker="24", sex="female", raw_label="calm", intensity="normal", sentence="02")),
    ("emovo", "f2/pau-f2-b3.wav", dict(speaker="f2", sex="female", raw_label="fear", sentence="b3")),
    ("emovo", "m1/gio-m1-l4.flac", dict(speaker="m1", sex="male", raw_label="joy")),
    ("emodb", "wav/03a01Fa.wav", dict(speaker="03", sex="male", raw_label="happiness", sentence="a01")),
    ("emodb", "wav/08b10La.flac", dict(speaker="08", sex="female", raw_label="boredom", sentence="b10")),
    ("savee", "AudioData/DC/sa03.wav", dict(speaker="DC", sex="male", raw_label="sadness")),
    ("savee", "AudioData/KL/su15.wav", dict(speaker="KL", raw_label="surprise")),
    ("savee", "AudioData/JE/n30.wav", dict(speaker="JE", raw_label="neutral")),
    ("savee", "JK_a01.wav", dict(speaker="JK", raw_label="anger")),
    ("nemo", "KS0_surprised_10.flac", dict(speaker="KS0", sex="male", raw_label="surprise")),
    ("nemo", "EB0_fear_3.wav", dict(speaker="EB0", sex="female", raw_label="fear")),
    ("urdu", "Angry/SM1_F10_A010.flac", dict(speaker="SM1", sex="male", raw_label="anger")),
    ("urdu", "Sad/SF10_F1_S01.wav", dict(speaker="SF10", sex="female", raw_label="sadness")),
])
def test_parse_valid_names(corpus, rel, expected):
    meta = parse_path(corpus, rel)
    for key, value in expected.items():
        assert meta[key] == value, key


@pytest.mark.parametrize("corpus, rel", [
    ("ravdess", "Actor_01/03-01-09-01-01-01-01.wav"),   # emotion 09 does not exist
    ("ravdess", "Actor_01/03-02-01-01-01-01-01.wav"),   # song, not speech
    ("ravdess", "Actor_25/03-01-01-01-01-01-25.wav"),   # actor 25
    ("ravdess", "Actor_01/03-01-01-01-01-01.wav"),      # a field missing
    ("emovo", "f1/xyz-f1-b1.wav"),
    ("emovo", "f4/dis-f4-b1.wav"),
    ("emodb", "wav/03a01Xa.wav"),                       # unknown emotion letter
    ("emodb", "wav/05a01Fa.wav"),                       # speaker 05 is not in EmoDB
    ("emodb", "wav/03a1Fa.wav"),
    ("savee", "AudioData/XX/a01.wav"),                  # unknown speaker folder
    ("savee", "AudioData/DC/b01.wav"),
    ("savee", "AudioData/DC/a31.wav"),
    ("savee", "a01.wav"),                               # flat name without speaker
    ("nemo", "EB0_joy_1.wav"),
    ("urdu", "Angry/SM1_F10_H010.wav"),                 # class letter disagrees with folder
    ("urdu", "Bored/SM1_F10_B010.wav"),
])
def test_parse_malformed_names_name_file_and_pattern(corpus, rel):
    with pytest.raises(FserError) as err:
        parse_path(corpus, rel)
    message = str(err.value)
    assert rel in message and "expected" in message
    assert "\n" not in message


def test_unknown_corpus_is_one_line_error():
    with pytest.raises(FserError, match="unknown corpus 'timit'"):
        get_corpus("timit")


def test_label_maps_follow_the_paper():
    # the paper merges fear into anxiety and boredom into calm
    assert unify_label("emodb", "fear") == "anxiety"
    assert unify_label("emodb", "boredom") == "calm"
    assert unify_label("ravdess", "fearful") == "anxiety"
    assert unify_label("emovo", "joy") == "happiness"
    for name in PAPER_CORPORA + EXTRA_CORPORA:
        assert set(get_corpus(name).label_map.values()) <= set(EMOTIONS)
    # every raw label of every paper corpus is used: nothing is dropped
    assert {None} & set().union(*(CORPORA[n].label_map.values() for n in PAPER_CORPORA)) == set()


def test_label_table_lists_every_raw_label():
    table = compute_label_table()
    assert len(table) == 7 + 7 + 7 + 8 + 6 + 4
    assert set(table["emotion"]) == set(EMOTIONS)


def test_registry_describes_corpora_as_distributed():
    # facts about a local copy (a subset, resampled, cut) are read from the copy itself
    # (fser_utils.data.catalogue.describe_data_copy), never written into the registry
    assert CORPORA["nemo"].n_files == 4481  # the complete nEMO, not the subset we hold
    for corpus in CORPORA.values():
        text = f"{corpus.title} {corpus.recording}".lower()
        assert not {"here", "subset", "ours", "our"} & set(text.split()), corpus.name
