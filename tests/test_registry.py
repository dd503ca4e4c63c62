"""Models and feature kinds plug in as one registry entry; every registered model trains."""
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from fser_utils.errors import FserError


def build_tiny(*, input_shape, n_classes, units: int = 8):
    """The smallest Keras classifier: flatten, one hidden layer, softmax."""
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(units, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))


@dataclass(frozen=True)
class RmsSettings:
    """A toy feature kind: frame RMS energy over 1 s, 32 frames."""

    sr: int = 8000
    n_fft: int = 256
    kind = "rms"
    shape = (32, 1)
    dtype = np.float32

    def asdict(self):
        return {"kind": self.kind, "sr": self.sr, "n_fft": self.n_fft}

    def key(self):
        return "rms-test"

    def compute(self, y):
        frames = np.resize(y, 32 * 250).reshape(32, 250)
        return np.sqrt((frames ** 2).mean(axis=1, keepdims=True)).astype(np.float32)

    def finish(self, arrays):
        return np.asarray(arrays, dtype=np.float32) * 10


@pytest.fixture(scope="module")
def demo_cat(demo_root):
    from fser_utils.data.catalogue import load_catalogue

    return load_catalogue(demo_root, corpora=("demo",))


@pytest.fixture
def tiny(monkeypatch):
    from fser_utils.features import kinds as feature_kinds
    from fser_utils.models import registry

    monkeypatch.setitem(feature_kinds.FEATURE_KINDS, "rms", RmsSettings)
    spec = registry.ModelSpec("tiny", build_tiny, features="mel-image", profile="ci",
                              params={"units": 4})
    monkeypatch.setitem(registry.MODELS, "tiny", spec)
    return spec


def test_new_model_and_feature_kind_train_through_the_api(demo_cat, tiny, tmp_path,
                                                           monkeypatch):
    from fser_utils.features.kinds import get_feature_settings
    from fser_utils.training.results import load_run
    from fser_utils.training.train import train_model

    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    run = load_run(train_model(demo_cat, model="tiny", out=tmp_path / "a", verbose=0,
                               overrides={"epochs": 2}))
    assert run["settings"]["model"] == {"name": "tiny", "family": "keras",
                                        "features": "mel-image", "units": 4,
                                        "speaker_norm": False, "clip_norm": False,
                                        "corpus_norm": False,
                                        "speaker_adversary": 0.0}
    assert run["settings"]["profile"] == "ci" and run["metrics"]["epochs_run"] == 2
    run = load_run(train_model(demo_cat, model="tiny", out=tmp_path / "b", verbose=0,
                               feature_settings=get_feature_settings("rms"),
                               model_params={"units": 6}, overrides={"epochs": 1}))
    assert run["settings"]["features"]["kind"] == "rms"
    assert run["settings"]["model"]["units"] == 6
    assert run["metrics"]["n_params"] == 32 * 6 + 6 + 6 * 8 + 8


