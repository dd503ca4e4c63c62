"""``fser leak twins|nn|pooled|select-on-test|combinations``: chapter 8's diagnostics of a
random split."""
from __future__ import annotations

from fser_utils.config import ROOT_HELP

from fser_utils.data.corpora import PAPER_CORPORA


def register(sub) -> None:
    parser = sub.add_parser(
        "leak", help="how much a random split can flatter a model (chapter 8)",
        description="twins: accuracy of a run on test clips whose speaker, sentence and emotion "
                    "also occur in training, against the others (arm c). nn: a "
                    "1-nearest-neighbour probe with the paper's augmentation applied after the "
                    "split (honest) and before it (arm d). pooled: the network trained with the "
                    "augmentation applied before the split (arm a). select-on-test: the epoch "
                    "with the best test accuracy instead of the best validation accuracy "
                    "(arm b). combinations: every combination of the arms that two runs "
                    "trained with --log-test allow, and the fewest that reach 95.05 %.")
    kinds = parser.add_subparsers(dest="diagnostic", required=True, metavar="DIAGNOSTIC")
    twins = kinds.add_parser("twins", help="accuracy on test clips with and without a twin")
    twins.add_argument("run_dir", metavar="RUN_DIR", help="a finished run folder")
    nn = kinds.add_parser("nn", help="nearest-neighbour probe on the paper's features")
    nn.add_argument("--copies", type=int, default=20, help="augmented copies per clip (20)")
    nn.add_argument("--pool", type=int, default=4,
                    help="average-pool block size before distances (4: 64x64 -> 16x16)")
    nn.add_argument("--seed", type=int, default=42, help="split and augmentation seed (42)")
    nn.add_argument("--quiet", action="store_true", help="no progress bars")
    pooled = kinds.add_parser(
        "pooled", help="arm (a): train with the paper's augmentation applied before the split")
    pooled.add_argument("--profile", default="paper",
                        help="training profile of the recipe (default: paper; converge: "
                             "Adam until training accuracy levels off)")
    pooled.add_argument("--epochs", type=int, help="override the profile's epochs")
    pooled.add_argument("--seed", type=int, default=42, help="pool and split seed (42)")
    pooled.add_argument("--out", metavar="RUN_DIR",
                        help="run folder (default: runs/leak-pooled-PROFILE[-sSEED], the seed "
                             "when it is not 42)")
    pooled.add_argument("--loop", default="fit", choices=("fit", "resident"),
                        help="training loop (resident: needs KERAS_BACKEND=jax)")
    pooled.add_argument("--log-test", action="store_true",
                        help="log every epoch's accuracy on the pooled test images in the "
                             "history (never used to choose anything; drawn against training "
                             "accuracy by plotting.plot_leak_curves)")
    pooled.add_argument("--quiet", action="store_true", help="no progress bars")
    select = kinds.add_parser(
        "select-on-test", help="arm (b): the epoch with the best test accuracy, from a run "
                               "trained with --log-test or --loop resident")
    select.add_argument("run_dir", metavar="RUN_DIR", help="a finished run folder")
    combos = kinds.add_parser(
        "combinations", help="the arms alone and combined, and the fewest that reach the "
                             "paper's 95.05 %%")
    combos.add_argument("honest_run", metavar="HONEST_RUN",
                        help="a finished paper-split run of the paper's CNN, with --log-test")
    combos.add_argument("pooled_run", metavar="POOLED_RUN",
                        help="a finished run of 'fser leak pooled' with --log-test; its test "
                             "predictions are written into it if it has none")
    combos.add_argument("--quiet", action="store_true", help="no progress bars")
    for p in (nn, pooled):
        p.add_argument("--corpora", default=",".join(PAPER_CORPORA),
                       help="comma-separated corpus names (default: the paper's)")
    for p in (twins, nn, pooled, combos):
        p.add_argument("--root", help=ROOT_HELP)
        p.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples (2000)")
    select.set_defaults(n_boot=1)
    parser.set_defaults(func=run_leak)


def _corpora(args) -> list:
    return [c.strip() for c in args.corpora.split(",") if c.strip()]


def _catalogue(root, corpora):
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.errors import FserError

    cat = load_catalogue(root, corpora=tuple(corpora))
    if cat.empty:
        raise FserError(f"no corpus found under {cat.attrs['root']} "
                        f"(looked for {', '.join(corpora)})")
    return cat


