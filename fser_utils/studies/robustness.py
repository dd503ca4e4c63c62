"""Does the model hold up? Unseen speakers, languages and corpora, and the two sexes.

Chapter 7's measurements, each with a bootstrap interval: the accuracy of runs whose test
speakers or language the model never heard (:func:`compute_run_table`,
:func:`compute_protocol_comparison`), per group of test clips (:func:`compute_group_table`)
and between two groups (:func:`compute_group_gap`), on whole corpora it never saw
(:func:`compute_unseen_table`), with what each test split shares with its training split
(:func:`compute_split_overlap`) and what each run is (:func:`compute_run_summary`,
:func:`describe_architecture`, :func:`describe_budget`). The paper's claims are judged
against these numbers in :mod:`fser_utils.studies.claims` and
:mod:`fser_utils.studies.verdicts`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.data.corpora import EMOTIONS, get_corpus
from fser_utils.errors import FserError
from fser_utils.studies.evaluate import compute_bootstrap_ci, compute_group_accuracy, load_predictions
from fser_utils.studies.verdicts import DIFFERENCE_LEVEL, EQUIVALENCE_LEVEL

__all__ = [
    "predict_restricted",
    "compute_baselines",
    "compute_unseen_table",
    "compute_run_table",
    "compute_run_summary",
    "compute_group_table",
    "compute_group_gap",
    "compute_split_overlap",
    "describe_architecture",
    "describe_budget",
    "describe_protocol",
    "compute_protocol_comparison",
]


def predict_restricted(proba: np.ndarray, *, allowed, classes=EMOTIONS) -> np.ndarray:
    """The most probable class among ``allowed`` only.

    A corpus with fewer classes than the model (nEMO has 6, URDU 4) is scored on
    the classes it shares with the model: the probabilities of the other classes
    are ignored, which is what a user who knows the label set would do.

    Parameters
    ----------
    proba : np.ndarray [shape=(n, len(classes))]
    allowed : sequence of str
        Subset of ``classes``.
    classes : sequence of str
        Column order of ``proba``.

    Returns
    -------
    predicted : np.ndarray [shape=(n,), dtype=object]
    """
    classes = list(classes)
    bad = [c for c in allowed if c not in classes]
    if bad or not len(allowed):
        raise FserError(f"allowed classes must be a non-empty subset of {classes}; got {bad}")
    cols = [classes.index(c) for c in allowed]
    proba = np.asarray(proba, dtype=float)
    return np.asarray(allowed, dtype=object)[np.argmax(proba[:, cols], axis=1)]


def compute_baselines(y_true, *, k: int | None = None) -> dict:
    """Accuracy [%] of guessing at random among ``k`` classes and of always guessing the
    most frequent class.

    Parameters
    ----------
    y_true : array-like of str [shape=(n,)]
    k : int > 0 or None
        Classes a guesser chooses among (default: those in ``y_true``).

    Returns
    -------
    baselines : dict
        ``chance`` (100 / k), ``majority`` (share of the most frequent class) and
        ``majority_class``.
    """
    counts = pd.Series(np.asarray(y_true, dtype=object)).value_counts()
    if counts.empty:
        raise FserError("baselines need at least one label")
    k = k or len(counts)
    return {"chance": 100 / k, "majority": 100 * counts.iloc[0] / counts.sum(),
            "majority_class": counts.index[0]}


def compute_unseen_table(catalogue: pd.DataFrame, proba: np.ndarray, *, classes=EMOTIONS,
                         n_boot: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accuracy on corpora the model never saw, on the classes each shares with the model.

    Parameters
    ----------
    catalogue : pd.DataFrame [shape=(n, ...)]
        Rows of the unseen corpora (columns ``corpus``, ``language``, ``style``,
        ``emotion``), aligned with ``proba``.
    proba : np.ndarray [shape=(n, len(classes))]
        The model's probabilities for those clips.

    Returns
    -------
    table : pd.DataFrame
        One row per corpus: ``corpus``, ``language``, ``style``, ``n``, ``k``
        (classes shared), ``classes``, ``accuracy``, ``accuracy_low``, ``accuracy_high``,
        ``chance``, ``majority``, ``macro_f1``, ``unrestricted`` (accuracy of the
        plain 8-class argmax), all in percent.
    predictions : pd.DataFrame
        ``catalogue``'s rows with ``predicted`` (restricted) added.
    """
    proba = np.asarray(proba, dtype=float)
    if len(catalogue) != len(proba):
        raise FserError(f"{len(catalogue)} clips but {len(proba)} rows of probabilities")
    cat = catalogue.reset_index(drop=True).copy()
    cat["emotion"] = cat["emotion"].astype(object)
    cat["predicted"] = None
    rows = []
    for corpus, part in cat.groupby("corpus", sort=True):
        part = part.dropna(subset=["emotion"])
        allowed = [c for c in classes if c in set(part["emotion"])]
        pred = predict_restricted(proba[part.index], allowed=allowed, classes=classes)
        cat.loc[part.index, "predicted"] = pred
        acc = compute_bootstrap_ci(part["emotion"], pred, n_boot=n_boot, seed=seed)
        f1 = compute_bootstrap_ci(part["emotion"], pred, metric="macro_f1", n_boot=1, seed=seed)
        base = compute_baselines(part["emotion"], k=len(allowed))
        plain = np.asarray(classes, dtype=object)[proba[part.index].argmax(axis=1)]
        info = get_corpus(corpus) if corpus in ("nemo", "urdu") else None
        rows.append({
            "corpus": corpus, "language": part["language"].iloc[0],
            "style": part["style"].iloc[0] if "style" in part else (info.style if info else ""),
            "n": len(part), "k": len(allowed), "classes": ", ".join(allowed),
            **{k: acc[k] for k in ("accuracy", "accuracy_low", "accuracy_high")},
            "chance": base["chance"], "majority": base["majority"],
            "macro_f1": f1["macro_f1"],
            "unrestricted": 100 * float(np.mean(plain == part["emotion"].to_numpy()))})
    return pd.DataFrame(rows), cat


