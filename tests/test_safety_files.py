"""Special files and odd names (issue 32, items 5 and 6): nothing hangs on a FIFO, and
any file name prints as one line that converts back to the exact name."""
from __future__ import annotations

import os
import signal
import socket

import pytest

from fser_utils.atomic import (check_regular_file, describe_special_file, escape_path,
                               unescape_path, write_csv_atomic)
from fser_utils.cli import main
from fser_utils.errors import FserError

from fixtures import write_tone


@pytest.fixture
def deadline():
    """Fail, rather than hang, if the test blocks for more than 20 s (on a FIFO)."""
    def expire(*_):
        raise TimeoutError("blocked for 20 s: a FIFO was opened")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_data_table_skips_a_fifo_named_like_a_corpus_file(tmp_path, capsys, deadline):
    actor = tmp_path / "ravdess" / "Actor_01"
    write_tone(actor / "03-01-01-01-01-01-01.wav", sr=16000)
    fifo = actor / "03-01-05-01-01-01-01.wav"
    os.mkfifo(fifo)
    assert main(["data", "table", "--root", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if "skipped" in line]
    assert notes == [f"fser: note: skipped '{fifo}': a FIFO (named pipe), not an audio file"]
    assert "Table 1 for ravdess" in captured.out


def test_special_files_are_refused_without_opening_them(tmp_path, deadline):
    fifo = tmp_path / "in.wav"
    os.mkfifo(fifo)
    with pytest.raises(FserError, match=r"in.wav': it is a FIFO \(named pipe\), not a regular"):
        check_regular_file(fifo)
    sock_path = tmp_path / "s.wav"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        assert describe_special_file(sock_path) == "a socket"
    assert describe_special_file("/dev/null") == "a character device"
    with pytest.raises(FserError, match="it is a folder"):
        check_regular_file(tmp_path)
    with pytest.raises(FserError, match="file name or path too long"):
        check_regular_file(tmp_path / ("x" * 300))
    regular = tmp_path / "ok.wav"
    regular.write_bytes(b"x")
    assert check_regular_file(regular) == regular


NAMES = ["café.wav".encode("latin-1"), b"plain.wav", b"with space, comma.wav",
         b"quote\"'.wav", b"new\nline.wav", b"-leading-dash.wav", b"back\\slash.wav",
         "ünïcødé.wav".encode()]


@pytest.mark.parametrize("raw", NAMES, ids=[repr(n) for n in NAMES])
def test_any_file_name_escapes_to_one_printable_line_and_back(raw, tmp_path):
    path = os.path.join(os.fsencode(tmp_path), raw)
    with open(path, "wb") as f:
        f.write(b"x")
    name = os.fsdecode(path)  # what os.listdir / Path give for it
    text = escape_path(name)
    text.encode("utf-8")  # printable anywhere: no lone surrogates
    assert "\n" not in text and text.isprintable()
    assert os.fsencode(unescape_path(text)) == path  # the exact bytes come back
    with open(unescape_path(text), "rb") as f:
        assert f.read() == b"x"


def test_escaped_names_round_trip_through_csv_and_json(tmp_path):
    import json

    import pandas as pd

    names = [escape_path(os.fsdecode(n)) for n in NAMES]
    write_csv_atomic(tmp_path / "t.csv", pd.DataFrame({"path": names}))
    back = pd.read_csv(tmp_path / "t.csv", keep_default_na=False)["path"].tolist()
    assert [os.fsencode(unescape_path(n)) for n in back] == NAMES
    assert [os.fsencode(unescape_path(n)) for n in json.loads(json.dumps(names))] == NAMES
