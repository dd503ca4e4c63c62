"""The book's headline numbers, computed from the stored results (the findings page).

Every number that the findings page and the introduction state is computed here, once,
from the small files stored with the book (``results/paper_recipe``, ``results/beyond``,
``results/beyond_longer``, ``results/beyond_gpu``); nothing trains and nothing reads
audio, except :func:`compute_data_caveats`, which looks at the corpora when they are on
this machine. The chapters' own functions do the work
(:mod:`fser_utils.studies.compare`, :mod:`fser_utils.studies.evaluate`, :mod:`fser_utils.studies.robustness`,
:mod:`fser_utils.studies.leaks`), with the rules the chapters apply:

* the paper's recipe at its full budget: chapter 8's run, its accuracy and bootstrap
  interval as chapter 7's claims table computes them (:func:`compute_paper_recipe`);
* its three seeds: the test accuracy at the epoch chosen on validation, as chapter 8
  reads it from each history, averaged as chapter 9 averages seeds
  (:func:`compute_paper_recipe_seeds`);
* the leak arms that need no corpus: augmenting before the split (arm a) and choosing
  the epoch on the test set (arm b) (:func:`compute_leak_before_split`,
  :func:`compute_closest_leak`);
* chapter 9's ensembles, chosen by greedy forward selection on validation accuracy
  (:func:`compute_ensemble`, :func:`compute_best_ensemble`), the default model and the
  best per-speaker model at their own recipes (:func:`compute_default_model`,
  :func:`compute_best_per_speaker_model`).

Each result is a dict whose value and 95 % interval are ``{metric}``, ``{metric}_low``
and ``{metric}_high`` (percent, or percentage points for a difference), beside what a
reader needs to judge it: ``protocol``, ``budget``, ``hardware``, ``seeds``. The paper's
own numbers come from :mod:`fser_utils.paper`.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from fser_utils.studies.compare import (TARGETS, compute_comparison_runs, compute_comparison_table,
                      compute_ensemble_runs, compute_ensemble_selection,
                      compute_target_verdict, get_results_dir)
from fser_utils.paper import PAPER_ACCURACY, PAPER_CORPUS_SIZES, PAPER_N_CLIPS, PAPER_RECIPE

__all__ = ["PAPER_RECIPE_RUNS", "LEAK_RUN", "BUDGET_MINUTES", "ENSEMBLES", "SPLIT_TITLES",
           "describe_hardware", "compute_paper_recipe", "compute_paper_recipe_seeds",
           "compute_paper_recipe_corpora", "compute_paper_recipe_sex_gap",
           "compute_leak_before_split", "compute_closest_leak", "compute_paper_network",
           "compute_ensemble", "compute_best_ensemble", "compute_default_model",
           "compute_best_per_speaker_model", "compute_data_caveats", "compute_claims_table",
           "compute_decision_table", "compute_headline_table", "compute_glue_texts",
           "compute_glue_markdown", "format_value", "format_interval", "format_result"]

#: chapter 8's honest runs of the paper's recipe (``results/paper_recipe``), by seed
PAPER_RECIPE_RUNS = {42: "fser-paper-paper", 1: "fser-paper-paper-s1", 2: "fser-paper-paper-s2"}
#: chapter 8's leak arm (a): the paper's copies made before the split
LEAK_RUN = "leak-pooled-paper"
#: the two protocols of the headline figure, with their titles
SPLIT_TITLES = {"paper": "the paper's random split", "speaker": "unseen speakers"}
#: chapter 9's training budget on the book's 2-core CPU [min]
BUDGET_MINUTES = 30
#: chapter 9's four ensembles: whether GPU runs are candidates, the training budget
#: (summed minutes, or None) and whether only models that score a single clip may join
ENSEMBLES = {
    "ensemble, CPU runs": {"gpu": False, "max_minutes": None, "single_clip": False},
    "ensemble, CPU runs, 30 min": {"gpu": False, "max_minutes": BUDGET_MINUTES,
                                   "single_clip": False},
    "ensemble with GPU runs": {"gpu": True, "max_minutes": None, "single_clip": False},
    "ensemble, CPU runs, single clip, 30 min": {"gpu": False, "max_minutes": BUDGET_MINUTES,
                                                "single_clip": True},
}


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


def _hardware_of(hardware_strings) -> str:
    """The distinct devices of several runs, joined with ``+``."""
    return " + ".join(sorted({describe_hardware(h) for h in hardware_strings}))


def _stored(relpath: str):
    from fser_utils.config import get_stored_path

    return get_stored_path(relpath)


def format_value(value: float, unit: str = "%", digits: int = 1) -> str:
    """``57.3 %``; a signed value for points (``+6.2 points``)."""
    if unit == "points":
        return f"{value:+.{digits}f} points"
    return f"{value:.{digits}f} {unit}".rstrip()


def format_interval(result: dict, metric: str = "accuracy", digits: int = 1) -> str:
    """``53.0-61.6 %``: the 95 % interval of ``result[metric]``, with an en dash."""
    low, high = result[f"{metric}_low"], result[f"{metric}_high"]
    unit = " points" if metric == "difference" else " %"
    return f"{low:.{digits}f}\u2013{high:.{digits}f}{unit}"


def format_result(result: dict, metric: str = "accuracy") -> dict:
    """A result's value and interval as the texts a page pastes: ``{"": "57.3 %",
    "_ci": "53.0\u201361.6 %"}`` (keys are suffixes of the result's glue name)."""
    unit = "points" if metric == "difference" else "%"
    return {"": format_value(result[metric], unit), "_ci": format_interval(result, metric)}


def _from_table_row(row, *, metric: str = "accuracy") -> dict:
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
    return {"accuracy": float(row["accuracy"]), "accuracy_low": float(row["ci_low"]),
            "accuracy_high": float(row["ci_high"]), "paper": PAPER_ACCURACY,
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
    seed's test-set error). Seeds 1 and 2 stopped before epoch 400 when the lent GPU time
    ran out: ``epochs_run`` says where each stopped.

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
                     "accuracy": float(chosen["accuracy"]),
                     "accuracy_low": float(chosen["ci_low"]),
                     "accuracy_high": float(chosen["ci_high"]),
                     "accuracy_se": (chosen["ci_high"] - chosen["ci_low"]) / (2 * 1.96),
                     "macro_f1": np.nan, "macro_f1_se": np.nan,
                     "val_accuracy": 100 * float(history["val_accuracy"].max()),
                     "params": np.nan, "train_minutes": history["seconds"].sum() / 60,
                     "scoring_ms": np.nan})
        hardware.append(run.load_settings()["hardware"])
    per_seed = pd.DataFrame(rows)
    mean = compute_comparison_table(per_seed).iloc[0]
    epochs = dict(zip(per_seed["seed"], per_seed["epochs_run"]))
    return {**_from_table_row(mean), "epochs_run": epochs,
            "epochs_min": int(min(epochs.values())), "epochs_max": int(max(epochs.values())),
            "epochs_planned": PAPER_RECIPE["epochs"],
            "full_budget": all(e >= PAPER_RECIPE["epochs"] for e in epochs.values()),
            "per_seed": per_seed[["seed", "epochs_run", "epoch", "accuracy", "accuracy_low",
                                  "accuracy_high"]],
            "paper": PAPER_ACCURACY, "hardware": _hardware_of(hardware)}


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
            out[corpus] = {"accuracy": float(r["accuracy"]), "accuracy_low": float(r["ci_low"]),
                           "accuracy_high": float(r["ci_high"]), "n": int(r["n"]),
                           "paper": claimed}
        else:
            out[corpus] = {"paper": claimed, "n": 0}
    return out


