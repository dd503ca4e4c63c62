"""Chapter 9's GPU runs: registered network models trained longer than the CPU allows.

The lent GPU machine has no corpora, so the features are computed here and carried as
8-bit log-mel (steps of 0.31 dB; the cache holds float16) with their catalogue. There the
package's own ``train_model`` runs on them, exactly as ``fser train --model MODEL
--split SPLIT --seed SEED --epochs EPOCHS`` would, minus reading the audio:

    python tools/gpu/device_beyond.py export DIR                          # here
    python tools/gpu/device_beyond.py train DIR RUNS MODEL SPLIT SEED EPOCHS  # there
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

FEATURES = "logmel"


def export(folder: Path) -> None:
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.data.corpora import PAPER_CORPORA
    from fser_utils.features.kinds import get_feature_settings
    from fser_utils.features import load_features

    X, kept = load_features(load_catalogue(corpora=PAPER_CORPORA),
                            get_feature_settings(FEATURES), progress=False)
    # the network's input is (dB + 40) / 40, so [-80, 0] dB is [-1, 1]
    q = np.rint((np.clip(X, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / f"{FEATURES}.npz", X=q)
    kept.to_csv(folder / "catalogue.csv", index=False)


def load(folder: Path):
    from device_paper_recipe import load_carried_catalogue  # its neighbour in tools/gpu/

    X = np.load(folder / f"{FEATURES}.npz")["X"].astype(np.float32) / 127.5 - 1.0
    return X, load_carried_catalogue(folder)


def train(folder: Path, runs: Path, model: str, split: str, seed: str, epochs: str) -> None:
    from fser_utils.training.run_config import RunConfig
    from fser_utils.training.run_names import find_run_for_config
    from fser_utils.training.train import train_model

    X, cat = load(folder)
    config = RunConfig(model=model, split=split, seed=int(seed),
                       overrides={"epochs": int(epochs)})
    # the stored scheme (make_stored_run_name): epochs only where they differ from the recipe
    tag = "gpu" + ("" if int(seed) == 42 else f"-s{seed}")
    train_model(cat, X, config=config, out=find_run_for_config(config, tag=tag, runs_dir=runs).path,
                verbose=1)


if __name__ == "__main__":
    job, *args = sys.argv[1:]
    if job == "export":
        export(Path(args[0]))
    elif job == "train":
        train(Path(args[0]), Path(args[1]), *args[2:])
    else:
        raise SystemExit(f"unknown job {job!r} (export, train)")
