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

import hashlib
import os
import re
import shutil
import stat
import time
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from tqdm.auto import tqdm

from fser_utils.config import get_cache_dir, get_data_root
from fser_utils.data.corpora import AUDIO_SUFFIXES, get_corpus
from fser_utils.errors import FserError

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
_REMOTE_SCHEMES = ("http", "https", "ftp", "sftp", "doi")  # what pooch can fetch
#: largest expansion of one archive member (uncompressed / compressed) accepted. Speech
#: in WAV or FLAC compresses by a factor of 1 to 3, text by a few; 1.2 GB of zeros in a
#: 1.2 MB zip is 1000. Members below _RATIO_FLOOR bytes are not held to it (a short run
#: of silence or a tiny label file can compress far without costing any disk).
MAX_EXPANSION = 100
_RATIO_FLOOR = 1 << 20


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

#: packaged manifests of the original releases (file names in fser_utils/data/manifests/)
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
    ``misnamed`` maps a file on disk whose path differs from a listed one only in
    case (``a.WAV`` for ``a.wav``) to the listed path; ``reasons`` then says whether
    its content matches. Such files are neither missing nor extra, but not OK either.
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
    misnamed: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.corrupt or self.misnamed)

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
                    f"{len(self.corrupt)} corrupt"
                    + (f", {len(self.misnamed)} named in another case" if self.misnamed else "")
                    + f" ({mb:.1f} MB hashed in {self.seconds:.2f} s)")
        lines = [head, f"  folder:   {self.folder}", f"  manifest: {self.manifest}"]
        lines += [f"  missing  {p}" for p in self.missing]
        lines += [f"  extra    {p}" for p in self.extra]
        lines += [f"  corrupt  {p} ({self.reasons.get(p, 'sha256 differs')})"
                  for p in self.corrupt]
        lines += [f"  case     {p} (listed as {listed}; {self.reasons[p]})"
                  for p, listed in self.misnamed.items()]
        if self.misnamed:
            lines.append(self._describe_misnamed())
        if self.missing and self.extra and self._looks_converted():
            lines.append("  note: the folder holds files of another format than the manifest "
                         "lists (e.g. FLAC instead of the original WAV); a converted copy can "
                         f"only be checked against its own {SUMS_NAME} file")
        return "\n".join(lines)

    def _describe_misnamed(self) -> str:
        found, listed = next(iter(self.misnamed.items()))
        n_same = sum(self.reasons[p] == "same content" for p in self.misnamed)
        return (f"  note: {len(self.misnamed)} files differ from the manifest only in the case "
                f"of their names (e.g. '{found}' for '{listed}'); {n_same} of them hold the "
                "listed content and only need renaming to the manifest's spelling")

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


def _compare_size(path: Path, entry: ManifestEntry) -> str | None:
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        return f"size {size} bytes, expected {entry.size}"
    return None


def _find_misnamed(report: VerifyReport, entries: dict) -> None:
    # a copy that went through a case-insensitive file system or a renaming tool can
    # hold "a.WAV" where the release has "a.wav": report that rather than one missing
    # and one extra file, and say whether the content is the listed one
    missing = {rel.lower(): rel for rel in report.missing}
    for rel in [r for r in report.extra if r.lower() in missing]:
        listed = missing.pop(rel.lower())
        report.extra.remove(rel)
        report.missing.remove(listed)
        path = report.folder / rel
        problem = _compare_size(path, entries[listed])
        if problem is None and compute_sha256(path) != entries[listed].sha256:
            problem = "sha256 differs"
        report.misnamed[rel] = listed
        report.reasons[rel] = problem or "same content"


