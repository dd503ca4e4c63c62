"""The catalogue: one tidy table of every clip under a data root, and what it says.

Besides the clips, the catalogue knows how each local copy differs from the corpus as
distributed (:func:`describe_data_copy`): that is read from the data, never written
into the code, so that a reader of any result on a corpus sees the caveats of the
copy it was measured on.
"""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import soundfile as sf

from fser_utils.config import get_data_root
from fser_utils.data.corpora import AUDIO_SUFFIXES, EMOTIONS, PAPER_CORPORA, get_corpus
from fser_utils.errors import FserError
from fser_utils.paper import PAPER_TABLE1

__all__ = [
    "CATALOGUE_COLUMNS",
    "NOTE_FILE",
    "list_audio_files",
    "load_catalogue",
    "read_corpus_note",
    "describe_data_copy",
    "load_data_notes",
    "get_run_data_notes",
    "compute_emotion_table",
    "compute_table1_comparison",
    "compute_corpus_summary",
    "describe_missing",
    "select_examples",
    "select_contrast_pair",
]

#: a text file in a corpus folder that says how that copy differs from the original
#: distribution (resampled, cut, a subset, ...); whoever makes a copy writes it
NOTE_FILE = "NOTE.md"

CATALOGUE_COLUMNS = ["path", "relpath", "corpus", "language", "style", "speaker", "sex",
                     "raw_label", "emotion", "sentence", "intensity", "take",
                     "duration", "sr", "channels"]


def list_audio_files(folder: Path, *, skipped: dict | None = None) -> list[Path]:
    """Every ``.wav``/``.flac`` file below ``folder``, sorted; other files are ignored.

    FIFOs, sockets and devices named like audio files are left out, unopened (reading
    a FIFO blocks until something writes to it); with ``skipped`` given, each is added
    to it as ``path -> what it is``.
    """
    from fser_utils.atomic import describe_special_file

    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            if name.startswith("."):  # .DS_Store, AppleDouble "._x.wav" files
                continue
            if Path(name).suffix.lower() in AUDIO_SUFFIXES:
                path = Path(dirpath) / name
                special = describe_special_file(path)
                if special is None:
                    found.append(path)
                elif skipped is not None:
                    skipped[str(path)] = special
    return found


def _catalogue_corpus(name: str, folder: Path, skipped: dict) -> list[dict]:
    corpus = get_corpus(name)
    rows = []
    for path in list_audio_files(folder, skipped=skipped):
        rel = PurePosixPath(path.relative_to(folder).as_posix())
        meta = corpus.parse(rel)
        try:
            info = sf.info(os.fsencode(path))  # bytes: any name, UTF-8 or not
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
        Corpus names from :data:`fser_utils.data.corpora.CORPORA`.

    Returns
    -------
    catalogue : pd.DataFrame [shape=(n_clips, len(CATALOGUE_COLUMNS))]
        One row per audio file; ``duration`` in seconds, ``sr`` in Hz. Corpora that
        are absent are listed, with how to get them, in ``catalogue.attrs["missing"]``;
        how each local copy differs from the original is in ``catalogue.attrs["notes"]``
        (see :func:`describe_data_copy`). FIFOs, sockets and devices named like audio
        files are left out unopened and listed in ``catalogue.attrs["skipped"]``.

    Raises
    ------
    FserError
        If an audio file's name does not parse (the message names the file and the
        expected pattern), or its header cannot be read.
    """
    root = get_data_root(root)
    rows, missing, skipped = [], {}, {}
    for name in corpora:
        folder = root / get_corpus(name).folder
        if not folder.is_dir() or not list_audio_files(folder):
            missing[name] = get_corpus(name).source
            continue
        rows.extend(_catalogue_corpus(name, folder, skipped))
    cat = pd.DataFrame(rows, columns=CATALOGUE_COLUMNS)
    cat["emotion"] = pd.Categorical(cat["emotion"], categories=EMOTIONS)
    cat.attrs["root"] = str(root)
    cat.attrs["missing"] = missing
    cat.attrs["skipped"] = skipped
    cat.attrs["notes"] = describe_data_copy(cat)
    return cat


def read_corpus_note(folder) -> str | None:
    """The first paragraph of a corpus folder's :data:`NOTE_FILE`, on one line, or ``None``."""
    path = Path(folder) / NOTE_FILE
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FserError(f"cannot read the corpus note '{path}': {exc}") from None
    paragraph = text.strip().split("\n\n")[0]
    return " ".join(line.strip().lstrip("#").strip() for line in paragraph.splitlines()) or None


