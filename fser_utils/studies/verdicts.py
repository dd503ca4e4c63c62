"""The rules that judge a claim against our measurement, so that no verdict is typed in by
hand. A claim of a score is *consistent* with our measurement when the paper's number lies
inside our 95 % interval, which is all a single interval can say for it
(:func:`judge_claim`). A claim of *no difference* (between women and men) is an
equivalence claim: it holds only when the difference is shown to be small
(:data:`EQUIVALENCE_MARGIN`), it does not hold when a difference is shown, and otherwise it
is *undecided*, with the test clips that would decide it (:func:`judge_difference`,
:func:`compute_equivalence_clips`); an interval that merely contains zero is absence of
evidence, not evidence of absence. :func:`compute_claims_table` applies the rules to every
claim that :func:`fser_utils.studies.claims.compute_paper_claims` measured.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from scipy.stats import norm

from fser_utils.errors import FserError

__all__ = [
    "VERDICTS",
    "EQUIVALENCE_MARGIN",
    "EQUIVALENCE_LEVEL",
    "DIFFERENCE_LEVEL",
    "PLANNED_POWER",
    "judge_claim",
    "judge_difference",
    "compute_equivalence_clips",
    "CLAIM_COLUMNS",
    "compute_claims_table",
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


def compute_equivalence_clips(se: float, n: int, *,
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
    we observed, ``se``, is the spread of the bootstrap differences
    (:func:`~fser_utils.studies.robustness.compute_group_gap`'s ``difference_se``), and a
    standard error shrinks as ``1 / sqrt(clips)`` with the groups' shares kept, so

    ``clips_needed = ceil(n * (se / se_needed) ** 2)``.

    Parameters
    ----------
    se : float > 0 [percentage points]
        Standard error of the difference we measured.
    n : int > 0
        Test clips behind it (both groups).
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
    if n < 1 or margin <= 0 or not 0 < power < 1 or not se > 0:
        raise FserError(f"need n >= 1, margin > 0, 0 < power < 1 and se > 0 "
                        f"(got {n}, {margin}, {power}, {se})")
    room = margin - abs(assumed_difference)
    if room <= 0:
        return float("inf")
    alpha = (1 - EQUIVALENCE_LEVEL) / 2
    beta = (1 - power) / (2 if assumed_difference == 0 else 1)
    se_needed = room / (norm.ppf(1 - alpha) + norm.ppf(1 - beta))
    return float(np.ceil(n * (se / se_needed) ** 2))


def judge_difference(low: float, high: float, *, low90: float, high90: float, n: int,
                     se: float = np.nan, margin: float = EQUIVALENCE_MARGIN) -> dict:
    """Verdict on a claim of *no difference* between two groups, by an equivalence test.

    Parameters
    ----------
    low, high : float [percentage points]
        The 95 % interval of the difference (:data:`DIFFERENCE_LEVEL`).
    low90, high90 : float [percentage points]
        Its 90 % interval (:data:`EQUIVALENCE_LEVEL`).
    n : int > 0
        Test clips behind the intervals (both groups).
    se : float > 0 [percentage points]
        Standard error of the difference, for the clips an undecided claim needs (NaN:
        not computed).
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
    if not se > 0:  # NaN too: no standard error was measured
        return {**out, "verdict": f"undecided ({n} test clips here)"}
    clips = compute_equivalence_clips(se, n, margin=margin)
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
        run / data), ``budget`` (the run's training budget,
        :func:`~fser_utils.studies.claims.describe_budget_label`) and optionally
        ``kind``: ``"score"`` (default) is judged by :func:`judge_claim`,
        with ``baseline`` [%]; ``"difference"`` by :func:`judge_difference`, and then
        needs the 90 % interval ``measured_low90``, ``measured_high90``, ``n`` (test
        clips) and, for the clips an undecided claim needs, ``measured_se`` (the
        difference's standard error). ``testable`` (bool, default True) with ``why`` (the reason when not).

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
                                        high90=row["measured_high90"], n=c.get("n", 0),
                                        se=c.get("measured_se", np.nan)))
        else:
            row["verdict"] = judge_claim(row["paper"], row["measured_low"],
                                         row["measured_high"], baseline=c.get("baseline"),
                                         testable=testable)
        evidence = c.get("evidence", "")
        if not testable and c.get("why"):
            evidence = f"{evidence}; {c['why']}" if evidence else c["why"]
        rows.append({**row, "evidence": evidence})
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)
