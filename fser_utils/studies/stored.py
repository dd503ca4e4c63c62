"""The book's headline numbers from chapter 8's stored runs, and how the data differ from the
paper's. Every number here is read from the small files stored with the book
(``results/paper_recipe``); nothing trains and nothing reads audio, except
:func:`compute_data_caveats`, which looks at the corpora when they are on this machine. The
chapters' own functions do the work, with the rules chapter 8 applies: the paper's recipe
at its full budget, its accuracy and bootstrap interval as chapter 7's claims table
computes them (:func:`compute_paper_recipe`, per corpus and by sex); its three seeds, the
test accuracy at the epoch chosen on validation as chapter 8 reads it from each history,
averaged as chapter 9 averages seeds (:func:`compute_paper_recipe_seeds`); and the leak
arms that need no corpus, augmenting before the split (arm a) and choosing the epoch on
the test set (arm b) (:func:`compute_leak_before_split`, :func:`compute_closest_leak`).
Each result is a dict whose value and 95 % interval are ``{metric}``, ``{metric}_low`` and
``{metric}_high`` (percent, or percentage points for a difference), beside what a reader
needs to judge it: ``protocol``, ``budget``, ``hardware``, ``seeds``;
:mod:`fser_utils.studies.findings` lays them out.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from fser_utils.studies.compare import compute_comparison_table
from fser_utils.paper import PAPER_ACCURACY, PAPER_CORPUS_SIZES, PAPER_N_CLIPS, PAPER_RECIPE

__all__ = ["PAPER_RECIPE_RUNS", "LEAK_RUN", "describe_hardware", "describe_devices",
           "read_comparison_row", "compute_paper_recipe",
           "compute_paper_recipe_seeds", "compute_paper_recipe_corpora",
           "compute_paper_recipe_sex_gap", "compute_leak_before_split", "compute_converged_arms",
           "compute_closest_leak",
           "compute_data_caveats"]

#: chapter 8's honest runs of the paper's recipe (``results/paper_recipe``), by seed
PAPER_RECIPE_RUNS = {42: "fser-paper-paper-gpu", 1: "fser-paper-paper-gpu-s1",
                     2: "fser-paper-paper-gpu-s2"}
#: chapter 8's leak arm (a): the paper's copies made before the split
LEAK_RUN = "leak-pooled-paper-gpu"


# -- small helpers ---------------------------------------------------------------------

def describe_hardware(hardware: str) -> str:
    """A run's hardware in a few words: ``NVIDIA H200`` for a GPU run, ``2-core AMD EPYC
    CPU`` for a CPU run (the string each run's settings record)."""
    if "GPU:" in hardware:
        return re.sub(r"\s+\d+GB.*$", "", hardware.split("GPU:")[-1].strip())
    cpu = re.sub(r"\s*\(.*?\)", "", hardware.split(";")[0])
    cores = re.search(r"(\d+) CPU cores", cpu)
    name = re.sub(r",?\s*\d+ CPU cores", "", cpu).strip()
    return f"{cores.group(1)}-core {name} CPU" if cores else name


def describe_devices(hardware_strings) -> str:
    """The distinct devices of several runs, joined with ``+``."""
    return " + ".join(sorted({describe_hardware(h) for h in hardware_strings}))


def _stored(relpath: str):
    from fser_utils.config import get_stored_path

    return get_stored_path(relpath)


def _interval(result, metric: str = "accuracy") -> dict:
    """``metric``, ``metric_low``, ``metric_high`` of a result (dict or table row), as floats."""
    return {k: float(result[k]) for k in (metric, f"{metric}_low", f"{metric}_high")}


def read_comparison_row(row, *, metric: str = "accuracy") -> dict:
    """A row of :func:`fser_utils.studies.compare.compute_comparison_table` as a result dict."""
    return {metric: float(row["accuracy"]), f"{metric}_low": float(row["accuracy_low"]),
            f"{metric}_high": float(row["accuracy_high"]), "seeds": int(row["seeds"]),
            "val_accuracy": float(row["val_accuracy"]),
            "train_minutes": float(row["train_minutes"])}


# -- the paper's recipe (chapter 8) -----------------------------------------------------

def compute_paper_recipe(*, n_boot: int = 2000, seed: int = 0) -> dict:
    """The paper's recipe at its full budget, seed 42 (chapter 8's honest run).

    The test accuracy of the epoch chosen on validation with its bootstrap interval over
    the test clips, computed as chapter 7's claims table computes it
    (:func:`fser_utils.studies.robustness.compute_run_table`).

    Returns
    -------
    result : dict
        ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%], ``paper`` (the paper's
        95.05 %), ``below_paper`` [points], ``n_test``, ``epochs`` (run),
        ``epochs_planned`` (the paper's 400), ``best_epoch``, ``corpora``, ``protocol``,
        ``budget``, ``hardware``, ``run``.
    """
    from fser_utils.studies.robustness import compute_run_table, describe_budget, describe_protocol
    from fser_utils.training.run import Run

    path = _stored(f"results/paper_recipe/{PAPER_RECIPE_RUNS[42]}")
    row = compute_run_table({path.name: path}, n_boot=n_boot, seed=seed).iloc[0]
    run = Run(path)
    settings, metrics = run.load_settings(), run.load_metrics()
    return {**_interval(row), "paper": PAPER_ACCURACY,
            "below_paper": PAPER_ACCURACY - float(row["accuracy"]),
            "n_test": int(row["n_test"]), "epochs": int(metrics["epochs_run"]),
            "epochs_planned": PAPER_RECIPE["epochs"], "best_epoch": int(metrics["best_epoch"]),
            "n_train_images": int(metrics["n_train_images"]),
            "corpora": list(settings["corpora"]), "seed": int(settings["seed"]),
            "protocol": describe_protocol(settings["split"]),
            "budget": describe_budget(path), "hardware": describe_hardware(settings["hardware"]),
            "run": path.name}


def compute_paper_recipe_seeds() -> dict:
    """The paper's recipe over its three seeds (chapter 8, section 2).

    Each seed's test accuracy at the epoch chosen on validation, read from its history
    with a Wilson interval (:func:`fser_utils.studies.leaks.compute_select_on_test`; seeds 1 and 2
    stored no predictions), averaged with chapter 9's rule for seeds
    (:func:`fser_utils.studies.compare.compute_comparison_table`: the spread between seeds and each
    seed's binomial standard error on its test clips). Seeds 1 and 2 stopped before epoch
    400 when the lent GPU time ran out: ``epochs_run`` says where each stopped.

    Returns
    -------
    result : dict
        ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%] of the mean, ``seeds``,
        ``epochs_run`` ({seed: epochs}), ``epochs_min``, ``epochs_max``,
        ``epochs_planned``, ``full_budget`` (whether every seed reached it), ``per_seed``
        (a table), ``paper``, ``hardware``.
    """
    from fser_utils.studies.leaks import compute_select_on_test
    from fser_utils.training.run import Run

    rows, hardware = [], []
    for seed, name in PAPER_RECIPE_RUNS.items():
        run = Run(_stored(f"results/paper_recipe/{name}"))
        history = run.load_history()
        chosen = compute_select_on_test(history, run.count_clips("test")).iloc[0]
        rows.append({"model": "fser", "protocol": "paper", "seed": seed,
                     "epochs_run": len(history), "epoch": int(chosen["epoch"]),
                     **_interval(chosen), "accuracy_se": float(chosen["accuracy_se"]),
                     "macro_f1": np.nan, "macro_f1_se": np.nan,
                     "val_accuracy": 100 * float(history["val_accuracy"].max()),
                     "params": np.nan, "train_minutes": history["seconds"].sum() / 60,
                     "scoring_ms": np.nan})
        hardware.append(run.load_settings()["hardware"])
    per_seed = pd.DataFrame(rows)
    mean = compute_comparison_table(per_seed).iloc[0]
    epochs = dict(zip(per_seed["seed"], per_seed["epochs_run"]))
    return {**read_comparison_row(mean), "epochs_run": epochs,
            "epochs_min": int(min(epochs.values())), "epochs_max": int(max(epochs.values())),
            "epochs_planned": PAPER_RECIPE["epochs"],
            "full_budget": all(e >= PAPER_RECIPE["epochs"] for e in epochs.values()),
            "per_seed": per_seed[["seed", "epochs_run", "epoch", "accuracy", "accuracy_low",
                                  "accuracy_high"]],
            "paper": PAPER_ACCURACY, "hardware": describe_devices(hardware)}


def _paper_recipe_predictions() -> pd.DataFrame:
    from fser_utils.training.run import Run

    return Run(_stored(f"results/paper_recipe/{PAPER_RECIPE_RUNS[42]}")).load_predictions()


def compute_paper_recipe_corpora(*, n_boot: int = 2000, seed: int = 0) -> dict:
    """The full-budget run's accuracy on each corpus's test clips, beside Table 4.

    Returns
    -------
    result : dict of str -> dict
        Corpus -> ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%], ``n`` and
        ``paper`` (Table 4's number); a corpus absent from the run (SAVEE) has only
        ``paper`` and ``n`` = 0.
    """
    from fser_utils.studies.evaluate import compute_group_accuracy
    from fser_utils.paper import get_paper_corpus_accuracy

    table = compute_group_accuracy(_paper_recipe_predictions(), "corpus", n_boot=n_boot,
                                   seed=seed).set_index("corpus")
    out = {}
    for corpus, claimed in get_paper_corpus_accuracy().items():
        if corpus in table.index:
            r = table.loc[corpus]
            out[corpus] = {**_interval(r), "n": int(r["n"]), "paper": claimed}
        else:
            out[corpus] = {"paper": claimed, "n": 0}
    return out


def compute_paper_recipe_sex_gap(*, n_boot: int = 2000, seed: int = 0) -> dict:
    """Female minus male test accuracy of the full-budget run [points], with its 95 %
    interval (:func:`fser_utils.studies.robustness.compute_group_gap`)."""
    from fser_utils.studies.robustness import compute_group_gap

    gap = compute_group_gap(_paper_recipe_predictions(), "sex", ("female", "male"),
                            n_boot=n_boot, seed=seed)
    return {**_interval(gap, "difference"), "female": float(gap["acc_a"]),
            "male": float(gap["acc_b"])}


# -- the leaks (chapter 8) -------------------------------------------------------------

def compute_leak_before_split() -> dict:
    """Leak arm (a): the paper's 20 copies made before the split, then the recipe at its
    full budget; tested on the pooled test pictures (chapter 8, section 4).

    Returns
    -------
    result : dict
        ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%] (bootstrap over the test
        pictures, stored by the run), ``below_paper`` [points], ``n_test`` (pictures),
        ``same_clip_in_train`` [%], ``epochs``, ``hardware``.
    """
    from fser_utils.studies.evaluate import rename_old_interval_names
    from fser_utils.training.run import Run

    run = Run(_stored(f"results/paper_recipe/{LEAK_RUN}"))
    # stored before intervals were named accuracy_low, accuracy_high
    m, settings = rename_old_interval_names(run.load_metrics()), run.load_settings()
    accuracy = 100 * float(m["test_accuracy"])
    return {"arm": "augmenting before the split", "accuracy": accuracy,
            "accuracy_low": float(m["accuracy_low"]), "accuracy_high": float(m["accuracy_high"]),
            "below_paper": PAPER_ACCURACY - accuracy, "n_test": int(m["n_test"]),
            "same_clip_in_train": float(m["same_clip_in_train"]),
            "epochs": int(m["epochs_run"]), "hardware": describe_hardware(settings["hardware"])}


#: chapter 8's runs trained until they fit their training pictures (profile converge)
CONVERGED_RUNS = {"honest": "fser-converge-paper", "pooled": "leak-pooled-converge"}


@functools.lru_cache(maxsize=1)
def _load_converged() -> tuple | None:
    """The converged runs' metrics and their combinations table (indexed by
    ``mistakes``), or None when they are not stored. Computed once per process: the
    findings page asks for them three times, and each table bootstraps every pooled
    test picture."""
    from fser_utils.studies.converged import compute_arm_combinations
    from fser_utils.training.run import Run

    runs = {k: Run(_stored(f"results/converged/{name}")) for k, name in CONVERGED_RUNS.items()}
    if not all(run.is_finished for run in runs.values()):
        return None
    table = compute_arm_combinations(runs["honest"], runs["pooled"], None)
    return {k: run.load_metrics() for k, run in runs.items()}, table.set_index("mistakes")


def compute_converged_leaks() -> list:
    """The combinations holding arm (a) among chapter 8's converged runs, as leak arms.

    Returns
    -------
    arms : list of dict
        ``arm``, ``accuracy``, ``accuracy_low``, ``accuracy_high``, ``below_paper``; empty
        when the converged runs are not stored.
    """
    from fser_utils.studies.converged import describe_combination

    loaded = _load_converged()
    if loaded is None:
        return []
    metrics, table = loaded
    epochs = metrics["pooled"]["epochs_run"]
    return [{"arm": f"{describe_combination(mistakes)}, Adam, {epochs} epochs", **_interval(row),
             "below_paper": PAPER_ACCURACY - float(row["accuracy"])}
            for mistakes, row in table.iterrows() if "a" in mistakes]


def compute_converged_arms() -> dict:
    """Chapter 8's honest run and arm (a), each trained until it fits its training set.

    Returns
    -------
    arms : dict
        ``honest`` and ``pooled``, each ``accuracy``, ``accuracy_low``, ``accuracy_high``
        [%] at the epoch chosen on validation, ``epochs_run`` and ``stop_reason``; empty
        when the converged runs are not stored.
    """
    loaded = _load_converged()
    if loaded is None:
        return {}
    metrics, table = loaded
    return {key: {**_interval(table.loc[mistakes]), "epochs_run": int(metrics[key]["epochs_run"]),
                  "stop_reason": str(metrics[key].get("stop_reason", ""))}
            for key, mistakes in (("honest", ""), ("pooled", "a"))}


def compute_closest_leak() -> dict:
    """Of the leak arms stored with the book, the one closest to the paper's 95.05 %.

    The arms that need no corpus: (a) augmenting before the split and (b) choosing the
    epoch on the test set (read from the full-budget run's history). Chapter 8's other
    two arms (twins in the test set, the nearest-neighbour probe) need the corpora.

    Returns
    -------
    result : dict
        The arm's result (``arm``, ``accuracy``, ``accuracy_low``, ``accuracy_high``,
        ``below_paper``) and ``arms``, a table of the arms compared.
    """
    from fser_utils.studies.leaks import compute_select_on_test
    from fser_utils.training.run import Run

    honest = Run(_stored(f"results/paper_recipe/{PAPER_RECIPE_RUNS[42]}"))
    on_test = compute_select_on_test(honest.load_history(), honest.count_clips("test")).iloc[1]
    arms = [compute_leak_before_split(),
            {"arm": "choosing the epoch on the test set", **_interval(on_test),
             "below_paper": PAPER_ACCURACY - float(on_test["accuracy"])}]
    arms += compute_converged_leaks()
    table = pd.DataFrame(arms)[["arm", "accuracy", "accuracy_low", "accuracy_high",
                                "below_paper"]]
    best = max(arms, key=lambda a: a["accuracy"])
    return {k: best[k] for k in table.columns} | {"arms": table}


# -- the data ----------------------------------------------------------------------------

def compute_data_caveats(root=None) -> dict:
    """How the corpora this book used differ from the paper's.

    Returns
    -------
    caveats : dict
        ``savee_clips`` and ``paper_clips`` (the paper's numbers: SAVEE is absent here),
        ``nemo_clips`` (clips of the local nEMO copy) and ``nemo_total`` (the complete
        corpus), ``emodb_duration`` [s] (the one length of every EmoDB clip when the copy
        was cut or padded to one length, NaN when its clips differ or the corpora are
        not on this machine), and ``from_data`` (whether the corpora were read).
        Without the corpora, the clip counts come from the stored feature benchmark.
    """
    import json

    from fser_utils.data.catalogue import _SAME_LENGTH, load_catalogue
    from fser_utils.config import get_data_root
    from fser_utils.data.corpora import get_corpus

    root = get_data_root(root)
    caveats = {"savee_clips": PAPER_CORPUS_SIZES["savee"], "paper_clips": PAPER_N_CLIPS,
               "nemo_total": get_corpus("nemo").n_files, "emodb_duration": np.nan,
               "from_data": False}
    if (root / get_corpus("emodb").folder).is_dir():
        cat = load_catalogue(root, corpora=("emodb", "nemo", "savee"))
        emodb = cat.loc[cat["corpus"] == "emodb", "duration"].to_numpy(dtype=float)
        if len(emodb) > 1 and np.ptp(emodb) < _SAME_LENGTH:
            caveats["emodb_duration"] = float(emodb[0])
        caveats.update(nemo_clips=int((cat["corpus"] == "nemo").sum()),
                       savee_found=bool((cat["corpus"] == "savee").any()), from_data=True)
    else:
        stored = json.loads(_stored("benchmarks/results/features.json").read_text())
        caveats.update(nemo_clips=int(stored["clips_per_corpus"].get("nemo", 0)),
                       savee_found="savee" in stored["clips_per_corpus"])
    return caveats
