"""Speaker-adversarial training: the reversal layer, the two-part loss, and a run of it."""
import json

import numpy as np
import pandas as pd
import pytest

from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError


def test_gradient_reversal_is_identity_forwards_and_flips_the_gradient():
    import keras

    from fser_utils.models.networks import GradientReversal

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the gradient is taken with TensorFlow's tape")
    import tensorflow as tf

    x = tf.constant(np.linspace(-3, 5, 12, dtype=np.float32).reshape(3, 4))
    layer = GradientReversal(0.3)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(2.0 * y)
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), -0.6, atol=1e-6)


def test_emotion_speaker_loss_adds_the_speaker_cross_entropy_where_there_is_a_speaker():
    import keras

    from fser_utils.models.networks import EmotionSpeakerLoss

    n = len(EMOTIONS)
    rng = np.random.default_rng(0)
    emo_p = rng.dirichlet(np.ones(n), size=2).astype(np.float32)
    spk_p = rng.dirichlet(np.ones(3), size=2).astype(np.float32)
    emo_t = np.eye(n, dtype=np.float32)[[1, 4]]
    spk_t = np.array([[0, 0, 1], [0, 0, 0]], np.float32)  # the second: unknown speaker
    y_pred = np.concatenate([emo_p, spk_p], axis=1)
    y_true = np.concatenate([emo_t, spk_t], axis=1)
    per_clip = np.asarray(EmotionSpeakerLoss(reduction=None)(y_true, y_pred))
    emotion = -np.log(emo_p[[0, 1], [1, 4]])
    np.testing.assert_allclose(per_clip, emotion + [-np.log(spk_p[0, 2]), 0.0], rtol=1e-5)
    # label smoothing acts on the emotions only, as in the plain network's loss
    smooth = EmotionSpeakerLoss(label_smoothing=0.1, reduction=None)(y_true, y_pred)
    plain = keras.losses.categorical_crossentropy(emo_t, emo_p, label_smoothing=0.1)
    np.testing.assert_allclose(np.asarray(smooth)[1], np.asarray(plain)[1], rtol=1e-5)


def test_adversary_needs_a_logits_layer_and_a_keras_network():
    import keras

    from fser_utils.models.networks import build_speaker_adversary
    from fser_utils.models.registry import ModelSpec

    inputs = keras.Input((4,))
    bare = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(inputs))
    with pytest.raises(FserError, match="logits"):
        build_speaker_adversary(bare, n_speakers=3)
    with pytest.raises(FserError, match="adversary"):
        ModelSpec("x", print, features="egemaps", profile="fit-once", family="sklearn",
                  speaker_adversary=0.3)
    with pytest.raises(FserError, match="speedup"):
        ModelSpec("x", print, features="logmel", profile="budget", adversary_speedup=3)
    with pytest.raises(FserError, match="adversary_ramp and adversary_speedup need a speaker"):
        ModelSpec("x", print, features="logmel", profile="budget", adversary_ramp=True)
    with pytest.raises(FserError, match="speedup must be >= 1"):
        ModelSpec("x", print, features="logmel", profile="budget", speaker_adversary=0.3,
                  adversary_speedup=0.5)


