"""Does the model hold up? Unseen speakers, languages and corpora, sex, and the paper's claims.

The paper claims its model is reliable "independently of the language, sex
identity, and any other external factor" {cite}`dossou2021fser`. This module turns
each claim into a measurement with a bootstrap interval and a verdict reached by
an explicit rule (:func:`judge_claim`, :func:`judge_difference`), so that no
verdict is typed in by hand.

A claim of a score is *consistent* with our measurement when the paper's number lies
inside our 95 % interval; that is all a single interval can say for it. A claim of *no
difference* (between women and men) is an equivalence claim: it holds only when the
difference is shown to be small (:data:`EQUIVALENCE_MARGIN`), it does not hold when a
difference is shown, and otherwise it is *undecided*; an interval that merely contains
zero is absence of evidence, not evidence of absence.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scipy.stats import norm

from fser_utils.data.corpora import EMOTIONS, PAPER_CORPORA, get_corpus
from fser_utils.errors import FserError
from fser_utils.studies.evaluate import compute_bootstrap_ci, compute_group_accuracy, load_predictions
from fser_utils.paper import PAPER_ACCURACY, PAPER_RECIPE, PAPER_UNSEEN, get_paper_corpus_accuracy

__all__ = [
    "VERDICTS",
    "EQUIVALENCE_MARGIN",
    "EQUIVALENCE_LEVEL",
    "DIFFERENCE_LEVEL",
    "PLANNED_POWER",
    "predict_restricted",
    "compute_baselines",
    "compute_unseen_table",
    "compute_run_table",
    "compute_run_summary",
    "compute_group_table",
    "compute_group_gap",
    "compute_split_overlap",
    "describe_architecture",
    "judge_claim",
    "judge_difference",
    "compute_equivalence_clips",
    "describe_budget_label",
    "CLAIM_COLUMNS",
    "compute_claims_table",
    "compute_paper_claims",
    "describe_budget",
    "describe_protocol",
    "compute_protocol_comparison",
]

#: the verdicts :func:`judge_claim` (score claims) and :func:`judge_difference` (claims of
#: no difference) can give, before any parenthesised detail
VERDICTS = ("consistent", "exceeded", "holds", "does not hold", "undecided",
            "not testable here")

#: margin [percentage points of accuracy] within which a difference between two groups
#: counts as "no difference" (:func:`judge_difference`), fixed before any interval was
#: judged by it (issue 33). Why 5: at the paper's claimed accuracy (95.05 %) 5 points is
#: about the whole error rate, so between two groups of equal size a gap of 5 points or
#: more means one group gets at least twice the other's errors, which is not "reliable
#: independently of sex"; a wider margin would call such gaps "no difference", and a
#: narrower one needs more test clips, as 1 / margin**2 (:func:`compute_equivalence_clips`).
EQUIVALENCE_MARGIN = 5.0

#: level of the interval an equivalence test reads: a 90 % interval inside the margin is
#: the two one-sided tests at 5 % each (Schuirmann, 1987)
EQUIVALENCE_LEVEL = 0.90

#: level of the interval that shows a difference: a 95 % interval that excludes zero is
#: the usual two-sided test at 5 %
DIFFERENCE_LEVEL = 0.95

#: probability [0-1] that the equivalence test passes, when there is truly no difference,
#: with the number of clips :func:`compute_equivalence_clips` asks for
PLANNED_POWER = 0.80


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
            "accuracy": acc["estimate"], "ci_low": acc["low"], "ci_high": acc["high"],
            "macro_f1": f1["estimate"], "f1_low": f1["low"], "f1_high": f1["high"],
            "majority": compute_baselines(pred["emotion"])["majority"],
            "split": settings.get("split"), "test_corpus": settings.get("test_corpus")})
    return pd.DataFrame(rows)


def compute_group_gap(predictions: pd.DataFrame, by: str, groups: tuple, *, n_boot: int = 2000,
                      seed: int = 0) -> dict:
    """Accuracy difference between two groups of test clips, with bootstrap intervals.

    Each group is resampled on its own (a stratified bootstrap), so the intervals
    reflect the size of both groups. Two intervals come from the same resamples: the
    95 % one (:data:`DIFFERENCE_LEVEL`), which shows a difference when it excludes zero,
    and the 90 % one (:data:`EQUIVALENCE_LEVEL`), which shows equivalence when it lies
    within the margin (:func:`judge_difference`).

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
        95 % interval ``difference_low``, ``difference_high`` and its 90 % interval
        ``difference_low90``, ``difference_high90`` [points]. ``low`` and ``high`` repeat
        the 95 % interval under the names chapter 7's tables of sections 4 and 6 read.
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


