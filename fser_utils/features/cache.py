"""Features of a whole catalogue: parallel extraction and a checksummed on-disk cache.

One cache file per feature setting, ``<cache dir>/features/<settings.key()>.npz``,
holds one entry per audio file (path, size, modification time, the stored array or the
reason it could not be computed) and a CRC of the arrays. Writing is atomic (a
temporary file renamed over the old one) and serialised between processes by a lock
file beside it, under which the writer first merges what other processes wrote since
it read the cache: two ``fser features`` runs on different corpora at once keep both.
A temporary file left by a killed writer is removed by the next run.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np

from fser_utils.features.audio import load_audio
from fser_utils.config import get_cache_dir
from fser_utils.errors import FserError
from fser_utils.features.images import FeatureSettings

__all__ = ["load_features", "get_feature_cache_path", "limit_blas_threads"]

#: an unlocked platform (no fcntl) cannot know whether a temporary file is being
#: written: it only removes those older than this [s]
_STALE_SECONDS = 3600


def get_feature_cache_path(settings=None) -> Path:
    """The cache file of one setting: ``<cache dir>/features/<settings.key()>.npz``.

    Raises
    ------
    FserError
        If the cache folder (``$FSER_CACHE``) cannot be created, e.g. it names a file.
    """
    settings = settings or FeatureSettings()
    try:
        folder = get_cache_dir() / "features"
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = exc.filename or os.environ.get("FSER_CACHE", "")
        why = "it is a file, not a folder" if os.path.isfile(where) else exc.strerror
        raise FserError(f"cannot use the cache folder '{where}' ({why}); set FSER_CACHE "
                        "to a folder you can write, or pass --no-cache") from None
    return folder / f"{settings.key()}.npz"


# --- extraction ------------------------------------------------------------------------

def limit_blas_threads():
    """Single-threaded BLAS: the products here are small, and on a busy machine
    BLAS threads competing with other processes slow them down many times over."""
    controller = _threadpool_controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


@functools.lru_cache(maxsize=1)
def _threadpool_controller():
    # finding the BLAS libraries takes milliseconds: once per process, not per batch
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # comes with scikit-learn; without it, leave BLAS as it is
        return None
    return ThreadpoolController()


def _extract_batch(paths, settings):
    """Worker task: stored arrays and failure reasons ("" when fine) for a list of files."""
    out = np.zeros((len(paths),) + tuple(settings.shape), dtype=settings.dtype)
    reasons = []
    with limit_blas_threads():
        for i, path in enumerate(paths):
            try:
                out[i] = settings.compute(load_audio(path, sr=settings.sr, n_fft=settings.n_fft))
                reasons.append("")
            except FserError as exc:
                reasons.append(str(exc))
            except Exception as exc:  # anything else must still name the file
                reasons.append(f"cannot process '{path}': {type(exc).__name__}: {exc}")
    return out, reasons


def _compute_many(paths, settings, *, n_jobs, progress):
    """Arrays and reasons for ``paths``, in parallel batches with a progress bar."""
    from joblib import Parallel, delayed
    from tqdm import tqdm

    n = len(paths)
    arrays = np.zeros((n,) + tuple(settings.shape), dtype=settings.dtype)
    reasons = [""] * n
    # batches of ~32 files: few enough tasks to keep joblib's overhead small, many
    # enough for a smooth progress bar and load balancing
    size = 32
    starts = list(range(0, n, size))
    if n_jobs == 1 or n <= size:
        results = (_extract_batch(paths[s:s + size], settings) for s in starts)
    else:
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_extract_batch)(paths[s:s + size], settings) for s in starts)
    with _sigterm_stops_workers():
        try:
            with tqdm(total=n, desc="features", unit="clip", disable=not progress,
                      file=sys.stderr, mininterval=1.0) as bar:
                for s, (batch, why) in zip(starts, results):
                    arrays[s:s + len(why)] = batch
                    reasons[s:s + len(why)] = why
                    bar.update(len(why))
        finally:
            _stop_workers(results)
    return arrays, reasons


class _Terminated(KeyboardInterrupt):
    """SIGTERM received during extraction (see :func:`_sigterm_stops_workers`)."""


@contextlib.contextmanager
def _sigterm_stops_workers():
    """Make SIGTERM unwind the extraction (so that its workers are ended) before the
    process ends as SIGTERM would have ended it.

    Only where SIGTERM has its default action (ending the process at once, with no
    clean-up): a handler someone installed, e.g. ``fser``'s, is left alone.
    """
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def terminate(signum, frame):
        raise _Terminated

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)
        raise  # reached only where the signal is blocked
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop_workers(results) -> None:
    """End the worker processes of an unfinished extraction (Ctrl-C, SIGTERM through
    ``fser``, an error), now rather than when they next fall idle: joblib's pool
    outlives the call, and its workers would go on extracting for a parent that is
    gone. Closing joblib's generator early makes it kill its workers."""
    with warnings.catch_warnings():
        # joblib warns that the generator was left unfinished: that is the intent
        warnings.simplefilter("ignore")
        results.close()


# --- the cache file ----------------------------------------------------------------------

