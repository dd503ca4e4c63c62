"""Does the model hold up? Unseen speakers, languages and corpora, sex, and the paper's claims.

The paper claims its model is reliable "independently of the language, sex
identity, and any other external factor" {cite}`dossou2021fser`. This module turns
each claim into a measurement with a bootstrap interval and a verdict reached by
an explicit rule (:func:`judge_claim`, :func:`judge_difference`), so that no
verdict is typed in by hand.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .corpora import EMOTIONS, get_corpus
from .errors import FserError
from .evaluate import compute_bootstrap_ci, load_predictions

__all__ = [
    "VERDICTS",
    "predict_restricted",
    "compute_baselines",
    "compute_unseen_table",
    "compute_run_table",
    "compute_group_gap",
    "compute_split_overlap",
    "describe_architecture",
    "judge_claim",
    "judge_difference",
    "compute_claims_table",
]

#: the verdicts :func:`judge_claim` and :func:`judge_difference` can give
VERDICTS = ("holds", "does not hold", "not testable here")


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
        (classes shared), ``classes``, ``accuracy``, ``ci_low``, ``ci_high``,
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
            "accuracy": acc["estimate"], "ci_low": acc["low"], "ci_high": acc["high"],
            "chance": base["chance"], "majority": base["majority"],
            "macro_f1": f1["estimate"],
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
        ``accuracy``, ``ci_low``, ``ci_high``, ``macro_f1``, ``f1_low``, ``f1_high``,
        ``majority`` (always predicting the test set's most frequent class), in percent.
    """
    rows = []
    for label, run_dir in runs.items():
        pred, _ = load_predictions(run_dir)
        acc = compute_bootstrap_ci(pred["emotion"], pred["predicted"], n_boot=n_boot, seed=seed)
        f1 = compute_bootstrap_ci(pred["emotion"], pred["predicted"], metric="macro_f1",
                                  n_boot=n_boot, seed=seed)
        rows.append({
            "protocol": label, "run": Path(run_dir).name,
            "test_corpora": ", ".join(sorted(pred["corpus"].unique())), "n_test": len(pred),
            "accuracy": acc["estimate"], "ci_low": acc["low"], "ci_high": acc["high"],
            "macro_f1": f1["estimate"], "f1_low": f1["low"], "f1_high": f1["high"],
            "majority": compute_baselines(pred["emotion"])["majority"]})
    return pd.DataFrame(rows)


def compute_group_gap(predictions: pd.DataFrame, by: str, groups: tuple, *, n_boot: int = 2000,
                      level: float = 0.95, seed: int = 0) -> dict:
    """Accuracy difference between two groups of test clips, with a bootstrap interval.

    Each group is resampled on its own (a stratified bootstrap), so the interval
    reflects the size of both groups.

    Parameters
    ----------
    predictions : pd.DataFrame
        With ``emotion``, ``predicted`` and ``by``.
    by : str
        Column, e.g. ``"sex"``.
    groups : (str, str)
        The two values compared, e.g. ``("female", "male")``.

    Returns
    -------
    gap : dict
        ``a``, ``b`` (the groups), ``acc_a``, ``acc_b``, ``n_a``, ``n_b``,
        ``difference`` (acc_a - acc_b), ``low``, ``high``, all accuracies in percent.
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
    alpha = (1 - level) / 2
    low, high = np.quantile(diff, [alpha, 1 - alpha])
    return {"a": groups[0], "b": groups[1], "acc_a": 100 * correct[0].mean(),
            "acc_b": 100 * correct[1].mean(), "n_a": len(correct[0]), "n_b": len(correct[1]),
            "difference": 100 * (correct[0].mean() - correct[1].mean()),
            "low": float(low), "high": float(high)}


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
    """The layers of a run's ``model.keras`` with their sizes, read without Keras.

    Two runs compared side by side must use the same network; the training
    profile does not record it, so it is read from the saved model's
    ``config.json``.

    Returns
    -------
    layers : list of str
        One entry per layer (nested models flattened), e.g.
        ``"Conv2D filters=32 kernel_size=[3, 3] activation=relu"``.
    """
    import json
    import zipfile
    from pathlib import Path

    path = Path(run_dir) / "model.keras"
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise FserError(f"cannot read the model configuration of '{path}': {exc}") from None

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


def judge_claim(claimed: float, low: float, high: float, *, baseline: float | None = None,
                testable: bool = True) -> str:
    """Verdict on a claimed score [%] given our 95 % interval [low, high] [%].

    Rules
    -----
    - ``not testable here`` if ``testable`` is False (our data differ from the
      paper's in a way that changes the number) or no interval was measured;
    - ``holds`` if the claimed value is not above the interval's upper end (our
      measurement does not contradict it);
    - ``does not hold`` if the whole interval lies below the claimed value, with,
      when a ``baseline`` is given, whether the interval is above it.
    """
    if not testable or low is None or high is None or np.isnan(low) or np.isnan(high):
        return "not testable here"
    if claimed <= high:
        return "holds"
    if baseline is None:
        return "does not hold"
    side = "above" if low > baseline else "not above"
    return f"does not hold ({side} the majority-class baseline)"


def judge_difference(low: float, high: float) -> str:
    """Verdict on a claim of *no difference*: ``holds`` if the interval of the
    difference [low, high] contains 0, else ``does not hold``."""
    if low is None or high is None or np.isnan(low) or np.isnan(high):
        return "not testable here"
    return "holds" if low <= 0 <= high else "does not hold"


def compute_claims_table(claims: list[dict]) -> pd.DataFrame:
    """The closing table: each claim, what we measured, and the verdict by rule.

    Parameters
    ----------
    claims : list of dict
        Each with ``claim`` (text), ``paper`` (the paper's number [%], or NaN),
        ``measured``, ``low``, ``high`` [%] (NaN if not measured), ``evidence``
        (which run / data) and optionally ``kind`` (``"score"``, default, judged by
        :func:`judge_claim`; ``"difference"`` by :func:`judge_difference`),
        ``baseline`` [%] and ``testable`` (bool, default True) with ``why`` (the
        reason when not testable).

    Returns
    -------
    table : pd.DataFrame
        Columns ``claim``, ``paper``, ``measured``, ``ci_low``, ``ci_high``,
        ``evidence``, ``verdict``.
    """
    rows = []
    for c in claims:
        low, high = c.get("low", np.nan), c.get("high", np.nan)
        if c.get("kind", "score") == "difference":
            verdict = judge_difference(low, high)
        else:
            verdict = judge_claim(c["paper"], low, high, baseline=c.get("baseline"),
                                  testable=c.get("testable", True))
        evidence = c.get("evidence", "")
        if not c.get("testable", True) and c.get("why"):
            evidence = f"{evidence}; {c['why']}" if evidence else c["why"]
        rows.append({"claim": c["claim"], "paper": c.get("paper", np.nan),
                     "measured": c.get("measured", np.nan), "ci_low": low, "ci_high": high,
                     "evidence": evidence, "verdict": verdict})
    return pd.DataFrame(rows)
