"""Scoring speed: the shipped recognizer (ONNX) against the Keras path it replaces.

Three measurements, each for both paths in the same process tree and the same session,
so that their ratio is fair even when another job shares the CPU:

* ``fser predict one.wav`` from a cold start (a new process): median wall time and
  median peak resident memory over ``--repeats`` runs;
* ``fser predict FOLDER`` over 500 clips of 3 s: clips per second (median of 3);
* a warm ``Recognizer.predict`` of one 3-s clip in memory: median milliseconds.

The Keras path is today's ``fser predict --run RUN`` on a run that was not exported
(Keras with the JAX backend, librosa features); the ONNX path is ``fser predict`` with
the shipped model. Usage::

    python benchmarks/bench_scoring.py --run RUN_DIR [--root DATA] [--out JSON]

``RUN_DIR`` is a finished, unexported run of the default model (the shipped model's own
run is the fair one: the same network). Writes ``benchmarks/results/scoring.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGETS = {"cold_seconds": 2.0, "cold_peak_mb": 300.0, "folder_clips_per_second": 50.0,
           "warm_ms": 30.0}


def _clips(root: Path, n: int, seconds: float = 3.0) -> list[np.ndarray]:
    """``n`` real speech clips of exactly ``seconds`` (RAVDESS, cut or zero-padded)."""
    import soundfile as sf

    files = sorted((root / "ravdess").rglob("*.flac"))[:n]
    if len(files) < n:
        raise SystemExit(f"need {n} RAVDESS clips under {root}")
    out = []
    for f in files:
        y, sr = sf.read(f, dtype="float32")
        size = int(seconds * sr)
        out.append((np.pad(y, (0, max(0, size - len(y))))[:size], sr))
    return out


def _cpu_name() -> str:
    """The CPU's model name as Linux reports it (the machine's architecture elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _timed(cmd: list[str], env: dict) -> float:
    """Wall seconds of one command in a new process."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-500:]}")
    return wall


def _peak_mb(cmd: list[str], env: dict) -> float:
    """Peak resident memory of ``cmd`` [MB], from a wrapper process that runs only it."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True,
                         env=env)
    return int(out.stdout.strip()) / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="an unexported run of the default model")
    parser.add_argument("--root", default=os.environ.get("FSER_DATA"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "scoring.json"))
    args = parser.parse_args()
    import soundfile as sf

    from fser_utils.scoring.recognizer import Recognizer

    fser = str(Path(sys.executable).with_name("fser"))
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    clips = _clips(Path(args.root), 500)
    paths = {"onnx": [], "keras": ["--run", args.run]}
    result = {"hardware": _cpu_name(),
              "cpu_count": os.cpu_count(), "repeats": args.repeats, "targets": TARGETS}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "clips"
        folder.mkdir()
        for i, (y, sr) in enumerate(clips):
            sf.write(folder / f"clip{i:03d}.wav", y, sr)
        one = str(folder / "clip000.wav")
        for name, extra in paths.items():
            cmd = [fser, "predict", one, *extra]
            walls = [_timed(cmd, env) for _ in range(args.repeats)]
            peaks = [_peak_mb(cmd, env) for _ in range(args.repeats)]
            folder_rates = []
            for _ in range(3):
                wall = _timed([fser, "predict", str(folder), *extra], env)
                folder_rates.append(len(clips) / wall)
            result[name] = {"cold_seconds": statistics.median(walls), "cold_seconds_all": walls,
                            "cold_peak_mb": statistics.median(peaks),
                            "folder_clips_per_second": statistics.median(folder_rates),
                            "folder_clips_per_second_all": folder_rates}
            print(name, result[name], flush=True)
    y, sr = clips[0]
    for name, rec in (("onnx", Recognizer.pretrained()), ("keras", Recognizer.from_run(args.run))):
        rec.predict(y, sr=sr)  # warm: imports, graph compilation
        times = []
        for _ in range(50):
            t0 = time.perf_counter()
            rec.predict(y, sr=sr)
            times.append(1000 * (time.perf_counter() - t0))
        result[name]["warm_ms"] = statistics.median(times)
        result[name]["engine"] = rec.engine
    result["ratios"] = {
        "cold_seconds": result["keras"]["cold_seconds"] / result["onnx"]["cold_seconds"],
        "cold_peak_mb": result["keras"]["cold_peak_mb"] / result["onnx"]["cold_peak_mb"],
        "folder_clips_per_second": (result["onnx"]["folder_clips_per_second"]
                                    / result["keras"]["folder_clips_per_second"]),
        "warm_ms": result["keras"]["warm_ms"] / result["onnx"]["warm_ms"]}
    result["met"] = {k: (result["onnx"][k] <= v if k != "folder_clips_per_second"
                         else result["onnx"][k] >= v) for k, v in TARGETS.items()}
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps({"ratios": result["ratios"], "met": result["met"]}, indent=2))


if __name__ == "__main__":
    main()
