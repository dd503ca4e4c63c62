"""What the shipped recognizer is worth: the numbers of its model card, from stored runs.

Three kinds of runs describe it (``results/shipped/``):

* the shipped run itself: the default recipe on every corpus at hand, split by speaker,
  so that its test part holds speakers it never heard (accuracy per language and sex,
  calibration);
* leave-one-corpus-out over the five corpora, three seeds: what to expect of a language
  the model never heard;
* the same recipe trained on the paper's three corpora (``results/beyond_longer/``),
  scored the same way, to show what the two extra languages bring.

A held-out corpus often has fewer than eight classes (URDU has four). Besides the
accuracy over all eight outputs, :func:`compute_own_class_predictions` takes the most
probable of the classes the corpus has, as a user would who knows which emotions can
occur.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.data.corpora import EMOTIONS, get_corpus
from fser_utils.errors import FserError

__all__ = ["corpus_classes", "compute_own_class_predictions", "find_card_runs",
           "load_heldout_predictions",
           "compute_heldout_table", "compute_mean_heldout_accuracy", "TARGET_HELDOUT"]

#: issue 31's target for the mean held-out-corpus accuracy on each corpus's own classes [%]
TARGET_HELDOUT = 50.0


def corpus_classes(corpus: str) -> tuple[str, ...]:
    """The unified classes a corpus's labels map onto, in :data:`EMOTIONS` order."""
    used = {c for c in get_corpus(corpus).label_map.values() if c}
    return tuple(c for c in EMOTIONS if c in used)


def compute_own_class_predictions(pred: pd.DataFrame) -> pd.Series:
    """The most probable class among those each clip's corpus has.

    Parameters
    ----------
    pred : pd.DataFrame
        Stored predictions: ``corpus`` and ``p_<class>`` for every class of :data:`EMOTIONS`.

    Returns
    -------
    predicted : pd.Series [shape=(len(pred),)]
        A class name per clip.
    """
    out = pd.Series(index=pred.index, dtype=object)
    for corpus, rows in pred.groupby("corpus", sort=False):
        classes = list(corpus_classes(str(corpus)))
        proba = rows[[f"p_{c}" for c in classes]].to_numpy()
        out.loc[rows.index] = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    return out


def find_card_runs(results) -> dict:
    """The stored runs the model card reads, found by their settings.

    Parameters
    ----------
    results : path-like
        The ``results`` folder (``shipped/`` and ``beyond_longer/`` under it).

    Returns
    -------
    runs : dict
        ``shipped``: the shipped recognizer's own run (``results/shipped``, speaker split);
        ``five``: its leave-one-corpus-out runs over five corpora (``results/shipped``);
        ``three``: the same model and budget left one corpus out on the paper's three
        corpora (``results/beyond_longer``). Paths, sorted.
    """
    from fser_utils.training.run import Run

    results = Path(results)
    shipped = {p: Run(p).load_settings() for p in sorted((results / "shipped").glob("*/"))}
    own = [p for p, s in shipped.items() if s["split"] == "speaker"]
    if len(own) != 1:
        raise FserError(f"expected one shipped speaker-split run in '{results / 'shipped'}', "
                        f"found {len(own)}")
    settings = shipped[own[0]]

    def same_recipe(s):
        return (s["model"]["name"] == settings["model"]["name"] and s["split"] == "corpus"
                and s["profile_settings"]["epochs"] == settings["profile_settings"]["epochs"])

    three = [p for p in sorted((results / "beyond_longer").glob("*/"))
             if same_recipe(Run(p).load_settings())]
    return {"shipped": own[0], "five": [p for p, s in shipped.items() if same_recipe(s)],
            "three": three}


def load_heldout_predictions(run_dirs, *, label: str) -> pd.DataFrame:
    """Test predictions of leave-one-corpus-out runs, one table.

    Parameters
    ----------
    run_dirs : iterable of path-like
        Finished runs of the ``corpus`` split.
    label : str
        What these runs are (the ``recipe`` column), e.g. ``"five corpora"``.

    Returns
    -------
    pred : pd.DataFrame
        The runs' test predictions with ``recipe``, ``heldout`` (the corpus left out),
        ``seed``, ``n_train_corpora`` and ``predicted_own`` (see
        :func:`compute_own_class_predictions`).
    """
    from fser_utils.training.run import Run

    parts = []
    for run_dir in run_dirs:
        run = Run(run_dir)
        settings = run.load_settings()
        if settings.get("split") != "corpus":
            raise FserError(f"'{run.path}' is not a leave-one-corpus-out run")
        pred = run.load_predictions("test")
        parts.append(pred.assign(recipe=label, heldout=settings["test_corpus"],
                                 seed=int(settings["seed"]),
                                 n_train_corpora=len(settings.get("corpora", [])) - 1))
    if not parts:
        raise FserError(f"no leave-one-corpus-out run for '{label}'")
    pred = pd.concat(parts, ignore_index=True)
    return pred.assign(predicted_own=compute_own_class_predictions(pred))


