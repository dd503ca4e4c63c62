"""Benchmark the feature pipeline against a naive librosa loop, on every clip of a data root.

Measures, in one run and on the same files:

- cold extraction: :func:`fser_utils.features.load_features` with an empty cache
  (parallel, joblib), repeated ``--repeats`` times with the cache cleared each time,
  each followed by one naive loop (below), so that both see the same machine load;
- warm load: the same call once the cache exists (median of ``--repeats``), for the
  paper's corpora (EmoDB, EMOVO, SAVEE, RAVDESS: those present) and for all clips;
- the package in one process (``n_jobs=1``, no cache), wall-clock and CPU time, and
  the CPU time of decoding the files alone;
- naive loop: one process, ``librosa.load`` + ``librosa.feature.melspectrogram`` +
  ``librosa.power_to_db`` + the same image conversion, file after file, on all clips
  with BLAS limited to one thread (its fastest form on a shared machine: with the
  default BLAS threads competing with other processes it is many times slower, which
  is measured too, on a random sample of ``--naive-sample`` clips).

and writes the numbers with the hardware to ``benchmarks/results/features.json``::

    FSER_DATA=/path/to/corpora python benchmarks/bench_features.py
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """The commit the benchmark ran on ('+changes': the measured code was modified)."""
    from fser_utils.config import describe_commit

    return describe_commit(HERE.parent, ("fser_utils/features",
                                         "benchmarks/bench_features.py"), short=7) or "unknown"


def sched_autogroup() -> str:
    """Whether Linux shares CPU time per session (then extra workers share one portion)."""
    try:
        return {"1": "on", "0": "off"}[
            Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()]
    except (OSError, KeyError):
        return "unknown"


def naive_image(path, settings):
    """The straightforward way: librosa end to end, then the package's image conversion."""
    import librosa

    from fser_utils.features import _colour_table, _grey_levels

    y, sr = librosa.load(path, sr=settings.sr)
    S = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=settings.n_fft,
                                       hop_length=settings.hop_length, n_mels=settings.n_mels,
                                       window=settings.window)
    S_db = librosa.power_to_db(S, ref=np.max, top_db=settings.top_db)
    grey = _grey_levels(S_db, top_db=settings.top_db, image_size=settings.image_size)
    return _colour_table(settings.cmap)[grey]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="data root (default: $FSER_DATA)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="cold extractions and naive loops (warm loads: at least 3)")
    parser.add_argument("--jobs", type=int, default=-1)
    parser.add_argument("--naive-sample", type=int, default=300,
                        help="random clips for the naive loop with default BLAS threads")
    parser.add_argument("--out", default=str(HERE / "results" / "features.json"))
    args = parser.parse_args(argv)

    import librosa

    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.data.corpora import EXTRA_CORPORA, PAPER_CORPORA
    from fser_utils.features import FeatureSettings, load_features

    cat = load_catalogue(args.root, corpora=PAPER_CORPORA + EXTRA_CORPORA)
    if cat.empty:
        print(f"no corpus under {cat.attrs['root']}; set FSER_DATA or --root", file=sys.stderr)
        return 1
    paper = cat[cat["corpus"].isin(PAPER_CORPORA)].reset_index(drop=True)
    settings = FeatureSettings()
    n_all = len(cat)
    print(f"{n_all} clips ({len(paper)} in the paper's corpora) under {cat.attrs['root']}")

    cache_root = Path(tempfile.mkdtemp(prefix="fser-bench-"))
    os.environ["FSER_CACHE"] = str(cache_root)
    results = {"cold_seconds": [], "warm_paper_seconds": [], "warm_all_seconds": [],
               "naive_seconds": [], "naive_default_threads_seconds": [],
               "serial_seconds": [], "serial_cpu_seconds": [], "naive_cpu_seconds": [],
               "decode_cpu_seconds": []}
    load_before = os.getloadavg()
    try:
        from threadpoolctl import threadpool_limits

        naive_image(cat["path"][0], settings)  # imports and librosa's first-call set-up
        # cold extraction and the naive loop alternate, so that both see the same
        # (shared, varying) load on the machine
        for rep in range(args.repeats):
            shutil.rmtree(cache_root / "features", ignore_errors=True)
            t0 = time.perf_counter()
            X, kept = load_features(cat, settings, n_jobs=args.jobs, progress=False)
            results["cold_seconds"].append(time.perf_counter() - t0)
            assert kept.attrs["n_computed"] == n_all and len(X) == n_all
            print(f"cold extraction {rep + 1}: {results['cold_seconds'][-1]:.2f} s")
            t0, c0 = time.perf_counter(), time.process_time()
            load_features(cat, settings, n_jobs=1, cache=False, progress=False)
            results["serial_seconds"].append(time.perf_counter() - t0)
            results["serial_cpu_seconds"].append(time.process_time() - c0)
            c0 = time.process_time()
            for path in cat["path"]:
                sf.read(path, dtype="float32")
            results["decode_cpu_seconds"].append(time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            with threadpool_limits(limits=1, user_api="blas"):
                naive = [naive_image(path, settings) for path in cat["path"]]
            results["naive_seconds"].append(time.perf_counter() - t0)
            results["naive_cpu_seconds"].append(time.process_time() - c0)
            print(f"package, one process: {results['serial_seconds'][-1]:.2f} s "
                  f"({results['serial_cpu_seconds'][-1]:.2f} s CPU); naive loop: "
                  f"{results['naive_seconds'][-1]:.2f} s ({results['naive_cpu_seconds'][-1]:.2f}"
                  f" s CPU) for {n_all} clips")
        for rep in range(max(3, args.repeats)):
            t0 = time.perf_counter()
            Xp, kept = load_features(paper, settings, n_jobs=args.jobs, progress=False)
            results["warm_paper_seconds"].append(time.perf_counter() - t0)
            assert kept.attrs["n_computed"] == 0
            t0 = time.perf_counter()
            Xa, kept = load_features(cat, settings, n_jobs=args.jobs, progress=False)
            results["warm_all_seconds"].append(time.perf_counter() - t0)
            assert kept.attrs["n_computed"] == 0
        print(f"warm load: {statistics.median(results['warm_paper_seconds']):.3f} s "
              f"(paper corpora), {statistics.median(results['warm_all_seconds']):.3f} s (all)")
        naive_idx = np.arange(n_all)
        sample = np.random.default_rng(0).choice(n_all, size=min(args.naive_sample, n_all),
                                                 replace=False)
        t0 = time.perf_counter()
        for i in sample:
            naive_image(cat["path"][i], settings)
        results["naive_default_threads_seconds"].append(time.perf_counter() - t0)
        print(f"naive loop, default BLAS threads: "
              f"{results['naive_default_threads_seconds'][-1]:.2f} s for {len(sample)} clips")
        naive = np.stack(naive)
        ours = np.round(X[naive_idx] * 255).astype(np.uint8)
        diff = np.abs(naive.astype(int) - ours.astype(int))
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in results.items()}
    cold_rate = n_all / med["cold_seconds"]
    naive_rate = n_all / med["naive_seconds"]
    out = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "hardware": {"cpu": cpu_model(), "nproc": os.cpu_count(),
                     "python": platform.python_version(), "numpy": np.__version__,
                     "librosa": librosa.__version__, "platform": platform.platform(),
                     "sched_autogroup": sched_autogroup()},
        "settings": settings.asdict(), "n_jobs": args.jobs, "repeats": args.repeats,
        "n_clips": n_all, "n_clips_paper": len(paper),
        "clips_per_corpus": cat["corpus"].value_counts().to_dict(),
        "audio_minutes": float(cat["duration"].sum() / 60),
        "naive_default_threads_clips": int(len(sample)),
        "load_average_1_5_15min": {"before": [round(x, 2) for x in load_before],
                                   "after": [round(x, 2) for x in os.getloadavg()]},
        **{k: [round(x, 4) for x in v] for k, v in results.items()},
        "median_seconds": {k: round(v, 4) for k, v in med.items()},
        "clips_per_second": {
            "cold": round(cold_rate, 1),
            "warm_paper": round(len(paper) / med["warm_paper_seconds"], 1),
            "warm_all": round(n_all / med["warm_all_seconds"], 1),
            "serial": round(n_all / med["serial_seconds"], 1),
            "naive": round(naive_rate, 1),
            "naive_default_threads": round(len(sample) / med["naive_default_threads_seconds"], 1)},
        "speedup_cold_vs_naive": round(cold_rate / naive_rate, 2),
        "speedup_cold_vs_naive_default_threads": round(
            cold_rate * med["naive_default_threads_seconds"] / len(sample), 2),
        "speedup_per_repeat": [round(n / c, 2) for n, c in
                               zip(results["naive_seconds"], results["cold_seconds"])],
        # CPU time does not depend on how busy the shared machine is: the work per clip
        "cpu_ms_per_clip": {"package": round(1000 * med["serial_cpu_seconds"] / n_all, 3),
                            "naive": round(1000 * med["naive_cpu_seconds"] / n_all, 3),
                            "decoding_alone": round(1000 * med["decode_cpu_seconds"] / n_all, 3)},
        "cpu_ratio_naive_vs_package": round(med["naive_cpu_seconds"]
                                            / med["serial_cpu_seconds"], 2),
        "naive_vs_ours_rgb_values": {"max_abs_difference": int(diff.max()),
                                      "share_of_values_differing": float((diff > 0).mean())},
        "targets": {"cold_at_least_3x_naive": bool(cold_rate / naive_rate >= 3),
                    "warm_paper_at_most_2s": bool(med["warm_paper_seconds"] <= 2.0)},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in ("clips_per_second", "speedup_cold_vs_naive",
                                          "cpu_ms_per_clip", "cpu_ratio_naive_vs_package",
                                          "naive_vs_ours_rgb_values", "targets")}, indent=2))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
