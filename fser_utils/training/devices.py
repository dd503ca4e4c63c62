"""Which devices a chapter or a training run uses: the report, the profile, several devices.

Five jobs, kept apart from the training code so that each can be tested on a CPU:

* :func:`list_accelerators` looks for GPUs and TPUs *without* importing a deep-learning
  framework (``nvidia-smi -L`` and the TPU runtime's environment), so that the set-up
  cell of a data chapter stays fast;
* :func:`pick_profile` chooses the training profile that fits them, unless
  ``$FSER_PROFILE`` names one;
* :func:`describe_hardware` says what a run was trained on (CPU model and generation,
  cores, the GPUs the Keras backend sees), for its settings and for the benchmarks;
* :func:`keep_freed_memory` stops the C allocator from handing freed memory back to
  the operating system after every training step (see its docstring: on this book's
  2-core machine it removed about 15 s of kernel time from each CNN epoch);
* :func:`distribution_scope` trains on several devices with the backend's own
  distribution API: Keras 3's :class:`keras.distribution.DataParallel` on the JAX
  backend (``KERAS_BACKEND=jax``). It copies the model to every device, splits each batch
  between them and averages the gradients, so the result is that of one device up to
  the order of floating-point sums.

Only JAX is supported for several devices. With TensorFlow, Keras 3's own
``tf.distribute.MirroredStrategy`` path fails as soon as a validation batch does not
split evenly between the replicas (measured with Keras 3.15 and TensorFlow 2.21 on two
logical CPUs: ``InvalidArgumentError`` in ``AddN``), which every real split produces.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import shutil
import subprocess

from fser_utils.errors import FserError
from fser_utils.training.profiles import name_profile

__all__ = [
    "GPU_PROFILE",
    "CPU_PROFILE",
    "list_accelerators",
    "describe_devices",
    "pick_profile",
    "list_backend_devices",
    "list_gpus",
    "describe_hardware",
    "keep_freed_memory",
    "make_keep_memory_callback",
    "distribution_scope",
]

#: profile for a machine with a GPU or TPU: the paper's recipe shortened, mixed precision
GPU_PROFILE = "tuned"
#: profile for a CPU: the book's stored runs were made with it
CPU_PROFILE = "quick"


def list_accelerators(*, timeout: float = 10.0) -> list[str]:
    """GPUs and TPUs of this machine, found without importing TensorFlow or JAX.

    Parameters
    ----------
    timeout : float > 0 [s]
        Longest wait for ``nvidia-smi``.

    Returns
    -------
    names : list of str
        ``"GPU: <model>"`` per NVIDIA GPU that ``nvidia-smi -L`` lists (restricted to
        ``$CUDA_VISIBLE_DEVICES`` by the driver itself), ``"TPU"`` when a TPU runtime
        announces itself (Colab and Cloud TPU VMs set ``TPU_NAME``, ``COLAB_TPU_ADDR``
        or ``TPU_ACCELERATOR_TYPE``); empty on a CPU-only machine.
    """
    names = []
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "-L"], capture_output=True, text=True,
                                 timeout=timeout, check=False).stdout
        except (OSError, subprocess.TimeoutExpired):  # a broken driver is "no GPU"
            out = ""
        for line in out.splitlines():
            if line.startswith("GPU "):
                model = line.split(":", 1)[1].split("(UUID")[0].strip()
                names.append(f"GPU: {model}")
    if any(os.environ.get(k) for k in ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_ACCELERATOR_TYPE")):
        names.append("TPU")
    return names


def describe_devices(accelerators: list[str] | None = None) -> str:
    """One line: the accelerators found, or that training runs on the CPU.

    Parameters
    ----------
    accelerators : list of str or None
        From :func:`list_accelerators`; ``None`` looks them up.
    """
    acc = list_accelerators() if accelerators is None else accelerators
    n_cpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not acc:
        return f"device: CPU only ({n_cpu} cores)"
    several = (f"; to train on all {len(acc)}, use the JAX backend and `devices={len(acc)}` "
               f"(`fser train --devices {len(acc)}`)" if len(acc) > 1 else "")
    return f"device: {', '.join(acc)} (and {n_cpu} CPU cores){several}"


def pick_profile(accelerators: list[str] | None = None) -> tuple[str, str]:
    """The training profile for this machine, and why.

    ``$FSER_PROFILE`` wins when set (CI sets ``ci``, the book's re-execution ``quick``;
    an old name gives its new one); else :data:`GPU_PROFILE` with a GPU or TPU, :data:`CPU_PROFILE` without.

    Returns
    -------
    profile : str
        A key of :data:`fser_utils.training.profiles.PROFILES`.
    reason : str
        Half a sentence for the set-up report.
    """
    env = os.environ.get("FSER_PROFILE")
    if env:
        return name_profile(env), "from $FSER_PROFILE"
    acc = list_accelerators() if accelerators is None else accelerators
    if acc:
        return GPU_PROFILE, "chosen for the accelerator (set FSER_PROFILE to change it)"
    return CPU_PROFILE, "chosen for a CPU (set FSER_PROFILE to change it)"


def list_backend_devices() -> list:
    """The devices the Keras backend computes on: its accelerators if any, else its CPUs.

    Raises
    ------
    FserError
        If the backend is not JAX (see the module docstring).
    """
    import keras

    backend = keras.backend.backend()
    if backend != "jax":
        raise FserError(f"training on several devices needs the JAX backend "
                        f"(KERAS_BACKEND=jax), not {backend}")
    import jax

    return jax.devices()


#: where Linux describes the CPU (a test points it at a file of its own)
_CPUINFO = "/proc/cpuinfo"


def describe_hardware() -> str:
    """A one-line description of the CPU (model, cores) and of any GPU Keras can use.

    Where the CPU reports its family and model numbers (x86), they follow its name: a
    virtual machine may name only the vendor ("AMD EPYC"), and the generation changes
    both the speed and the rounding of the arithmetic (chapter 11, section 1).
    """
    cpu = platform.processor() or platform.machine()
    info = {}
    try:
        with open(_CPUINFO) as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = info.get("model name", cpu)
    if "cpu family" in info and "model" in info:
        cpu += f" (family {info['cpu family']}, model {info['model']})"
    n = os.cpu_count()
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    gpus = list_gpus()
    text = f"{cpu}, {n} CPU cores"
    return text + (f"; GPU: {', '.join(gpus)}" if gpus else "; no GPU")


def list_gpus() -> list[str]:
    """Names of the GPUs the Keras backend can use (imports it; an empty list on a CPU,
    or where the driver fails)."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [tf.config.experimental.get_device_details(d).get("device_name", d.name)
                    for d in tf.config.list_physical_devices("GPU")]
        if backend == "jax":
            import jax

            return [str(d.device_kind) for d in jax.devices() if d.platform == "gpu"]
        if backend == "torch":
            import torch

            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # a broken driver must not stop a CPU run
        return []
    return []