def run_leak(args) -> int:
    import pandas as pd

    from fser_utils.studies import leaks
    from fser_utils.errors import FserError

    if args.n_boot < 1:
        raise FserError(f"--n-boot must be at least 1 (got {args.n_boot})")
    if args.diagnostic == "select-on-test":
        from fser_utils.training.run import Run

        run = Run.open(args.run_dir, finished=True)
        table = leaks.compute_select_on_test(run.load_history(), run.count_clips("test"))
    elif args.diagnostic == "pooled":
        table = _train_pooled(args)
    elif args.diagnostic == "combinations":
        table = _combinations(args)
    elif args.diagnostic == "twins":
        from fser_utils.training.run import Run

        run = Run.open(args.run_dir, finished=True)
        pred, split = run.load_predictions(), run.load_split()
        cat = _catalogue(args.root, run.load_settings().get("corpora", PAPER_CORPORA))
        table = leaks.compute_twin_accuracy(pred, split, cat, n_boot=args.n_boot)
    else:
        from fser_utils.features import load_features
        from fser_utils.data.splits import make_split

        if args.copies < 0 or args.pool < 1:
            raise FserError("--copies must be >= 0 and --pool >= 1")
        cat = _catalogue(args.root, _corpora(args))
        X, kept = load_features(cat, progress=not args.quiet)
        part = make_split(kept, kind="paper", seed=args.seed)
        table = leaks.compute_nearest_neighbour_probe(
            X, kept["emotion"], part, n_copies=args.copies, pool=args.pool, seed=args.seed,
            n_boot=args.n_boot, progress=not args.quiet)
    with pd.option_context("display.width", 120):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    return 0


def _train_pooled(args):
    import pandas as pd

    from fser_utils.config import get_runs_dir
    from fser_utils.errors import FserError
    from fser_utils.features import load_features
    from fser_utils.studies.evaluate import rename_old_interval_names
    from fser_utils.studies.pooled_arm import make_pooled_config, train_pooled_arm
    from fser_utils.training.profiles import list_old_names, name_profile
    from fser_utils.training.run import Run
    from fser_utils.training.train import check_train_options

    if args.epochs is not None and args.epochs < 1:
        raise FserError("--epochs must be at least 1")
    overrides = {"epochs": args.epochs} if args.epochs is not None else None
    # seeds get folders of their own, so that a second seed never clears the first
    seed = f"-s{args.seed}" if args.seed != 42 else ""
    profile = name_profile(args.profile)
    # an arm trained under the profile's old name is resumed or reused, not trained again
    runs = get_runs_dir()
    names = [f"leak-pooled-{p}{seed}" for p in (profile, *list_old_names(profile))]
    out = args.out or next((runs / n for n in names if (runs / n).exists()), runs / names[0])
    # every option, before the features are read or the folder is touched
    _, config = make_pooled_config(args.profile, seed=args.seed, overrides=overrides)
    check_train_options(config, Run(out), loop=args.loop, keep_finished=True)
    cat = _catalogue(args.root, _corpora(args))
    X, kept = load_features(cat, progress=not args.quiet)
    run = train_pooled_arm(kept, X, out=out, profile=args.profile, seed=args.seed,
                           overrides=overrides, loop=args.loop, n_boot=args.n_boot,
                           verbose=0 if args.quiet else 1, log_test=args.log_test)
    m = rename_old_interval_names(run.load_metrics())  # a finished run kept may be older
    print(f"run written to {run.path}")
    return pd.DataFrame([{"arm": m["arm"], "n": m["n_test"], "accuracy": 100 * m["test_accuracy"],
                          "accuracy_low": m["accuracy_low"], "accuracy_high": m["accuracy_high"],
                          "same_clip_in_train": m["same_clip_in_train"],
                          "epochs": m["epochs_run"],
                          **({"stop_reason": m["stop_reason"]} if "stop_reason" in m else {})}])


def _combinations(args):
    from fser_utils.features import load_features
    from fser_utils.paper import PAPER_ACCURACY
    from fser_utils.studies.converged import (MISTAKES, compute_arm_combinations,
                                              compute_pooled_test_predictions,
                                              find_smallest_reaching)
    from fser_utils.training.run import Run

    honest = Run.open(args.honest_run, finished=True)
    pooled = Run.open(args.pooled_run, finished=True)
    cat = _catalogue(args.root, honest.load_settings().get("corpora", PAPER_CORPORA))
    if not pooled.has_predictions():
        # runs of arm (a) written before it stored its predictions: rebuilt from its
        # seeded pool and kept model, and kept in the run for the next reader
        X, kept = load_features(cat, progress=not args.quiet)
        pooled.save_predictions(compute_pooled_test_predictions(pooled, kept, X,
                                                                progress=not args.quiet))
    table = compute_arm_combinations(honest, pooled, cat, n_boot=args.n_boot)
    found = find_smallest_reaching(table, PAPER_ACCURACY)
    names = " + ".join(f"({m}) {MISTAKES[m]}" for m in found["mistakes"]) or "none"
    print(f"{'fewest mistakes that reach' if found['reaches'] else 'closest to'} "
          f"{PAPER_ACCURACY} %: {names}: {found['accuracy']:.1f} % "
          f"[{found['accuracy_low']:.1f}, {found['accuracy_high']:.1f}]")
    return table.assign(mistakes=table["mistakes"].replace("", "none"))