def compute_paper_recipe_sex_gap(*, n_boot: int = 2000, seed: int = 0) -> dict:
    """Female minus male test accuracy of the full-budget run [points], with its 95 %
    interval (:func:`fser_utils.studies.robustness.compute_group_gap`)."""
    from fser_utils.studies.robustness import compute_group_gap

    gap = compute_group_gap(_paper_recipe_predictions(), "sex", ("female", "male"),
                            n_boot=n_boot, seed=seed)
    return {"difference": float(gap["difference"]), "difference_low": float(gap["low"]),
            "difference_high": float(gap["high"]), "female": float(gap["acc_a"]),
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
    from fser_utils.training.run import Run

    run = Run(_stored(f"results/paper_recipe/{LEAK_RUN}"))
    m, settings = run.load_metrics(), run.load_settings()
    accuracy = 100 * float(m["test_accuracy"])
    return {"arm": "augmenting before the split", "accuracy": accuracy,
            "accuracy_low": float(m["ci_low"]), "accuracy_high": float(m["ci_high"]),
            "below_paper": PAPER_ACCURACY - accuracy, "n_test": int(m["n_test"]),
            "same_clip_in_train": float(m["same_clip_in_train"]),
            "epochs": int(m["epochs_run"]), "hardware": describe_hardware(settings["hardware"])}


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
            {"arm": "choosing the epoch on the test set", "accuracy": float(on_test["accuracy"]),
             "accuracy_low": float(on_test["ci_low"]), "accuracy_high": float(on_test["ci_high"]),
             "below_paper": PAPER_ACCURACY - float(on_test["accuracy"])}]
    table = pd.DataFrame(arms)[["arm", "accuracy", "accuracy_low", "accuracy_high",
                                "below_paper"]]
    best = max(arms, key=lambda a: a["accuracy"])
    return {k: best[k] for k in table.columns} | {"arms": table}


