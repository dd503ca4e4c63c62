"""Train/validation/test splits that cannot leak.

Three kinds:

``paper``
    The paper's recipe: a stratified random 80/20 train/test split, then 80/20
    train/validation inside the training part. The same speaker (and, in EMOVO
    and RAVDESS, the same sentence) lands in several parts, so this split measures
    how well a model recognises voices it has already heard.
``speaker``
    Speaker-independent: every speaker is in exactly one part. It is drawn per
    corpus, so that each corpus is present in train, validation and test.
``corpus``
    Leave one corpus out: the test part is one whole corpus, the other corpora
    are split at random (stratified by emotion) into train and validation.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from fser_utils.errors import FserError

__all__ = ["SPLIT_KINDS", "PARTS", "make_split", "describe_split", "check_split"]

SPLIT_KINDS = ("paper", "speaker", "corpus")
PARTS = ("train", "val", "test")


def _check_catalogue(catalogue: pd.DataFrame, needed) -> None:
    missing = [c for c in needed if c not in catalogue.columns]
    if missing:
        raise FserError(f"the catalogue has no column(s) {', '.join(missing)}")
    if catalogue.empty:
        raise FserError("cannot split an empty catalogue")
    unlabelled = catalogue["emotion"].isna()
    if unlabelled.any():
        first = catalogue.loc[unlabelled, "relpath" if "relpath" in catalogue else "path"]
        raise FserError(f"{int(unlabelled.sum())} clip(s) have no emotion label, "
                        f"e.g. '{first.iloc[0]}'; drop them before splitting")


def _stratified(labels: pd.Series, *, size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a stratified random split; plain random when a class is too small."""
    pos = np.arange(len(labels))
    counts = labels.value_counts()
    n_hold = int(np.ceil(size * len(labels)))
    # sklearn refuses to stratify when a class has a single member or the held-out
    # part is smaller than the number of classes (tiny demo subsets)
    stratify = labels.to_numpy() if counts.min() >= 2 and n_hold >= counts.size else None
    keep, hold = train_test_split(pos, test_size=size, random_state=seed, stratify=stratify,
                                  shuffle=True)
    return np.sort(keep), np.sort(hold)


def _split_paper(catalogue, *, seed, test_size, val_size) -> pd.Series:
    part = pd.Series("train", index=catalogue.index, dtype=object)
    labels = catalogue["emotion"].astype(str).reset_index(drop=True)
    rest, test = _stratified(labels, size=test_size, seed=seed)
    part.iloc[test] = "test"
    _, val = _stratified(labels.iloc[rest].reset_index(drop=True), size=val_size, seed=seed)
    part.iloc[rest[val]] = "val"
    return part