def verify_folder(folder, entries: dict, *, corpus: str = "", manifest: str = "",
                  progress: bool = True) -> VerifyReport:
    """Check every file of a folder against manifest entries (see :func:`load_manifest`).

    A file is corrupt when its size differs from a size the manifest gives (then it is
    not hashed) or when its sha256 differs. Extra files are audio files (``.wav``,
    ``.flac``) on disk that the manifest does not list; one whose path differs from a
    missing entry only in case is reported in ``misnamed`` instead.
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
        problem = _compare_size(path, entry)
        if problem:
            report.corrupt.append(rel)
            report.reasons[rel] = problem
            report.n_checked += 1
            continue
        present.append((rel, path, path.stat().st_size, entry))
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
    _find_misnamed(report, entries)
    report.seconds = time.perf_counter() - started
    return report


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


def _check_member_sizes(archive: Path, infos, prefix: str, entries: dict, dest: Path) -> int:
    """Refuse, before anything is written, members larger than the manifest says, members
    that expand more than :data:`MAX_EXPANSION`-fold, or an archive that would not fit on
    the disk; returns the bytes the members declare in all."""
    total = 0
    for info in infos:
        rel = _clean_relpath(info.filename[len(prefix):], f"'{archive}'")
        entry = entries.get(rel)
        if entry is not None and entry.size is not None and info.file_size > entry.size:
            raise FserError(f"'{archive}': member '{info.filename}' declares "
                            f"{info.file_size} bytes, the manifest lists {entry.size}; "
                            "refused before unpacking")
        if info.file_size > _RATIO_FLOOR \
                and info.file_size > MAX_EXPANSION * max(1, info.compress_size):
            raise FserError(f"'{archive}': member '{info.filename}' expands from "
                            f"{info.compress_size} to {info.file_size} bytes (more than "
                            f"{MAX_EXPANSION}-fold, a zip bomb?); refused before unpacking")
        total += info.file_size
    try:
        free = shutil.disk_usage(dest).free
    except OSError:
        free = None
    if free is not None and total > free:
        raise FserError(f"'{archive}' unpacks to {total} bytes but '{dest}' has {free} free; "
                        "refused before unpacking")
    return total


def _copy_bounded(src, out, budget: int, what: str) -> int:
    """Copy at most ``budget`` bytes; one more and the member is refused (its declared
    size lied, or the zip reader let more through than it declared)."""
    written = 0
    while chunk := src.read(_CHUNK):
        written += len(chunk)
        if written > budget:
            raise FserError(f"{what} holds more than the {budget} bytes it declares; "
                            "unpacking stopped")
        out.write(chunk)
    return written


def _extract(archive: Path, dest: Path, first: str, *, progress: bool,
             entries: dict | None = None) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist()
                     if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
            for info in infos:
                # zipfile would write a link as a plain file holding its target, and a
                # later member below it would then fail; a link could also point outside
                # dest, so links are refused before anything is written
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise FserError(f"'{archive}': member '{info.filename}' is a symbolic "
                                    "link; archives with links are refused")
            prefix = _find_prefix([i.filename for i in infos], first) or ""
            infos = [i for i in infos if i.filename.startswith(prefix)]
            _check_member_sizes(archive, infos, prefix, entries or {}, dest)
            for info in tqdm(infos, desc=f"unzip {archive.name}", unit="file",
                             disable=not progress, leave=False):
                rel = _clean_relpath(info.filename[len(prefix):], f"'{archive}'")
                target = dest / rel
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as out:
                        _copy_bounded(src, out, info.file_size,
                                      f"'{archive}': member '{info.filename}'")
                except OSError as exc:  # e.g. a member named like a folder of another
                    raise FserError(f"'{archive}': cannot unpack member '{info.filename}' "
                                    f"({exc.strerror or exc})") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, zlib.error,
            EOFError) as exc:  # damaged data, or a compression zipfile cannot read
        raise FserError(f"'{archive}' is not a valid zip archive ({exc})") from None


def _get_local_path(url: str) -> Path | None:
    """The file a ``file://`` URL (or a plain path) names; ``None`` for remote URLs."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise FserError(f"cannot download {url}: file:// URLs must name a local file")
        return Path(urllib.request.url2pathname(parsed.path))
    if not parsed.scheme or len(parsed.scheme) == 1:  # a plain path (or a Windows drive)
        return Path(url).expanduser()
    if parsed.scheme not in _REMOTE_SCHEMES:
        raise FserError(f"cannot download {url}: unsupported URL scheme '{parsed.scheme}' "
                        f"(use {', '.join(_REMOTE_SCHEMES)} or file)")
    return None


def _check_archive_hash(path: Path, known_hash: str | None, url: str) -> str | None:
    """``None`` if the archive matches ``known_hash`` (pooch's form), else the problem."""
    if not known_hash:
        return None
    import pooch

    alg, _, expected = known_hash.rpartition(":")
    try:
        actual = pooch.file_hash(str(path), alg=alg.lower() or "sha256")
    except ValueError as exc:  # an algorithm hashlib does not know
        raise FserError(f"archive hash '{known_hash}': {exc}") from None
    if actual == expected.lower():
        return None
    return (f"archive '{path}' from {url} has {alg or 'sha256'} {actual}, "
            f"expected {expected}")


def _get_cache_name(fname: str, url: str) -> str:
    # a short digest of the URL: a mirror's archive never stands in for another's
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    stem, dot, suffix = fname.partition(".")
    return f"{stem}-{digest}{dot}{suffix}"