def _bootstrap_mean_over_corpora(pred: pd.DataFrame, column: str, *, n_boot: int, seed: int):
    """Mean over held-out corpora of the seed-pooled accuracy, its clips resampled within
    each corpus (the same draw for every seed, whose test sets hold the same clips)."""
    rng = np.random.default_rng(seed)
    scores = np.zeros(n_boot)
    corpora = sorted(pred["heldout"].unique())
    for corpus in corpora:
        rows = pred[pred["heldout"] == corpus]
        correct = (rows["emotion"] == rows[column]).to_numpy(float)
        # clips x seeds: a clip resampled counts in every seed
        wide = pd.DataFrame({"clip": rows["relpath"].to_numpy(), "seed": rows["seed"].to_numpy(),
                             "c": correct}).pivot_table(index="clip", columns="seed", values="c")
        per_clip = wide.mean(axis=1).to_numpy()
        idx = rng.integers(0, len(per_clip), size=(n_boot, len(per_clip)))
        scores += per_clip[idx].mean(axis=1)
    return 100 * scores / len(corpora)


def compute_heldout_table(pred: pd.DataFrame, *, n_boot: int = 2000,
                          seed: int = 0) -> pd.DataFrame:
    """Accuracy on each held-out corpus, pooled over seeds, with 95 % intervals.

    Returns
    -------
    table : pd.DataFrame
        One row per ``recipe`` and ``heldout`` corpus: ``seeds`` (how many), ``n``
        (clips per seed), ``classes`` (how many the corpus has), ``accuracy_all``,
        ``accuracy_all_low``, ``accuracy_all_high`` (argmax over all eight classes) and
        ``accuracy_own``, ``accuracy_own_low``, ``accuracy_own_high`` (over the
        corpus's own classes), in percent.
    """
    from fser_utils.studies.evaluate import compute_bootstrap_ci

    rows = []
    for (recipe, corpus), part in pred.groupby(["recipe", "heldout"], sort=False):
        row = {"recipe": recipe, "heldout": corpus, "seeds": part["seed"].nunique(),
               "n": len(part) // max(1, part["seed"].nunique()),
               "classes": len(corpus_classes(corpus))}
        for name, column in (("all", "predicted"), ("own", "predicted_own")):
            ci = compute_bootstrap_ci(part["emotion"], part[column], n_boot=n_boot, seed=seed)
            row.update({f"accuracy_{name}": ci["accuracy"],
                        f"accuracy_{name}_low": ci["accuracy_low"],
                        f"accuracy_{name}_high": ci["accuracy_high"]})
        rows.append(row)
    return pd.DataFrame(rows)


def compute_mean_heldout_accuracy(pred: pd.DataFrame, *, own: bool = True, n_boot: int = 2000,
                                  seed: int = 0) -> dict:
    """The mean over held-out corpora of their accuracy, with a 95 % bootstrap interval.

    Each corpus counts once, whatever its size (a user's language is one language), its
    accuracy pooled over the seeds run.

    Returns
    -------
    result : dict
        ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%], ``corpora``, ``seeds`` and
        ``target`` (:data:`TARGET_HELDOUT`).
    """
    column = "predicted_own" if own else "predicted"
    per_corpus = pred.assign(c=pred["emotion"] == pred[column]).groupby("heldout")["c"].mean()
    boot = _bootstrap_mean_over_corpora(pred, column, n_boot=n_boot, seed=seed)
    low, high = np.quantile(boot, [0.025, 0.975])
    return {"accuracy": 100 * float(per_corpus.mean()), "accuracy_low": float(low),
            "accuracy_high": float(high), "corpora": sorted(per_corpus.index),
            "seeds": sorted(int(s) for s in pred["seed"].unique()), "target": TARGET_HELDOUT}


