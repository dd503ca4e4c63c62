"""Training a model on a catalogue: the entry points, and the steps before the fit.

:func:`train_model` checks the options (:func:`check_train_options`), prepares the
features, makes the split and opens the run folder, then fits
(:func:`fser_utils.training.fit.fit_arrays`) and writes the results
(:func:`fser_utils.training.results.write_run_results`); :func:`load_or_train` reuses a
finished run of the same configuration. A run is defined by a
:class:`~fser_utils.training.run_config.RunConfig` and written to a run folder, which
:class:`fser_utils.training.run.Run` alone reads and writes (its files are listed there).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.config import setup
from fser_utils.data.corpora import EMOTIONS
from fser_utils.data.splits import check_split, make_split
from fser_utils.errors import FserError
from fser_utils.features.speaker_norm import compute_norm_groups, normalize_features
from fser_utils.training.devices import distribution_scope
from fser_utils.training.fit import LOOPS, fit_arrays
from fser_utils.training.profiles import check_converge_rule
from fser_utils.training.results import make_settings_record, write_run_results
from fser_utils.training.run import Run, to_jsonable
from fser_utils.training.run_names import find_run_for_config
from fser_utils.training.run_config import RunConfig

__all__ = [
    "train_model",
    "check_train_options",
    "load_or_train",
    "encode_labels",
    "select_train_rows",
]


def train_model(catalogue: pd.DataFrame, X: np.ndarray | None = None, *,
                config: "RunConfig | None" = None, out=None, resume: bool = True,
                verbose: int = 1, tag: str | None = None, callbacks=None,
                devices: int | None = None, loop: str = "fit", log_test: bool = False,
                **settings) -> Path:
    """Train a registered model on a catalogue and write a run folder.

    The steps are short functions of their own: check the configuration, the output
    folder and the test corpus (before any audio is read), prepare the features
    (:func:`_prepare_features`; standardised per speaker for a model registered with
    ``speaker_norm``, per corpus with ``corpus_norm``), make the split and open the run
    folder (:func:`_open_run`), fit
    (:func:`fser_utils.training.fit.fit_arrays`), write the results
    (:func:`fser_utils.training.results.write_run_results`). The folder is created only
    once the split is made.

    The normalisation runs over the whole catalogue, before the split and without
    labels: a speaker's (or a corpus's) statistics come from all its clips, its test
    clips included. For a corpus held out by the corpus split, a corpus-normalised model
    is therefore standardised over that corpus's own unlabelled clips, the standard,
    transductive use of per-corpus normalisation, and what scoring a batch of
    recordings from one setting does too (:func:`fser_utils.scoring.predict.predict_files`).

    Parameters
    ----------
    catalogue : pd.DataFrame [shape=(n, ...)]
        From :func:`fser_utils.data.catalogue.load_catalogue`; with ``X`` given, the rows
        must be aligned with it (``kept`` of :func:`fser_utils.features.load_features`).
    X : np.ndarray [shape=(n, *feature_settings.shape)] or None
        Features as the model eats them; ``None`` computes them with ``load_features``.
    config : RunConfig or None
        What to train; or give its fields as keyword arguments (``**settings``).
    out : path-like or None
        Run folder; defaults to ``get_runs_dir() / run_name(...)``
        (:func:`fser_utils.training.run_config.run_name`).
    resume : bool
        Continue an interrupted run found in ``out`` from its last finished epoch, if it
        was started with the same configuration; ``False`` starts afresh.
    verbose : int
        0 silent, 1 one progress bar over epochs, 2 Keras' bar over steps.
    tag : str or None
        Appended to the default run name (for variants made with ``overrides``).
    callbacks : list of keras.callbacks.Callback or None
        Extra callbacks (the tests use one to interrupt a run).
    devices : int or None
        Split each batch over this many devices with the backend's data-parallel API
        (:func:`fser_utils.training.devices.distribution_scope`; JAX backend). Not part of the
        configuration: the result is the same as on one device up to float rounding.
    loop : {"fit", "resident"}
        ``fit``: Keras' ``Model.fit``. ``resident``: every image held on the device and
        each epoch one compiled scan (:mod:`fser_utils.training.resident`; JAX backend; logs the
        test accuracy per epoch for chapter 8). Not part of the configuration.
    log_test : bool
        With ``loop="fit"``, also log the test accuracy of every epoch in the history
        (it is never used to choose anything; chapter 8's arm (b) reads it). Costs one
        pass over the test images per epoch. The resident loop always logs it.
    **settings
        Fields of :class:`RunConfig` when ``config`` is None: ``model`` (default
        :data:`fser_utils.models.registry.DEFAULT_MODEL`; ``"fser"`` is the paper's CNN),
        ``profile`` (default: the model's own), ``split``, ``test_corpus``, ``seed``,
        ``overrides``, ``model_params``, ``feature_settings``.

    Returns
    -------
    run_dir : Path
        The run folder; read it with :func:`fser_utils.training.results.load_run` or
        :class:`fser_utils.training.run.Run`.

    Raises
    ------
    FserError
        A bad configuration (see :class:`RunConfig`); an output path that cannot be a
        folder; a test corpus absent from the catalogue; a run folder holding another
        configuration; features not aligned with the catalogue.
    """
    config = _resolve_config(config, settings)
    run = find_run_for_config(config, out=out, tag=tag)
    scope = check_train_options(config, run, devices=devices, loop=loop, resume=resume)
    _check_test_corpus(catalogue, config)
    X, catalogue = _prepare_features(catalogue, X, config.feature_settings, verbose)
    spec = config.model
    X = normalize_features(X, settings=config.feature_settings, speaker_norm=spec.speaker_norm,
                           clip_norm=spec.clip_norm, corpus_norm=spec.corpus_norm,
                           groups=compute_norm_groups(catalogue, speaker_norm=spec.speaker_norm,
                                                      corpus_norm=spec.corpus_norm))
    part, resuming = _open_run(run, catalogue, config, resume)
    data = _split_arrays(catalogue, X, part, config, progress=verbose > 0)
    run.save_settings(make_settings_record(catalogue, config, data))
    with scope:
        result = fit_arrays(run, data, config, resuming=resuming, verbose=verbose,
                            callbacks=callbacks, loop=loop, log_test=log_test)
    write_run_results(run, catalogue, data, result, config)
    return run.path


def load_or_train(catalogue: pd.DataFrame, X: np.ndarray | None = None, *,
                  config: RunConfig | None = None, out=None, tag: str | None = None,
                  **kwargs) -> Path:
    """The run folder of a finished run with this configuration, training it if needed.

    Takes the keyword arguments of :func:`train_model`. A folder counts as finished
    when it holds ``metrics.json``; an unfinished one is resumed. A finished run whose
    configuration (:attr:`RunConfig.key`: model and its parameters, profile, features,
    split, seed) differs from the one asked for is not reused: it is trained again from
    scratch, with a note.
    """
    config = _resolve_config(config, {k: kwargs.pop(k) for k in _CONFIG_FIELDS if k in kwargs})
    run = find_run_for_config(config, out=out, tag=tag)
    if run.is_finished:
        old, wanted = run.config_key, config.key
        if old == wanted:
            return run.path
        stale = sorted(k for k in wanted if (old or {}).get(k) != wanted[k])
        print(f"note: {run.path} was trained with other settings ({', '.join(stale)}); "
              "training it again")
        kwargs["resume"] = False
    return train_model(catalogue, X, config=config, out=run.path, tag=tag, **kwargs)


def check_train_options(config: RunConfig, run: Run, *, devices: int | None = None,
                        loop: str = "fit", resume: bool = True, keep_finished: bool = False):
    """Check every option of a training run before anything is read, removed or written.

    Parameters
    ----------
    config : RunConfig
        Already checked on construction (model, profile, split, feature kind).
    run : Run
        The output folder: it must be creatable and writable.
    devices, loop
        As for :func:`train_model`.
    resume : bool
        ``False`` starts afresh, which deletes the folder's earlier results.
    keep_finished : bool
        Refuse ``resume=False`` on a folder that holds a finished run (``fser train
        --no-resume``: a finished run is never deleted by a command line).

    Returns
    -------
    scope : context manager
        The device scope to train in (:func:`fser_utils.training.devices.distribution_scope`).

    Raises
    ------
    FserError
        One line for the first problem found.
    """
    if loop not in LOOPS:
        raise FserError(f"unknown training loop '{loop}' (choose from: {', '.join(LOOPS)})")
    if config.model.family != "sklearn":
        check_converge_rule(config.profile, loop=loop)
    if config.model.family == "sklearn" and devices not in (None, 1):
        raise FserError(f"model '{config.model.name}' is fitted by scikit-learn on the CPU; "
                        "--devices is for networks")
    if loop == "resident" and config.model.family != "sklearn":
        from fser_utils.training.resident import check_resident_backend

        check_resident_backend()
    scope = distribution_scope(devices)
    run.check_writable()
    if keep_finished and run.is_finished:
        if not resume:
            raise FserError(f"'{run.path}' holds a finished run, which --no-resume would "
                            "delete: give another --out, or remove the folder yourself")
        if run.config_key != to_jsonable(config.key):
            raise FserError(f"'{run.path}' holds a finished run made with other settings "
                            f"({_describe_key_change(run.config_key, config.key)}): give "
                            "another --out, or remove the folder yourself")
    elif resume and run.can_resume and run.config_key not in (None, to_jsonable(config.key)):
        # said here, before the features are computed, rather than when the run is opened
        change = _describe_key_change(run.config_key, config.key)
        what = "another split" if {"split", "seed", "test_corpus"} & set(change.split(", ")) \
            else "another configuration"
        raise FserError(f"the interrupted run in '{run.path}' was started with {what} "
                        f"({change}); use another output folder or --no-resume")
    return scope


def _describe_key_change(old: dict | None, new: dict) -> str:
    new = to_jsonable(new)
    return ", ".join(sorted(k for k in new if (old or {}).get(k) != new[k])) or "unrecorded"


_CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig))


def _resolve_config(config: RunConfig | None, settings: dict) -> RunConfig:
    if config is None:
        unknown = sorted(set(settings) - set(_CONFIG_FIELDS))
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
        return RunConfig(**settings)
    if settings:
        raise TypeError("give either config or its fields "
                        f"({', '.join(sorted(settings))}), not both")
    return config


def _check_test_corpus(catalogue: pd.DataFrame, config: RunConfig) -> None:
    found = sorted(set(catalogue["corpus"].astype(str))) if "corpus" in catalogue else []
    if config.test_corpus and config.test_corpus not in found:
        raise FserError(f"test corpus '{config.test_corpus}' is not among the corpora found "
                        f"({', '.join(found) or 'none'})")


def _prepare_features(catalogue, X, feature_settings, verbose):
    if X is None:
        from fser_utils.features import load_features

        X, catalogue = load_features(catalogue, feature_settings, progress=verbose > 0)
    catalogue = catalogue.reset_index(drop=True)
    X = np.asarray(X, dtype=np.float32)
    if len(X) != len(catalogue):
        raise FserError(f"{len(X)} feature arrays for {len(catalogue)} catalogue rows")
    if X.shape[1:] != tuple(feature_settings.shape):
        raise FserError(f"features of shape {X.shape[1:]} do not match the feature settings "
                        f"{tuple(feature_settings.shape)}")
    return X, catalogue


def _open_run(run: Run, catalogue, config: RunConfig, resume: bool):
    """Make the split, then the run folder; decide whether an interrupted run is resumed."""
    setup(config.seed)
    part = make_split(catalogue, kind=config.split, seed=config.seed,
                      test_corpus=config.test_corpus)
    check_split(catalogue, part, kind=config.split)
    split_table = _split_table(catalogue, part)
    run.create()
    resuming = resume and run.can_resume
    if resuming:
        run.check_resume(key=config.key, split=split_table)
    else:
        run.clear()
        run.save_split(split_table)
    return part, resuming


def _split_table(catalogue: pd.DataFrame, part: pd.Series) -> pd.DataFrame:
    cols = [c for c in ("relpath", "corpus", "speaker", "sex", "emotion") if c in catalogue]
    table = catalogue[cols].copy()
    table["emotion"] = table["emotion"].astype(str)
    table["part"] = part.to_numpy()
    return table.reset_index(drop=True)


def _split_arrays(catalogue, X, part, config, *, progress: bool = True) -> dict:
    """Training, validation and test arrays (training augmented offline if asked)."""
    p, seed = config.profile, config.seed
    y = encode_labels(catalogue)
    train_idx = select_train_rows(part, catalogue["emotion"].astype(str), p.max_train, seed)
    val_idx = np.flatnonzero(part.to_numpy() == "val")
    test_idx = np.flatnonzero(part.to_numpy() == "test")
    X_train, y_train = X[train_idx], y[train_idx]
    # speakers numbered within the training part, for a speaker adversary; corpora
    # named, for a profile that balances them
    s_train = pd.factorize(catalogue["speaker"].to_numpy()[train_idx], sort=True)[0]
    c_train = catalogue["corpus"].astype(str).to_numpy()[train_idx]
    if p.augment == "offline" and p.n_copies > 0:
        from fser_utils.training.augment import build_augmenter, compute_augmented_images

        augmenter = build_augmenter(width_shift=p.width_shift, height_shift=p.height_shift,
                                    zoom=p.zoom, flip=p.flip, specaugment=p.specaugment,
                                    seed=seed)
        X_train, source = compute_augmented_images(X_train, n_copies=p.n_copies,
                                                   augmenter=augmenter, progress=progress)
        y_train, s_train, c_train = y_train[source], s_train[source], c_train[source]
    return {"X_train": X_train, "y_train": y_train, "s_train": s_train, "c_train": c_train,
            "n_speakers": int(s_train.max()) + 1 if len(s_train) else 0, "train_idx": train_idx,
            "X_val": X[val_idx], "y_val": y[val_idx], "val_idx": val_idx,
            "X_test": X[test_idx], "y_test": y[test_idx], "test_idx": test_idx}


def encode_labels(catalogue: pd.DataFrame) -> np.ndarray:
    """The class code of every clip's emotion (its position in
    :data:`fser_utils.data.corpora.EMOTIONS`).

    Raises
    ------
    FserError
        An emotion that is not one of the eight classes.
    """
    codes = pd.Categorical(catalogue["emotion"].astype(str), categories=EMOTIONS).codes
    if (codes < 0).any():
        bad = catalogue["emotion"].astype(str)[codes < 0].iloc[0]
        raise FserError(f"emotion '{bad}' is not one of the eight classes")
    return codes.astype(np.int64)


def select_train_rows(part: pd.Series, labels: pd.Series, max_train: int | None, seed: int):
    """Positions of the training rows, at most ``max_train`` of them, stratified.

    Parameters
    ----------
    part : pd.Series of str
        ``train``, ``val`` or ``test`` per row.
    labels : pd.Series of str
        The emotion of every row (the strata).
    max_train : int > 0 or None
        The profile's ``max_train``; None keeps every training row.
    seed : int
        Seeds the draw, so that a quick run is repeatable.

    Returns
    -------
    rows : np.ndarray of int
        Sorted positions of the training rows kept.
    """
    train = np.flatnonzero(part.to_numpy() == "train")
    if max_train is None or len(train) <= max_train:
        return train
    from sklearn.model_selection import train_test_split

    lab = labels.to_numpy()[train]
    counts = pd.Series(lab).value_counts()
    strat = lab if counts.min() >= 2 and max_train >= counts.size else None
    keep, _ = train_test_split(train, train_size=max_train, random_state=seed, stratify=strat)
    return np.sort(keep)