def _missing(*values) -> bool:
    return any(v is None or np.isnan(v) for v in values)


def judge_claim(claimed: float, low: float, high: float, *, baseline: float | None = None,
                testable: bool = True) -> str:
    """Verdict on a claimed score [%] given our 95 % interval [low, high] [%].

    An interval can contradict a claimed number, or fail to; it cannot confirm it, so a
    number inside the interval is *consistent* with our measurement, not shown to hold.

    Parameters
    ----------
    claimed : float [%]
        The paper's number.
    low, high : float [%]
        Our 95 % interval (NaN or None: not measured).
    baseline : float [%], optional
        The majority-class baseline of the same test clips.
    testable : bool
        False when our data differ from the paper's in a way that changes the number.

    Returns
    -------
    verdict : str
        - ``"not testable here"`` if ``testable`` is False or no interval was measured;
        - ``"consistent"`` if the claimed value lies inside the interval;
        - ``"exceeded"`` if the whole interval lies above it;
        - ``"does not hold"`` if the whole interval lies below it, followed, when a
          ``baseline`` is given, by whether the interval is above the baseline.
    """
    if not testable or _missing(low, high):
        return "not testable here"
    if low <= claimed <= high:
        return "consistent"
    if claimed < low:
        return "exceeded"
    if baseline is None:
        return "does not hold"
    side = "above" if low > baseline else "not above"
    return f"does not hold ({side} the majority-class baseline)"


def compute_equivalence_clips(low: float, high: float, n: int, *,
                              margin: float = EQUIVALENCE_MARGIN,
                              power: float = PLANNED_POWER,
                              assumed_difference: float = 0.0) -> float:
    """Test clips an equivalence test needs to pass, at the variance we observed.

    The equivalence test (two one-sided tests at ``alpha`` = 5 % each, i.e. the 90 %
    interval inside ``+-margin``) passes with probability ``power`` when the difference
    is truly ``assumed_difference`` if its standard error is at most (Chow, Shao and
    Wang, *Sample Size Calculations in Clinical Research*, 2008, section 4.2)

    ``se_needed = (margin - |assumed_difference|) / (z(1 - alpha) + z(1 - beta'))``

    with ``beta = 1 - power``, ``beta' = beta / 2`` when the assumed difference is zero
    (either one-sided test may fail) and ``beta' = beta`` otherwise. The standard error
    we observed is read from the 95 % interval, ``se = (high - low) / (2 z(0.975))``,
    and a standard error shrinks as ``1 / sqrt(clips)`` with the groups' shares kept, so

    ``clips_needed = ceil(n * (se / se_needed) ** 2)``.

    Parameters
    ----------
    low, high : float [percentage points]
        The 95 % interval of the difference (:data:`DIFFERENCE_LEVEL`).
    n : int > 0
        Test clips behind that interval (both groups).
    margin : float > 0 [percentage points]
    power : float in (0, 1)
    assumed_difference : float [percentage points]
        The true difference planned for; the default, zero, is the claim itself.

    Returns
    -------
    clips : float
        Test clips (both groups, in today's proportions), an integer; ``inf`` when
        ``|assumed_difference| >= margin``, which no number of clips can show equivalent.
    """
    if n < 1 or margin <= 0 or not 0 < power < 1 or not high >= low:
        raise FserError(f"need n >= 1, margin > 0, 0 < power < 1 and low <= high "
                        f"(got {n}, {margin}, {power}, [{low}, {high}])")
    room = margin - abs(assumed_difference)
    if room <= 0:
        return float("inf")
    alpha = (1 - EQUIVALENCE_LEVEL) / 2
    beta = (1 - power) / (2 if assumed_difference == 0 else 1)
    se = (high - low) / (2 * norm.ppf(1 - (1 - DIFFERENCE_LEVEL) / 2))
    se_needed = room / (norm.ppf(1 - alpha) + norm.ppf(1 - beta))
    return float(np.ceil(n * (se / se_needed) ** 2))


