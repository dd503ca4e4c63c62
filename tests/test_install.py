"""Installed, not only cloned: a wheel in a fresh virtual environment, run from an empty folder.

One test walks the path of a new reader, in order (each step needs the previous one):

1. build a wheel of this checkout and make a fresh virtual environment without it;
2. run the chapters' set-up cell there, with no data root and the RAVDESS download URL
   pointed at a local HTTP server: it installs the wheel, downloads a small archive in
   RAVDESS's layout, checks it against a manifest and carries on;
3. ``fser data table``, ``fser train --profile ci`` and ``fser predict``;
4. chapters 1 and 7 executed end to end (``FSER_PROFILE=ci``);
5. nothing was written inside the installed package.

To stay fast and offline, the fresh environment finds the package's dependencies in
the test's own environment (a ``.pth`` file naming its site-packages: neither pip nor
TensorFlow is installed again) and pip runs with ``PIP_NO_INDEX``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
import soundfile as sf

from fixtures import write_tone
from test_download import server  # noqa: F401  (the local HTTP server fixture)

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.install

#: RAVDESS codes: 8 emotions; neutral has the normal intensity only
EMOTION_CODES = range(1, 9)


def _make_ravdess_archive(www: Path, stage: Path) -> tuple[Path, Path]:
    """A zip in RAVDESS's layout (6 actors, 180 short tones) and its sha256 manifest."""
    rels = []
    for actor in range(1, 7):
        for emotion in EMOTION_CODES:
            for intensity in (1,) if emotion == 1 else (1, 2):
                for statement in (1, 2):
                    rels.append(f"Actor_{actor:02d}/03-01-{emotion:02d}-{intensity:02d}-"
                                f"{statement:02d}-01-{actor:02d}.wav")
    lines = []
    archive = www / "Audio_Speech_Actors_01-24.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for rel in rels:
            path = write_tone(stage / rel, sr=16000, duration=0.8)
            zf.write(path, rel)
            lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {rel}")
    manifest = stage.parent / "ravdess_manifest.txt"
    manifest.write_text("\n".join(lines) + "\n")
    return archive, manifest


