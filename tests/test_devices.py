"""Devices: the report and profile choice, the GPU-only code paths run on the CPU, and
data-parallel training on two virtual CPU devices that matches one device."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fser_utils.training import devices
from fser_utils.errors import FserError

FAKE_SMI = """#!/bin/sh
echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0f00)"
echo "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-0f01)"
"""


@pytest.fixture
def no_accelerator(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi on it
    for key in ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_ACCELERATOR_TYPE", "FSER_PROFILE"):
        monkeypatch.delenv(key, raising=False)


def test_cpu_only_machine(no_accelerator):
    assert devices.list_accelerators() == []
    assert devices.describe_devices().startswith("device: CPU only (")
    assert devices.pick_profile() == ("quick", "chosen for a CPU (set FSER_PROFILE to change it)")


def test_gpus_found_by_nvidia_smi(no_accelerator, tmp_path):
    smi = tmp_path / "nvidia-smi"
    smi.write_text(FAKE_SMI)
    smi.chmod(0o755)
    found = devices.list_accelerators()
    assert found == ["GPU: NVIDIA H100 80GB HBM3"] * 2
    assert devices.pick_profile()[0] == devices.GPU_PROFILE == "tuned"
    line = devices.describe_devices(found)
    assert "GPU: NVIDIA H100 80GB HBM3" in line and "--devices 2" in line


def test_tpu_and_profile_from_environment(no_accelerator, monkeypatch):
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert devices.list_accelerators() == ["TPU"]
    monkeypatch.setenv("FSER_PROFILE", "ci")
    assert devices.pick_profile() == ("ci", "from $FSER_PROFILE")
    monkeypatch.setenv("FSER_PROFILE", "cpu")  # the quick profile's old name
    assert devices.pick_profile() == ("quick", "from $FSER_PROFILE")


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_distribution_scope_refuses_bad_counts(bad):
    with pytest.raises(FserError, match="positive integer"):
        devices.distribution_scope(bad)


def test_one_device_needs_no_backend_and_tensorflow_is_refused():
    with devices.distribution_scope(None), devices.distribution_scope(1):
        pass  # nothing to set up: a plain context
    import keras

    if keras.backend.backend() != "jax":
        with pytest.raises(FserError, match="JAX backend"):
            devices.distribution_scope(2)


# --- GPU-only code paths, exercised on the CPU ------------------------------------------

@pytest.fixture(scope="module")
def demo(demo_root):
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.features import load_features

    cat = load_catalogue(demo_root, corpora=("demo",))
    X, kept = load_features(cat, progress=False, cache=False, n_jobs=1)
    return kept, X


def test_mixed_precision_path_with_a_pretend_gpu(demo, tmp_path, monkeypatch):
    """The `fast` profile's mixed precision, switched on as it would be on a GPU."""
    import keras

    from fser_utils.training import devices
    from fser_utils.training.results import load_run
    from fser_utils.training.run import Run
    from fser_utils.training.train import train_model

    monkeypatch.setattr(devices, "list_gpus", lambda: ["pretend GPU"])
    kept, X = demo
    before = keras.mixed_precision.dtype_policy().name
    out = train_model(kept, X, model="fser", profile="tuned", out=tmp_path / "run",
                      verbose=0, overrides={"epochs": 1, "max_train": 32})
    assert keras.mixed_precision.dtype_policy().name == before == "float32"  # restored
    run = load_run(out)
    assert run["settings"]["mixed_precision_used"] is True
    model = Run.open(out, finished=True).load_model()
    policies = {layer.dtype_policy.name for layer in model.layers}
    assert "mixed_float16" in policies
    assert model.layers[-1].dtype_policy.name == "float32"  # the softmax stays float32
    proba = np.asarray(model.predict(X[:4], verbose=0))
    assert proba.dtype == np.float32 and np.allclose(proba.sum(axis=1), 1, atol=1e-5)