def judge_difference(low: float, high: float, *, low90: float, high90: float, n: int,
                     margin: float = EQUIVALENCE_MARGIN) -> dict:
    """Verdict on a claim of *no difference* between two groups, by an equivalence test.

    Parameters
    ----------
    low, high : float [percentage points]
        The 95 % interval of the difference (:data:`DIFFERENCE_LEVEL`).
    low90, high90 : float [percentage points]
        Its 90 % interval (:data:`EQUIVALENCE_LEVEL`).
    n : int > 0
        Test clips behind the intervals (both groups).
    margin : float > 0 [percentage points]
        Differences within ``+-margin`` count as none (:data:`EQUIVALENCE_MARGIN`).

    Returns
    -------
    judged : dict
        ``verdict`` and ``clips_needed`` (NaN unless undecided). The verdict is

        - ``"not testable here"`` when an interval is missing;
        - ``"holds"`` when the 90 % interval lies within ``+-margin`` (the equivalence
          test passes), with ``"(a difference, within the margin)"`` added when the 95 %
          interval also excludes zero: a difference too small to matter;
        - ``"does not hold"`` when, otherwise, the 95 % interval excludes zero;
        - ``"undecided"`` otherwise, with the test clips the equivalence test would need
          (:func:`compute_equivalence_clips`, planned for a true difference of zero).
    """
    out = {"verdict": "not testable here", "clips_needed": np.nan}
    if _missing(low, high, low90, high90):
        return out
    shown = low > 0 or high < 0
    if -margin <= low90 and high90 <= margin:
        return {**out, "verdict": "holds" + (" (a difference, within the margin)" if shown
                                              else "")}
    if shown:
        return {**out, "verdict": "does not hold"}
    clips = compute_equivalence_clips(low, high, n, margin=margin)
    return {"verdict": f"undecided ({clips:.0f} test clips needed, {n} here)",
            "clips_needed": clips}


#: columns of :func:`compute_claims_table`
CLAIM_COLUMNS = ["claim", "budget", "paper", "measured", "measured_low", "measured_high",
                 "measured_low90", "measured_high90", "verdict", "clips_needed", "evidence"]