# -- chapter 9's comparison --------------------------------------------------------------

def _with_budget(frame: pd.DataFrame, device: str) -> pd.DataFrame:
    """Chapter 9's label of a longer run: ``"model | E epochs, DEVICE"``."""
    budget = frame["epochs"].astype(int).astype(str) + " epochs, " + device
    return frame.assign(device=device, budget=budget, label=frame["model"] + " | " + budget)


@functools.lru_cache(maxsize=1)
def _load_comparison() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Chapter 9's stored runs: section 2 (each model at its section-2 budget, CPU), the
    longer CPU runs and the GPU runs, the last two labelled with their budget."""
    def load(**where):
        return compute_comparison_runs(sorted(get_results_dir(**where).glob("*/")))

    return (load(), _with_budget(load(longer=True), "CPU"),
            _with_budget(load(gpu=True), "GPU"))


def _network(label: str, extra: pd.DataFrame) -> str:
    """The registered model behind a model name or a budget label."""
    return label.split(" | ")[0] if label in set(extra["label"]) else label


def _needs_batch() -> set:
    """Models that need a batch of one speaker's clips to score (speaker-normalised)."""
    from fser_utils.models.registry import MODELS

    return {m for m, spec in MODELS.items() if spec.speaker_norm}


@functools.lru_cache(maxsize=None)
def _select_ensemble(name: str) -> tuple[tuple, pd.DataFrame, pd.DataFrame]:
    """Chapter 9's selection of one of :data:`ENSEMBLES`: its members, its per-seed rows,
    and the pool it was chosen from."""
    spec = ENSEMBLES[name]
    section2, cpu_long, gpu = _load_comparison()
    extra = pd.concat([cpu_long, gpu], ignore_index=True) if spec["gpu"] else cpu_long
    pool = pd.concat([section2[section2["model"] != "ensemble"],
                      extra.assign(model=extra["label"])], ignore_index=True)
    # a model, or a longer budget, is a candidate once it has three seeds on both splits
    seeds = pool.pivot_table(index="model", columns="protocol", values="seed",
                             aggfunc="nunique", fill_value=0)[["paper", "speaker"]]
    batch = _needs_batch()
    candidates = [m for m in seeds[(seeds >= 3).all(axis=1)].index
                  if not (spec["single_clip"] and _network(m, extra) in batch)]
    members = compute_ensemble_selection(pool, candidates, max_minutes=spec["max_minutes"])
    return tuple(members), compute_ensemble_runs(pool, members, name=name), pool


def _train_command(member: str) -> str:
    """The ``fser train`` command for an ensemble member (a model, or a budget label)."""
    from fser_utils.models.registry import MODELS
    from fser_utils.training.train import PROFILES

    model, _, budget = member.partition(" | ")
    section2 = _load_comparison()[0]
    epochs = (int(budget.split()[0]) if budget else
              int(section2.loc[section2["model"] == model, "epochs"].iloc[0]))
    own = PROFILES[MODELS[model].profile].epochs
    return f"fser train --model {model}" + (f" --epochs {epochs}" if epochs != own else "")