def test_input_pipeline_prefetches(demo):
    """Arrays given to fit reach the device through tf.data with prefetch (TF backend)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the tf.data pipeline is the TensorFlow backend's")
    # Keras' own adapter, the one model.fit builds for NumPy arrays (private module:
    # there is no public way to see the pipeline fit uses)
    from keras.src.trainers.data_adapters import get_data_adapter

    kept, X = demo
    y = keras.utils.to_categorical(np.arange(len(X)) % 8, 8)
    adapter = get_data_adapter(X, y, batch_size=128, shuffle=True)
    dataset = adapter.get_tf_dataset()
    names, node = [], dataset
    while node is not None:
        names.append(type(node).__name__)
        inputs = node._inputs()
        node = inputs[0] if inputs else None
    assert "_PrefetchDataset" in names or "PrefetchDataset" in names, names
    batch = next(iter(dataset))
    assert tuple(batch[0].shape) == (128, *X.shape[1:])


# --- several devices ----------------------------------------------------------------------

TWO_DEVICES = textwrap.dedent("""
    import json
    import jax
    import keras
    import numpy as np
    from fser_utils.training.devices import distribution_scope

    assert len(jax.devices()) == 2, jax.devices()
    rng = np.random.default_rng(0)
    # 51 training and 11 validation images: batches of 16 leave odd remainders, which
    # the scope must copy whole rather than split
    X = rng.normal(size=(62, 16, 16, 3)).astype("float32")
    Y = keras.utils.to_categorical(rng.integers(0, 4, len(X)), 4)
    out = {}
    for n in (None, 2):
        keras.utils.set_random_seed(0)
        with distribution_scope(n):
            model = keras.Sequential([
                keras.Input((16, 16, 3)), keras.layers.RandomTranslation(0.1, 0.1),
                keras.layers.Conv2D(8, 3, activation="relu"),
                keras.layers.BatchNormalization(), keras.layers.MaxPooling2D(),
                keras.layers.Dropout(0.3), keras.layers.Flatten(),
                keras.layers.Dense(4, activation="softmax")])
            model.compile(optimizer="adam", loss="categorical_crossentropy",
                          metrics=["accuracy"])
            history = model.fit(X[:51], Y[:51], batch_size=16, epochs=3, shuffle=True,
                                validation_data=(X[51:], Y[51:]), verbose=0)
            proba = model.predict(X[51:], batch_size=16, verbose=0)
        out[str(n)] = {"loss": history.history["loss"],
                       "val_loss": history.history["val_loss"], "proba": proba.tolist()}
    print("RESULT" + json.dumps(out))
""")


def test_two_devices_match_one(tmp_path):
    """Keras DataParallel over two virtual CPU devices (JAX) gives one device's result."""
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    proc = subprocess.run([sys.executable, "-c", TWO_DEVICES], capture_output=True, text=True,
                          env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.split("RESULT", 1)[1])
    one, two = result["None"], result["2"]
    assert len(one["loss"]) == len(two["loss"]) == 3
    assert one["loss"][0] != one["loss"][-1]  # it trained
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-4)
    np.testing.assert_allclose(two["val_loss"], one["val_loss"], rtol=1e-4)
    np.testing.assert_allclose(two["proba"], one["proba"], atol=1e-3)


def test_train_model_takes_devices(demo, tmp_path):
    """The option reaches training: on TensorFlow, two devices are refused in one line."""
    import keras

    from fser_utils.training.train import train_model

    if keras.backend.backend() == "jax":
        pytest.skip("the refusal is the TensorFlow backend's")
    kept, X = demo
    with pytest.raises(FserError, match="JAX backend"):
        train_model(kept, X, model="fser", profile="ci", out=tmp_path / "run", verbose=0,
                    devices=2, overrides={"epochs": 1, "max_train": 16})


KEEP_MEMORY_PROBE = """
import ctypes, resource, sys
import numpy as np
from fser_utils.training.devices import keep_freed_memory
ctypes.CDLL("libc.so.6").mallopt(-1, 128 * 1024)  # what TensorFlow's generator datasets set

def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(40):
        block = np.ones(1 << 20)  # 8 MB, freed at the next assignment
    del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

lowered = faults()
applied = keep_freed_memory()
print(applied, lowered, faults())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_keep_freed_memory_stops_page_faults():
    """With the trim threshold lowered as TensorFlow does, every 8 MB block is faulted in
    afresh; after keep_freed_memory the same loop reuses the memory it freed."""
    out = subprocess.run([sys.executable, "-c", KEEP_MEMORY_PROBE], capture_output=True,
                         text=True, check=True).stdout.split()
    applied, lowered, kept = out[0] == "True", int(out[1]), int(out[2])
    assert applied
    assert lowered > 10 * 1000  # 20 000 measured here: hundreds of faults per block
    assert kept < lowered / 10


def test_training_keeps_freed_memory_every_epoch(demo, tmp_path, monkeypatch):
    from fser_utils.training import devices
    from fser_utils.training.train import train_model

    calls = []
    monkeypatch.setattr(devices, "keep_freed_memory", lambda: calls.append(1) or True)
    kept, X = demo
    train_model(kept, X, model="fser", profile="ci", out=tmp_path / "run", verbose=0,
                overrides={"epochs": 2, "max_train": 32})
    assert len(calls) == 2  # at the first step of each epoch