def compute_card_facts(shipped_run, *, export_folder, heldout: pd.DataFrame,
                       n_boot: int = 2000) -> dict:
    """Everything the model card states, computed from stored runs.

    Parameters
    ----------
    shipped_run : path-like
        The run the shipped weights come from (its split, settings, metrics, predictions).
    export_folder : path-like
        Where ``export.json`` of the shipped model lies (calibration, digest).
    heldout : pd.DataFrame
        :func:`load_heldout_predictions` of the five-corpus runs and, with another
        ``recipe``, of the three-corpus ones.

    Returns
    -------
    facts : dict
        Plain numbers and small tables (as lists of records), ready for JSON.
    """
    from fser_utils.data.corpora import CORPORA
    from fser_utils.studies.evaluate import compute_bootstrap_ci, compute_group_accuracy
    from fser_utils.training.run import Run

    run = Run(shipped_run)
    settings, metrics, split = run.load_settings(), run.load_metrics(), run.load_split()
    test = run.load_predictions("test")
    record = Run(export_folder).load_export()
    if record is None:
        raise FserError(f"'{export_folder}' holds no exported model")
    ci = compute_bootstrap_ci(test["emotion"], test["predicted"], n_boot=n_boot)
    by_corpus = compute_group_accuracy(test, "corpus", n_boot=n_boot)
    by_sex = compute_group_accuracy(test, "sex", n_boot=n_boot)
    data = (split.groupby("corpus")
            .agg(clips=("relpath", "size"), speakers=("speaker", "nunique"),
                 female=("sex", lambda s: int((s == "female").sum())))
            .reset_index())
    data["language"] = data["corpus"].map(lambda c: CORPORA[c].language)
    data["licence"] = data["corpus"].map(lambda c: CORPORA[c].licence)
    recall = (test.assign(right=test["emotion"] == test["predicted"])
              .groupby("emotion")["right"].mean().mul(100).round(1))
    recipes = {r: compute_mean_heldout_accuracy(heldout[heldout["recipe"] == r], n_boot=n_boot)
               for r in heldout["recipe"].unique()}
    table = compute_heldout_table(heldout, n_boot=n_boot)
    return {
        "model": settings["model"]["name"], "version": record["version"],
        "train_command": _train_command(settings), "trained": settings.get("date"),
        "hardware": settings.get("hardware"), "epochs_run": metrics.get("epochs_run"),
        "best_epoch": metrics.get("best_epoch"), "n_params": metrics.get("n_params"),
        "corpora": settings["corpora"], "n_train": settings["n_train"],
        "n_val": settings["n_val"], "n_test": settings["n_test"],
        "data": data.to_dict("records"),
        "speaker_accuracy": ci["accuracy"], "speaker_accuracy_low": ci["accuracy_low"],
        "speaker_accuracy_high": ci["accuracy_high"],
        "val_accuracy": 100 * metrics["val_accuracy"],
        "by_corpus": _records(by_corpus), "by_sex": _records(by_sex),
        "recall": recall.to_dict(),
        "temperature": record["temperature"],
        "ece": {k: 100 * record[k] for k in ("ece_val", "ece_val_calibrated", "ece_test",
                                              "ece_test_calibrated")},
        "export_difference": record["max_abs_difference"],
        "heldout": _records(table), "heldout_mean": recipes, "target_heldout": TARGET_HELDOUT,
    }


def _records(table: pd.DataFrame) -> list:
    return json.loads(table.to_json(orient="records"))


def _train_command(settings: dict) -> str:
    from fser_utils.training.run_config import describe_train_command

    return describe_train_command(settings)