_FIELDS = ("images", "paths", "sizes", "mtimes", "reasons", "key", "crc")


def _identity(file: Path):
    """What changes whenever the file is replaced: (inode, size, mtime), or None."""
    try:
        st = os.stat(file)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _read_cache(file: Path, settings, *, quiet: bool = False):
    """The cache's contents as a dict, or None (with a warning) if it cannot be trusted.

    ``store["identity"]`` records which version of the file was read.
    """
    identity = _identity(file)
    if identity is None:
        return None
    try:
        with np.load(file, allow_pickle=False) as npz:
            store = {k: npz[k] for k in _FIELDS}
        n = len(store["paths"])
        ok = (str(store["key"]) == settings.key()
              and store["images"].shape == (n,) + tuple(settings.shape)
              and store["images"].dtype == np.dtype(settings.dtype)
              and all(len(store[k]) == n for k in ("sizes", "mtimes", "reasons"))
              and int(store["crc"]) == zlib.crc32(store["images"].tobytes()))
        if not ok:
            raise ValueError("contents do not match their checksum, shape or key")
    except Exception as exc:  # truncated zip, bad CRC, missing member, ...
        if not quiet:
            warnings.warn(f"feature cache '{file}' is unreadable ({type(exc).__name__}: "
                          f"{exc}); rebuilding it", stacklevel=3)
        return None
    store["identity"] = identity
    return store


def _temporaries(file: Path):
    return list(file.parent.glob(f".{file.stem}.*.tmp.npz"))


