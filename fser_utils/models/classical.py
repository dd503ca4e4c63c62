"""The classical baseline: openSMILE functionals and a support-vector machine.

Each clip becomes one vector of hand-designed acoustic statistics (pitch, loudness,
spectral shape, voice quality, summarised over the clip) computed by openSMILE
{cite}`eyben2010opensmile`; an RBF-kernel SVM separates the emotions. It has no
notion of time inside the clip, trains in seconds, and is the yardstick every network
has to beat. The regularisation ``C`` is chosen on the validation part only.
"""
from __future__ import annotations

import numpy as np

__all__ = ["C_GRID", "build_svm", "fit_classical"]

#: values of the SVM's ``C`` tried on the validation part
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


def build_svm(*, input_shape=None, n_classes: int = 8, C: float = 1.0, seed: int = 0,
              probability: bool = True):
    """Standardise, then an RBF SVM, with probability outputs by default (unfitted).

    Parameters
    ----------
    input_shape : tuple of int or None
        Unused; accepted so that every registry builder has the same signature.
    n_classes : int
        Unused, likewise (the SVM learns the classes from the labels).
    C : float > 0
        Inverse regularisation strength.
    seed : int
        Seeds the probability calibration.
    probability : bool
        Calibrate probabilities (five more fits inside, by cross-validation). The
        predicted labels do not depend on it, so the search over ``C`` goes without.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC(C=C, kernel="rbf", gamma="scale",
                                               probability=probability, random_state=seed))


def fit_classical(build, X_train, y_train, X_val, y_val, *, n_classes: int, seed: int,
                  grid=C_GRID, params: dict | None = None, sample_weight=None):
    """Fit one estimator per ``C`` in ``grid``; refit the best on validation accuracy.

    The search fits without probability calibration (``build(..., probability=False)``:
    the labels, hence the accuracies, are the same with it); only the kept ``C`` is
    refitted with it, which saves the five calibration fits of every other ``C``.

    Parameters
    ----------
    build : callable
        A registry builder returning an unfitted estimator (a pipeline ending in the
        classifier, as :func:`build_svm`).
    X_train, X_val : np.ndarray [shape=(n, d)]
    y_train, y_val : np.ndarray [shape=(n,), dtype=int]
    n_classes : int > 0
    seed : int
    grid : sequence of float > 0
        Values of ``C`` tried.
    params : dict or None
        More keyword arguments of ``build``.
    sample_weight : np.ndarray [shape=(len(X_train),)] or None
        Weight of each training clip in the classifier's loss (the pipeline's last step;
        the scaler before it keeps unweighted statistics); None weighs all alike.
        The validation accuracy that picks ``C`` stays unweighted.

    Returns
    -------
    model : fitted estimator
    history : list of dict
        ``C``, ``accuracy`` (training), ``val_accuracy`` per value tried.
    """
    def fit(C, probability):
        model = build(input_shape=X_train.shape[1:], n_classes=n_classes, C=C, seed=seed,
                      probability=probability, **(params or {}))
        return model.fit(X_train, y_train, **_weight_kwargs(model, sample_weight))

    history = []
    for C in grid:
        model = fit(C, False)
        history.append({"C": C, "accuracy": float((model.predict(X_train) == y_train).mean()),
                        "val_accuracy": float((model.predict(X_val) == y_val).mean())})
    best = max(history, key=lambda row: row["val_accuracy"])  # the first of equals, as before
    return fit(best["C"], True), history


def _weight_kwargs(model, sample_weight) -> dict:
    # a pipeline routes fit parameters by step name (make_pipeline names the SVC "svc")
    if sample_weight is None:
        return {}
    steps = getattr(model, "steps", None)
    return {f"{steps[-1][0]}__sample_weight" if steps else "sample_weight":
            np.asarray(sample_weight, dtype=np.float64)}


def expand_proba(model, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities [shape=(n, n_classes)] even if some class was absent in training."""
    proba = np.zeros((len(X), n_classes))
    proba[:, model.classes_] = model.predict_proba(X)
    return proba
