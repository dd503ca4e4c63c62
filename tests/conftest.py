"""Shared fixtures: the demo corpus, and the real corpora when a data root holds them."""
from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    """A data root holding the synthetic demo corpus (made once per session)."""
    from fser_utils.data.demo import make_demo_corpus

    root = tmp_path_factory.mktemp("demo_root")
    make_demo_corpus(root)
    return root


@pytest.fixture(scope="session")
def real_root():
    """The configured data root ($FSER_DATA) if it holds the real corpora, else skip."""
    from fser_utils.config import get_data_root

    root = get_data_root()
    if not (root / "ravdess").is_dir():
        pytest.skip(f"real corpora not found under {root} (set FSER_DATA)")
    return root


@pytest.fixture(scope="session")
def real_catalogue(real_root):
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.data.corpora import EXTRA_CORPORA, PAPER_CORPORA

    return load_catalogue(real_root, corpora=PAPER_CORPORA + EXTRA_CORPORA)


@pytest.fixture(autouse=True)
def _quiet_tf(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A run folder with an untrained tiny model: enough to test the plumbing."""
    from fixtures import make_tiny_run

    return make_tiny_run(tmp_path_factory.mktemp("runs") / "tiny-paper")
