"""Stage 6, studies of trained runs: the book's evaluations and experiments.

- :mod:`~fser_utils.studies.evaluate`: accuracies with bootstrap intervals, the paper's tables
- :mod:`~fser_utils.studies.ablations`: chapter 4's augmentation arms, the table of training runs
- :mod:`~fser_utils.studies.robustness`: speakers, sexes, languages, each with its interval
- :mod:`~fser_utils.studies.verdicts`: the rules that judge a claim (the equivalence test)
- :mod:`~fser_utils.studies.claims`: the paper's claims, each measured on our runs
- :mod:`~fser_utils.studies.compare`: models side by side over splits and seeds
- :mod:`~fser_utils.studies.leaks`: chapter 8's arms, where the 95 % could come from
- :mod:`~fser_utils.studies.pooled_arm`: chapter 8's arm (a), copies made before the split, trained
- :mod:`~fser_utils.studies.converged`: chapter 8's converged arms, the mistakes alone and combined
- :mod:`~fser_utils.studies.confirm`: the frozen ensemble and its confirmation seeds
- :mod:`~fser_utils.studies.stored`: chapter 8's stored runs (the paper's recipe, the leaks)
- :mod:`~fser_utils.studies.beyond`: chapters 9-11's choices on validation, verdicts, budgets
- :mod:`~fser_utils.studies.stored_comparison`: chapter 9's stored models and ensembles
- :mod:`~fser_utils.studies.findings`: the findings page's table and decision table
- :mod:`~fser_utils.studies.model_card`: the shipped model's card
"""
