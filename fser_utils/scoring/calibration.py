"""Calibrated probabilities: temperature scaling and the expected calibration error.

A network trained with cross-entropy is often over-confident: among the clips it scores
at 0.9, fewer than 90 % are right. Temperature scaling (Guo et al., 2017) divides the
logits by one number ``T`` fitted on validation clips; it changes no argmax, so accuracy
stays the same, only the confidence moves. On probabilities, dividing the logits by
``T`` is raising each probability to the power ``1/T`` and renormalising.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fser_utils.errors import FserError

__all__ = ["apply_temperature", "fit_temperature", "compute_ece", "compute_reliability"]

#: the range searched for ``T``; outside it a validation set is too small to trust
TEMPERATURE_RANGE = (0.05, 20.0)


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities [shape=(n, k)] with their logits divided by ``temperature`` > 0."""
    if not temperature > 0:
        raise FserError(f"a temperature must be > 0, not {temperature}")
    logp = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0)) / temperature
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=1, keepdims=True)


def _nll(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None))))


def fit_temperature(proba: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of labels ``y``.

    Parameters
    ----------
    proba : np.ndarray [shape=(n, k)]
        Validation probabilities (never test: the temperature is a fitted parameter).
    y : np.ndarray [shape=(n,), dtype=int]
        True class indices.

    Returns
    -------
    temperature : float in :data:`TEMPERATURE_RANGE`
        Above 1 softens over-confident probabilities, below 1 sharpens them.
    """
    from scipy.optimize import minimize_scalar

    proba, y = np.asarray(proba, dtype=np.float64), np.asarray(y, dtype=int)
    if proba.ndim != 2 or len(proba) != len(y) or len(y) == 0:
        raise FserError(f"need probabilities (n, k) and n labels, got {proba.shape} and {y.shape}")
    lo, hi = np.log(TEMPERATURE_RANGE)
    best = minimize_scalar(lambda t: _nll(apply_temperature(proba, np.exp(t)), y),
                           bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(best.x))


def compute_reliability(proba: np.ndarray, y: np.ndarray, *, n_bins: int = 10) -> pd.DataFrame:
    """Accuracy against confidence, in equal-width confidence bins.

    Returns
    -------
    table : pd.DataFrame [shape=(n_bins, 5)]
        ``bin_low``, ``bin_high`` (the bin's edges), ``n`` (clips whose top probability falls in
        it), ``confidence`` (their mean top probability) and ``accuracy`` (the share of
        them predicted right; NaN for an empty bin).
    """
    proba, y = np.asarray(proba, dtype=np.float64), np.asarray(y, dtype=int)
    confidence, right = proba.max(axis=1), proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        inside = which == b
        rows.append({"bin_low": edges[b], "bin_high": edges[b + 1], "n": int(inside.sum()),
                     "confidence": confidence[inside].mean() if inside.any() else np.nan,
                     "accuracy": right[inside].mean() if inside.any() else np.nan})
    return pd.DataFrame(rows)


def compute_ece(proba: np.ndarray, y: np.ndarray, *, n_bins: int = 10) -> float:
    """Expected calibration error: the clip-weighted mean gap between confidence and
    accuracy over :func:`compute_reliability`'s bins, in [0, 1]."""
    table = compute_reliability(proba, y, n_bins=n_bins)
    full = table[table["n"] > 0]
    return float((full["n"] * (full["confidence"] - full["accuracy"]).abs()).sum()
                 / full["n"].sum())
