"""Stage 4, training: profiles, the fit loops, augmentation and the run folder.

- :mod:`~fser_utils.training.train`: training profiles, ``RunConfig`` and the fit loops
- :mod:`~fser_utils.training.run`: the run folder, the only reader and writer of its files
- :mod:`~fser_utils.training.augment`: the paper's offline copies and online augmentation
- :mod:`~fser_utils.training.resident`: the loop that keeps the data on the accelerator
- :mod:`~fser_utils.training.devices`: what the machine has, and the backend's settings
"""
