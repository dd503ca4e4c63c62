"""sha256 manifests, and checking a corpus folder against one, file by file.

A manifest lists every file of a release as ``sha256  [size  ]relative/path``; the
manifests of the original releases ship in ``fser_utils/data/manifests/``
(:func:`get_manifest_path`), and converted copies carry their own ``SHA256SUMS``.
:func:`verify_folder` reports the files that are missing, extra (audio only), corrupt
(size or sha256) or named in another case than listed, with a progress bar over the bytes
hashed. Used by :mod:`fser_utils.data.download` before a download is installed and by
``fser data verify``.
"""
from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from tqdm.auto import tqdm

from fser_utils.data.corpora import AUDIO_SUFFIXES, get_corpus
from fser_utils.errors import FserError

__all__ = [
    "SUMS_NAME",
    "MANIFESTS",
    "ManifestEntry",
    "VerifyReport",
    "get_manifest_path",
    "describe_packaged",
    "clean_relpath",
    "load_manifest",
    "compute_sha256",
    "list_audio",
    "verify_folder",
]

#: a corpus folder's own checksums (the converted FLAC copies carry one)
SUMS_NAME = "SHA256SUMS"
_CHUNK = 1 << 20  # 1 MiB: large enough for speed, small enough for a smooth progress bar

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


def get_manifest_path(name: str) -> Path | None:
    """The packaged manifest of a corpus's original release, or ``None`` if there is none."""
    fname = MANIFESTS.get(get_corpus(name).name)
    if fname is None:
        return None
    # next to this module rather than importlib.resources: works for wheels and for
    # editable installs that register the package as a namespace
    return Path(__file__).resolve().parent / "manifests" / fname


def describe_packaged(path: Path) -> str:
    """A packaged manifest in words, for a report: the original release, or a list not
    shown to be one."""
    if "unverified" in path.name:  # SAVEE's list comes from a third-party Git-LFS index
        return f"packaged {path.name} (not shown to be the official release)"
    return f"packaged {path.name} (original release)"


def clean_relpath(raw: str, where: str) -> str:
    """``raw`` as a relative POSIX path; refuses an absolute, empty or escaping one
    (``where`` names the file and line in the message)."""
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
        rel = clean_relpath(raw, where)
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


def list_audio(folder: Path) -> list[str]:
    """The audio files under ``folder`` (dotfiles aside), as sorted relative POSIX paths."""
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
    report.extra = [rel for rel in list_audio(folder) if rel not in entries]
    _find_misnamed(report, entries)
    report.seconds = time.perf_counter() - started
    return report
