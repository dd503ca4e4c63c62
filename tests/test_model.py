"""The FSER network: shapes, probabilities, summary table, figure, and other backends."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from fser_utils.data.corpora import EMOTIONS


@pytest.fixture(scope="module")
def model():
    from fser_utils.models.paper_cnn import build_fser

    return build_fser()


def test_output_shape_and_probabilities(model):
    x = np.random.default_rng(0).random((5, 64, 64, 3), dtype=np.float32)
    p = np.asarray(model.predict(x, verbose=0))
    assert p.shape == (5, len(EMOTIONS))
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_structure_matches_the_paper(model):
    from fser_utils.models.paper_cnn import compute_model_table

    table = compute_model_table(model)
    types = table["type"].tolist()
    assert types.count("Conv2D") == 4
    assert types.count("MaxPooling2D") == 4
    assert types.count("Dense") == 3
    assert types[-1] == "Activation" and table["detail"].iloc[-1] == "softmax"
    # each block is convolution (+ReLU), pooling, dropout, in that order
    for i in range(1, 5):
        names = table["layer"].tolist()
        k = names.index(f"conv{i}")
        assert names[k + 1:k + 3] == [f"pool{i}", f"drop{i}"]
    assert table["params"].sum() == model.count_params()
    assert table["output_shape"].iloc[0] == "64x64x3"


def test_grey_input_and_bad_arguments():
    from fser_utils.models.paper_cnn import build_fser

    m = build_fser(input_shape=(64, 64, 1))
    assert m.output_shape == (None, len(EMOTIONS))
    with pytest.raises(ValueError, match="four convolutional blocks"):
        build_fser(filters=(8, 8))


def test_plot_architecture(model):
    from fser_utils.plotting import plot_architecture

    ax = plot_architecture(model)
    assert len(ax.patches) == len(model.layers)


SNIPPET = """
import numpy as np, keras
from fser_utils.training.augment import build_augmenter
from fser_utils.training.trainer import build_trainer, compile_trainer
from fser_utils.training.profiles import get_training_profile
assert keras.backend.backend() == "{backend}", keras.backend.backend()
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).random((16, 64, 64, 3), dtype=np.float32)
y = keras.utils.to_categorical(np.arange(16) % 8, 8)
aug = build_augmenter(specaugment=True, seed=0)
out = keras.ops.convert_to_numpy(aug(x, training=True))
assert out.shape == x.shape and not np.allclose(out, x)
p = get_training_profile("ci")
trainer, fser = build_trainer(p, (64, 64, 3), 0)
compile_trainer(trainer, p, 2)
trainer.fit(x, y, batch_size=8, epochs=1, verbose=0)
out = np.asarray(fser.predict(x, verbose=0))
assert out.shape == (16, 8) and np.allclose(out.sum(1), 1, atol=1e-5)
print("ok")
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_keras_backends(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -e '.[backends]')")
    env = dict(os.environ, KERAS_BACKEND=backend, CUDA_VISIBLE_DEVICES="",
               JAX_PLATFORMS="cpu")
    res = subprocess.run([sys.executable, "-c", SNIPPET.format(backend=backend)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().endswith("ok")
