"""Training profiles (recipes) and the rule that stops training when it levels off.

A :class:`TrainingProfile` names everything about how a network is fitted (optimizer,
schedule, batch size, augmentation, epochs and stopping) and nothing about what is
fitted; :data:`PROFILES` holds the book's recipes, each named by what it is for: from
seconds for the tests (``ci``) through a first look in minutes on a CPU (``quick``) to
the paper's 400 epochs (``paper``). Runs made before the recipes had these names still
read: :data:`PROFILE_ALIASES` maps each old name to its new one
(:func:`name_profile`). The optional stopping rule on training accuracy
(:func:`update_converge_rule`) lives here with the profile fields that switch it on, so
that the fit loop, the run's metrics and chapter 8's pooled arm read one definition.
"""
from __future__ import annotations

import dataclasses

from fser_utils.errors import FserError
from fser_utils.paper import PAPER_RECIPE

__all__ = [
    "TrainingProfile",
    "PROFILES",
    "PROFILE_ALIASES",
    "PROFILE_PURPOSES",
    "name_profile",
    "list_old_names",
    "migrate_settings",
    "get_training_profile",
    "STOP_REASONS",
    "update_converge_rule",
    "check_converge_rule",
    "describe_stop",
]


@dataclasses.dataclass(frozen=True)
class TrainingProfile:
    """A training recipe.

    Attributes
    ----------
    name : str
    epochs : int > 0
        Most epochs to run.
    batch_size : int > 0
    optimizer : {"sgd", "adam", "adamw"}
    learning_rate : float > 0
        Peak learning rate.
    momentum : float in [0, 1)
        SGD only.
    schedule : {"constant", "cosine"}
        ``cosine`` decays to 0 over ``epochs`` after ``warmup_epochs`` of linear warm-up.
    warmup_epochs : int >= 0
    weight_decay : float >= 0
        AdamW only.
    label_smoothing : float in [0, 1)
    augment : {"none", "offline", "online", "batch"}
        ``offline``: ``n_copies`` transformed copies of every training image made
        before training (the paper); ``online``: a fresh random copy every epoch
        (image transforms as Keras layers); ``batch``: time shift, SpecAugment and
        mixup on each batch of spectrogram or MFCC arrays
        (:func:`fser_utils.training.augment.compute_batch_augmentation`).
    n_copies : int >= 0
        Copies per image for ``offline``.
    width_shift, height_shift, zoom : float in [0, 1)
    flip : bool
        Horizontal flip, i.e. time reversal.
    specaugment : bool
        Time and frequency masking.
    patience : int > 0 or None
        Stop after this many epochs without a better validation accuracy; ``None``
        runs every epoch (the best epoch is still the one kept).
    max_train : int > 0 or None
        Use at most this many training images (a seeded random subset), for quick runs.
    mixed_precision : bool
        float16 compute on a GPU (ignored on a CPU, where it is slower).
    mixup : float >= 0
        Beta parameter of mixup for ``augment="batch"`` (0: off).
    time_shift : float in [0, 1)
        Largest circular time shift for ``augment="batch"``, as a fraction of the frames.
    freq_warp : float in [0, 1)
        Largest stretch of a spectrogram's frequency axis for ``augment="batch"``
        (vocal tract length perturbation; 0: off).
    tempo : float in [0, 1)
        Largest stretch of the time axis for ``augment="batch"`` (tempo perturbation:
        faster or slower speech at the same pitch; 0: off).
    converge_accuracy : float in (0, 1] or None
        Stop once the epoch's training accuracy reaches this (``stop_reason``
        "converged"); ``None``: off. ``epochs`` stays the upper bound, and the epoch
        kept is still the one with the best validation accuracy.
    converge_patience : int > 0 or None
        Stop once training accuracy has not improved for this many epochs ("levelled
        off"); ``None``: off. See :func:`update_converge_rule`.
    balance_corpora : bool
        Each corpus weighs the same in training, whatever its number of clips (RAVDESS
        has 1440, URDU 400): a scikit-learn model weighs each training clip by one over
        its corpus's clips, a network draws each epoch's clips with those probabilities
        (:func:`fser_utils.training.augment.make_batch_sequence`). A remedy for a corpus or
        language unseen in training, where the largest corpus would otherwise set what
        "neutral" sounds like.
    """

    name: str
    epochs: int
    batch_size: int = 64
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    schedule: str = "constant"
    warmup_epochs: int = 0
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    augment: str = "none"
    n_copies: int = 20
    width_shift: float = 0.1
    height_shift: float = 0.1
    zoom: float = 0.1
    flip: bool = True
    specaugment: bool = False
    patience: int | None = None
    max_train: int | None = None
    mixed_precision: bool = False
    mixup: float = 0.0
    time_shift: float = 0.0
    freq_warp: float = 0.0
    tempo: float = 0.0
    converge_accuracy: float | None = None
    converge_patience: int | None = None
    balance_corpora: bool = False

    def asdict(self) -> dict:
        out = dataclasses.asdict(self)
        # a profile without the stopping rule, balancing or tempo changes reads as before
        # they existed, so that stored and interrupted runs keep their configuration key
        # (and stay reused and resumable)
        for name in _LEFT_OUT_WHEN_OFF:
            if not out[name]:  # None, False or 0: off
                del out[name]
        return out

    @property
    def converges(self) -> bool:
        """Whether the training-accuracy stopping rule is on."""
        return self.converge_accuracy is not None or self.converge_patience is not None


