"""``fser data``: table, download, verify, demo."""
from __future__ import annotations

from fser_utils.config import ROOT_HELP

import sys

from fser_utils.data.corpora import CORPORA, EXTRA_CORPORA, PAPER_CORPORA


def register(sub) -> None:
    parser = sub.add_parser("data", help="corpora: Table 1, download, verify, demo corpus")
    data = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    p = data.add_parser("table", help="print the paper's Table 1 for the corpora found")
    p.add_argument("--root", help=ROOT_HELP)
    p.add_argument("--by-corpus", action="store_true", help="one count column per corpus")
    p.add_argument("--csv", action="store_true", help="CSV: emotion,count,percent")
    p.add_argument("--all-corpora", action="store_true",
                   help="add nEMO and URDU (not part of the paper's Table 1)")
    p.set_defaults(func=run_table)

    names = [n for n in CORPORA if n != "demo"]
    p = data.add_parser(
        "download", help="fetch and verify a corpus (or say where to get it)",
        description="Fetch a corpus archive, unpack it and check every file against the "
                    "packaged sha256 manifest; nothing is installed unless all files match. "
                    "$FSER_DOWNLOAD_URL_<CORPUS> (e.g. FSER_DOWNLOAD_URL_EMODB) replaces the "
                    "official URL with a mirror or a local file (file:// URL or path).")
    p.add_argument("corpus", choices=names)
    p.add_argument("--root", help="data root to unpack into")
    p.set_defaults(func=run_download)

    p = data.add_parser("verify", help="check a local copy against its sha256 manifest")
    p.add_argument("corpus", choices=names)
    p.add_argument("--root", help="data root holding the corpus")
    p.set_defaults(func=run_verify)

    p = data.add_parser("demo", help="write the synthetic demo corpus")
    p.add_argument("--root", help="data root to write demo/ into")
    p.set_defaults(func=run_demo)


def run_table(args) -> int:
    from fser_utils.data.catalogue import compute_emotion_table, describe_missing, load_catalogue

    corpora = PAPER_CORPORA + (EXTRA_CORPORA if args.all_corpora else ())
    cat = load_catalogue(args.root, corpora=corpora)
    for line in describe_missing(cat):
        print(f"fser: note: {line}", file=sys.stderr)
    if cat.empty:
        print(f"fser: error: no corpus found under {cat.attrs['root']}", file=sys.stderr)
        return 1
    table = compute_emotion_table(cat, by_corpus=args.by_corpus)
    if args.csv:
        table.to_csv(sys.stdout, index=False, float_format="%.2f")
    else:
        found = ", ".join(c for c in corpora if c not in cat.attrs["missing"])
        print(f"Table 1 for {found} under {cat.attrs['root']}")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return 0


def run_download(args) -> int:
    from fser_utils.data.download import download_corpus

    return download_corpus(args.corpus, root=args.root)


def run_verify(args) -> int:
    from fser_utils.data.download import verify_corpus

    report = verify_corpus(args.corpus, root=args.root)
    print(report.summary())
    return 0 if report.ok else 1


def run_demo(args) -> int:
    from fser_utils.config import get_data_root
    from fser_utils.data.demo import make_demo_corpus

    folder = make_demo_corpus(get_data_root(args.root))
    print(f"demo corpus written to {folder}")
    return 0
