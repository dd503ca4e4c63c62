"""``fser predict`` on doubtful input: each case is refused with one line naming the file,
or scored with a warning; the other files of the call are scored either way."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
import soundfile as sf

from fser_utils.cli import main
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError


P_COLS = [f"p_{c}" for c in EMOTIONS]


def speech_like(sr, *, seconds=2.0, seed=0):
    """A tone with a 3 Hz envelope and a little noise: not silence, not a constant."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    return (y + 0.01 * rng.normal(size=t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def sensitive_run(tmp_path_factory):
    """A tiny run whose model has no pooling: every pixel reaches the output, so any
    change of the image (a DC offset lighting the lowest bands) moves the probabilities."""
    from fixtures import make_tiny_run

    return make_tiny_run(tmp_path_factory.mktemp("runs") / "sensitive", pool=False)


@pytest.fixture(scope="module")
def predictor(sensitive_run):
    from fser_utils.scoring.predict import load_predictor

    return load_predictor(sensitive_run)


@pytest.fixture(scope="module")
def doubtful(tmp_path_factory):
    folder = tmp_path_factory.mktemp("doubtful")
    sr = 16000
    sf.write(folder / "good.wav", speech_like(sr), sr)
    full = folder / "full.wav"
    sf.write(full, speech_like(sr), sr, subtype="PCM_16")
    data = full.read_bytes()
    (folder / "truncated.wav").write_bytes(data[:len(data) // 2])  # header still says 2 s
    sf.write(folder / "clip50ms.wav", speech_like(sr, seconds=0.05), sr)
    sf.write(folder / "dc_only.wav", np.full(sr, 0.3), sr)
    # 10 000 samples (20 KB) at a declared 4 Hz: 41 minutes, 1.6 GB once resampled
    sf.write(folder / "rate4hz.wav", speech_like(4000, seconds=2.5), 4, subtype="PCM_16")
    long = speech_like(sr, seconds=20.0, seed=1)
    sf.write(folder / "long.flac", long, sr, format="FLAC")
    data = (folder / "long.flac").read_bytes()
    (folder / "long_truncated.flac").write_bytes(data[:len(data) // 2])
    (folder / "loop.wav").symlink_to(folder / "loop.wav")
    (folder / "dangling.wav").symlink_to(folder / "gone.wav")
    return folder


def _run_cli(args, capsys):
    status = main(["predict", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, [line for line in err.splitlines() if line.startswith("fser: error:")]


@pytest.mark.parametrize("name, message", [
    ("clip50ms.wav", "too short (0.050 s; scoring needs at least 0.5 s)"),
    ("dc_only.wav", "all silence apart from a constant (DC) offset of 0.3"),
    ("rate4hz.wav", "implausible sample rate of 4 Hz"),
    ("loop.wav", "is a symbolic link loop"),
    ("dangling.wav", "is a broken symbolic link"),
])
def test_refused_with_one_line_others_scored(doubtful, sensitive_run, name, message, capsys):
    t0 = time.perf_counter()
    status, out, errors = _run_cli([doubtful / name, doubtful / "good.wav", "--run",
                                    sensitive_run], capsys)
    assert status == 1
    assert len(errors) == 1 and message in errors[0] and str(doubtful / name) in errors[0]
    assert "good.wav" in out and name not in out
    # the 4 Hz header is refused from the header, not after decoding 41 minutes
    assert time.perf_counter() - t0 < 30


def test_truncated_wav_scored_with_warning(doubtful, sensitive_run, capsys):
    status, out, errors = _run_cli([doubtful / "truncated.wav", doubtful / "good.wav",
                                    "--run", sensitive_run], capsys)
    assert status == 0 and not errors
    header, row = out.splitlines()[:2]
    assert header.split()[-1] == "warning"
    assert row.startswith(str(doubtful / "truncated.wav"))
    assert "truncated: the header declares 2.00 s, the file holds 1.00 s" in row
    status = main(["predict", str(doubtful / "truncated.wav"), "--run", str(sensitive_run),
                   "--json"])
    (pred,) = json.loads(capsys.readouterr().out)["predictions"]
    assert status == 0 and pred["warning"].startswith("truncated:")
    assert pred["emotion"] in EMOTIONS


def test_truncated_flac_long_scored_on_what_decodes(doubtful, predictor):
    from fser_utils.scoring.predict import predict_files

    scores, errors = predict_files([doubtful / "long_truncated.flac", doubtful / "long.flac"],
                                   predictor=predictor)
    assert errors.empty, errors.to_string()
    cut, whole = scores.to_dict("records")
    assert cut["warning"].startswith("decoding stopped at ") and whole["warning"] == ""
    assert cut["scored_as"].startswith("mean of ") and cut["emotion"] in EMOTIONS


def test_dc_offset_does_not_change_the_prediction(tmp_path, predictor):
    """y and y + 0.3 give the same class and the same probabilities, whichever path:
    in memory, a short file (resampled: 16 kHz -> 22 050 Hz), a file in windows."""
    from fser_utils.scoring.predict import predict_files, predict_signal

    sr = 16000
    y = speech_like(sr, seconds=2.0, seed=3)
    a, b = predict_signal(y, sr=sr, predictor=predictor), predict_signal(y + 0.3, sr=sr,
                                                                         predictor=predictor)
    assert a["emotion"] == b["emotion"]
    np.testing.assert_allclose(a[P_COLS].to_numpy(float), b[P_COLS].to_numpy(float), atol=1e-5)
    # float files: no 16-bit rounding that would differ between y and y + 0.3
    sf.write(tmp_path / "y.wav", y, sr, subtype="FLOAT")
    sf.write(tmp_path / "y_dc.wav", y + 0.3, sr, subtype="FLOAT")
    for windows in (None, True):
        scores, errors = predict_files([tmp_path / "y.wav", tmp_path / "y_dc.wav"],
                                       predictor=predictor, windows=windows, window=1.0, hop=0.5)
        assert errors.empty
        assert scores.loc[0, "emotion"] == scores.loc[1, "emotion"]
        np.testing.assert_allclose(scores.loc[0, P_COLS].to_numpy(float),
                                   scores.loc[1, P_COLS].to_numpy(float), atol=1e-4)


def test_predict_signal_refuses_short_and_constant(predictor):
    from fser_utils.scoring.predict import predict_signal

    with pytest.raises(FserError, match="too short"):
        predict_signal(speech_like(22050, seconds=0.05), sr=22050, predictor=predictor)
    with pytest.raises(FserError, match="silent"):
        predict_signal(np.full(22050, 0.3), sr=22050, predictor=predictor)


def test_folder_lists_broken_links_instead_of_dropping_them(doubtful):
    from fser_utils.scoring.predict import list_audio_inputs

    names = {p.name for p in list_audio_inputs([doubtful])}
    assert {"loop.wav", "dangling.wav", "good.wav"} <= names