def compute_ensemble(name: str, protocol: str) -> dict:
    """One of chapter 9's ensembles (:data:`ENSEMBLES`) on one protocol.

    The members are chosen by greedy forward selection on validation accuracy
    (:func:`fser_utils.studies.compare.compute_ensemble_selection`), among the section-2 models
    and the longer budgets with three seeds on both splits, as chapter 9 chooses them;
    the ensemble averages their class probabilities. Test clips are never used to choose.

    Parameters
    ----------
    name : str
        A key of :data:`ENSEMBLES`.
    protocol : {"paper", "speaker"}

    Returns
    -------
    result : dict
        ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%] (mean of the seeds, with
        chapter 9's interval), ``seeds``, ``val_accuracy``, ``train_minutes`` (members'
        sum, median over seeds), ``members``, ``commands`` (one ``fser train`` per
        member), ``needs_speaker_batch``, ``hardware``, ``target`` and ``verdict``
        (chapter 9's target for the protocol), ``name``, ``protocol``.
    """
    from fser_utils.studies.robustness import describe_protocol

    members, runs, pool = _select_ensemble(name)
    row = compute_comparison_table(runs).loc[(name, protocol)]
    used = pool[pool["model"].isin(members) & (pool["protocol"] == protocol)]
    extra = pool.dropna(subset=["label"]) if "label" in pool else pool.iloc[:0]
    result = _from_table_row(row)
    target = TARGETS[protocol]
    return {**result, "name": name, "protocol": describe_protocol(protocol),
            "members": list(members), "commands": [_train_command(m) for m in members],
            "needs_speaker_batch": any(_network(m, extra) in _needs_batch() for m in members),
            "hardware": _hardware_of(used["hardware"]), "target": target,
            "verdict": compute_target_verdict(result["accuracy_low"], result["accuracy_high"],
                                              target)}


def compute_best_ensemble(protocol: str, *, max_cpu_minutes: float | None = None) -> dict:
    """The best of chapter 9's ensembles on ``protocol``, chosen on validation accuracy.

    Parameters
    ----------
    protocol : {"paper", "speaker"}
    max_cpu_minutes : float or None
        Only the ensembles trained on the book's CPU whose training minutes (members'
        sum, median over seeds) stay within this budget; ``None``: any budget, GPU runs
        included.

    Returns
    -------
    result : dict
        As :func:`compute_ensemble`.
    """
    found = [compute_ensemble(name, protocol) for name, spec in ENSEMBLES.items()
             if max_cpu_minutes is None or not spec["gpu"]]
    if max_cpu_minutes is not None:
        found = [e for e in found if e["train_minutes"] <= max_cpu_minutes]
    return max(found, key=lambda e: e["val_accuracy"])


def _at_recipe(models) -> pd.DataFrame:
    """Runs of ``models`` at their own recipe's epochs, on the CPU (section 2 and the
    longer CPU runs), as chapters 7 and 9 compare models."""
    from fser_utils.models.registry import MODELS
    from fser_utils.training.train import PROFILES

    section2, cpu_long, _ = _load_comparison()
    runs = pd.concat([section2, cpu_long.drop(columns=["device", "budget", "label"])],
                     ignore_index=True)
    runs = runs[runs["model"].isin(list(models))]
    return runs[runs["epochs"] == runs["model"].map(lambda m: PROFILES[MODELS[m].profile].epochs)]


def _model_result(model: str, protocol: str, runs: pd.DataFrame) -> dict:
    from fser_utils.studies.robustness import describe_protocol

    table = compute_comparison_table(runs)
    used = runs[(runs["model"] == model) & (runs["protocol"] == protocol)]
    return {**_from_table_row(table.loc[(model, protocol)]), "model": model,
            "epochs": int(used["epochs"].iloc[0]), "protocol": describe_protocol(protocol),
            "hardware": _hardware_of(used["hardware"])}


def compute_default_model(protocol: str = "speaker") -> dict:
    """The package's default model (``fser train`` without ``--model``) at its recipe.

    Returns
    -------
    result : dict
        ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%] (mean of the seeds, chapter
        9's interval), ``seeds``, ``val_accuracy``, ``train_minutes`` (median), ``model``,
        ``epochs``, ``protocol``, ``hardware``, ``target`` and ``verdict``.
    """
    from fser_utils.models.registry import DEFAULT_MODEL

    result = _model_result(DEFAULT_MODEL, protocol, _at_recipe([DEFAULT_MODEL]))
    target = TARGETS.get(protocol)
    verdict = (compute_target_verdict(result["accuracy_low"], result["accuracy_high"], target)
               if target is not None else None)
    return {**result, "target": target, "verdict": verdict}


