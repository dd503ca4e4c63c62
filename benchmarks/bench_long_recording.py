"""Benchmark ``fser predict`` on long recordings: peak memory and time against length.

Generates recordings of ``--minutes`` (default 10 and 60) at 16 kHz, written 10 s at a
time (never held whole), with speech-like sound and pauses; builds a run with the
paper's FSER network (untrained: the architecture, not the weights, sets the cost);
then, each in a fresh process:

- ``baseline``: ``fser predict CLIP`` on a 3 s clip: what any ``fser predict`` costs
  (TensorFlow, librosa, the model) before the length of the recording matters;
- ``windows``: ``fser predict FILE --windows-out W.csv`` (3 s windows every 1.5 s,
  streamed), the table written;
- ``whole`` (``--whole``): the same file read and scored as one clip (the behaviour
  before windows; its memory grows with the length).

Each process runs under each Keras backend of ``--backends`` (TensorFlow: about 800 MB
resident once imported; JAX, which ``fser predict`` uses when no backend is chosen:
about 350 MB) and reports its peak resident memory (``ru_maxrss``, and the same
sampled from ``/proc`` every 20 ms), the same right after the imports, the peak of
its private memory (``RssAnon``), and the wall-clock time of the command after the
imports (model loading, scoring and writing). (``tracemalloc`` is left to
``tests/test_windows.py``: in the same process it would inflate the peak it
measures.) The numbers go to
``benchmarks/results/long_recording.json``::

    python benchmarks/bench_long_recording.py [--minutes 10 60] [--whole]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

#: the child process: one measurement, printed as JSON on its last line of stdout
CHILD = r"""
import json, resource, sys, threading, time
mode, run, audio, out = sys.argv[1:5]

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

anon, rss = [0], [0]
def sample_anon():  # the kernel keeps no peak of private memory: sample it (and the RSS)
    while True:
        with open("/proc/self/status") as f:
            kb = {l.split(":")[0]: int(l.split()[1]) for l in f if l.startswith("Rss")}
        anon[0] = max(anon[0], kb["RssAnon"] / 1024)
        rss[0] = max(rss[0], (kb["RssAnon"] + kb["RssFile"] + kb["RssShmem"]) / 1024)
        time.sleep(0.02)
threading.Thread(target=sample_anon, daemon=True).start()

t0 = time.perf_counter()
import keras, librosa  # what every run imports anyway (keras loads its backend): measured apart
from fser_utils.cli import main
from fser_utils.scoring.predict import predict_files
imports = {"import_seconds": time.perf_counter() - t0, "maxrss_after_imports_mb": peak_mb()}
t0 = time.perf_counter()
if mode == "whole":
    scores, errors = predict_files([audio], run_dir=run, windows=False)
    status = int(len(errors) > 0)
else:  # the command itself: model loading, scoring, the table written
    status = main(["predict", audio, "--run", run]
                  + (["--windows-out", out] if mode == "windows" else []))
print(json.dumps({"mode": mode, "backend": keras.backend.backend(), "status": status, **imports,
                  "seconds": time.perf_counter() - t0, "maxrss_mb": peak_mb(),
                  "peak_private_mb": anon[0], "peak_rss_sampled_mb": rss[0]}))
"""


def write_recording(path: Path, *, minutes: float, sr: int = 16000) -> Path:
    """Speech-like sound (a tone with a syllable-rate envelope) with a 2 s pause every
    10 s, written 10 s at a time as 16-bit WAV."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(10 * sr) / sr
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        for start in np.arange(0, minutes * 60, 10.0):
            pitch = 150 + 100 * rng.random()
            y = 0.3 * np.sin(2 * np.pi * pitch * t) * (1 + np.sin(2 * np.pi * 4 * t)) / 2
            y += 0.005 * rng.normal(size=t.size)
            y[-2 * sr:] = 0.002 * rng.normal(size=2 * sr)
            f.write(y[:int(round((minutes * 60 - start) * sr))].astype(np.float32))
    return path


MAKE_RUN = r"""
import json, sys
from pathlib import Path
from fser_utils.features import FeatureSettings
from fser_utils.models.paper_cnn import build_fser

folder = Path(sys.argv[1])
settings = FeatureSettings()
folder.mkdir(parents=True, exist_ok=True)
build_fser(input_shape=settings.shape).save(folder / "model.keras")
(folder / "settings.json").write_text(json.dumps({"profile": "bench", "split": "paper",
                                                  "features": settings.asdict()}))
"""


def make_run(folder: Path) -> Path:
    """A run folder with the paper's network, untrained, and the paper's features.

    Built in a child process: Linux hands a parent's peak resident size on to the
    children it forks (``ru_maxrss``), so this process must never load TensorFlow.
    """
    subprocess.run([sys.executable, "-c", MAKE_RUN, str(folder)], check=True,
                   capture_output=True)
    return folder


def measure(mode: str, run: Path, audio: Path, out: Path, *, backend: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(run), str(audio), str(out)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "KERAS_BACKEND": backend})
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SystemExit(f"{mode} on {audio.name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--whole", action="store_true",
                        help="also score each file whole, as before windows (memory grows)")
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"],
                        help="Keras backends to measure (TensorFlow alone costs ~800 MB "
                             "resident once imported, JAX ~350 MB)")
    parser.add_argument("--out", default=str(HERE / "results" / "long_recording.json"))
    args = parser.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = make_run(tmp / "run")
        clip = write_recording(tmp / "clip.wav", minutes=0.05)  # 3 s
        for backend in args.backends:
            results.append({"minutes": 0.05, **measure("baseline", run, clip, tmp / "clip.csv",
                                                       backend=backend)})
            print(json.dumps(results[-1]), file=sys.stderr)
        for minutes in args.minutes:
            t0 = time.perf_counter()
            audio = write_recording(tmp / f"{minutes:g}min.wav", minutes=minutes)
            written = time.perf_counter() - t0
            modes = ("windows", "whole") if args.whole else ("windows",)
            for mode, backend in [(m, b) for m in modes for b in args.backends]:
                row = {"minutes": minutes, "file_mb": audio.stat().st_size / 2**20,
                       "write_seconds": written,
                       **measure(mode, run, audio, tmp / f"{minutes:g}min.csv",
                                 backend=backend)}
                if mode == "windows":
                    row["windows"] = sum(1 for _ in open(tmp / f"{minutes:g}min.csv")) - 1
                results.append(row)
                print(json.dumps(row), file=sys.stderr)
    payload = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": f"{platform.processor() or platform.machine()}, "
                          f"{os.cpu_count()} CPU cores",
               "python": platform.python_version(), "results": results}
    Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
