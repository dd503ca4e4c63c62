"""Stage 1, the data: corpora, their one table, download and verification, splits.

- :mod:`~fser_utils.data.corpora`: the corpus registry and the label unification
- :mod:`~fser_utils.data.catalogue`: one table of every clip on the data root
- :mod:`~fser_utils.data.download`: fetching and checking the corpora, or where to get them
- :mod:`~fser_utils.data.verify`: sha256 manifests (in ``manifests/``) and checking a folder
- :mod:`~fser_utils.data.archives`: fetching an archive and unpacking it safely
- :mod:`~fser_utils.data.demo`: a tiny generated corpus for tests and the book's fallback
- :mod:`~fser_utils.data.splits`: random, paper, speaker and corpus splits

Nothing here imports a later stage.
"""
