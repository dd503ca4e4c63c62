"""Two remedies for a corpus or language unseen in training (issue 31, item 3):
features standardised per corpus (``corpus_norm``) and corpora that weigh the same in
training (the profile's ``balance_corpora``)."""
import json

import numpy as np
import pandas as pd
import pytest

from fser_utils.errors import FserError


# --- per-corpus normalisation ------------------------------------------------------------

def test_each_corpus_gets_mean_zero_and_unit_spread_unlike_per_speaker():
    from fser_utils.features.speaker_norm import (compute_corpus_groups, normalize_per_corpus,
                                                  normalize_per_speaker)

    rng = np.random.default_rng(0)
    cat = pd.DataFrame({"corpus": np.repeat(["emodb", "urdu"], [40, 24]),
                        "speaker": np.tile(["01", "02", "03", "04"], 16)})
    groups = compute_corpus_groups(cat)
    assert groups.tolist() == cat["corpus"].tolist()
    X = rng.normal(size=(64, 3))
    X[groups == "urdu"] = 4.0 * X[groups == "urdu"] - 9.0  # another microphone and room
    X[cat["speaker"] == "01"] += 2.0  # and a speaker who is louder in both corpora
    Z = normalize_per_corpus(X, groups=groups)
    for corpus in ("emodb", "urdu"):
        rows = groups == corpus
        np.testing.assert_allclose(Z[rows].mean(axis=0), 0, atol=1e-6)
        np.testing.assert_allclose(Z[rows].std(axis=0), 1, atol=1e-5)
    # per corpus keeps what differs between a corpus's speakers; per speaker removes it
    Zs = normalize_per_speaker(X, groups=cat["corpus"] + "/" + cat["speaker"])
    assert not np.allclose(Z, Zs, atol=1e-2)
    louder = (cat["speaker"] == "01").to_numpy()
    assert Z[louder].mean() > 0.5 and abs(Zs[louder].mean()) < 1e-6


