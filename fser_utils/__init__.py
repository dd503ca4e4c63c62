"""fser_utils: the package behind the FSER book, one folder per stage of the pipeline.

::

    data/ --> features/ --> models/ --> training/ --> scoring/ --> studies/
    corpora    audio         registry    train          recognizer    evaluate
    catalogue  spectral      paper_cnn   run            predict       robustness
    download   images        networks    augment        windows       compare, leaks
    splits     kinds, cache  classical   resident       export        confirm, findings

- :mod:`fser_utils.data`: the corpora, their one table of clips, download, splits
- :mod:`fser_utils.features`: audio -> spectrogram -> the paper's picture, and other kinds
- :mod:`fser_utils.models`: the registry of models, the paper's CNN and ours
- :mod:`fser_utils.training`: profiles, the fit loops, augmentation, the run folder
- :mod:`fser_utils.scoring`: scoring new audio (the shipped model, a run, long recordings)
- :mod:`fser_utils.studies`: the book's evaluations and experiments on trained runs

A stage imports only the stages to its left (``tests/test_layers.py`` checks it). Beside
them: :mod:`~fser_utils.errors`, :mod:`~fser_utils.config` (folders, seeding),
:mod:`~fser_utils.atomic` and :mod:`~fser_utils.trust` (safe writing and reading), which
every stage may use; :mod:`~fser_utils.paper` (the paper's numbers, one home); and on top
:mod:`~fser_utils.plotting` (every figure), :mod:`~fser_utils.chapter` (the chapters' set-up
call) and :mod:`~fser_utils.cli` with ``commands/`` (the ``fser`` command).

Submodules are imported on use, so that ``import fser_utils`` stays light (no TensorFlow).
"""

__version__ = "0.1.0"
