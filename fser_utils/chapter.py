"""What every chapter does first: find its data, or fall back to the demo corpus."""
from __future__ import annotations

from .catalogue import load_catalogue
from .config import get_cache_dir, get_data_root
from .corpora import EXTRA_CORPORA, PAPER_CORPORA
from .demo import DEMO_BANNER, make_demo_corpus

__all__ = ["load_chapter_catalogue"]


def load_chapter_catalogue(*, corpora=PAPER_CORPORA + EXTRA_CORPORA, verbose: bool = True):
    """Catalogue of the configured data root, or of the demo corpus if it holds none.

    Returns
    -------
    catalogue : pd.DataFrame
        See :func:`fser_utils.catalogue.load_catalogue`; ``catalogue.attrs["demo"]``
        says whether the synthetic demo corpus stands in for the real ones.
    """
    cat = load_catalogue(get_data_root(), corpora=corpora)
    demo = cat.empty
    if demo:
        root = get_cache_dir() / "demo_root"
        make_demo_corpus(root)
        cat = load_catalogue(root, corpora=("demo",))
        if verbose:
            print(DEMO_BANNER)
    elif verbose:
        print(f"data root: {cat.attrs['root']}  ({len(cat)} clips from "
              f"{', '.join(sorted(cat['corpus'].unique()))})")
    cat.attrs["demo"] = demo
    return cat