def _write_cache(file: Path, settings, store: dict) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one.
    Call with the lock held (see :func:`_locked`)."""
    tmp = file.with_name(f".{file.stem}.{os.getpid()}.tmp.npz")
    images = np.ascontiguousarray(store["images"])
    try:
        np.savez(tmp, images=images, paths=np.asarray(store["paths"], dtype=str),
                 sizes=np.asarray(store["sizes"], dtype=np.int64),
                 mtimes=np.asarray(store["mtimes"], dtype=np.int64),
                 reasons=np.asarray(store["reasons"], dtype=str),
                 key=np.asarray(settings.key()), crc=np.asarray(zlib.crc32(images.tobytes())),
                 settings=np.asarray(json.dumps(settings.asdict())))
        os.replace(tmp, file)
    finally:  # interrupted (Ctrl-C, disk full): leave no temporary behind
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(file: Path, *, blocking: bool = True):
    """Hold the cache's lock file ``<key>.lock``; yields False when it was not taken
    (``blocking=False`` and another process holds it)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks, writes are still atomic
        yield True
        return
    with open(file.with_suffix(".lock"), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_temporaries(file: Path) -> None:
    """Delete temporaries of killed writers: writers hold the lock while a temporary
    exists, so when the lock is free every temporary is stale."""
    try:
        import fcntl  # noqa: F401
    except ImportError:
        for tmp in _temporaries(file):
            with contextlib.suppress(OSError):  # another process may remove it first
                if time.time() - tmp.stat().st_mtime > _STALE_SECONDS:
                    tmp.unlink()
        return
    try:
        with _locked(file, blocking=False) as free:
            for tmp in _temporaries(file) if free else []:
                tmp.unlink(missing_ok=True)
    except OSError:  # a read-only cache folder: nothing can be cleaned, nor written
        pass


def _update_cache(file, settings, store, paths, stamps, arrays, reasons):
    """Write this call's files, keeping every other entry of the cache as it is on disk
    now (another process may have added some since ``store`` was read)."""
    try:
        with _locked(file):
            if store is None or _identity(file) != store["identity"]:
                store = _read_cache(file, settings, quiet=True)
            _write_cache(file, settings, _merge(store, paths, stamps, arrays, reasons))
    except OSError as exc:  # a read-only cache must not cost the caller the features
        warnings.warn(f"could not write the feature cache '{file}': {exc}", stacklevel=3)


def _merge(store, paths, stamps, arrays, reasons) -> dict:
    wanted = set(paths)
    old = [] if store is None else [j for j, p in enumerate(store["paths"].tolist())
                                     if p not in wanted]
    return {
        "images": np.concatenate([store["images"][old], arrays]) if old else arrays,
        "paths": [str(store["paths"][j]) for j in old] + list(paths),
        "sizes": [int(store["sizes"][j]) for j in old] + [s for s, _ in stamps],
        "mtimes": [int(store["mtimes"][j]) for j in old] + [m for _, m in stamps],
        "reasons": [str(store["reasons"][j]) for j in old] + list(reasons),
    }


def _stamps(paths) -> list:
    """(size, mtime_ns) of each file; (-1, -1) for one that cannot be read (the worker
    then gives the precise reason)."""
    stamps = []
    for p in paths:
        try:
            st = os.stat(p)
            stamps.append((st.st_size, st.st_mtime_ns))
        except OSError:
            stamps.append((-1, -1))
    return stamps


def _cache_hits(store, paths, stamps):
    """(rows of ``paths`` found unchanged in the cache, their rows in the cache)."""
    if store is None:
        return [], []
    where = {p: j for j, p in enumerate(store["paths"].tolist())}
    sizes, mtimes = store["sizes"].tolist(), store["mtimes"].tolist()
    hits, rows = [], []
    for i, (p, (size, mtime)) in enumerate(zip(paths, stamps)):
        j = where.get(p)
        if j is not None and size >= 0 and sizes[j] == size and mtimes[j] == mtime:
            hits.append(i)
            rows.append(j)
    return hits, rows


# --- the public entry point ------------------------------------------------------------

def load_features(catalogue: "pd.DataFrame", settings=None, *,
                  skip_bad: bool = False, n_jobs: int | None = -1, cache: bool = True,
                  progress: bool = True):
    """Features of every clip of a catalogue, computed in parallel and cached.

    Parameters
    ----------
    catalogue : pd.DataFrame
        Needs a ``path`` column (see :func:`fser_utils.data.catalogue.load_catalogue`).
    settings : settings of a feature kind, or None
        Defaults to ``FeatureSettings()`` (the paper's image); any kind of
        :data:`fser_utils.features.kinds.FEATURE_KINDS` works the same way.
    skip_bad : bool
        False: a file that cannot be used raises :class:`FserError` naming it.
        True: such files are left out and listed in ``kept.attrs["skipped"]``.
    n_jobs : int or None
        joblib worker processes (-1: all cores), each with one BLAS thread. Under
        ``joblib.parallel_config(backend=...)`` the work runs on that backend (e.g. a
        Dask or Ray cluster).
    cache : bool
        Read and update the cache file :func:`get_feature_cache_path`. It holds one
        entry per file (path, size, modification time), so a subset or a superset of a
        cached catalogue only computes what is missing or changed. A cache that is
        truncated, corrupt or inconsistent is rebuilt, never trusted.
    progress : bool
        Show a progress bar (on stderr) while extracting.

    Returns
    -------
    X : np.ndarray [shape=(n_kept,) + settings.shape, dtype=float32]
        What the model eats (``settings.finish``); for the image, values in ``[0, 1]``.
        Row ``i`` belongs to ``kept.iloc[i]``.
    kept : pd.DataFrame
        The catalogue rows kept, in order, index reset. ``kept.attrs`` adds
        ``skipped`` (DataFrame with ``path`` and ``reason``), ``settings`` (dict),
        ``n_computed`` (clips extracted in this call), ``seconds`` and ``cache_file``.
        (pandas refuses to ``pd.concat`` frames whose ``attrs`` hold different
        DataFrames: clear ``attrs`` of pieces of ``kept`` before concatenating them.)

    Raises
    ------
    FserError
        No ``path`` column; an unusable file (unless ``skip_bad``); an unusable cache
        folder (unless ``cache=False``).
    """
    t0 = time.perf_counter()
    settings = settings or FeatureSettings()
    if "path" not in catalogue.columns:
        raise FserError("the catalogue has no 'path' column")
    paths = [str(p) for p in catalogue["path"]]
    stamps = _stamps(paths)
    file = get_feature_cache_path(settings) if cache else None
    store = None
    if cache:
        _remove_stale_temporaries(file)
        store = _read_cache(file, settings)

    arrays = np.zeros((len(paths),) + tuple(settings.shape), dtype=settings.dtype)
    reasons = [""] * len(paths)
    hits, rows = _cache_hits(store, paths, stamps)
    if hits:
        arrays[hits] = store["images"][rows]
        for i, j in zip(hits, rows):
            reasons[i] = str(store["reasons"][j])
    todo = sorted(set(range(len(paths))) - set(hits))
    if todo:
        new_arrays, new_reasons = _compute_many([paths[i] for i in todo], settings,
                                                n_jobs=n_jobs, progress=progress)
        arrays[todo] = new_arrays
        for i, why in zip(todo, new_reasons):
            reasons[i] = why
        if cache:
            _update_cache(file, settings, store, paths, stamps, arrays, reasons)
    bad = [i for i, why in enumerate(reasons) if why]
    if bad and not skip_bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise FserError(f"{reasons[bad[0]]}{more}; pass skip_bad=True (fser features "
                        "--skip-bad) to leave such files out and list them")
    return _keep_good(catalogue, settings, arrays, reasons, paths,
                      n_computed=len(todo), t0=t0, file=file)


def _keep_good(catalogue, settings, arrays, reasons, paths, *, n_computed, t0, file):
    """(X, kept) of :func:`load_features`: the good rows, the others listed."""
    import pandas as pd

    bad = [i for i, why in enumerate(reasons) if why]
    good = np.array([not why for why in reasons], dtype=bool)
    X = settings.finish(arrays[good])
    kept = catalogue.loc[good].reset_index(drop=True)
    kept.attrs = dict(catalogue.attrs)
    kept.attrs.update(
        skipped=pd.DataFrame({"path": [paths[i] for i in bad],
                              "reason": [reasons[i] for i in bad]}, columns=["path", "reason"]),
        settings=settings.asdict(), n_computed=n_computed,
        seconds=time.perf_counter() - t0, cache_file=str(file) if file else None)
    return X, kept
