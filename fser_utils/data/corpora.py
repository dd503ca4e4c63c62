"""Registry of the emotional-speech corpora: where their files sit and what the names mean.

Each corpus knows how to turn a file path into speaker, sex, raw emotion and sentence,
and how its raw emotions map onto the paper's eight classes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Callable

from fser_utils.errors import FserError

__all__ = [
    "EMOTIONS",
    "PAPER_CORPORA",
    "EXTRA_CORPORA",
    "CORPUS_SETS",
    "resolve_corpora",
    "name_corpora",
    "name_used_corpora",
    "CORPORA",
    "Corpus",
    "get_corpus",
    "parse_path",
    "unify_label",
    "compute_label_table",
]

#: the paper's eight unified classes, in the order of its tables
EMOTIONS = ("anger", "anxiety", "calm", "disgust", "happiness", "neutral", "sadness", "surprise")
PAPER_CORPORA = ("emodb", "emovo", "savee", "ravdess")
EXTRA_CORPORA = ("nemo", "urdu")
#: named groups of corpora for ``--corpora``: the paper's four, or every corpus supported
CORPUS_SETS = ("paper", "all")
AUDIO_SUFFIXES = (".wav", ".flac")


@dataclass(frozen=True)
class Corpus:
    """What the project knows about one corpus *as distributed*.

    Facts about a particular local copy (resampled, cut, a subset) are not kept here:
    they are read from the copy itself (:func:`fser_utils.data.catalogue.describe_data_copy`).
    """

    name: str
    title: str
    language: str
    style: str  # "acted" or "natural"
    folder: str  # relative to the data root
    pattern: str  # the expected file name, for error messages
    parse: Callable[[PurePosixPath], dict]
    label_map: dict  # raw emotion -> unified class (or None: not used)
    citation: str  # BibTeX key in book/references.bib
    licence: str
    source: str  # where to get it
    n_files: int  # size of the complete corpus
    recording: str = ""
    extra: dict = field(default_factory=dict)


def _fail(path: PurePosixPath, pattern: str) -> None:
    raise FserError(f"cannot parse '{path}': expected a file named like {pattern}")


# --- RAVDESS -------------------------------------------------------------------
_RAVDESS_EMO = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad",
                "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"}
_RAVDESS_RE = re.compile(r"^03-01-(0[1-8])-(0[12])-(0[12])-(0[12])-(\d\d)$")
_RAVDESS_PATTERN = "Actor_AA/03-01-EE-II-SS-RR-AA.wav (EE 01-08, II/SS/RR 01-02, AA 01-24)"


def _parse_ravdess(rel: PurePosixPath) -> dict:
    m = _RAVDESS_RE.match(rel.stem)
    if not m or not 1 <= int(m.group(5)) <= 24:
        _fail(rel, _RAVDESS_PATTERN)
    emo, intensity, statement, repetition, actor = m.groups()
    return {"speaker": actor, "sex": "male" if int(actor) % 2 else "female",
            "raw_label": _RAVDESS_EMO[emo], "sentence": statement,
            "intensity": "normal" if intensity == "01" else "strong", "take": repetition}


# --- EMOVO ---------------------------------------------------------------------
_EMOVO_EMO = {"dis": "disgust", "gio": "joy", "neu": "neutral", "pau": "fear",
              "rab": "anger", "sor": "surprise", "tri": "sadness"}
_EMOVO_RE = re.compile(r"^(dis|gio|neu|pau|rab|sor|tri)-([fm][123])-(\w+)$")
_EMOVO_PATTERN = "SPK/emo-SPK-SENT.wav (emo in dis,gio,neu,pau,rab,sor,tri; SPK f1-f3, m1-m3)"


def _parse_emovo(rel: PurePosixPath) -> dict:
    m = _EMOVO_RE.match(rel.stem)
    if not m:
        _fail(rel, _EMOVO_PATTERN)
    emo, spk, sent = m.groups()
    return {"speaker": spk, "sex": "female" if spk[0] == "f" else "male",
            "raw_label": _EMOVO_EMO[emo], "sentence": sent}


# --- EmoDB ---------------------------------------------------------------------
_EMODB_EMO = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear",
              "F": "happiness", "T": "sadness", "N": "neutral"}
_EMODB_SPEAKERS = {"03", "08", "09", "10", "11", "12", "13", "14", "15", "16"}
_EMODB_FEMALE = {"08", "09", "13", "14", "16"}
_EMODB_RE = re.compile(r"^(\d\d)([ab]\d\d)([WLEAFTN])([a-z])$")
_EMODB_PATTERN = "wav/SSTTTEV.wav (SS speaker 03-16, TTT a01-b10, E in W,L,E,A,F,T,N, V a-z)"


def _parse_emodb(rel: PurePosixPath) -> dict:
    m = _EMODB_RE.match(rel.stem)
    if not m or m.group(1) not in _EMODB_SPEAKERS:
        _fail(rel, _EMODB_PATTERN)
    spk, text, emo, version = m.groups()
    return {"speaker": spk, "sex": "female" if spk in _EMODB_FEMALE else "male",
            "raw_label": _EMODB_EMO[emo], "sentence": text, "take": version}


# --- SAVEE ---------------------------------------------------------------------
_SAVEE_EMO = {"a": "anger", "d": "disgust", "f": "fear", "h": "happiness",
              "n": "neutral", "sa": "sadness", "su": "surprise"}
_SAVEE_RE = re.compile(r"^(?:(DC|JE|JK|KL)_)?(sa|su|a|d|f|h|n)(\d\d)$")
_SAVEE_PATTERN = ("AudioData/SPK/eNN.wav or SPK_eNN.wav "
                  "(SPK in DC,JE,JK,KL; e in a,d,f,h,n,sa,su; NN 01-30)")


def _parse_savee(rel: PurePosixPath) -> dict:
    m = _SAVEE_RE.match(rel.stem)
    speaker = m.group(1) if m else None
    if m and speaker is None and rel.parent.name in {"DC", "JE", "JK", "KL"}:
        speaker = rel.parent.name
    if not m or speaker is None or not 1 <= int(m.group(3)) <= 30:
        _fail(rel, _SAVEE_PATTERN)
    return {"speaker": speaker, "sex": "male", "raw_label": _SAVEE_EMO[m.group(2)],
            "sentence": f"{m.group(2)}{m.group(3)}"}


# --- nEMO ----------------------------------------------------------------------
_NEMO_RE = re.compile(r"^([A-Z]{2}\d)_(anger|fear|happiness|neutral|sadness|surprised)_(\d+)$")
_NEMO_PATTERN = "SPK_emotion_N.wav (emotion in anger,fear,happiness,neutral,sadness,surprised)"
#: speaker sexes as listed in nEMO's data.tsv
_NEMO_SEX = {"EB0": "female", "IC0": "female", "KD0": "female", "KS0": "male", "MK0": "female",
             "MP0": "male", "SM0": "male", "TP0": "male", "WR0": "male"}


def _parse_nemo(rel: PurePosixPath) -> dict:
    m = _NEMO_RE.match(rel.stem)
    if not m:
        _fail(rel, _NEMO_PATTERN)
    spk, emo, take = m.groups()
    return {"speaker": spk, "sex": _NEMO_SEX.get(spk, "unknown"),
            "raw_label": "surprise" if emo == "surprised" else emo, "take": take}


# --- URDU ----------------------------------------------------------------------
_URDU_EMO = {"Angry": "anger", "Happy": "happiness", "Neutral": "neutral", "Sad": "sadness"}
_URDU_RE = re.compile(r"^(S([MF])\d+)_(F\d+)_([AHNS])(\d+)$")
_URDU_PATTERN = "CLASS/S{M,F}n_Fyy_Czzz.wav (CLASS in Angry,Happy,Neutral,Sad; C its initial)"


def _parse_urdu(rel: PurePosixPath) -> dict:
    # SM3 / SF3 is male / female speaker 3; Fyy numbers that speaker's files
    m = _URDU_RE.match(rel.stem)
    if not m or rel.parent.name not in _URDU_EMO or m.group(4) != rel.parent.name[0]:
        _fail(rel, _URDU_PATTERN)
    spk, sex, take, _, clip = m.groups()
    return {"speaker": spk, "sex": "male" if sex == "M" else "female",
            "raw_label": _URDU_EMO[rel.parent.name], "take": take + "_" + clip}


# --- the synthetic demo corpus ---------------------------------------------------
_DEMO_RE = re.compile(r"^(s\d\d)_([a-z]+)_(\d\d)$")
_DEMO_PATTERN = "SPK/SPK_emotion_NN.wav (SPK s01.., emotion one of the eight classes)"


def _parse_demo(rel: PurePosixPath) -> dict:
    m = _DEMO_RE.match(rel.stem)
    if not m or m.group(2) not in EMOTIONS:
        _fail(rel, _DEMO_PATTERN)
    spk, emo, take = m.groups()
    return {"speaker": spk, "sex": "female" if int(spk[1:]) % 2 == 0 else "male",
            "raw_label": emo, "take": take}


_SAME = {e: e for e in EMOTIONS}

CORPORA = {
    "emodb": Corpus(
        "emodb", "Berlin Database of Emotional Speech (EmoDB)", "German", "acted", "emodb",
        _EMODB_PATTERN, _parse_emodb,
        {"anger": "anger", "boredom": "calm", "disgust": "disgust", "fear": "anxiety",
         "happiness": "happiness", "sadness": "sadness", "neutral": "neutral"},
        "burkhardt2005emodb", "free for research", "http://emodb.bilderbar.info/",
        535, "10 actors (5 female) reading 10 everyday German sentences, anechoic room, 16 kHz"),
    "emovo": Corpus(
        "emovo", "EMOVO Italian emotional speech corpus", "Italian", "acted", "emovo",
        _EMOVO_PATTERN, _parse_emovo,
        {"disgust": "disgust", "joy": "happiness", "neutral": "neutral", "fear": "anxiety",
         "anger": "anger", "surprise": "surprise", "sadness": "sadness"},
        "costantini2014emovo", "free for non-commercial research",
        "http://voice.fub.it/activities/corpora/emovo/index.html (request from the authors)",
        588, "6 actors (3 female), 14 sentences, Fondazione Ugo Bordoni studio, 48 kHz"),
    "savee": Corpus(
        "savee", "Surrey Audio-Visual Expressed Emotion (SAVEE)", "English (British)", "acted",
        "savee", _SAVEE_PATTERN, _parse_savee,
        {"anger": "anger", "disgust": "disgust", "fear": "anxiety", "happiness": "happiness",
         "neutral": "neutral", "sadness": "sadness", "surprise": "surprise"},
        "haq2008savee", "free for research after registration",
        "http://personal.ee.surrey.ac.uk/Personal/P.Jackson/SAVEE/ (register, then download AudioData)",
        480, "4 male speakers, TIMIT sentences, 15 per emotion and 30 neutral, 44.1 kHz"),
    "ravdess": Corpus(
        "ravdess", "Ryerson Audio-Visual Database of Emotional Speech and Song (RAVDESS), speech",
        "English (North American)", "acted", "ravdess", _RAVDESS_PATTERN, _parse_ravdess,
        {"neutral": "neutral", "calm": "calm", "happy": "happiness", "sad": "sadness",
         "angry": "anger", "fearful": "anxiety", "disgust": "disgust", "surprised": "surprise"},
        "livingstone2018ravdess", "CC BY-NC-SA 4.0",
        "https://zenodo.org/record/1188976 (Audio_Speech_Actors_01-24.zip)",
        1440, "24 actors (12 female), 2 statements, 2 intensities, 2 repetitions, 48 kHz"),
    "nemo": Corpus(
        "nemo", "nEMO Polish emotional speech", "Polish", "acted", "nemo",
        _NEMO_PATTERN, _parse_nemo,
        {"anger": "anger", "fear": "anxiety", "happiness": "happiness", "neutral": "neutral",
         "sadness": "sadness", "surprise": "surprise"},
        "christop2024nemo", "CC BY-NC-SA 4.0", "https://huggingface.co/datasets/amu-cai/nEMO",
        4481, "9 actors (4 female), 6 emotions, over 3 hours"),
    "urdu": Corpus(
        "urdu", "URDU natural emotional speech", "Urdu", "natural", "urdu",
        _URDU_PATTERN, _parse_urdu,
        {"anger": "anger", "happiness": "happiness", "neutral": "neutral", "sadness": "sadness"},
        "latif2018urdu", "for research use",
        "https://github.com/siddiquelatif/URDU-Dataset", 400,
        "spontaneous speech cut from Urdu TV talk shows, 4 classes of 100 clips"),
    "demo": Corpus(
        "demo", "Synthetic demo corpus (generated)", "none (synthetic)", "synthetic", "demo",
        _DEMO_PATTERN, _parse_demo, _SAME, "", "generated by fser_utils", "fser data demo",
        0, "harmonic tones whose pitch, loudness and tempo depend on the emotion"),
}


def get_corpus(name: str) -> Corpus:
    """Look a corpus up by name, with a one-line error listing the known ones."""
    try:
        return CORPORA[name.lower()]
    except KeyError:
        raise FserError(f"unknown corpus '{name}'; known: {', '.join(CORPORA)}") from None


def parse_path(corpus: str, relpath: str) -> dict:
    """Parse a path relative to the corpus folder into its metadata.

    Returns a dict with ``speaker``, ``sex``, ``raw_label`` and, where the corpus has
    them, ``sentence``, ``intensity`` and ``take``; raises :class:`FserError` with the
    expected pattern when the name does not parse.
    """
    return get_corpus(corpus).parse(PurePosixPath(relpath))


def unify_label(corpus: str, raw_label: str) -> str | None:
    """Map a corpus's raw emotion to one of :data:`EMOTIONS` (``None`` if unused)."""
    return get_corpus(corpus).label_map.get(raw_label)