def compute_claims_table(claims: list[dict]) -> pd.DataFrame:
    """The closing table: each claim, what we measured, and the verdict by rule.

    Parameters
    ----------
    claims : list of dict
        Each with ``claim`` (text), ``paper`` (the paper's number [%], or NaN),
        ``measured`` with its 95 % interval ``measured_low``, ``measured_high`` [%, or
        percentage points for a difference] (NaN if not measured), ``evidence`` (which
        run / data), ``budget`` (the run's training budget, :func:`describe_budget_label`)
        and optionally ``kind``: ``"score"`` (default) is judged by :func:`judge_claim`,
        with ``baseline`` [%]; ``"difference"`` by :func:`judge_difference`, and then
        needs the 90 % interval ``measured_low90``, ``measured_high90`` and ``n`` (test
        clips). ``testable`` (bool, default True) with ``why`` (the reason when not).

    Returns
    -------
    table : pd.DataFrame
        Columns :data:`CLAIM_COLUMNS`; ``clips_needed`` is NaN except for an undecided
        claim of no difference.
    """
    rows = []
    for c in claims:
        row = {"claim": c["claim"], "budget": c.get("budget", ""),
               "paper": c.get("paper", np.nan), "clips_needed": np.nan,
               **{k: c.get(k, np.nan) for k in CLAIM_COLUMNS if k.startswith("measured")}}
        testable = c.get("testable", True)
        if c.get("kind", "score") == "difference" and testable:
            row.update(judge_difference(row["measured_low"], row["measured_high"],
                                        low90=row["measured_low90"],
                                        high90=row["measured_high90"], n=c.get("n", 0)))
        else:
            row["verdict"] = judge_claim(row["paper"], row["measured_low"],
                                         row["measured_high"], baseline=c.get("baseline"),
                                         testable=testable)
        evidence = c.get("evidence", "")
        if not testable and c.get("why"):
            evidence = f"{evidence}; {c['why']}" if evidence else c["why"]
        rows.append({**row, "evidence": evidence})
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


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
        ``correct``, ``accuracy``, ``ci_low``, ``ci_high`` [%] (see
        :func:`fser_utils.studies.evaluate.compute_group_accuracy`); all runs' rows for the
        first column of ``by``, then for the next.
    """
    preds = {label: load_predictions(run_dir)[0] for label, run_dir in runs.items()}
    parts = [compute_group_accuracy(pred, col, n_boot=n_boot, seed=seed)
             .rename(columns={col: "group"}).assign(run=label, by=col)
             for col in by for label, pred in preds.items()]
    columns = ["run", "by", "group", "n", "correct", "accuracy", "ci_low", "ci_high"]
    return pd.concat(parts, ignore_index=True)[columns]


def _interval(row) -> dict:
    return {"measured": row["accuracy"], "measured_low": row["ci_low"],
            "measured_high": row["ci_high"]}


def _pick_runs(table: pd.DataFrame) -> tuple[str, str | None, list]:
    """The random-split run, the speaker-split run and the held-out-corpus runs, by name."""
    paper = table.index[table["split"] == "paper"]
    if not len(paper):
        raise FserError("the paper's claims need a run on the paper's random split "
                        f"(got splits: {', '.join(map(str, table['split'].unique()))})")
    speaker = table.index[table["split"] == "speaker"]
    return paper[0], (speaker[0] if len(speaker) else None), \
        list(table.index[table["split"] == "corpus"])


def _corpus_claims(pred, paper: str, notes: dict, n_boot: int, seed: int) -> list[dict]:
    """Table 4's per-corpus accuracies against the random-split run's test clips."""
    measured = compute_group_accuracy(pred, "corpus", n_boot=n_boot, seed=seed).set_index("corpus")
    claims = []
    for c, claimed in get_paper_corpus_accuracy().items():
        row = {"claim": f"{c} accuracy {claimed} % (Table 4)", "paper": claimed}
        if c in measured.index:
            row.update(_interval(measured.loc[c]), run=paper,
                       evidence=f"{paper}, test clips of {c}")
        if c in notes:  # the copy differs from the paper's: a number, but not the claim's
            row.update(testable=False, why=notes[c])
        claims.append(row)
    return claims


def _protocol_claims(table: pd.DataFrame, speaker: str | None, held_out: list) -> list[dict]:
    """The overall accuracy claimed, against runs whose test speakers or language are new."""
    what = {n: "reliable independently of the language: "
               f"{get_corpus(table.loc[n, 'test_corpus']).language} never heard" for n in held_out}
    if speaker is not None:
        what = {speaker: "reliable for any other external factor: speakers never heard", **what}
    return [{"claim": claim, "paper": PAPER_ACCURACY, **_interval(table.loc[name]),
             "baseline": table.loc[name, "majority"], "run": name, "evidence": name}
            for name, claim in what.items()]


def _unseen_claims(unseen: pd.DataFrame | None, model_run: str, full_run=None) -> list[dict]:
    """The paper's 24-clip test (not published) and ours on whole corpora it never saw,
    scored by the model of ``model_run``; a row saying so when the full-budget run
    ``full_run`` (a path) is another run."""
    n_ok, n_all = PAPER_UNSEEN
    claims = [{"claim": f"{n_ok} of {n_all} clips in French, Fon, Igbo correct",
               "paper": 100 * n_ok / n_all, "testable": False,
               "why": f"the {n_all} clips are not published"}]
    rows = [] if unseen is None else unseen.to_dict("records")
    if rows and full_run is not None:
        from fser_utils.training.run import Run

        why = ("the run stores its predictions, not its model, so it cannot score them"
               if Run(full_run).model_file is None else "its model has not scored them here")
        claims.append({"claim": f"unseen language like the {n_all}-clip test: "
                                f"{', '.join(r['language'] for r in rows)}",
                       "paper": 100 * n_ok / n_all, "testable": False, "why": why,
                       "run": Path(full_run).name, "evidence": Path(full_run).name})
    for r in rows:
        claims.append({"claim": f"unseen language like the {n_all}-clip test: {r['language']} "
                                f"({r['corpus']}, {r['k']} classes)",
                       "paper": 100 * n_ok / n_all, **_interval(r), "baseline": r["majority"],
                       "run": model_run, "evidence": f"{model_run} model, all {r['n']} clips"})
    return claims


def _sex_claim(run_dir, name: str, n_boot: int, seed: int) -> list[dict]:
    """No difference between female and male speakers, on one run's test clips."""
    pred = load_predictions(run_dir)[0]
    if not {"female", "male"} <= set(pred["sex"]):
        return []
    g = compute_group_gap(pred, "sex", ("female", "male"), n_boot=n_boot, seed=seed)
    return [{"claim": "reliable independently of sex: female - male accuracy = 0",
             "paper": np.nan, "kind": "difference", "n": g["n"], "run": name, "evidence": name,
             **{k.replace("difference", "measured"): v for k, v in g.items()
                if k.startswith("difference")}}]


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
        ``ci_low``, ``ci_high``, ``macro_f1``, ``majority`` [%]. Protocols in the order
        paper, speakers, held-out corpora.
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
        ["run", "n_test", "accuracy", "ci_low", "ci_high", "macro_f1", "majority"]]


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


