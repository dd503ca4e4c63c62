"""Chapter 8's converged arms (issue 33): the profile, the stopping rule "train until
training accuracy levels off" across an interruption, both arms for one epoch on the demo
corpus, and the picture of test against training accuracy."""
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from fser_utils.errors import FserError
from fser_utils.paper import PAPER_RECIPE
from fser_utils.training.profiles import (PROFILES, TrainingProfile, check_converge_rule,
                                          get_training_profile, update_converge_rule)

#: a small enough copy of the recipe for CI: a few pictures, one copy each
TINY = {"max_train": 48, "n_copies": 1}


@pytest.fixture(scope="module")
def demo(demo_root):
    from fser_utils.data.catalogue import load_catalogue
    from fser_utils.features import load_features

    cat = load_catalogue(demo_root, corpora=("demo",))
    X, kept = load_features(cat, progress=False, cache=False, n_jobs=1)
    return kept, X


def test_paper_adam_is_the_papers_recipe_with_adam_and_the_rule():
    p, paper = PROFILES["converge"], PROFILES["paper"]
    assert (p.optimizer, p.learning_rate, p.batch_size) == ("adam", 1e-3, 64)
    assert (p.augment, p.n_copies) == ("offline", PAPER_RECIPE["n_copies"])
    assert p.epochs == PAPER_RECIPE["epochs"]  # the upper bound
    assert (p.converge_accuracy, p.converge_patience) == (0.99, 10)
    assert p.patience is None  # the epoch is kept on validation, never stopped on it
    # the same transforms as the honest paper run, so that only the optimiser differs
    changed = {k for k in paper.asdict() if paper.asdict()[k] != p.asdict()[k]}
    assert changed == {"name", "optimizer"}


def test_other_profiles_keep_their_recorded_settings():
    # stored and interrupted runs compare these dicts: the rule's fields must not appear
    rule = {"converge_accuracy", "converge_patience"}
    # balance_corpora and tempo, like the rule, are left out while off, so that stored
    # runs match
    optional = rule | {"balance_corpora", "tempo"}
    every = {f.name for f in dataclasses.fields(TrainingProfile)}
    for name, p in PROFILES.items():
        if name != "converge":
            assert not p.converges, name
            assert set(p.asdict()) == every - optional | ({"tempo"} if p.tempo else set()), name
    assert rule <= set(PROFILES["converge"].asdict())


def _drive(accuracies, profile, state=None, start=0):
    """Epochs ``start``.. of the rule over scripted accuracies; the stop epoch or None."""
    state = {} if state is None else state
    for epoch in range(start, len(accuracies)):
        if update_converge_rule(state, accuracies[epoch], profile):
            return epoch, state
    return None, state


RULE = get_training_profile("converge", converge_patience=3)


@pytest.mark.parametrize("accuracies, stop, reason", [
    ([0.5, 0.8, 0.95, 0.991, 0.5], 3, "converged"),
    ([0.5, 0.7, 0.7, 0.69, 0.7, 0.9], 4, "levelled off"),  # equal is no gain
    ([0.5, 0.6, 0.7, 0.8, 0.9], None, None),
])
def test_rule_stops_when_training_accuracy_levels_off(accuracies, stop, reason):
    epoch, state = _drive(accuracies, RULE)
    assert epoch == stop
    assert state.get("stop_reason") == reason
    assert state["best_train_accuracy"] == max(accuracies[:len(accuracies) if stop is None
                                                         else stop + 1])


def test_rule_is_off_for_other_profiles():
    state = {"epoch": 3}
    assert update_converge_rule(state, 1.0, PROFILES["paper"]) is None
    assert state == {"epoch": 3}


def test_rule_resumed_from_its_saved_state_stops_where_an_uninterrupted_run_does(tmp_path):
    rng = np.random.default_rng(0)
    # rises, then wanders below its best: levels off late, after several false starts
    accuracies = list(np.concatenate([np.linspace(0.3, 0.9, 15), np.full(25, 0.9)])
                      + rng.normal(0, 0.01, 40))
    full_stop, full_state = _drive(accuracies, RULE)
    assert full_stop is not None and full_stop > 10
    for cut in range(1, full_stop + 1):
        # interrupted after epoch cut - 1: the state goes through state.json and back
        _, state = _drive(accuracies[:cut], RULE)
        path = tmp_path / "state.json"
        path.write_text(json.dumps(state))
        stop, resumed = _drive(accuracies, RULE, json.loads(path.read_text()), start=cut)
        assert stop == full_stop, cut
        assert resumed == full_state, cut


