"""``fser predict`` on generated files of every format, rate and channel count, and on bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from fser_utils.cli import main
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError

FORMATS = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "mp3": "MP3"}


def _tone(sr, *, seconds=1.0, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    y = y + 0.01 * rng.normal(size=t.size)
    return np.stack([y, 0.8 * y], axis=1) if channels == 2 else y


@pytest.fixture(scope="module")
def predictor(tiny_run):
    from fser_utils.scoring.predict import load_predictor

    return load_predictor(tiny_run)


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    for ext, fmt in FORMATS.items():
        for sr in (8000, 16000, 44100, 48000):
            for channels in (1, 2):
                sf.write(folder / f"clip_{sr}_{channels}ch.{ext}", _tone(sr, channels=channels),
                         sr, format=fmt)
    return folder


def test_predict_every_format_rate_and_channels(audio_dir, predictor):
    from fser_utils.scoring.predict import predict_files

    scores, errors = predict_files([audio_dir], predictor=predictor)
    assert errors.empty, errors.to_string()
    assert len(scores) == len(FORMATS) * 4 * 2
    proba = scores[[f"p_{c}" for c in EMOTIONS]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert set(scores["emotion"]) <= set(EMOTIONS)
    assert (scores["confidence"] == proba.max(axis=1)).all()
    # the same sound at another rate or format is the same image, give or take coding loss
    wav = scores[scores["path"].str.endswith("clip_16000_1ch.wav")]
    flac = scores[scores["path"].str.endswith("clip_16000_1ch.flac")]
    np.testing.assert_allclose(wav[f"p_{EMOTIONS[0]}"].to_numpy(),
                               flac[f"p_{EMOTIONS[0]}"].to_numpy(), atol=1e-3)


def test_predict_signal_matches_file(audio_dir, predictor):
    from fser_utils.scoring.predict import predict_files, predict_signal

    path = audio_dir / "clip_44100_2ch.wav"
    y, sr = sf.read(path)
    row = predict_signal(y, sr=sr, predictor=predictor)
    scores, _ = predict_files([path], predictor=predictor)
    assert row["emotion"] == scores.loc[0, "emotion"]
    assert row["confidence"] == pytest.approx(scores.loc[0, "confidence"], abs=1e-5)
    with pytest.raises(FserError, match="silent"):
        predict_signal(np.zeros(22050), sr=22050, predictor=predictor)
    with pytest.raises(FserError, match="too short"):
        predict_signal(np.ones(10), sr=22050, predictor=predictor)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "text.wav").write_text("this is not audio\n")
    sf.write(folder / "empty.wav", np.zeros(0), 16000)
    sf.write(folder / "short.wav", _tone(16000, seconds=0.01), 16000)
    sf.write(folder / "silent.flac", np.zeros(16000), 16000)
    (folder / "nothing_here").mkdir()
    return {"missing": folder / "missing.wav", "text": folder / "text.wav",
            "empty": folder / "empty.wav", "short": folder / "short.wav",
            "silent": folder / "silent.flac", "folder": folder / "nothing_here"}


@pytest.mark.parametrize("kind, message", [
    ("missing", "no such file"), ("text", "cannot decode"), ("empty", "empty"),
    ("short", "shorter than one analysis window"), ("silent", "silence"),
    ("folder", "no audio file in folder")])
def test_cli_bad_input_one_line_and_others_scored(tiny_run, audio_dir, bad_files, kind, message,
                                                   capsys):
    good = audio_dir / "clip_48000_2ch.ogg"
    status = main(["predict", str(bad_files[kind]), str(good), "--run", str(tiny_run)])
    out, err = capsys.readouterr()
    assert status == 1
    lines = [line for line in err.splitlines() if line.startswith("fser: error:")]
    assert len(lines) == 1 and message in lines[0]
    assert str(bad_files[kind]) in lines[0]
    assert "clip_48000_2ch.ogg" in out  # the good file is still scored


def test_cli_json(tiny_run, audio_dir, bad_files, capsys):
    status = main(["predict", str(audio_dir / "clip_8000_1ch.mp3"), str(bad_files["silent"]),
                   "--run", str(tiny_run), "--json"])
    out, err = capsys.readouterr()
    assert status == 1
    payload = json.loads(out)
    assert payload["run"] == str(tiny_run) and payload["model"] == "fser"
    (pred,) = payload["predictions"]
    assert set(pred["probabilities"]) == set(EMOTIONS)
    assert pred["emotion"] in EMOTIONS
    assert sum(pred["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert len(payload["errors"]) == 1 and "silence" in payload["errors"][0]["reason"]
    assert f"model: fser, version: run:{tiny_run.name}, engine: keras" in err


def test_cli_table_all_good(tiny_run, audio_dir, capsys):
    assert main(["predict", str(audio_dir / "clip_16000_1ch.flac"), "--run", str(tiny_run)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["path", "emotion", "confidence"]
    assert out[0].split()[3:] == list(EMOTIONS)
    assert len(out) == 2


def test_model_resolution(tmp_path, tiny_run, monkeypatch, capsys):
    from fser_utils.scoring.predict import find_model_run

    monkeypatch.setenv("FSER_RUNS", str(tmp_path / "runs"))
    with pytest.raises(FserError, match="no trained model"):
        find_model_run()
    # without --run or --model: the shipped model, whatever the runs folder holds
    assert main(["predict", "x.wav"]) == 1
    assert "model: logmel-cnn-warp, version: fser-" in capsys.readouterr().err
    assert main(["predict", "x.wav", "--model", "logmel-cnn-warp"]) == 2
    assert "no trained model" in capsys.readouterr().err
    assert main(["predict", "x.wav", "--model", str(tiny_run)]) == 2
    assert f"give --run {tiny_run}" in capsys.readouterr().err
    assert find_model_run(tiny_run.parent) == tiny_run
    assert main(["predict", "x.wav", "--run", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "nomodel").mkdir()
    assert main(["predict", "x.wav", "--run", str(tmp_path / "nomodel")]) == 2
    assert "has no model.keras" in capsys.readouterr().err


def test_describe_architecture(tiny_run, tmp_path):
    from fser_utils.studies.robustness import describe_architecture

    layers = describe_architecture(tiny_run)
    assert layers[0].startswith("InputLayer")
    assert any(x.startswith("Conv2D filters=2 kernel_size=[3, 3] strides=[4, 4]") for x in layers)
    assert layers[-1].startswith("Dense units=8")
    with pytest.raises(FserError, match="cannot read the model"):
        describe_architecture(tmp_path)


# --- a run is validated when it is loaded, before any audio is read (issue 13, 4 and 8) ---
def _copy_run(tiny_run, dest):
    import shutil

    return shutil.copytree(tiny_run, dest)


def _predict_error(run, audio, capsys) -> str:
    """``fser predict``'s message for a bad run, after checking it is one line."""
    assert main(["predict", str(audio), "--run", str(run)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    return captured.err


def test_predict_refuses_settings_that_do_not_fit_the_model(tiny_run, audio_dir, tmp_path,
                                                           capsys, monkeypatch):
    import importlib

    from fser_utils.scoring.predict import load_predictor

    def boom(*args, **kwargs):
        raise AssertionError("audio read before the run was validated")

    for name in ("fser_utils.features", "fser_utils.features.audio"):
        monkeypatch.setattr(importlib.import_module(name), "load_audio", boom, raising=False)
    run = _copy_run(tiny_run, tmp_path / "grey")
    settings = json.loads((run / "settings.json").read_text())
    settings["features"]["channels"] = 1
    (run / "settings.json").write_text(json.dumps(settings))
    with pytest.raises(FserError, match=r"does not fit .*\(64, 64, 1\).*\(64, 64, 3\)"):
        load_predictor(run)
    assert "does not fit" in _predict_error(run, audio_dir / "clip_16000_1ch.wav", capsys)
    (run / "settings.json").write_text('{"features": {"sr": 22050,')
    err = _predict_error(run, audio_dir / "clip_16000_1ch.wav", capsys)
    assert "settings.json' is not valid JSON" in err


def test_predict_says_a_truncated_model_is_truncated(tiny_run, audio_dir, tmp_path, capsys):
    run = _copy_run(tiny_run, tmp_path / "cut")
    model = run / "model.keras"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    err = _predict_error(run, audio_dir / "clip_16000_1ch.wav", capsys)
    assert "truncated" in err and "not found" not in err.lower() and str(model) in err


def test_cli_scores_with_jax_when_no_backend_is_chosen(tiny_run, audio_dir, predictor):
    """fser predict picks the lighter JAX backend by itself; the numbers stay the same."""
    import os
    import subprocess
    import sys

    pytest.importorskip("jax")
    clip = audio_dir / "clip_16000_1ch.wav"
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    proc = subprocess.run([sys.executable, "-m", "fser_utils.cli", "predict", str(clip),
                           "--run", str(tiny_run), "--json"],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "engine: keras (jax)" in proc.stderr
    probs = json.loads(proc.stdout)["predictions"][0]["probabilities"]
    from fser_utils.scoring.predict import predict_files

    ours = predict_files([clip], predictor=predictor)[0].iloc[0]
    for c in EMOTIONS:
        assert probs[c] == pytest.approx(ours[f"p_{c}"], abs=1e-4)


def test_shift_averaging_averages_the_rolled_clips(tmp_path):
    from fser_utils.features.kinds import LogMelSettings, get_feature_settings
    from fser_utils.scoring.predict import Predictor, compute_shift_averaged_proba

    class ByPeakTime:  # class k when the loudest frame lies in the k-th eighth of the clip
        def predict(self, X, verbose=0):
            k = X[:, 0, :, 0].argmax(axis=1) * 8 // X.shape[2]
            return np.eye(8)[k]

    predictor = Predictor(run_dir=tmp_path, model=ByPeakTime(), settings=LogMelSettings())
    predictor.__dict__.update(model_name="by-peak-time", spec=None)  # no run folder
    X = np.zeros((2, 64, 200, 1), dtype=np.float32)
    X[0, 0, 100], X[1, 0, 10] = 1, 1
    np.testing.assert_array_equal(compute_shift_averaged_proba(X, predictor=predictor),
                                  np.eye(8)[[4, 0]])
    proba = compute_shift_averaged_proba(X, predictor=predictor, shifts=(-25, 0, 25))
    np.testing.assert_allclose(proba[0], np.eye(8)[[3, 4, 5]].mean(axis=0))
    np.testing.assert_allclose(proba[1], np.eye(8)[[7, 0, 1]].mean(axis=0))  # circular
    with pytest.raises(FserError, match="at least one shift"):
        compute_shift_averaged_proba(X, predictor=predictor, shifts=())
    predictor.settings = get_feature_settings("egemaps")
    with pytest.raises(FserError, match="no time axis"):
        compute_shift_averaged_proba(np.zeros((2, 88)), predictor=predictor)