def test_new_model_and_feature_kind_train_through_the_cli(demo_root, tiny, tmp_path,
                                                           monkeypatch, capsys):
    from fser_utils.data import corpora
    from fser_utils.cli import main
    from fser_utils.training.results import load_run

    monkeypatch.setattr(corpora, "PAPER_CORPORA", ("demo",))
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    status = main(["train", "--model", "tiny", "--features", "rms", "--root", str(demo_root),
                   "--out", str(tmp_path / "run"), "--epochs", "1", "--quiet"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "(model tiny)" in out
    assert load_run(tmp_path / "run")["settings"]["features"]["kind"] == "rms"


def test_unknown_names_are_one_line_errors(capsys):
    from fser_utils.cli import main

    assert main(["train", "--model", "nope"]) == 2
    assert capsys.readouterr().err.startswith("fser: error: unknown model 'nope' (choose from:")
    assert main(["train", "--features", "nope"]) == 2
    assert "unknown feature kind 'nope'" in capsys.readouterr().err
    for seed in ("-5", "4294967296"):
        assert main(["train", "--seed", seed]) == 2
        assert "the seed must be an integer in [0, 2**32)" in capsys.readouterr().err


@pytest.fixture(scope="module")
def every_model_runs(demo_cat, tmp_path_factory):
    """One tiny run of every registered model on the demo corpus (what CI can afford)."""
    import os

    from fser_utils.models.registry import MODELS
    from fser_utils.training.train import train_model

    base = tmp_path_factory.mktemp("every")
    old = os.environ.get("FSER_CACHE")
    os.environ["FSER_CACHE"] = str(base / "cache")
    try:
        runs = {}
        for name, spec in MODELS.items():
            ov = None if spec.family == "sklearn" else {"epochs": 1, "max_train": 48}
            runs[name] = train_model(demo_cat, model=name, out=base / name, verbose=0,
                                     overrides=ov)
    finally:
        if old is None:
            os.environ.pop("FSER_CACHE")
        else:
            os.environ["FSER_CACHE"] = old
    return runs


def test_every_registered_model_trains_and_predicts(every_model_runs, demo_cat):
    from fser_utils.scoring.predict import load_predictor, predict_files
    from fser_utils.models.registry import MODELS
    from fser_utils.training.results import load_run

    assert set(every_model_runs) == set(MODELS)
    for name, run_dir in every_model_runs.items():
        run = load_run(run_dir)
        assert run["settings"]["model"]["name"] == name
        assert run["metrics"]["n_params"] > 0 and run["metrics"]["scoring_ms_per_clip"] > 0
        pred = run["predictions"]
        np.testing.assert_allclose(pred.filter(like="p_").sum(axis=1), 1, atol=1e-4)
        predictor = load_predictor(run_dir)
        assert predictor.model_name == name
        # a per-speaker model scores a batch of one speaker's clips, a per-corpus one a
        # batch of one setting's (here one speaker's too)
        one_speaker = demo_cat.loc[demo_cat["speaker"] == demo_cat["speaker"].iloc[0], "path"]
        n = 6 if MODELS[name].speaker_norm else 20 if MODELS[name].corpus_norm else 3
        scores, errors = predict_files(one_speaker[:n], predictor=predictor)
        assert len(scores) == n and errors.empty
        assert predictor.clip_norm == MODELS[name].clip_norm
        if MODELS[name].clip_norm:  # scored alone, a file gets what its batch gave it
            alone, _ = predict_files(one_speaker[:1], predictor=predictor)
            np.testing.assert_allclose(alone.filter(like="p_").to_numpy()[0],
                                       scores.filter(like="p_").to_numpy()[0], atol=1e-5)


def test_svm_chooses_c_on_validation(every_model_runs):
    from fser_utils.models.classical import C_GRID
    from fser_utils.training.results import load_run

    run = load_run(every_model_runs["svm-egemaps"])
    history = run["history"]
    assert history["C"].tolist() == list(C_GRID)
    assert run["metrics"]["best_epoch"] == int(history["val_accuracy"].idxmax()) + 1


def test_comparison_table_and_figure(every_model_runs):
    from fser_utils.studies.compare import compute_comparison_runs, compute_comparison_table
    from fser_utils.plotting import plot_comparison

    runs = compute_comparison_runs(every_model_runs.values(), n_boot=100)
    assert len(runs) == len(every_model_runs)
    # what each run was trained with travels with it, so longer runs stay apart
    assert (runs["epochs"] >= 1).all() and runs["hardware"].str.contains("CPU").all()
    twice = pd.concat([runs, runs.assign(seed=7, accuracy=runs["accuracy"] + 10)])
    table = compute_comparison_table(twice)
    assert (table["seeds"] == 2).all()
    row = table.iloc[0]
    assert row["accuracy"] == pytest.approx(runs["accuracy"].iloc[0] + 5)
    assert row["accuracy_low"] < row["accuracy"] < row["accuracy_high"]
    # the spread between seeds widens the interval beyond the test-set part alone
    single = compute_comparison_table(runs).iloc[0]
    assert (row["accuracy_high"] - row["accuracy_low"]) > \
        (single["accuracy_high"] - single["accuracy_low"]) / np.sqrt(2)
    ax = plot_comparison(table)
    assert len(ax.lines) >= 5


def test_resume_refuses_another_configuration(demo_cat, tiny, tmp_path, monkeypatch):
    import keras

    from fser_utils.training.train import train_model

    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_model(demo_cat, model="tiny", out=tmp_path, verbose=0, callbacks=[Stop()])
    with pytest.raises(FserError, match="started with another configuration"):
        train_model(demo_cat, model="tiny", profile="quick", out=tmp_path, verbose=0)


def test_batch_augmentation():
    from fser_utils.training.augment import compute_batch_augmentation

    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 16, 40, 1)).astype(np.float32) + 5
    y = np.eye(8)[[0, 1, 2, 3, 4, 5]]
    xa, ya = compute_batch_augmentation(x, y, rng=np.random.default_rng(1), mixup=0.4,
                                        time_shift=0.1, freq_mask=4, time_mask=6)
    assert xa.shape == x.shape and ya.shape == y.shape
    np.testing.assert_allclose(ya.sum(axis=1), 1, atol=1e-6)
    assert (ya.max(axis=1) >= 0.5 - 1e-6).all()
    x2, _ = compute_batch_augmentation(x[:, :, :, 0].transpose(0, 2, 1), y,
                                       rng=np.random.default_rng(2))
    assert x2.shape == (6, 40, 16) and (x2 == 0).any()  # MFCC layout: masks applied
    again, _ = compute_batch_augmentation(x, y, rng=np.random.default_rng(1), mixup=0.4,
                                          time_shift=0.1, freq_mask=4, time_mask=6)
    np.testing.assert_array_equal(xa, again)
    assert x.min() > 0  # the input is left alone


