"""Benchmark: what :func:`fser_utils.training.devices.keep_freed_memory` does to a CNN epoch.

``logmel-cnn``'s real training step (its profile's optimiser, batch size and batch
augmentation through the ``PyDataset`` of :func:`fser_utils.training.augment.make_batch_sequence`,
plus the validation pass) on random log-mel inputs of the real shape (1 639 training
clips of 64 x 200, 430 validation clips: the speaker split). Each trial is a fresh
process, so that the allocator starts clean; trials alternate between the two settings
(off, on, off, on, ...) so that a slow spell of a shared machine hits both. Each trial
runs one ``fit`` call, as training does: a warm-up epoch and ``--epochs`` timed ones. It
records, per epoch, the wall time, the CPU time in user and kernel mode, and the minor
page faults.

Written with the hardware to ``benchmarks/results/memory.json``; the speed-up is the
ratio of the two settings' median epoch times, measured in the same run::

    python benchmarks/bench_memory.py               # 3 trials each, ~12 minutes on 2 cores
    python benchmarks/bench_memory.py --trials 1    # a smoke test
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

WORKER = r"""
import json, resource, sys, time
import numpy as np
import keras
from fser_utils.training.augment import make_batch_sequence
from fser_utils.training.devices import make_keep_memory_callback
from fser_utils.training.trainer import build_trainer, compile_trainer
from fser_utils.training.profiles import get_training_profile
keep, n_epochs = sys.argv[1] == "on", int(sys.argv[2])
keras.utils.set_random_seed(0)
p = get_training_profile("budget")
rng = np.random.default_rng(0)
x = rng.standard_normal((1639, 64, 200, 1), dtype=np.float32)
y = keras.utils.to_categorical(rng.integers(0, 8, len(x)), 8)
trainer, _ = build_trainer(p, x.shape[1:], 0, spec="logmel-cnn")
compile_trainer(trainer, p, int(np.ceil(len(x) / p.batch_size)))

class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        (r0, t0), r1 = self.start, resource.getrusage(resource.RUSAGE_SELF)
        epochs.append({"wall_s": time.perf_counter() - t0, "user_s": r1.ru_utime - r0.ru_utime,
                       "sys_s": r1.ru_stime - r0.ru_stime,
                       "minor_faults": r1.ru_minflt - r0.ru_minflt})


train = make_batch_sequence(x, y, batch_size=p.batch_size, seed=0, specaugment=p.specaugment,
                            mixup=p.mixup, time_shift=p.time_shift)
epochs = []
# one fit call, as in training: the first epoch (tracing, warm-up) is not timed
trainer.fit(train, epochs=n_epochs + 1, verbose=0,
            callbacks=[make_keep_memory_callback(enabled=keep), Timer()],
            validation_data=(x[:430], y[:430]))
print(json.dumps(epochs[1:]))
"""


def _trial(setting: str, epochs: int) -> list[dict]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", WORKER, setting, str(epochs)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3, help="fresh processes per setting")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per trial")
    parser.add_argument("--out", default=str(HERE / "results" / "memory.json"))
    args = parser.parse_args(argv)
    from fser_utils.training.devices import describe_hardware

    trials = {"off": [], "on": []}
    for i in range(args.trials):
        for setting in trials:
            trials[setting].append(_trial(setting, args.epochs))
            last = trials[setting][-1]
            print(f"trial {i + 1}, keep_freed_memory {setting}: "
                  + ", ".join(f"{e['wall_s']:.1f} s ({e['sys_s']:.1f} s kernel, "
                              f"{e['minor_faults'] / 1e6:.2f} M faults)" for e in last),
                  flush=True)
    summary = {}
    for setting, runs in trials.items():
        flat = [e for run in runs for e in run]
        summary[setting] = {key: statistics.median(e[key] for e in flat)
                            for key in ("wall_s", "user_s", "sys_s", "minor_faults")}
        summary[setting]["n_epochs"] = len(flat)
    result = {
        "what": "logmel-cnn epoch (budget profile, batch augmentation, validation pass) on "
                "random 64 x 200 inputs, 1639 training and 430 validation clips; medians "
                "over every timed epoch of every trial",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hardware": describe_hardware(),
        "load_average": os.getloadavg(),
        "trials": trials,
        "median": summary,
        "speedup": summary["off"]["wall_s"] / summary["on"]["wall_s"],
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"median epoch: {summary['off']['wall_s']:.1f} s off, {summary['on']['wall_s']:.1f} s "
          f"on: {result['speedup']:.2f}x  -> {args.out}")
    return result


if __name__ == "__main__":
    main()
