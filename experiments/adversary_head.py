"""Experiment (chapter 10): does an adversarial run's speaker head learn when nothing pushes back?

``logmel-cnn-adv`` and its variants train a speaker classifier on the network's pooled
features while a gradient reversal lets the network fight it; in every stored run that
classifier's loss sat at chance. This control trains the same pair with the reversal's
weight at 1e-9 (the network ignores the classifier) and asks how far the classifier gets
on its own, at its usual learning rate and at ``speedup`` times it
(``ModelSpec.adversary_speedup``, the obvious way to build a stronger adversary).
Everything else is ``logmel-cnn``'s recipe on the speaker split, seed 42.

Each arm is a run folder under ``--work`` (resumed if interrupted); the per-epoch speaker
loss, the chance level (the entropy of the training speakers' shares) and the emotion
validation accuracy go to ``results/experiments/adversary_head.json``::

    python experiments/adversary_head.py --work DIR --root DATA_ROOT [--arms 1:12,3:12]
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np

# _common sits beside the script; the tests load the script by its path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS  # noqa: E402
#: (speedup, epochs) of each arm
DEFAULT_ARMS = ((1.0, 12), (3.0, 12), (10.0, 12), (1.0, 120))
#: a reversal this weak leaves the network to its emotion loss alone
NO_PUSH = 1e-9


def compute_speaker_entropy(speakers) -> float:
    """Cross-entropy [nats] of always answering with the speakers' shares: the loss of a
    speaker classifier that has learned nothing from its input."""
    counts = np.unique(np.asarray(speakers), return_counts=True)[1]
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def parse_arms(text: str):
    """``"1:12,3:12"`` -> ``[(1.0, 12), (3.0, 12)]``."""
    try:
        return [(float(a.split(":")[0]), int(a.split(":")[1])) for a in text.split(",")]
    except (ValueError, IndexError):
        raise SystemExit(f"--arms takes SPEEDUP:EPOCHS pairs separated by commas, not {text!r}")


def run_arm(catalogue, work: Path, speedup: float, epochs: int, *, seed: int = 42) -> dict:
    """Train one arm (or finish it) and summarise its history."""
    from fser_utils.models.registry import ModelSpec, get_model_spec
    from fser_utils.training.run import Run
    from fser_utils.training.train import train_model

    base = get_model_spec("logmel-cnn")
    name = f"logmel-cnn-listen-x{speedup:g}"
    # passed to training as it is, not registered: the registry keeps its own models
    spec = ModelSpec(name, base.build, features=base.features, profile=base.profile,
                             params=base.params, speaker_adversary=NO_PUSH,
                             adversary_speedup=speedup,
                             description="a speaker classifier that does not push back")
    out = work / f"{name}-e{epochs}-s{seed}"
    train_model(catalogue, model=spec, split="speaker", seed=seed,
                overrides={"epochs": epochs}, out=out, verbose=0)
    run = Run(out)
    history, metrics = run.load_history(), run.load_metrics()
    split = run.load_split()
    train_speakers = split.loc[split["part"] == "train", "speaker"].astype(str)
    return {"speedup": speedup, "epochs": epochs, "seed": seed, "run": out.name,
            "chance": compute_speaker_entropy(train_speakers),
            "speaker_loss": [float(v) for v in history["speaker_loss"]],
            "val_accuracy": float(metrics["val_accuracy"]),
            "train_seconds": float(metrics["train_seconds"])}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, help="folder for the arms' run folders")
    parser.add_argument("--root", help="data root (default: as fser finds it)")
    parser.add_argument("--arms", help="SPEEDUP:EPOCHS pairs, e.g. 1:12,10:12 "
                        "(default: 1:12,3:12,10:12,1:120)")
    parser.add_argument("--corpora", help="comma-separated corpora (default: the paper's)")
    parser.add_argument("--result", default=str(RESULTS / "adversary_head.json"))
    args = parser.parse_args(argv)
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.training.devices import describe_hardware

    arms = parse_arms(args.arms) if args.arms else DEFAULT_ARMS
    catalogue = (load_catalogue(args.root, corpora=args.corpora.split(",")) if args.corpora
                 else load_catalogue(args.root))
    rows = []
    for speedup, epochs in arms:
        rows.append(run_arm(catalogue, Path(args.work), speedup, epochs))
        r = rows[-1]
        print(f"speedup {speedup:g}, {epochs} epochs: speaker loss {r['speaker_loss'][-1]:.2f} "
              f"nats at the end (chance {r['chance']:.2f}), emotion validation accuracy "
              f"{100 * r['val_accuracy']:.1f} %")
    now = datetime.datetime.now(datetime.timezone.utc)
    result = {"date": now.isoformat(timespec="seconds"), "hardware": describe_hardware(),
              "reversal_weight": NO_PUSH, "arms": rows}
    from fser_utils.atomic import write_text_atomic

    write_text_atomic(args.result, json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
