"""Resume means identical (issue 32, item 3): a run interrupted after any epoch and
resumed ends with the history, weights and predictions of the uninterrupted run, for
every training loop; worker processes end with their parent.

Tolerance: 1e-6 absolute on losses, accuracies, probabilities and weights. On a CPU
TensorFlow gives the same bits for the same inputs in this order (the runs compared
here agree exactly); 1e-6 leaves room for a library that reorders a sum, while the
differences a wrong batch order or dropout mask makes are 1e-3 and more.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from fser_utils.data.corpora import EMOTIONS

ATOL = 1e-6
#: the ci profile cut to three epochs (all ~115 training clips of the demo corpus)
CI = {"model": "fser", "profile": "ci", "seed": 7, "overrides": {"epochs": 3}}


@pytest.fixture(scope="module")
def demo(demo_root):
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.features import load_features

    cat = load_catalogue(demo_root, corpora=("demo",))
    X, kept = load_features(cat, progress=False, cache=False, n_jobs=1)
    return kept, X


def _interrupt_after(k: int):
    """A callback raising KeyboardInterrupt (what Ctrl-C raises, and ``fser`` turns
    SIGTERM into) at the end of epoch ``k``, after that epoch's checkpoint."""
    import keras

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == k:
                raise KeyboardInterrupt

    return Interrupt()


def _train_interrupted(kept, X, out, k: int, **settings):
    from fser_utils.training.train import train_model

    with pytest.raises(KeyboardInterrupt):
        train_model(kept, X, out=out, verbose=0, callbacks=[_interrupt_after(k)], **settings)
    state = json.loads((out / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == k and not (out / "metrics.json").exists()
    train_model(kept, X, out=out, verbose=0, **settings)
    return out


def assert_same_run(a, b) -> None:
    """Two finished run folders hold the same history, weights and predictions."""
    from fser_utils.training.run import Run

    ha, hb = pd.read_csv(a / "history.csv"), pd.read_csv(b / "history.csv")
    assert list(ha.columns) == list(hb.columns)
    assert ha["epoch"].tolist() == hb["epoch"].tolist() == list(range(len(ha)))
    np.testing.assert_allclose(ha.to_numpy(float), hb.to_numpy(float), rtol=0, atol=ATOL)
    wa, wb = (Run.open(p).load_model().get_weights() for p in (a, b))
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_allclose(x, y, rtol=0, atol=ATOL)
    for part in ("val", "test"):
        pa = pd.read_csv(a / f"{part}_predictions.csv")
        pb = pd.read_csv(b / f"{part}_predictions.csv")
        assert pa["predicted"].tolist() == pb["predicted"].tolist()
        cols = [f"p_{e}" for e in EMOTIONS]
        np.testing.assert_allclose(pa[cols].to_numpy(), pb[cols].to_numpy(), rtol=0, atol=ATOL)
    ma, mb = (json.loads((p / "metrics.json").read_text()) for p in (a, b))
    for key in ("val_accuracy", "test_accuracy", "best_epoch", "epochs_run"):
        assert ma[key] == mb[key], key


@pytest.fixture(scope="module")
def ci_uninterrupted(demo, tmp_path_factory):
    from fser_utils.training.train import train_model

    kept, X = demo
    return train_model(kept, X, out=tmp_path_factory.mktemp("runs") / "whole", verbose=0, **CI)


@pytest.mark.parametrize("k", [0, 1])
def test_fit_loop_resumed_after_epoch_k_is_the_uninterrupted_run(demo, ci_uninterrupted,
                                                                  tmp_path, k):
    kept, X = demo
    assert_same_run(ci_uninterrupted, _train_interrupted(kept, X, tmp_path / "cut", k, **CI))


def _logmel_config(model: str):
    """A few epochs of the log-mel recipe on a tiny subset: batch augmentation (time
    shift, frequency warp, SpecAugment, mixup), warm-up then cosine decay, dropout."""
    from fser_utils.training.run_config import RunConfig

    return RunConfig(model=model, seed=3, overrides={
        "epochs": 3, "warmup_epochs": 1, "max_train": 32, "batch_size": 16})


@pytest.fixture(scope="module")
def logmel(demo_root):
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.features import load_features

    config = _logmel_config("logmel-cnn-warp")
    cat = load_catalogue(demo_root, corpora=("demo",))
    X, kept = load_features(cat, config.feature_settings, progress=False, cache=False,
                            n_jobs=1)
    return kept, X


@pytest.fixture(scope="module")
def logmel_whole(logmel, tmp_path_factory):
    """The uninterrupted run of each model, trained once for the module."""
    from fser_utils.training.train import train_model

    kept, X = logmel
    runs = {}

    def get(model):
        if model not in runs:
            runs[model] = train_model(kept, X, config=_logmel_config(model), verbose=0,
                                      out=tmp_path_factory.mktemp("runs") / model)
        return runs[model]

    return get


@pytest.mark.parametrize("model, k", [("logmel-cnn-warp", 0), ("logmel-cnn-warp", 1),
                                      ("logmel-cnn-adv", 1)])
def test_augmented_and_adversarial_runs_resume_identically(logmel, logmel_whole, tmp_path,
                                                           model, k):
    kept, X = logmel
    config = _logmel_config(model)
    p = config.profile
    assert p.augment == "batch" and p.schedule == "cosine" and p.mixup > 0
    assert bool(config.model.speaker_adversary) == (model == "logmel-cnn-adv")
    whole = logmel_whole(model)
    cut = _train_interrupted(kept, X, tmp_path / "cut", k, config=config)
    assert_same_run(whole, cut)
    # the learning rate moved with the schedule, so its position was resumed too
    lr = pd.read_csv(cut / "history.csv")["lr"]
    assert lr.nunique() == len(lr)


def test_epoch_seeds_depend_on_seed_and_epoch_only():
    import keras

    from fser_utils.training.augment import compute_epoch_seeds, list_seed_generators

    def net():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.5),
                                 keras.layers.Dense(3), keras.layers.Dropout(0.5)])

    a, b = net(), net()
    assert len(list_seed_generators(a)) == 2
    seeds = [[v.tolist() for _, v in compute_epoch_seeds(m, 7, 2)] for m in (a, b)]
    assert seeds[0] == seeds[1]  # two models built apart draw the same
    assert seeds[0][0] != seeds[0][1]  # each generator its own stream
    other = [v.tolist() for _, v in compute_epoch_seeds(a, 7, 3)]
    assert other != seeds[0]


