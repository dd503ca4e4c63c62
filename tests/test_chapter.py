"""The chapters' set-up call: data root, download offer, device report, profile."""
import os

import pytest

from fser_utils import chapter, config
from fser_utils.chapter import setup_chapter
from fser_utils.errors import FserError

from test_download import RAVDESS_FILES, _make_archive, server  # noqa: F401


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An installed package's view: no data root set, user folders under tmp_path."""
    for name in ("FSER_DATA", "FSER_DOWNLOAD", "FSER_PROFILE"):
        monkeypatch.setenv(name, "placeholder")  # so that monkeypatch restores them
        monkeypatch.delenv(name)
    monkeypatch.setattr(config, "CHECKOUT", None)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no nvidia-smi: a CPU machine
    return tmp_path / "share" / "fser" / "data"


def test_configured_data_root_is_trusted(fresh, demo_root, monkeypatch):
    monkeypatch.setenv("FSER_DATA", str(demo_root))
    monkeypatch.setenv("FSER_PROFILE", "ci")
    setup = setup_chapter(seed=3, seed_keras=False, verbose=False)
    assert setup.data_root == demo_root.resolve() and setup.downloaded == ()
    assert setup.profile == "ci" and os.environ["FSER_PROFILE"] == "ci"
    assert setup.seed == 3 and "(from $FSER_DATA)" in setup.report


def test_no_data_declined_runs_on_the_demo_corpus(fresh, capsys):
    setup = setup_chapter(seed_keras=False, download="no")
    out = capsys.readouterr().out
    assert not setup.has_data and "synthetic demo corpus" in out
    assert "FSER_DATA" not in os.environ
    # the device's profile is chosen and handed to later cells through the environment
    assert setup.profile == os.environ["FSER_PROFILE"] == "quick"
    assert "device: CPU only" in out and "training profile: quick, chosen for a CPU" in out


def test_nobody_to_ask_means_no(fresh):
    """Under pytest (as under nbconvert or CI) there is no one to answer: no download."""
    assert chapter._ask("download? ") is None
    assert not setup_chapter(seed_keras=False, verbose=False).has_data


def test_download_offer_accepted(fresh, server, tmp_path, monkeypatch):  # noqa: F811
    archive, manifest = _make_archive(tmp_path, "ravdess", RAVDESS_FILES)
    monkeypatch.setenv("FSER_DOWNLOAD_URL_RAVDESS", f"{server}/{archive.name}")
    monkeypatch.setenv("FSER_DOWNLOAD_MANIFEST_RAVDESS", str(manifest))
    monkeypatch.setenv("FSER_DOWNLOAD", "ravdess")
    setup = setup_chapter(seed_keras=False, progress=False, verbose=False)
    assert setup.downloaded == ("ravdess",) and setup.has_data
    assert os.environ["FSER_DATA"] == str(fresh)
    assert all((fresh / "ravdess" / rel).is_file() for rel in RAVDESS_FILES)
    # a second chapter finds the copy and sets FSER_DATA without downloading again
    monkeypatch.delenv("FSER_DATA")
    again = setup_chapter(seed_keras=False, verbose=False)
    assert again.downloaded == () and again.has_data and "(the default)" in again.report


def test_download_that_does_not_verify_is_an_error(fresh, server, tmp_path,  # noqa: F811
                                                   monkeypatch):
    archive, manifest = _make_archive(tmp_path, "ravdess", RAVDESS_FILES)
    text = manifest.read_text()
    manifest.write_text(("1" if text[0] == "0" else "0") + text[1:])  # one wrong digest
    monkeypatch.setenv("FSER_DOWNLOAD_URL_RAVDESS", f"{server}/{archive.name}")
    monkeypatch.setenv("FSER_DOWNLOAD_MANIFEST_RAVDESS", str(manifest))
    with pytest.raises(FserError, match="ravdess was not installed"):
        setup_chapter(seed_keras=False, download=True, progress=False, verbose=False)
    assert "FSER_DATA" not in os.environ


@pytest.mark.parametrize("answer, names", [(True, ("ravdess", "emodb")),
                                           ("y", ("ravdess", "emodb")),
                                           ("no", ()), ("", ()), ("emodb", ("emodb",)),
                                           (["ravdess"], ("ravdess",))])
def test_answers(answer, names):
    assert chapter._parse_answer(answer, ("ravdess", "emodb")) == names


def test_answer_naming_a_corpus_that_cannot_be_downloaded():
    with pytest.raises(FserError, match="cannot download emovo"):
        chapter._parse_answer("ravdess,emovo", ("ravdess", "emodb"))


def test_catalogue_line_names_corpora_not_the_machine_path(demo_root, monkeypatch, capsys):
    from fser_utils.data.catalogue import load_catalogue

    cat = load_catalogue(demo_root, corpora=("demo",))
    line = chapter.describe_catalogue(cat)
    assert str(demo_root) not in line and "/" not in line.replace("$FSER_DATA", "")
    assert line.startswith(f"data root ($FSER_DATA): {len(cat)} clips from demo ({len(cat)})")


def test_format_table_marks_missing_cells():
    import numpy as np
    import pandas as pd

    table = pd.DataFrame({"f1": [55.751, 60.0], "auc": [np.nan, 89.844],
                          "n": pd.array([None, 96], dtype="Int64"), "work": ["a", None]})
    out = chapter.format_table(table, decimals=2)
    assert out["f1"].tolist() == [55.75, 60.0]  # nothing missing: still numbers
    assert out["auc"].tolist() == ["–", "89.84"]
    assert out["n"].tolist() == ["–", 96] and out["work"].tolist() == ["a", "–"]
    assert table["auc"].isna().sum() == 1  # the input is left as it was
