"""Data root resolution and seeding."""
import re

import numpy as np
import pytest

from fser_utils import config


def test_data_root_order(tmp_path, monkeypatch):
    monkeypatch.delenv("FSER_DATA", raising=False)
    assert config.get_data_root() == config.REPO_ROOT / "data"
    monkeypatch.setenv("FSER_DATA", str(tmp_path))
    assert config.get_data_root() == tmp_path.resolve()
    assert config.get_data_root(tmp_path / "x") == (tmp_path / "x").resolve()


def test_setup_makes_numpy_repeatable():
    config.setup(7)
    a = np.random.rand(3)
    config.setup(7)
    assert np.array_equal(a, np.random.rand(3))


def test_profile_from_environment(monkeypatch):
    monkeypatch.delenv("FSER_PROFILE", raising=False)
    assert config.get_profile() == "ci"
    monkeypatch.setenv("FSER_PROFILE", "cpu")
    assert config.get_profile() == "cpu"


def test_installed_defaults_follow_the_platform(tmp_path, monkeypatch):
    """Installed (no checkout): data, runs and cache go to the user's folders."""
    for name in ("FSER_DATA", "FSER_CACHE", "FSER_RUNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(config, "CHECKOUT", None)
    assert config.get_data_root() == tmp_path / "share" / "fser" / "data"
    assert config.get_runs_dir() == (tmp_path / "share" / "fser" / "runs").resolve()
    assert config.get_cache_dir() == (tmp_path / "cache" / "fser").resolve()
    assert (tmp_path / "cache" / "fser").is_dir()
    monkeypatch.setenv("FSER_RUNS", str(tmp_path / "elsewhere"))
    assert config.get_runs_dir() == (tmp_path / "elsewhere").resolve()


def test_checkout_defaults_stay_in_the_repository(monkeypatch):
    monkeypatch.delenv("FSER_DATA", raising=False)
    assert config.CHECKOUT is not None and (config.CHECKOUT / "pyproject.toml").is_file()
    assert config.get_data_root() == config.CHECKOUT / "data"
    assert config.RESULTS_ROOT == config.REPO_ROOT == config.CHECKOUT


def test_stored_results_are_found():
    assert config.get_stored_path("benchmarks/results/training.json").is_file()
    assert config.get_stored_path("results/beyond").is_dir()
    with pytest.raises(FileNotFoundError, match="no stored result 'nothing.json'"):
        config.get_stored_path("nothing.json")


def test_repository_url_is_one_setting():
    """pyproject.toml sets it; README, intro, _config.yml and every set-up cell repeat it."""
    import nbformat

    url = config.get_repository_url()
    assert url.startswith("https://")
    root = config.CHECKOUT
    for name in ("README.md", "book/intro.md", "_config.yml"):
        assert url in (root / name).read_text(), name
    for path in sorted((root / "book").glob("*.ipynb")):
        cell = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert f'"git+{url}"' in cell.source, path.name
        assert "setup_chapter(" in cell.source and "hide-input" in cell.metadata["tags"]
    # no other repository address left behind
    for name in ("README.md", "book/intro.md", "_config.yml"):
        others = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", (root / name).read_text()))
        assert others <= {url}, (name, others)


def test_setup_cell_stops_in_one_line_on_the_placeholder(tmp_path):
    """Without the package and with the placeholder address, the set-up cell says how to
    install it in one line and stops, instead of failing inside pip."""
    import subprocess
    import sys

    import nbformat

    cell = next(c for c in nbformat.read(config.CHECKOUT / "book" / "01_corpora.ipynb",
                                         as_version=4).cells if c.cell_type == "code")
    env = {k: v for k, v in __import__("os").environ.items() if k != "FSER_PIP_SOURCE"}
    # -S -I: no site-packages, so fser_utils is missing as in a fresh Colab
    done = subprocess.run([sys.executable, "-S", "-I", "-c", cell.source], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        done.stderr.strip()] and "FSER_PIP_SOURCE" in done.stderr
    assert "pip" not in done.stderr.replace("FSER_PIP_SOURCE", "")