def compute_best_per_speaker_model(protocol: str = "speaker") -> dict:
    """The speaker-normalised model that validates best on ``protocol``.

    Among the models that standardise features over each speaker's clips (they score a
    batch of one speaker's clips), each at its own recipe on the CPU with three seeds,
    the highest mean validation accuracy (chapter 7's rule for the best model on unseen
    speakers, restricted to these models).

    Returns
    -------
    result : dict
        As :func:`compute_default_model`, plus ``min_clips`` (the fewest clips of a
        speaker that ``fser predict`` accepts for it) and ``runner_up`` (the next model).
    """
    from fser_utils.features.speaker_norm import MIN_SPEAKER_CLIPS

    runs = _at_recipe(_needs_batch())
    table = compute_comparison_table(runs).xs(protocol, level="protocol")
    table = table[table["seeds"] >= 3].sort_values("val_accuracy", ascending=False)
    best = _model_result(table.index[0], protocol, runs)
    return {**best, "min_clips": MIN_SPEAKER_CLIPS,
            "runner_up": table.index[1] if len(table) > 1 else None}


def compute_paper_network(protocol: str) -> dict:
    """The paper's network (``fser``) at the book's CPU recipe, mean of its seeds, on
    ``protocol`` (``speaker``, ``paper`` or ``corpus-NAME``; chapter 9, section 2)."""
    section2 = _load_comparison()[0]
    return _model_result("fser", protocol, section2[section2["model"] == "fser"])


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


# -- the findings page's tables ------------------------------------------------------------

def _row(claim, paper, result, what, budget, hardware, metric="accuracy") -> dict:
    measured = (format_value(result[metric], "points" if metric == "difference" else "%")
                if result else "not measured")
    return {"the paper claims": claim, "paper": paper, "measured here": measured,
            "95 % interval": format_interval(result, metric) if result else "",
            "what was measured": what, "budget": budget, "hardware": hardware}


def compute_claims_table() -> pd.DataFrame:
    """Each of the paper's claims beside what the book measured, as display strings.

    Columns: the claim, the paper's number, the measured value, its 95 % interval, what
    was measured (model and protocol), the training budget and the hardware.
    """
    paper_pct = f"{PAPER_ACCURACY} %"
    recipe, seeds = compute_paper_recipe(), compute_paper_recipe_seeds()
    cheap = compute_best_ensemble("paper", max_cpu_minutes=BUDGET_MINUTES)
    best = compute_best_ensemble("paper")
    epochs = " / ".join(str(e) for e in seeds["epochs_run"].values())
    rows = [
        _row("accuracy over 8 classes, random split", paper_pct, recipe,
             f"the paper's recipe, seed {recipe['seed']}", f"{recipe['epochs']} epochs",
             recipe["hardware"]),
        _row("", paper_pct, seeds, f"the paper's recipe, mean of {seeds['seeds']} seeds",
             f"{epochs} epochs", seeds["hardware"]),
        _row("", paper_pct, cheap, f"best ensemble within {BUDGET_MINUTES} min "
             "(chapter 9)", f"{cheap['train_minutes']:.0f} min", cheap["hardware"]),
        _row("", paper_pct, best, "best ensemble, any budget (chapter 9)",
             f"{best['train_minutes']:.0f} min", best["hardware"]),
    ]
    for corpus, r in compute_paper_recipe_corpora().items():
        rows.append(_row(f"accuracy on {corpus} (Table 4)", f"{r['paper']} %",
                         r if r["n"] else None,
                         f"the paper's recipe, seed 42, {r['n']} {corpus} test clips"
                         if r["n"] else f"{corpus} is not in this book's data",
                         f"{recipe['epochs']} epochs" if r["n"] else "",
                         recipe["hardware"] if r["n"] else ""))
    net = compute_paper_network("speaker")
    default = compute_default_model("speaker")
    rows += [
        _row("reliable for speakers never heard", "no number", net,
             f"the paper's network, unseen speakers, {net['seeds']} seeds",
             f"{net['epochs']} epochs", net["hardware"]),
        _row("", "no number", default,
             f"the default model ({default['model']}), unseen speakers",
             f"{default['epochs']} epochs", default["hardware"]),
    ]
    from fser_utils.data.corpora import get_corpus

    for corpus in ("emodb", "emovo", "ravdess"):
        r = compute_paper_network(f"corpus-{corpus}")
        rows.append(_row("reliable whatever the language" if corpus == "emodb" else "",
                         "no number", r,
                         f"the paper's network, {get_corpus(corpus).language} never heard",
                         f"{r['epochs']} epochs", r["hardware"]))
    from fser_utils.paper import PAPER_UNSEEN

    n_ok, n_all = PAPER_UNSEEN
    rows.append(_row(f"{n_ok} of {n_all} clips in French, Fon and Igbo correct",
                     f"{100 * n_ok / n_all:.1f} %", None,
                     "not testable: the paper's clips are not published", "", ""))
    gap = compute_paper_recipe_sex_gap()
    rows.append(_row("reliable whatever the speaker's sex", "no number", gap,
                     "female minus male accuracy, the paper's recipe, seed 42",
                     f"{recipe['epochs']} epochs", recipe["hardware"], metric="difference"))
    return pd.DataFrame(rows)


