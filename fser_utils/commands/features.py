"""``fser features``: build (or load) the feature cache of a data root and report on it."""
from __future__ import annotations

from fser_utils.config import ROOT_HELP

import time

from fser_utils.data.corpora import EXTRA_CORPORA, PAPER_CORPORA


def register(sub) -> None:
    from fser_utils.features.kinds import FEATURE_KINDS

    p = sub.add_parser("features", help="extract and cache features (default: the paper's "
                                         "64x64 images)")
    p.add_argument("--root", help=ROOT_HELP)
    p.add_argument("--corpora", default=",".join(PAPER_CORPORA + EXTRA_CORPORA),
                   help="comma-separated corpus names (default: all known corpora found)")
    p.add_argument("--features", default="mel-image", metavar="KIND",
                   help=f"feature kind: {', '.join(FEATURE_KINDS)} (default: mel-image)")
    # the options below replace fields of the kind's settings; left out, the kind's
    # own defaults hold (those of mel-image are given)
    p.add_argument("--channels", type=int, choices=(1, 3),
                   help="3: RGB through a colour map (the paper, default), 1: grey")
    p.add_argument("--sr", type=int, help="sample rate [Hz] (mel-image: 22050)")
    p.add_argument("--n-mels", type=int, help="mel bands (mel-image: 128)")
    p.add_argument("--length-policy", choices=("resize", "fixed"),
                   help="resize whole clips (mel-image default) or pad/crop to --duration")
    p.add_argument("--duration", type=float,
                   help="clip length [s] for --length-policy fixed (mel-image: 3.0)")
    p.add_argument("--skip-bad", action="store_true",
                   help="leave unusable files out (and list them) instead of failing")
    p.add_argument("--jobs", type=int, default=-1, help="parallel workers (default: all cores)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_features)


def run_features(args) -> int:
    from fser_utils.features.cache import load_features
    from fser_utils.data.catalogue import describe_missing, load_catalogue
    from fser_utils.errors import FserError
    from fser_utils.features.kinds import get_feature_settings

    corpora = tuple(c.strip() for c in args.corpora.split(",") if c.strip())
    overrides = {name: getattr(args, name) for name in
                 ("channels", "sr", "n_mels", "length_policy", "duration")
                 if getattr(args, name) is not None}
    settings = get_feature_settings(args.features, **overrides)  # refuse before reading audio
    t0 = time.perf_counter()
    cat = load_catalogue(args.root, corpora=corpora)
    if cat.empty:
        raise FserError(f"no corpus found under {cat.attrs['root']} "
                        f"(looked for {', '.join(corpora)})")
    t1 = time.perf_counter()
    X, kept = load_features(cat, settings, skip_bad=args.skip_bad, n_jobs=args.jobs,
                            cache=not args.no_cache, progress=not args.quiet)
    t2 = time.perf_counter()
    skipped = kept.attrs["skipped"]

    print(f"data root: {cat.attrs['root']}")
    for line in describe_missing(cat):
        print(f"note: {line}")
    print(f"settings:  key {settings.key()}  {settings.asdict()}")
    print(f"cache:     {kept.attrs['cache_file'] or '(not used)'}")
    counts = kept.groupby("corpus").size()
    for corpus in cat["corpus"].unique():
        n_all = int((cat["corpus"] == corpus).sum())
        print(f"  {corpus:<8} {int(counts.get(corpus, 0)):5d} of {n_all:5d} clips")
    print(f"features:  X {X.shape} {X.dtype}, {X.nbytes / 2**20:.1f} MiB; "
          f"{kept.attrs['n_computed']} clips extracted, "
          f"{len(cat) - kept.attrs['n_computed']} from the cache")
    print(f"skipped:   {len(skipped)}")
    for path, reason in zip(skipped["path"], skipped["reason"]):
        print(f"  {path}: {reason}")
    print(f"time:      {t2 - t0:.1f} s (catalogue {t1 - t0:.1f} s, features {t2 - t1:.1f} s)")
    return 0
