"""Download and verification: a local HTTP server stands in for Zenodo and emodb.bilderbar.info."""
from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from fser_utils.data import archives, download
from fser_utils.cli import main
from fser_utils.data.download import ARCHIVES, download_corpus, get_archive_url, verify_corpus
from fser_utils.data.verify import MANIFESTS, get_manifest_path, load_manifest, verify_folder
from fser_utils.errors import FserError

from fixtures import write_tone

RAVDESS_FILES = ("Actor_01/03-01-01-01-01-01-01.wav", "Actor_02/03-01-05-02-01-02-02.wav")
EMODB_FILES = ("wav/03a01Fa.wav", "wav/16b10Wb.wav")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(path: Path, folder: Path, rels, *, sizes=False, dot=False) -> Path:
    lines = []
    for rel in rels:
        f = folder / rel
        size = f"{f.stat().st_size}  " if sizes else ""
        lines.append(f"{_sha256(f)}  {size}{'./' if dot else ''}{rel}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _make_archive(tmp: Path, name: str, rels, *, prefix: str = "", others=()) -> tuple[Path, Path]:
    """A zip of tiny generated wav files, and a manifest of them ("sha256  ./path")."""
    stage = tmp / f"stage_{name}"
    for rel in rels:
        write_tone(stage / rel, duration=0.01)
    for rel in others:  # label files and the like that real archives also carry
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        (stage / rel).write_text("not audio\n")
    archive = tmp / "www" / f"{name}.zip"
    archive.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(archive, "w") as zf:
        for rel in (*rels, *others):
            zf.write(stage / rel, prefix + rel)
    manifest = _write_manifest(tmp / f"{name}_manifest.txt", stage, rels, dot=True)
    return archive, manifest


@pytest.fixture
def server(tmp_path, monkeypatch):
    """Serve tmp_path/www on 127.0.0.1 on an ephemeral port; yields the base URL."""
    www = tmp_path / "www"
    www.mkdir()
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # never go out through a proxy
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


# --- manifests ----------------------------------------------------------------------

@pytest.mark.parametrize("name, n, sized", [("ravdess", 1440, False), ("emovo", 588, False),
                                            ("emodb", 535, True), ("savee", 480, True)])
def test_packaged_manifests_parse(name, n, sized):
    entries = load_manifest(get_manifest_path(name))
    assert len(entries) == n
    assert all(len(e.sha256) == 64 for e in entries.values())
    assert all((e.size is not None) == sized for e in entries.values())
    assert not any(rel.startswith("./") for rel in entries)  # "./" is stripped


def test_packaged_manifest_paths_parse_as_corpus_files():
    from fser_utils.data.corpora import parse_path

    for name in MANIFESTS:
        for rel in load_manifest(get_manifest_path(name)):
            parse_path(name, rel)  # raises on a name the registry would not understand
    assert get_manifest_path("nemo") is None and get_manifest_path("urdu") is None


def test_load_manifest_formats_and_errors(tmp_path):
    digest = "a" * 64
    good = tmp_path / "good.txt"
    good.write_text(f"# comment\n\n{digest}  ./x/a.wav\n{digest.upper()}  12  y/b.wav\n"
                    f"{digest} *c d.wav\n")
    entries = load_manifest(good)
    assert list(entries) == ["x/a.wav", "y/b.wav", "c d.wav"]
    assert entries["y/b.wav"] == (digest, 12) and entries["x/a.wav"].size is None

    for text, message in [("nonsense\n", "line 1"), (f"{digest}  ../escape.wav\n", "unsafe"),
                          (f"{digest}  a.wav\n{digest}  ./a.wav\n", "twice"), ("", "no files")]:
        bad = tmp_path / "bad.txt"
        bad.write_text(text)
        with pytest.raises(FserError, match=message):
            load_manifest(bad)


# --- verification -------------------------------------------------------------------

def _corpus_folder(root: Path, corpus: str, rels) -> Path:
    for rel in rels:
        write_tone(root / corpus / rel, duration=0.01)
    return root / corpus


def test_verify_reports_missing_extra_corrupt(tmp_path):
    rels = [f"Actor_01/03-01-0{e}-01-01-01-01.wav" for e in range(1, 6)]
    folder = _corpus_folder(tmp_path, "ravdess", rels)
    manifest = _write_manifest(tmp_path / "m.txt", folder, rels, sizes=True)
    assert verify_corpus("ravdess", root=tmp_path, manifest=manifest, progress=False).ok

    (folder / rels[0]).unlink()                                    # missing
    data = bytearray((folder / rels[1]).read_bytes())
    data[-1] ^= 0xFF
    (folder / rels[1]).write_bytes(bytes(data))                    # same size, other hash
    (folder / rels[2]).write_bytes((folder / rels[2]).read_bytes()[:-2])  # truncated
    write_tone(folder / "Actor_01/03-01-08-01-01-01-01.wav")       # extra audio
    for other in ("README.md", "data.tsv", "SHA256SUMS.orig", ".DS_Store"):
        (folder / other).write_text("x")                           # not audio: not extra

    report = verify_corpus("ravdess", root=tmp_path, manifest=manifest, progress=False)
    assert not report.ok
    assert report.missing == [rels[0]]
    assert report.extra == ["Actor_01/03-01-08-01-01-01-01.wav"]
    assert report.corrupt == sorted(rels[1:3])
    assert "sha256 differs" in report.reasons[rels[1]]
    assert "size" in report.reasons[rels[2]]
    text = report.summary()
    assert "FAILED" in text and "1 missing, 1 extra, 2 corrupt" in text
    assert "2 of 5 files match" in text
    for rel in [rels[0], rels[1], rels[2], "Actor_01/03-01-08-01-01-01-01.wav"]:
        assert rel in text
    assert str(manifest) in text

    assert main(["data", "verify", "ravdess", "--root", str(tmp_path)]) == 1  # packaged


def test_verify_prefers_the_folders_sha256sums(tmp_path, capsys):
    rels = ["EB0_anger_1.flac", "KS0_sadness_3.flac"]
    folder = _corpus_folder(tmp_path, "nemo", rels)
    with pytest.raises(FserError, match="no manifest for nemo"):
        verify_corpus("nemo", root=tmp_path, progress=False)
    _write_manifest(folder / "SHA256SUMS", folder, rels)
    report = verify_corpus("nemo", root=tmp_path, progress=False)
    assert report.ok and report.n_expected == 2
    assert "SHA256SUMS" in report.manifest and "OK" in report.summary()

    assert main(["data", "verify", "nemo", "--root", str(tmp_path)]) == 0
    assert "nemo: OK, all 2 of 2 files match" in capsys.readouterr().out
    (folder / rels[0]).write_bytes(b"broken")
    assert main(["data", "verify", "nemo", "--root", str(tmp_path)]) == 1
    assert f"corrupt  {rels[0]}" in capsys.readouterr().out


def test_verify_flac_copy_against_wav_manifest_explains(tmp_path):
    rels = ["f1/dis-f1-b1.wav"]
    stage = _corpus_folder(tmp_path / "orig", "emovo", rels)
    manifest = _write_manifest(tmp_path / "m.txt", stage, rels)
    _corpus_folder(tmp_path / "root", "emovo", ["f1/dis-f1-b1.flac"])
    report = verify_corpus("emovo", root=tmp_path / "root", manifest=manifest, progress=False)
    assert report.missing == rels and report.extra == ["f1/dis-f1-b1.flac"]
    assert "its own SHA256SUMS" in report.summary()


def test_verify_absent_corpus_says_where_to_get_it(tmp_path, capsys):
    with pytest.raises(FserError, match="surrey"):
        verify_corpus("savee", root=tmp_path)
    assert main(["data", "verify", "ravdess", "--root", str(tmp_path)]) == 2
    assert "fser data download ravdess" in capsys.readouterr().err


# --- corpora that cannot be downloaded -------------------------------------------------

@pytest.mark.parametrize("name", ["emovo", "savee", "nemo", "urdu"])
def test_download_says_where_to_get_it(name, tmp_path, capsys):
    from fser_utils.data.corpora import get_corpus

    assert main(["data", "download", name, "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "nothing was downloaded" in out
    assert get_corpus(name).source in out
    assert f"{tmp_path / get_corpus(name).folder}/" in out
    assert not (tmp_path / name).exists()


# --- downloads from the local server ----------------------------------------------------

def test_archive_urls_and_env_override(monkeypatch):
    assert ARCHIVES["ravdess"].url == ("https://zenodo.org/records/1188976/files/"
                                       "Audio_Speech_Actors_01-24.zip")
    assert ARCHIVES["emodb"].url == "http://emodb.bilderbar.info/download/download.zip"
    monkeypatch.setenv("FSER_DOWNLOAD_URL_EMODB", "http://mirror.example/e.zip")
    assert get_archive_url("emodb") == "http://mirror.example/e.zip"
    with pytest.raises(FserError, match="emovo"):
        get_archive_url("emovo")


def test_download_ravdess_from_local_server(server, tmp_path, capsys):
    archive, manifest = _make_archive(tmp_path, "ravdess", RAVDESS_FILES)
    root = tmp_path / "data"
    status = download_corpus("ravdess", root=root, url=f"{server}/{archive.name}",
                             manifest=manifest, progress=False)
    assert status == 0
    for rel in RAVDESS_FILES:
        assert (root / "ravdess" / rel).is_file()
    assert not any(p.name.endswith(".partial") for p in root.iterdir())
    assert "ravdess: OK, all 2 of 2 files match" in capsys.readouterr().out
    # the archive is cached under $FSER_CACHE/downloads, named after the URL too
    stem = ARCHIVES["ravdess"].fname.removesuffix(".zip")
    assert len(list((tmp_path / "cache" / "downloads").glob(f"{stem}-*.zip"))) == 1

    # a second call finds the verified copy and does not download again
    archive.unlink()
    assert download_corpus("ravdess", root=root, url=f"{server}/{archive.name}",
                           manifest=manifest, progress=False) == 0
    assert "already in place" in capsys.readouterr().out


def test_download_emodb_strips_a_wrapper_folder(server, tmp_path):
    archive, manifest = _make_archive(tmp_path, "emodb", EMODB_FILES, prefix="download/",
                                      others=("lablaut/03a01Fa.lab", "erklaerung.txt"))
    root = tmp_path / "data"
    assert download_corpus("emodb", root=root, url=f"{server}/{archive.name}",
                           manifest=manifest, progress=False) == 0
    assert sorted(p.name for p in (root / "emodb" / "wav").iterdir()) == ["03a01Fa.wav",
                                                                          "16b10Wb.wav"]
    assert (root / "emodb" / "lablaut" / "03a01Fa.lab").is_file()


def test_download_cli_uses_env_url_and_fails_verification(server, tmp_path, monkeypatch,
                                                          capsys):
    # tiny generated files cannot match the packaged RAVDESS manifest: exit status 1
    archive, _ = _make_archive(tmp_path, "ravdess", RAVDESS_FILES)
    monkeypatch.setenv("FSER_DOWNLOAD_URL_RAVDESS", f"{server}/{archive.name}")
    root = tmp_path / "data"
    assert main(["data", "download", "ravdess", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "1438 missing" in out and "2 corrupt" in out
    assert not (root / "ravdess").exists()  # files that fail are never installed

    # a folder that holds other audio is never overwritten
    write_tone(root / "ravdess" / RAVDESS_FILES[0], duration=0.02)
    assert main(["data", "download", "ravdess", "--root", str(root)]) == 2
    assert "move it away" in capsys.readouterr().err
    assert [p.name for p in (root / "ravdess").rglob("*.wav")] == [Path(RAVDESS_FILES[0]).name]


def test_download_cli_success_with_patched_manifest(server, tmp_path, monkeypatch):
    archive, manifest = _make_archive(tmp_path, "ravdess", RAVDESS_FILES)
    monkeypatch.setenv("FSER_DOWNLOAD_URL_RAVDESS", f"{server}/{archive.name}")
    monkeypatch.setattr(download, "get_manifest_path", lambda name: manifest)
    assert main(["data", "download", "ravdess", "--root", str(tmp_path / "data")]) == 0
    assert main(["data", "verify", "ravdess", "--root", str(tmp_path / "data")]) == 0


def test_download_errors_are_one_line(server, tmp_path, capsys):
    archive, manifest = _make_archive(tmp_path, "ravdess", RAVDESS_FILES)
    with pytest.raises(FserError, match=f"has sha256 {_sha256(archive)}, expected 0000.*"
                                        "the download was deleted"):
        download_corpus("ravdess", root=tmp_path / "a", url=f"{server}/{archive.name}",
                        manifest=manifest, known_hash="sha256:" + "0" * 64, progress=False)
    assert not list((tmp_path / "cache" / "downloads").glob("*.zip"))
    with pytest.raises(FserError, match="cannot download"):
        download_corpus("ravdess", root=tmp_path / "b", url=f"{server}/nothing.zip",
                        manifest=manifest, progress=False)
    (tmp_path / "www" / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(FserError, match="not a valid zip"):
        download_corpus("ravdess", root=tmp_path / "c", url=f"{server}/broken.zip",
                        manifest=manifest, progress=False)


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def _zip_with(path: Path, members) -> Path:
    """A zip of (name, bytes, mode) members; mode is the Unix mode (None: a plain file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def test_download_failing_verification_installs_nothing_and_refetches(server, tmp_path,
                                                                      capsys):
    archive, manifest = _make_archive(tmp_path, "ravdess", RAVDESS_FILES)
    good = archive.read_bytes()
    _zip_with(archive, [(rel, b"tampered", None) for rel in RAVDESS_FILES])  # other content
    url, root = f"{server}/{archive.name}", tmp_path / "data"
    assert download_corpus("ravdess", root=root, url=url, manifest=manifest,
                           progress=False) == 1
    out = capsys.readouterr().out
    assert "nothing was installed" in out and "was deleted" in out
    assert _leftovers(root) == []  # neither ravdess/ nor .ravdess.partial/
    assert not list((tmp_path / "cache" / "downloads").iterdir())

    # the same URL, now serving the right archive: fetched again, installed
    archive.write_bytes(good)
    assert download_corpus("ravdess", root=root, url=url, manifest=manifest,
                           progress=False) == 0
    assert _leftovers(root) == ["ravdess"]

    # a cached archive answers only its own URL: another URL is requested
    shutil.rmtree(root / "ravdess")
    with pytest.raises(FserError, match="cannot download .*/elsewhere.zip"):
        download_corpus("ravdess", root=root, url=f"{server}/elsewhere.zip",
                        manifest=manifest, progress=False)
    archive.unlink()  # ... while the first URL is still answered from the cache
    assert download_corpus("ravdess", root=root, url=url, manifest=manifest,
                           progress=False) == 0


def test_download_from_a_local_archive(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    archive, manifest = _make_archive(tmp_path, "ravdess", RAVDESS_FILES)
    root = tmp_path / "data"
    for url, message in [(archive.with_name("nope.zip").as_uri(), "nope.zip.*No such file"),
                         (str(tmp_path / "www"), "www.*Is a directory"),
                         ("gopher://host/x.zip", "unsupported URL scheme 'gopher'")]:
        with pytest.raises(FserError, match=message) as info:
            download_corpus("ravdess", root=root, url=url, manifest=manifest, progress=False)
        assert "hash" not in str(info.value)
    with pytest.raises(FserError, match=f"has sha256 {_sha256(archive)}, expected 0000"):
        download_corpus("ravdess", root=root, url=archive.as_uri(), manifest=manifest,
                        known_hash="0" * 64, progress=False)
    assert download_corpus("ravdess", root=root, url=archive.as_uri(), manifest=manifest,
                           known_hash=f"sha256:{_sha256(archive)}", progress=False) == 0
    assert (root / "ravdess" / RAVDESS_FILES[0]).is_file()
    assert not (tmp_path / "cache" / "downloads").exists()  # read in place, not copied

    # a refused local archive is never deleted: it is the user's file
    (root / "ravdess").rename(tmp_path / "moved")
    bad = _zip_with(tmp_path / "bad.zip", [(RAVDESS_FILES[0], b"other", None)])
    assert download_corpus("ravdess", root=root, url=bad.as_uri(), manifest=manifest,
                           progress=False) == 1
    assert "local archive" in capsys.readouterr().out and bad.is_file()
    assert _leftovers(root) == []


@pytest.mark.parametrize("members, message", [
    ([("wav", b"/tmp", 0o120777), ("wav/03a01Fa.wav", b"x", None)],
     "member 'wav' is a symbolic link"),
    ([("wav/03a01Fa.wav", b"x", None), ("evil", b"../../etc", 0o120777)],
     "member 'evil' is a symbolic link"),
    ([("wav", b"a file", None), ("wav/03a01Fa.wav", b"x", None)],
     "cannot unpack member 'wav/03a01Fa.wav'"),
    ([("wav/03a01Fa.wav", b"x", None), ("../16b10Wb.wav", b"x", None)], "unsafe"),
])
def test_unsafe_archives_are_refused_without_leftovers(members, message, server, tmp_path,
                                                        monkeypatch, capsys):
    _zip_with(tmp_path / "www" / "e.zip", members)
    root = tmp_path / "data"
    root.mkdir()
    (root / ".emodb.partial" / "wav").mkdir(parents=True)  # left by a killed run
    monkeypatch.setenv("FSER_DOWNLOAD_URL_EMODB", f"{server}/e.zip")
    assert main(["data", "download", "emodb", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("fser: error:") == 1 and "Traceback" not in err
    line = err.replace("\r", "\n").strip().splitlines()[-1]  # after the progress bar
    cached = tmp_path / "cache" / "downloads" / archives.get_cache_name(
        ARCHIVES["emodb"].fname, f"{server}/e.zip")
    assert line.startswith(f"fser: error: '{cached}': ") and message in line
    assert line.endswith(f"nothing was installed and the cached archive '{cached}' was "
                         "deleted, so a retry downloads it again")
    assert not cached.exists()
    assert _leftovers(root) == []


def test_refused_cached_archive_is_deleted(server, tmp_path):
    (tmp_path / "www" / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(FserError, match="not a valid zip.*cached archive .* was deleted"):
        download_corpus("emodb", root=tmp_path / "data", url=f"{server}/broken.zip",
                        progress=False)
    assert not list((tmp_path / "cache" / "downloads").iterdir())
    assert _leftovers(tmp_path / "data") == []


def test_verify_names_files_that_differ_only_in_case(tmp_path):
    rels = ["wav/03a01Fa.wav", "wav/16b10Wb.wav", "wav/08a01Lb.wav"]
    stage = _corpus_folder(tmp_path / "orig", "emodb", rels)
    (stage / rels[2]).write_bytes(b"not the same tone")
    manifest = _write_manifest(tmp_path / "m.txt", stage, rels, sizes=True)
    folder = _corpus_folder(tmp_path / "root", "emodb", [])
    for rel in rels:
        write_tone(folder / rel, duration=0.01)
        (folder / rel).rename(folder / rel.replace(".wav", ".WAV"))
    (folder / "wav/16b10Wb.WAV").rename(folder / "wav/16B10WB.WAV")

    report = verify_corpus("emodb", root=tmp_path / "root", manifest=manifest,
                           progress=False)
    assert not report.ok and report.missing == [] and report.extra == []
    assert report.misnamed == {"wav/03a01Fa.WAV": rels[0], "wav/08a01Lb.WAV": rels[2],
                               "wav/16B10WB.WAV": rels[1]}
    assert report.reasons["wav/03a01Fa.WAV"] == "same content"
    assert report.reasons["wav/08a01Lb.WAV"].startswith("size ")
    text = report.summary()
    assert "3 named in another case" in text
    assert "case     wav/03a01Fa.WAV (listed as wav/03a01Fa.wav; same content)" in text
    assert "2 of them hold the listed content" in text
    assert "FLAC" not in text  # the old note blamed a conversion to another format


# --- the real corpora -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ravdess", "emodb", "emovo", "nemo", "urdu"])
def test_real_corpora_match_their_sha256sums(real_root, name):
    if not (real_root / name / "SHA256SUMS").is_file():
        pytest.skip(f"no {name}/SHA256SUMS under {real_root}")
    report = verify_corpus(name, root=real_root, progress=False)
    assert report.ok, report.summary()
    assert report.n_expected == len(load_manifest(real_root / name / "SHA256SUMS"))


def test_verify_folder_counts_bytes(tmp_path):
    folder = _corpus_folder(tmp_path, "x", ["a.wav"])
    entries = load_manifest(_write_manifest(tmp_path / "m.txt", folder, ["a.wav"]))
    report = verify_folder(folder, entries, progress=False)
    assert report.ok and report.n_bytes == (folder / "a.wav").stat().st_size


def test_cached_archive_failing_a_given_hash_is_fetched_again(server, tmp_path):
    archive, manifest = _make_archive(tmp_path, "ravdess", RAVDESS_FILES)
    url, root = f"{server}/{archive.name}", tmp_path / "data"
    assert download_corpus("ravdess", root=root / "a", url=url, manifest=manifest,
                           progress=False) == 0
    old = archive.read_bytes()
    with zipfile.ZipFile(archive, "a") as zf:  # the server now has another archive
        zf.writestr("README.txt", "a newer release")
    assert download_corpus("ravdess", root=root / "b", url=url, manifest=manifest,
                           known_hash=f"sha256:{_sha256(archive)}", progress=False) == 0
    cached = tmp_path / "cache" / "downloads" / archives.get_cache_name(
        ARCHIVES["ravdess"].fname, url)
    assert cached.read_bytes() != old and (root / "b" / "ravdess" / "README.txt").is_file()
