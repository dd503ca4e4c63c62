"""The registry marks the models a user should pick; fser train --help shows only those."""
import re

import pytest


def test_public_models_are_the_ones_the_book_recommends():
    from fser_utils.studies.stored_comparison import compute_best_per_speaker_model
    from fser_utils.models.registry import DEFAULT_MODEL, MODELS, list_public_models

    public = list_public_models()
    assert public == ["fser", "logmel-cnn-warp", "logmel-cnn-wide-spk", "svm-egemaps",
                      "svm-compare-spk"]
    assert DEFAULT_MODEL in public and len(public) < len(MODELS)
    # chapter 9's best per-speaker model, by validation, is among them
    assert compute_best_per_speaker_model("speaker")["model"] in public


def test_train_help_lists_public_models_and_says_how_to_list_all(capsys, monkeypatch):
    from fser_utils.cli import main
    from fser_utils.models.registry import MODELS, list_public_models
    from fser_utils.training.profiles import PROFILES

    monkeypatch.setenv("COLUMNS", "2000")  # argparse wraps lines at hyphens otherwise
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--list-models" in help_text
    # the names --model offers, and those in the description, before their defaults
    offered = help_text.split("--model NAME model: ")[1].split(" (default")[0].split(", ")
    described = help_text.split("Models: ")[1].split(" (default")[0].split(", ")
    assert offered == described == list_public_models()
    hidden = set(MODELS) - set(offered)
    assert "logmel-cnn-adv-ramp" in hidden
    for name in hidden:
        assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", help_text), name


def test_train_list_models_prints_every_variant(capsys):
    from fser_utils.cli import main
    from fser_utils.models.registry import MODELS

    assert main(["train", "--list-models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "public" in lines[0]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == set(MODELS)
    assert "yes" in rows["logmel-cnn-warp"] and "yes" not in rows["logmel-cnn-adv-ramp"]