def compute_headline_table() -> pd.DataFrame:
    """The headline accuracies with their intervals, for the findings page's figure.

    Returns
    -------
    table : pd.DataFrame
        Columns ``split`` (``paper`` or ``speaker``), ``result`` (a short label with
        line breaks), ``accuracy``, ``ci_low``, ``ci_high`` [%].
    """
    cheap = f"ensemble\n\u2264 {BUDGET_MINUTES} min\nCPU"
    rows = [("paper", "recipe\nseed 42", compute_paper_recipe()),
            ("paper", "recipe\n3 seeds", compute_paper_recipe_seeds()),
            ("paper", "leak: copies\nbefore\nthe split", compute_leak_before_split()),
            ("paper", cheap, compute_best_ensemble("paper", max_cpu_minutes=BUDGET_MINUTES)),
            ("paper", "ensemble\nany budget", compute_best_ensemble("paper")),
            ("speaker", "paper's\nnetwork", compute_paper_network("speaker")),
            ("speaker", "default\nmodel", compute_default_model("speaker")),
            ("speaker", "per-speaker\nmodel", compute_best_per_speaker_model("speaker")),
            ("speaker", cheap, compute_best_ensemble("speaker", max_cpu_minutes=BUDGET_MINUTES)),
            ("speaker", "ensemble\nany budget", compute_best_ensemble("speaker"))]
    return pd.DataFrame([{"split": split, "result": label, "accuracy": r["accuracy"],
                          "ci_low": r["accuracy_low"], "ci_high": r["accuracy_high"]}
                         for split, label, r in rows])


def compute_decision_table() -> pd.DataFrame:
    """"What should I use?": for one clip of an unknown speaker (the default model),
    several clips of one speaker (the best per-speaker model) and the best accuracy
    whatever the cost (the best ensemble), chosen on validation accuracy on unseen
    speakers.

    Returns
    -------
    table : pd.DataFrame
        Index ``one clip``, ``one speaker``, ``any cost``; columns ``model``,
        ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%] on unseen speakers,
        ``seeds``, ``train_minutes``, ``hardware``, ``train`` (the ``fser train``
        commands, one per line) and ``predict`` (how to score recordings with it).
    """
    default = compute_default_model("speaker")
    speaker = compute_best_per_speaker_model("speaker")
    best = compute_best_ensemble("speaker")
    rows = {
        # the shipped recognizer is this model trained on five corpora: nothing to train
        "one clip": {**default, "train": "none: shipped with the package (fser train for "
                                         "your own run)",
                     "predict": "fser predict clip.wav"},
        "one speaker": {**speaker, "train": f"fser train --model {speaker['model']}",
                        "predict": "fser predict speaker_folder/ --run RUN_DIR"},
        "any cost": {**best, "model": best["name"], "train": "\n".join(best["commands"]),
                     "predict": "fser predict FILES --json --run RUN_DIR  "
                                "# once per member, then average the probabilities"},
    }
    columns = ["model", "accuracy", "accuracy_low", "accuracy_high", "seeds",
               "train_minutes", "hardware", "train", "predict"]
    return pd.DataFrame.from_dict(rows, orient="index")[columns]