def compute_run_table(runs: dict, *, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Accuracy and macro F1, with intervals and baselines, of several runs side by side.

    Parameters
    ----------
    runs : dict
        ``{label: run_dir}``, e.g. ``{"paper protocol": ..., "unseen speakers": ...}``.

    Returns
    -------
    table : pd.DataFrame
        One row per run: ``protocol``, ``run``, ``test_corpora``, ``n_test``,
        ``accuracy``, ``accuracy_low``, ``accuracy_high``, ``macro_f1``,
        ``macro_f1_low``, ``macro_f1_high``,
        ``majority`` (always predicting the test set's most frequent class), in percent,
        and the run's ``split`` and ``test_corpus``.
    """
    rows = []
    for label, run_dir in runs.items():
        pred, settings = load_predictions(run_dir)
        acc = compute_bootstrap_ci(pred["emotion"], pred["predicted"], n_boot=n_boot, seed=seed)
        f1 = compute_bootstrap_ci(pred["emotion"], pred["predicted"], metric="macro_f1",
                                  n_boot=n_boot, seed=seed)
        rows.append({
            "protocol": label, "run": Path(run_dir).name,
            "test_corpora": ", ".join(sorted(pred["corpus"].unique())), "n_test": len(pred),
            **{k: acc[k] for k in ("accuracy", "accuracy_low", "accuracy_high")},
            **{k: f1[k] for k in ("macro_f1", "macro_f1_low", "macro_f1_high")},
            "majority": compute_baselines(pred["emotion"])["majority"],
            "split": settings.get("split"), "test_corpus": settings.get("test_corpus")})
    return pd.DataFrame(rows)


def compute_group_gap(predictions: pd.DataFrame, by: str, groups: tuple, *, n_boot: int = 2000,
                      seed: int = 0) -> dict:
    """Accuracy difference between two groups of test clips, with bootstrap intervals.

    Each group is resampled on its own (a stratified bootstrap), so the intervals
    reflect the size of both groups. Two intervals come from the same resamples: the
    95 % one (:data:`~fser_utils.studies.verdicts.DIFFERENCE_LEVEL`), which shows a
    difference when it excludes zero, and the 90 % one
    (:data:`~fser_utils.studies.verdicts.EQUIVALENCE_LEVEL`), which shows equivalence
    when it lies within the margin (:func:`~fser_utils.studies.verdicts.judge_difference`).

    Parameters
    ----------
    predictions : pd.DataFrame
        With ``emotion``, ``predicted`` and ``by``.
    by : str
        Column, e.g. ``"sex"``.
    groups : (str, str)
        The two values compared, e.g. ``("female", "male")``.
    n_boot : int > 0
        Resamples.
    seed : int
        Of the resampling.

    Returns
    -------
    gap : dict
        ``a``, ``b`` (the groups), ``acc_a``, ``acc_b`` [%], ``n_a``, ``n_b`` (clips),
        ``n`` (``n_a + n_b``), ``difference`` (acc_a - acc_b) [percentage points], its
        95 % interval ``difference_low``, ``difference_high``, its 90 % interval
        ``difference_low90``, ``difference_high90`` and its standard error
        ``difference_se`` (the spread of the resampled differences) [points].
    """
    rng = np.random.default_rng(seed)
    correct = []
    for g in groups:
        part = predictions[predictions[by] == g]
        if part.empty:
            raise FserError(f"no test clip with {by} = '{g}'")
        correct.append((part["emotion"] == part["predicted"]).to_numpy(dtype=float))
    boot = [c[rng.integers(0, len(c), size=(n_boot, len(c)))].mean(axis=1) for c in correct]
    diff = 100 * (boot[0] - boot[1])
    tails = [(1 - level) / 2 for level in (DIFFERENCE_LEVEL, EQUIVALENCE_LEVEL)]
    low, high, low90, high90 = np.quantile(diff, [tails[0], 1 - tails[0], tails[1], 1 - tails[1]])
    return {"a": groups[0], "b": groups[1], "acc_a": 100 * correct[0].mean(),
            "acc_b": 100 * correct[1].mean(), "n_a": len(correct[0]), "n_b": len(correct[1]),
            "n": len(correct[0]) + len(correct[1]),
            "difference": 100 * (correct[0].mean() - correct[1].mean()),
            "difference_low": float(low), "difference_high": float(high),
            "difference_low90": float(low90), "difference_high90": float(high90),
            "difference_se": float(np.std(diff, ddof=1))}


def compute_split_overlap(split: pd.DataFrame, catalogue: pd.DataFrame) -> dict:
    """How much of each test clip the training set has already heard.

    A random split of clips leaves, for most test clips, the same speaker in the
    training set, often saying the same sentence with the same emotion (another
    take or intensity). A model can then score well by recognising the speaker and
    the recording rather than the emotion.

    Parameters
    ----------
    split : pd.DataFrame
        A run's ``split.csv`` (columns ``relpath``, ``speaker``, ``emotion``, ``part``).
    catalogue : pd.DataFrame
        With ``relpath`` and ``sentence``, to find clips of the same sentence.

    Returns
    -------
    overlap : dict
        ``n_test`` and, in percent of the test clips, ``speaker_seen`` (their
        speaker is in the training set), ``speaker_emotion_seen`` (the speaker with
        the same emotion) and ``twin_seen`` (the speaker saying the same sentence with
        the same emotion).
    """
    df = split.merge(catalogue[["relpath", "sentence"]], on="relpath", how="left")
    df["sentence"] = df["sentence"].fillna("?").astype(str)
    train, test = df[df["part"] == "train"], df[df["part"] == "test"]
    if test.empty:
        raise FserError("the split has no test clip")

    def seen(cols):
        keys = set(map(tuple, train[cols].astype(str).to_numpy()))
        return 100 * float(np.mean([tuple(k) in keys for k in test[cols].astype(str).to_numpy()]))

    return {"n_test": len(test), "speaker_seen": seen(["speaker"]),
            "speaker_emotion_seen": seen(["speaker", "emotion"]),
            "twin_seen": seen(["speaker", "sentence", "emotion"])}


_ARCH_KEYS = ("filters", "kernel_size", "strides", "padding", "units", "rate", "pool_size",
              "activation")


def describe_architecture(run_dir) -> list[str]:
    """The layers of a run's Keras model with their sizes, read without Keras.

    Two runs compared side by side must use the same network; the training
    profile does not record it, so it is read from the saved model's configuration
    (:meth:`fser_utils.training.run.Run.load_model_config`).

    Returns
    -------
    layers : list of str
        One entry per layer (nested models flattened), e.g.
        ``"Conv2D filters=32 kernel_size=[3, 3] activation=relu"``.
    """
    from fser_utils.training.run import Run

    config = Run(run_dir).load_model_config()
    out = []

    def walk(layer):
        cfg = layer.get("config", {})
        inner = cfg.get("layers") if isinstance(cfg, dict) else None
        if inner:
            for sub in inner:
                walk(sub)
            return
        sizes = " ".join(f"{k}={cfg[k]}" for k in _ARCH_KEYS if k in cfg)
        out.append(f"{layer.get('class_name', '?')} {sizes}".strip())

    walk(config)
    return out


def compute_run_summary(runs: dict) -> pd.DataFrame:
    """What each run is, and whether runs compared side by side differ only in their split.

    Parameters
    ----------
    runs : dict
        ``{label: run_dir}``.

    Returns
    -------
    summary : pd.DataFrame
        Index: the labels. Columns ``run`` (folder name), ``date``, ``n_train``,
        ``n_val``, ``n_test``, ``hardware``, ``same_settings`` (profile settings,
        feature settings and seed equal to the first run's) and ``same_network`` (the
        same layers and sizes as the first run's; NA where a run has no Keras model).
    """
    rows, first = {}, None
    for label, run_dir in runs.items():
        _, s = load_predictions(run_dir)
        try:
            network = describe_architecture(run_dir)
        except FserError:  # scikit-learn models and exported result folders have none
            network = None
        this = {k: s.get(k) for k in ("profile_settings", "features", "seed")}, network
        first = first or this
        rows[label] = {
            "run": Path(run_dir).name, "date": s.get("date"),
            **{k: s.get(k) for k in ("n_train", "n_val", "n_test", "hardware")},
            "same_settings": this[0] == first[0],
            "same_network": pd.NA if network is None or first[1] is None else network == first[1]}
    return pd.DataFrame.from_dict(rows, orient="index")


def compute_group_table(runs: dict, *, by=("sex", "corpus"), n_boot: int = 2000,
                        seed: int = 0) -> pd.DataFrame:
    """Accuracy per group of test clips (by sex, by corpus, ...) of several runs, in one table.

    Parameters
    ----------
    runs : dict
        ``{label: run_dir}``.
    by : sequence of str
        Prediction columns to group by, one after the other.

    Returns
    -------
    table : pd.DataFrame
        Columns ``run`` (the label), ``by`` (the column grouped by), ``group``, ``n``,
        ``correct``, ``accuracy``, ``accuracy_low``, ``accuracy_high`` [%] (see
        :func:`fser_utils.studies.evaluate.compute_group_accuracy`); all runs' rows for the
        first column of ``by``, then for the next.
    """
    preds = {label: load_predictions(run_dir)[0] for label, run_dir in runs.items()}
    parts = [compute_group_accuracy(pred, col, n_boot=n_boot, seed=seed)
             .rename(columns={col: "group"}).assign(run=label, by=col)
             for col in by for label, pred in preds.items()]
    columns = ["run", "by", "group", "n", "correct", "accuracy", "accuracy_low",
               "accuracy_high"]
    return pd.concat(parts, ignore_index=True)[columns]


def describe_protocol(split: str, test_corpus: str | None = None) -> str:
    """A split in words: ``paper protocol: random clips``, ``unseen speakers``,
    ``German (emodb) held out``."""
    if split == "corpus":
        return f"{get_corpus(test_corpus).language} ({test_corpus}) held out"
    return {"paper": "paper protocol: random clips", "speaker": "unseen speakers"}.get(split, split)


def compute_protocol_comparison(models: dict, *, n_boot: int = 2000,
                                seed: int = 0) -> pd.DataFrame:
    """Several models under the same protocols, one row per model and protocol.

    Parameters
    ----------
    models : dict of str -> iterable of path-like
        Model label -> its finished runs (one per protocol; each recognised by its split).
    n_boot, seed
        Of the bootstrap intervals.

    Returns
    -------
    table : pd.DataFrame
        Index (``protocol``, ``model``); columns ``run``, ``n_test``, ``accuracy``,
        ``accuracy_low``, ``accuracy_high``, ``macro_f1``, ``majority`` [%]. Protocols in
        the order paper, speakers, held-out corpora.
    """
    parts = []
    for label, runs in models.items():
        table = compute_run_table({Path(r).name: r for r in runs}, n_boot=n_boot, seed=seed)
        if table.empty:
            continue
        table["protocol"] = [describe_protocol(s, c) for s, c in
                             zip(table["split"], table["test_corpus"])]
        table["order"] = table["split"].map({"paper": 0, "speaker": 1}).fillna(2)
        parts.append(table.assign(model=label))
    if not parts:
        raise FserError("no finished run to compare")
    table = pd.concat(parts, ignore_index=True).sort_values(["order", "protocol", "model"],
                                                            kind="stable")
    return table.set_index(["protocol", "model"])[
        ["run", "n_test", "accuracy", "accuracy_low", "accuracy_high", "macro_f1", "majority"]]


def describe_budget(run_dir) -> str:
    """The recipe and budget a run was trained with, e.g. ``profile 'paper', 400 epochs x
    34440 images, NVIDIA H200``: every number in the claims table says where it comes from."""
    from fser_utils.training.run import Run

    run = Run(run_dir)
    settings, metrics = run.load_settings(), run.load_metrics(missing_ok=True)
    epochs = metrics.get("epochs_run", "?")
    images = settings.get("n_train_images", settings.get("n_train", "?"))
    hardware = settings.get("hardware", "unknown hardware")
    return f"profile '{settings.get('profile', '?')}', {epochs} epochs x {images} images, {hardware}"
