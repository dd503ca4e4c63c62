"""Generators of small corpora in the official layouts, for tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
SAVEE_PREFIXES = ("a", "d", "f", "h", "n", "sa", "su")


def write_tone(path: Path, *, sr: int = 8000, duration: float = 0.1, channels: int = 1) -> Path:
    """A short quiet tone (not silence, so feature code accepts it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * duration)) / sr
    y = 0.1 * np.sin(2 * np.pi * 220 * t)
    if channels > 1:
        y = np.stack([y] * channels, axis=1)
    sf.write(path, y, sr)
    return path


def make_savee_fixture(root: Path, *, flat: bool = False) -> list[Path]:
    """SAVEE in its official layout: 4 speakers x (15 per emotion, 30 neutral) = 480 files."""
    paths = []
    for spk in SAVEE_SPEAKERS:
        for prefix in SAVEE_PREFIXES:
            for k in range(1, (30 if prefix == "n" else 15) + 1):
                name = f"{prefix}{k:02d}.wav"
                rel = f"{spk}_{name}" if flat else f"AudioData/{spk}/{name}"
                paths.append(write_tone(root / "savee" / rel, duration=0.02))
    return paths


def make_tiny_run(path: Path, *, pool: bool = True) -> Path:
    """A run folder with an untrained tiny model: enough to test the plumbing.

    ``pool=False`` flattens instead of pooling, so that every pixel reaches the output
    and any change of the image moves the probabilities.
    """
    import json

    import keras

    from fser_utils.data.corpora import EMOTIONS
    from fser_utils.features import FeatureSettings

    path.mkdir(parents=True, exist_ok=True)
    settings = FeatureSettings()
    keras.utils.set_random_seed(0)
    head = (keras.layers.GlobalAveragePooling2D() if pool else keras.layers.Flatten())
    model = keras.Sequential([
        keras.Input(shape=settings.shape),
        keras.layers.Conv2D(2 if pool else 4, 3 if pool else 4, strides=4, activation="relu"),
        head, keras.layers.Dense(len(EMOTIONS), activation="softmax")])
    model.save(path / "model.keras")
    (path / "settings.json").write_text(json.dumps({"profile": "tiny", "split": "paper",
                                                    "features": settings.asdict()}))
    from fser_utils.training.run import Run

    Run(path).sign_model()  # as a run written here: `fser predict` without a run finds it
    return path


def load_script(folder: str, name: str):
    """A script of the repository's ``folder`` (``benchmarks``, ``experiments``) as a module."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
