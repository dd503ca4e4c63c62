"""``fser train``: train a registered model on the paper's corpora and write a run folder."""
from __future__ import annotations

from fser_utils.config import ROOT_HELP

import sys


def register(sub) -> None:
    from fser_utils.models.registry import list_public_models
    from fser_utils.training.profiles import PROFILE_PURPOSES
    from fser_utils.training.run_config import RunConfig

    default = RunConfig.defaults()  # the package's defaults, stated there once
    # the experiment variants of chapter 9 stay trainable but out of the way
    public = ", ".join(list_public_models())

    parser = sub.add_parser(
        "train", help="train a model and write a run folder",
        description="Train a registered model on the paper's corpora found under the data "
                    f"root. Models: {public} (default: {default['model']}, the best "
                    "validated on unseen speakers in chapter 9); --list-models lists every "
                    "variant, the experiments of chapter 9 included. Each model has its own "
                    "training profile; --profile replaces it (ci: seconds, for tests; paper: "
                    "the paper's recipe).")
    parser.add_argument("--model", default=default["model"], metavar="NAME",
                        help=f"model: {public} (default: {default['model']}; "
                             "--list-models for every variant)")
    parser.add_argument("--list-models", action="store_true",
                        help="list every registered model, experiment variants included, "
                             "and exit")
    parser.add_argument("--profile", default=default["profile"], metavar="P",
                        help="training profile (default: the model's own): " + "; ".join(
                            f"{name}: {purpose}" for name, purpose in PROFILE_PURPOSES.items()))
    parser.add_argument("--features", default=None, metavar="KIND",
                        help="feature kind (default: the model's own)")
    parser.add_argument("--split", default=default["split"], metavar="S",
                        help=f"paper, speaker or corpus (default: {default['split']})")
    parser.add_argument("--test-corpus", metavar="CORPUS",
                        help="corpus held out by --split corpus (e.g. emodb)")
    parser.add_argument("--corpora", default="paper", metavar="SET",
                        help="corpora to train and test on: paper (the paper's four), all "
                             "(also nEMO and URDU) or a comma list (default: paper)")
    parser.add_argument("--root", help=ROOT_HELP)
    parser.add_argument("--out", metavar="RUN_DIR",
                        help="run folder (default: runs/[MODEL-]PROFILE-SPLIT[-CORPUS]"
                             "[-eEPOCHS][-FEATURES][-bal][-sSEED], epochs and features only "
                             "when they are not the model's own)")
    parser.add_argument("--seed", type=int, default=default["seed"],
                        help=f"random seed (default: {default['seed']})")
    parser.add_argument("--epochs", type=int, help="override the profile's number of epochs")
    parser.add_argument("--balance-corpora", action="store_true",
                        help="give every corpus the same weight in training, whatever its "
                             "number of clips (for a corpus or language unseen in training; "
                             "the run folder gets -bal)")
    parser.add_argument("--no-resume", action="store_true",
                        help="start afresh even if RUN_DIR holds an interrupted run")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--devices", type=int, metavar="N",
                        help="split each batch over N devices (GPUs, TPU cores) with Keras' "
                             "DataParallel; needs KERAS_BACKEND=jax (default: one device)")
    parser.add_argument("--log-test", action="store_true",
                        help="log every epoch's test accuracy in the history (never used to "
                             "choose anything; `fser leak select-on-test` reads it)")
    parser.add_argument("--loop", default="fit", choices=("fit", "resident"),
                        help="training loop: fit (Keras' own) or resident (all images on the "
                             "device, one compiled scan per epoch; needs KERAS_BACKEND=jax; "
                             "logs test accuracy per epoch for 'fser leak select-on-test')")
    parser.set_defaults(func=run_train)


