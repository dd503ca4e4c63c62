"""Fetching a corpus archive and unpacking it safely.

A remote archive is fetched with :mod:`pooch` into the cache under a name that depends on
its URL (:func:`get_cache_name`, :func:`fetch_archive`), a ``file://`` URL or plain path
is read where it is, and a known archive hash is checked either way. A zip is unpacked by
:func:`extract_archive` only after every member has been vetted: no links, no path leaving
the folder, no member larger than the manifest lists or expanding more than
:data:`MAX_EXPANSION`-fold, nothing larger than the free disk; each member is then copied
within the size it declares, so that a zip bomb costs no disk. Used by
:func:`fser_utils.data.download.download_corpus`.
"""
from __future__ import annotations

import hashlib
import shutil
import stat
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path

from tqdm.auto import tqdm

from fser_utils.data.verify import clean_relpath
from fser_utils.errors import FserError

__all__ = ["MAX_EXPANSION", "extract_archive", "get_cache_name", "fetch_archive",
           "drop_archive"]

_CHUNK = 1 << 20  # 1 MiB copied at a time, each checked against the member's budget
_REMOTE_SCHEMES = ("http", "https", "ftp", "sftp", "doi")  # what pooch can fetch
#: largest expansion of one archive member (uncompressed / compressed) accepted. Speech
#: in WAV or FLAC compresses by a factor of 1 to 3, text by a few; 1.2 GB of zeros in a
#: 1.2 MB zip is 1000. Members below _RATIO_FLOOR bytes are not held to it (a short run
#: of silence or a tiny label file can compress far without costing any disk).
MAX_EXPANSION = 100
_RATIO_FLOOR = 1 << 20


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
        rel = clean_relpath(info.filename[len(prefix):], f"'{archive}'")
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


def extract_archive(archive: Path, dest: Path, first: str, *, progress: bool,
                    entries: dict | None = None) -> None:
    """Unpack the zip ``archive`` into ``dest``, refusing links, unsafe paths and members
    larger than declared or than ``entries`` (the manifest) lists; ``first`` (a listed path)
    locates the corpus inside a top folder the archive may wrap it in."""
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
                rel = clean_relpath(info.filename[len(prefix):], f"'{archive}'")
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


def get_cache_name(fname: str, url: str) -> str:
    """The cached archive's file name: ``fname`` with a short digest of ``url`` added."""
    # a short digest of the URL: a mirror's archive never stands in for another's
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    stem, dot, suffix = fname.partition(".")
    return f"{stem}-{digest}{dot}{suffix}"


def fetch_archive(url: str, cached: Path, known_hash: str | None, *,
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


def drop_archive(path: Path, cached: bool) -> str:
    """Delete a cached archive that was refused; say what happened to it."""
    if not cached:
        return f"the local archive '{path}' was left untouched"
    path.unlink(missing_ok=True)
    return f"the cached archive '{path}' was deleted, so a retry downloads it again"
