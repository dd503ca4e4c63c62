"""Data root resolution and seeding."""
import numpy as np

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