def run_train(args) -> int:
    from fser_utils.data.catalogue import describe_missing, load_catalogue
    from fser_utils.data.corpora import name_corpora, resolve_corpora
    from fser_utils.errors import FserError
    from fser_utils.features.kinds import get_feature_settings
    from fser_utils.training.run import Run
    from fser_utils.training.run_config import RunConfig
    from fser_utils.training.run_names import find_run_for_config
    from fser_utils.training.train import check_train_options, train_model

    if args.list_models:
        from fser_utils.models.registry import describe_models

        print(describe_models().to_string())
        return 0
    # check the cheap things before reading any audio or creating a folder
    if args.epochs is not None and args.epochs < 1:
        raise FserError("--epochs must be at least 1")
    overrides = {**({"epochs": args.epochs} if args.epochs is not None else {}),
                 **({"balance_corpora": True} if args.balance_corpora else {})} or None
    features = get_feature_settings(args.features) if args.features else None
    config = RunConfig(model=args.model, profile=args.profile, split=args.split,
                       test_corpus=args.test_corpus, seed=args.seed, overrides=overrides,
                       feature_settings=features)
    corpora = resolve_corpora(args.corpora)
    # other corpora and other seeds get folders of their own, so that they sit side by side
    corpus_tag = name_corpora(corpora)
    tag = "-".join(t for t in (None if corpus_tag == "paper" else corpus_tag,
                               None if config.seed == RunConfig.defaults()["seed"]
                               else f"s{config.seed}") if t) or None
    run = find_run_for_config(config, out=args.out, tag=tag)
    # every option, before the corpora are read or anything in the folder is touched
    check_train_options(config, run, devices=args.devices, loop=args.loop,
                        resume=not args.no_resume, keep_finished=True)

    catalogue = load_catalogue(args.root, corpora=corpora)
    for line in describe_missing(catalogue):
        print(f"fser: note: {line}", file=sys.stderr)
    if catalogue.empty:
        raise FserError(f"no corpus found under {catalogue.attrs['root']}")
    new_folder = not run.path.exists()
    try:
        train_model(catalogue, config=config, out=run.path, resume=not args.no_resume,
                    verbose=0 if args.quiet else 1, devices=args.devices, loop=args.loop,
                    log_test=args.log_test)
    except (OSError, FserError) as exc:
        # a full disk or a folder that turned read-only: one line, and a run folder this
        # command made is removed rather than left half-written (an interrupted run that
        # was already there stays, to resume)
        _remove_half_made(run, new_folder)
        if isinstance(exc, FserError):
            raise
        from fser_utils.atomic import describe_os_error

        raise FserError(describe_os_error(exc, exc.filename or run.path)) from None
    run = Run.open(run.path, finished=True)
    _draw_learning_curves(run)
    m = run.load_metrics()
    print(f"run written to {run.path}  (model {config.model.name})")
    print(f"validation accuracy {m['val_accuracy']:.4f}  test accuracy {m['test_accuracy']:.4f}"
          f"  ({m['epochs_run']} epochs, best {m['best_epoch']}, "
          f"{m['train_seconds']:.0f} s on {run.load_settings()['hardware']})")
    return 0


def _remove_half_made(run, new_folder: bool) -> None:
    import shutil

    if new_folder and run.path.is_dir() and not run.is_finished:
        shutil.rmtree(run.path, ignore_errors=True)


def _draw_learning_curves(run) -> None:
    """``learning_curves.png`` of a Keras run: drawn here, after training, so that training
    never waits on (or fails over) a figure."""
    if run.load_settings().get("model", {}).get("family") != "keras":
        return
    # a figure made without pyplot: nothing to show, only to save
    from matplotlib.figure import Figure

    from fser_utils.plotting import plot_history

    try:
        fig = Figure(figsize=(10, 3.4))
        plot_history(run.load_history(), ax=fig.subplots(1, 2))
        run.save_figure(fig, "learning_curves.png", dpi=90)
    except Exception as exc:  # the run is finished and saved: a figure must not fail it
        print(f"fser: note: learning curves not drawn: {exc}", file=sys.stderr)
