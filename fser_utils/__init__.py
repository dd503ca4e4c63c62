"""fser_utils: the package behind the FSER book.

Modules, by stage (the README's "Layout" draws the flow):

- data: :mod:`~fser_utils.config` (folders, seeding), :mod:`~fser_utils.corpora` (corpus
  registry, label unification), :mod:`~fser_utils.catalogue` (one table of every clip),
  :mod:`~fser_utils.download`, :mod:`~fser_utils.demo`, :mod:`~fser_utils.chapter` (the
  chapters' set-up call)
- features: :mod:`~fser_utils.audio` (loading) -> :mod:`~fser_utils.spectral` (librosa) ->
  :mod:`~fser_utils.images` (the paper's picture); :mod:`~fser_utils.feature_kinds`
  (registry of kinds); :mod:`~fser_utils.cache` (parallel extraction, checksummed cache);
  :mod:`~fser_utils.features` re-exports the public names
- split: :mod:`~fser_utils.splits`
- models: :mod:`~fser_utils.registry` (``MODELS``), :mod:`~fser_utils.model` (the paper's
  CNN), :mod:`~fser_utils.networks`, :mod:`~fser_utils.classical`,
  :mod:`~fser_utils.augment`, :mod:`~fser_utils.devices`
- training: :mod:`~fser_utils.train` (``RunConfig``, profiles), :mod:`~fser_utils.run`
  (the run folder's only reader and writer)
- use: :mod:`~fser_utils.evaluate`, :mod:`~fser_utils.robustness`,
  :mod:`~fser_utils.compare`, :mod:`~fser_utils.leaks`, :mod:`~fser_utils.predict`,
  :mod:`~fser_utils.windows` (long recordings), :mod:`~fser_utils.record` (microphone)
- facts and figures: :mod:`~fser_utils.paper` (numbers quoted from the paper),
  :mod:`~fser_utils.plotting` (every figure)

Submodules are imported on use, so that ``import fser_utils`` stays light (no TensorFlow).
"""

__version__ = "0.1.0"
