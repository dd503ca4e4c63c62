"""Chapter 8's converged arms: the paper's three mistakes alone and combined.

Trained until training accuracy levels off (profile ``paper-adam``), the honest run and
arm (a) answer what each mistake gives once the network has learnt its training set. The
mistakes: (a) the copies made before the split, (b) the epoch chosen on the test set,
(c) scoring only the test clips with a twin in training. :func:`compute_arm_combinations`
scores every combination that the stored files allow, and
:func:`find_smallest_reaching` names the fewest mistakes that reach the paper's 95.05 %,
or, when none does, the combination that comes closest.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fser_utils.errors import FserError
from fser_utils.studies.evaluate import compute_bootstrap_ci
from fser_utils.studies.leaks import (TWIN_KEYS, compute_pooled_images, compute_select_on_test,
                                      compute_twin_accuracy)
from fser_utils.studies.pooled_arm import make_pooled_split

__all__ = ["MISTAKES", "compute_pooled_test_predictions", "compute_pooled_twin_mask",
           "compute_arm_combinations", "find_smallest_reaching"]

#: the paper's possible mistakes, by the letter chapter 8 gives its arm
MISTAKES = {"a": "copies made before the split", "b": "epoch chosen on the test set",
            "c": "only test clips with a twin in training"}


def compute_pooled_test_predictions(run, catalogue: pd.DataFrame, X: np.ndarray, *,
                                    batch_size: int = 512, progress: bool = False
                                    ) -> pd.DataFrame:
    """Arm (a)'s prediction for every pooled test picture, with the clip it was copied from.

    The pool and its split are seeded, so they are rebuilt from the run's settings; the
    kept model then scores the test pictures. The rebuilt accuracy must equal the one the
    run stored, which proves that the pool is the same.

    Parameters
    ----------
    run : fser_utils.training.run.Run
        A finished run of :func:`fser_utils.studies.pooled_arm.train_pooled_arm`.
    catalogue : pd.DataFrame [shape=(n, ...)]
        The clips the run pooled (``relpath``, ``emotion`` and the twin keys), aligned
        with ``X``.
    X : np.ndarray [shape=(n, 64, 64, 3)], float in [0, 1]
        The paper's images, one per clip.
    batch_size : int > 0
    progress : bool

    Returns
    -------
    predictions : pd.DataFrame [shape=(n_test, 5)]
        ``picture`` (index in the pool), ``relpath`` (its clip), ``emotion``,
        ``predicted`` and ``twin`` (see :func:`compute_pooled_twin_mask`).

    Raises
    ------
    FserError
        The run is not arm (a), or the rebuilt pool does not reproduce its accuracy.
    """
    from fser_utils.data.corpora import EMOTIONS

    settings, metrics = run.load_settings(), run.load_metrics()
    if "pool_copies" not in settings:
        raise FserError(f"{run.path} is not a run of arm (a) (fser leak pooled)")
    if len(catalogue) != len(X) or len(catalogue) * (1 + settings["pool_copies"]) \
            != settings["n_pooled_images"]:
        raise FserError("the catalogue does not match the clips this run pooled")
    pooled, source = compute_pooled_images(np.asarray(X, dtype=np.float32),
                                           n_copies=settings["pool_copies"],
                                           seed=settings["seed"], progress=progress)
    part = make_pooled_split(len(pooled), seed=settings["seed"])
    test = np.flatnonzero(part == "test")
    probs = run.load_model().predict(pooled[test], batch_size=batch_size, verbose=0)
    clips = catalogue.reset_index(drop=True)
    out = pd.DataFrame({"picture": test, "relpath": clips["relpath"].to_numpy()[source[test]],
                        "emotion": clips["emotion"].to_numpy()[source[test]],
                        "predicted": np.asarray(EMOTIONS)[np.argmax(probs, axis=1)]})
    train_clips = clips["relpath"].to_numpy()[np.unique(source[part == "train"])]
    out["twin"] = compute_pooled_twin_mask(out, train_clips, clips)
    measured = float(np.mean(out["emotion"] == out["predicted"]))
    if len(out) != metrics["n_test"] or abs(measured - metrics["test_accuracy"]) > 1e-6:
        raise FserError(f"the rebuilt pool gives {100 * measured:.2f} % on {len(out)} "
                        f"pictures, the run stored {100 * metrics['test_accuracy']:.2f} % on "
                        f"{metrics['n_test']}: not the same pool or model")
    return out


def compute_pooled_twin_mask(pooled_test: pd.DataFrame, train_clips, catalogue: pd.DataFrame,
                             *, keys=TWIN_KEYS) -> np.ndarray:
    """For every pooled test picture, whether *another* clip with the same speaker,
    sentence and emotion has pictures in training (arm a's copies of the clip itself do
    not count: every test picture of arm a has those).

    Parameters
    ----------
    pooled_test : pd.DataFrame
        From :func:`compute_pooled_test_predictions` (``relpath``).
    train_clips : iterable of str
        ``relpath`` of every clip with at least one picture in training.
    catalogue : pd.DataFrame
        ``relpath`` and the ``keys``.
    keys : sequence of str

    Returns
    -------
    twin : np.ndarray [shape=(n_test,)], bool
    """
    table = catalogue.drop_duplicates("relpath").set_index("relpath")
    key = table[list(keys)].fillna("?").astype(str).agg("|".join, axis=1)
    in_train = key.index.isin(list(train_clips))
    per_key = pd.Series(in_train.astype(int), index=key.to_numpy()).groupby(level=0).sum()
    own = pd.Series(in_train.astype(int), index=key.index)
    clip_key = key.loc[pooled_test["relpath"]]
    others = per_key.loc[clip_key.to_numpy()].to_numpy() - own.loc[pooled_test["relpath"]].to_numpy()
    return others > 0


def _row(mistakes: str, n: int, accuracy: float, low: float, high: float, interval: str,
         epoch: int) -> dict:
    return {"mistakes": mistakes, "n_mistakes": len(mistakes), "n": int(n),
            "accuracy": float(accuracy), "accuracy_low": float(low),
            "accuracy_high": float(high), "interval": interval, "epoch": int(epoch)}


def compute_arm_combinations(honest_run, pooled_run, catalogue: pd.DataFrame, *,
                             pooled_test: pd.DataFrame | None = None, n_boot: int = 2000,
                             seed: int = 0) -> pd.DataFrame:
    """Test accuracy of the honest run and of every combination of the mistakes.

    Rows: none (the honest run, epoch chosen on validation), b, c, a, a+b and, given
    ``pooled_test``, a+c. The combinations b+c and a+b+c would need the predictions of
    the test-chosen epoch, which the runs do not keep; they are left out.

    Parameters
    ----------
    honest_run, pooled_run : fser_utils.training.run.Run
        Finished runs with a history that logs ``test_accuracy`` (``--log-test``).
    catalogue : pd.DataFrame
        The clips (``relpath`` and the twin keys, ``sentence`` among them).
    pooled_test : pd.DataFrame or None
        From :func:`compute_pooled_test_predictions`.
    n_boot, seed
        Of the bootstrap intervals (Wilson where only a count is logged).

    Returns
    -------
    table : pd.DataFrame
        One row per combination: ``mistakes`` ("" for none, else letters of
        :data:`MISTAKES`), ``n_mistakes``, ``n``, ``accuracy``, ``accuracy_low``,
        ``accuracy_high`` [%], ``interval`` and ``epoch`` (the epoch scored, from 1).
    """
    pred = honest_run.load_predictions()
    history = honest_run.load_history()
    chosen = compute_select_on_test(history, len(pred)).set_index("arm")
    kept_epoch = int(chosen.iloc[0]["epoch"])
    rows = []
    ci = compute_bootstrap_ci(pred["emotion"].to_numpy(), pred["predicted"].to_numpy(),
                              n_boot=n_boot, seed=seed)
    rows.append(_row("", ci["n"], ci["estimate"], ci["low"], ci["high"], "bootstrap",
                     kept_epoch))
    b = chosen.iloc[1]
    rows.append(_row("b", b["n"], b["accuracy"], b["ci_low"], b["ci_high"], "Wilson",
                     b["epoch"]))
    twins = compute_twin_accuracy(pred, honest_run.load_split(), catalogue, n_boot=n_boot,
                                  seed=seed).set_index("group").loc["twin in training"]
    rows.append(_row("c", twins["n"], twins["accuracy"], twins["ci_low"], twins["ci_high"],
                     "bootstrap", kept_epoch))
    m = pooled_run.load_metrics()
    pooled_history = pooled_run.load_history()
    by_val = compute_select_on_test(pooled_history, m["n_test"])
    rows.append(_row("a", m["n_test"], 100 * m["test_accuracy"], m["ci_low"], m["ci_high"],
                     "bootstrap", m["best_epoch"]))
    ab = by_val.iloc[1]
    rows.append(_row("ab", ab["n"], ab["accuracy"], ab["ci_low"], ab["ci_high"], "Wilson",
                     ab["epoch"]))
    part = pooled_test[pooled_test["twin"]] if pooled_test is not None else None
    if part is not None and len(part):
        ci = compute_bootstrap_ci(part["emotion"].to_numpy(), part["predicted"].to_numpy(),
                                  n_boot=n_boot, seed=seed)
        rows.append(_row("ac", ci["n"], ci["estimate"], ci["low"], ci["high"], "bootstrap",
                         m["best_epoch"]))
    return pd.DataFrame(rows)


def find_smallest_reaching(table: pd.DataFrame, target: float) -> dict:
    """The combination with the fewest mistakes whose accuracy reaches ``target`` [%]
    (the highest accuracy among those), or, when none does, the highest of all.

    Returns
    -------
    found : dict
        The row, plus ``reaches`` (bool).
    """
    if table.empty:
        raise FserError("no combination to judge")
    reaching = table[table["accuracy"] >= target]
    pool = reaching if len(reaching) else table
    if len(reaching):
        pool = pool[pool["n_mistakes"] == pool["n_mistakes"].min()]
    row = pool.loc[pool["accuracy"].idxmax()].to_dict()
    row["reaches"] = bool(len(reaching))
    return row
