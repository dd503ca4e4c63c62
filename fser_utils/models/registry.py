"""The model registry: every network or classifier the package can train, by name.

A :class:`ModelSpec` ties a builder to the feature kind it reads and the training
profile it is meant for. ``fser train --model NAME`` and
:func:`fser_utils.training.train.train_model` look the name up here, so adding a model is one
:func:`register_model` call plus its builder::

    register_model(ModelSpec("tiny", build_tiny, features="mel-image", profile="ci"))

Builders of the ``keras`` family take ``input_shape`` and ``n_classes`` (keyword-only)
and return an uncompiled ``keras.Model`` ending in a softmax; builders of the
``sklearn`` family take the same and return an unfitted estimator with
``predict_proba``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

from fser_utils.errors import FserError

__all__ = ["ModelSpec", "MODELS", "DEFAULT_MODEL", "register_model", "get_model_spec",
           "describe_models", "list_public_models"]


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    Attributes
    ----------
    name : str
        Registry key (``fser train --model NAME``).
    build : callable
        ``build(input_shape=..., n_classes=..., **params)``.
    features : str
        Feature kind (a key of :data:`fser_utils.features.kinds.FEATURE_KINDS`).
    profile : str
        Its default training profile (a key of :data:`fser_utils.training.profiles.PROFILES`).
    family : {"keras", "sklearn"}
    params : dict
        Default keyword arguments of ``build``, recorded with every run.
    description : str
    speaker_norm : bool
        Standardise the features over each speaker's clips before the model sees them
        (:mod:`fser_utils.features.speaker_norm`), in training and in scoring. Such a model
        scores a batch of clips of one speaker, never a single clip.
    clip_norm : bool
        Standardise each clip's frame-wise features over its own speech frames
        (:func:`fser_utils.features.speaker_norm.normalize_per_clip`), in training and in scoring;
        such a model still scores a single clip.
    corpus_norm : bool
        Standardise the features over each corpus's clips
        (:func:`fser_utils.features.speaker_norm.normalize_per_corpus`), in training and in
        scoring: a held-out corpus is standardised over its own (unlabelled) clips. Such a
        model scores a batch of clips from one setting (one corpus, one microphone and
        room), never a single clip. At most one of ``speaker_norm``, ``clip_norm`` and
        ``corpus_norm``.
    speaker_adversary : float >= 0
        Keras networks with a ``logits`` layer only: while training, a speaker classifier
        reads the features under ``logits`` through a gradient reversal of this weight
        (:func:`fser_utils.models.networks.build_speaker_adversary`); 0 trains without one.
        Scoring uses the network alone, so such a model still scores a single clip.
    adversary_ramp : bool
        Raise the reversal from 0 to ``speaker_adversary`` during training
        (:func:`fser_utils.models.networks.compute_adversary_ramp`) instead of applying it fully
        from the first epoch.
    adversary_speedup : float >= 1
        How many times faster than the network the speaker classifier learns (its
        ``speedup``); 1 gives it the network's own learning rate.
    public : bool
        A model a user should pick (the default, the paper's CNN, the best per-speaker
        and the classical ones): ``fser train --help`` lists these; the others are the
        experiment variants kept to reproduce chapter 9 (``fser train --list-models``).
    """

    name: str
    build: Callable
    features: str
    profile: str
    family: str = "keras"
    params: dict = field(default_factory=dict)
    description: str = ""
    speaker_norm: bool = False
    clip_norm: bool = False
    corpus_norm: bool = False
    speaker_adversary: float = 0.0
    adversary_ramp: bool = False
    adversary_speedup: float = 1.0
    public: bool = False

    def __post_init__(self):
        if self.speaker_norm + self.clip_norm + self.corpus_norm > 1:
            raise FserError(f"model '{self.name}': standardise per speaker, per clip or per "
                            "corpus: one of them")
        if self.speaker_adversary < 0 or (self.speaker_adversary and self.family != "keras"):
            raise FserError(f"model '{self.name}': a speaker adversary needs a Keras "
                            f"network and a weight >= 0, not {self.speaker_adversary}")
        if self.adversary_speedup < 1:
            raise FserError(f"model '{self.name}': a speaker classifier's speedup must be "
                            f">= 1, not {self.adversary_speedup}")
        if not self.speaker_adversary and (self.adversary_ramp or self.adversary_speedup != 1):
            # refused rather than trained as a plain network that ignores them
            raise FserError(f"model '{self.name}': adversary_ramp and adversary_speedup need "
                            "a speaker adversary (speaker_adversary > 0)")

    def asdict(self) -> dict:
        out = dataclasses.asdict(self)
        out["build"] = f"{self.build.__module__}.{self.build.__qualname__}"
        return out