def test_a_model_standardises_per_speaker_or_per_clip_not_both():
    from fser_utils.errors import FserError
    from fser_utils.models.registry import ModelSpec

    with pytest.raises(FserError, match="one of them"):
        ModelSpec("both", print, features="logmel", profile="budget", speaker_norm=True,
                  clip_norm=True)


def test_frequency_warp_moves_the_spectrum():
    from fser_utils.training.augment import compute_batch_augmentation
    from fser_utils.errors import FserError

    x = np.zeros((40, 64, 5, 1), dtype=np.float32)
    x[:, 20] = 1.0  # one band lit in every frame
    y = np.eye(8)[np.zeros(40, dtype=int)]
    xa, _ = compute_batch_augmentation(x, y, rng=np.random.default_rng(0), specaugment=False,
                                       freq_warp=0.1)
    peaks = xa[:, :, 0, 0].argmax(axis=1)
    assert peaks.min() >= 18 and peaks.max() <= 22  # 20 stretched by 0.9 to 1.1
    assert len(set(peaks)) > 1  # each example gets its own stretch
    np.testing.assert_allclose(xa.sum(axis=(1, 3)), np.broadcast_to(xa.sum(axis=(1, 3))[:, :1],
                                                                    (40, 5)))  # frames alike
    same, _ = compute_batch_augmentation(x, y, rng=np.random.default_rng(0), specaugment=False)
    np.testing.assert_array_equal(same, x)  # off by default
    with pytest.raises(FserError, match="spectrogram"):
        compute_batch_augmentation(np.zeros((2, 40, 39)), y[:2], rng=np.random.default_rng(0),
                                   freq_warp=0.1)


def test_tempo_stretches_time_and_leaves_the_bands_alone():
    from fser_utils.training.augment import compute_batch_augmentation

    x = np.zeros((40, 6, 100, 1), dtype=np.float32)
    x[:, 2, 50] = 1.0  # one lit frame, in one band
    y = np.eye(8)[np.zeros(40, dtype=int)]
    xa, _ = compute_batch_augmentation(x, y, rng=np.random.default_rng(0), specaugment=False,
                                       tempo=0.1)
    frames = xa[:, 2, :, 0].argmax(axis=1)
    assert frames.min() >= 45 and frames.max() <= 55  # frame 50 stretched by 0.9 to 1.1
    assert len(set(frames)) > 1  # each example gets its own tempo
    assert np.all(xa[:, [0, 1, 3, 4, 5]] == 0)  # the spectrum is not moved
    # MFCC-like arrays (n, T, C) stretch along their time axis too
    m, _ = compute_batch_augmentation(x[:, :, :, 0].transpose(0, 2, 1), y,
                                      rng=np.random.default_rng(0), specaugment=False, tempo=0.1)
    np.testing.assert_allclose(m, xa[:, :, :, 0].transpose(0, 2, 1), atol=1e-6)


