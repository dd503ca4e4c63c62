"""What makes the paper's recipe (FSER, SGD 0.001, batch 64) cheaper per epoch?

Issue 10 asks to measure, against today's path and in the same run:

* ``mixed_bfloat16``: this CPU has AVX-512 with BF16 instructions;
* XLA compilation (``jit_compile=True``) of the TensorFlow step;
* the input pipeline: images kept as uint8 until the batch (a ``Rescaling`` layer
  in front of the network), which also quarters the memory of 34 440 images;
* the JAX backend, with Keras' ``fit`` and with the resident loop
  (:mod:`fser_utils.training.resident`: all images on the device, one compiled scan per epoch).

Each variant runs in a fresh process (the backend is chosen per process), trains the
bare FSER network on the same random 64 x 64 x 3 images for one warm-up epoch (it
includes compilation) and ``--repeats`` timed epochs; the median is reported, with
the ratio to the first variant. The variants run one after another, so a shared CPU
slows all of them; the load average before each is recorded. The GPU numbers of
chapter 8 come from ``tools/gpu/device_paper_recipe.py timing`` (same comparison of the
two loops, on the GPU) and are stored beside this file's output.

    python benchmarks/bench_paper_recipe.py             # ~10 minutes on 2 cores
    python benchmarks/bench_paper_recipe.py --quick     # a smoke test
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: name -> (backend, what the worker does)
VARIANTS = {
    "tensorflow fit (today)": ("tensorflow", "fit"),
    "tensorflow fit, jit_compile": ("tensorflow", "jit"),
    "tensorflow fit, mixed_bfloat16": ("tensorflow", "bf16"),
    "tensorflow fit, uint8 images": ("tensorflow", "uint8"),
    "jax fit": ("jax", "fit"),
    "jax resident loop": ("jax", "resident"),
}

WORKER = r"""
import json, statistics, sys, time
import numpy as np
import keras
from fser_utils.models.paper_cnn import build_fser
mode, n, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keras.utils.set_random_seed(0)
if mode == "bf16":
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
rng = np.random.default_rng(0)
x8 = rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
y = rng.integers(0, 8, n)
net = build_fser()
if mode == "uint8":
    inp = keras.Input((64, 64, 3), dtype="uint8")
    model = keras.Model(inp, net(keras.layers.Rescaling(1 / 255)(inp)))
    x = x8
else:
    model, x = net, x8.astype(np.float32) / 255
model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="categorical_crossentropy",
              jit_compile=True if mode == "jit" else "auto")
Y = keras.utils.to_categorical(y, 8)
times = []
if mode == "resident":
    from fser_utils.training.resident import fit_resident
    data = {"X_train": x, "y_train": y, "X_val": x[:64], "y_val": y[:64],
            "X_test": x[:64], "y_test": y[:64]}
    h = fit_resident(model, data, epochs=repeats + 1, batch_size=64, seed=0,
                     progress=False)["history"]
    sec = np.diff(np.concatenate([[0.0], h["seconds"].to_numpy()]))
    times = sec.tolist()
else:
    for _ in range(repeats + 1):
        t = time.perf_counter()
        model.fit(x, Y, batch_size=64, epochs=1, verbose=0, shuffle=True)
        times.append(time.perf_counter() - t)
print(json.dumps({"first_epoch_s": times[0], "epoch_s": statistics.median(times[1:]),
                  "images": n, "times": times}))
"""


def _run(backend: str, mode: str, n: int, repeats: int, timeout: float) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    load = os.getloadavg()[0]
    try:
        proc = subprocess.run([sys.executable, "-c", WORKER, mode, str(n), str(repeats)],
                              capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"not finished after {timeout:.0f} s", "load_before": load}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:], "load_before": load}
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "load_before": load}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1024, help="images per timed epoch")
    ap.add_argument("--repeats", type=int, default=3, help="timed epochs per variant")
    ap.add_argument("--quick", action="store_true", help="256 images, 1 repeat")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds a variant may take before it is recorded as unfinished")
    ap.add_argument("--out", default=str(HERE / "results" / "paper_recipe_speed.json"))
    ap.add_argument("--only", action="append", metavar="VARIANT",
                    help="measure only this variant (repeatable) and replace its row in an "
                         "existing --out file; its row records its own date")
    args = ap.parse_args(argv)
    n, repeats = (256, 1) if args.quick else (args.images, args.repeats)
    sys.path.insert(0, str(HERE.parent))
    from fser_utils.training.devices import describe_hardware

    out = Path(args.out)
    unknown = sorted(set(args.only or ()) - set(VARIANTS))
    if unknown:
        ap.error(f"unknown variant(s): {', '.join(unknown)}")
    old = json.loads(out.read_text()) if args.only and out.exists() else None
    rows = dict(old["variants"]) if old else {}
    for name, (backend, mode) in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        rows[name] = _run(backend, mode, n, repeats, args.timeout)
        if old:
            rows[name].update(date=_now(), repeats=repeats)
        print(name, rows[name], flush=True)
    today = rows.get("tensorflow fit (today)", {})
    base = today["epoch_s"] / today["images"] if "epoch_s" in today else None
    for row in rows.values():
        if base and "epoch_s" in row:
            # per picture, so that a row re-measured with --only on fewer pictures compares
            row["speed_up"] = base / (row["epoch_s"] / row["images"])
            # the paper split's 34 440 training images per epoch, 400 epochs [minutes]
            row["recipe_minutes"] = row["epoch_s"] / row["images"] * 34440 * 400 / 60
    # a partial re-measurement keeps the first pass's settings; its rows carry their own
    first = {"images": n, "repeats": repeats, "date": _now()}
    if old:
        base_row = old["variants"]["tensorflow fit (today)"]
        first = {"images": base_row["images"], "repeats": len(base_row["times"]) - 1,
                 "date": old["date"]}
    result = {"hardware": describe_hardware(), "images": first["images"],
              "repeats": first["repeats"], "date": first["date"], "variants": rows}
    gpu = HERE / "results" / "paper_recipe_gpu.json"
    if gpu.exists():
        result["gpu"] = json.loads(gpu.read_text())
    out.write_text(json.dumps(result, indent=1))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
