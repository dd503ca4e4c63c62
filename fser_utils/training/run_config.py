"""What defines a run: :class:`RunConfig`, its run folder's name, and its command line.

A :class:`RunConfig` (model and its parameters, features, profile, split, seed) is
resolved and checked on construction, before any audio is read, and its :attr:`key
<RunConfig.key>` decides whether a run folder is reused or resumed. The two ways back
from a configuration to text live here too: the default folder name (:func:`run_name`)
and the ``fser train`` command that remakes a run from its settings
(:func:`describe_train_command`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

from fser_utils.errors import FserError
from fser_utils.models.registry import DEFAULT_MODEL
from fser_utils.training.profiles import (PROFILES, TrainingProfile, check_converge_rule,
                                          get_training_profile, migrate_settings,
                                          name_profile)
from fser_utils.training.run import to_jsonable
from fser_utils.training.run_names import make_run_name

__all__ = ["RunConfig", "run_name", "describe_train_command", "find_feature_kind"]


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run, resolved and checked before any audio is read.

    The defaults here are the package's only ones: ``fser train`` takes its defaults
    from them (:meth:`defaults`), and :func:`~fser_utils.training.train.train_model` and
    :func:`~fser_utils.training.train.load_or_train` pass their keyword arguments
    through. Names are resolved on construction: after it, ``model`` is a
    :class:`~fser_utils.models.registry.ModelSpec`, ``profile`` a
    :class:`~fser_utils.training.profiles.TrainingProfile` with ``overrides`` applied
    (``overrides`` is then None), ``model_params`` the builder's keyword arguments over
    its registered ones, and
    ``feature_settings`` the settings of a feature kind.

    Attributes
    ----------
    model : str or ModelSpec
        A key of :data:`fser_utils.models.registry.MODELS`.
    profile : str, TrainingProfile or None
        See :data:`~fser_utils.training.profiles.PROFILES`; None takes the model's own.
    split : {"paper", "speaker", "corpus"}
        See :func:`fser_utils.data.splits.make_split`.
    test_corpus : str or None
        The corpus held out by ``split="corpus"`` (given with that split only).
    seed : int in [0, 2**32)
        Seeds the split, the weights, the augmentation and the batch order.
    overrides : dict or None
        Profile fields to change, e.g. ``{"flip": False}``; see
        :class:`~fser_utils.training.profiles.TrainingProfile`.
    model_params : dict or None
        Keyword arguments for the model's builder, over its registered defaults.
    feature_settings : settings of a feature kind, or None
        None: the model's feature kind with its default settings.

    Raises
    ------
    FserError
        Unknown model, profile, profile field, augmentation mode, split or corpus; a
        seed out of range; a test corpus missing for, or given without, the corpus split.
    """

    model: object = DEFAULT_MODEL
    profile: object = None
    split: str = "paper"
    test_corpus: str | None = None
    seed: int = 42
    overrides: dict | None = None
    model_params: dict | None = None
    feature_settings: object = None

    def __post_init__(self):
        from fser_utils.features.kinds import get_feature_settings
        from fser_utils.models.registry import get_model_spec

        spec = get_model_spec(self.model)
        p = get_training_profile(spec.profile if self.profile is None else self.profile,
                                 **(self.overrides or {}))
        _check_config(p, self.split, self.test_corpus, self.seed)
        fs = self.feature_settings
        resolved = {"model": spec, "profile": p, "overrides": None, "seed": int(self.seed),
                    "model_params": {**spec.params, **(self.model_params or {})},
                    "feature_settings": get_feature_settings(spec.features) if fs is None else fs}
        _check_model_features(spec, resolved["feature_settings"])
        for name, value in resolved.items():
            object.__setattr__(self, name, value)

    def __hash__(self) -> int:
        return hash(self.digest())

    @property
    def key(self) -> dict:
        """The part that decides whether a run folder is reused or resumed, as JSON reads
        it back (a run keeps it as ``config_key`` in its settings)."""
        return to_jsonable({
            "model": self.model.name, "model_params": self.model_params,
            "profile_settings": self.profile.asdict(), "features": self.feature_settings.asdict(),
            # the cache key carries the feature code's version, so a run trained on features
            # computed by older code counts as stale even when the settings read the same
            "features_key": self.feature_settings.key(),
            "split": self.split, "test_corpus": self.test_corpus, "seed": self.seed})

    def digest(self) -> str:
        """A short hash of :attr:`key`."""
        return hashlib.sha256(json.dumps(self.key, sort_keys=True).encode()).hexdigest()[:16]

    @classmethod
    def defaults(cls) -> dict:
        """The default of every field (what ``fser train`` uses without options)."""
        return {f.name: f.default for f in dataclasses.fields(cls)}


