"""The shipped recognizer, ONNX export, calibration and the Recognizer API."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fser_utils.scoring.calibration import (apply_temperature, compute_ece, compute_reliability,
                                    fit_temperature)
from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError


def _tone(seconds=3.0, sr=22050, f0=180.0):
    t = np.arange(int(seconds * sr)) / sr
    vibrato = 1 + 0.05 * np.sin(2 * np.pi * 5 * t)
    return (0.3 * np.sin(2 * np.pi * f0 * vibrato * t)).astype(np.float32), sr


def _randomise_batch_norm(model, seed=0):
    """Trained-looking statistics, so that the check is not of an identity layer."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(0, 0.2, b.shape),
                               rng.normal(0, 0.5, m.shape), rng.uniform(0.5, 2.0, v.shape)])


@pytest.mark.parametrize("which", ["logmel-cnn", "fser"])
def test_export_gives_keras_probabilities(which, tmp_path):
    import keras

    from fser_utils.scoring.export import check_onnx_export, export_onnx
    from fser_utils.models.paper_cnn import build_fser
    from fser_utils.models.networks import build_logmel_cnn

    keras.utils.set_random_seed(3)
    model = build_logmel_cnn() if which == "logmel-cnn" else build_fser()
    _randomise_batch_norm(model)
    shape = tuple(model.inputs[0].shape[1:])
    X = np.random.default_rng(1).uniform(-1, 1, size=(8, *shape)).astype(np.float32)
    path = export_onnx(model, tmp_path / "m.onnx", metadata={"model": which})
    diff = check_onnx_export(model, path, X)
    assert diff < 1e-5
    # the check can fail: a graph of another network's weights is far off
    other = build_logmel_cnn() if which == "logmel-cnn" else build_fser()
    assert check_onnx_export(other, path, X) > 1e-3


def test_export_refuses_a_layer_it_does_not_know(tmp_path):
    import keras

    from fser_utils.scoring.export import export_onnx

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, dilation_rate=2)(inputs)
    outputs = keras.layers.Dense(8, activation="softmax")(keras.layers.Flatten()(x))
    with pytest.raises(FserError, match="cannot export Conv2D"):
        export_onnx(keras.Model(inputs, outputs), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_temperature_is_recovered_and_lowers_the_calibration_error():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(4000, 8))
    true_p = apply_temperature(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), 2.5)
    y = np.array([rng.choice(8, p=p) for p in true_p])
    overconfident = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    t = fit_temperature(overconfident, y)
    assert 2.2 < t < 2.8
    calibrated = apply_temperature(overconfident, t)
    assert (calibrated.argmax(1) == overconfident.argmax(1)).all()  # accuracy unchanged
    assert compute_ece(calibrated, y) < 0.03 < compute_ece(overconfident, y)
    table = compute_reliability(calibrated, y, n_bins=10)
    assert table["n"].sum() == len(y) and len(table) == 10
    # a bin's edges, named apart from the intervals' {metric}_low, {metric}_high
    assert list(table.columns[:2]) == ["bin_low", "bin_high"]


def test_calibration_refuses_bad_input():
    with pytest.raises(FserError):
        apply_temperature(np.full((2, 8), 1 / 8), 0.0)
    with pytest.raises(FserError):
        fit_temperature(np.full((3, 8), 1 / 8), np.zeros(2, dtype=int))


def _shipped():
    from fser_utils.scoring.recognizer import PRETRAINED_DIR
    from fser_utils.training.run import Run

    if not Run(PRETRAINED_DIR).onnx_path.is_file():
        pytest.fail(f"the shipped model is missing: {PRETRAINED_DIR}")