def render_model_card(facts: dict) -> str:
    """The model card as Markdown (``MODEL_CARD.md`` beside the shipped weights)."""
    f = facts
    pct = lambda v, lo, hi: f"{v:.1f} % [{lo:.1f}, {hi:.1f}]"  # noqa: E731
    five = f["heldout_mean"].get("five corpora", {})
    three = f["heldout_mean"].get("three corpora", {})
    lines = [
        f"# Model card: {f['model']} ({f['version']})", "",
        "A speech emotion recognizer: a 3-s to 15-s recording in, eight probabilities out "
        "(anger, anxiety/fear, calm, disgust, happiness, neutral, sadness, surprise). "
        "Shipped with the `fser_utils` package; scored with onnxruntime "
        "(`fser predict FILE`, `Recognizer.pretrained()`).", "",
        "## Training", "",
        f"- Network: `{f['model']}`, the log-mel CNN trained with random stretches of the mel "
        f"axis (vocal tract length perturbation); {f['n_params']:,} parameters.",
        f"- Command: `{f['train_command']}` (then `fser export`); {f['epochs_run']} epochs, the "
        f"weights of epoch {f['best_epoch']} (best validation accuracy).",
        f"- Trained {f['trained']} on {f['hardware']}.",
        f"- Clips: {f['n_train']} training, {f['n_val']} validation (epoch and temperature), "
        f"{f['n_test']} test, split by speaker: no test speaker was heard in training.", "",
        "| corpus | language | clips | speakers | female clips | licence |",
        "|---|---|---|---|---|---|",
        *[f"| {d['corpus']} | {d['language']} | {d['clips']} | {d['speakers']} | {d['female']} "
          f"| {d['licence']} |" for d in f["data"]], "",
        "## Licence and use", "",
        "The weights are derived from the corpora above, which are licensed for "
        "non-commercial research and teaching only (RAVDESS and nEMO under CC BY-NC-SA 4.0); "
        "the weights inherit those terms. Intended: teaching, research on acted emotional "
        "speech, trying the book's methods on one's own recordings. Out of scope: any "
        "decision about a person (hiring, health, policing, education), natural "
        "conversation without checking the accuracy on it, languages and classes not listed "
        "here. The model recognises how acted emotion sounds in five corpora, not what a "
        "person feels.", "",
        "## Accuracy", "",
        f"- Unseen speakers of the five corpora (test part, single clip): "
        f"**{pct(f['speaker_accuracy'], f['speaker_accuracy_low'], f['speaker_accuracy_high'])}**"
        f" (validation {f['val_accuracy']:.1f} %).",
        "- By corpus: " + "; ".join(
            f"{r['corpus']} {pct(r['accuracy'], r['accuracy_low'], r['accuracy_high'])}"
            for r in f["by_corpus"]) + ".",
        "- By sex: " + "; ".join(
            f"{r['sex']} {pct(r['accuracy'], r['accuracy_low'], r['accuracy_high'])}"
            for r in f["by_sex"]) + ".", "",
        "### An unknown language: leave one corpus out", "",
        "Trained on four corpora, tested on the fifth, scored on the classes the held-out "
        "corpus has (argmax over them) and over all eight.", "",
        "| recipe | held-out corpus | seeds | own classes | accuracy, own classes | "
        "accuracy, all eight |", "|---|---|---|---|---|---|",
        *[f"| {r['recipe']} | {r['heldout']} | {r['seeds']} | {r['classes']} | "
          f"{pct(r['accuracy_own'], r['accuracy_own_low'], r['accuracy_own_high'])} | "
          f"{pct(r['accuracy_all'], r['accuracy_all_low'], r['accuracy_all_high'])} |"
          for r in f["heldout"]], "",
    ]
    if five:
        met = "meets" if five["accuracy_low"] >= f["target_heldout"] else (
            "misses" if five["accuracy_high"] < f["target_heldout"] else "is undecided on")
        lines += [f"Mean over the {len(five['corpora'])} held-out corpora run so far "
                  f"({', '.join(five['corpora'])}), own classes: **"
                  f"{pct(five['accuracy'], five['accuracy_low'], five['accuracy_high'])}** "
                  f"(seeds {', '.join(map(str, five['seeds']))}); it {met} the target of "
                  f"{f['target_heldout']:.0f} %."]
    if three:
        lines += [f"The same recipe on the paper's three corpora, over the same three "
                  f"held-out corpora: {pct(three['accuracy'], three['accuracy_low'], three['accuracy_high'])}."]
    e = f["ece"]
    lines += [
        "", "## Calibration", "",
        f"A temperature of {f['temperature']:.2f}, fitted on the validation clips, divides "
        f"the logits. Expected calibration error (10 bins): validation {e['ece_val']:.1f} % "
        f"-> {e['ece_val_calibrated']:.1f} %, test {e['ece_test']:.1f} % -> "
        f"{e['ece_test_calibrated']:.1f} %. The validation and test speakers are different "
        "people, and a few hundred clips leave the error a few points of sampling noise: "
        "a temperature fitted on one set need not help on the other. `--uncalibrated` gives "
        "the network's own probabilities.", "",
        "## Known failure modes", "",
        "- Recall per class on unseen speakers: " + ", ".join(
            f"{k} {v:.0f} %" for k, v in sorted(f["recall"].items(), key=lambda kv: kv[1])) + ".",
        "- A language the model never heard loses most of the accuracy above (previous "
        "section).",
        "- The EmoDB copy it was trained on is cut to exactly 2 s; SAVEE was absent.",
        "- Natural speech (URDU, TV talk shows) has four classes only; acted corpora "
        "dominate the training set.",
        f"- The exported graph matches the Keras network to {f['export_difference']:.0e} in "
        "probability.", ""]
    return "\n".join(lines)
