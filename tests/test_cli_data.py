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
