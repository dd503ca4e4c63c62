"""Summaries and plots of the catalogue for the corpora chapter."""
from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .catalogue import PAPER_TABLE1
from .corpora import EMOTIONS, get_corpus

__all__ = [
    "compute_corpus_summary",
    "compute_table1_comparison",
    "plot_emotion_counts",
    "plot_durations",
    "plot_speakers_by_sex",
    "select_examples",
    "display_examples",
]


def compute_corpus_summary(catalogue: pd.DataFrame) -> pd.DataFrame:
    """One row per corpus: language, style, clips, speakers by sex, sentences, hours, licence."""
    rows = []
    for name, part in catalogue.groupby("corpus", sort=False):
        corpus = get_corpus(name)
        spk = part.drop_duplicates("speaker")["sex"].value_counts()
        rows.append({
            "corpus": name, "language": corpus.language, "style": corpus.style,
            "clips": len(part), "of": corpus.n_files or len(part),
            "speakers": part["speaker"].nunique(),
            "female": int(spk.get("female", 0)), "male": int(spk.get("male", 0)),
            "sentences": part["sentence"].nunique() if part["sentence"].notna().any() else np.nan,
            "minutes": round(part["duration"].sum() / 60, 1),
            "raw emotions": part["raw_label"].nunique(),
            "recording": corpus.recording, "licence": corpus.licence,
        })
    return pd.DataFrame(rows).set_index("corpus")


def compute_table1_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Our Table 1 next to the paper's, with the difference per class."""
    ours = table.set_index("emotion")["count"]
    paper = pd.Series(PAPER_TABLE1)
    paper["total"] = paper.sum()
    out = pd.DataFrame({"ours": ours, "paper": paper})
    out["difference"] = out["ours"] - out["paper"]
    return out


def plot_emotion_counts(table: pd.DataFrame, *, ax=None, paper: bool = True):
    """Bar chart of Table 1 (clips per class, stacked by corpus if the table has them).

    Parameters
    ----------
    table : pd.DataFrame
        From :func:`fser_utils.catalogue.compute_emotion_table` (``by_corpus`` or not).
    ax : matplotlib.axes.Axes or None
    paper : bool
        Mark the paper's counts as black ticks for comparison.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    body = table[table["emotion"] != "total"].set_index("emotion")
    corpora = [c for c in body.columns if c not in ("count", "percent")]
    x = np.arange(len(body))
    bottom = np.zeros(len(body))
    for name in corpora or ["count"]:
        ax.bar(x, body[name], bottom=bottom, label=name)
        bottom += body[name].to_numpy()
    if paper:
        ax.scatter(x, [PAPER_TABLE1[e] for e in body.index], marker="_", s=600, color="k",
                   label="paper (with SAVEE)", zorder=3)
    ax.set_xticks(x, body.index, rotation=30)
    ax.set_ylabel("clips")
    ax.legend(fontsize="small", ncol=2)
    return ax


def plot_durations(catalogue: pd.DataFrame, *, ax=None):
    """Clip duration [s] per corpus as box plots with the individual clips overlaid."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    names = list(dict.fromkeys(catalogue["corpus"]))
    data = [catalogue.loc[catalogue.corpus == n, "duration"].to_numpy() for n in names]
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(np.arange(1, len(names) + 1), names)
    rng = np.random.default_rng(0)
    for i, d in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.2, 0.2, d.size), d, s=2, alpha=0.3)
    ax.set_ylabel("duration [s]")
    return ax


def plot_speakers_by_sex(catalogue: pd.DataFrame, *, ax=None):
    """Number of speakers per corpus, split by sex."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    counts = (catalogue.drop_duplicates("speaker").groupby(["corpus", "sex"]).size()
              .unstack(fill_value=0).reindex(list(dict.fromkeys(catalogue["corpus"]))))
    counts.plot.bar(ax=ax, stacked=True, rot=0)
    ax.set_ylabel("speakers")
    return ax


def select_examples(catalogue: pd.DataFrame, *, corpus: str = "ravdess", seed: int = 0) -> pd.DataFrame:
    """One clip per unified emotion from one corpus (a reproducible random pick)."""
    part = catalogue[catalogue["corpus"] == corpus].dropna(subset=["emotion"])
    picks = part.groupby("emotion", observed=True).sample(1, random_state=seed)
    return picks.set_index("emotion").reindex([e for e in EMOTIONS if e in set(picks["emotion"])])


def display_examples(examples: pd.DataFrame) -> None:
    """Show an audio player for each example.

    The audio is embedded only when ``$FSER_EMBED_AUDIO`` is not ``0``: the book's
    stored outputs are made with it set to 0, because the corpora's licences do not
    let us redistribute their recordings.
    """
    from IPython.display import HTML, Audio, display

    embed = os.environ.get("FSER_EMBED_AUDIO", "1") != "0"
    for emotion, row in examples.iterrows():
        display(HTML(f"<b>{emotion}</b> &mdash; {row['relpath']}"))
        if embed:
            display(Audio(filename=row["path"]))
    if not embed:
        display(HTML("<i>Audio players are left out of the published book (the corpora may "
                     "not be redistributed); run this chapter to listen.</i>"))