def test_rule_refuses_bad_settings_and_the_resident_loop():
    from fser_utils.training.run_config import RunConfig

    with pytest.raises(FserError, match="converge_accuracy"):
        RunConfig(model="fser", profile="converge", overrides={"converge_accuracy": 1.5})
    with pytest.raises(FserError, match="converge_patience"):
        RunConfig(model="fser", profile="converge", overrides={"converge_patience": 0})
    with pytest.raises(FserError, match="--loop fit"):
        check_converge_rule(PROFILES["converge"], loop="resident")
    check_converge_rule(PROFILES["paper"], loop="resident")  # no rule, nothing to refuse


def test_commands_refuse_the_rule_with_the_resident_loop_before_reading(tmp_path, capsys):
    from fser_utils.cli import main

    # an empty data root: refused before it is read ("no corpus found" would come later)
    for argv in (["train", "--model", "fser", "--profile", "converge", "--loop", "resident"],
                 ["leak", "pooled", "--profile", "converge", "--loop", "resident"]):
        assert main(argv + ["--root", str(tmp_path), "--out", str(tmp_path / "run")]) == 2
        err = capsys.readouterr().err
        assert "--loop fit" in err and "no corpus found" not in err
    assert not (tmp_path / "run").exists()


def test_interrupted_run_resumes_the_rules_count(demo, tmp_path):
    import keras

    from fser_utils.training.results import load_run
    from fser_utils.training.train import train_model

    kept, X = demo

    def interrupt(epoch, logs):
        raise KeyboardInterrupt  # after the first epoch's checkpoint

    out = tmp_path / "run"
    ov = {**TINY, "epochs": 5, "converge_accuracy": None, "converge_patience": 2}
    with pytest.raises(KeyboardInterrupt):
        train_model(kept, X, model="fser", profile="converge", out=out, verbose=0,
                    overrides=ov, callbacks=[keras.callbacks.LambdaCallback(
                        on_epoch_end=interrupt)])
    path = out / "checkpoints" / "state.json"
    state = json.loads(path.read_text())
    history = pd.read_csv(out / "history.csv")
    assert (state["epoch"], state["train_wait"]) == (0, 0)
    assert state["best_train_accuracy"] == pytest.approx(history["accuracy"].iloc[0])
    # a level no epoch can beat, so the rule stops two epochs after the resume only if it
    # carries on from the saved count; a fresh count would improve on its first epoch
    state.update(best_train_accuracy=1.0, train_wait=0)
    path.write_text(json.dumps(state))
    train_model(kept, X, model="fser", profile="converge", out=out, verbose=0, overrides=ov)
    m = load_run(out)["metrics"]
    assert (m["epochs_run"], m["stop_reason"]) == (3, "levelled off")
    assert json.loads(path.read_text())["train_wait"] == 2