def test_ensemble_averages_member_probabilities(every_model_runs):
    from fser_utils.studies.compare import (compute_comparison_runs, compute_ensemble_predictions,
                                    compute_ensemble_runs)
    from fser_utils.training.results import load_run

    runs = compute_comparison_runs(every_model_runs.values(), n_boot=50)
    members = ["svm-egemaps", "svm-compare"]
    ens = compute_ensemble_runs(runs, members, n_boot=50)
    assert len(ens) == 1 and ens["model"].iloc[0] == "ensemble"
    assert ens["params"].iloc[0] == runs.set_index("model").loc[members, "params"].sum()
    a, b = (load_run(every_model_runs[m])["predictions"] for m in members)
    cols = [c for c in a.columns if c.startswith("p_")]
    mean = (a[cols].to_numpy() + b[cols].to_numpy()) / 2
    expected = 100 * (np.asarray([c[2:] for c in cols])[mean.argmax(axis=1)]
                      == a["emotion"].to_numpy()).mean()
    assert ens["accuracy"].iloc[0] == pytest.approx(expected)
    assert compute_ensemble_runs(runs, ["svm-egemaps", "nope"]).empty
    # per clip, with the clips' own columns (corpus, speaker, ...) kept for breakdowns
    per_clip = compute_ensemble_predictions([every_model_runs[m] for m in members])
    np.testing.assert_allclose(per_clip[cols].to_numpy(), mean)
    assert (per_clip["predicted"] == np.asarray([c[2:] for c in cols])[mean.argmax(axis=1)]).all()
    assert (per_clip["corpus"] == a["corpus"]).all()


def test_exported_results_are_a_run_without_model(every_model_runs, tmp_path):
    from fser_utils.studies.compare import export_comparison_runs
    from fser_utils.training.results import load_run
    from fser_utils.training.run import RESULT_FILES

    src = every_model_runs["fser"].parent
    folders = export_comparison_runs(src, tmp_path / "results")
    assert len(folders) == len(every_model_runs)
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == sorted(RESULT_FILES)
        original = load_run(src / folder.name)
        pd.testing.assert_frame_equal(load_run(folder)["predictions"], original["predictions"])


def test_per_speaker_model_refuses_too_few_clips(every_model_runs, demo_cat, capsys):
    from fser_utils.cli import main
    from fser_utils.scoring.predict import load_predictor, predict_files, predict_signal

    run_dir = every_model_runs["svm-egemaps-spk"]
    predictor = load_predictor(run_dir)
    assert predictor.speaker_norm and not load_predictor(every_model_runs["svm-egemaps"]).speaker_norm
    with pytest.raises(FserError, match="give at least 5 files of the same speaker .got 1 usable"):
        predict_signal(np.random.default_rng(0).normal(size=16000) * 0.1, sr=16000,
                       predictor=predictor)
    with pytest.raises(FserError, match="not windows"):
        predict_files(demo_cat["path"][:6], predictor=predictor, windows=True)
    paths = [str(p) for p in demo_cat["path"][:6]]
    assert main(["predict", *paths[:2], "--run", str(run_dir)]) == 2
    assert "got 2 usable" in capsys.readouterr().err
    assert main(["predict", *paths, "--run", str(run_dir)]) == 0
    assert "the 6 files were standardised together as clips of one speaker" in capsys.readouterr().err