# --- a real signal to the command line -------------------------------------------------

#: ``fser`` with the demo corpus as the paper's set (the command line refuses it by name)
FSER = textwrap.dedent("""
    import sys
    import fser_utils.data.corpora
    fser_utils.data.corpora.PAPER_CORPORA = ("demo",)
    from fser_utils.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def _default_signals():
    # a job started in the background (nohup ... &) inherits SIGINT ignored, and Python
    # then never turns Ctrl-C into KeyboardInterrupt: give the child the terminal's default
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _fser(args, env):
    return subprocess.Popen([sys.executable, "-c", FSER, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_signals)


def _env(tmp_path):
    env = dict(os.environ, FSER_CACHE=str(tmp_path / "cache"), KERAS_BACKEND="tensorflow",
               TF_CPP_MIN_LOG_LEVEL="3")
    return env


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_command_stopped_by_a_signal_then_rerun_is_the_uninterrupted_run(
        demo, demo_root, ci_uninterrupted, tmp_path, signum):
    out = tmp_path / "cli"
    args = ["train", "--root", str(demo_root), "--corpora", "paper", "--model", "fser",
            "--profile", "ci", "--epochs", "3", "--seed", "7", "--out", str(out), "--quiet"]
    env = _env(tmp_path)
    proc = _fser(args, env)
    state = out / "checkpoints" / "state.json"
    deadline = time.monotonic() + 120
    while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signum)  # during epoch 1 (or while epoch 0's checkpoint is written)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (130 if signum == signal.SIGINT else 128 + signum), err
    assert not (out / "metrics.json").exists()
    epoch = json.loads(state.read_text())["epoch"]
    assert 0 <= epoch < 2
    rerun = _fser(args, env)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert_same_run(ci_uninterrupted, out)


# --- the scikit-learn family: nothing to resume, nothing half-made -------------------------

def test_interrupted_classical_fit_leaves_no_half_run(demo_root, tmp_path, monkeypatch):
    import fser_utils.models.classical as classical
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.training.run import Run
    from fser_utils.training.run_config import RunConfig
    from fser_utils.training.train import train_model

    config = RunConfig(model="svm-egemaps")
    cat = load_catalogue(demo_root, corpora=("demo",))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(classical, "fit_classical", interrupted)
    out = tmp_path / "svm"
    with pytest.raises(KeyboardInterrupt):
        train_model(cat, config=config, out=out, verbose=0)
    run = Run(out)
    assert not run.is_finished and not run.can_resume and run.model_file is None
    assert not (out / "metrics.json").exists() and not (out / "test_predictions.csv").exists()
    monkeypatch.undo()
    train_model(cat, config=config, out=out, verbose=0)
    assert Run(out).is_finished


# --- the resident loop (JAX) ------------------------------------------------------------

RESIDENT = textwrap.dedent("""
    import json, sys
    import keras
    import numpy as np
    from fser_utils.training.resident import fit_resident
    from fser_utils.training.run import Run

    rng = np.random.default_rng(0)
    y = rng.integers(0, 8, 200)
    X = rng.random((200, 8, 16, 1)).astype("float32")
    for k in range(8):
        X[y == k, :, 2 * k:2 * k + 2] += 0.5
    data = {"X_train": X[:120], "y_train": y[:120], "X_val": X[120:160],
            "y_val": y[120:160], "X_test": X[160:], "y_test": y[160:]}

    def model():
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((8, 16, 1)), keras.layers.Flatten(),
                              keras.layers.Dropout(0.3), keras.layers.Dense(16),
                              keras.layers.Dropout(0.3),
                              keras.layers.Dense(8, activation="softmax")])
        m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy")
        return m

    out = {}
    for name, cut in (("whole", None), ("cut", 1)):
        run = Run(sys.argv[1] + "/" + name)
        run.create()
        m = model()
        fit_resident(m, data, epochs=4 if cut is None else cut + 1, batch_size=16, seed=5,
                     run=run, progress=False)
        if cut is not None:  # resumed from the checkpoint, as _fit_resident does
            m, state = run.load_checkpoint()
            run.truncate_history(state["epoch"] + 1)
            fit_resident(m, data, epochs=4, batch_size=16, seed=5, run=run, state=state,
                         initial_epoch=state["epoch"] + 1, progress=False)
        h = run.load_history()
        out[name] = {"history": h.drop(columns="seconds").to_numpy().tolist(),
                     "weights": [w.ravel().tolist() for w in m.get_weights()],
                     "proba": m.predict(data["X_test"], verbose=0).tolist()}
    json.dump(out, sys.stdout)
