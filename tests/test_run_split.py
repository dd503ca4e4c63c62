"""Stored run folders share their splits: ``split.json`` names one by sha256 (issue 29)."""
from __future__ import annotations

import gzip
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fser_utils.errors import FserError
from fser_utils.training.run import Run
from fser_utils.training.run_split import SPLIT_REF, SPLITS_DIR, shared_split_name

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "results" / "share_splits.py"
SPLIT = ("relpath,corpus,speaker,sex,emotion,part\n"
         "a/1.wav,ravdess,r_01,male,anger,train\na/2.wav,ravdess,r_02,female,NA,val\n"
         "a/3.wav,ravdess,r_03,male,neutral,test\n")


def _tool():
    spec = importlib.util.spec_from_file_location("share_splits", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def stored(tmp_path):
    """A results folder of three runs, two of them on the same split, converted by the tool."""
    root = tmp_path / "results"
    other = SPLIT.replace("r_03,male,neutral,test", "r_03,male,neutral,val")
    for name, text in (("group/a", SPLIT), ("group/b", SPLIT), ("other/c", other)):
        (root / name).mkdir(parents=True)
        (root / name / "split.csv").write_text(text)
    before = {name: Run(root / name).load_split() for name in ("group/a", "other/c")}
    assert _tool().share_splits(root) == 3
    return root, before


def test_a_reference_reads_the_same_split(stored):
    root, before = stored
    assert not list(root.rglob("split.csv"))
    assert len(list((root / SPLITS_DIR).glob("*.csv.gz"))) == 2  # each distinct split once
    for name in ("group/a", "group/b"):
        run = Run(root / name)
        assert run.has_split and (run.path / SPLIT_REF).is_file()
        pd.testing.assert_frame_equal(run.load_split(), before["group/a"])
    assert run.load_split()["emotion"].tolist()[1] == "NA"  # read as the run's own file is
    pd.testing.assert_frame_equal(Run(root / "other/c").load_split(), before["other/c"])
    assert Run(root / "group/a").count_clips("val") == 1
    assert _tool().share_splits(root) == 0 and _tool().check_splits(root) == 0  # idempotent


def test_a_tampered_shared_split_is_refused(stored):
    root, _ = stored
    record = json.loads((root / "group/a" / SPLIT_REF).read_text())
    shared = root / SPLITS_DIR / record["file"]
    shared.write_bytes(gzip.compress(SPLIT.replace("anger", "happiness").encode()))
    with pytest.raises(FserError, match="does not match the sha256 recorded in .*refusing it"):
        Run(root / "group/a").load_split()
    assert _tool().check_splits(root) == 2  # both runs that name it
    shared.write_bytes(b"not gzip")
    with pytest.raises(FserError, match="cannot read the shared split"):
        Run(root / "group/b").load_split()
    # a reference whose file name is not its hash's is refused before anything is read
    (root / "other/c" / SPLIT_REF).write_text(json.dumps({**record, "file": "x.csv.gz"}))
    with pytest.raises(FserError, match="not the file of its sha256"):
        Run(root / "other/c").load_split()


def test_a_missing_shared_split_is_a_clear_error(stored):
    root, _ = stored
    record = json.loads((root / "group/a" / SPLIT_REF).read_text())
    (root / SPLITS_DIR / record["file"]).unlink()
    with pytest.raises(FserError, match=f"refers to the shared split {record['file']} "
                                        r"\(split.json\), which is missing: looked in"):
        Run(root / "group/a").load_split()
    (root / "other/c" / SPLIT_REF).write_text("{")
    with pytest.raises(FserError, match="cannot read the split reference"):
        Run(root / "other/c").load_split()
    assert not Run(root / "nowhere").has_split
    with pytest.raises(FserError, match="has no split.csv"):
        Run(root / "nowhere").load_split()


def test_runs_written_keep_a_plain_split(tmp_path):
    run = Run(tmp_path / "run")
    run.path.mkdir()
    run.save_split(pd.read_csv(io.StringIO(SPLIT)))
    assert (run.path / "split.csv").is_file() and not (run.path / SPLIT_REF).exists()


def test_stored_results_share_their_splits(tmp_path):
    """Every stored run folder names a shared split that reads back (rerun the tool after
    storing runs), and an exported copy of one gets a plain split.csv of the same bytes."""
    from fser_utils.config import get_stored_path

    results = get_stored_path("results")
    assert not list(results.glob("*/*/split.csv")), "run tools/results/share_splits.py"
    refs = list(results.glob(f"*/*/{SPLIT_REF}"))
    assert len(refs) > 200
    names = {json.loads(ref.read_text())["file"] for ref in refs}
    assert names == {p.name for p in (results / SPLITS_DIR).glob("*.csv.gz")}
    run = Run(get_stored_path("results/shipped/logmel-cnn-warp-recognizer-corpus-urdu-all-s2"))
    copy = run.export(tmp_path / "copy")
    record = json.loads((run.path / SPLIT_REF).read_text())
    assert shared_split_name(record["sha256"]) == record["file"]
    assert (copy.path / "split.csv").read_bytes() == gzip.decompress(
        (results / SPLITS_DIR / record["file"]).read_bytes())
    pd.testing.assert_frame_equal(copy.load_split(), run.load_split())



def test_an_exported_copy_keeps_six_significant_digits_and_every_prediction(tmp_path):
    from fser_utils.config import get_stored_path

    # a run written before the format was set: float64 probabilities in full
    stored = Run(get_stored_path("results/shipped/logmel-cnn-warp-recognizer-corpus-urdu-all-s2"))
    run = stored.export(tmp_path / "old")
    rng = np.random.default_rng(0)
    for part in ("test", "val"):
        pred = run.load_predictions(part)
        p = [c for c in pred if c.startswith("p_")]
        pred[p] = pred[p] * (1 + 1e-9 * rng.random(pred[p].shape))
        pred.to_csv(run.path / f"{part}_predictions.csv", index=False)
    copy = run.export(tmp_path / "copy")
    for part in ("test", "val"):
        before, after = run.load_predictions(part), copy.load_predictions(part)
        raw = pd.read_csv(copy.path / f"{part}_predictions.csv", dtype=str)
        assert raw[p].map(len).to_numpy().max() <= len("1.23457e-05")  # "%.6g"
        assert (copy.path / f"{part}_predictions.csv").stat().st_size < \
            (run.path / f"{part}_predictions.csv").stat().st_size
        assert np.allclose(after[p], before[p], rtol=1e-5, atol=1e-9)
        assert (after[p].to_numpy().argmax(1) == before[p].to_numpy().argmax(1)).all()
        pd.testing.assert_frame_equal(after.drop(columns=p), before.drop(columns=p))