def _fresh_venv(where: Path) -> tuple[Path, Path]:
    """A virtual environment without fser_utils that sees this one's dependencies."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # a path named in a .pth file is importable, but its own .pth files (this checkout's
    # editable install among them) are not run: fser_utils stays missing
    (site / "_fser_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, site


def _list_files(folder: Path) -> set:
    # byte code that the interpreter caches is not something the package writes
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def _run(cmd, *, env, cwd, timeout=600) -> str:
    started = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{cmd} failed:\n{out[-4000:]}"
    print(f"{' '.join(str(c) for c in cmd)[:80]}: {time.perf_counter() - started:.1f} s")
    return out


def _setup_cell(chapter: str) -> str:
    nb = nbformat.read(REPO / "book" / chapter, as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code")


def test_wheel_in_fresh_venv(tmp_path, server):  # noqa: F811
    www = tmp_path / "www"  # what the server fixture serves
    archive, manifest = _make_ravdess_archive(www, tmp_path / "stage")

    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", wheels, REPO], env=os.environ, cwd=tmp_path)
    wheel = next(wheels.glob("fser_utils-*.whl"))
    python, site = _fresh_venv(tmp_path / "venv")
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FSER_", "XDG_", "PYTHON", "JUPYTER", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), PATH=f"{python.parent}:{env['PATH']}", MPLBACKEND="Agg",
               PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", FSER_PROFILE="ci",
               TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")

    # 2. the set-up cell: installs, downloads, verifies, carries on
    cell_env = {**env, "FSER_PIP_SOURCE": str(wheel), "FSER_DOWNLOAD": "ravdess",
                "FSER_DOWNLOAD_URL_RAVDESS": f"{server}/{archive.name}",
                "FSER_DOWNLOAD_MANIFEST_RAVDESS": str(manifest)}
    assert not (site / "fser_utils").exists()
    out = _run([python, "-c", _setup_cell("01_corpora.ipynb") + "\nprint(chapter.data_root)"],
               env=cell_env, cwd=work)
    data_root = home / ".local" / "share" / "fser" / "data"
    assert (site / "fser_utils" / "chapter.py").is_file()
    assert "ravdess: OK, all 180 of 180 files match" in out
    assert f"data root: {data_root} (downloaded ravdess; FSER_DATA set)" in out
    assert "device: CPU only" in out and "training profile: ci, from $FSER_PROFILE" in out
    assert len(list((data_root / "ravdess").rglob("*.wav"))) == 180
    installed = _list_files(site / "fser_utils")
    assert "stored/benchmarks/results/training.json" in installed  # chapter 5 reads it
    assert any(f.startswith("stored/results/beyond/") for f in installed)  # chapter 9
    assert any(f.startswith("stored/results/beyond_gpu/") for f in installed)  # chapter 9, GPU
    assert any(f.startswith("stored/results/beyond_longer/") for f in installed)  # 9, CPU
    assert any(f.startswith("stored/results/paper_recipe/") for f in installed)  # chapters 7, 8
    assert any(f.startswith("stored/results/splits/") for f in installed)  # runs' split.json
    assert any(f.startswith("stored/results/converged/") for f in installed)  # chapter 8
    assert any(f.startswith("stored/results/confirmation/") for f in installed)  # chapter 11
    assert any(f.startswith("stored/results/experiments/") for f in installed)  # chapter 10

    # the shipped recognizer scores at once, with no corpora and no run: the command and
    # the API, in a folder that holds nothing (FSER_DATA unset, no runs folder yet)
    assert any(f.startswith("pretrained/") and f.endswith("model.onnx") for f in installed)
    empty = tmp_path / "empty"
    empty.mkdir()
    voice = empty / "voice.wav"
    t = np.arange(3 * 16000) / 16000
    sf.write(voice, (0.3 * np.sin(2 * np.pi * 200 * t * (1 + 0.05 * np.sin(10 * t)))), 16000)
    out = _run([python.parent / "fser", "predict", voice, "--json"], env=env, cwd=empty)
    payload = json.JSONDecoder().raw_decode(out[out.index("{"):])[0]  # stderr follows
    assert payload["version"].startswith("fser-") and payload["predictions"][0]["emotion"]
    out = _run([python, "-c", "from fser_utils.scoring.recognizer import Recognizer; "
                "t = Recognizer.pretrained().predict('voice.wav'); "
                "print(t.loc[0, 'label'], t.loc[0, 'version'])"], env=env, cwd=empty)
    assert payload["predictions"][0]["emotion"] in out and payload["version"] in out
    # the wheel stays small: 30 MB, of which 1.5 MB is the shipped graph and the rest the
    # chapters' stored results (each distinct split once, in results/splits; the held-out-
    # corpus runs without their validation predictions); no models or audio
    assert wheel.stat().st_size < 32e6, wheel.stat().st_size

    # 3. the command line, from the empty folder, with the default data root
    out = _run([python.parent / "fser", "data", "table"], env=env, cwd=work)
    assert "ravdess" in out.lower()
    out = _run([python.parent / "fser", "train", "--profile", "ci", "--quiet"],
               env=env, cwd=work)
    run_dir = Path(re.search(r"run written to (\S+)", out).group(1))
    assert run_dir.parent == home / ".local" / "share" / "fser" / "runs"
    clip = next((data_root / "ravdess").rglob("*.wav"))
    out = _run([python.parent / "fser", "predict", clip, "--run", run_dir], env=env, cwd=work)
    assert clip.name in out

    # 4. chapters 1 and 7, copied out of the checkout and executed in the fresh venv (its
    # own kernel spec, so that no kernel of another environment is picked up)
    _run([python, "-m", "ipykernel", "install", "--sys-prefix"], env=env, cwd=work)
    for chapter in ("01_corpora.ipynb", "07_robustness.ipynb"):
        shutil.copy(REPO / "book" / chapter, work / chapter)
        _run([python, "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace",
              "--ExecutePreprocessor.timeout=600", "--ExecutePreprocessor.kernel_name=python3",
              chapter], env={**env, "FSER_DATA": str(data_root)}, cwd=work)
        nb = nbformat.read(work / chapter, as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                  if o.output_type == "error"]
        assert not errors
        setup_cell = next(c for c in nb.cells if c.cell_type == "code")
        first = "".join(o.get("text", "") for o in setup_cell.outputs)
        assert f"data root: {data_root}" in first, first

    # 5. the package is as pip installed it; everything else went to the user's folders
    assert _list_files(site / "fser_utils") == installed
    assert sorted(p.name for p in (home / ".local" / "share" / "fser").iterdir()) == \
        ["data", "runs"]
    assert (home / ".cache" / "fser").is_dir()
