"""Benchmark FSER training: throughput per Keras backend, and time per epoch per profile.

Two measurements, written with the hardware to ``benchmarks/results/training.json``:

1. **Backends.** For each Keras backend that is installed (tensorflow, jax, torch), in a
   fresh process with ``KERAS_BACKEND`` set: the bare FSER network, Adam, batch 64, on
   random 64 x 64 x 3 images. One warm-up epoch (which includes compilation), then
   ``--repeats`` timed epochs of ``--images`` images; the median gives images/s.
2. **Profiles.** With the default backend, each profile's real training step (its
   optimiser, batch size and on-the-fly augmentation) on random images, timed the
   same way, then converted to seconds per epoch for the training-set size the
   profile sees with the paper split of the paper's corpora (2 563 clips: 1 640
   training images; ``ci`` caps them at 640; ``paper`` adds 20 copies of each, so
   34 440 images, of which only ``--images`` are timed and the rest extrapolated).
   The validation pass at the end of each epoch is not included.

The CPU may be shared with other work: the load average before each measurement is
recorded next to it. Run it with::

    python benchmarks/bench_training.py            # all of it, ~5-10 minutes on 2 cores
    python benchmarks/bench_training.py --quick    # fewer images, for a smoke test
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKENDS = ("tensorflow", "jax", "torch")
# images per epoch that each profile trains on with the paper split of the 2 563 clips
TRAIN_IMAGES = {"ci": 640, "quick": 1640, "paper": 1640 * 21, "tuned": 1640}

WORKER = r"""
import json, os, statistics, sys, time
import numpy as np
import keras
from fser_utils.training.trainer import build_trainer, compile_trainer
from fser_utils.training.profiles import get_training_profile
profile, n_images, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keras.utils.set_random_seed(0)
if profile == "bare":
    p = get_training_profile("quick", augment="none", schedule="constant")
else:
    # offline augmentation happens before training: an epoch is plain steps
    p = get_training_profile(profile, mixed_precision=False)
trainer, _ = build_trainer(p, (64, 64, 3), 0)
compile_trainer(trainer, p, 100)
rng = np.random.default_rng(0)
x = rng.random((n_images, 64, 64, 3), dtype=np.float32)
y = keras.utils.to_categorical(rng.integers(0, 8, n_images), 8)
t = time.perf_counter()
trainer.fit(x[:p.batch_size * 4], y[:p.batch_size * 4], batch_size=p.batch_size, epochs=1,
            verbose=0)
warmup = time.perf_counter() - t
times = []
for _ in range(repeats):
    t = time.perf_counter()
    trainer.fit(x, y, batch_size=p.batch_size, epochs=1, verbose=0, shuffle=True)
    times.append(time.perf_counter() - t)
print(json.dumps({"backend": keras.backend.backend(), "profile": profile,
                  "batch_size": p.batch_size, "images": n_images, "repeats": repeats,
                  "warmup_seconds": warmup, "seconds": times,
                  "images_per_second": n_images / statistics.median(times)}))
"""


def measure(profile: str, backend: str, n_images: int, repeats: int) -> dict:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", ""))
    load = os.getloadavg()[0]
    res = subprocess.run([sys.executable, "-c", WORKER, profile, str(n_images), str(repeats)],
                         env=env, capture_output=True, text=True)
    if res.returncode != 0:
        return {"backend": backend, "profile": profile, "error": res.stderr.strip()[-500:]}
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["load_average_before"] = round(load, 2)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1280, help="images per timed epoch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="256 images, 3 repeats")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--profiles", default="ci,quick,paper,tuned")
    parser.add_argument("--out", default=str(HERE / "results" / "training.json"))
    args = parser.parse_args(argv)
    n = 256 if args.quick else args.images

    sys.path.insert(0, str(HERE.parent))
    from fser_utils.training.devices import describe_hardware

    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "hardware": describe_hardware(), "images": n, "repeats": args.repeats,
               "python": sys.version.split()[0], "backends": [], "profiles": []}
    import keras

    results["keras"] = keras.__version__
    for backend in args.backends.split(","):
        if importlib.util.find_spec(backend) is None:
            results["backends"].append({"backend": backend, "error": "not installed"})
            continue
        row = measure("bare", backend, n, args.repeats)
        try:
            row["version"] = __import__(backend).__version__
        except ImportError:
            pass
        print(json.dumps(row), flush=True)
        results["backends"].append(row)
    for profile in args.profiles.split(","):
        row = measure(profile, "tensorflow", n, args.repeats)
        if "images_per_second" in row:
            row["train_images_per_epoch"] = TRAIN_IMAGES[profile]
            row["seconds_per_epoch"] = TRAIN_IMAGES[profile] / row["images_per_second"]
            row["extrapolated"] = TRAIN_IMAGES[profile] > n
        print(json.dumps(row), flush=True)
        results["profiles"].append(row)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