def test_spectrograms_are_standardised_per_corpus_over_speech_frames():
    from fser_utils.features.kinds import get_feature_settings
    from fser_utils.features.speaker_norm import PAD_VALUE, normalize_features

    rng = np.random.default_rng(1)
    X = rng.normal(-30, 6, size=(40, 4, 10, 1)).astype(np.float32)
    X[:, :, :2] = X.min() - 1  # padding frames
    groups = np.repeat(["a", "b"], 20)
    Z = normalize_features(X, settings=get_feature_settings("logmel"), corpus_norm=True,
                           groups=groups)
    assert (Z[:, :, :2] == PAD_VALUE).all()
    speech = Z[groups == "b"][:, :, 2:, 0]
    np.testing.assert_allclose(speech.mean(axis=(0, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(speech.std(axis=(0, 2)), 1, atol=1e-4)


def test_too_few_clips_of_a_corpus_and_missing_groups_are_one_line_errors():
    from fser_utils.features.kinds import get_feature_settings
    from fser_utils.features.speaker_norm import (MIN_CORPUS_CLIPS, compute_corpus_groups,
                                                  normalize_features, normalize_per_corpus)

    groups = ["emodb"] * MIN_CORPUS_CLIPS + ["urdu"] * (MIN_CORPUS_CLIPS - 1)
    with pytest.raises(FserError, match=rf"at least {MIN_CORPUS_CLIPS} clips per corpus; "
                                        rf"too few for: urdu \({MIN_CORPUS_CLIPS - 1}\)$"):
        normalize_per_corpus(np.zeros((len(groups), 2)), groups=groups)
    settings = get_feature_settings("egemaps")
    with pytest.raises(FserError, match="per-corpus normalisation needs the corpus of every"):
        normalize_features(np.zeros((30, 88)), settings=settings, corpus_norm=True)
    with pytest.raises(FserError, match="catalogue column: corpus"):
        compute_corpus_groups(pd.DataFrame({"speaker": ["a"]}))


@pytest.mark.parametrize("flags", [{"speaker_norm": True, "corpus_norm": True},
                                   {"clip_norm": True, "corpus_norm": True},
                                   {"speaker_norm": True, "clip_norm": True}])
def test_at_most_one_normalisation(flags):
    from fser_utils.features.kinds import get_feature_settings
    from fser_utils.features.speaker_norm import normalize_features
    from fser_utils.models.registry import ModelSpec

    with pytest.raises(FserError, match="per speaker, per clip or per corpus: one of them"):
        ModelSpec("both", print, features="logmel", profile="budget", **flags)
    with pytest.raises(FserError, match="per speaker, per clip or per corpus: one of them"):
        normalize_features(np.zeros((30, 4, 10, 1)), settings=get_feature_settings("logmel"),
                           groups=np.zeros(30), **flags)


def test_the_corpus_normalised_models_are_registered_as_their_plain_twins():
    from fser_utils.models.registry import MODELS, describe_models, list_public_models

    for name, twin in (("svm-egemaps-corpus", "svm-egemaps"),
                       ("logmel-cnn-warp-corpus", "logmel-cnn-warp")):
        spec, plain = MODELS[name], MODELS[twin]
        assert spec.corpus_norm and not plain.corpus_norm
        assert not (spec.speaker_norm or spec.clip_norm or spec.public)
        assert (spec.build, spec.features, spec.profile, spec.family, spec.params) == \
            (plain.build, plain.features, plain.profile, plain.family, plain.params)
        assert name not in list_public_models()
    table = describe_models()
    assert table.loc["svm-egemaps-corpus", "standardised per"] == "corpus"
    assert table.loc["svm-egemaps-spk", "standardised per"] == "speaker"
    assert table.loc["logmel-cnn-clip", "standardised per"] == "clip"
    assert table.loc["svm-egemaps", "standardised per"] == ""


def test_corpus_normalised_models_cannot_score_a_single_clip():
    from fser_utils.studies.beyond import needs_speaker_batch

    assert needs_speaker_batch("svm-egemaps-corpus")
    assert needs_speaker_batch("logmel-cnn-warp-corpus | 40 epochs, CPU")
    assert not needs_speaker_batch("logmel-cnn-warp")


@pytest.fixture(scope="module")
def demo_cat(demo_root):
    from fser_utils.data.catalogue import load_catalogue

    return load_catalogue(demo_root, corpora=("demo",))


@pytest.fixture(scope="module")
def corpus_run(demo_cat, tmp_path_factory):
    """svm-egemaps-corpus trained on the demo corpus (seconds)."""
    from fser_utils.training.train import train_model

    base = tmp_path_factory.mktemp("corpus-run")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FSER_CACHE", str(base / "cache"))
        yield train_model(demo_cat, model="svm-egemaps-corpus", out=base / "run", verbose=0)


def test_a_corpus_normalised_run_records_its_flag_and_scores_a_batch(corpus_run, demo_cat,
                                                                     monkeypatch, tmp_path):
    from fser_utils.features import load_audio
    from fser_utils.features.kinds import compute_features
    from fser_utils.features.speaker_norm import MIN_CORPUS_CLIPS, normalize_per_corpus
    from fser_utils.models.classical import expand_proba
    from fser_utils.scoring.predict import load_predictor, predict_files, predict_signal
    from fser_utils.training.run import Run

    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    assert Run(corpus_run).load_settings()["model"]["corpus_norm"] is True
    predictor = load_predictor(corpus_run)
    assert predictor.corpus_norm and not predictor.speaker_norm
    assert predictor.group_norm == "corpus"
    paths = list(demo_cat["path"][:MIN_CORPUS_CLIPS])
    with pytest.raises(FserError, match=rf"give at least {MIN_CORPUS_CLIPS} files of the same "
                                        rf"setting \(got {MIN_CORPUS_CLIPS - 1} usable\)$"):
        predict_files(paths[:-1], predictor=predictor)
    with pytest.raises(FserError, match="got 1 usable"):
        predict_signal(np.random.default_rng(0).normal(size=16000) * 0.1, sr=16000,
                       predictor=predictor)
    with pytest.raises(FserError, match="scores whole files of one setting, not windows"):
        predict_files(paths, predictor=predictor, windows=True)
    scores, errors = predict_files(paths, predictor=predictor)
    assert errors.empty and len(scores) == MIN_CORPUS_CLIPS
    # what the model gives on the files' features standardised together, not one by one
    s = predictor.settings
    X = np.stack([compute_features(load_audio(p, sr=s.sr, n_fft=s.n_fft), sr=s.sr, settings=s)
                  for p in paths])
    together = expand_proba(predictor.model, normalize_per_corpus(X, groups=np.zeros(len(X))), 8)
    got = scores.filter(like="p_").to_numpy()
    np.testing.assert_allclose(got, together, atol=1e-6)
    assert not np.allclose(got, expand_proba(predictor.model, X, 8), atol=1e-3)


def test_fser_predict_says_the_files_were_standardised_as_one_setting(corpus_run, demo_cat,
                                                                      capsys, monkeypatch,
                                                                      tmp_path):
    from fser_utils.cli import main

    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    paths = [str(p) for p in demo_cat["path"][:20]]
    assert main(["predict", *paths[:3], "--run", str(corpus_run)]) == 2
    assert "files of the same setting (got 3 usable)" in capsys.readouterr().err
    assert main(["predict", *paths, "--run", str(corpus_run), "--json"]) == 0
    captured = capsys.readouterr()
    assert "the 20 files were standardised together as recordings from one setting" \
        in captured.err
    # an SVM scores with scikit-learn, and says so, not with a Keras backend
    assert "engine: scikit-learn" in captured.err
    assert len(json.loads(captured.out)["predictions"]) == 20


def test_rescoring_a_corpus_normalised_run_standardises_per_corpus(corpus_run, demo_root):
    from fser_utils.scoring.predict import load_run_parts
    from fser_utils.training.run import Run

    (predictor, part, clips, X), = load_run_parts([corpus_run], root=demo_root,
                                                  parts=("test",))
    stored = Run(corpus_run).load_predictions("test")
    np.testing.assert_allclose(predictor.predict_proba(X), stored.filter(like="p_").to_numpy(),
                               atol=1e-6)


# --- corpora weighed alike in training ---------------------------------------------------

def test_corpus_weights_have_mean_one_and_equal_totals():
    from fser_utils.training.fit import compute_corpus_weights

    corpora = np.array(["ravdess"] * 1440 + ["urdu"] * 400 + ["emodb"] * 535)
    w = compute_corpus_weights(corpora)
    assert w.shape == corpora.shape and np.isclose(w.mean(), 1)
    totals = [w[corpora == c].sum() for c in ("ravdess", "urdu", "emodb")]
    np.testing.assert_allclose(totals, len(corpora) / 3)
    assert w[corpora == "urdu"][0] > w[corpora == "ravdess"][0]
    np.testing.assert_array_equal(compute_corpus_weights(["emodb"] * 7), np.ones(7))


def _drawn(sequence) -> np.ndarray:
    """The clips (their row numbers, stored as the features) of one epoch, in order."""
    return np.concatenate([sequence[i][0][:, 0] for i in range(len(sequence))]).astype(int)


def test_weighted_batches_oversample_the_small_corpus_and_resume_exactly():
    from fser_utils.training.augment import make_batch_sequence
    from fser_utils.training.fit import compute_corpus_weights

    n_big, n_small = 80, 20
    x = np.arange(n_big + n_small, dtype=np.float32)[:, None]
    y = np.eye(2)[np.r_[np.zeros(n_big, int), np.ones(n_small, int)]]
    w = compute_corpus_weights(np.r_[["big"] * n_big, ["small"] * n_small])
    make = lambda **kw: make_batch_sequence(x, y, batch_size=16, seed=3, augment=False, **kw)
    plain, weighted = make(), make(weights=w)
    assert sorted(_drawn(plain)) == list(range(len(x)))  # a permutation, as before
    epochs = []
    for _ in range(5):
        epochs.append(_drawn(weighted))
        weighted.on_epoch_end()
    assert all(len(e) == len(x) for e in epochs)
    share = np.mean(np.concatenate(epochs) >= n_big)
    assert 0.4 < share < 0.6  # about half, where unweighted draws give 20 %
    assert len(set(epochs[0])) < len(x)  # with replacement
    # the order of epoch e depends only on (seed, e): a run resumed at epoch 3 draws the same
    resumed = make_batch_sequence(x, y, batch_size=16, seed=3, augment=False, weights=w,
                                  initial_epoch=3)
    np.testing.assert_array_equal(_drawn(resumed), epochs[3])
    np.testing.assert_array_equal(_drawn(make(weights=w)), epochs[0])
    other_seed = make_batch_sequence(x, y, batch_size=16, seed=4, augment=False, weights=w)
    assert not np.array_equal(_drawn(other_seed), epochs[0])
    with pytest.raises(FserError, match="batch weights must be 100 finite numbers"):
        make(weights=np.zeros(len(x)))


def _two_corpora(demo_cat):
    """The demo catalogue as two corpora of 160 and 32 clips, with features that say the
    emotion differently in each, so that the big corpus would set what each sounds like."""
    from fser_utils.data.corpora import EMOTIONS

    cat = demo_cat.drop(columns="path").reset_index(drop=True)
    small = cat["speaker"] == sorted(cat["speaker"].unique())[-1]
    cat["corpus"] = np.where(small, "emodb", "demo")
    rng = np.random.default_rng(0)
    label = pd.Categorical(cat["emotion"].astype(str), categories=EMOTIONS).codes
    # classes that overlap in few dimensions (the other 80 constant), so that the SVM's
    # margin has clips inside it, whose weights move it
    X = np.zeros((len(cat), 88), dtype=np.float32)
    X[:, :8] = 0.8 * rng.normal(size=(len(cat), 8)) + np.eye(8)[label]
    X[small.to_numpy(), :8] += np.roll(np.eye(8), 1, axis=1)[label[small.to_numpy()]]
    return cat, X


def test_an_svm_trained_with_balanced_corpora_is_another_model(demo_cat, tmp_path):
    from fser_utils.training.run import Run
    from fser_utils.training.train import train_model

    cat, X = _two_corpora(demo_cat)
    runs = {name: Run(train_model(cat, X, model="svm-egemaps", out=tmp_path / name, verbose=0,
                                  overrides=ov))
            for name, ov in (("plain", None), ("again", None),
                             ("balanced", {"balance_corpora": True}))}
    probs = {name: run.load_predictions("val").filter(like="p_").to_numpy()
             for name, run in runs.items()}
    np.testing.assert_allclose(probs["plain"], probs["again"])  # so the next line can fail
    assert not np.allclose(probs["plain"], probs["balanced"], atol=1e-3)
    assert runs["balanced"].load_settings()["profile_settings"]["balance_corpora"] is True
    assert "balance_corpora" not in runs["plain"].load_settings()["profile_settings"]


def test_a_balanced_keras_run_draws_its_batches_by_corpus_weights(demo_cat, tmp_path,
                                                                  monkeypatch):
    import keras

    from fser_utils.models import registry
    from fser_utils.training import augment
    from fser_utils.training.train import train_model

    def build_tiny(*, input_shape, n_classes):
        inputs = keras.Input(shape=input_shape)
        x = keras.layers.Dense(4, activation="relu")(keras.layers.Flatten()(inputs))
        return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))

    monkeypatch.setitem(registry.MODELS, "tiny-bal", registry.ModelSpec(
        "tiny-bal", build_tiny, features="mel-image", profile="ci"))
    seen, make = [], augment.make_batch_sequence
    monkeypatch.setattr(augment, "make_batch_sequence",
                        lambda *a, **kw: seen.append(kw.get("weights")) or make(*a, **kw))
    cat, _ = _two_corpora(demo_cat)
    X = np.random.default_rng(0).random((len(cat), 64, 64, 3), dtype=np.float32)
    train_model(cat, X, model="tiny-bal", out=tmp_path / "run", verbose=0,
                overrides={"epochs": 1, "balance_corpora": True})
    (weights,) = seen
    assert weights is not None and np.isclose(weights.mean(), 1)
    assert len(np.unique(np.round(weights, 6))) == 2  # one weight per corpus


def test_the_resident_loop_refuses_balanced_corpora(monkeypatch):
    from fser_utils.training import resident
    from fser_utils.training.fit import fit_arrays
    from fser_utils.training.run_config import RunConfig

    monkeypatch.setattr(resident, "check_resident_backend", lambda: None)
    config = RunConfig(model="fser", profile="ci", overrides={"balance_corpora": True})
    with pytest.raises(FserError, match="balancing the corpora needs the default loop"):
        fit_arrays(None, {}, config, loop="resident")


def test_balance_stays_out_of_old_keys_and_names_its_own_folder(tmp_path):
    from fser_utils.config import get_stored_path
    from fser_utils.training.run import Run, to_jsonable
    from fser_utils.training.run_config import RunConfig, describe_train_command
    from fser_utils.training.run_names import find_run_for_config, make_stored_run_name

    stored = Run(get_stored_path("results") / "shipped" / "logmel-cnn-warp-recognizer-speaker-all")
    key = stored.config_key
    assert "balance_corpora" not in key["profile_settings"]
    config = RunConfig(model=key["model"], split=key["split"], seed=key["seed"])
    assert to_jsonable(config.key) == key  # a stored run still matches, so it is reused
    balanced = RunConfig(model=key["model"], split=key["split"], seed=key["seed"],
                         overrides={"balance_corpora": True})
    assert balanced.key != config.key
    # a finished run of the old key is found under its name; the balanced one is not it
    old = tmp_path / "logmel-cnn-warp-recognizer-speaker"
    old.mkdir()
    (old / "settings.json").write_text(json.dumps({"config_key": key}))
    (old / "metrics.json").write_text("{}")
    assert find_run_for_config(config, runs_dir=tmp_path).path == old
    assert find_run_for_config(balanced, runs_dir=tmp_path).path.name == \
        "logmel-cnn-warp-recognizer-speaker-bal"
    settings = {**stored.load_settings(), "profile_settings": balanced.profile.asdict()}
    assert make_stored_run_name(settings) == "logmel-cnn-warp-recognizer-speaker-bal-all"
    assert "--balance-corpora --seed 42" in describe_train_command(settings)


def test_fser_train_balance_corpora_trains_its_own_folder(demo_train, tmp_path, monkeypatch,
                                                         capsys):
    from fser_utils.training.run import Run

    monkeypatch.setenv("FSER_RUNS", str(tmp_path / "runs"))
    assert demo_train("--model", "svm-egemaps", "--balance-corpora") == 0, \
        capsys.readouterr().err
    run = Run(tmp_path / "runs" / "svm-egemaps-fit-once-paper-bal")
    assert run.load_settings()["profile_settings"]["balance_corpora"] is True
    assert run.load_metrics()["test_accuracy"] > 1 / 8
