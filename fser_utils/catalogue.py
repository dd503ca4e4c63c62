"""The catalogue: one tidy table of every clip under a data root, and the paper's Table 1."""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import soundfile as sf

from .config import get_data_root
from .corpora import AUDIO_SUFFIXES, EMOTIONS, PAPER_CORPORA, get_corpus
from .errors import FserError

__all__ = [
    "CATALOGUE_COLUMNS",
    "list_audio_files",
    "load_catalogue",
    "compute_emotion_table",
    "describe_missing",
    "PAPER_TABLE1",
]

#: the paper's Table 1: clips per unified class over EmoDB, EMOVO, SAVEE and RAVDESS
PAPER_TABLE1 = {"anger": 463, "anxiety": 405, "calm": 273, "disgust": 382, "happiness": 407,
                "neutral": 379, "sadness": 398, "surprise": 336}

CATALOGUE_COLUMNS = ["path", "relpath", "corpus", "language", "style", "speaker", "sex",
                     "raw_label", "emotion", "sentence", "intensity", "take",
                     "duration", "sr", "channels"]


def list_audio_files(folder: Path) -> list[Path]:
    """Every ``.wav``/``.flac`` file below ``folder``, sorted; other files are ignored."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            if name.startswith("."):  # .DS_Store, AppleDouble "._x.wav" files
                continue
            if Path(name).suffix.lower() in AUDIO_SUFFIXES:
                found.append(Path(dirpath) / name)
    return found


def _catalogue_corpus(name: str, folder: Path) -> list[dict]:
    corpus = get_corpus(name)
    rows = []
    for path in list_audio_files(folder):
        rel = PurePosixPath(path.relative_to(folder).as_posix())
        meta = corpus.parse(rel)
        try:
            info = sf.info(str(path))
        except Exception as exc:  # soundfile raises several types for broken headers
            raise FserError(f"cannot read audio header of '{path}': {exc}") from None
        rows.append({
            "path": str(path), "relpath": f"{corpus.folder}/{rel}", "corpus": name,
            "language": corpus.language, "style": corpus.style,
            **meta,
            "speaker": f"{name}_{meta['speaker']}",
            "emotion": corpus.label_map.get(meta["raw_label"]),
            "duration": info.frames / info.samplerate if info.samplerate else np.nan,
            "sr": info.samplerate, "channels": info.channels,
        })
    return rows


def load_catalogue(root=None, *, corpora=PAPER_CORPORA) -> pd.DataFrame:
    """Catalogue every clip of the chosen corpora under a data root.

    Parameters
    ----------
    root : path-like or None
        Data root; ``None`` resolves it with :func:`fser_utils.config.get_data_root`.
    corpora : sequence of str
        Corpus names from :data:`fser_utils.corpora.CORPORA`.

    Returns
    -------
    catalogue : pd.DataFrame [shape=(n_clips, len(CATALOGUE_COLUMNS))]
        One row per audio file; ``duration`` in seconds, ``sr`` in Hz. Corpora that
        are absent are listed, with how to get them, in ``catalogue.attrs["missing"]``.

    Raises
    ------
    FserError
        If an audio file's name does not parse (the message names the file and the
        expected pattern), or its header cannot be read.
    """
    root = get_data_root(root)
    rows, missing = [], {}
    for name in corpora:
        folder = root / get_corpus(name).folder
        if not folder.is_dir() or not list_audio_files(folder):
            missing[name] = get_corpus(name).source
            continue
        rows.extend(_catalogue_corpus(name, folder))
    cat = pd.DataFrame(rows, columns=CATALOGUE_COLUMNS)
    cat["emotion"] = pd.Categorical(cat["emotion"], categories=EMOTIONS)
    cat.attrs["root"] = str(root)
    cat.attrs["missing"] = missing
    return cat


def describe_missing(catalogue: pd.DataFrame) -> list[str]:
    """One line per absent corpus, saying where to get it and where to put it."""
    root = catalogue.attrs.get("root", "<data root>")
    return [f"{name}: not found under {root}/{get_corpus(name).folder}; get it from {src}"
            for name, src in catalogue.attrs.get("missing", {}).items()]


def compute_emotion_table(catalogue: pd.DataFrame, *, by_corpus: bool = False) -> pd.DataFrame:
    """The paper's Table 1: clips per unified emotion, with shares and a total row.

    Parameters
    ----------
    catalogue : pd.DataFrame
        From :func:`load_catalogue`; clips whose emotion is unmapped are left out of
        the counts (none are in the paper's corpora).
    by_corpus : bool
        Add one count column per corpus.

    Returns
    -------
    table : pd.DataFrame
        Columns ``emotion``, (per-corpus counts,) ``count``, ``percent``; the last row
        is ``total``. Percentages are of the total, rounded to two decimals.
    """
    used = catalogue.dropna(subset=["emotion"])
    counts = used.groupby("emotion", observed=False).size().reindex(EMOTIONS, fill_value=0)
    table = pd.DataFrame({"emotion": list(EMOTIONS)})
    if by_corpus:
        per = (used.groupby(["emotion", "corpus"], observed=False).size()
               .unstack(fill_value=0).reindex(EMOTIONS, fill_value=0))
        for corpus in [c for c in catalogue["corpus"].unique()]:
            table[corpus] = per[corpus].to_numpy() if corpus in per else 0
    total = int(counts.sum())
    table["count"] = counts.to_numpy()
    table["percent"] = (100 * table["count"] / total).round(2) if total else 0.0
    total_row = {c: table[c].sum() for c in table.columns if c != "emotion"}
    total_row.update(emotion="total", percent=100.0 if total else 0.0)
    return pd.concat([table, pd.DataFrame([total_row])], ignore_index=True)