def test_ensemble_selection_adds_members_while_validation_improves(monkeypatch):
    """Two half-right models that err on different clips make a whole; a third that is
    always wrong is left out. Only validation predictions may be read."""
    import pandas as pd

    from fser_utils.studies.compare import compute_ensemble_selection, compute_shared_cells
    from fser_utils.data.corpora import EMOTIONS
    from fser_utils.training.run import Run

    truth = list(EMOTIONS[:4])

    def proba(confident, wrong):
        rows = []
        for i, label in enumerate(truth):
            p = dict.fromkeys(EMOTIONS, 0.0)
            if i in confident:
                p[label] = 0.9
                p[EMOTIONS[6]] = 0.1
            else:
                p[label], p[wrong] = 0.4, 0.6
            rows.append(p)
        return rows

    members = {"a": proba({0, 1}, EMOTIONS[5]), "b": proba({2, 3}, EMOTIONS[6]),
               "c": [{**dict.fromkeys(EMOTIONS, 0.0), EMOTIONS[4]: 1.0} for _ in truth]}

    def fake_predictions(self, part="test"):
        assert part == "val", "selection must not read test predictions"
        model = self.path.name.split("-")[0]
        frame = pd.DataFrame(members[model]).add_prefix("p_")
        return frame.assign(relpath=[f"clip{i}" for i in range(4)], emotion=truth)

    monkeypatch.setattr(Run, "load_predictions", fake_predictions)
    runs = pd.DataFrame([{"model": m, "protocol": "speaker", "seed": s, "run": f"/x/{m}-{s}"}
                         for m in ("a", "b", "c") for s in (1, 2)]
                        + [{"model": "a", "protocol": "paper", "seed": 1, "run": "/x/a-p"}])
    # the paper cell holds only "a", so it cannot score the other candidates
    assert compute_shared_cells(runs, ["a", "b", "c"]) == [("speaker", 1), ("speaker", 2)]
    assert compute_shared_cells(runs, ["a"]) == [("paper", 1), ("speaker", 1), ("speaker", 2)]
    assert compute_ensemble_selection(runs, ["a", "b", "c", "absent"]) == ["a", "b"]
    assert compute_ensemble_selection(runs, ["c"]) == ["c"]
    # a budget: "b" alone fits beside "a" only when the sum stays within it
    runs["train_minutes"] = runs["model"].map({"a": 20.0, "b": 15.0, "c": 1.0})
    runs.loc[runs["protocol"] == "paper", "train_minutes"] = 25.0  # a's dearest protocol
    assert compute_ensemble_selection(runs, ["a", "b", "c"], max_minutes=40) == ["a", "b"]
    assert compute_ensemble_selection(runs, ["a", "b", "c"], max_minutes=39) == ["a"]
    assert compute_ensemble_selection(runs, ["a", "b", "c"], max_minutes=16) == ["b"]
    with pytest.raises(FserError, match="no protocol and seed"):
        compute_ensemble_selection(runs, ["absent"])


def test_target_verdict_needs_the_whole_interval():
    from fser_utils.studies.compare import TARGETS, compute_target_verdict

    assert compute_target_verdict(70.0, 75.0, TARGETS["speaker"]) == "met"
    assert compute_target_verdict(69.9, 75.0, 70.0).startswith("undecided")
    assert compute_target_verdict(60.0, 69.9, 70.0) == "not met"
    assert TARGETS == {"paper": 90.0, "speaker": 70.0}  # the numbers


def test_results_dirs_of_the_comparison():
    from fser_utils.studies.compare import get_results_dir

    names = [get_results_dir().name, get_results_dir(gpu=True).name,
             get_results_dir(longer=True).name]
    assert names == ["beyond", "beyond_gpu", "beyond_longer"]
    assert all(get_results_dir(gpu=g, longer=lo).parent.name == "results"
               for g, lo in ((False, False), (True, False), (False, True)))
    with pytest.raises(ValueError, match="ask for one"):
        get_results_dir(gpu=True, longer=True)