def compute_label_table(corpora=PAPER_CORPORA + EXTRA_CORPORA):
    """Raw-to-unified label table: one row per (corpus, raw label)."""
    import pandas as pd

    rows = [{"corpus": c, "raw_label": raw, "emotion": uni}
            for c in corpora for raw, uni in get_corpus(c).label_map.items()]
    return pd.DataFrame(rows)


def resolve_corpora(text) -> tuple[str, ...]:
    """Corpus names from ``--corpora``: a set name (:data:`CORPUS_SETS`) or a comma list.

    Raises
    ------
    FserError
        For an unknown set or corpus name, or an empty list.
    """
    if isinstance(text, str) and text in CORPUS_SETS:
        # looked up when called, so that tests can point the paper's set elsewhere
        return PAPER_CORPORA if text == "paper" else PAPER_CORPORA + EXTRA_CORPORA
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in CORPORA or n == "demo"]
    if unknown or not names:
        raise FserError(f"unknown corpus set or corpus '{','.join(unknown) or text}' (choose "
                        f"{' or '.join(CORPUS_SETS)}, or a comma list of: "
                        f"{', '.join(c for c in CORPORA if c != 'demo')})")
    return tuple(dict.fromkeys(names))


def name_corpora(corpora) -> str:
    """The set name of :func:`resolve_corpora` that gives ``corpora``, else a ``+`` list."""
    corpora = tuple(corpora)
    return next((n for n in CORPUS_SETS if resolve_corpora(n) == corpora), "+".join(corpora))


def name_used_corpora(used) -> str | None:
    """The corpora a run asked for, from those it read (its ``settings["corpora"]``).

    A corpus that was asked for but absent (SAVEE) is not among those read, so the
    paper's set reads as None and every extra corpus present as ``"all"``; any other
    mix is its names joined by ``+``.
    """
    used = list(used or [])
    if not any(c in EXTRA_CORPORA for c in used):
        return None
    return "all" if set(EXTRA_CORPORA) <= set(used) else "+".join(used)
