"""Names of run folders, and finding runs under the runs folder.

One scheme names every run folder, trained here or stored with the book: the model, the
profile, the split and the test corpus, the epochs and feature kind where they differ from
the model's defaults, then a tag (:func:`make_run_name`). A stored run's name follows from
its own settings (:func:`make_stored_run_name`). A run of the same configuration finished
under an older name (without epochs and feature kind, under the profile's old name, or, for the
paper's network, without the model in front) is found again rather than trained twice (:func:`find_run_for_config`).
:func:`list_runs` lists the folders under the runs folder and :func:`find_latest_run`
picks the newest model among those this installation signed, so that a folder copied
into the runs folder is never used unless the user names it. Every folder is read
through :class:`~fser_utils.training.run.Run`.
"""
from __future__ import annotations

import sys
from pathlib import Path

from fser_utils.errors import FserError
from fser_utils.training.profiles import list_old_names, migrate_settings
from fser_utils.training.run import Run, to_jsonable

__all__ = ["make_run_name", "make_stored_run_name", "describe_changes", "find_run_for_config",
           "list_runs", "find_latest_run"]


def make_run_name(*, model: str, profile: str, split: str, test_corpus: str | None = None,
                  tag: str | None = None, epochs: int | None = None,
                  features: str | None = None, balanced: bool = False) -> str:
    """Default folder name, e.g. ``fser-quick-paper``, ``fser-quick-corpus-emodb``,
    ``fser-ci-paper-noflip``, ``tcn-budget-light-speaker``: ``{model}-{profile}-{split}``.

    ``epochs`` and ``features`` (given only when they differ from the model's
    defaults) follow the test corpus as ``-e{epochs}`` and ``-{features}``, then ``-bal``
    for a run whose corpora weigh the same (``balanced``, the profile's
    ``balance_corpora``), then the tag: ``logmel-cnn-budget-speaker-e120-s1``,
    ``svm-egemaps-fit-once-corpus-urdu-bal-all``. A part the tag already holds is not
    repeated (the GPU runs were tagged ``e120-gpu`` before epochs were named).
    """
    parts = [model, str(profile), split]
    changed = [p for p in (f"e{epochs}" if epochs is not None else None, features,
                           "bal" if balanced else None) if p]
    tagged = set(tag.split("-")) if tag else set()
    changed = [p for p in changed if p not in tagged]
    return "-".join(parts + [p for p in (test_corpus, *changed, tag) if p])


def make_stored_run_name(settings: dict) -> str:
    """The folder name of a run, from its ``settings.json`` alone.

    :func:`make_run_name`, with the tag made of the corpus set (where it is not the
    paper's), ``gpu`` (trained on a GPU) and the seed (where it is not 42), in that
    order: ``logmel-cnn-warp-recognizer-corpus-nemo-all-s2``, ``fser-paper-paper-gpu-s1``.
    A pooled leak arm (``settings["arm"]``) is ``leak-pooled-{profile}`` with the same
    tag.

    Parameters
    ----------
    settings : dict
        A run's settings (:meth:`fser_utils.training.run.Run.load_settings`).

    Returns
    -------
    name : str
    """
    from fser_utils.data.corpora import name_used_corpora
    from fser_utils.models.registry import get_model_spec
    from fser_utils.training.profiles import PROFILES
    from fser_utils.training.run_config import find_feature_kind

    settings = migrate_settings(settings)  # a profile's old name is its current one
    tag = "-".join(t for t in (
        name_used_corpora(settings.get("corpora")), "gpu" if "GPU:" in settings.get("hardware", "") else None,
        None if settings["seed"] == 42 else f"s{settings['seed']}") if t) or None
    profile = settings["profile"]
    if settings.get("arm"):
        return "-".join(p for p in ("leak-pooled", profile, tag) if p)
    model = settings["model"]["name"]
    epochs = settings.get("profile_settings", {}).get("epochs")
    balanced = bool(settings.get("profile_settings", {}).get("balance_corpora"))
    base = PROFILES.get(profile)
    default_kind = get_model_spec(model).features
    kind = find_feature_kind(settings.get("features"), default_kind)
    return make_run_name(model=model, profile=profile, split=settings["split"],
                         test_corpus=settings.get("test_corpus"), tag=tag,
                         epochs=epochs if base and epochs != base.epochs else None,
                         features=None if kind == default_kind else kind, balanced=balanced)