""")


def test_resident_loop_resumes_identically(tmp_path):
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", RESIDENT, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    whole, cut = out["whole"], out["cut"]
    assert len(whole["history"]) == len(cut["history"]) == 4
    np.testing.assert_allclose(whole["history"], cut["history"], rtol=0, atol=ATOL)
    for x, y in zip(whole["weights"], cut["weights"]):
        np.testing.assert_allclose(x, y, rtol=0, atol=ATOL)
    np.testing.assert_allclose(whole["proba"], cut["proba"], rtol=0, atol=ATOL)


# --- feature extraction's workers end with their parent --------------------------------

EXTRACT = textwrap.dedent("""
    import sys
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.features import load_features
    cat = load_catalogue(sys.argv[1], corpora=("demo",))
    load_features(cat, progress=False, cache=False, n_jobs=2)
""")


@pytest.fixture(scope="module")
def big_demo_root(tmp_path_factory):
    """A demo corpus that takes two workers tens of seconds to extract."""
    from fser_utils.data.demo import make_demo_corpus

    root = tmp_path_factory.mktemp("big_demo")
    make_demo_corpus(root, n_speakers=8, n_takes=8, duration=3.0)
    return root


@pytest.mark.parametrize("entry", ["fser features", "load_features"])
def test_sigterm_during_extraction_ends_the_workers(big_demo_root, tmp_path, entry):
    psutil = pytest.importorskip("psutil")
    env = _env(tmp_path)
    if entry == "fser features":
        proc = _fser(["features", "--root", str(big_demo_root), "--corpora", "demo",
                      "--jobs", "2", "--no-cache", "--quiet"], env)
        expected = 128 + signal.SIGTERM  # fser turns SIGTERM into a clean exit
    else:
        proc = subprocess.Popen([sys.executable, "-c", EXTRACT, str(big_demo_root)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        expected = -signal.SIGTERM  # the library still ends as SIGTERM ends a process
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    children = []
    while proc.poll() is None and time.monotonic() < deadline:
        children = [c for c in parent.children(recursive=True) if c.is_running()]
        if len(children) >= 2:  # both workers started
            break
        time.sleep(0.1)
    assert len(children) >= 2, f"the workers never started: {proc.poll()} {proc.stderr.read() if proc.poll() is not None else ''}"
    time.sleep(1.0)  # in the middle of extracting
    assert proc.poll() is None, "extraction ended before the signal: make the corpus longer"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == expected, err
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], \
        f"worker processes outlived their parent: {[p.pid for p in alive]}"