MODELS: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add (or replace) a model in :data:`MODELS`; returns it."""
    if spec.family not in ("keras", "sklearn"):
        raise FserError(f"model family must be 'keras' or 'sklearn', got '{spec.family}'")
    MODELS[spec.name] = spec
    return spec


def get_model_spec(name) -> ModelSpec:
    """The registered model called ``name`` (a :class:`ModelSpec` is returned as is)."""
    if isinstance(name, ModelSpec):
        return name
    if name not in MODELS:
        raise FserError(f"unknown model '{name}' (choose from: {', '.join(MODELS)})")
    return MODELS[name]


def list_public_models() -> list[str]:
    """Names of the models a user should pick (``public``), in registry order."""
    return [m.name for m in MODELS.values() if m.public]


def describe_models():
    """The registry as a table: one row per model (features, profile, family, what its
    features are standardised over: ``"speaker"``, ``"corpus"``, ``"clip"`` or ``""``,
    the weight of its speaker adversary, ``"yes"`` if public, description)."""
    import pandas as pd

    return pd.DataFrame([{"model": m.name, "features": m.features, "profile": m.profile,
                          "family": m.family, "standardised per": _standardised_per(m),
                          "speaker adversary": m.speaker_adversary,
                          "public": "yes" if m.public else "", "description": m.description}
                         for m in MODELS.values()]).set_index("model")


def _standardised_per(spec: ModelSpec) -> str:
    # one column for the three exclusive normalisations, read in words, not as booleans
    return ("speaker" if spec.speaker_norm else "corpus" if spec.corpus_norm
            else "clip" if spec.clip_norm else "")


# --- the built-in entries; builders import their frameworks only when called -----------

def _build_fser(**kw):
    from fser_utils.models.paper_cnn import build_fser

    return build_fser(**kw)


def _build_logmel_cnn(**kw):
    from fser_utils.models.networks import build_logmel_cnn

    return build_logmel_cnn(**kw)


def _build_tcn(**kw):
    from fser_utils.models.networks import build_tcn

    return build_tcn(**kw)


def _build_svm(**kw):
    from fser_utils.models.classical import build_svm

    return build_svm(**kw)


register_model(ModelSpec(
    "fser", _build_fser, features="mel-image", profile="quick",
    public=True,
    description="the paper's CNN on 64 x 64 RGB mel images"))
register_model(ModelSpec(
    "logmel-cnn", _build_logmel_cnn, features="logmel", profile="budget",
    description="batch-normalised CNN with global pooling on 64-band log-mel"))
register_model(ModelSpec(
    "logmel-cnn-spk", _build_logmel_cnn, features="logmel", profile="budget", speaker_norm=True,
    description="the log-mel CNN on spectrograms standardised per speaker and band"))
register_model(ModelSpec(
    "logmel-cnn-deep", _build_logmel_cnn, features="logmel", profile="budget",
    params={"convs_per_block": 2},
    description="the log-mel CNN with two convolutions per block (three times the cost)"))
register_model(ModelSpec(
    "logmel-cnn-warp", _build_logmel_cnn, features="logmel", profile="recognizer",
    public=True,
    description="the log-mel CNN trained with random stretches of the mel axis (VTLP)"))
register_model(ModelSpec(
    "logmel-cnn-warp-corpus", _build_logmel_cnn, features="logmel", profile="recognizer",
    corpus_norm=True,
    description="logmel-cnn-warp on spectrograms standardised per corpus and band"))
register_model(ModelSpec(
    "logmel-cnn-clip", _build_logmel_cnn, features="logmel", profile="budget", clip_norm=True,
    description="the log-mel CNN on spectrograms standardised per clip and band"))
register_model(ModelSpec(
    "logmel-cnn-delta", _build_logmel_cnn, features="logmel", profile="budget",
    params={"deltas": True},
    description="the log-mel CNN reading deltas and delta-deltas as two more channels"))
register_model(ModelSpec(
    "logmel-cnn-att", _build_logmel_cnn, features="logmel", profile="budget",
    params={"pooling": "attention"},
    description="the log-mel CNN with attentive statistics pooling over time"))
register_model(ModelSpec(
    "logmel-cnn-wide", _build_logmel_cnn, features="logmel", profile="budget",
    params={"filters": (64, 128, 256, 512)},
    description="the log-mel CNN with twice the channels in every block"))
register_model(ModelSpec(
    "logmel-cnn-wide-spk", _build_logmel_cnn, features="logmel", profile="budget",
    speaker_norm=True, params={"filters": (64, 128, 256, 512)},
    public=True,
    description="the wider log-mel CNN on spectrograms standardised per speaker and band"))
register_model(ModelSpec(
    "logmel-cnn-adv", _build_logmel_cnn, features="logmel", profile="budget",
    speaker_adversary=0.3,
    description="the log-mel CNN trained against a speaker classifier (gradient reversal)"))
register_model(ModelSpec(
    "logmel-cnn-adv-strong", _build_logmel_cnn, features="logmel", profile="budget",
    speaker_adversary=1.0,
    description="logmel-cnn-adv with the reversed speaker gradient at full weight"))
register_model(ModelSpec(
    "logmel-cnn-adv-ramp", _build_logmel_cnn, features="logmel", profile="budget",
    speaker_adversary=1.0, adversary_ramp=True,
    description="logmel-cnn-adv-strong with the reversal raised from 0 as training goes"))
register_model(ModelSpec(
    "logmel-cnn-fine", _build_logmel_cnn, features="logmel", profile="budget",
    params={"stem_stride": 1},
    description="the log-mel CNN whose first block keeps the full time-frequency resolution"))
register_model(ModelSpec(
    "tcn", _build_tcn, features="mfcc", profile="budget-light", params={"input_norm": True},
    description="bidirectional multi-scale dilated TCN on 39 MFCCs (TIM-Net's idea)"))
register_model(ModelSpec(
    "svm-egemaps", _build_svm, features="egemaps", profile="fit-once", family="sklearn",
    public=True,
    description="RBF SVM on 88 eGeMAPSv02 functionals"))
register_model(ModelSpec(
    "svm-compare", _build_svm, features="compare", profile="fit-once", family="sklearn",
    description="RBF SVM on 6373 ComParE_2016 functionals"))
register_model(ModelSpec(
    "svm-egemaps-spk", _build_svm, features="egemaps", profile="fit-once", family="sklearn",
    speaker_norm=True,
    description="RBF SVM on eGeMAPSv02 functionals standardised per speaker"))
register_model(ModelSpec(
    "svm-egemaps-corpus", _build_svm, features="egemaps", profile="fit-once", family="sklearn",
    corpus_norm=True,
    description="RBF SVM on eGeMAPSv02 functionals standardised per corpus"))
register_model(ModelSpec(
    "svm-compare-spk", _build_svm, features="compare", profile="fit-once", family="sklearn",
    speaker_norm=True,
    public=True,
    description="RBF SVM on ComParE_2016 functionals standardised per speaker"))

#: what ``fser train`` trains and ``fser predict`` uses without ``--model``: of the models
#: that score a single clip (no ``speaker_norm`` or ``corpus_norm``), each at its own recipe, the one with the
#: best mean validation accuracy on unseen speakers (chapter 9, section 7, asserts it)
DEFAULT_MODEL = "logmel-cnn-warp"
