"""Nothing a run folder holds runs code when it is loaded (issue 32, item 1).

Each planted model would create a marker file if it were executed: the tests assert that
the marker never appears and that the refusal is one line, whether the run is named
(``--model RUN``) or merely sits in the runs folder (``fser predict`` without a run).
"""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from fser_utils.errors import FserError
from fser_utils.scoring.predict import load_predictor
from fser_utils.training.run import Run


@pytest.fixture(autouse=True)
def _own_key(tmp_path, monkeypatch):
    """A fresh installation key per test, and a runs folder of its own."""
    monkeypatch.setenv("FSER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FSER_RUNS", str(tmp_path / "runs"))


class _Payload:
    """Pickles to a call of ``open(marker, 'w')``: loading it would create the marker."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _settings(folder, name="svm-egemaps"):
    from fser_utils.features.kinds import get_feature_settings

    fs = get_feature_settings("egemaps")
    (folder / "settings.json").write_text(json.dumps({"model": {"name": name},
                                                      "features": fs.asdict()}))


def _plant_pickle(folder, marker):
    folder.mkdir(parents=True)
    _settings(folder)
    (folder / "model.joblib").write_bytes(pickle.dumps(_Payload(marker)))
    (folder / "metrics.json").write_text("{}")
    return folder


def test_planted_pickle_named_explicitly_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "pwned"
    run = _plant_pickle(tmp_path / "stranger", marker)
    with pytest.raises(FserError, match="is a pickle, which can run code") as info:
        Run(run).load_model()
    assert "\n" not in str(info.value) and "retrain" in str(info.value)
    with pytest.raises(FserError, match="is a pickle"):
        load_predictor(run)  # what `fser predict --model RUN` calls
    assert not marker.exists()


def test_planted_pickle_in_the_runs_folder_is_skipped(tmp_path, capsys):
    marker = tmp_path / "pwned"
    _plant_pickle(tmp_path / "runs" / "svm-egemaps-fit-once-paper", marker)
    with pytest.raises(FserError, match="no trained model"):
        load_predictor()  # what `fser predict` without a run calls
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fser: note: skipped 1 run folder(s)")
    assert "pickled model.joblib" in err[0]
    assert not marker.exists()


def _lambda_model(marker):
    import keras

    keras.utils.set_random_seed(0)
    touch = f"lambda x: __import__('pathlib').Path({str(marker)!r}).touch() or x"
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Lambda(eval(touch)),
                              keras.layers.Dense(8, activation="softmax")])
    return model


def test_planted_lambda_layer_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "pwned"
    folder = tmp_path / "runs" / "lambda-run"
    folder.mkdir(parents=True)
    _settings(folder, "fser")
    model = _lambda_model(marker)
    model.save(folder / "model.keras")
    marker.unlink(missing_ok=True)  # building the model ran the lambda here, on purpose
    with pytest.raises(FserError, match="holds Python code .* never run") as info:
        Run(folder).load_model()
    assert "\n" not in str(info.value)
    assert not marker.exists()
    # found in the runs folder: not even opened, since this installation did not sign it
    with pytest.raises(FserError, match="no trained model"):
        load_predictor()
    err = capsys.readouterr().err
    assert "not written by this installation" in err and "lambda-run" in err
    # signed by mistake (the user vouched for it): still refused by safe mode
    Run(folder).sign_model()
    with pytest.raises(FserError, match="holds Python code"):
        load_predictor()
    assert not marker.exists()


def _fit_svm():
    from fser_utils.models.classical import build_svm

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)), np.arange(40) % 4
    return build_svm(C=1.0, probability=False).fit(X, y), X


def test_sklearn_models_round_trip_through_skops_with_a_digest(tmp_path):
    model, X = _fit_svm()
    run = Run(tmp_path / "run")
    run.create()
    run.save_model(model)
    assert run.model_file is None  # staged: the model comes last, after the metrics
    run.save_metrics({"test_accuracy": 0.5})
    assert run.model_file.name == "model.skops"
    assert run.check_written_here() is None
    loaded = run.load_model(check=False)
    assert (loaded.predict(X) == model.predict(X)).all()
    # one byte changed: refused by the digest before skops reads it
    data = bytearray(run.model_file.read_bytes())
    data[-5] ^= 1
    run.model_file.write_bytes(bytes(data))
    with pytest.raises(FserError, match="does not match the sha256 recorded"):
        run.load_model(check=False)
    assert "differs from the digest" in run.check_written_here()


def test_skops_file_with_a_foreign_type_is_refused_unloaded(tmp_path):
    import os

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    run = Run(tmp_path / "run")
    run.create()
    sio.dump(FunctionTransformer(os.system), run.path / "model.skops")
    with pytest.raises(FserError, match="holds types this package does not load"):
        run.load_model(check=False)


def test_runs_record_which_installation_wrote_them(tmp_path, monkeypatch):
    model, _ = _fit_svm()
    run = Run(tmp_path / "run")
    run.create()
    run.save_model(model)
    run.save_metrics({})
    record = json.loads((run.path / "model.json").read_text())
    assert record["file"] == "model.skops" and len(record["sha256"]) == 64
    assert run.check_written_here() is None
    # another installation (another key) does not accept it
    monkeypatch.setenv("FSER_CONFIG_DIR", str(tmp_path / "elsewhere"))
    assert run.check_written_here() == "its model is not signed by this installation"


def test_a_trained_classical_run_is_signed_and_picked(demo_root, tmp_path, capsys,
                                                      monkeypatch):
    """The real path: ``fser train`` writes model.skops last, signed; ``fser predict``
    without a run picks it and scores with it."""
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.training.train import train_model

    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "runs" / "svm"
    train_model(load_catalogue(demo_root, corpora=("demo",)), model="svm-egemaps", out=out,
                verbose=0)
    run = Run(out)
    assert run.model_file.name == "model.skops" and run.check_written_here() is None
    assert not list(out.glob(".staged-*")) and not list(out.glob(".tmp-*"))
    assert run.load_settings()["installation"] == json.loads(
        (out / "model.json").read_text())["installation"]
    predictor = load_predictor()
    assert predictor.run_dir == out and hasattr(predictor.model, "predict_proba")