def _pick_speakers(speakers: pd.DataFrame, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` speakers, alternating the sexes so that a small part is not all male."""
    groups = [list(rng.permutation(g["speaker"].to_numpy()))
              for _, g in speakers.groupby("sex", dropna=False, sort=True)]
    rng.shuffle(groups)
    picked = []
    while len(picked) < n:
        for g in groups:
            if g and len(picked) < n:
                picked.append(g.pop())
    return picked


def _split_speaker(catalogue, *, seed, test_size, val_size) -> pd.Series:
    part = pd.Series("train", index=catalogue.index, dtype=object)
    for corpus, rows in catalogue.groupby("corpus", sort=True):
        # one generator per corpus, so adding or removing a corpus leaves the others' split
        rng = np.random.default_rng([seed, zlib.crc32(str(corpus).encode())])
        speakers = (rows[["speaker", "sex"]].drop_duplicates("speaker")
                    .sort_values("speaker").reset_index(drop=True))
        n = len(speakers)
        if n < 3:
            raise FserError(f"corpus '{corpus}' has {n} speaker(s); a speaker-independent "
                            "split needs at least 3 (one each for train, val and test)")
        n_test = min(max(1, round(test_size * n)), n - 2)
        n_val = min(max(1, round(val_size * (n - n_test))), n - n_test - 1)
        test = _pick_speakers(speakers, n_test, rng)
        rest = speakers[~speakers["speaker"].isin(test)]
        val = _pick_speakers(rest, n_val, rng)
        part.loc[rows.index[rows["speaker"].isin(test)]] = "test"
        part.loc[rows.index[rows["speaker"].isin(val)]] = "val"
    return part


def _split_corpus(catalogue, *, seed, val_size, test_corpus) -> pd.Series:
    corpora = sorted(catalogue["corpus"].unique())
    if test_corpus is None:
        raise FserError("a leave-one-corpus-out split needs test_corpus "
                        f"(one of: {', '.join(corpora)})")
    if test_corpus not in corpora:
        raise FserError(f"test corpus '{test_corpus}' is not in the catalogue "
                        f"(it holds: {', '.join(corpora)})")
    if len(corpora) < 2:
        raise FserError("leave-one-corpus-out needs at least two corpora")
    part = pd.Series("test", index=catalogue.index, dtype=object)
    rest = catalogue.index[catalogue["corpus"] != test_corpus]
    part.loc[rest] = "train"
    labels = catalogue.loc[rest, "emotion"].astype(str).reset_index(drop=True)
    _, val = _stratified(labels, size=val_size, seed=seed)
    part.loc[rest[val]] = "val"
    return part


def make_split(catalogue: pd.DataFrame, *, kind: str = "paper", seed: int = 42,
               test_size: float = 0.2, val_size: float = 0.2,
               test_corpus: str | None = None) -> pd.Series:
    """Assign every clip of a catalogue to ``train``, ``val`` or ``test``.

    Parameters
    ----------
    catalogue : pd.DataFrame [shape=(n, ...)]
        Needs the columns ``corpus``, ``speaker``, ``sex`` and ``emotion`` (no NaN).
    kind : {"paper", "speaker", "corpus"}
        See the module docstring.
    seed : int
        The same seed and catalogue always give the same split.
    test_size : float in (0, 1)
        Share of the clips (``paper``) or of each corpus's speakers (``speaker``)
        held out for testing; unused for ``corpus``.
    val_size : float in (0, 1)
        Share of what is left that is held out for validation.
    test_corpus : str or None
        The corpus left out (``kind="corpus"`` only).

    Returns
    -------
    part : pd.Series [shape=(n,)]
        ``"train"``, ``"val"`` or ``"test"`` for each row, aligned with
        ``catalogue.index``, named ``part``.

    Raises
    ------
    FserError
        Unknown kind, unlabelled clips, too few speakers or corpora.
    """
    if kind not in SPLIT_KINDS:
        raise FserError(f"unknown split '{kind}' (choose from: {', '.join(SPLIT_KINDS)})")
    for name, value in (("test_size", test_size), ("val_size", val_size)):
        if not 0 < value < 1:
            raise FserError(f"{name} must lie strictly between 0 and 1, not {value}")
    if kind != "corpus" and test_corpus is not None:
        raise FserError(f"test_corpus is only used by the 'corpus' split, not by '{kind}'")
    _check_catalogue(catalogue, ("corpus", "speaker", "sex", "emotion"))
    if kind == "paper":
        part = _split_paper(catalogue, seed=seed, test_size=test_size, val_size=val_size)
    elif kind == "speaker":
        part = _split_speaker(catalogue, seed=seed, test_size=test_size, val_size=val_size)
    else:
        part = _split_corpus(catalogue, seed=seed, val_size=val_size, test_corpus=test_corpus)
    part.name = "part"
    return part


def check_split(catalogue: pd.DataFrame, part: pd.Series, *, kind: str) -> None:
    """Raise :class:`FserError` if a split leaks.

    No file may be in two parts, every part must be non-empty, and for
    ``kind="speaker"`` no speaker may appear in two parts.
    """
    if not part.index.equals(catalogue.index):
        raise FserError("the split is not aligned with the catalogue")
    key = "relpath" if "relpath" in catalogue else "path"
    if catalogue[key].duplicated().any():
        dup = catalogue.loc[catalogue[key].duplicated(), key].iloc[0]
        raise FserError(f"file '{dup}' is listed twice in the catalogue")
    for name in PARTS:
        if not (part == name).any():
            raise FserError(f"the {kind} split has an empty {name} part")
    if kind == "speaker":
        n_parts = part.groupby(catalogue["speaker"]).nunique()
        leaked = n_parts[n_parts > 1]
        if len(leaked):
            raise FserError(f"speaker '{leaked.index[0]}' appears in more than one part")


def describe_split(catalogue: pd.DataFrame, part: pd.Series) -> pd.DataFrame:
    """Clips per corpus and part, with totals.

    Returns
    -------
    table : pd.DataFrame [shape=(n_corpora + 1, 4)]
        Rows: corpora and ``total``; columns: ``train``, ``val``, ``test``, ``total``.
    """
    table = pd.crosstab(catalogue["corpus"], part).reindex(columns=list(PARTS), fill_value=0)
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    table.columns.name = None
    return table