#: fields added after runs were stored, left out of a profile's record while off
_LEFT_OUT_WHEN_OFF = ("converge_accuracy", "converge_patience", "balance_corpora", "tempo")


# the log-mel CNN's recipe (chapter 9): AdamW, warm-up then cosine decay, label smoothing,
# time shift + SpecAugment + mixup on every batch. 120 epochs: the budget with the best
# validation accuracy on unseen speakers among those that fit 30 minutes of the book's
# 2-core CPU (chapter 11); chapter 9's comparison ran 40
_CNN_RECIPE = TrainingProfile("budget", epochs=120, batch_size=32, optimizer="adamw",
                              learning_rate=2e-3, schedule="cosine", warmup_epochs=3,
                              weight_decay=1e-2, label_smoothing=0.1, augment="batch",
                              specaugment=True, mixup=0.2, time_shift=0.1)

class _Profiles(dict):
    """The profiles by name; an old name (:data:`PROFILE_ALIASES`) reads as its new one,
    so that code written before the renaming still finds its recipe."""

    def __missing__(self, key):
        if key in PROFILE_ALIASES:
            return self[PROFILE_ALIASES[key]]
        raise KeyError(key)


PROFILES = _Profiles({
    # seconds on a CPU, for tests and CI: a subset, no augmentation, Adam
    "ci": TrainingProfile("ci", epochs=10, batch_size=16, optimizer="adam",
                          learning_rate=1e-3, augment="none", max_train=640),
    # the best we found for a 2-core CPU in a few minutes: Adam, cosine decay over 30
    # epochs, early stopping on validation accuracy, and no augmentation, which won the
    # augmentation ablation of chapter 4 (on validation accuracy) at this budget
    "quick": TrainingProfile("quick", epochs=30, batch_size=64, optimizer="adam",
                           learning_rate=1e-3, schedule="cosine", augment="none",
                           patience=10),
    # the paper, as written: offline 20x augmentation, plain SGD at 0.001, batch 64,
    # categorical cross-entropy, up to 400 epochs (meant for a GPU): fser_utils.paper
    "paper": TrainingProfile("paper", epochs=PAPER_RECIPE["epochs"],
                             batch_size=PAPER_RECIPE["batch_size"],
                             optimizer=PAPER_RECIPE["optimizer"],
                             learning_rate=PAPER_RECIPE["learning_rate"], augment="offline",
                             n_copies=PAPER_RECIPE["n_copies"]),
    # ours for one GPU: AdamW with warm-up and cosine decay, larger batches, fresh
    # augmentation every epoch (no time reversal, SpecAugment masks instead), label
    # smoothing, mixed precision
    "tuned": TrainingProfile("tuned", epochs=150, batch_size=128, optimizer="adamw",
                            learning_rate=2e-3, schedule="cosine", warmup_epochs=5,
                            weight_decay=1e-4, label_smoothing=0.1, augment="online",
                            flip=False, specaugment=True, patience=40,
                            mixed_precision=True),
    "budget": _CNN_RECIPE,
    # for small networks (the TCN of chapter 9): the log-mel CNN's recipe without mixup, SpecAugment and
    # label smoothing, under which the small TCN underfitted (37 % training accuracy
    # after 40 epochs); the time shift stays. 120 epochs beat 40 on the speaker split's
    # validation parts (3 seeds each)
    "budget-light": dataclasses.replace(_CNN_RECIPE, name="budget-light", mixup=0.0, specaugment=False,
                               label_smoothing=0.0),
    # scikit-learn models fit once; the profile only records that
    "fit-once": TrainingProfile("fit-once", epochs=1, augment="none"),
})
# the recipe of the default model and the shipped recognizer: the log-mel CNN's recipe plus
# vocal tract length perturbation, a random stretch of the mel axis by up to 10 % either
# way, aimed at the gap between seen and unseen speakers
PROFILES["recognizer"] = dataclasses.replace(PROFILES["budget"], name="recognizer",
                                             freq_warp=0.1)
