"""Chapter 8's full-budget runs on a GPU machine that has no corpora.

The features are computed here (``load_features``) and carried as uint8 images with
the catalogue; the machine runs the package's own training code on them:

    python tools/gpu/device_paper_recipe.py export DIR          # here: features + catalogue
    python tools/gpu/device_paper_recipe.py honest DIR RUNS     # there: fser train --profile paper
    python tools/gpu/device_paper_recipe.py pooled DIR RUNS     # there: fser leak pooled
    python tools/gpu/device_paper_recipe.py timing DIR OUT.json # there: fit vs resident loop

``honest`` and ``pooled`` are what ``fser train --model fser --profile paper --loop
resident`` and ``fser leak pooled --loop resident`` do, minus reading the audio.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def export(folder: Path) -> None:
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.data.corpora import PAPER_CORPORA
    from fser_utils.features import load_features

    X, kept = load_features(load_catalogue(corpora=PAPER_CORPORA), progress=False)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "features.npz", X=np.rint(X * 255).astype(np.uint8))
    kept.to_csv(folder / "catalogue.csv", index=False)


def load_carried_catalogue(folder: Path) -> pd.DataFrame:
    """The catalogue written next to carried features (also read by device_beyond.py)."""
    cat = pd.read_csv(folder / "catalogue.csv", dtype={"speaker": str, "sentence": str,
                                                       "take": str})
    cat.attrs["root"] = "(features computed elsewhere, carried to this machine)"
    return cat


def load(folder: Path):
    X = np.load(folder / "features.npz")["X"].astype(np.float32) / 255.0
    return X, load_carried_catalogue(folder)


def honest(folder: Path, runs: Path, seed: int = 42) -> None:
    from fser_utils.training.train import train_model

    X, cat = load(folder)
    train_model(cat, X, model="fser", profile="paper", split="paper", seed=seed,
                out=runs / ("fser-paper-paper-gpu" + ("" if seed == 42 else f"-s{seed}")),
                loop="resident", verbose=1)


def pooled(folder: Path, runs: Path) -> None:
    from fser_utils.studies.pooled_arm import train_pooled_arm

    X, cat = load(folder)
    train_pooled_arm(cat, X, out=runs / "leak-pooled-paper-gpu", profile="paper",
                     loop="resident", verbose=1)


def timing(folder: Path, out: Path, repeats: int = 3) -> None:
    """Seconds per epoch of the paper's recipe: Keras ``fit`` against the resident loop."""
    import keras

    from fser_utils.training.augment import build_augmenter, compute_augmented_images
    from fser_utils.models.paper_cnn import build_fser
    from fser_utils.training.resident import fit_resident

    X, cat = load(folder)
    y = pd.Categorical(cat["emotion"]).codes.astype(np.int64)
    rng = np.random.default_rng(0)
    fit_idx = rng.permutation(len(X))[:1640]
    Xa, src = compute_augmented_images(X[fit_idx], n_copies=20, progress=False,
                                       augmenter=build_augmenter(seed=0))
    ya = y[fit_idx][src]
    data = {"X_train": Xa, "y_train": ya, "X_val": X[:256], "y_val": y[:256],
            "X_test": X[256:512], "y_test": y[256:512]}
    result = {"n_images": int(len(Xa)), "batch_size": 64, "device": keras.backend.backend()}
    model = build_fser()
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    times = []
    for _ in range(repeats + 1):  # the first epoch compiles
        t0 = time.perf_counter()
        model.fit(Xa, keras.utils.to_categorical(ya, 8), batch_size=64, epochs=1, verbose=0,
                  validation_data=(data["X_val"], keras.utils.to_categorical(data["y_val"], 8)))
        times.append(time.perf_counter() - t0)
    result["fit_seconds_per_epoch"] = float(np.median(times[1:]))
    result["fit_first_epoch_seconds"] = times[0]
    model = build_fser()
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="categorical_crossentropy")
    history = fit_resident(model, data, epochs=repeats + 1, batch_size=64, seed=0,
                           progress=False)["history"]
    seconds = np.diff(np.concatenate([[0.0], history["seconds"].to_numpy()]))
    result["resident_seconds_per_epoch"] = float(np.median(seconds[1:]))
    result["resident_first_epoch_seconds"] = float(seconds[0])
    print(times, seconds.tolist(), flush=True)
    result["speed_up"] = result["fit_seconds_per_epoch"] / result["resident_seconds_per_epoch"]
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    job, *args = sys.argv[1:]
    {"export": export, "honest": honest, "pooled": pooled, "timing": timing}[job](
        *[Path(a) for a in args])
