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


@pytest.fixture
def demo_train(demo_root, tmp_path, monkeypatch):
    """``fser train ... --quiet`` on the demo corpus, data and cache in ``tmp_path``."""
    from fser_utils.data import corpora
    from fser_utils.cli import build_parser, main

    # some commands read the corpus list when first imported: import them all before
    # pointing the list at the demo corpus, so that later tests see the real one
    build_parser()
    monkeypatch.setattr(corpora, "PAPER_CORPORA", ("demo",))
    monkeypatch.setenv("FSER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FSER_DATA", str(demo_root))
    return lambda *args: main(["train", *args, "--quiet"])
