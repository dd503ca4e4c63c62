"""``fser train``: train FSER on the paper's corpora and write a run folder."""
from __future__ import annotations

import sys


def register(sub) -> None:
    from ..train import PROFILES

    parser = sub.add_parser(
        "train", help="train FSER and write a run folder",
        description="Train FSER on the paper's corpora found under the data root. "
                    "Profiles: ci (seconds, for tests), cpu (about ten minutes on two "
                    "cores), paper (the paper's recipe; meant for a GPU), fast (our "
                    "recipe for one GPU).")
    parser.add_argument("--profile", default="cpu", metavar="P",
                        help=f"training profile: {', '.join(PROFILES)} (default: cpu)")
    parser.add_argument("--split", default="paper", metavar="S",
                        help="paper, speaker or corpus (default: paper)")
    parser.add_argument("--test-corpus", metavar="CORPUS",
                        help="corpus held out by --split corpus (e.g. emodb)")
    parser.add_argument("--root", help="data root (default: $FSER_DATA, else ./data)")
    parser.add_argument("--out", metavar="RUN_DIR",
                        help="run folder (default: runs/PROFILE-SPLIT[-CORPUS])")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    parser.add_argument("--epochs", type=int, help="override the profile's number of epochs")
    parser.add_argument("--no-resume", action="store_true",
                        help="start afresh even if RUN_DIR holds an interrupted run")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run_train)


def run_train(args) -> int:
    from ..catalogue import describe_missing, load_catalogue
    from ..corpora import PAPER_CORPORA
    from ..errors import FserError
    from ..splits import SPLIT_KINDS
    from ..train import get_training_profile, load_run, train_model

    # check the cheap things before reading any audio
    get_training_profile(args.profile)
    if args.split not in SPLIT_KINDS:
        raise FserError(f"unknown split '{args.split}' (choose from: {', '.join(SPLIT_KINDS)})")
    if args.split == "corpus" and not args.test_corpus:
        raise FserError("--split corpus needs --test-corpus (e.g. --test-corpus emodb)")
    if args.split != "corpus" and args.test_corpus:
        raise FserError("--test-corpus is only used with --split corpus")
    if args.epochs is not None and args.epochs < 1:
        raise FserError("--epochs must be at least 1")

    catalogue = load_catalogue(args.root, corpora=PAPER_CORPORA)
    for line in describe_missing(catalogue):
        print(f"fser: note: {line}", file=sys.stderr)
    if catalogue.empty:
        raise FserError(f"no corpus found under {catalogue.attrs['root']}")
    overrides = {"epochs": args.epochs} if args.epochs is not None else None
    run_dir = train_model(catalogue, profile=args.profile, split=args.split,
                          test_corpus=args.test_corpus, out=args.out, seed=args.seed,
                          resume=not args.no_resume, verbose=0 if args.quiet else 1,
                          overrides=overrides)
    run = load_run(run_dir)
    m = run["metrics"]
    print(f"run written to {run_dir}")
    print(f"validation accuracy {m['val_accuracy']:.4f}  test accuracy {m['test_accuracy']:.4f}"
          f"  ({m['epochs_run']} epochs, best {m['best_epoch']}, "
          f"{m['train_seconds']:.0f} s on {run['settings']['hardware']})")
    return 0