def describe_budget_label(run_dir) -> str:
    """Whether a run is the paper's recipe at its full budget, in a few words:
    ``full budget: 400 epochs`` or ``shorter: 30 epochs, profile 'cpu'``."""
    from fser_utils.training.run import Run

    run = Run(run_dir)
    settings, metrics = run.load_settings(), run.load_metrics(missing_ok=True)
    epochs, profile = metrics.get("epochs_run"), settings.get("profile", "?")
    if profile == "paper" and epochs == PAPER_RECIPE["epochs"]:
        return f"full budget: {epochs} epochs"
    return f"shorter: {epochs if epochs is not None else '?'} epochs, profile '{profile}'"


def compute_paper_claims(runs, *, unseen: pd.DataFrame | None = None, notes: dict | None = None,
                         n_boot: int = 2000, seed: int = 0, paper_run=None) -> list[dict]:
    """Each of the paper's claims with what we measured, for :func:`compute_claims_table`.

    The claims, in order: the overall accuracy and Table 4's per-corpus accuracies
    (on the random-split run), reliability for speakers never heard (speaker split)
    and for languages never heard (each held-out-corpus run), the unseen-language
    test (``unseen``), and no difference between female and male speakers (each
    random- and speaker-split run).

    Parameters
    ----------
    runs : iterable of path-like
        Finished runs; each is recognised by its split. One on the paper's random split
        is required; the speaker-split and held-out-corpus runs are optional.
    unseen : pd.DataFrame or None
        From :func:`compute_unseen_table`, scored by the model of the random-split run of
        ``runs``.
    notes : dict of str -> str, or None
        How the local copy of each corpus differs from the original (a corpus with a
        note cannot test Table 4's number); default
        :func:`fser_utils.data.catalogue.get_run_data_notes` of the random-split run.
    n_boot, seed
        Of every bootstrap interval.
    paper_run : path-like or None
        A random-split run of the paper's recipe at its full budget (chapter 8's). When
        given, it alone answers the random-split claims (overall, per corpus, sex), and a
        claim it cannot answer (the unseen corpora: no stored model) says so; the
        random-split run of ``runs`` then gets rows of its own (overall, sex, unseen
        corpora), which ``budget`` labels.

    Returns
    -------
    claims : list of dict
        In the format of :func:`compute_claims_table`; every measured claim names its
        run in ``evidence`` with the recipe and budget (:func:`describe_budget`) and in
        ``budget`` (:func:`describe_budget_label`).
    """
    from fser_utils.data.catalogue import get_run_data_notes

    runs = {Path(r).name: r for r in runs}
    table = compute_run_table(runs, n_boot=n_boot, seed=seed).set_index("run")
    short, speaker, held_out = _pick_runs(table)
    paper = short
    if paper_run is not None:
        paper = Path(paper_run).name
        runs = {paper: paper_run, **runs}
        table = pd.concat([compute_run_table({paper: paper_run}, n_boot=n_boot,
                                             seed=seed).set_index("run"), table])
    pred, settings = load_predictions(runs[paper])
    notes = get_run_data_notes(settings) if notes is None else notes
    absent = [c for c in PAPER_CORPORA if c not in (settings.get("corpora") or [])]
    random = [paper] + ([short] if short != paper else [])
    claims = [{"claim": f"{PAPER_ACCURACY} % accuracy over 8 classes (random clip split)",
               "paper": PAPER_ACCURACY, **_interval(table.loc[name]), "run": name,
               "evidence": f"{name}; {table.loc[name, 'test_corpora']}"
                           + (f" (no {', '.join(absent)})" if absent else "")}
              for name in random]
    claims += _corpus_claims(pred, paper, notes, n_boot, seed)
    claims += _protocol_claims(table, speaker, held_out)
    claims += _unseen_claims(unseen, short, paper_run)
    for name in random + ([speaker] if speaker else []):
        claims += _sex_claim(runs[name], name, n_boot, seed)
    for claim in claims:
        name = claim.pop("run", None)
        if name is not None:
            claim["evidence"] += f" [{describe_budget(runs[name])}]"
            claim["budget"] = describe_budget_label(runs[name])
    return claims
