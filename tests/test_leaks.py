"""Chapter 8's leak diagnostics on tiny synthetic data."""
import numpy as np
import pandas as pd
import pytest

from fser_utils.studies import leaks
from fser_utils.errors import FserError


def _split():
    split = pd.DataFrame({
        "relpath": [f"c{i}.wav" for i in range(6)],
        "speaker": ["a", "a", "b", "b", "a", "b"],
        "emotion": ["happy", "happy", "sad", "sad", "sad", "happy"],
        "part": ["train", "test", "train", "test", "test", "test"]})
    catalogue = pd.DataFrame({"relpath": split["relpath"],
                              "sentence": ["s1", "s1", "s2", "s3", "s1", "s2"]})
    return split, catalogue


def test_seen_mask_needs_speaker_sentence_and_emotion():
    split, catalogue = _split()
    seen = leaks.compute_seen_mask(split, catalogue)
    # c1 repeats c0 exactly; c3 has another sentence; c4 another emotion; c5 another emotion
    assert seen.to_dict() == {"c1.wav": True, "c3.wav": False, "c4.wav": False, "c5.wav": False}


def test_twin_accuracy_splits_the_test_clips():
    split, catalogue = _split()
    pred = pd.DataFrame({"relpath": ["c1.wav", "c3.wav", "c4.wav", "c5.wav"],
                         "emotion": ["happy", "sad", "sad", "happy"],
                         "predicted": ["happy", "sad", "happy", "sad"]})
    table = leaks.compute_twin_accuracy(pred, split, catalogue, n_boot=50).set_index("group")
    assert table.loc["twin in training", "n"] == 1
    assert table.loc["twin in training", "accuracy"] == pytest.approx(100)
    assert table.loc["no twin", "accuracy"] == pytest.approx(100 / 3)
    assert table.loc["all", "n"] == 4
    with pytest.raises(FserError, match="no prediction"):
        leaks.compute_twin_accuracy(pred.iloc[:2], split, catalogue, n_boot=10)


def test_nearest_neighbour_probe_finds_copies_only_when_augmenting_first():
    rng = np.random.default_rng(0)
    n = 40
    # clips whose pictures share nothing with their label: only memory can help
    images = rng.uniform(0, 1, size=(n, 16, 16, 3)).astype(np.float32)
    labels = rng.choice(["a", "b", "c", "d"], size=n)
    part = np.array(["train"] * 24 + ["val"] * 4 + ["test"] * 12)
    table = leaks.compute_nearest_neighbour_probe(images, labels, part, n_copies=3, pool=2,
                                                  n_boot=50, progress=False).set_index("arm")
    honest, leak = table.iloc[0], table.iloc[1]
    assert honest["same_clip"] == 0  # test clips never enter training honestly
    assert honest["n"] == 12 and honest["n_train"] == 24 * 4
    assert leak["same_clip"] > 50
    assert leak["accuracy"] > honest["accuracy"]
    with pytest.raises(FserError, match="pool factor"):
        leaks.compute_nearest_neighbour_probe(images, labels, part, n_copies=0, pool=5,
                                              progress=False)


def test_cli_twins_and_nn(demo_root, tmp_path, capsys):
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.cli import main
    from fser_utils.features import load_features
    from fser_utils.training.train import train_model

    cat = load_catalogue(demo_root, corpora=("demo",))
    X, kept = load_features(cat, progress=False)
    run = train_model(kept, X, model="fser", profile="ci", out=tmp_path / "run", verbose=0)
    assert main(["leak", "twins", str(run), "--root", str(demo_root), "--n-boot", "20"]) == 0
    out = capsys.readouterr().out
    assert "twin in training" in out and "no twin" in out
    assert main(["leak", "nn", "--root", str(demo_root), "--corpora", "demo", "--copies", "1",
                 "--n-boot", "20", "--quiet"]) == 0
    assert "augment before split (leak)" in capsys.readouterr().out
    assert main(["leak", "nn", "--root", str(tmp_path), "--quiet"]) == 2
    assert "no corpus found" in capsys.readouterr().err
