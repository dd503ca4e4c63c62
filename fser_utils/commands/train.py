"""``fser train``: train a registered model on the paper's corpora and write a run folder."""
from __future__ import annotations

import sys


def register(sub) -> None:
    from ..registry import DEFAULT_MODEL, MODELS
    from ..train import PROFILES

    parser = sub.add_parser(
        "train", help="train a model and write a run folder",
        description="Train a registered model on the paper's corpora found under the data "
                    f"root. Models: {', '.join(MODELS)} (default: {DEFAULT_MODEL}, the best "
                    "on unseen speakers in chapter 9). Each model has its own training "
                    "profile; --profile replaces it (ci: seconds, for tests; paper: the "
                    "paper's recipe).")
    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME",
                        help=f"model: {', '.join(MODELS)} (default: {DEFAULT_MODEL})")
    parser.add_argument("--profile", default=None, metavar="P",
                        help=f"training profile: {', '.join(PROFILES)} "
                             "(default: the model's own)")
    parser.add_argument("--features", default=None, metavar="KIND",
                        help="feature kind (default: the model's own)")
    parser.add_argument("--split", default="paper", metavar="S",
                        help="paper, speaker or corpus (default: paper)")
    parser.add_argument("--test-corpus", metavar="CORPUS",
                        help="corpus held out by --split corpus (e.g. emodb)")
    parser.add_argument("--root", help="data root (default: $FSER_DATA, else ./data)")
    parser.add_argument("--out", metavar="RUN_DIR",
                        help="run folder (default: runs/[MODEL-]PROFILE-SPLIT[-CORPUS][-sSEED])")
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
    from ..feature_kinds import get_feature_settings
    from ..train import load_run, make_run_config, train_model

    # check the cheap things before reading any audio or creating a folder
    if args.epochs is not None and args.epochs < 1:
        raise FserError("--epochs must be at least 1")
    overrides = {"epochs": args.epochs} if args.epochs is not None else None
    features = get_feature_settings(args.features) if args.features else None
    config = make_run_config(model=args.model, profile=args.profile, split=args.split,
                             test_corpus=args.test_corpus, seed=args.seed,
                             overrides=overrides, feature_settings=features)
    if args.split == "corpus" and not args.test_corpus:
        raise FserError("--split corpus needs --test-corpus (e.g. --test-corpus emodb)")
    if args.split != "corpus" and args.test_corpus:
        raise FserError("--test-corpus is only used with --split corpus")
    if args.test_corpus and args.test_corpus not in PAPER_CORPORA:
        raise FserError(f"unknown test corpus '{args.test_corpus}' "
                        f"(choose from: {', '.join(PAPER_CORPORA)})")

    catalogue = load_catalogue(args.root, corpora=PAPER_CORPORA)
    for line in describe_missing(catalogue):
        print(f"fser: note: {line}", file=sys.stderr)
    if catalogue.empty:
        raise FserError(f"no corpus found under {catalogue.attrs['root']}")
    tag = None if args.seed == 42 else f"s{args.seed}"
    run_dir = train_model(catalogue, model=config["spec"], profile=config["profile"],
                          split=args.split, test_corpus=args.test_corpus, out=args.out,
                          seed=args.seed, resume=not args.no_resume,
                          verbose=0 if args.quiet else 1, overrides=None,
                          feature_settings=config["feature_settings"], tag=tag)
    run = load_run(run_dir)
    m = run["metrics"]
    print(f"run written to {run_dir}  (model {config['spec'].name})")
    print(f"validation accuracy {m['val_accuracy']:.4f}  test accuracy {m['test_accuracy']:.4f}"
          f"  ({m['epochs_run']} epochs, best {m['best_epoch']}, "
          f"{m['train_seconds']:.0f} s on {run['settings']['hardware']})")
    return 0
