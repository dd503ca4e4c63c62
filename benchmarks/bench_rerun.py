"""Benchmark: one stored run made again, with the same code, on the machine at hand.

The book's CPU is a virtual machine of a fixed size (2 cores) whose hardware underneath
can change between sessions. This repeats a stored run's own ``fser train`` command (same
model, recipe, split, seed and epochs; :func:`fser_utils.training.run_config.describe_train_command`)
into ``--out`` and compares the two: pace (seconds per epoch), accuracy, and the first
epoch's training loss, which tells whether the arithmetic itself came out the same.
An existing finished run in ``--out`` is compared without training again.

Written to ``benchmarks/results/rerun.json``::

    python benchmarks/bench_rerun.py results/beyond_longer/logmel-cnn-spk-cnn-speaker-e60 \\
        --out /tmp/rerun    # about 2.5 minutes on the 2-core CPU of November 26
"""
from __future__ import annotations

import argparse
import datetime
import json
import shlex
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _describe(run) -> dict:
    s, m, h = run.load_settings(), run.load_metrics(), run.load_history()
    return {"hardware": s["hardware"], "date": s["date"], "code_commit": s.get("code_commit"),
            "seconds_per_epoch": m["seconds_per_epoch"],
            "train_minutes": m["train_seconds"] / 60,
            "val_accuracy": m["val_accuracy"], "test_accuracy": m["test_accuracy"],
            "first_epoch_loss": float(h["loss"].iloc[0])}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stored", help="a stored run folder (results/...)")
    parser.add_argument("--out", required=True, help="run folder for the new run")
    parser.add_argument("--result", default=str(HERE / "results" / "rerun.json"))
    args = parser.parse_args(argv)
    from fser_utils.cli import main as fser
    from fser_utils.training.run import Run
    from fser_utils.training.devices import describe_hardware
    from fser_utils.training.run_config import describe_train_command

    stored = Run(args.stored)
    command = describe_train_command(stored.load_settings())
    if "#" in command:
        raise SystemExit(f"the stored run changed its profile beyond the command line: {command}")
    rerun = Run(args.out)
    if not (rerun.path / "metrics.json").exists():
        status = fser(shlex.split(command)[1:] + ["--out", args.out, "--quiet"])
        if status:
            raise SystemExit(status)
    result = {
        "what": "a stored run's own fser train command, made again with the same code",
        "command": command,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hardware_now": describe_hardware(),
        "stored": {"run": stored.path.name, **_describe(stored)},
        "rerun": _describe(rerun),
    }
    result["pace_ratio"] = (result["stored"]["seconds_per_epoch"]
                            / result["rerun"]["seconds_per_epoch"])
    Path(args.result).write_text(json.dumps(result, indent=1) + "\n")
    print(f"{command}\nstored: {result['stored']['seconds_per_epoch']:.1f} s per epoch, "
          f"test {100 * result['stored']['test_accuracy']:.1f} %; again here: "
          f"{result['rerun']['seconds_per_epoch']:.1f} s per epoch, test "
          f"{100 * result['rerun']['test_accuracy']:.1f} %  -> {args.result}")
    return result


if __name__ == "__main__":
    main()