def test_both_arms_for_one_epoch(demo, tmp_path, capsys):
    from matplotlib.figure import Figure

    from fser_utils.studies.converged import (compute_arm_combinations,
                                              compute_pooled_test_predictions)
    from fser_utils.studies.leaks import compute_leak_curves
    from fser_utils.studies.pooled_arm import train_pooled_arm
    from fser_utils.training.run import Run
    from fser_utils.plotting import plot_leak_curves
    from fser_utils.training.results import load_run
    from fser_utils.training.train import train_model

    kept, X = demo
    honest = train_model(kept, X, model="fser", profile="converge", out=tmp_path / "honest",
                         verbose=0, overrides={**TINY, "epochs": 1}, log_test=True)
    # verbose=0 (fser train --quiet): not even the offline copies draw a progress bar
    assert "augmenting" not in capsys.readouterr().err
    run = load_run(honest)
    assert run["metrics"]["stop_reason"] == "epochs"
    assert run["settings"]["profile"] == "converge"
    # copies of the training part only: 48 clips, each with one copy
    assert run["settings"]["n_train"] == 48 and run["settings"]["n_train_images"] == 96
    assert "test_accuracy" in run["history"]

    # arm (a) with a level reached at once: it stops on the rule after one epoch of two
    pooled = train_pooled_arm(kept, X, out=tmp_path / "pooled", profile="converge",
                              overrides={**TINY, "epochs": 2, "converge_accuracy": 0.01},
                              n_boot=20, verbose=0, log_test=True)
    m = pooled.load_metrics()
    assert (m["stop_reason"], m["epochs_run"]) == ("converged", 1)
    assert m["n_test"] == round(0.2 * len(kept) * 2)  # pooled pictures, not clips
    for name in ("settings.json", "history.csv", "metrics.json", "checkpoints/state.json"):
        assert (pooled.path / name).exists(), name

    table = compute_leak_curves({"honest": honest, "(a)": pooled.path})
    assert table["arm"].tolist() == ["honest", "(a)"] and table["kept"].all()
    ax = plot_leak_curves(table, ax=Figure().subplots())
    assert len(ax.lines) == 2 + 1 + 1  # the arms, the diagonal, the paper's line

    # arm (a) keeps one prediction per test picture; the seeded pool rebuilds them
    stored = pooled.load_predictions()
    assert len(stored) == m["n_test"] and {"picture", "twin", "relpath"} <= set(stored)
    rebuilt = compute_pooled_test_predictions(pooled, kept, X)
    assert rebuilt["picture"].tolist() == stored["picture"].tolist()
    assert (rebuilt["predicted"] == stored["predicted"]).mean() > 0.95
    combos = compute_arm_combinations(Run.open(honest, finished=True), pooled, kept, n_boot=20)
    assert combos["mistakes"].tolist()[:5] == ["", "b", "c", "a", "ab"]
    assert combos.loc[combos["mistakes"] == "a", "n"].item() == m["n_test"]


def test_leak_curves_from_fabricated_histories():
    from fser_utils.studies.leaks import compute_leak_curves

    honest = pd.DataFrame({"epoch": [0, 1, 2], "accuracy": [0.5, 0.8, 0.99],
                           "val_accuracy": [0.4, 0.6, 0.55], "test_accuracy": [0.4, 0.58, 0.6]})
    leak = honest.assign(val_accuracy=[0.5, 0.8, 0.97], test_accuracy=[0.5, 0.79, 0.96])
    table = compute_leak_curves({"honest": honest, "(a)": leak})
    assert list(table.columns) == ["arm", "epoch", "train_accuracy", "val_accuracy",
                                   "test_accuracy", "kept"]
    h = table[table["arm"] == "honest"]
    assert h["epoch"].tolist() == [1, 2, 3]
    assert h["test_accuracy"].tolist() == pytest.approx([40, 58, 60])
    assert h["kept"].tolist() == [False, True, False]  # validation decides, not test
    assert table.loc[table["arm"] == "(a)", "kept"].tolist() == [False, False, True]
    with pytest.raises(FserError, match="--log-test"):
        compute_leak_curves({"honest": honest.drop(columns="test_accuracy")})
    with pytest.raises(FserError, match="no epochs"):
        compute_leak_curves({"honest": honest.iloc[:0]})


def test_plot_leak_curves_draws_each_arm_and_marks_the_kept_epoch():
    from matplotlib.figure import Figure

    from fser_utils.plotting import plot_leak_curves

    table = pd.DataFrame({"arm": ["honest"] * 3 + ["(a)"] * 3, "epoch": [1, 2, 3] * 2,
                          "train_accuracy": [50, 80, 99, 50, 80, 99],
                          "val_accuracy": [40, 60, 55, 50, 80, 97],
                          "test_accuracy": [40, 58, 60, 50, 79, 96],
                          "kept": [False, True, False, False, False, True]})
    ax = plot_leak_curves(table, ax=Figure().subplots(), paper=False)
    arms = {line.get_label(): line for line in ax.lines}
    assert set(arms) == {"honest", "(a)", "test = training"}
    np.testing.assert_allclose(arms["(a)"].get_xydata(), [[50, 50], [80, 79], [99, 96]])
    stars = [c.get_offsets() for c in ax.collections if len(c.get_offsets())]
    assert sorted(map(tuple, np.vstack(stars).tolist())) == [(80, 58), (99, 96)]
    assert ax.get_xlabel().startswith("training accuracy")