def describe_changes(config) -> dict:
    """The ``epochs``, ``features`` and ``balanced`` parts of :func:`make_run_name` for a
    :class:`fser_utils.training.run_config.RunConfig`: each None (False) where it is the
    model's default.

    ``features`` is the kind's registry name, followed by a short hash of its
    settings when they are not that kind's defaults (e.g. ``mfcc-3fa2c1``).
    """
    from fser_utils.features.kinds import get_feature_settings, name_feature_kind
    from fser_utils.training.profiles import PROFILES

    base = PROFILES.get(config.profile.name)
    epochs = config.profile.epochs if base and base.epochs != config.profile.epochs else None
    fs, features = config.feature_settings, None
    if fs != get_feature_settings(config.model.features):
        name = name_feature_kind(fs)
        features = name if name and fs == get_feature_settings(name) else \
            f"{name or getattr(fs, 'kind', 'features')}-{fs.key()[:6]}"
    return {"epochs": epochs, "features": features,
            "balanced": config.profile.balance_corpora}


def _get_runs_dir(runs_dir) -> Path:
    from fser_utils.config import get_runs_dir

    return Path(runs_dir) if runs_dir is not None else get_runs_dir()


def find_run_for_config(config, *, out=None, tag: str | None = None, runs_dir=None) -> Run:
    """The run of a configuration: ``out``, else ``runs_dir`` / :func:`make_run_name`.

    ``config`` is a :class:`fser_utils.training.run_config.RunConfig`; ``runs_dir``
    defaults to :func:`fser_utils.config.get_runs_dir`. A run of this very configuration
    finished under a name of an older scheme (without epochs and feature kind; with the
    profile's old name, :data:`~fser_utils.training.profiles.PROFILE_ALIASES`; for the
    paper's network, also without ``fser-`` in front) is returned where no folder has the
    new name, so that it is not trained again.
    """
    if out is not None:
        return Run(out)
    runs_dir = _get_runs_dir(runs_dir)
    names = dict(model=config.model.name, profile=config.profile.name,
                 split=config.split, test_corpus=config.test_corpus, tag=tag)
    changes = describe_changes(config)
    run = Run(runs_dir / make_run_name(**names, **changes))
    if run.path.exists():
        return run
    older = [make_run_name(**names)]
    # the same profile under the name it had before profiles were named by purpose
    for alias in list_old_names(config.profile.name):
        older += [make_run_name(**{**names, "profile": alias}, **changes),
                  make_run_name(**{**names, "profile": alias})]
    if config.model.name == "fser":  # the paper's network once had no name in front
        older += [n.removeprefix("fser-") for n in (run.name, *older)]
    for name in dict.fromkeys(older):
        found = Run(runs_dir / name)
        if found != run and found.is_finished and found.config_key == to_jsonable(config.key):
            return found
    return run


def list_runs(runs_dir=None, *, finished: bool = False, with_model: bool = False) -> list[Run]:
    """The run folders directly under ``runs_dir`` (default: the runs folder), by name;
    ``finished`` keeps those holding ``metrics.json``, ``with_model`` those with a model."""
    runs_dir = _get_runs_dir(runs_dir)
    if not runs_dir.is_dir():
        raise FserError(f"runs folder '{runs_dir}' does not exist")
    runs = [Run(d) for d in sorted(runs_dir.iterdir()) if d.is_dir()]
    return [r for r in runs if (r.is_finished or not finished)
            and (r.model_file is not None or not with_model)]


def find_latest_run(runs_dir=None, *, model: str | None = None) -> Run:
    """The newest run with a model, preferring runs of the registered model ``model``.

    Newest by the time its model was written. Raises :class:`FserError` if no
    run folder under ``runs_dir`` holds a model.
    """
    runs_dir = _get_runs_dir(runs_dir)
    found = list_runs(runs_dir, with_model=True) if runs_dir.is_dir() else []
    # a run folder copied or planted into the runs folder must not be picked without
    # the user naming it: only runs whose model this installation signed are
    trusted, skipped = [], []
    for run in found:
        problem = run.check_written_here()
        (skipped if problem else trusted).append((run, problem))
    if skipped:
        run, problem = skipped[0]
        print(f"fser: note: skipped {len(skipped)} run folder(s) under '{runs_dir}' not "
              f"written by this installation (e.g. '{run.name}': {problem}); pass "
              "--run RUN_DIR to use one", file=sys.stderr)
    found = [run for run, _ in trusted]
    if not found:
        raise FserError(f"no trained model under '{runs_dir}': train one with 'fser train' "
                        "or pass --run RUN_DIR")
    preferred = [r for r in found if model is not None and r.model_name == model]
    return max(preferred or found, key=lambda r: r.model_file.stat().st_mtime)
