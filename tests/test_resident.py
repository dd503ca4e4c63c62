"""The resident training loop (JAX) and chapter 8's leak arms (a) and (b)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from fser_utils.studies import leaks, pooled_arm
from fser_utils.errors import FserError

RESIDENT = textwrap.dedent("""
    import json, sys
    import keras
    import numpy as np
    from fser_utils.cli import main
    from fser_utils.training.resident import fit_resident
    from fser_utils.training.run import Run

    # a separable problem: the class is the bright column band
    rng = np.random.default_rng(0)
    y = rng.integers(0, 8, 400)
    X = rng.random((400, 8, 32, 1)).astype("float32") * 0.5
    for k in range(8):
        X[y == k, :, 4 * k:4 * k + 4] += 0.5
    data = {"X_train": X[:300], "y_train": y[:300], "X_val": X[300:350], "y_val": y[300:350],
            "X_test": X[350:], "y_test": y[350:]}
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 32, 1)), keras.layers.Flatten(),
                              keras.layers.Dropout(0.1),
                              keras.layers.Dense(8, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy")
    state = fit_resident(model, data, epochs=6, batch_size=32, seed=0, progress=False)
    proba = model.predict(data["X_test"], verbose=0)
    out = {"history": state["history"].to_dict("list"), "best_epoch": state["best_epoch"],
           "test": float(np.mean(proba.argmax(1) == data["y_test"]))}
    root, runs = sys.argv[1], sys.argv[2]
    # resume: two epochs, then the checkpoint continues to four
    run = Run(runs + "/tiny")
    run.create()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 32, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(8, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy")
    fit_resident(model, data, epochs=2, batch_size=32, seed=0, run=run, progress=False)
    trainer, state = run.load_checkpoint()
    fit_resident(trainer, data, epochs=4, batch_size=32, seed=0, run=run, state=state,
                 initial_epoch=state["epoch"] + 1, progress=False)
    out["resumed_epochs"] = run.load_history()["epoch"].tolist()
    last, _ = run.load_checkpoint()
    out["iterations"] = int(keras.ops.convert_to_numpy(last.optimizer.iterations))
    import fser_utils.data.corpora
    fser_utils.data.corpora.PAPER_CORPORA = ("demo",)
    status = main(["train", "--model", "fser", "--profile", "ci", "--epochs", "1",
                   "--loop", "resident", "--root", root, "--out", runs + "/honest", "--quiet"])
    out["train_status"] = status
    out["select_status"] = main(["leak", "select-on-test", runs + "/honest"])
    out["columns"] = list(Run(runs + "/honest").load_history().columns)
    print("RESULT" + json.dumps(out))
""")


def test_resident_loop_learns_and_logs_test_accuracy(demo_root, tmp_path):
    """On JAX: the loop learns a separable problem, keeps the best validation epoch, and
    ``fser train --loop resident`` + ``fser leak select-on-test`` work end to end."""
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "FSER_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", RESIDENT, str(demo_root), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1].splitlines()[0])
    h = pd.DataFrame(out["history"])
    assert list(h["epoch"]) == list(range(6))
    assert h["loss"].iloc[-1] < h["loss"].iloc[0]
    assert h["val_accuracy"].max() >= 0.9 and out["test"] >= 0.9
    assert out["best_epoch"] == int(h["val_accuracy"].to_numpy().argmax())
    assert (h["seconds"].diff().dropna() > 0).all()
    assert out["resumed_epochs"] == [0, 1, 2, 3]
    assert out["iterations"] == 4 * (300 // 32)  # the optimiser's state came back too
    assert out["train_status"] == 0 and out["select_status"] == 0
    assert "test_accuracy" in out["columns"]
    assert "select on test (leak)" in proc.stdout


def test_resident_loop_needs_jax(demo_root, tmp_path, capsys):
    import keras

    from fser_utils.cli import main

    if keras.backend.backend() == "jax":
        pytest.skip("the refusal is for other backends")
    assert main(["train", "--model", "fser", "--profile", "ci", "--loop", "resident",
                 "--root", str(demo_root), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "KERAS_BACKEND=jax" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_select_on_test_picks_each_column():
    h = pd.DataFrame({"epoch": [0, 1, 2, 3], "val_accuracy": [0.2, 0.6, 0.5, 0.6],
                      "test_accuracy": [0.1, 0.4, 0.7, 0.5]})
    t = leaks.compute_select_on_test(h, 100).set_index("arm")
    honest, leak = t.loc["select on validation (honest)"], t.loc["select on test (leak)"]
    assert (honest["epoch"], honest["accuracy"]) == (2, 40.0)  # ties: the earliest
    assert (leak["epoch"], leak["accuracy"]) == (3, 70.0)
    assert leak["accuracy_low"] < 70 < leak["accuracy_high"]
    assert leak["accuracy_se"] == pytest.approx(100 * np.sqrt(0.7 * 0.3 / 100))
    with pytest.raises(FserError, match="--loop resident"):
        leaks.compute_select_on_test(h.drop(columns="test_accuracy"), 100)


def test_wilson_interval():
    low, high = leaks.compute_wilson_interval(50, 100)
    assert low == pytest.approx(40.38, abs=0.01) and high == pytest.approx(59.62, abs=0.01)
    low, high = leaks.compute_wilson_interval(0, 20)
    assert low == pytest.approx(0.0, abs=1e-9) and 0 < high < 20


def test_pooled_split_is_the_papers_proportions():
    part = pooled_arm.make_pooled_split(1000, seed=1)
    counts = pd.Series(part).value_counts()
    assert counts["test"] == 200 and counts["val"] == 160 and counts["train"] == 640
    assert (pooled_arm.make_pooled_split(1000, seed=1) == part).all()
    with pytest.raises(FserError):
        pooled_arm.make_pooled_split(2)


def test_pooled_arm_cli(demo_root, tmp_path, capsys):
    """``fser leak pooled``: every test picture has copies of its clip in training."""
    from fser_utils.cli import main
    from fser_utils.training.run import Run

    out = tmp_path / "pooled"
    assert main(["leak", "pooled", "--profile", "ci", "--epochs", "1", "--root", str(demo_root),
                 "--corpora", "demo",
                 "--out", str(out), "--n-boot", "20", "--quiet"]) == 0
    assert "augment before split" in capsys.readouterr().out
    m = Run.open(out, finished=True).load_metrics()
    assert m["epochs_run"] == 1 and m["n_test"] > 0
    assert m["accuracy_low"] <= 100 * m["test_accuracy"] <= m["accuracy_high"]
    assert m["same_clip_in_train"] > 90
    assert main(["leak", "pooled", "--epochs", "0", "--root", str(demo_root)]) == 2


def test_arms_table_on_the_stored_full_budget_runs(real_catalogue):
    from fser_utils.config import get_stored_path
    from fser_utils.paper import PAPER_ACCURACY

    stored = get_stored_path("results/paper_recipe")
    arms = leaks.compute_arms_table(stored / "fser-paper-paper-gpu", stored / "leak-pooled-paper-gpu",
                                    real_catalogue, n_boot=50)
    assert arms["arm"].str.startswith("(a)").sum() == 1
    assert arms["arm"].str.startswith("(b)").sum() == 1
    assert arms["arm"].str.startswith("(c)").sum() == 3
    assert ((arms["accuracy_low"] <= arms["accuracy"])
            & (arms["accuracy"] <= arms["accuracy_high"])).all()
    np.testing.assert_allclose(arms["below_paper"], PAPER_ACCURACY - arms["accuracy"])
    assert arms["recipe"].str.contains("400 epochs").all()
