"""The corpora (chapter 1): clips per emotion, durations, speakers, and audio players."""
from __future__ import annotations

import os

import numpy as np

from fser_utils.plotting._style import _axes

__all__ = ["plot_emotion_counts", "plot_durations", "plot_speakers_by_sex",
           "display_examples"]


# --- corpora (chapter 1) ----------------------------------------------------------------
def plot_emotion_counts(table, *, ax=None, paper: bool = True):
    """Bar chart of Table 1 (clips per class, stacked by corpus if the table has them).

    Parameters
    ----------
    table : pd.DataFrame
        From :func:`fser_utils.data.catalogue.compute_emotion_table` (``by_corpus`` or not).
    ax : matplotlib Axes or None
    paper : bool
        Mark the paper's counts (:data:`fser_utils.paper.PAPER_TABLE1`) as black ticks.

    Returns
    -------
    ax : matplotlib Axes
    """
    from fser_utils.paper import PAPER_TABLE1

    ax = _axes(ax, figsize=(8, 3.5), layout="constrained")
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
    # beside the bars, not over them: inside, it covered the paper's ticks of the
    # tallest classes
    ax.legend(fontsize=10, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    return ax


def plot_durations(catalogue, *, ax=None):
    """Clip duration [s] per corpus as box plots with the individual clips overlaid.

    Parameters
    ----------
    catalogue : pd.DataFrame
        With ``corpus`` and ``duration`` [s].
    ax : matplotlib Axes or None

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax, figsize=(8, 3.5))
    names = list(dict.fromkeys(catalogue["corpus"]))
    data = [catalogue.loc[catalogue["corpus"] == n, "duration"].to_numpy() for n in names]
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(np.arange(1, len(names) + 1), names)
    rng = np.random.default_rng(0)  # the jitter only spreads the dots; fixed for stable pages
    for i, d in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.2, 0.2, d.size), d, s=2, alpha=0.3)
    ax.set_ylabel("duration [s]")
    return ax


def plot_speakers_by_sex(catalogue, *, ax=None):
    """Number of speakers per corpus, stacked by sex.

    Parameters
    ----------
    catalogue : pd.DataFrame
        With ``corpus``, ``speaker`` and ``sex``.
    ax : matplotlib Axes or None

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax, figsize=(6, 3))
    counts = (catalogue.drop_duplicates("speaker").groupby(["corpus", "sex"]).size()
              .unstack(fill_value=0).reindex(list(dict.fromkeys(catalogue["corpus"]))))
    counts.plot.bar(ax=ax, stacked=True, rot=0)
    ax.set_ylabel("speakers")
    return ax


def display_examples(examples) -> None:
    """Show an audio player for each example.

    The audio is embedded only when ``$FSER_EMBED_AUDIO`` is not ``0``: the book's
    stored outputs are made with it set to 0, because the corpora's licences do not
    let us redistribute their recordings.

    Parameters
    ----------
    examples : pd.DataFrame
        From :func:`fser_utils.data.catalogue.select_examples` (columns ``relpath``, ``path``).
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
