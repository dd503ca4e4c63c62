"""Stage 3, the models: what is trained, never how.

- :mod:`~fser_utils.models.registry`: ``MODELS``, every trainable model by name
- :mod:`~fser_utils.models.paper_cnn`: the paper's CNN
- :mod:`~fser_utils.models.networks`: the log-mel CNNs, the TCN and their layers
- :mod:`~fser_utils.models.classical`: the scikit-learn baselines
"""
