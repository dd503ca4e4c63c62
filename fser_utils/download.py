"""Fetch the corpora that can be fetched, and check any local copy against sha256 manifests.

RAVDESS and EmoDB are published as single zip archives, so :func:`download_corpus`
fetches them with :mod:`pooch` (cached under ``get_cache_dir()/downloads``), unpacks
them into the folder the registry expects and checks every file. The other corpora
need a request, a registration or another channel: for them it prints where to get
them and where to put them, and returns 1 so that a script can tell nothing came down.

:func:`verify_corpus` checks a copy on disk, file by file, against

1. a ``SHA256SUMS`` file inside the corpus folder, when there is one (the converted
   FLAC copies used for development carry their own), else
2. the manifest of the original WAV release shipped in ``fser_utils/manifests/``.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from tqdm.auto import tqdm

from .config import get_cache_dir, get_data_root
from .corpora import AUDIO_SUFFIXES, get_corpus
from .errors import FserError

__all__ = [
    "ARCHIVES",
    "MANIFESTS",
    "URL_ENV_PREFIX",
    "Archive",
    "ManifestEntry",
    "VerifyReport",
    "get_archive_url",
    "get_manifest_path",
    "load_manifest",
    "compute_sha256",
    "verify_folder",
    "verify_corpus",
    "describe_source",
    "download_corpus",
]

#: ``FSER_DOWNLOAD_URL_RAVDESS`` etc. replace an archive's URL (mirrors, local tests)
URL_ENV_PREFIX = "FSER_DOWNLOAD_URL_"
SUMS_NAME = "SHA256SUMS"
_CHUNK = 1 << 20  # 1 MiB: large enough for speed, small enough for a smooth progress bar


@dataclass(frozen=True)
class Archive:
    """One downloadable archive.

    ``known_hash`` is ``None`` where no published archive hash is known to this
    project: the download is then trusted only after every unpacked file has matched
    the per-file manifest, which is the stronger check anyway.
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

#: packaged manifests of the original releases (file names in fser_utils/manifests/)
MANIFESTS = {
    "ravdess": "ravdess_original_wav_sha256.txt",
    "emovo": "emovo_original_wav_sha256.txt",
    "emodb": "emodb_original_wav_sha256_size.txt",
    "savee": "savee_wav_sha256_size_unverified.txt",
}


class ManifestEntry(NamedTuple):
    sha256: str
    size: int | None  # bytes; None where the manifest does not give sizes


# "sha256  path", "sha256 *path" (sha256sum's binary mode) or "sha256  size  path"
_LINE_RE = re.compile(r"^([0-9a-fA-F]{64})\s+(?:(\d+)\s+)?\*?(\S.*)$")


def get_archive_url(name: str) -> str:
    """URL of a corpus's archive: ``$FSER_DOWNLOAD_URL_<NAME>`` if set, else the official one."""
    corpus = get_corpus(name)
    if corpus.name not in ARCHIVES:
        raise FserError(f"{corpus.name} has no downloadable archive; {describe_source(name)}")
    return os.environ.get(URL_ENV_PREFIX + corpus.name.upper()) or ARCHIVES[corpus.name].url


def get_manifest_path(name: str) -> Path | None:
    """The packaged manifest of a corpus's original release, or ``None`` if there is none."""
    fname = MANIFESTS.get(get_corpus(name).name)
    if fname is None:
        return None
    # next to this module rather than importlib.resources: works for wheels and for
    # editable installs that register the package as a namespace
    return Path(__file__).resolve().parent / "manifests" / fname


def _describe_packaged(path: Path) -> str:
    if "unverified" in path.name:  # SAVEE's list comes from a third-party Git-LFS index
        return f"packaged {path.name} (not shown to be the official release)"
    return f"packaged {path.name} (original release)"


