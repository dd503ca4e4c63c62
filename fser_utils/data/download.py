"""Fetch the corpora that can be fetched, and check any local copy against sha256 manifests.

RAVDESS and EmoDB are published as single zip archives, so :func:`download_corpus`
fetches them with :mod:`pooch` (cached under ``get_cache_dir()/downloads``), unpacks
them into the folder the registry expects and checks every file. The other corpora
need a request, a registration or another channel: for them it prints where to get
them and where to put them, and returns 1 so that a script can tell nothing came down.

:func:`verify_corpus` checks a copy on disk, file by file, against

1. a ``SHA256SUMS`` file inside the corpus folder, when there is one (the converted
   FLAC copies used for development carry their own), else
2. the manifest of the original WAV release shipped in ``fser_utils/data/manifests/``.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from fser_utils.config import get_cache_dir, get_data_root
from fser_utils.data.archives import drop_archive, extract_archive, fetch_archive, get_cache_name
from fser_utils.data.corpora import get_corpus
from fser_utils.data.verify import SUMS_NAME, VerifyReport, compute_sha256, describe_packaged, \
    get_manifest_path, list_audio, load_manifest, verify_folder
from fser_utils.errors import FserError

__all__ = [
    "ARCHIVES",
    "URL_ENV_PREFIX",
    "Archive",
    "get_archive_url",
    "verify_corpus",
    "describe_source",
    "download_corpus",
]

#: ``FSER_DOWNLOAD_URL_RAVDESS`` etc. replace an archive's URL (mirrors, local tests)
URL_ENV_PREFIX = "FSER_DOWNLOAD_URL_"


@dataclass(frozen=True)
class Archive:
    """One downloadable archive.

    ``fname`` names the cached copy (a digest of the URL actually used is added
    before the suffix). ``known_hash`` is ``None`` where no published archive hash is
    known to this project: the download is then trusted only after every unpacked file
    has matched the per-file manifest, which is the stronger check anyway.
    """

    url: str
    fname: str
    known_hash: str | None = None


ARCHIVES = {
    "ravdess": Archive(
        "https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip",
        "ravdess_Audio_Speech_Actors_01-24.zip"),
    "emodb": Archive("http://emodb.bilderbar.info/download/download.zip",
                     "emodb_download.zip"),
}


def get_archive_url(name: str) -> str:
    """URL of a corpus's archive: ``$FSER_DOWNLOAD_URL_<NAME>`` if set, else the official one."""
    corpus = get_corpus(name)
    if corpus.name not in ARCHIVES:
        raise FserError(f"{corpus.name} has no downloadable archive; {describe_source(name)}")
    return os.environ.get(URL_ENV_PREFIX + corpus.name.upper()) or ARCHIVES[corpus.name].url


def verify_corpus(name: str, root=None, manifest=None, *, progress: bool = True) -> VerifyReport:
    """Check a local copy of a corpus for missing, extra and corrupt files.

    Parameters
    ----------
    name : str
        Corpus name from :data:`fser_utils.data.corpora.CORPORA`.
    root : path-like or None
        Data root; the corpus is in ``root/<corpus folder>``. ``None``: ``$FSER_DATA``.
    manifest : path-like or None
        Manifest to check against. ``None``: the folder's own ``SHA256SUMS`` if it has
        one (format ``sha256  relative/path``), else the packaged manifest of the
        original WAV release.
    progress : bool
        Show a tqdm progress bar (in bytes) while hashing.

    Returns
    -------
    report : VerifyReport
        ``report.ok`` is true when nothing is missing, extra or corrupt;
        ``report.summary()`` says which manifest was used and lists every problem.

    Raises
    ------
    FserError
        If the corpus folder does not exist, or no manifest is available for it.
    """
    corpus = get_corpus(name)
    folder = get_data_root(root) / corpus.folder
    if not folder.is_dir():
        raise FserError(f"no {corpus.name} folder at {folder}; "
                        + (f"run 'fser data download {corpus.name}'" if corpus.name in ARCHIVES
                           else f"get it from {corpus.source}"))
    if manifest is not None:
        path, label = Path(manifest), f"{manifest} (given)"
    elif (folder / SUMS_NAME).is_file():
        path, label = folder / SUMS_NAME, f"{folder / SUMS_NAME} (the folder's own checksums)"
    else:
        path = get_manifest_path(corpus.name)
        if path is None:
            raise FserError(f"no manifest for {corpus.name}: put a {SUMS_NAME} file "
                            f"('sha256  relative/path' per line) in {folder}")
        label = describe_packaged(path)
    return verify_folder(folder, load_manifest(path), corpus=corpus.name, manifest=label,
                         progress=progress)


def describe_source(name: str, root=None) -> str:
    """Where to get a corpus and where to put it, as a few lines of text."""
    corpus = get_corpus(name)
    folder = get_data_root(root) / corpus.folder
    manifest = get_manifest_path(corpus.name)
    check = (f"then check it with 'fser data verify {corpus.name}' "
             + (f"(against the packaged {manifest.name})" if manifest else
                f"(needs a {SUMS_NAME} file in {folder}/)"))
    return "\n".join([
        f"{corpus.title} ({corpus.licence}).",
        f"  get it from: {corpus.source}",
        f"  put it in:   {folder}/",
        f"  layout:      {corpus.folder}/{corpus.pattern}",
        f"  {check}",
    ])


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _unpack_and_verify(path: Path, cached: bool, partial: Path, entries: dict,
                       **verify_args) -> VerifyReport:
    """Unpack an archive into ``partial`` and verify it there; refuse it on any problem.

    ``partial`` is always removed when the archive is refused; an archive that is
    refused is deleted from the cache (see :func:`drop_archive`).
    """
    _remove_tree(partial)  # left over by a run that was killed
    try:
        partial.mkdir(parents=True)
    except OSError as exc:
        raise FserError(f"cannot create '{partial}': {exc.strerror or exc}") from None
    ok = False
    try:
        extract_archive(path, partial, next(iter(entries)), progress=verify_args["progress"],
                 entries=entries)
        report = verify_folder(partial, entries, **verify_args)
        ok = report.ok
    except FserError as exc:
        raise FserError(f"{exc}; nothing was installed and {drop_archive(path, cached)}"
                        ) from None
    finally:  # also when interrupted: no half-unpacked or refused folder is left behind
        if not ok:
            _remove_tree(partial)
    return report