def _join(items) -> str:
    """``a, b and c``."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def compute_glue_texts() -> dict:
    """Every text the findings page (and the introduction, through it) pastes, by glue key.

    Each headline result gives two keys, ``NAME`` (the value) and ``NAME_ci`` (its 95 %
    interval); the other keys give the budgets, hardware, models and data caveats that
    the prose names. One key per quantity: the pages never type a measured number.
    """
    cheap = {"max_cpu_minutes": BUDGET_MINUTES}
    results = {
        "recipe": compute_paper_recipe(), "seeds": compute_paper_recipe_seeds(),
        "leak": compute_closest_leak(), "network": compute_paper_network("speaker"),
        "ens30_paper": compute_best_ensemble("paper", **cheap),
        "ens30_speaker": compute_best_ensemble("speaker", **cheap),
        "ens_paper": compute_best_ensemble("paper"),
        "ens_speaker": compute_best_ensemble("speaker"),
        "default": compute_default_model("speaker"),
        "per_speaker": compute_best_per_speaker_model("speaker")}
    texts = {"paper_acc": f"{PAPER_ACCURACY} %", "budget": f"{BUDGET_MINUTES} minutes",
             "paper_epochs": str(PAPER_RECIPE["epochs"]),
             "paper_copies": str(PAPER_RECIPE["n_copies"])}
    for key, result in results.items():
        texts.update({key + suffix: text for suffix, text in format_result(result).items()})
    r, s, leak = results["recipe"], results["seeds"], results["leak"]
    texts.update({
        "recipe_epochs": str(r["epochs"]), "recipe_hardware": r["hardware"],
        "recipe_below": f"{r['below_paper']:.1f}", "recipe_corpora": _join(r["corpora"]),
        "recipe_test_clips": str(r["n_test"]), "seeds_n": str(s["seeds"]),
        "seeds_epochs": _join(s["epochs_run"].values()), "seeds_hardware": s["hardware"],
        "leak_arm": leak["arm"], "leak_below": f"{leak['below_paper']:.1f}",
        "leak_other": _join(f"{a.arm} ({format_value(a.accuracy)}, "
                            f"{format_interval(a._asdict())})"
                            for a in leak["arms"].itertuples() if a.arm != leak["arm"])})
    for key in ("ens30_paper", "ens30_speaker", "ens_paper", "ens_speaker"):
        e = results[key]
        texts.update({f"{key}_name": e["name"], f"{key}_minutes": f"{e['train_minutes']:.0f}",
                      f"{key}_hardware": e["hardware"], f"{key}_members": " + ".join(e["members"]),
                      f"{key}_verdict": e["verdict"], f"{key}_target": f"{e['target']:.0f} %"})
    for key in ("default", "per_speaker", "network"):
        m = results[key]
        texts.update({f"{key}_model": m["model"], f"{key}_epochs": str(m["epochs"]),
                      f"{key}_minutes": f"{m['train_minutes']:.0f}",
                      f"{key}_hardware": m["hardware"], f"{key}_seeds": str(m["seeds"])})
    texts["ens_speaker_batch"] = (
        "It holds per-speaker members, so it too needs several clips of the speaker."
        if results["ens_speaker"]["needs_speaker_batch"] else "It scores a single clip.")
    texts.update(per_speaker_min_clips=str(results["per_speaker"]["min_clips"]),
                 per_speaker_runner_up=str(results["per_speaker"]["runner_up"]))
    data = compute_data_caveats()
    texts.update({k: str(data[k]) for k in ("savee_clips", "paper_clips", "nemo_clips",
                                            "nemo_total")})
    texts["emodb_duration"] = ("unknown (the corpora are not on this machine)"
                               if np.isnan(data["emodb_duration"])
                               else f"{data['emodb_duration']:.2f} s")
    return texts


def compute_glue_markdown() -> dict:
    """The decision table's cells that hold commands, as Markdown, by glue key
    (``cmd_ROW_train``, ``cmd_ROW_predict`` for the rows of
    :func:`compute_decision_table`, and ``cmd_any_cost_block``: every command of the
    ensemble in a code block)."""
    table = compute_decision_table()
    out = {}
    for row, r in table.iterrows():
        key = "cmd_" + row.replace(" ", "_")
        commands = r["train"].splitlines()
        out[f"{key}_train"] = (f"`{commands[0]}`" if len(commands) == 1 else
                               f"{len(commands)} `fser train` commands, listed below")
        out[f"{key}_predict"] = f"`{r['predict'].split('  #')[0]}`"
    any_cost = table.loc["any cost"]
    out["cmd_any_cost_block"] = ("```bash\n" + any_cost["train"] + "\n"
                                 + any_cost["predict"] + "\n```")
    return out
