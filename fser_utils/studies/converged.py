"""Chapter 8's converged arms: the paper's three mistakes alone and combined.

Trained until training accuracy levels off (profile ``converge``), the honest run and
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
from fser_utils.studies.evaluate import compute_bootstrap_ci, rename_old_interval_names
from fser_utils.studies.leaks import (TWIN_KEYS, compute_pooled_images, compute_select_on_test,
                                      compute_twin_accuracy)
from fser_utils.studies.pooled_arm import make_pooled_split
from fser_utils.training.results import make_predictions_table

__all__ = ["MISTAKES", "compute_pooled_test_predictions", "make_pooled_predictions",
           "describe_combination", "describe_stop_reason", "format_verdict",
           "compute_pooled_twin_mask",
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
    run stored (up to a few pictures whose two best classes tie within rounding), which
    proves that the pool is the same.

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
    predictions : pd.DataFrame [shape=(n_test, ...)]
        See :func:`make_pooled_predictions`.

    Raises
    ------
    FserError
        The run is not arm (a), or the rebuilt pool does not reproduce its accuracy.
    """
    settings, metrics = run.load_settings(), run.load_metrics()
    if "pool_copies" not in settings:
        raise FserError(f"{run.path} is not a run of arm (a) (fser leak pooled)")
    if len(catalogue) != len(X) or len(catalogue) * (1 + settings["pool_copies"]) \
            != settings["n_pooled_images"]:
        raise FserError("the catalogue does not match the clips this run pooled")
    model = run.load_model()  # before the pool, which takes minutes
    pooled, source = compute_pooled_images(np.asarray(X, dtype=np.float32),
                                           n_copies=settings["pool_copies"],
                                           seed=settings["seed"], progress=progress)
    part = make_pooled_split(len(pooled), seed=settings["seed"])
    test = np.flatnonzero(part == "test")
    probs = model.predict(pooled[test], batch_size=batch_size, verbose=0)
    out = make_pooled_predictions(catalogue, source, part, probs)
    measured = float(np.mean(out["emotion"] == out["predicted"]))
    # a different batch size may round a near-tie the other way: a few pictures, no more
    flips = abs(measured - metrics["test_accuracy"]) * len(out)
    if len(out) != metrics["n_test"] or flips > max(2.0, 5e-4 * len(out)):
        raise FserError(f"the rebuilt pool gives {100 * measured:.2f} % on {len(out)} "
                        f"pictures, the run stored {100 * metrics['test_accuracy']:.2f} % on "
                        f"{metrics['n_test']}: not the same pool or model")
    return out


def make_pooled_predictions(catalogue: pd.DataFrame, source: np.ndarray, part: np.ndarray,
                            probs: np.ndarray) -> pd.DataFrame:
    """Arm (a)'s predictions file: one row per pooled test picture.

    Parameters
    ----------
    catalogue : pd.DataFrame [shape=(n, ...)]
        The pooled clips.
    source : np.ndarray [shape=(n_pool,)], int
        The clip (row of ``catalogue``) each pooled picture was made from.
    part : np.ndarray of str [shape=(n_pool,)]
        ``train``, ``val`` or ``test`` per pooled picture.
    probs : np.ndarray [shape=(n_test, n_classes)]
        The model's probabilities for the test pictures, in pool order.

    Returns
    -------
    predictions : pd.DataFrame [shape=(n_test, ...)]
        The columns of a run's predictions for each picture's clip, plus ``picture``
        (index in the pool) and ``twin`` (see :func:`compute_pooled_twin_mask`).
    """
    clips = catalogue.reset_index(drop=True)
    test = np.flatnonzero(part == "test")
    if len(test) != len(probs):
        raise FserError(f"{len(probs)} predictions for {len(test)} test pictures")
    out = make_predictions_table(clips.iloc[source[test]], probs)
    out.insert(0, "picture", test)
    train_clips = clips["relpath"].to_numpy()[np.unique(source[part == "train"])]
    out["twin"] = compute_pooled_twin_mask(out, train_clips, clips)
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
    clips = catalogue.drop_duplicates("relpath")
    # plain columns: a catalogue's attrs (tables of dropped clips) upset pandas' concat
    key = pd.Series(["|".join(v) for v in zip(*(clips[k].fillna("?").astype(str).to_numpy()
                                                 for k in keys))],
                    index=clips["relpath"].to_numpy())
    in_train = pd.Series(key.index.isin(list(train_clips)).astype(int), index=key.index)
    per_key = in_train.groupby(key.to_numpy()).sum()
    relpaths = pooled_test["relpath"].to_numpy()
    others = per_key.loc[key.loc[relpaths].to_numpy()].to_numpy() - in_train.loc[relpaths].to_numpy()
    return others > 0


