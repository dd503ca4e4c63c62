"""`fser data table` and the CLI's error handling."""
import io
import os

import pandas as pd

from fser_utils.cli import main

from fixtures import make_savee_fixture


def test_table_csv(tmp_path, capsys):
    make_savee_fixture(tmp_path)
    assert main(["data", "table", "--root", str(tmp_path), "--csv"]) == 0
    out, err = capsys.readouterr()
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ["emotion", "count", "percent"]
    assert table.iloc[-1].tolist() == ["total", 480, 100.0]
    assert "emodb: not found" in err


def test_table_by_corpus_text(tmp_path, capsys):
    make_savee_fixture(tmp_path)
    assert main(["data", "table", "--root", str(tmp_path), "--by-corpus"]) == 0
    out = capsys.readouterr().out
    assert "savee" in out.splitlines()[1] and "total" in out


def test_table_on_empty_root_fails_cleanly(tmp_path, capsys):
    assert main(["data", "table", "--root", str(tmp_path)]) == 1
    assert "no corpus found" in capsys.readouterr().err


def test_bad_file_name_gives_one_line_error(tmp_path, capsys):
    make_savee_fixture(tmp_path)
    (tmp_path / "savee/AudioData/DC/zz01.wav").write_bytes(b"")
    assert main(["data", "table", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("fser: error: cannot parse") and "Traceback" not in "\n".join(err)


def test_root_option_beats_environment(tmp_path, capsys, monkeypatch):
    make_savee_fixture(tmp_path)
    monkeypatch.setenv("FSER_DATA", str(tmp_path / "nowhere"))
    assert main(["data", "table", "--root", str(tmp_path), "--csv"]) == 0
    monkeypatch.setenv("FSER_DATA", str(tmp_path))
    assert main(["data", "table", "--csv"]) == 0
    assert capsys.readouterr().out.count("total,480") == 2


def test_real_table_2563(real_root, capsys):
    assert main(["data", "table", "--root", str(real_root), "--csv"]) == 0
    assert "total,2563,100.00" in capsys.readouterr().out


def _write_emodb_zip(path, rels):
    import zipfile

    from fixtures import write_tone

    stage = path.parent / "stage"
    files = [write_tone(stage / rel, duration=0.01) for rel in rels]
    with zipfile.ZipFile(path, "w") as zf:
        for rel, file in zip(rels, files):
            zf.write(file, rel)
    return path


def test_download_of_files_that_fail_the_manifest_installs_nothing(tmp_path, monkeypatch,
                                                                   capsys):
    # tiny tones named like EmoDB files cannot match the packaged manifest
    archive = _write_emodb_zip(tmp_path / "mirror" / "e.zip", ["wav/03a01Fa.wav"])
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FSER_DOWNLOAD_URL_EMODB", archive.as_uri())
    root = tmp_path / "data"
    assert main(["data", "download", "emodb", "--root", str(root)]) == 1
    out, err = capsys.readouterr()
    assert "emodb: FAILED" in out and "corrupt  wav/03a01Fa.wav (size" in out
    assert out.strip().splitlines()[-1] == (
        f"emodb: the files of '{archive}' do not match emodb_original_wav_sha256_size.txt: "
        f"nothing was installed in {root / 'emodb'}, and the local archive '{archive}' was "
        "left untouched")
    assert "hash check" not in out + err
    assert os.listdir(root) == [] and archive.is_file()

    monkeypatch.setenv("FSER_DOWNLOAD_URL_EMODB", (tmp_path / "gone.zip").as_uri())
    assert main(["data", "download", "emodb", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"fser: error: cannot read archive '{tmp_path / 'gone.zip'}' "
                           f"({(tmp_path / 'gone.zip').as_uri()}): No such file or directory")


def test_verify_explains_names_in_another_case(tmp_path, capsys):
    from fixtures import write_tone

    write_tone(tmp_path / "emodb" / "wav" / "03a01Fa.WAV", duration=0.01)
    assert main(["data", "verify", "emodb", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "534 missing, 0 extra, 0 corrupt, 1 named in another case" in out
    assert "case     wav/03a01Fa.WAV (listed as wav/03a01Fa.wav; size " in out
    assert "0 of them hold the listed content" in out
    assert "FLAC" not in out
