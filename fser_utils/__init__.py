"""fser_utils: the package behind the FSER book.

Modules, by stage (each re-exports an explicit ``__all__``):

- :mod:`~fser_utils.config`: data root, cache, runs folder, profile, ``setup`` (seeding)
- :mod:`~fser_utils.corpora`: corpus registry, file-name parsers, label unification
- :mod:`~fser_utils.catalogue`: one table of every clip; the paper's Table 1
- :mod:`~fser_utils.download`: download and sha256 verification
- :mod:`~fser_utils.demo`: the synthetic demo corpus
- :mod:`~fser_utils.features`, :mod:`~fser_utils.plotting`: spectrograms and feature images
- :mod:`~fser_utils.augment`, :mod:`~fser_utils.model`, :mod:`~fser_utils.splits`,
  :mod:`~fser_utils.train`: augmentation, the network, data splits, training
- :mod:`~fser_utils.evaluate`, :mod:`~fser_utils.predict`: metrics, tables, scoring files

Submodules are imported on use, so that ``import fser_utils`` stays light (no TensorFlow).
"""

__version__ = "0.1.0"
