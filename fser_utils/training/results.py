"""What a finished run writes, and reading it back.

:func:`make_settings_record` is the run's ``settings.json`` (everything needed to
reopen, rescore or retrain it: configuration, versions, hardware, data);
:func:`write_run_results` writes its predictions and ``metrics.json`` once fitting is
done. :func:`load_run` and :func:`load_run_model` read a finished run folder back
through :class:`fser_utils.training.run.Run`.
"""
from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.data.corpora import EMOTIONS
from fser_utils.features.kinds import describe_feature_kind
from fser_utils.training import devices
from fser_utils.training.profiles import describe_stop
from fser_utils.training.run import Run
from fser_utils.training.run_config import RunConfig
from fser_utils.trust import get_installation_id

__all__ = ["make_settings_record", "write_run_results", "load_run", "load_run_model"]


def make_settings_record(catalogue, config: RunConfig, data) -> dict:
    """A run's ``settings.json``, written before fitting starts.

    Parameters
    ----------
    catalogue : pd.DataFrame
        The clips the run was split from (their corpora and data root are recorded).
    config : RunConfig
    data : dict
        The run's arrays and positions (``X_train``, ``train_idx``, ``val_idx``,
        ``test_idx``), as :func:`fser_utils.training.fit.fit_arrays` takes them.

    Returns
    -------
    settings : dict
        Model, profile, split, seed and features; code versions and hardware; corpora,
        sizes, date, installation and the configuration key
        (:attr:`~fser_utils.training.run_config.RunConfig.key`).
    """
    p, spec = config.profile, config.model
    # looked up on the module, where a test pretends to have a GPU
    use_mixed = p.mixed_precision and bool(devices.list_gpus())
    return {
        # the flags that decide how features are read, so that the run reopens on its own
        "model": {"name": spec.name, "family": spec.family, "features": spec.features,
                  "speaker_norm": spec.speaker_norm, "clip_norm": spec.clip_norm,
                  "corpus_norm": spec.corpus_norm,
                  "speaker_adversary": spec.speaker_adversary, **config.model_params},
        "profile": p.name, "profile_settings": p.asdict(), "split": config.split,
        "test_corpus": config.test_corpus, "seed": config.seed,
        "features": config.feature_settings.asdict(),
        # the kind's registry name and class too: "features" alone does not tell egemaps
        # from compare, nor rebuild a kind that is no longer registered
        "feature_kind": describe_feature_kind(config.feature_settings), **_versions(),
        "hardware": devices.describe_hardware(), "mixed_precision_used": use_mixed,
        "data_root": str(catalogue.attrs.get("root", "")),
        "corpora": sorted(catalogue["corpus"].unique().tolist()),
        "n_train": int(len(data["train_idx"])), "n_train_images": int(len(data["X_train"])),
        "n_val": int(len(data["val_idx"])), "n_test": int(len(data["test_idx"])),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        # which installation wrote the run (its model.json carries the proof, an HMAC)
        "installation": get_installation_id(),
        "config_key": config.key,
    }


def _versions() -> dict:
    import keras

    from fser_utils import __version__
    from fser_utils.config import CHECKOUT, describe_commit

    out = {"fser_utils": __version__, "code_commit": describe_commit(CHECKOUT),
           "keras_backend": keras.backend.backend(), "keras": keras.__version__}
    backend = out["keras_backend"]
    try:
        module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
        out[module] = __import__(module).__version__
    except (KeyError, ImportError):
        pass
    return out


