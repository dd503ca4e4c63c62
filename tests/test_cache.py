"""The feature cache under hostile conditions (issue 13): a cache folder that is a file,
a writer killed mid-write, two writers at once."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from fser_utils.features.cache import get_feature_cache_path, load_features
from fser_utils.errors import FserError
from fser_utils.features.images import FeatureSettings

SR = 22050


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("FSER_CACHE", str(folder))
    return folder


def write_clips(folder, names, seed=0):
    """A catalogue of short noisy tones, one per name."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for k, name in enumerate(names):
        t = np.arange(int(0.6 * SR)) / SR
        y = 0.3 * np.sin(2 * np.pi * (200 + 50 * k) * t) + 0.01 * rng.standard_normal(t.size)
        paths.append(str(folder / f"{name}.wav"))
        sf.write(paths[-1], y.astype(np.float32), SR)
    return pd.DataFrame({"path": paths})


def run_python(code: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# --- FSER_CACHE names a file --------------------------------------------------------------

def test_cache_folder_that_is_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    from fser_utils.cli import main

    root = tmp_path / "root"
    write_clips(root / "demo" / "s01", ["s01_anger_01", "s01_calm_01"])
    not_a_folder = tmp_path / "cachefile"
    not_a_folder.write_text("not a folder")
    monkeypatch.setenv("FSER_CACHE", str(not_a_folder))
    args = ["features", "--root", str(root), "--corpora", "demo", "--quiet", "--jobs", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("fser: error: ") and err.count("\n") == 1
    assert str(not_a_folder) in err and "--no-cache" in err
    assert main(args + ["--no-cache"]) == 0  # without the cache, the features still come


def test_get_feature_cache_path_raises_fser_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("FSER_CACHE", str(blocker / "below"))
    with pytest.raises(FserError, match="cannot use the cache folder"):
        get_feature_cache_path(FeatureSettings())


# --- a writer killed during the write -----------------------------------------------------

def test_temporary_of_a_killed_writer_is_removed(tmp_path, cache_dir):
    cat = write_clips(tmp_path / "clips", ["a", "b", "c"])
    cat.to_csv(tmp_path / "cat.csv", index=False)
    # the writer dies (SIGKILL: no clean-up can run) after its temporary file is
    # complete and before the rename
    killed = run_python(f"""
        import os, signal
        import pandas as pd
        from fser_utils.features import cache
        os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
        cache.load_features(pd.read_csv({str(tmp_path / 'cat.csv')!r}), n_jobs=1, progress=False)
    """, env={**os.environ, "FSER_CACHE": str(cache_dir)})
    killed.communicate(timeout=120)
    assert killed.returncode == -9
    folder = cache_dir / "features"
    left = list(folder.glob(".*.tmp.npz"))
    assert len(left) == 1 and left[0].stat().st_size > 10_000
    X, kept = load_features(cat, n_jobs=1, progress=False)
    assert kept.attrs["n_computed"] == 3 and X.shape == (3, 64, 64, 3)
    assert list(folder.glob(".*.tmp.npz")) == []
    _, kept = load_features(cat, n_jobs=1, progress=False)
    assert kept.attrs["n_computed"] == 0


def test_stale_temporary_is_removed_even_on_a_cache_hit(tmp_path, cache_dir):
    cat = write_clips(tmp_path / "clips", ["a"])
    load_features(cat, n_jobs=1, progress=False)
    file = get_feature_cache_path(FeatureSettings())
    stale = file.with_name(f".{file.stem}.999999.tmp.npz")
    stale.write_bytes(b"\0" * 100_000)
    _, kept = load_features(cat, n_jobs=1, progress=False)
    assert kept.attrs["n_computed"] == 0 and not stale.exists()


def test_interrupted_write_leaves_no_temporary(tmp_path, cache_dir, monkeypatch):
    cat = write_clips(tmp_path / "clips", ["a"])

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("fser_utils.features.cache.os.replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        load_features(cat, n_jobs=1, progress=False)
    assert list((cache_dir / "features").glob(".*.tmp.npz")) == []


# --- two writers at once ------------------------------------------------------------------

def test_two_concurrent_runs_on_different_corpora_keep_both(tmp_path, cache_dir):
    cats = {"one": write_clips(tmp_path / "one", ["a", "b", "c"], seed=1),
            "two": write_clips(tmp_path / "two", ["d", "e"], seed=2)}
    procs = []
    for name, cat in cats.items():
        cat.to_csv(tmp_path / f"{name}.csv", index=False)
        # both read the (empty) cache, then wait for each other before extracting, so
        # that neither has written when the other read: the race of two shells
        procs.append(run_python(f"""
            import pathlib, time
            import pandas as pd
            from fser_utils.features import cache
            here, compute = pathlib.Path({str(tmp_path)!r}), cache._compute_many
            def wait_then_compute(*args, **kwargs):
                (here / "ready-{name}").touch()
                deadline = time.time() + 120
                while len(list(here.glob("ready-*"))) < 2 and time.time() < deadline:
                    time.sleep(0.05)
                return compute(*args, **kwargs)
            cache._compute_many = wait_then_compute
            X, kept = cache.load_features(pd.read_csv(here / "{name}.csv"), n_jobs=1,
                                          progress=False)
            print(kept.attrs["n_computed"])
        """, env={**os.environ, "FSER_CACHE": str(cache_dir)}))
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    assert [out.split()[-1] for out, _ in outputs] == ["3", "2"]
    both = pd.concat(list(cats.values()), ignore_index=True)
    X, kept = load_features(both, n_jobs=1, progress=False)
    assert kept.attrs["n_computed"] == 0 and X.shape == (5, 64, 64, 3)
    fresh, _ = load_features(both, n_jobs=1, cache=False, progress=False)
    np.testing.assert_array_equal(X, fresh)
    assert list((cache_dir / "features").glob(".*.tmp.npz")) == []


def test_unusable_paths_are_reported_with_their_reason(tmp_path, cache_dir):
    cat = write_clips(tmp_path / "clips", ["a"])
    loop = tmp_path / "loop.wav"
    os.symlink(loop, loop)
    both = pd.concat([cat, pd.DataFrame({"path": [str(loop)]})], ignore_index=True)
    with pytest.raises(FserError, match="loop.wav' is a symbolic link loop"):
        load_features(both, n_jobs=1, progress=False)
    X, kept = load_features(both, skip_bad=True, n_jobs=1, progress=False)
    assert len(X) == 1 and "symbolic link loop" in kept.attrs["skipped"]["reason"][0]