# a remedy tried for an unseen language (the model card): the recognizer's recipe with
# its speech also made up to 10 % faster or slower at random, at the same pitch
PROFILES["recognizer-tempo"] = dataclasses.replace(PROFILES["recognizer"],
                                                   name="recognizer-tempo", tempo=0.1)
# chapter 8's converged arms (issue 33): the paper's recipe (20 offline copies, batch 64,
# rate 0.001) with Adam instead of plain SGD, which after 400 epochs still had not fitted
# its training pictures, trained until training accuracy levels off, so that each arm
# shows what it gives once the network has learnt its training set. The paper's 400
# epochs bound the run
PROFILES["converge"] = dataclasses.replace(PROFILES["paper"], name="converge",
                                           optimizer="adam", converge_accuracy=0.99,
                                           converge_patience=10)

#: what each profile is for, in a few words (``fser train --help``)
PROFILE_PURPOSES = {
    "ci": "seconds, for the tests", "quick": "a first look in minutes on a CPU",
    "paper": "the paper's recipe, 400 epochs", "converge": "the paper's until training levels off",
    "tuned": "the paper's network, tuned for a GPU", "budget": "chapter 9's models, 30 CPU minutes",
    "budget-light": "budget, lightly augmented, for small networks",
    "recognizer": "budget plus warping, the default model's",
    "recognizer-tempo": "recognizer plus tempo changes", "fit-once": "scikit-learn models"}

#: the names the recipes had before they were named by purpose (hardware, model or
#: optimiser): runs made under them are read as made under the new name
PROFILE_ALIASES = {"cpu": "quick", "fast": "tuned", "cnn": "budget", "tcn": "budget-light",
                   "cnn-warp": "recognizer", "classical": "fit-once", "paper-adam": "converge"}


def name_profile(name):
    """The current name of the profile ``name`` (itself, or its new name when it is one of
    :data:`PROFILE_ALIASES`); anything else is returned unchanged."""
    return PROFILE_ALIASES.get(name, name) if isinstance(name, str) else name


def list_old_names(name: str) -> list[str]:
    """The names the profile ``name`` had before profiles were named by purpose (the keys
    of :data:`PROFILE_ALIASES` that lead to it), so that its older runs are found."""
    return [old for old, new in PROFILE_ALIASES.items() if new == name]


def migrate_settings(settings: dict) -> dict:
    """A run's settings with every profile name current: a run made before the profiles
    were named by purpose (``cpu`` is now ``quick``, :data:`PROFILE_ALIASES`)
    keeps its configuration key, so it is reused and resumed, not trained again.

    Parameters
    ----------
    settings : dict
        As read from ``settings.json``; not modified.

    Returns
    -------
    settings : dict
        A copy with ``profile``, ``profile_settings.name``, ``recipe_profile.name`` and
        the same in ``config_key`` renamed where they held an old name.
    """
    def renamed(d: dict) -> dict:
        d = dict(d)
        if "profile" in d:
            d["profile"] = name_profile(d["profile"])
        for field in ("profile_settings", "recipe_profile"):  # recipe_profile: a pooled arm's
            if isinstance(d.get(field), dict) and "name" in d[field]:
                d[field] = {**d[field], "name": name_profile(d[field]["name"])}
        return d

    if not isinstance(settings, dict):
        return settings
    out = renamed(settings)
    if isinstance(out.get("config_key"), dict):
        out["config_key"] = renamed(out["config_key"])
    return out