def test_tcn_normalises_its_input_whatever_the_scale():
    import keras

    from fser_utils.models.networks import build_tcn
    from fser_utils.models.registry import MODELS

    assert MODELS["tcn"].params == {"input_norm": True}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 20, 39)).astype(np.float32)
    outputs = {}
    for input_norm in (True, False):
        keras.utils.set_random_seed(0)
        net = build_tcn(input_shape=(20, 39), n_levels=3, dropout=0.0,
                        input_norm=input_norm)
        assert ("input_bn" in [layer.name for layer in net.layers]) == input_norm
        # in training mode batch statistics are used: shifting and scaling every
        # coefficient (as raw MFCCs are: c0 near -400) leaves the normalised net unmoved
        outputs[input_norm] = [np.asarray(net(x * 50 + offset, training=True))
                               for offset in (0.0, -400.0)]
    np.testing.assert_allclose(*outputs[True], atol=1e-4)
    assert np.abs(outputs[False][0] - outputs[False][1]).max() > 1e-2


def test_time_deltas_are_librosa_deltas_stacked_as_channels():
    import librosa

    from fser_utils.models.networks import TimeDeltas

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 30, 1)).astype(np.float32)
    out = np.asarray(TimeDeltas(width=2)(x))
    assert out.shape == (2, 5, 30, 3)
    d1 = librosa.feature.delta(x[..., 0], width=5, axis=-1, mode="nearest")
    d2 = librosa.feature.delta(d1, width=5, axis=-1, mode="nearest")
    np.testing.assert_array_equal(out[..., 0], x[..., 0])
    np.testing.assert_allclose(out[..., 1], d1, atol=1e-5)
    np.testing.assert_allclose(out[..., 2], d2, atol=1e-5)


def test_attention_pooling_weights_frames():
    import keras

    from fser_utils.models.networks import AttentionPooling

    keras.utils.set_random_seed(0)
    pool = AttentionPooling(units=8)
    x = np.zeros((1, 10, 4), np.float32)
    x[0, 3] = 5.0
    out = np.asarray(pool(x))
    assert out.shape == (1, 8)
    # the first half is the mean under the layer's own softmax weights over frames
    w = np.asarray(keras.ops.softmax(pool.score(pool.hidden(x)), axis=1))[0, :, 0]
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-6)
    assert np.ptp(w) > 1e-3
    np.testing.assert_allclose(out[0, :4], w @ x[0], atol=1e-5)
    np.testing.assert_allclose(out[0, 4:], np.sqrt(w @ x[0] ** 2 - (w @ x[0]) ** 2),
                               atol=1e-3)
    # a constant sequence has no spread, whatever the weights
    const = np.asarray(pool(np.ones((1, 10, 4), np.float32)))
    np.testing.assert_allclose(const[0, :4], 1.0, atol=1e-5)
    np.testing.assert_allclose(const[0, 4:], 0.0, atol=1e-2)


def test_logmel_cnn_variants_are_what_their_entries_say():
    from fser_utils.models.registry import MODELS

    nets = {name: MODELS[name].build(input_shape=(64, 48, 1), n_classes=7,
                                     **MODELS[name].params)
            for name in ("logmel-cnn", "logmel-cnn-delta", "logmel-cnn-att",
                         "logmel-cnn-wide", "logmel-cnn-wide-spk", "logmel-cnn-fine")}
    layers_of = {name: {layer.name: layer for layer in net.layers}
                 for name, net in nets.items()}
    assert layers_of["logmel-cnn-delta"]["conv0_0"].kernel.shape[2] == 3
    assert layers_of["logmel-cnn"]["conv0_0"].kernel.shape[2] == 1
    assert type(layers_of["logmel-cnn-att"]["pool_time"]).__name__ == "AttentionPooling"
    assert layers_of["logmel-cnn-wide"]["conv3_0"].filters == 512
    assert layers_of["logmel-cnn-wide-spk"]["conv3_0"].filters == 512
    assert MODELS["logmel-cnn-wide-spk"].speaker_norm and not MODELS["logmel-cnn-wide"].speaker_norm
    assert layers_of["logmel-cnn-fine"]["conv0_0"].strides == (1, 1)
    assert layers_of["logmel-cnn"]["conv0_0"].strides == (2, 2)
    with pytest.raises(ValueError, match="pooling"):
        MODELS["logmel-cnn"].build(input_shape=(64, 48, 1), pooling="median")