def _fetch_archive(url: str, cached: Path, known_hash: str | None, *,
                   progress: bool) -> tuple[Path, bool]:
    """The archive on disk, and whether it is this project's cached copy (deletable).

    Local archives (``file://`` URLs, plain paths) are read where they are and never
    deleted; remote ones are fetched with pooch into ``cached``, whose name depends on
    the URL, so that another URL is never answered with an archive of the first.
    """
    local = _get_local_path(url)
    if local is not None:
        try:
            with open(local, "rb"):
                pass
        except OSError as exc:
            raise FserError(f"cannot read archive '{local}' ({url}): "
                            f"{exc.strerror or exc}") from None
        problem = _check_archive_hash(local, known_hash, url)
        if problem:
            raise FserError(f"{problem}; nothing was unpacked")
        return local, False
    was_cached = cached.is_file()
    path = _retrieve(url, cached, progress=progress)
    problem = _check_archive_hash(path, known_hash, url)
    if problem and was_cached:  # cached before this hash was asked for: fetch it afresh
        path.unlink()
        path = _retrieve(url, cached, progress=progress)
        problem = _check_archive_hash(path, known_hash, url)
    if problem:
        path.unlink()
        raise FserError(f"{problem}; the download was deleted")
    return path, True


def _retrieve(url: str, cached: Path, *, progress: bool) -> Path:
    import pooch  # imported here: the rest of the package does not need it

    # pooch's info lines repeat ours and advise on pooch.retrieve's arguments, which
    # means nothing to a user of the command line
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        return Path(pooch.retrieve(url, None, fname=cached.name, path=cached.parent,
                                   progressbar=progress))
    except Exception as exc:  # requests raises many types; one line is what users need
        raise FserError(f"cannot download {url}: {exc}") from None
    finally:
        logger.setLevel(level)


def _drop_archive(path: Path, cached: bool) -> str:
    """Delete a cached archive that was refused; say what happened to it."""
    if not cached:
        return f"the local archive '{path}' was left untouched"
    path.unlink(missing_ok=True)
    return f"the cached archive '{path}' was deleted, so a retry downloads it again"


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _unpack_and_verify(path: Path, cached: bool, partial: Path, entries: dict,
                       **verify_args) -> VerifyReport:
    """Unpack an archive into ``partial`` and verify it there; refuse it on any problem.

    ``partial`` is always removed when the archive is refused; an archive that is
    refused is deleted from the cache (see :func:`_drop_archive`).
    """
    _remove_tree(partial)  # left over by a run that was killed
    try:
        partial.mkdir(parents=True)
    except OSError as exc:
        raise FserError(f"cannot create '{partial}': {exc.strerror or exc}") from None
    ok = False
    try:
        _extract(path, partial, next(iter(entries)), progress=verify_args["progress"],
                 entries=entries)
        report = verify_folder(partial, entries, **verify_args)
        ok = report.ok
    except FserError as exc:
        raise FserError(f"{exc}; nothing was installed and {_drop_archive(path, cached)}"
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
    one expanding more than :data:`MAX_EXPANSION`-fold, or an archive larger than the
    free space is refused unpacked, and each member is copied within the size it
    declares, so a zip bomb costs no disk.

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
        label = _describe_packaged(manifest)
    entries = load_manifest(manifest)
    verify_args = dict(corpus=corpus.name, manifest=label, progress=progress)

    if folder.exists() and not folder.is_dir():
        raise FserError(f"'{folder}' is a file, not a folder; move it away and retry")
    if folder.is_dir() and _list_audio(folder):
        report = verify_folder(folder, entries, **verify_args)
        if report.ok:
            print(f"{corpus.name} is already in place; nothing to download.")
            print(report.summary())
            return 0
        raise FserError(f"{folder} already holds files that do not match {manifest.name} "
                        f"(see 'fser data verify {corpus.name}'); move it away and retry")

    archive = ARCHIVES[corpus.name]
    cached = get_cache_dir() / "downloads" / _get_cache_name(archive.fname, url)
    print(f"downloading {corpus.title} from {url}")
    path, is_cached = _fetch_archive(url, cached, known_hash or archive.known_hash,
                                     progress=progress)
    print(f"archive: {path} (sha256 {compute_sha256(path)})")

    partial = folder.parent / f".{corpus.folder}.partial"
    report = _unpack_and_verify(path, is_cached, partial, entries, **verify_args)
    if not report.ok:
        print(report.summary())
        print(f"{corpus.name}: the files of '{path}' do not match {manifest.name}: nothing "
              f"was installed in {folder}, and {_drop_archive(path, is_cached)}")
        return 1
    if folder.is_dir():  # holds no audio (checked above); keep whatever else is there
        shutil.copytree(partial, folder, dirs_exist_ok=True)
        shutil.rmtree(partial)
    else:
        partial.rename(folder)
    report.folder = folder
    print(report.summary())
    return 0