#: a corpus whose clips all last the same time to within this [s] was cut or padded
_SAME_LENGTH = 1e-3


def _copy_caveats(name: str, part: pd.DataFrame) -> list[str]:
    """What the clips themselves show about a copy: cut to one length, or a subset."""
    out = []
    durations = part["duration"].to_numpy(dtype=float)
    if len(part) > 1 and np.ptp(durations) < _SAME_LENGTH:
        out.append(f"every clip lasts exactly {durations[0]:.2f} s, so the copy was cut or "
                   "padded and is not the original recordings")
    n_files = get_corpus(name).n_files
    if 0 < len(part) < n_files:
        out.append(f"{len(part)} of the {n_files} clips of the complete corpus")
    return out


def describe_data_copy(catalogue: pd.DataFrame) -> dict:
    """How the local copy of each corpus differs from the corpus as distributed.

    Everything comes from the data, none from the code: the copy's own
    :data:`NOTE_FILE` (if whoever made the copy wrote one), what the clips show
    (every clip of one length: cut or padded; fewer clips than the complete corpus:
    a subset), and the corpora that were asked for but not found.

    Parameters
    ----------
    catalogue : pd.DataFrame
        From :func:`load_catalogue` (uses ``attrs["root"]`` and ``attrs["missing"]``).

    Returns
    -------
    notes : dict of str -> str
        Corpus -> one line, only for corpora with something to say. A corpus with a
        note gives results that are not comparable with published ones on that corpus.
    """
    root = Path(catalogue.attrs.get("root", "."))
    notes = {}
    for name, part in catalogue.groupby("corpus", sort=False):
        found = [read_corpus_note(root / get_corpus(name).folder)] + _copy_caveats(name, part)
        found = [n for n in found if n]
        if found:
            notes[name] = "our copy: " + "; ".join(found) + \
                ": not comparable with published results on this corpus"
    for name in catalogue.attrs.get("missing", {}):
        notes[name] = "not found under the data root"
    return notes


def load_data_notes(root, *, corpora=PAPER_CORPORA) -> dict:
    """:func:`describe_data_copy` of ``corpora`` under ``root``; ``{}`` when ``root`` is
    not a folder on this machine (then nothing is known about the copies)."""
    if root is None or not Path(root).is_dir():
        return {}
    return load_catalogue(root, corpora=corpora).attrs["notes"]


def get_run_data_notes(settings: dict, *, corpora=PAPER_CORPORA) -> dict:
    """The data notes of a run: those it recorded (``settings["data_notes"]``), else
    those of its data root (``settings["data_root"]``) when that is on this machine.

    Parameters
    ----------
    settings : dict
        A run's settings.
    corpora : sequence of str
        Corpora to describe besides the run's own.

    Returns
    -------
    notes : dict of str -> str
        See :func:`describe_data_copy`.
    """
    if settings.get("data_notes") is not None:
        return dict(settings["data_notes"])
    wanted = tuple(dict.fromkeys(list(settings.get("corpora") or []) + list(corpora)))
    return load_data_notes(settings.get("data_root"), corpora=wanted)


def describe_missing(catalogue: pd.DataFrame) -> list[str]:
    """One line per absent corpus, saying where to get it and where to put it (a folder of
    the data root, not a path of this machine), and one per special file (a FIFO, a
    socket, a device) left out of the catalogue."""
    from fser_utils.atomic import escape_path

    return [f"{name}: not found under the data root (folder {get_corpus(name).folder}/); "
            f"get it from {src}"
            for name, src in catalogue.attrs.get("missing", {}).items()] + \
        [f"skipped '{escape_path(path)}': {what}, not an audio file"
         for path, what in catalogue.attrs.get("skipped", {}).items()]


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