def _check_config(p: TrainingProfile, split: str, test_corpus, seed) -> None:
    from fser_utils.data.corpora import CORPORA
    from fser_utils.data.splits import SPLIT_KINDS

    if p.augment not in ("none", "offline", "online", "batch"):
        raise FserError(f"unknown augmentation mode '{p.augment}' (none, offline, online, batch)")
    check_converge_rule(p)
    if split not in SPLIT_KINDS:
        raise FserError(f"unknown split '{split}' (choose from: {', '.join(SPLIT_KINDS)})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed < 2 ** 32:
        raise FserError(f"the seed must be an integer in [0, 2**32), got {seed!r}")
    if split == "corpus" and not test_corpus:
        raise FserError("the corpus split needs --test-corpus (test_corpus), e.g. emodb")
    if split != "corpus" and test_corpus:
        raise FserError("--test-corpus (test_corpus) is only used with the corpus split")
    if test_corpus and test_corpus not in CORPORA:
        raise FserError(f"unknown test corpus '{test_corpus}' "
                        f"(choose from: {', '.join(c for c in CORPORA if c != 'demo')})")


def _check_model_features(spec, fs) -> None:
    """Refuse a feature kind the model cannot read, before any feature is computed: a
    scikit-learn model takes one vector per clip, a network a map (time x bands)."""
    ndim = len(tuple(fs.shape))
    kind = getattr(fs, "kind", type(fs).__name__)
    if spec.family == "sklearn" and ndim != 1:
        raise FserError(f"model '{spec.name}' reads one feature vector per clip (e.g. "
                        f"{spec.features}); '{kind}' features have shape {tuple(fs.shape)}")
    if spec.family == "keras" and ndim < 2:
        raise FserError(f"model '{spec.name}' reads a feature map per clip (e.g. "
                        f"{spec.features}); '{kind}' features are a vector of {fs.shape[0]}")


def run_name(profile, split: str = "paper", test_corpus: str | None = None, *,
             tag: str | None = None, model: str = "fser") -> str:
    """Default run folder name (:func:`fser_utils.training.run_names.make_run_name`), e.g.
    ``fser-quick-paper``, ``fser-quick-corpus-emodb``, ``fser-ci-paper-noflip``,
    ``tcn-budget-light-speaker``."""
    name = profile.name if isinstance(profile, TrainingProfile) else name_profile(str(profile))
    return make_run_name(model=getattr(model, "name", model), profile=name, split=split,
                         test_corpus=test_corpus, tag=tag)


def describe_train_command(settings: dict) -> str:
    """The ``fser train`` command that makes a run with these settings.

    Parameters
    ----------
    settings : dict
        A run's ``settings.json`` (:meth:`fser_utils.training.run.Run.load_settings`).

    Returns
    -------
    command : str
        Options that equal the model's defaults are left out. Profile changes that the
        command line cannot express follow as a ``#`` comment.
    """
    from fser_utils.models.registry import get_model_spec

    settings = migrate_settings(settings)  # an old profile name is the current one
    name = settings["model"]["name"]
    spec = get_model_spec(name)
    parts = ["fser train", f"--model {name}"]
    profile = settings["profile"]
    if profile != spec.profile:
        parts.append(f"--profile {profile}")
    features = find_feature_kind(settings.get("features"), spec.features)
    if features != spec.features:
        parts.append(f"--features {features}")
    parts.append(f"--split {settings['split']}")
    if settings.get("test_corpus"):
        parts.append(f"--test-corpus {settings['test_corpus']}")
    from fser_utils.data.corpora import name_used_corpora

    corpora = name_used_corpora(settings.get("corpora"))
    if corpora:
        parts.append(f"--corpora {corpora.replace('+', ',')}")
    parts.append(f"--seed {settings['seed']}")
    known = PROFILES[profile].asdict() if profile in PROFILES else {}
    changed = {k: v for k, v in settings.get("profile_settings", {}).items()
               if k in known and v != known[k]}
    if "epochs" in changed:
        parts.insert(-1, f"--epochs {changed.pop('epochs')}")
    if settings.get("profile_settings", {}).get("balance_corpora"):
        parts.insert(-1, "--balance-corpora")
    command = " ".join(parts)
    if changed:
        command += "  # profile changed: " + ", ".join(f"{k}={v}" for k, v in changed.items())
    return command


def find_feature_kind(recorded: dict | None, default: str) -> str:
    """The registered feature kind whose settings are ``recorded`` (the default when
    nothing is recorded or the default matches)."""
    from fser_utils.features.kinds import FEATURE_KINDS, get_feature_settings

    names = [default] + [n for n in FEATURE_KINDS if n != default]
    for name in names if recorded else []:
        if to_jsonable(get_feature_settings(name).asdict()) == to_jsonable(recorded):
            return name
    if recorded:
        raise FserError(f"the run's feature settings match no registered feature kind: "
                        f"{recorded}")
    return default