def download_corpus(name: str, root=None, *, url: str | None = None, manifest=None,
                    known_hash: str | None = None, progress: bool = True) -> int:
    """Download, unpack and verify a corpus, or say where to get it.

    RAVDESS (Zenodo record 1188976, ``Audio_Speech_Actors_01-24.zip``) ends up as
    ``root/ravdess/Actor_XX/*.wav`` and EmoDB (``download.zip`` from
    emodb.bilderbar.info) as ``root/emodb/wav/*.wav``. A remote archive is fetched with
    :func:`pooch.retrieve` into ``get_cache_dir()/downloads``, under a name that
    depends on the URL, so a second call with the same URL does not fetch it again; a
    ``file://`` URL or a plain path is read where it is. The archive is unpacked into
    ``root/.<folder>.partial`` and every file is checked there against the packaged
    per-file sha256 manifest; only a complete, matching copy is moved into place. No
    archive hash is published for these releases in a form this project could pin,
    so by default the archive itself is not hash-checked (``known_hash=None``): the
    per-file check is the stronger one anyway.

    An archive that is refused (not a zip, unsafe member paths or links, files that
    do not match the manifest) installs nothing, leaves no ``.partial`` folder, and
    its cached copy is deleted so that a retry downloads it again. Sizes are checked
    before anything is written: a member declaring more bytes than the manifest lists,
    one expanding more than :data:`~fser_utils.data.archives.MAX_EXPANSION`-fold, or an
    archive larger than the free space is refused unpacked, and each member is copied
    within the size it declares, so a zip bomb costs no disk.

    Parameters
    ----------
    name : str
        Corpus name.
    root : path-like or None
        Data root to unpack into; ``None``: ``$FSER_DATA`` (else ``data/``).
    url : str or None
        Archive URL (``http(s)``, ``ftp``, ``sftp``, ``doi``, ``file``) or local path;
        ``None``: ``$FSER_DOWNLOAD_URL_<NAME>`` if set, else the official URL.
    manifest : path-like or None
        Manifest to check the unpacked files against; ``None``: the packaged one.
    known_hash : str or None
        Archive hash in pooch's form (``"sha256:..."``, ``"md5:..."``); ``None``: the
        registry's (none known).
    progress : bool
        Show progress bars for the download, the unpacking and the hashing.

    Returns
    -------
    status : int
        0 when the corpus is in place and every file matches the manifest; 1 when the
        unpacked files failed verification (nothing was installed; the report and a
        last line saying so are printed), or when the corpus cannot be downloaded
        automatically (EMOVO, SAVEE, nEMO, URDU: the printed text says where to get
        it and where to put it, and nothing was downloaded).

    Raises
    ------
    FserError
        If the download fails (network error, HTTP error, unreadable local file,
        archive hash mismatch), the archive is not a valid zip or holds unsafe
        members (paths leaving the folder, links), or the target folder already
        holds other files.
    """
    corpus = get_corpus(name)
    if corpus.name not in ARCHIVES:
        print(f"{corpus.name} cannot be downloaded automatically: nothing was downloaded.")
        print(describe_source(corpus.name, root))
        return 1
    url = url or get_archive_url(corpus.name)
    folder = get_data_root(root) / corpus.folder
    if manifest is not None:
        manifest = Path(manifest)
        label = f"{manifest} (given)"
    else:
        manifest = get_manifest_path(corpus.name)
        label = describe_packaged(manifest)
    entries = load_manifest(manifest)
    verify_args = dict(corpus=corpus.name, manifest=label, progress=progress)

    if folder.exists() and not folder.is_dir():
        raise FserError(f"'{folder}' is a file, not a folder; move it away and retry")
    if folder.is_dir() and list_audio(folder):
        report = verify_folder(folder, entries, **verify_args)
        if report.ok:
            print(f"{corpus.name} is already in place; nothing to download.")
            print(report.summary())
            return 0
        raise FserError(f"{folder} already holds files that do not match {manifest.name} "
                        f"(see 'fser data verify {corpus.name}'); move it away and retry")

    archive = ARCHIVES[corpus.name]
    cached = get_cache_dir() / "downloads" / get_cache_name(archive.fname, url)
    print(f"downloading {corpus.title} from {url}")
    path, is_cached = fetch_archive(url, cached, known_hash or archive.known_hash,
                                     progress=progress)
    print(f"archive: {path} (sha256 {compute_sha256(path)})")

    partial = folder.parent / f".{corpus.folder}.partial"
    report = _unpack_and_verify(path, is_cached, partial, entries, **verify_args)
    if not report.ok:
        print(report.summary())
        print(f"{corpus.name}: the files of '{path}' do not match {manifest.name}: nothing "
              f"was installed in {folder}, and {drop_archive(path, is_cached)}")
        return 1
    if folder.is_dir():  # holds no audio (checked above); keep whatever else is there
        shutil.copytree(partial, folder, dirs_exist_ok=True)
        shutil.rmtree(partial)
    else:
        partial.rename(folder)
    report.folder = folder
    print(report.summary())
    return 0
