"""Archives are bounded before anything is written (issue 32, item 2)."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from fser_utils.data import archives
from fser_utils.cli import main
from fser_utils.data.download import download_corpus
from fser_utils.errors import FserError

MEMBER = "Actor_01/03-01-01-01-01-01-01.wav"
BOMB = 20 * 1024 * 1024  # 20 MiB of zeros: about 20 kB compressed


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))


def _bomb(tmp_path: Path) -> Path:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open(MEMBER, "w") as out:
            for _ in range(BOMB // (1 << 20)):
                out.write(bytes(1 << 20))
    assert path.stat().st_size < BOMB / 100
    return path


def _manifest(tmp_path: Path, *, size: bool) -> Path:
    # the manifest of a small file, as the real one lists a 60 788-byte member
    digest = hashlib.sha256(b"small").hexdigest()
    path = tmp_path / "manifest.txt"
    path.write_text(f"{digest}  {'5  ' if size else ''}{MEMBER}\n")
    return path


@pytest.fixture
def opened(monkeypatch):
    """The archive members zipfile was asked to open (i.e. to unpack)."""
    names = []
    real = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        names.append(getattr(name, "filename", name))
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return names


@pytest.mark.parametrize("size, message", [
    (True, f"declares {BOMB} bytes, the manifest lists 5; refused before unpacking"),
    (False, "more than 100-fold, a zip bomb"),
])
def test_zip_bomb_is_refused_before_writing(size, message, tmp_path, opened):
    bomb, root = _bomb(tmp_path), tmp_path / "data"
    opened.clear()  # writing the bomb opened its member
    with pytest.raises(FserError, match=message) as info:
        download_corpus("ravdess", root=root, url=bomb.as_uri(),
                        manifest=_manifest(tmp_path, size=size), progress=False)
    assert "\n" not in str(info.value)
    assert MEMBER not in opened  # the member was never read, so nothing was written
    assert not root.exists() or not list(root.iterdir())
    assert bomb.is_file()  # the user's own archive is left alone


def test_zip_bomb_from_the_command_line_is_one_line(tmp_path, monkeypatch, capsys, opened):
    bomb, root = _bomb(tmp_path), tmp_path / "data"
    opened.clear()  # writing the bomb opened its member
    monkeypatch.setenv("FSER_DOWNLOAD_URL_RAVDESS", bomb.as_uri())
    assert main(["data", "download", "ravdess", "--root", str(root)]) == 2
    err = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()
    assert err[-1].startswith("fser: error:") and "zip bomb" in err[-1]
    assert "Traceback" not in "".join(err)
    assert MEMBER not in opened and (not root.exists() or not list(root.iterdir()))


def test_a_member_longer_than_it_declares_stops_at_its_budget(tmp_path):
    import io

    out = io.BytesIO()
    with pytest.raises(FserError, match="holds more than the 10 bytes it declares"):
        archives._copy_bounded(io.BytesIO(bytes(11)), out, 10, "'a.zip': member 'x'")
    assert len(out.getvalue()) <= 10


def test_an_archive_larger_than_the_free_space_is_refused(tmp_path, monkeypatch):
    import collections
    import shutil

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(100, 90, 10))
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(MEMBER, bytes(64))
    with pytest.raises(FserError, match="unpacks to 64 bytes but .* has 10 free"):
        download_corpus("ravdess", root=tmp_path / "data", url=path.as_uri(),
                        manifest=_manifest(tmp_path, size=False), progress=False)
    assert not (tmp_path / "data" / "ravdess").exists()