def _row(mistakes: str, n: int, result, interval: str, epoch: int) -> dict:
    """One combination's row; ``result`` holds ``accuracy``, ``accuracy_low``,
    ``accuracy_high`` [%] (a bootstrap result, a table row or a run's metrics)."""
    return {"mistakes": mistakes, "n_mistakes": len(mistakes), "n": int(n),
            **{k: float(result[k]) for k in ("accuracy", "accuracy_low", "accuracy_high")},
            "interval": interval, "epoch": int(epoch)}


def compute_arm_combinations(honest_run, pooled_run, catalogue: pd.DataFrame | None, *,
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
    catalogue : pd.DataFrame or None
        The clips (``relpath`` and the twin keys, ``sentence`` among them), for row c;
        None leaves row c out (the twins of the honest split need the corpora, while
        arm a's are stored with its predictions).
    pooled_test : pd.DataFrame or None
        From :func:`compute_pooled_test_predictions`; by default arm (a)'s stored
        predictions, when its run holds them (with a ``twin`` column).
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
    rows.append(_row("", ci["n"], ci, "bootstrap", kept_epoch))
    b = chosen.iloc[1]
    rows.append(_row("b", b["n"], b, "Wilson", b["epoch"]))
    if catalogue is not None:
        twins = compute_twin_accuracy(pred, honest_run.load_split(), catalogue, n_boot=n_boot,
                                      seed=seed).set_index("group").loc["twin in training"]
        rows.append(_row("c", twins["n"], twins, "bootstrap", kept_epoch))
    m = rename_old_interval_names(pooled_run.load_metrics())
    pooled_history = pooled_run.load_history()
    by_val = compute_select_on_test(pooled_history, m["n_test"])
    rows.append(_row("a", m["n_test"], {**m, "accuracy": 100 * m["test_accuracy"]},
                     "bootstrap", m["best_epoch"]))
    ab = by_val.iloc[1]
    rows.append(_row("ab", ab["n"], ab, "Wilson", ab["epoch"]))
    if pooled_test is None and pooled_run.has_predictions():
        pooled_test = pooled_run.load_predictions()
    part = None
    if pooled_test is not None and "twin" in pooled_test:
        part = pooled_test[pooled_test["twin"].astype(bool)]
    if part is not None and len(part):
        ci = compute_bootstrap_ci(part["emotion"].to_numpy(), part["predicted"].to_numpy(),
                                  n_boot=n_boot, seed=seed)
        rows.append(_row("ac", ci["n"], ci, "bootstrap", m["best_epoch"]))
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


def describe_combination(mistakes: str) -> str:
    """``"ab"`` -> "(a) copies made before the split and (b) epoch chosen on the test set"."""
    names = [f"({m}) {MISTAKES[m]}" for m in mistakes]
    if not names:
        return "no mistake (the honest run)"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


#: what each ``stop_reason`` of a run's metrics means, in the book's words
#: (:data:`fser_utils.training.profiles.STOP_REASONS`, and ``interrupted``: a run ended
#: by hand before its rule stopped it)
STOP_PHRASES = {"converged": "its training accuracy reached 99 %",
                "levelled off": "its training accuracy had stopped rising for 10 epochs",
                "no validation gain": "its validation accuracy had stopped rising",
                "epochs": "its epoch budget was spent",
                "interrupted": "it was stopped by hand before its training accuracy levelled off"}


def describe_stop_reason(reason: str) -> str:
    """Why a run stopped (its metrics' ``stop_reason``), as a phrase for the prose."""
    return STOP_PHRASES.get(reason, f"stopped ({reason})")


def format_verdict(found: dict, target: float) -> str:
    """One sentence on :func:`find_smallest_reaching`'s answer, for the book's prose."""
    value = (f"{found['accuracy']:.1f} % (95 % interval {found['accuracy_low']:.1f} to "
             f"{found['accuracy_high']:.1f} %)")
    what = describe_combination(found["mistakes"])
    if found["reaches"]:
        return f"The fewest mistakes that reach the paper's {target} % are {what}: {value}."
    return (f"No combination reaches the paper's {target} %; the closest is {what}, "
            f"with {value}.")