def compute_table1_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Our Table 1 next to the paper's (:data:`fser_utils.paper.PAPER_TABLE1`).

    Parameters
    ----------
    table : pd.DataFrame
        From :func:`compute_emotion_table`.

    Returns
    -------
    comparison : pd.DataFrame
        Index: the classes and ``total``; columns ``ours``, ``paper``, ``difference``
        (ours - paper) [clips].
    """
    ours = table.set_index("emotion")["count"]
    paper = pd.Series(PAPER_TABLE1)
    paper["total"] = paper.sum()
    out = pd.DataFrame({"ours": ours, "paper": paper})
    out["difference"] = out["ours"] - out["paper"]
    return out


def compute_corpus_summary(catalogue: pd.DataFrame) -> pd.DataFrame:
    """One row per corpus: language, style, clips, speakers by sex, sentences, minutes,
    licence, and how the local copy differs from the original (``note``).

    Parameters
    ----------
    catalogue : pd.DataFrame
        From :func:`load_catalogue`.

    Returns
    -------
    summary : pd.DataFrame
        Index ``corpus``; ``clips`` found of the complete corpus's ``of``; ``sentences``
        (``pd.NA`` where the file names do not say which sentence was read); ``minutes``
        of audio; ``note`` from :func:`describe_data_copy` (empty if none).
    """
    notes = catalogue.attrs.get("notes") or describe_data_copy(catalogue)
    rows = []
    for name, part in catalogue.groupby("corpus", sort=False):
        corpus = get_corpus(name)
        spk = part.drop_duplicates("speaker")["sex"].value_counts()
        rows.append({
            "corpus": name, "language": corpus.language, "style": corpus.style,
            "clips": len(part), "of": corpus.n_files or len(part),
            "speakers": part["speaker"].nunique(),
            "female": int(spk.get("female", 0)), "male": int(spk.get("male", 0)),
            "sentences": part["sentence"].nunique() if part["sentence"].notna().any() else pd.NA,
            "minutes": round(part["duration"].sum() / 60, 1),
            "raw emotions": part["raw_label"].nunique(),
            "recording": corpus.recording, "licence": corpus.licence,
            "note": notes.get(name, ""),
        })
    # sentences: missing (pd.NA) where the file names carry no sentence (nEMO, URDU)
    return pd.DataFrame(rows).astype({"sentences": "Int64"}).set_index("corpus")


def select_examples(catalogue: pd.DataFrame, *, corpus: str = "ravdess",
                    seed: int = 0) -> pd.DataFrame:
    """One clip per unified emotion from one corpus (a reproducible random pick).

    Returns
    -------
    examples : pd.DataFrame
        Catalogue rows indexed by emotion, in the order of :data:`EMOTIONS`; for
        :func:`fser_utils.plotting.display_examples`.
    """
    part = catalogue[catalogue["corpus"] == corpus].dropna(subset=["emotion"])
    picks = part.groupby("emotion", observed=True).sample(1, random_state=seed)
    return picks.set_index("emotion").reindex([e for e in EMOTIONS if e in set(picks["emotion"])])


def select_contrast_pair(catalogue: pd.DataFrame, *, first: str = "anger",
                         second: str = "anxiety") -> tuple:
    """Two clips that differ only in their emotion: same speaker, sentence, intensity, take.

    Only strong (not ``normal``) intensities are considered; of the matching groups the
    first in file order is taken, so the pick is reproducible. RAVDESS has every
    combination.

    Parameters
    ----------
    catalogue : pd.DataFrame
        From :func:`load_catalogue`.
    first, second : str
        The two unified emotions.

    Returns
    -------
    pair : tuple of pd.Series
        The catalogue rows of the ``first`` and the ``second`` clip.

    Raises
    ------
    LookupError
        No speaker said one sentence in both emotions with the same intensity and take.
    """
    keys = ["speaker", "sentence", "intensity", "take"]
    pool = catalogue[catalogue["emotion"].isin([first, second])].fillna({k: "" for k in keys})
    for _, group in pool.sort_values("relpath").groupby(keys, sort=False):
        if set(group["emotion"]) == {first, second} and group["intensity"].iloc[0] != "normal":
            return (group[group["emotion"] == first].iloc[0],
                    group[group["emotion"] == second].iloc[0])
    raise LookupError(f"no {first}/{second} pair in the catalogue")
