"""What every chapter does first: set up, then find its data or fall back to the demo corpus.

:func:`setup_chapter` is the one call of every chapter's first code cell. That cell
(collapsed in the rendered book) also installs the package when it is missing, which
only the cell itself can do; everything else happens here:

1. seed Python, NumPy and Keras (:func:`fser_utils.config.setup`);
2. find the corpora: ``$FSER_DATA`` when set (CI and the book's re-execution set it, and
   then nothing slow or interactive happens), else the default data root
   (:func:`fser_utils.config.get_data_root`). When that holds no corpus, offer to
   download the two that can be downloaded (RAVDESS and EmoDB, with the progress bars
   and sha256 checks of :func:`fser_utils.data.download.download_corpus`) into it, and set
   ``$FSER_DATA`` to it; declined or impossible, the chapter runs on the demo corpus;
3. report the device (:mod:`fser_utils.training.devices`) and set ``$FSER_PROFILE`` to the
   training profile that fits it, unless it is set already.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from fser_utils.data.catalogue import load_catalogue
from fser_utils.config import DATA_ENV, PROFILE_ENV, get_cache_dir, get_data_root, setup
from fser_utils.data.corpora import CORPORA, EXTRA_CORPORA, PAPER_CORPORA
from fser_utils.data.demo import DEMO_BANNER, make_demo_corpus
from fser_utils.errors import FserError

__all__ = ["DOWNLOAD_ENV", "MANIFEST_ENV_PREFIX", "ChapterSetup", "setup_chapter",
           "fetch_corpora", "load_chapter_catalogue", "describe_catalogue", "format_table"]

#: ``FSER_DOWNLOAD=ravdess,emodb`` (or ``all``, or ``no``) answers the download offer
#: in advance, e.g. in a script or a test
DOWNLOAD_ENV = "FSER_DOWNLOAD"
#: ``FSER_DOWNLOAD_MANIFEST_<NAME>`` replaces the packaged manifest a download is
#: checked against (a mirror with other files, a local test server)
MANIFEST_ENV_PREFIX = "FSER_DOWNLOAD_MANIFEST_"
_NO = ("", "0", "n", "no", "none", "false")


@dataclasses.dataclass(frozen=True)
class ChapterSetup:
    """What :func:`setup_chapter` settled, for the chapter to use and print."""

    seed: int
    data_root: Path
    has_data: bool  # False: the chapter will run on the demo corpus
    downloaded: tuple
    accelerators: tuple
    profile: str
    report: str


def _downloadable() -> tuple:
    from fser_utils.data.download import ARCHIVES

    return tuple(ARCHIVES)


def _holds_corpus(root: Path) -> bool:
    # only a look at the top folders: the set-up cell must stay fast on the real corpora
    return any((root / c.folder).is_dir() and any((root / c.folder).iterdir())
               for name, c in CORPORA.items() if name != "demo")


def _parse_answer(answer, offered: tuple) -> tuple:
    """Corpus names from True/False, "all", "no" or "ravdess,emodb"."""
    if answer is True:
        return offered
    if answer is False or answer is None:
        return ()
    if not isinstance(answer, str):
        return tuple(answer)
    text = answer.strip().lower()
    if text in _NO:
        return ()
    if text in ("1", "y", "yes", "all", "true"):
        return offered
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in offered]
    if unknown:
        raise FserError(f"{DOWNLOAD_ENV}: cannot download {', '.join(unknown)} "
                        f"(downloadable: {', '.join(offered)})")
    return names


def _ask(question: str):
    """The reader's answer, or ``None`` where nobody can answer (nbconvert, CI, pytest)."""
    interactive = "ipykernel" in sys.modules or sys.stdin is not None and sys.stdin.isatty()
    if not interactive:
        return None
    try:
        return input(question)
    except (EOFError, OSError, NotImplementedError):  # kernels run without stdin say so
        return None


def fetch_corpora(names, root, *, progress: bool = True) -> tuple:
    """Download, unpack and verify corpora into ``root`` (:func:`download_corpus`).

    Each is checked against ``$FSER_DOWNLOAD_MANIFEST_<NAME>`` when set, else the
    packaged manifest; the archive comes from ``$FSER_DOWNLOAD_URL_<NAME>`` when set.

    Returns
    -------
    names : tuple of str
        The corpora now in place.

    Raises
    ------
    FserError
        A download failed, or its files did not match the manifest (nothing of that
        corpus is installed then).
    """
    from fser_utils.data.download import download_corpus

    done = []
    for name in names:
        manifest = os.environ.get(MANIFEST_ENV_PREFIX + name.upper()) or None
        if download_corpus(name, root, manifest=manifest, progress=progress) != 0:
            raise FserError(f"{name} was not installed in {root}: its files do not match "
                            "the manifest (see the report above)")
        done.append(name)
    return tuple(done)


def _find_data(download, *, progress: bool) -> tuple[Path, bool, tuple, str]:
    """Data root, whether it holds a corpus, what was downloaded, one line on it."""
    if os.environ.get(DATA_ENV):  # configured (CI, re-execution, the reader): trust it
        root = get_data_root()
        return root, _holds_corpus(root), (), f"data root: {root} (from ${DATA_ENV})"
    root = get_data_root()
    if _holds_corpus(root):
        os.environ[DATA_ENV] = str(root)
        return root, True, (), f"data root: {root} (the default)"
    offered = _downloadable()
    answer = download if download is not None else os.environ.get(DOWNLOAD_ENV)
    if answer is None:
        answer = _ask(f"No corpus under {root}. Download {' and '.join(offered)} there "
                      "(about 250 MB, a few minutes)? [y/N] ")
    names = _parse_answer(answer, offered)
    if not names:
        return root, False, (), (
            f"data root: no corpus under {root}; this chapter runs on the synthetic demo "
            f"corpus. To fetch {' and '.join(offered)}: setup_chapter(download=True), or "
            "`fser data download ravdess`; or point FSER_DATA at your copy")
    done = fetch_corpora(names, root, progress=progress)
    os.environ[DATA_ENV] = str(root)
    return root, True, done, f"data root: {root} (downloaded {', '.join(done)}; FSER_DATA set)"


