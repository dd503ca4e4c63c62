"""Stage 6, studies of trained runs: the book's evaluations and experiments.

- :mod:`~fser_utils.studies.evaluate`: accuracies with bootstrap intervals, the paper's tables
- :mod:`~fser_utils.studies.robustness`: speakers, sexes, languages; claims and verdicts
- :mod:`~fser_utils.studies.compare`: models side by side over splits and seeds
- :mod:`~fser_utils.studies.leaks`: chapter 8's arms, where the 95 % could come from
- :mod:`~fser_utils.studies.confirm`: the frozen ensemble and its confirmation seeds
- :mod:`~fser_utils.studies.findings`: the findings page's table and decision table
- :mod:`~fser_utils.studies.model_card`: the shipped model's card
"""