def _clean_relpath(raw: str, where: str) -> str:
    rel = PurePosixPath(raw.strip().replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise FserError(f"{where}: unsafe or empty path '{raw}'")
    return rel.as_posix()  # also drops a leading "./"


def load_manifest(path) -> dict[str, ManifestEntry]:
    """Read a sha256 manifest.

    Parameters
    ----------
    path : path-like
        A text file with one file per line, either ``sha256  relative/path`` (the
        output of ``sha256sum``, paths may start with ``./``) or
        ``sha256  size  relative/path`` (size in bytes). Blank lines and lines
        starting with ``#`` are skipped.

    Returns
    -------
    entries : dict
        Relative POSIX path (without ``./``) -> :class:`ManifestEntry`, in file order.

    Raises
    ------
    FserError
        If the file cannot be read, or a line is malformed or repeats a path (the
        message names the file and the line number).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise FserError(f"cannot read manifest '{path}': {exc}") from None
    entries = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}, line {number}"
        m = _LINE_RE.match(line.strip())
        if not m:
            raise FserError(f"{where}: expected 'sha256  [size  ]path', got '{line[:80]}'")
        digest, size, raw = m.groups()
        rel = _clean_relpath(raw, where)
        if rel in entries:
            raise FserError(f"{where}: '{rel}' is listed twice")
        entries[rel] = ManifestEntry(digest.lower(), int(size) if size else None)
    if not entries:
        raise FserError(f"manifest '{path}' lists no files")
    return entries


def compute_sha256(path, *, bar=None) -> str:
    """sha256 of a file, read in 1 MiB chunks; ``bar`` (a tqdm bar) advances by bytes read."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            if bar is not None:
                bar.update(len(chunk))
    return digest.hexdigest()


@dataclass
class VerifyReport:
    """Outcome of checking one corpus folder against one manifest.

    ``missing``, ``extra`` and ``corrupt`` hold paths relative to ``folder``;
    ``reasons`` says why each corrupt file failed. Only audio files can be extra:
    ``SHA256SUMS``, ``README``, ``data.tsv`` and label files are ignored.
    """

    corpus: str
    folder: Path
    manifest: str  # which manifest was used, in words
    n_expected: int
    n_checked: int = 0
    n_bytes: int = 0
    seconds: float = 0.0
    missing: list = field(default_factory=list)
    extra: list = field(default_factory=list)
    corrupt: list = field(default_factory=list)
    reasons: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.corrupt)

    @property
    def n_ok(self) -> int:
        return self.n_checked - len(self.corrupt)

    def summary(self) -> str:
        """Multi-line text: the verdict, counts, the manifest used, then every problem file."""
        mb = self.n_bytes / 1e6
        if self.ok:
            head = (f"{self.corpus}: OK, all {self.n_ok} of {self.n_expected} files match "
                    f"({mb:.1f} MB hashed in {self.seconds:.2f} s)")
        else:
            head = (f"{self.corpus}: FAILED, {self.n_ok} of {self.n_expected} files match; "
                    f"{len(self.missing)} missing, {len(self.extra)} extra, "
                    f"{len(self.corrupt)} corrupt ({mb:.1f} MB hashed in {self.seconds:.2f} s)")
        lines = [head, f"  folder:   {self.folder}", f"  manifest: {self.manifest}"]
        lines += [f"  missing  {p}" for p in self.missing]
        lines += [f"  extra    {p}" for p in self.extra]
        lines += [f"  corrupt  {p} ({self.reasons.get(p, 'sha256 differs')})"
                  for p in self.corrupt]
        if self.missing and self.extra and self._looks_converted():
            lines.append("  note: the folder holds files of another format than the manifest "
                         "lists (e.g. FLAC instead of the original WAV); a converted copy can "
                         f"only be checked against its own {SUMS_NAME} file")
        return "\n".join(lines)

    def _looks_converted(self) -> bool:
        stems = {PurePosixPath(p).with_suffix("").as_posix() for p in self.missing}
        return any(PurePosixPath(p).with_suffix("").as_posix() in stems for p in self.extra)