def make_predictions_table(catalogue: pd.DataFrame, probs: np.ndarray) -> pd.DataFrame:
    """A run's predictions file: the clips' columns, the predicted class, every probability.

    Parameters
    ----------
    catalogue : pd.DataFrame [shape=(n, ...)]
        The scored clips, in the order of ``probs``.
    probs : np.ndarray [shape=(n, n_classes)]
        Class probabilities, classes in the order of
        :data:`~fser_utils.data.corpora.EMOTIONS`.

    Returns
    -------
    predictions : pd.DataFrame [shape=(n, ...)]
        ``relpath``, ``corpus``, ``language``, ``speaker``, ``sex`` (those present),
        ``emotion``, ``predicted`` and ``p_<class>``.
    """
    cols = [c for c in ("relpath", "corpus", "language", "speaker", "sex", "emotion")
            if c in catalogue]
    table = catalogue[cols].copy().reset_index(drop=True)
    table["emotion"] = table["emotion"].astype(str)
    table["predicted"] = np.asarray(EMOTIONS)[np.argmax(probs, axis=1)]
    for k, emotion in enumerate(EMOTIONS):
        table[f"p_{emotion}"] = probs[:, k].astype(np.float64)
    return table


def _scoring_ms(catalogue, data, config, predict, n: int = 40) -> float:
    """Median milliseconds to score one clip from its file: decode, features, model.

    NaN when the audio is not on this machine (features computed elsewhere and carried
    to a GPU machine): the time cannot be measured there, and no number is made up.
    """
    from fser_utils.features.kinds import compute_features
    from fser_utils.features import load_audio

    fs = config.feature_settings
    rows = catalogue.iloc[data["test_idx"][:n]]
    if "path" not in rows or not all(Path(p).is_file() for p in rows["path"]):
        return float("nan")
    times = []
    for path in rows["path"]:
        t0 = time.perf_counter()
        y = load_audio(path, sr=fs.sr, n_fft=fs.n_fft)
        predict(compute_features(y, sr=fs.sr, settings=fs)[None], verbose=0)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000) if times else float("nan")


def write_run_results(run: Run, catalogue, data, result, config: RunConfig) -> None:
    """Write a fitted run's validation and test predictions and its ``metrics.json``.

    Parameters
    ----------
    run : Run
    catalogue : pd.DataFrame
        The clips the run was split from, in the order of ``data``'s positions.
    data : dict
        As for :func:`make_settings_record`.
    result : dict
        What :func:`fser_utils.training.fit.fit_arrays` returned.
    config : RunConfig
    """
    p, state = config.profile, result["state"]
    val_pred = make_predictions_table(catalogue.iloc[data["val_idx"]], result["val_probs"])
    test_pred = make_predictions_table(catalogue.iloc[data["test_idx"]], result["test_probs"])
    run.save_predictions(val_pred, "val")
    run.save_predictions(test_pred, "test")
    epochs_run = int(state["epoch"] + 1)
    seconds = float(state["train_seconds"])
    n_images = len(data["X_train"])
    metrics = {
        "val_accuracy": float((val_pred["predicted"] == val_pred["emotion"]).mean()),
        "test_accuracy": float((test_pred["predicted"] == test_pred["emotion"]).mean()),
        "best_epoch": int(state["best_epoch"] + 1),
        "epochs_run": epochs_run,
        "stopped_early": bool(config.model.family == "keras" and epochs_run < p.epochs),
        "train_seconds": seconds,
        "seconds_per_epoch": seconds / max(1, epochs_run),
        "images_per_second": n_images * epochs_run / seconds if seconds else float("nan"),
        "n_train_images": int(n_images), "n_val": int(len(data["val_idx"])),
        "n_test": int(len(data["test_idx"])), "n_params": result["n_params"],
        "scoring_ms_per_clip": _scoring_ms(catalogue, data, config, result["predict"]),
        **describe_stop(state, p, epochs_run),
    }
    run.save_metrics(metrics)


def load_run(run_dir) -> dict:
    """Every result of a finished run folder as a dict, each file validated: see
    :meth:`fser_utils.training.run.Run.load`. Raises :class:`FserError` if the folder is missing,
    the run has not finished, or a file is damaged."""
    return Run.open(run_dir, finished=True).load()


def load_run_model(run_dir):
    """The trained model of a run folder, checked against its feature settings."""
    return Run.open(run_dir).load_model()