def setup_chapter(*, seed: int = 42, seed_keras: bool = True, download=None,
                  progress: bool = True, verbose: bool = True) -> ChapterSetup:
    """Seed, find or fetch the corpora, pick the device's profile; the first call of a chapter.

    Parameters
    ----------
    seed : int
        For Python, NumPy and (with ``seed_keras``) Keras.
    seed_keras : bool
        Also seed Keras; the data chapters pass ``False`` to avoid importing TensorFlow.
    download : bool, str, sequence of str or None
        Answer to the download offer made when no data root is configured and the
        default one holds no corpus: ``True`` (RAVDESS and EmoDB), ``False``, or names.
        ``None``: ``$FSER_DOWNLOAD`` if set, else ask the reader where someone can
        answer (a notebook in a browser, a terminal), else no.
    progress : bool
        Progress bars while downloading and checking.
    verbose : bool
        Print the report (data root, device, profile).

    Returns
    -------
    setup : ChapterSetup
        ``setup.profile`` is also in ``$FSER_PROFILE`` now, where
        :func:`fser_utils.config.get_profile` finds it.

    Raises
    ------
    FserError
        A download asked for failed or did not verify.
    """
    from fser_utils.training.devices import describe_devices, list_accelerators, pick_profile

    # TensorFlow's C++ start-up notices (no CUDA driver, oneDNN) would land in the first
    # output of every chapter that trains; errors still show. Before anything imports it
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    seed = setup(seed, seed_keras=seed_keras)
    root, has_data, downloaded, data_line = _find_data(download, progress=progress)
    accelerators = tuple(list_accelerators())
    profile, why = pick_profile(list(accelerators))
    os.environ.setdefault(PROFILE_ENV, profile)
    report = "\n".join([data_line, describe_devices(list(accelerators)),
                        f"training profile: {profile}, {why}; seed {seed}"])
    if verbose:
        print(report)
    return ChapterSetup(seed=seed, data_root=root, has_data=has_data, downloaded=downloaded,
                        accelerators=accelerators, profile=profile, report=report)


def load_chapter_catalogue(*, corpora=PAPER_CORPORA + EXTRA_CORPORA, verbose: bool = True):
    """Catalogue of the configured data root, or of the demo corpus if it holds none.

    Returns
    -------
    catalogue : pd.DataFrame
        See :func:`fser_utils.data.catalogue.load_catalogue`; ``catalogue.attrs["demo"]``
        says whether the synthetic demo corpus stands in for the real ones.
    """
    cat = load_catalogue(get_data_root(), corpora=corpora)
    demo = cat.empty
    if demo:
        root = get_cache_dir() / "demo_root"
        make_demo_corpus(root)
        cat = load_catalogue(root, corpora=("demo",))
        if verbose:
            print(DEMO_BANNER)
    elif verbose:
        print(describe_catalogue(cat))
    cat.attrs["demo"] = demo
    return cat


def describe_catalogue(catalogue) -> str:
    """What a chapter found: clips per corpus, never the machine's data root.

    The printed text is stored in the book, so it names the corpora and not the folder
    they were found in (``$FSER_DATA`` says where that is on the reader's machine). It is
    wrapped at 76 characters, so that no corpus hides behind a sideways scroll in the
    book's column.

    Returns
    -------
    line : str
        E.g. ``"data root ($FSER_DATA): 2563 clips from emodb (535), emovo (588),\n
        ravdess (1440)"``.
    """
    import textwrap

    counts = catalogue["corpus"].value_counts().sort_index()
    # a corpus and its count stay on one line: the space between them is not a break
    parts = ", ".join(f"{name}\0({n})" for name, n in counts.items())
    return textwrap.fill(f"data root (${DATA_ENV}): {len(catalogue)} clips from {parts}", 76,
                         subsequent_indent="  ", break_on_hyphens=False).replace("\0", " ")


def format_table(table, *, decimals: int = 2, missing: str = "–"):
    """A table for the book: numbers rounded, empty cells shown as ``missing``.

    A NaN in a printed table reads as an error; the chapter says what the mark means
    (a value that does not apply, or was not reported).

    Parameters
    ----------
    table : pd.DataFrame
    decimals : int
        Digits after the point of the float columns.
    missing : str
        Shown instead of NaN, ``None`` or ``pd.NA``.

    Returns
    -------
    formatted : pd.DataFrame
        Same index and columns; columns with a missing value hold text.
    """
    import pandas as pd

    out = table.copy()
    for col in out.columns:
        values = out[col]
        if not values.isna().any():
            if pd.api.types.is_float_dtype(values):
                out[col] = values.round(decimals)
            continue
        if pd.api.types.is_float_dtype(values):
            out[col] = [missing if pd.isna(v) else f"{v:.{decimals}f}" for v in values]
        else:
            out[col] = [missing if v is None or (pd.api.types.is_scalar(v) and pd.isna(v))
                        else v for v in values]
    return out