def _list_audio(folder: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            # dotfiles: .DS_Store and AppleDouble "._x.wav" files are not corpus audio
            if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_SUFFIXES:
                found.append((Path(dirpath) / name).relative_to(folder).as_posix())
    return found


def verify_folder(folder, entries: dict, *, corpus: str = "", manifest: str = "",
                  progress: bool = True) -> VerifyReport:
    """Check every file of a folder against manifest entries (see :func:`load_manifest`).

    A file is corrupt when its size differs from a size the manifest gives (then it is
    not hashed) or when its sha256 differs. Extra files are audio files (``.wav``,
    ``.flac``) on disk that the manifest does not list.
    """
    folder = Path(folder)
    started = time.perf_counter()
    report = VerifyReport(corpus or folder.name, folder, manifest, len(entries))
    present = []
    for rel, entry in entries.items():
        path = folder / rel
        if not path.is_file():
            report.missing.append(rel)
            continue
        size = path.stat().st_size
        if entry.size is not None and size != entry.size:
            report.corrupt.append(rel)
            report.reasons[rel] = f"size {size} bytes, expected {entry.size}"
            report.n_checked += 1
            continue
        present.append((rel, path, size, entry))
    total = sum(size for _, _, size, _ in present)
    with tqdm(total=total, unit="B", unit_scale=True, desc=f"sha256 {report.corpus}",
              disable=not progress, leave=False) as bar:
        for rel, path, size, entry in present:
            if compute_sha256(path, bar=bar) != entry.sha256:
                report.corrupt.append(rel)
                report.reasons[rel] = "sha256 differs"
            report.n_checked += 1
            report.n_bytes += size
    report.corrupt.sort()
    report.extra = [rel for rel in _list_audio(folder) if rel not in entries]
    report.seconds = time.perf_counter() - started
    return report


def verify_corpus(name: str, root=None, manifest=None, *, progress: bool = True) -> VerifyReport:
    """Check a local copy of a corpus for missing, extra and corrupt files.

    Parameters
    ----------
    name : str
        Corpus name from :data:`fser_utils.corpora.CORPORA`.
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
        label = _describe_packaged(path)
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


def _find_prefix(members: list[str], first: str) -> str | None:
    # archives sometimes wrap the corpus in a top folder; find what precedes the
    # manifest's first path so that the layout ends up as the registry expects
    for member in members:
        if member == first:
            return ""
        if member.endswith("/" + first):
            return member[: -len(first)]
    return None


def _extract(archive: Path, dest: Path, first: str, *, progress: bool) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist()
                     if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
            prefix = _find_prefix([i.filename for i in infos], first) or ""
            infos = [i for i in infos if i.filename.startswith(prefix)]
            for info in tqdm(infos, desc=f"unzip {archive.name}", unit="file",
                             disable=not progress, leave=False):
                rel = _clean_relpath(info.filename[len(prefix):], str(archive))
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, _CHUNK)
    except zipfile.BadZipFile as exc:
        raise FserError(f"'{archive}' is not a valid zip archive ({exc}); "
                        "delete it and download again") from None


def download_corpus(name: str, root=None, *, url: str | None = None, manifest=None,
                    known_hash: str | None = None, progress: bool = True) -> int:
    """Download, unpack and verify a corpus, or say where to get it.

    RAVDESS (Zenodo record 1188976, ``Audio_Speech_Actors_01-24.zip``) ends up as
    ``root/ravdess/Actor_XX/*.wav`` and EmoDB (``download.zip`` from
    emodb.bilderbar.info) as ``root/emodb/wav/*.wav``. The archive is fetched with
    :func:`pooch.retrieve` into ``get_cache_dir()/downloads`` (so a second call does
    not fetch it again, whatever the URL: delete the cached file to refetch) and unpacked into a temporary folder next to the target, which
    is renamed into place once complete. No archive hash is published for these
    releases in a form this project could pin, so by default the archive itself is
    not hash-checked (``known_hash=None``); instead every unpacked file is checked
    against the packaged per-file sha256 manifest.

    Parameters
    ----------
    name : str
        Corpus name.
    root : path-like or None
        Data root to unpack into; ``None``: ``$FSER_DATA`` (else ``data/``).
    url : str or None
        Archive URL; ``None``: ``$FSER_DOWNLOAD_URL_<NAME>`` if set, else the official URL.
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
        0 when the corpus is in place and every file matches the manifest; 1 when
        verification failed, or when the corpus cannot be downloaded automatically
        (EMOVO, SAVEE, nEMO, URDU: the printed text says where to get it and where to
        put it, and nothing was downloaded).

    Raises
    ------
    FserError
        If the download fails (network error, HTTP error, archive hash mismatch), the
        archive is not a valid zip, or the target folder already holds other files.
    """
    corpus = get_corpus(name)
    if corpus.name not in ARCHIVES:
        print(f"{corpus.name} cannot be downloaded automatically: nothing was downloaded.")
        print(describe_source(corpus.name, root))
        return 1
    import pooch  # imported here: the rest of the package does not need it

    archive = ARCHIVES[corpus.name]
    url = url or get_archive_url(corpus.name)
    folder = get_data_root(root) / corpus.folder
    if manifest is not None:
        manifest = Path(manifest)
        label = f"{manifest} (given)"
    else:
        manifest = get_manifest_path(corpus.name)
        label = _describe_packaged(manifest)
    entries = load_manifest(manifest)

    if folder.is_dir() and _list_audio(folder):
        report = verify_folder(folder, entries, corpus=corpus.name, manifest=label,
                               progress=progress)
        if report.ok:
            print(f"{corpus.name} is already in place; nothing to download.")
            print(report.summary())
            return 0
        raise FserError(f"{folder} already holds files that do not match {manifest.name} "
                        f"(see 'fser data verify {corpus.name}'); move it away and retry")

    cache = get_cache_dir() / "downloads"
    print(f"downloading {corpus.title} from {url}")
    try:
        path = Path(pooch.retrieve(url, known_hash or archive.known_hash, fname=archive.fname,
                                   path=cache, progressbar=progress))
    except ValueError as exc:  # pooch's hash mismatch
        raise FserError(f"archive from {url} failed its hash check: {exc}") from None
    except Exception as exc:  # requests raises many types; one line is what users need
        raise FserError(f"cannot download {url}: {exc}") from None
    print(f"archive: {path} (sha256 {compute_sha256(path)})")

    partial = folder.parent / f".{corpus.folder}.partial"
    if partial.exists():  # left over by an interrupted run
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    _extract(path, partial, next(iter(entries)), progress=progress)
    if folder.is_dir():  # holds no audio (checked above); keep whatever else is there
        shutil.copytree(partial, folder, dirs_exist_ok=True)
        shutil.rmtree(partial)
    else:
        partial.rename(folder)

    report = verify_folder(folder, entries, corpus=corpus.name, manifest=label,
                           progress=progress)
    print(report.summary())
    return 0 if report.ok else 1