def get_training_profile(profile="ci", **overrides) -> TrainingProfile:
    """A profile by name (or as given), with some fields replaced. An old name
    (:data:`PROFILE_ALIASES`) gives the profile it became.

    Raises
    ------
    FserError
        Unknown profile name or field.
    """
    if isinstance(profile, TrainingProfile):
        base = profile
    elif name_profile(profile) in PROFILES:
        base = PROFILES[name_profile(profile)]
    else:
        raise FserError(f"unknown profile '{profile}' (choose from: {', '.join(PROFILES)})")
    fields = {f.name for f in dataclasses.fields(TrainingProfile)}
    bad = sorted(set(overrides) - fields)
    if bad:
        raise FserError(f"unknown profile setting(s): {', '.join(bad)}")
    return dataclasses.replace(base, **overrides) if overrides else base


#: why a run with the training-accuracy rule stopped (``stop_reason`` in its metrics):
#: the rule's two reasons, the validation patience, or the epoch budget spent
STOP_REASONS = ("converged", "levelled off", "no validation gain", "epochs")


def update_converge_rule(state: dict, train_accuracy: float, profile: TrainingProfile):
    """One epoch of the rule "train until training accuracy levels off".

    Parameters
    ----------
    state : dict
        The run's training state (``checkpoints/state.json``), updated in place: the
        rule keeps ``best_train_accuracy`` and ``train_wait`` (epochs since it last
        improved) there, so that a resumed run continues the count it had.
    train_accuracy : float in [0, 1]
        This epoch's training accuracy.
    profile : TrainingProfile
        Its ``converge_accuracy`` and ``converge_patience``; without either, nothing
        is changed.

    Returns
    -------
    reason : {"converged", "levelled off"} or None
        Why training stops after this epoch (also kept as ``state["stop_reason"]``);
        ``None`` to go on.
    """
    if not profile.converges:
        return None
    state.setdefault("best_train_accuracy", -1.0)
    state.setdefault("train_wait", 0)
    acc = float(train_accuracy)
    if acc > state["best_train_accuracy"]:
        state.update(best_train_accuracy=acc, train_wait=0)
    else:
        # a NaN accuracy counts as no gain: it can never be the level reached
        state["train_wait"] += 1
    reason = None
    if profile.converge_accuracy is not None and acc >= profile.converge_accuracy:
        reason = "converged"
    elif profile.converge_patience is not None \
            and state["train_wait"] >= profile.converge_patience:
        reason = "levelled off"
    if reason:
        state["stop_reason"] = reason
    return reason


def check_converge_rule(profile: TrainingProfile, *, loop: str = "fit") -> None:
    """Refuse a stopping rule that cannot apply, before any work.

    Raises
    ------
    FserError
        Bad ``converge_accuracy`` or ``converge_patience``; the rule with the resident
        loop, which does not run it.
    """
    acc, wait = profile.converge_accuracy, profile.converge_patience
    if acc is not None and not (isinstance(acc, (int, float)) and 0 < acc <= 1):
        raise FserError(f"converge_accuracy must lie in (0, 1], not {acc!r}")
    if wait is not None and (isinstance(wait, bool) or not isinstance(wait, int) or wait < 1):
        raise FserError(f"converge_patience must be a whole number of epochs >= 1, "
                        f"not {wait!r}")
    if profile.converges and loop != "fit":
        raise FserError(f"profile '{profile.name}' stops when training accuracy levels off, "
                        f"which only the default loop does: use --loop fit")


def describe_stop(state: dict, p: TrainingProfile, epochs_run: int) -> dict:
    """The ``stop_reason`` entry of a finished run's metrics.

    Parameters
    ----------
    state : dict
        The run's training state after its last epoch (see :func:`update_converge_rule`).
    p : TrainingProfile
    epochs_run : int >= 0

    Returns
    -------
    entry : dict
        ``{"stop_reason": reason}``, one of :data:`STOP_REASONS`, for a profile with the
        stopping rule; empty otherwise.
    """
    if not p.converges:
        return {}
    reason = state.get("stop_reason")
    if reason is None:
        reason = "epochs" if epochs_run >= p.epochs else "no validation gain"
    return {"stop_reason": reason}