def test_speedup_moves_the_speaker_classifier_that_many_times_further_per_step():
    import keras

    from fser_utils.models.networks import build_speaker_adversary

    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(5, name="features")(inputs)
    network = keras.Model(inputs, keras.layers.Dense(
        len(EMOTIONS), activation="softmax", name="logits")(hidden))
    x = np.random.default_rng(1).normal(size=(8, 6)).astype(np.float32)
    y = np.zeros((8, len(EMOTIONS) + 3), np.float32)
    y[:, len(EMOTIONS) + 1] = 1  # speaker targets only: the network below stays put

    def build(speedup, like=None):
        trainer = build_speaker_adversary(network, n_speakers=3, weight=0.0, units=4,
                                          speedup=speedup)
        for name in ("speaker_hidden", "speaker") if like is not None else ():
            # the plain classifier's function, from weights ``speedup`` times smaller
            trainer.get_layer(f"{name}_slow").set_weights(
                [w / speedup for w in like[name]])
        return trainer

    def one_step_change(trainer):
        speaker = keras.Model(trainer.input, trainer.get_layer("speaker").output)
        before = np.asarray(speaker(x))
        trainer.compile(optimizer=keras.optimizers.Adam(1e-4),
                        loss=lambda t, p: -keras.ops.sum(t * keras.ops.log(p + 1e-7), -1))
        trainer.train_on_batch(x, y)
        return before, np.asarray(speaker(x)) - before

    plain = build(1)
    start = network.get_weights()
    head = {name: plain.get_layer(name).get_weights() for name in ("speaker_hidden", "speaker")}
    start_slow, slow = one_step_change(plain)
    network.set_weights(start)
    start_fast, fast = one_step_change(build(10, head))
    np.testing.assert_allclose(start_fast, start_slow, rtol=1e-4, atol=1e-6)
    assert np.abs(fast).mean() / np.abs(slow).mean() == pytest.approx(10, rel=0.05)
    with pytest.raises(FserError, match="speedup"):
        build(0.5)


def test_adversarial_run_resumes_and_keeps_the_network_alone(demo_root, tmp_path):
    import keras

    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.models.registry import MODELS
    from fser_utils.training.results import load_run, load_run_model
    from fser_utils.training.train import train_model

    cat = load_catalogue(demo_root, corpora=("demo",))

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                raise KeyboardInterrupt

    out, ov = tmp_path / "adv", {"epochs": 2, "max_train": 48}
    with pytest.raises(KeyboardInterrupt):
        train_model(cat, model="logmel-cnn-adv", profile="ci", out=out, verbose=0,
                    overrides=ov, callbacks=[Interrupt()])
    trainer = keras.saving.load_model(out / "checkpoints" / "last.keras")
    split = pd.read_csv(out / "split.csv")
    speakers = split.loc[split["part"] == "train", "speaker"].nunique()
    assert trainer.output.shape[-1] == len(EMOTIONS) + speakers
    assert trainer.get_layer("reverse_gradient").weight == MODELS["logmel-cnn-adv"].speaker_adversary
    train_model(cat, model="logmel-cnn-adv", profile="ci", out=out, verbose=0, overrides=ov)
    run = load_run(out)
    assert run["history"]["epoch"].tolist() == [0, 1]
    assert {"accuracy", "val_accuracy", "speaker_loss"} <= set(run["history"].columns)
    # a speaker term while training, none on validation clips of unknown speakers
    assert (run["history"]["speaker_loss"] > 0).all()
    assert (run["history"]["val_speaker_loss"] == 0).all()
    # what is kept and scored is the emotion network, no speaker classifier in it
    model = load_run_model(out)
    assert model.output.shape[-1] == len(EMOTIONS)
    assert not any(layer.name.startswith("speaker") for layer in model.layers)
    plain = MODELS["logmel-cnn"].build(input_shape=model.input_shape[1:])
    assert model.count_params() == plain.count_params() == run["metrics"]["n_params"]
    assert json.loads((out / "settings.json").read_text())["model"]["name"] == "logmel-cnn-adv"


def test_adversary_ramp_rises_from_zero_and_sets_the_layer(demo_root, tmp_path):
    import keras

    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.models.networks import compute_adversary_ramp
    from fser_utils.training.train import train_model

    ramp = [compute_adversary_ramp(e, 120) for e in range(120)]
    assert ramp[0] == 0 and all(np.diff(ramp) > 0) and 0.9 < ramp[40] < ramp[-1] < 1
    cat = load_catalogue(demo_root, corpora=("demo",))
    out = tmp_path / "ramp"
    train_model(cat, model="logmel-cnn-adv-ramp", profile="ci", out=out, verbose=0,
                overrides={"epochs": 3, "max_train": 48})
    trainer = keras.saving.load_model(out / "checkpoints" / "last.keras")
    layer = trainer.get_layer("reverse_gradient")
    # the last epoch ran with the schedule's value for it, at the registered weight
    assert float(layer.ramp.numpy()) == pytest.approx(compute_adversary_ramp(2, 3), rel=1e-6)
    assert layer.weight == 1.0
