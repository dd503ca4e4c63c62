"""Chapter 9's comparison, read from its stored runs (``results/beyond``,
``results/beyond_longer``, ``results/beyond_gpu``): its ensembles, chosen by greedy forward
selection on validation accuracy (:data:`ENSEMBLES`, :func:`compute_ensemble`,
:func:`compute_best_ensemble`), the default model and the best per-speaker model at their
own recipes (:func:`compute_default_model`, :func:`compute_best_per_speaker_model`), and
the paper's network at the book's CPU recipe (:func:`compute_paper_network`). Nothing
trains and test clips never choose; each result is a dict as those of
:mod:`fser_utils.studies.stored`, with chapter 9's interval over the seeds.
"""
from __future__ import annotations

import functools

import pandas as pd

from fser_utils.studies.compare import (TARGETS, compute_comparison_runs, compute_comparison_table,
                                        compute_ensemble_runs, compute_ensemble_selection,
                                        compute_target_verdict, get_results_dir)
from fser_utils.studies.beyond import BUDGET_MINUTES, needs_speaker_batch, with_budget
from fser_utils.studies.stored import describe_devices, read_comparison_row

__all__ = ["BUDGET_MINUTES", "ENSEMBLES", "load_comparison", "select_pool_ensemble",
           "select_ensemble", "compute_ensemble", "compute_best_ensemble",
           "compute_default_model", "compute_best_per_speaker_model", "compute_paper_network"]

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


# -- chapter 9's comparison --------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def load_comparison() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Chapter 9's stored runs: section 2 (each model at its section-2 budget, CPU), the
    longer CPU runs and the GPU runs, the last two labelled with their budget
    (:func:`fser_utils.studies.beyond.with_budget`)."""
    def load(**where):
        return compute_comparison_runs(sorted(get_results_dir(**where).glob("*/")))

    return (load(), with_budget(load(longer=True), "CPU"), with_budget(load(gpu=True), "GPU"))


def _per_speaker() -> set:
    """Models that need a batch of one speaker's clips to score (speaker-normalised; a
    corpus-normalised model needs a batch too, but of another kind and size)."""
    from fser_utils.models.registry import MODELS

    return {m for m, spec in MODELS.items() if spec.speaker_norm}


def select_pool_ensemble(section2: pd.DataFrame, extra: pd.DataFrame, name: str, *,
                         max_minutes: float | None = None, single_clip: bool = False
                         ) -> tuple[tuple, pd.DataFrame, pd.DataFrame]:
    """Greedy forward selection on validation accuracy among the section-2 models and the
    longer budgets of ``extra`` (labelled runs) with three seeds on both splits.

    Parameters
    ----------
    section2, extra : pd.DataFrame
        Section 2's runs (an ``ensemble`` row is dropped) and the longer runs.
    name : str
        The ensemble's name in its rows.
    max_minutes : float, optional
        The members' summed training minutes stay within it.
    single_clip : bool
        Only candidates that score a single clip.

    Returns
    -------
    members, runs, pool
        The members in the order chosen, the ensemble's per-seed rows and the pool.
    """
    pool = pd.concat([section2[section2["model"] != "ensemble"],
                      extra.assign(model=extra["label"])], ignore_index=True)
    # a model, or a longer budget, is a candidate once it has three seeds on both splits
    seeds = pool.pivot_table(index="model", columns="protocol", values="seed",
                             aggfunc="nunique", fill_value=0)[["paper", "speaker"]]
    candidates = [m for m in seeds[(seeds >= 3).all(axis=1)].index
                  if not (single_clip and needs_speaker_batch(m))]
    members = compute_ensemble_selection(pool, candidates, max_minutes=max_minutes)
    return tuple(members), compute_ensemble_runs(pool, members, name=name), pool


@functools.lru_cache(maxsize=None)
def select_ensemble(name: str) -> tuple[tuple, pd.DataFrame, pd.DataFrame]:
    """Chapter 9's selection of one of :data:`ENSEMBLES`: its members, its per-seed rows,
    and the pool it was chosen from (:func:`select_pool_ensemble`)."""
    spec = ENSEMBLES[name]
    section2, cpu_long, gpu = load_comparison()
    extra = pd.concat([cpu_long, gpu], ignore_index=True) if spec["gpu"] else cpu_long
    return select_pool_ensemble(section2, extra, name, max_minutes=spec["max_minutes"],
                                single_clip=spec["single_clip"])


def _train_command(member: str) -> str:
    """The ``fser train`` command for an ensemble member (a model, or a budget label)."""
    from fser_utils.models.registry import MODELS
    from fser_utils.training.profiles import PROFILES

    model, _, budget = member.partition(" | ")
    section2 = load_comparison()[0]
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

    members, runs, pool = select_ensemble(name)
    row = compute_comparison_table(runs).loc[(name, protocol)]
    used = pool[pool["model"].isin(members) & (pool["protocol"] == protocol)]
    result = read_comparison_row(row)
    target = TARGETS[protocol]
    return {**result, "name": name, "protocol": describe_protocol(protocol),
            "members": list(members), "commands": [_train_command(m) for m in members],
            "needs_speaker_batch": any(needs_speaker_batch(m) for m in members),
            "hardware": describe_devices(used["hardware"]), "target": target,
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
    from fser_utils.training.profiles import PROFILES

    section2, cpu_long, _ = load_comparison()
    runs = pd.concat([section2, cpu_long.drop(columns=["device", "budget", "label"])],
                     ignore_index=True)
    runs = runs[runs["model"].isin(list(models))]
    return runs[runs["epochs"] == runs["model"].map(lambda m: PROFILES[MODELS[m].profile].epochs)]


def _model_result(model: str, protocol: str, runs: pd.DataFrame) -> dict:
    from fser_utils.studies.robustness import describe_protocol

    table = compute_comparison_table(runs)
    used = runs[(runs["model"] == model) & (runs["protocol"] == protocol)]
    return {**read_comparison_row(table.loc[(model, protocol)]), "model": model,
            "epochs": int(used["epochs"].iloc[0]), "protocol": describe_protocol(protocol),
            "hardware": describe_devices(used["hardware"])}


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

    runs = _at_recipe(_per_speaker())
    table = compute_comparison_table(runs).xs(protocol, level="protocol")
    table = table[table["seeds"] >= 3].sort_values("val_accuracy", ascending=False)
    best = _model_result(table.index[0], protocol, runs)
    return {**best, "min_clips": MIN_SPEAKER_CLIPS,
            "runner_up": table.index[1] if len(table) > 1 else None}


def compute_paper_network(protocol: str) -> dict:
    """The paper's network (``fser``) at the book's CPU recipe, mean of its seeds, on
    ``protocol`` (``speaker``, ``paper`` or ``corpus-NAME``; chapter 9, section 2)."""
    section2 = load_comparison()[0]
    return _model_result("fser", protocol, section2[section2["model"] == "fser"])