def test_pretrained_scores_a_signal_and_files(tmp_path):
    import soundfile as sf

    from fser_utils.scoring.recognizer import PRETRAINED_VERSION, Recognizer

    _shipped()
    rec = Recognizer.pretrained()
    assert rec.engine == "onnxruntime" and rec.calibrated and rec.version == PRETRAINED_VERSION
    y, sr = _tone()
    table = rec.predict(y, sr=sr)
    assert list(table.columns) == (["file", "window", "label", "confidence"]
                                   + [f"p_{c}" for c in EMOTIONS] + ["model", "version"])
    assert len(table) == 1 and table.loc[0, "window"] == "whole"
    assert table.loc[0, "label"] in EMOTIONS and table.loc[0, "version"] == PRETRAINED_VERSION
    assert abs(table[[f"p_{c}" for c in EMOTIONS]].to_numpy().sum() - 1) < 1e-5
    raw = Recognizer.pretrained(calibrated=False).predict(y, sr=sr)
    assert raw.loc[0, "label"] == table.loc[0, "label"]  # a temperature keeps the argmax
    assert raw.loc[0, "confidence"] != pytest.approx(table.loc[0, "confidence"], abs=1e-6)
    sf.write(tmp_path / "a.wav", y, sr)
    sf.write(tmp_path / "long.wav", np.tile(y, 7), sr)  # 21 s: scored in windows
    files = rec.predict([tmp_path / "a.wav", tmp_path / "long.wav", tmp_path / "nope.wav"])
    assert files.loc[0, "window"] == "whole" and files["file"].iloc[-1].endswith("long.wav")
    assert files["window"].iloc[-1] == "all" and (files["window"] == "all").sum() == 1
    assert len(files.attrs["errors"]) == 1
    with pytest.raises(FserError, match="sample rate"):
        rec.predict(y)
    with pytest.raises(FserError, match="sr is for a signal"):
        rec.predict(tmp_path / "a.wav", sr=sr)


def test_shipped_model_needs_no_training_framework(tmp_path):
    """A fresh process scores with the shipped model and never imports Keras or librosa."""
    import soundfile as sf

    _shipped()
    y, sr = _tone(sr=44100)
    sf.write(tmp_path / "clip.wav", y, sr)
    code = ("import sys\nfrom fser_utils.cli import main\n"
            f"status = main(['predict', {str(tmp_path / 'clip.wav')!r}, '--json'])\n"
            "heavy = [m for m in ('keras', 'tensorflow', 'jax', 'librosa', 'torch') "
            "if m in sys.modules]\nprint('HEAVY', heavy, file=sys.stderr)\nsys.exit(status)")
    env = {k: v for k, v in os.environ.items() if k != "FSER_DATA"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stderr
    payload = json.loads(out.stdout)
    assert payload["model"] == "logmel-cnn-warp" and payload["version"].startswith("fser-")
    assert payload["run"] is None and payload["calibrated"] is True


def test_export_record_guards_the_graph(tmp_path, tiny_run):
    import shutil

    from fser_utils.scoring.recognizer import PRETRAINED_DIR, Recognizer

    _shipped()
    copy = tmp_path / "shipped"
    shutil.copytree(PRETRAINED_DIR, copy)
    assert Recognizer.from_run(copy).engine == "onnxruntime"
    with open(copy / "model.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(FserError, match="does not match the digest"):
        Recognizer.from_run(copy)
    # a run that was never exported is scored by Keras, as before
    assert Recognizer.from_run(tiny_run).engine.startswith("keras")


@pytest.mark.skipif(not os.environ.get("FSER_DATA"), reason="needs the corpora (FSER_DATA)")
def test_shipped_recipe_on_the_real_corpora_loads_through_the_same_path(tmp_path):
    """The shipped model's command with the ci profile, then export, then scoring."""
    from fser_utils.cli import main
    from fser_utils.scoring.recognizer import Recognizer

    run = tmp_path / "run"
    assert main(["train", "--profile", "ci", "--corpora", "all", "--split", "speaker",
                 "--out", str(run), "--quiet"]) == 0
    settings = json.loads((run / "settings.json").read_text())
    assert {"emodb", "emovo", "ravdess", "nemo", "urdu"} <= set(settings["corpora"])
    assert settings["model"]["name"] == "logmel-cnn-warp"
    assert main(["export", str(run)]) == 0
    record = json.loads((run / "export.json").read_text())
    assert record["max_abs_difference"] <= 1e-4 and "validation clips" in record["checked_on"]
    rec = Recognizer.from_run(run)
    assert rec.engine == "onnxruntime" and rec.name == "logmel-cnn-warp"
    y, sr = _tone()
    assert rec.predict(y, sr=sr).loc[0, "version"] == "run:run"
