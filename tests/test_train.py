"""Training runs: the ci profile learns, runs resume, folders hold what they promise."""
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError


@pytest.fixture(scope="module")
def demo(demo_root):
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.features import load_features

    cat = load_catalogue(demo_root, corpora=("demo",))
    X, kept = load_features(cat, progress=False, cache=False, n_jobs=1)
    return kept, X


@pytest.fixture(scope="module")
def ci_run(demo, tmp_path_factory):
    from fser_utils.training.train import train_model

    kept, X = demo
    return train_model(kept, X, model="fser", profile="ci",
                       out=tmp_path_factory.mktemp("runs") / "ci",
                       verbose=0)


def test_ci_run_beats_chance(ci_run):
    from fser_utils.training.results import load_run

    run = load_run(ci_run)
    chance = 1 / len(EMOTIONS)
    assert run["metrics"]["test_accuracy"] > 2 * chance
    assert run["metrics"]["val_accuracy"] > 2 * chance


def test_run_folder_contents(ci_run, demo):
    from fser_utils.training.profiles import PROFILES
    from fser_utils.training.results import load_run, load_run_model

    kept, X = demo
    for name in ("settings.json", "split.csv", "history.csv", "model.keras", "metrics.json",
                 "test_predictions.csv", "val_predictions.csv",
                 "checkpoints/last.keras", "checkpoints/state.json"):
        assert (ci_run / name).exists(), name
    # training draws nothing: fser train draws the learning curves afterwards
    assert not (ci_run / "learning_curves.png").exists()
    run = load_run(ci_run)
    s = run["settings"]
    assert s["profile"] == "ci" and s["split"] == "paper" and s["seed"] == 42
    assert s["profile_settings"]["epochs"] == PROFILES["ci"].epochs
    assert s["keras_backend"] == "tensorflow" and "hardware" in s and s["features"]
    assert s["n_train"] + s["n_val"] + s["n_test"] == len(kept)
    assert set(run["split"].columns) >= {"relpath", "corpus", "speaker", "sex", "emotion", "part"}
    assert len(run["history"]) == run["metrics"]["epochs_run"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(run["history"].columns)
    pred = run["predictions"]
    assert list(pred.columns) == ["relpath", "corpus", "language", "speaker", "sex", "emotion",
                                  "predicted"] + [f"p_{e}" for e in EMOTIONS]
    np.testing.assert_allclose(pred.filter(like="p_").sum(axis=1), 1, atol=1e-4)
    # the test set is exactly the split's test part
    test = run["split"].loc[run["split"]["part"] == "test", "relpath"]
    assert sorted(test) == sorted(pred["relpath"])
    acc = (pred["predicted"] == pred["emotion"]).mean()
    assert acc == pytest.approx(run["metrics"]["test_accuracy"])
    # the saved model reproduces the stored probabilities
    model = load_run_model(ci_run)
    rows = kept.index[kept["relpath"].isin(pred["relpath"].iloc[:4])]
    order = kept.loc[rows, "relpath"].tolist()
    p = np.asarray(model.predict(X[rows], verbose=0))
    stored = pred.set_index("relpath").loc[order].filter(like="p_").to_numpy()
    np.testing.assert_allclose(p, stored, atol=1e-5)


def test_load_or_train_reuses_a_finished_run(ci_run, demo):
    from fser_utils.training.train import load_or_train

    kept, X = demo
    before = (ci_run / "metrics.json").stat().st_mtime_ns
    assert load_or_train(kept, X, model="fser", profile="ci", out=ci_run) == ci_run
    assert (ci_run / "metrics.json").stat().st_mtime_ns == before


def test_resume_after_interruption(demo, tmp_path):
    import keras

    from fser_utils.training.results import load_run
    from fser_utils.training.train import train_model

    kept, X = demo

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    out = tmp_path / "run"
    ov = {"epochs": 4, "max_train": 64}
    with pytest.raises(KeyboardInterrupt):
        train_model(kept, X, model="fser", profile="ci", out=out, verbose=0, overrides=ov,
                    callbacks=[Interrupt()])
    state = json.loads((out / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 1 and not (out / "metrics.json").exists()
    assert len(pd.read_csv(out / "history.csv")) == 2

    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(epoch)

    train_model(kept, X, model="fser", profile="ci", out=out, verbose=0, overrides=ov,
                callbacks=[Record()])
    assert seen == [2, 3]  # continued, not restarted
    run = load_run(out)
    assert run["history"]["epoch"].tolist() == [0, 1, 2, 3]
    assert run["metrics"]["epochs_run"] == 4


def test_resume_refuses_another_split(demo, tmp_path):
    import keras

    from fser_utils.training.train import train_model

    kept, X = demo

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    ov = {"epochs": 2, "max_train": 32}
    with pytest.raises(KeyboardInterrupt):
        train_model(kept, X, model="fser", profile="ci", out=tmp_path, verbose=0, overrides=ov,
                    callbacks=[Interrupt()])
    with pytest.raises(FserError, match="another split"):
        train_model(kept, X, model="fser", profile="ci", out=tmp_path, verbose=0,
                    overrides=ov, seed=1)


def test_same_seed_same_history(demo, tmp_path):
    from fser_utils.training.train import train_model

    kept, X = demo
    ov = {"epochs": 2, "max_train": 48}
    a, b = (train_model(kept, X, model="fser", profile="ci", out=tmp_path / name, verbose=0,
                        overrides=ov) for name in ("a", "b"))
    ha, hb = pd.read_csv(a / "history.csv"), pd.read_csv(b / "history.csv")
    pd.testing.assert_frame_equal(ha, hb)
    assert (a / "split.csv").read_text() == (b / "split.csv").read_text()


@pytest.mark.parametrize("name", ["paper", "tuned", "quick"])
def test_every_profile_runs(demo, tmp_path, name):
    """One short epoch of each profile (offline 20x augmentation for 'paper')."""
    from fser_utils.training.results import load_run
    from fser_utils.training.train import train_model

    kept, X = demo
    run = load_run(train_model(kept, X, model="fser", profile=name, out=tmp_path, verbose=0,
                               overrides={"epochs": 1, "max_train": 16}))
    copies = 21 if name == "paper" else 1
    assert run["metrics"]["n_train_images"] == 16 * copies
    assert run["settings"]["profile_settings"]["name"] == name


def test_profiles_and_errors(demo):
    from fser_utils.training.profiles import PROFILES, get_training_profile
    from fser_utils.training.run_config import run_name
    from fser_utils.training.train import train_model

    assert set(PROFILES) == {"ci", "quick", "paper", "tuned", "budget", "recognizer",
                             "recognizer-tempo", "budget-light", "fit-once", "converge"}
    # the default model's recipe is the log-mel recipe with one change, and the tempo
    # remedy's is the default's with one more
    assert dataclasses.replace(PROFILES["recognizer"], name="budget",
                               freq_warp=0.0) == PROFILES["budget"]
    assert dataclasses.replace(PROFILES["recognizer-tempo"], name="recognizer",
                               tempo=0.0) == PROFILES["recognizer"]
    # the small networks' is the log-mel recipe without the three regularisers the TCN
    # underfitted under
    cnn, tcn = PROFILES["budget"], PROFILES["budget-light"]
    assert dataclasses.replace(tcn, name="budget", mixup=cnn.mixup, specaugment=True,
                               label_smoothing=cnn.label_smoothing) == cnn
    assert (tcn.mixup, tcn.specaugment, tcn.label_smoothing, tcn.augment) == (0.0, False, 0.0,
                                                                             "batch")
    paper = PROFILES["paper"]
    assert (paper.optimizer, paper.learning_rate, paper.batch_size, paper.epochs,
            paper.augment, paper.n_copies) == ("sgd", 1e-3, 64, 400, "offline", 20)
    assert run_name("quick", "corpus", "emodb") == "fser-quick-corpus-emodb"
    assert run_name("cpu", "paper") == "fser-quick-paper"  # the profile's old name
    with pytest.raises(FserError, match="unknown profile 'gpu'"):
        get_training_profile("gpu")
    with pytest.raises(FserError, match="unknown profile setting"):
        get_training_profile("ci", epochz=3)
    kept, X = demo
    with pytest.raises(FserError, match="unknown split"):
        train_model(kept, X, split="random")
    with pytest.raises(FserError, match="feature arrays"):
        train_model(kept, X[:-1])


def test_cli_errors(capsys):
    from fser_utils.cli import main

    assert main(["train", "--profile", "nope"]) == 2
    assert capsys.readouterr().err.strip() == (
        "fser: error: unknown profile 'nope' (choose from: ci, quick, paper, tuned, budget, "
        "budget-light, fit-once, recognizer, recognizer-tempo, converge)")
    assert main(["train", "--split", "corpus"]) == 2
    assert "needs --test-corpus" in capsys.readouterr().err


def test_cli_train(demo_root, tmp_path, capsys, monkeypatch):
    from fser_utils.data import corpora
    from fser_utils.cli import main

    # the CLI trains on the paper's corpora; point it at the demo corpus instead
    monkeypatch.setattr(corpora, "PAPER_CORPORA", ("demo",))
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    status = main(["train", "--profile", "ci", "--root", str(demo_root), "--out",
                   str(tmp_path / "run"), "--epochs", "1", "--quiet"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"run written to {tmp_path / 'run'}" in out and "test accuracy" in out


def test_load_or_train_retrains_a_stale_run(demo, tmp_path, capsys):
    from fser_utils.training.results import load_run
    from fser_utils.training.train import load_or_train

    kept, X = demo
    ov = {"epochs": 1, "max_train": 16}
    load_or_train(kept, X, model="fser", profile="ci", out=tmp_path, verbose=0, overrides=ov)
    assert len(load_run(tmp_path)["history"]) == 1
    load_or_train(kept, X, model="fser", profile="ci", out=tmp_path, verbose=0,
                  overrides={**ov, "epochs": 2})
    assert "trained with other settings (profile_settings)" in capsys.readouterr().out
    assert load_run(tmp_path)["history"]["epoch"].tolist() == [0, 1]


def _forbid_features(monkeypatch):
    """Make computing features fail the test: input must be checked before that."""
    import importlib

    def boom(*args, **kwargs):
        raise AssertionError("features loaded before the input was checked")

    for name in ("fser_utils.features", "fser_utils.features.cache"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        monkeypatch.setattr(module, "load_features", boom, raising=False)


def test_unknown_test_corpus_is_refused_before_features(demo_root, tmp_path, capsys,
                                                        monkeypatch):
    from fser_utils.data import corpora
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.cli import main
    from fser_utils.training.train import train_model

    cat = load_catalogue(demo_root, corpora=("demo",))
    _forbid_features(monkeypatch)
    out = tmp_path / "run"
    for corpus, message in (("nope", "unknown test corpus 'nope'"),
                            ("emodb", "test corpus 'emodb' is not among the corpora found")):
        with pytest.raises(FserError, match=message):
            train_model(cat, model="fser", profile="ci", split="corpus", test_corpus=corpus,
                        out=out, verbose=0)
        assert not out.exists()
    monkeypatch.setattr(corpora, "PAPER_CORPORA", ("demo",))
    assert main(["train", "--split", "corpus", "--test-corpus", "nope", "--root",
                 str(demo_root), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown test corpus 'nope'" in err and err.count("\n") == 1
    assert not out.exists()


def test_out_blocked_by_a_file_is_one_line(demo_root, tmp_path, capsys, monkeypatch):
    from fser_utils.data import corpora
    from fser_utils.cli import main

    monkeypatch.setattr(corpora, "PAPER_CORPORA", ("demo",))
    _forbid_features(monkeypatch)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out, message in ((blocker, "exists and is not a folder"),
                         (blocker / "run", f"cannot be created: '{blocker}' is a file")):
        assert main(["train", "--profile", "ci", "--root", str(demo_root), "--out", str(out),
                     "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("fser: error:") and message in err and err.count("\n") == 1
    assert blocker.read_text() == "x"


def test_run_object_reads_what_training_wrote(ci_run):
    from fser_utils.training.run import Run
    from fser_utils.training.run_config import RunConfig

    run = Run.open(ci_run, finished=True)
    assert run.config_key == RunConfig(model="fser", profile="ci").key
    assert run.model_name == "fser" and run.model_file.name == "model.keras"
    assert len(run.load_predictions("test")) == run.count_clips("test") > 0
    assert len(run.load_predictions("val")) == run.count_clips("val") > 0
    layers = [layer["class_name"] for layer in run.load_model_config()["config"]["layers"]]
    assert "Conv2D" in layers


def test_cli_train_log_test_feeds_select_on_test(demo_root, tmp_path, capsys, monkeypatch):
    """``--log-test`` adds the test accuracy to each epoch of a ``fit`` run, and chapter 8's
    arm (b) reads it; without it, arm (b) says how to get it."""
    from fser_utils.data import corpora
    from fser_utils.cli import main
    from fser_utils.training.run import Run

    monkeypatch.setattr(corpora, "PAPER_CORPORA", ("demo",))
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    args = ["train", "--profile", "ci", "--root", str(demo_root), "--epochs", "2", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "logged"), "--log-test"]) == 0
    h = Run(tmp_path / "logged").load_history()
    assert h["epoch"].tolist() == [0, 1]
    assert h["test_accuracy"].between(0, 1).all()
    m = Run(tmp_path / "logged").load_metrics()
    best = h.loc[h["val_accuracy"].idxmax(), "test_accuracy"]
    assert best == pytest.approx(m["test_accuracy"], abs=1e-6)  # same model, same clips
    capsys.readouterr()
    assert main(["leak", "select-on-test", str(tmp_path / "logged")]) == 0
    assert "select on test (leak)" in capsys.readouterr().out
    assert main(args + ["--out", str(tmp_path / "plain")]) == 0
    assert "test_accuracy" not in Run(tmp_path / "plain").load_history().columns
    capsys.readouterr()
    assert main(["leak", "select-on-test", str(tmp_path / "plain")]) == 2
    assert "--log-test" in capsys.readouterr().err


def test_resumed_run_keeps_its_history_columns(tmp_path):
    from fser_utils.errors import FserError
    from fser_utils.training.run import Run
    from fser_utils.training.fit import _logs_test

    run = Run(tmp_path / "r")
    run.create()
    assert run.list_history_columns() == []
    assert _logs_test(run, resuming=True, log_test=True)  # cut before its first epoch
    run.save_history(pd.DataFrame({"epoch": [0], "val_accuracy": [0.5]}))
    assert _logs_test(run, resuming=False, log_test=True)
    assert not _logs_test(run, resuming=True, log_test=False)
    with pytest.raises(FserError, match="started without --log-test"):
        _logs_test(run, resuming=True, log_test=True)
    run.save_history(pd.DataFrame({"epoch": [0], "val_accuracy": [0.5],
                                   "test_accuracy": [0.4]}))
    assert _logs_test(run, resuming=True, log_test=False)


def test_describe_train_command_round_trips_the_options():
    from fser_utils.training.profiles import PROFILES
    from fser_utils.training.run_config import describe_train_command

    from fser_utils.features.kinds import get_feature_settings

    s = {"model": {"name": "logmel-cnn"}, "profile": "budget", "split": "corpus",
         "test_corpus": "emodb", "seed": 1,
         "features": get_feature_settings("logmel").asdict(),
         "profile_settings": PROFILES["budget"].asdict()}
    assert describe_train_command(s) == (
        "fser train --model logmel-cnn --split corpus --test-corpus emodb --seed 1")
    s["features"] = get_feature_settings("mfcc").asdict()
    assert "--features mfcc --split" in describe_train_command(s)
    s["features"] = {**s["features"], "n_mfcc": 3}
    with pytest.raises(FserError, match="no registered feature kind"):
        describe_train_command(s)
    s["features"] = get_feature_settings("logmel").asdict()
    s.update(model={"name": "fser"}, profile="paper", split="paper", test_corpus=None,
             features=get_feature_settings("mel-image").asdict(),
             profile_settings={**PROFILES["paper"].asdict(), "epochs": 5, "n_copies": 2})
    assert describe_train_command(s) == ("fser train --model fser --profile paper --split "
                                         "paper --epochs 5 --seed 1  # profile changed: "
                                         "n_copies=2")


def test_runs_record_the_commit_of_their_code(tmp_path):
    import shutil
    import subprocess

    from fser_utils.config import describe_commit as _describe_commit

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (tmp_path / "fser_utils").mkdir()
    (tmp_path / "fser_utils" / "a.py").write_text("x = 1\n")

    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t",
                               "-c", "user.email=t@t", *args], capture_output=True,
                              text=True, check=True).stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "one")
    head = git("rev-parse", "--short=12", "HEAD")
    assert _describe_commit(tmp_path) == head
    (tmp_path / "fser_utils" / "a.py").write_text("x = 2\n")
    assert _describe_commit(tmp_path) == head + "+changes"
    assert _describe_commit(None) is None
    assert _describe_commit(tmp_path / "not-a-repo") is None


def test_hardware_names_the_cpu_generation(tmp_path, monkeypatch):
    from fser_utils.training import devices

    # two processors, as Linux lists them: only the first is read
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\n"
                    "model\t\t: 2\nmodel name\t: AMD EPYC\n\nprocessor\t: 1\n"
                    "cpu family\t: 25\nmodel\t\t: 17\nmodel name\t: other\n")
    monkeypatch.setattr(devices, "_CPUINFO", str(info))
    assert devices.describe_hardware().startswith("AMD EPYC (family 26, model 2), ")
    # an ARM machine names no family: the name alone
    info.write_text("processor\t: 0\nmodel name\t: Neoverse-V2\n")
    assert devices.describe_hardware().startswith("Neoverse-V2, ")
