"""Beyond the paper (chapters 9 to 11): the choices made on the stored comparison.

Every choice here is made on **validation** accuracy; test accuracy is only reported.

- which names need a batch of one speaker's clips to score (:func:`needs_speaker_batch`)
  and which score a single clip;
- the best candidate on validation (:func:`choose_on_validation`), and *the* best model
  that scores a single clip (:func:`choose_single_clip_model`), the rule behind the
  package's default model (chapters 7 and 11);
- the verdicts against the targets (:func:`compute_target_lines`);
- what speaker normalisation changes, run by run (:func:`compute_pair_gains`);
- the longer budgets: labels, paces and estimated CPU minutes
  (:func:`compute_longer_comparison`), and the budget chosen on validation
  (:func:`compute_budgets`, :func:`choose_budget`);
- how far a corpus falls short of a target (:func:`compute_needed_accuracy`).

A *name* is a registered model (``logmel-cnn``), a longer budget's label
(``"logmel-cnn | 120 epochs, CPU"``) or an ensemble's name, whose members
``members_of[name]`` lists.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fser_utils.errors import FserError
from fser_utils.studies.compare import TARGETS, compute_comparison_table, compute_target_verdict

__all__ = ["BUDGET_MINUTES", "network_of", "needs_speaker_batch", "keep_single_clip",
           "choose_on_validation", "compute_model_means", "choose_single_clip_model",
           "compute_target_lines", "compute_pair_gains", "with_budget",
           "compute_longer_comparison", "compute_budgets", "choose_budget",
           "compute_needed_accuracy", "compute_pooled_breakdown", "select_labels",
           "compute_gains_over"]

#: the training budget on the book's 2-core CPU that chapter 9's issue set [min]
BUDGET_MINUTES = 30


# -- single clip or a batch of one speaker's clips ---------------------------------------

def network_of(name: str) -> str:
    """The registered model behind a model name or a budget label (``"m | E epochs, D"``)."""
    return name.split(" | ")[0]


def needs_speaker_batch(name: str, members_of: dict | None = None) -> bool:
    """Whether ``name`` needs several clips of one speaker to score any of them.

    A speaker-normalised model does (``ModelSpec.speaker_norm``), at any budget, and so
    does an ensemble (a key of ``members_of``) that holds one. A corpus-normalised model
    (``ModelSpec.corpus_norm``) needs a batch too, of clips from one setting: it counts
    here as well, as it cannot score a single clip either.

    Raises
    ------
    FserError
        ``name`` is neither a registered model, nor a budget label of one, nor a key of
        ``members_of``.
    """
    from fser_utils.models.registry import MODELS

    if members_of and name in members_of:
        return any(needs_speaker_batch(m, members_of) for m in members_of[name])
    network = network_of(name)
    if network not in MODELS:
        raise FserError(f"{name!r} is no registered model, budget label or known ensemble")
    return bool(MODELS[network].speaker_norm or MODELS[network].corpus_norm)


def _names(rows: pd.DataFrame) -> pd.Index:
    """The candidates' names: the ``model`` column, else the index level ``model``, else
    the index."""
    if "model" in rows.columns:
        return pd.Index(rows["model"])
    if "model" in (rows.index.names or []):
        return rows.index.get_level_values("model")
    return rows.index


def keep_single_clip(rows: pd.DataFrame, members_of: dict | None = None) -> pd.DataFrame:
    """The rows of ``rows`` whose model scores a single clip (:func:`needs_speaker_batch`)."""
    batch = [needs_speaker_batch(n, members_of) for n in _names(rows)]
    return rows[~np.asarray(batch, dtype=bool)]


def choose_on_validation(rows: pd.DataFrame, *, single_clip: bool = False,
                         members_of: dict | None = None) -> pd.Series:
    """The candidate with the highest (mean) validation accuracy.

    Parameters
    ----------
    rows : pd.DataFrame
        One row per candidate, with ``val_accuracy``; the names in a ``model`` column or
        in the index.
    single_clip : bool
        Only the candidates that score a single clip.
    members_of : dict, optional
        Ensembles' members, by the ensemble's name.

    Returns
    -------
    row : pd.Series
        The chosen row (the first on a tie); its ``name`` is its index label.

    Raises
    ------
    FserError
        No candidate is left.
    """
    if single_clip:
        rows = keep_single_clip(rows, members_of)
    if rows.empty:
        raise FserError("no candidate to choose from" + (" that scores a single clip"
                                                         if single_clip else ""))
    return rows.iloc[int(np.argmax(rows["val_accuracy"].to_numpy()))]


def compute_model_means(runs: pd.DataFrame, protocol: str = "speaker") -> pd.DataFrame:
    """Each model's runs on ``protocol``: seeds, epochs, mean validation and test accuracy.

    Parameters
    ----------
    runs : pd.DataFrame
        One row per run (:func:`fser_utils.studies.compare.compute_comparison_runs`).

    Returns
    -------
    means : pd.DataFrame
        Index ``model``; best validation accuracy first.
    """
    on = runs[runs["protocol"] == protocol]
    if on.empty:
        raise FserError(f"no run on the {protocol} protocol")
    means = on.groupby("model").agg(seeds=("seed", "nunique"), epochs=("epochs", "first"),
                                    val_accuracy=("val_accuracy", "mean"),
                                    accuracy=("accuracy", "mean"))
    return means.astype({"epochs": int}).sort_values("val_accuracy", ascending=False,
                                                     kind="stable")


def choose_single_clip_model(runs: pd.DataFrame, protocol: str = "speaker") -> str:
    """The best model that scores a single clip: of the registered models in ``runs``
    that need no batch of a speaker's clips, the one with the highest mean validation
    accuracy on ``protocol`` (the rule that makes the package's default model)."""
    means = compute_model_means(runs[runs["model"] != "ensemble"], protocol)
    return str(choose_on_validation(means, single_clip=True).name)


# -- against the targets ------------------------------------------------------------------

#: the lines of :func:`compute_target_lines`: whether only CPU runs within the budget
#: count, and whether only those that score a single clip
TARGET_CHOICES = {"best": (False, False), "within budget": (True, False),
                  "single clip, within budget": (True, True), "single clip": (False, True)}


def compute_target_lines(table: pd.DataFrame, *, members_of: dict | None = None,
                         on_cpu=None, max_minutes: float = BUDGET_MINUTES,
                         targets: dict = TARGETS) -> pd.DataFrame:
    """For each target's protocol, the candidates chosen on validation, with verdicts.

    Four lines a protocol (:data:`TARGET_CHOICES`): the best candidate; the best trained
    on this CPU within ``max_minutes``; the best of those that scores a single clip; the
    best that scores a single clip at any budget.

    Parameters
    ----------
    table : pd.DataFrame
        Seed-averaged rows (:func:`fser_utils.studies.compare.compute_comparison_table`),
        index (model, protocol) or columns ``model`` and ``protocol``.
    on_cpu : array of bool, optional
        Per row, whether it was trained on this CPU (default: all).

    Returns
    -------
    lines : pd.DataFrame
        Index (protocol, choice); columns ``model``, ``val_accuracy``, ``accuracy``,
        ``accuracy_low``, ``accuracy_high``, ``train_minutes`` (and ``cpu_min_fast``,
        ``cpu_min_slow`` where ``table`` has them), ``target``, ``verdict``.
    """
    rows = table.reset_index() if "protocol" not in table.columns else table.reset_index(drop=True)
    cpu = np.ones(len(rows), bool) if on_cpu is None else np.asarray(on_cpu, dtype=bool)
    extra = [c for c in ("cpu_min_fast", "cpu_min_slow") if c in rows.columns]
    lines = {}
    for protocol, target in targets.items():
        on = (rows["protocol"] == protocol).to_numpy()
        for choice, (budget, single) in TARGET_CHOICES.items():
            mask = on & (cpu & (rows["train_minutes"] <= max_minutes).to_numpy() if budget
                         else True)
            try:
                top = choose_on_validation(rows[mask], single_clip=single, members_of=members_of)
            except FserError:
                continue
            lines[protocol, choice] = {
                **top[["model", "val_accuracy", "accuracy", "accuracy_low", "accuracy_high",
                       "train_minutes", *extra]].to_dict(), "target": target,
                "verdict": compute_target_verdict(top["accuracy_low"], top["accuracy_high"],
                                                  target)}
    out = pd.DataFrame.from_dict(lines, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["protocol", "choice"])
    return out


# -- what speaker normalisation changes -----------------------------------------------------

def compute_pair_gains(runs: pd.DataFrame, pairs: dict) -> pd.DataFrame:
    """Run by run, the normalised model's accuracy minus its plain twin's [points].

    Parameters
    ----------
    runs : pd.DataFrame
        One row per run.
    pairs : dict
        ``{pair name: (plain model, normalised model)}``; a pair without runs of both
        is left out.

    Returns
    -------
    gains : pd.DataFrame
        Columns ``protocol``, ``seed``, ``pair``, ``test gain``, ``validation gain``: one
        row per protocol and seed where both have a run.
    """
    gains = []
    for pair, (plain, normalised) in pairs.items():
        both = runs[runs["model"].isin([plain, normalised])].pivot_table(
            index=["protocol", "seed"], columns="model", values=["accuracy", "val_accuracy"])
        if both.shape[1] < 4:
            continue
        gains.append(pd.DataFrame({
            "pair": pair,
            "test gain": both[("accuracy", normalised)] - both[("accuracy", plain)],
            "validation gain": both[("val_accuracy", normalised)] - both[("val_accuracy", plain)],
        }).dropna())
    if not gains:
        return pd.DataFrame(columns=["protocol", "seed", "pair", "test gain", "validation gain"])
    return pd.concat(gains).reset_index()


# -- longer budgets ---------------------------------------------------------------------

def with_budget(frame: pd.DataFrame, device: str) -> pd.DataFrame:
    """``frame`` with the device it trained on, its budget and the ``"model | budget"``
    label (``"logmel-cnn | 120 epochs, CPU"``)."""
    budget = frame["epochs"].astype(int).astype(str) + " epochs, " + device
    return frame.assign(device=device, budget=budget, label=frame["model"] + " | " + budget)


def _is_plain_cnn(model: str) -> bool:
    """Built by the log-mel CNN's builder with its default layers (its variants differ
    in input, augmentation or training objective)."""
    from fser_utils.models.registry import MODELS

    return MODELS[model].build is MODELS["logmel-cnn"].build and not MODELS[model].params


def compute_longer_comparison(runs: pd.DataFrame, cpu_long: pd.DataFrame,
                              gpu: pd.DataFrame) -> dict:
    """The section-2 runs beside the longer CPU and GPU runs of the same networks.

    Parameters
    ----------
    runs : pd.DataFrame
        Each model at its section-2 budget, on this CPU.
    cpu_long, gpu : pd.DataFrame
        The longer runs, labelled by :func:`with_budget`.

    Returns
    -------
    longer : dict
        ``runs`` (every run, labelled), ``table`` (seed-averaged, index (label, protocol),
        with ``cpu_min_fast`` and ``cpu_min_slow``: the budget's epochs at the fastest and
        slowest pace of its network's runs on this CPU with the faster loop; the plain
        CNN's variants share one network; NaN for a network never trained here),
        ``by_label`` (model, epochs, device of each label), ``pace`` (median seconds per
        epoch of each CPU label).
    """
    long_runs = pd.concat([cpu_long, gpu], ignore_index=True)
    section2 = with_budget(runs[runs["model"].isin(long_runs["model"])
                                & runs["protocol"].isin(long_runs["protocol"])], "CPU")
    longer = pd.concat([section2, long_runs], ignore_index=True)
    table = compute_comparison_table(longer.assign(model=longer["label"]))
    by_label = longer.drop_duplicates("label").set_index("label")[["model", "epochs", "device"]]
    pace = (60 * cpu_long["train_minutes"] / cpu_long["epochs"]).groupby(cpu_long["label"]).median()

    def pace_range(model):  # fastest and slowest [min/epoch] of the model's network here
        same = [label for label in pace.index
                if (_is_plain_cnn(by_label.loc[label, "model"]) if _is_plain_cnn(model)
                    else by_label.loc[label, "model"] == model)]
        return (pace[same].min() / 60, pace[same].max() / 60) if same else (np.nan, np.nan)

    labels = table.index.get_level_values(0)
    epochs = by_label.loc[labels, "epochs"].to_numpy(dtype=float)
    ranges = np.array([pace_range(by_label.loc[label, "model"]) for label in labels])
    table["cpu_min_fast"], table["cpu_min_slow"] = epochs * ranges[:, 0], epochs * ranges[:, 1]
    return {"runs": longer, "table": table, "by_label": by_label, "pace": pace,
            "pace_range": pace_range("logmel-cnn")}


def compute_budgets(longer: pd.DataFrame, model: str, protocol: str = "speaker") -> pd.DataFrame:
    """Each CPU budget (epochs) of ``model`` on ``protocol``: seeds, mean validation and
    test accuracy, median training minutes (``longer``: the ``runs`` of
    :func:`compute_longer_comparison`)."""
    on_cpu = longer[(longer["model"] == model) & (longer["protocol"] == protocol)
                    & (longer["device"] == "CPU")].astype({"epochs": int})
    return on_cpu.groupby("epochs").agg(seeds=("seed", "nunique"),
                                        val_accuracy=("val_accuracy", "mean"),
                                        accuracy=("accuracy", "mean"),
                                        train_minutes=("train_minutes", "median"))


def choose_budget(budgets: pd.DataFrame, cost: str = "train_minutes", *,
                  max_minutes: float = BUDGET_MINUTES, min_seeds: int = 3) -> int:
    """The budget (epochs) with the best mean validation accuracy among those with
    ``min_seeds`` seeds whose ``cost`` column stays within ``max_minutes``."""
    fits = budgets[(budgets["seeds"] >= min_seeds) & (budgets[cost] <= max_minutes)]
    if fits.empty:
        raise FserError(f"no budget with {min_seeds} seeds within {max_minutes} minutes")
    return int(fits["val_accuracy"].idxmax())


# -- a target per corpus --------------------------------------------------------------------

def compute_needed_accuracy(per_corpus: pd.DataFrame, target: float = 90.0) -> pd.DataFrame:
    """What each corpus alone would need for the pooled accuracy to reach ``target``.

    Parameters
    ----------
    per_corpus : pd.DataFrame
        Columns ``corpus``, ``correct``, ``n``
        (:func:`fser_utils.studies.evaluate.compute_group_accuracy`).

    Returns
    -------
    needed : pd.DataFrame
        Index ``corpus``; ``has`` and ``needs`` [%], the other corpora unchanged (above
        100: out of reach); attribute ``overall`` [%].
    """
    correct = per_corpus.set_index("corpus")["correct"].astype(float)
    n = per_corpus.set_index("corpus")["n"].astype(float)
    needs = 100 * (target / 100 * n.sum() - (correct.sum() - correct)) / n
    out = pd.DataFrame({"has": 100 * correct / n, "needs": needs})
    out.attrs["overall"] = 100 * correct.sum() / n.sum()
    return out


def compute_pooled_breakdown(run_dirs, *, n_boot: int = 1000) -> dict:
    """The test clips of several runs of one split, pooled: the confusion matrix (% of
    each true class) and the accuracy per corpus with bootstrap intervals.

    Returns
    -------
    breakdown : dict
        ``matrix`` (:func:`fser_utils.studies.evaluate.compute_confusion_matrix`),
        ``by_corpus`` (:func:`fser_utils.studies.evaluate.compute_group_accuracy`), ``runs``.
    """
    from fser_utils.studies.evaluate import compute_confusion_matrix, compute_group_accuracy
    from fser_utils.training.run import Run

    run_dirs = list(run_dirs)
    pred = pd.concat([Run(r).load_predictions() for r in run_dirs], ignore_index=True)
    return {"matrix": compute_confusion_matrix(pred["emotion"], pred["predicted"]),
            "by_corpus": compute_group_accuracy(pred, "corpus", n_boot=n_boot),
            "runs": len(run_dirs)}


def select_labels(by_label: pd.DataFrame, *, device: str, models, epochs: int) -> list:
    """The budget labels of ``models`` trained for ``epochs`` on ``device`` (``by_label``
    of :func:`compute_longer_comparison`)."""
    models = set(models)
    return [label for label, r in by_label.iterrows()
            if r["epochs"] == epochs and r["device"] == device and r["model"] in models]


def compute_gains_over(table: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each row's validation and test accuracy minus the ``baseline`` row's of the same
    protocol [points] (``table``: seed-averaged, index (model, protocol)).

    Returns
    -------
    gains : pd.DataFrame
        ``table`` reset to columns, with ``val gain`` and ``test gain``; the protocols
        without a baseline row are left out.
    """
    rows = table.reset_index()
    base = rows[rows["model"] == baseline].set_index("protocol")
    if base.empty:
        raise FserError(f"no row of the baseline {baseline!r}")
    rows = rows[rows["protocol"].isin(base.index)].copy()
    rows["val gain"] = rows["val_accuracy"] - rows["protocol"].map(base["val_accuracy"])
    rows["test gain"] = rows["accuracy"] - rows["protocol"].map(base["accuracy"])
    return rows
