"""Stage 4, training: profiles, the fit loops, augmentation and the run folder.

- :mod:`~fser_utils.training.train`: ``train_model`` and ``load_or_train``, the steps before the fit
- :mod:`~fser_utils.training.profiles`: training profiles and the stopping rule on training accuracy
- :mod:`~fser_utils.training.run_config`: ``RunConfig``, a run's folder name and its command line
- :mod:`~fser_utils.training.trainer`: the network to fit, built, wrapped and compiled
- :mod:`~fser_utils.training.fit`: the callbacks and the fit loops
- :mod:`~fser_utils.training.results`: what a finished run writes, and reading it back
- :mod:`~fser_utils.training.run`: the run folder, the only reader and writer of its files
- :mod:`~fser_utils.training.run_models`: how ``Run`` stages, signs, checks and loads a model
- :mod:`~fser_utils.training.run_progress`: the history and checkpoints ``Run`` writes as it trains
- :mod:`~fser_utils.training.run_checks`: the checks of what ``Run`` reads (predictions, export)
- :mod:`~fser_utils.training.run_names`: run folder names, and finding runs in the runs folder
- :mod:`~fser_utils.training.augment`: the paper's offline copies and online augmentation
- :mod:`~fser_utils.training.resident`: the loop that keeps the data on the accelerator
- :mod:`~fser_utils.training.devices`: what the machine has, and the backend's settings
"""
