"""fser predict on odd inputs: names that are not UTF-8 or full of punctuation, FIFOs,
over-long names and paths, stereo in antiphase; one line each, the other files scored,
and output that is valid and exact (issue 32)."""
import csv
import io
import json
import os

import numpy as np
import pytest
import soundfile as sf

from fser_utils.atomic import unescape_path
from fser_utils.cli import main


def _voice(path, *, sr=16000, seconds=2.0, stereo=None):
    t = np.arange(int(seconds * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * 190 * t * (1 + 0.05 * np.sin(9 * t)))).astype(np.float32)
    if stereo == "antiphase":
        y = np.stack([y, -y], axis=1)
    sf.write(os.fsencode(path), y, sr)  # bytes: soundfile takes any name so
    return path


ODD = ["with space.wav", "quote'and\"double.wav", "comma,name.wav", "new\nline.wav",
       "-leading-dash.wav", "back\\slash.wav"]


@pytest.fixture
def odd_folder(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    for name in ODD:
        _voice(folder / name)
    latin1 = os.path.join(os.fsencode(folder), "caf\xe9.wav".encode("latin-1"))
    _voice(latin1)
    os.mkfifo(folder / "pipe.wav")
    return folder, os.fsdecode(latin1)


def test_odd_names_give_valid_exact_json_and_csv(odd_folder, tmp_path, capsys):
    folder, latin1 = odd_folder
    out_csv = tmp_path / "win.csv"
    status = main(["predict", str(folder), "--json", "--windows-out", str(out_csv)])
    out, err = capsys.readouterr()
    assert status == 1  # the FIFO is an error, the other files are scored
    payload = json.loads(out)
    scored = {unescape_path(p["path"]) for p in payload["predictions"]}
    assert scored == {str(folder / n) for n in ODD} | {latin1}
    (error,) = payload["errors"]
    assert unescape_path(error["path"]) == str(folder / "pipe.wav") and "FIFO" in error["reason"]
    assert err.count("fser: error:") == 1 and "FIFO" in err
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    assert {unescape_path(r["path"]) for r in rows} == scored
    assert all(r["version"].startswith("fser-") for r in rows)


def test_odd_names_print_as_a_table(odd_folder, capsys):
    folder, latin1 = odd_folder
    assert main(["predict", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "caf\\xe9.wav" in out and "new\\x0aline.wav" in out
    assert len(out.strip().splitlines()) == 1 + len(ODD) + 1  # header, one line per file


@pytest.mark.parametrize("length", [300, 4900])
def test_over_long_names_are_one_line(tmp_path, length, capsys):
    good = _voice(tmp_path / "good.wav")
    long = tmp_path / ("x" * (length - 4) + ".wav") if length < 1000 else \
        tmp_path.joinpath(*["d" * 240] * (length // 241)) / "clip.wav"
    assert main(["predict", str(long), str(good)]) == 1
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith("fser: error:")]
    assert len(errors) == 1 and "too long" in errors[0].lower()
    assert "good.wav" in out


def test_stereo_in_antiphase_says_why(tmp_path, capsys):
    clip = _voice(tmp_path / "anti.wav", stereo="antiphase")
    assert main(["predict", str(clip)]) == 1
    err = capsys.readouterr().err
    assert "cancel out when mixed to mono" in err and err.count("fser: error:") == 1
