"""The stored benchmark of feature extraction (``benchmarks/results/features.json``,
written by ``benchmarks/bench_features.py``) as chapter 3 shows it: a table of timings and
a few sentences. Nothing is measured here; the numbers are read from the stored file.
"""
from __future__ import annotations

import json

import pandas as pd

__all__ = ["FEATURE_BENCHMARK", "load_feature_benchmark", "compute_feature_benchmark_table",
           "describe_feature_benchmark"]

#: the stored result, relative to the repository root
FEATURE_BENCHMARK = "benchmarks/results/features.json"


def load_feature_benchmark() -> dict:
    """The stored feature benchmark (:data:`FEATURE_BENCHMARK`), as a dict."""
    from fser_utils.config import get_stored_path

    return json.loads(get_stored_path(FEATURE_BENCHMARK).read_text())


def compute_feature_benchmark_table(*, bench: dict) -> pd.DataFrame:
    """One row per timed task: median seconds and clips per second.

    Parameters
    ----------
    bench : dict
        From :func:`load_feature_benchmark`.

    Returns
    -------
    table : pd.DataFrame
        Index ``task``; columns ``median seconds`` and ``clips per second``.
    """
    n, n_paper = bench["n_clips"], bench["n_clips_paper"]
    rates, med = bench["clips_per_second"], bench["median_seconds"]
    tasks = [
        (f"cold extraction, all {n} clips (n_jobs={bench['n_jobs']})", "cold_seconds", "cold"),
        (f"warm load, paper's corpora ({n_paper} clips)", "warm_paper_seconds", "warm_paper"),
        (f"warm load, all {n} clips", "warm_all_seconds", "warm_all"),
        ("package, one process (n_jobs=1, no cache)", "serial_seconds", "serial"),
        ("naive loop, one process, one BLAS thread", "naive_seconds", "naive"),
        (f"naive loop, default BLAS threads ({bench['naive_default_threads_clips']} clips)",
         "naive_default_threads_seconds", "naive_default_threads"),
    ]
    return pd.DataFrame([{"task": task, "median seconds": med[seconds],
                          "clips per second": rates[rate]} for task, seconds, rate in tasks]
                        ).set_index("task")


def describe_feature_benchmark(*, bench: dict, part: str = "setting") -> list[str]:
    """Sentences on the stored feature benchmark.

    Parameters
    ----------
    bench : dict
        From :func:`load_feature_benchmark`.
    part : {"setting", "findings"}
        ``"setting"``: when, where and on what it was measured; ``"findings"``: CPU time
        per clip, the speed-ups and whether the targets were met.

    Returns
    -------
    lines : list of str
    """
    hw, load = bench["hardware"], bench["load_average_1_5_15min"]
    if part == "setting":
        return [f"measured {bench['date']} (commit {bench['commit']}) on {hw['nproc']} x "
                f"{hw['cpu']} (load average {load['before'][0]:.1f} before, "
                f"{load['after'][0]:.1f} after: a shared machine)",
                f"{bench['n_clips']} clips ({bench['n_clips_paper']} in the paper's corpora), "
                f"{bench['audio_minutes']:.0f} minutes of audio; {bench['repeats']} repeats"]
    if part != "findings":
        raise ValueError(f"part must be 'setting' or 'findings' (got {part!r})")
    cpu, rates, med = bench["cpu_ms_per_clip"], bench["clips_per_second"], bench["median_seconds"]
    met = {True: "met", False: "NOT met"}
    gain = med["serial_seconds"] / med["cold_seconds"]
    agree = bench["naive_vs_ours_rgb_values"]
    return [
        f"CPU time per clip, one process: package {cpu['package']:.2f} ms, naive loop "
        f"{cpu['naive']:.2f} ms ({bench['cpu_ratio_naive_vs_package']:.1f} x less work per "
        f"clip); decoding the file alone: {cpu['decoding_alone']:.2f} ms",
        f"cold extraction is {bench['speedup_cold_vs_naive']:.1f} x the naive loop (target: "
        f"at least 3 x): {met[bool(bench['targets']['cold_at_least_3x_naive'])]}",
        "  per repeat (cold extraction and naive loop run back to back): "
        + ", ".join(f"{r:.1f} x" for r in bench["speedup_per_repeat"]),
        f"against the naive loop as usually run (default BLAS threads): "
        f"{rates['cold'] / rates['naive_default_threads']:.1f} x",
        f"two workers against one process: {gain:.1f} x "
        + ("(both cores were mostly free)" if gain > 1.4 else
           f"(the cores were busy with other jobs; autogroup scheduling "
           f"{hw['sched_autogroup']})"),
        f"warm load of the paper's corpora: {med['warm_paper_seconds']:.2f} s (target: at most "
        f"2 s): {met[bool(bench['targets']['warm_paper_at_most_2s'])]}",
        f"naive and package images: largest difference {agree['max_abs_difference']} of 255 "
        f"in an RGB value, in a share {agree['share_of_values_differing']:.1e} of all values",
    ]
