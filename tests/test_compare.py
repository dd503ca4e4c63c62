"""Chapter 9's comparison of runs: each run's standard error comes from the bootstrap once,
and the seeds' interval is built from it, never from an interval turned back into one."""
import json

import numpy as np
import pytest

from fser_utils.studies.compare import compute_comparison_runs, compute_comparison_table
from fser_utils.studies.evaluate import compute_bootstrap_ci


def _comparison_run(folder, seed):
    from test_evaluate import make_fake_run

    run, pred = make_fake_run(folder, seed=seed, accuracy=0.6)
    settings = json.loads((run / "settings.json").read_text())
    settings.update(seed=seed, profile_settings={"epochs": 3}, hardware="2 CPU cores",
                    model={"name": "fser"})
    (run / "settings.json").write_text(json.dumps(settings))
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.update(val_accuracy=0.5, n_test=len(pred), train_seconds=60.0)
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run, pred


def test_each_run_carries_the_bootstrap_standard_error(tmp_path):
    made = [_comparison_run(tmp_path / f"run-s{seed}", seed) for seed in (0, 1)]
    runs = compute_comparison_runs([run for run, _ in made], n_boot=200)
    for metric in ("accuracy", "macro_f1"):
        for (_, pred), row in zip(made, runs.to_dict("records")):
            ci = compute_bootstrap_ci(pred["emotion"], pred["predicted"], metric=metric,
                                      n_boot=200)
            # the standard deviation of the resampled scores, as the bootstrap returned it
            assert row[metric] == pytest.approx(ci[metric])
            assert row[f"{metric}_se"] == pytest.approx(ci[f"{metric}_se"])
    table = compute_comparison_table(runs)
    row, k = table.iloc[0], len(runs)
    half = 1.96 * np.sqrt(runs["accuracy"].std(ddof=1) ** 2 / k
                          + (runs["accuracy_se"] ** 2).mean() / k)
    assert row["accuracy_low"] == pytest.approx(runs["accuracy"].mean() - half)
    assert row["accuracy_high"] == pytest.approx(runs["accuracy"].mean() + half)
    assert {"macro_f1_low", "macro_f1_high"} <= set(table.columns)