#: glibc's mallopt parameters (malloc.h) and the values :func:`keep_freed_memory` sets
_MALLOPT = {"M_TRIM_THRESHOLD": (-1, 1 << 30), "M_TOP_PAD": (-2, 64 << 20),
            "M_MMAP_THRESHOLD": (-3, 32 << 20)}


def keep_freed_memory() -> bool:
    """Let the process keep the memory it frees, instead of returning it to the system.

    TensorFlow's generator datasets, which Keras uses for a ``PyDataset``, lower glibc's
    trim threshold to 128 kB. Every training step then frees its activation buffers
    back to the operating system and faults them in again on the next step. On the
    book's 2-core virtual machine that meant about 4.4 million page faults and 15 s of
    kernel time per epoch of ``logmel-cnn`` (``benchmarks/bench_memory.py``). Raising
    the trim and mmap thresholds keeps the buffers in the process; the numbers
    computed do not change, only where their memory comes from.

    Call it after the dataset exists (the training loop calls it at the first step of
    every epoch). Memory use then stays at its peak until the process ends.

    Returns
    -------
    applied : bool
        False where there is no glibc (macOS, Windows, musl), which is left alone.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return all([mallopt(param, value) == 1 for param, value in _MALLOPT.values()])


def make_keep_memory_callback(*, enabled: bool = True):
    """A Keras callback that calls :func:`keep_freed_memory` at the first step of every
    epoch, once that epoch's data iterator (which lowers the threshold again) exists.

    Parameters
    ----------
    enabled : bool
        False gives the same callback doing nothing: the "off" arm of
        ``benchmarks/bench_memory.py``.

    Returns
    -------
    callback : keras.callbacks.Callback
    """
    import keras

    class KeepFreedMemory(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if enabled and batch == 0:
                keep_freed_memory()

    return KeepFreedMemory()


@contextlib.contextmanager
def _replicate_uneven_batches():
    """While active, a batch that does not split evenly over the devices is copied whole.

    Keras splits every batch along its first axis and refuses one whose size is not a
    multiple of the number of devices, such as the last, shorter batch of an epoch, of
    a validation pass or of a prediction (Keras 3.15: ``IndivisibleError``). Such a batch
    is given to every device whole instead: the result is the same, only that batch is
    not spread out. Keras offers no option for this, so its JAX helper that places a
    batch on the devices is wrapped for the duration of the scope (a private module:
    the reason this is confined to :func:`distribution_scope`).
    """
    import jax
    from keras.distribution import TensorLayout
    from keras.src.backend.jax import distribution_lib as lib

    original = lib.distribute_data_input

    def distribute_data_input(per_process_batch, layout, batch_dim_name):
        sharding = layout.backend_layout if isinstance(layout, TensorLayout) else layout
        n = sharding.mesh.shape[batch_dim_name]
        if per_process_batch.shape and per_process_batch.shape[0] % n:
            sharding = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())
        return original(per_process_batch, sharding, batch_dim_name)

    lib.distribute_data_input = distribute_data_input
    try:
        yield
    finally:
        lib.distribute_data_input = original


@contextlib.contextmanager
def _data_parallel(devices: list):
    import keras

    with keras.distribution.DataParallel(devices=devices).scope(), _replicate_uneven_batches():
        yield


def distribution_scope(devices: int | None = None):
    """Context in which Keras builds, fits and predicts on ``devices`` devices.

    Parameters
    ----------
    devices : int >= 1 or None
        How many devices to split each batch over; ``None`` or 1: no distribution (the
        backend's default device), and no backend is imported.

    Returns
    -------
    scope : context manager
        ``keras.distribution.DataParallel(...).scope()`` over the first ``devices``
        devices of :func:`list_backend_devices`, or a context that does nothing.

    Raises
    ------
    FserError
        ``devices`` is not a positive integer, exceeds the devices present, or the
        backend is not JAX.
    """
    if devices is None:
        return contextlib.nullcontext()
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise FserError(f"devices must be a positive integer, got {devices!r}")
    if devices == 1:
        return contextlib.nullcontext()
    found = list_backend_devices()
    if devices > len(found):
        raise FserError(f"{devices} devices asked for, but the backend sees {len(found)}: "
                        f"{', '.join(str(d) for d in found)}")
    return _data_parallel(found[:devices])
