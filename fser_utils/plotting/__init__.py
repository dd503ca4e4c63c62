"""Every figure of the package: signals, features, corpora, training, evaluation, comparison.

=========================================  ==================================================
:mod:`fser_utils.plotting.signals`         waveforms, spectra, spectrograms, feature images
:mod:`fser_utils.plotting.corpora`         clips per emotion, durations, speakers, players
:mod:`fser_utils.plotting.training`        the architecture, learning and leak curves
:mod:`fser_utils.plotting.results`         confusion matrices, ROC curves, accuracy with
                                           intervals, timelines, reliability
:mod:`fser_utils.plotting.comparison`      models compared: accuracy against training time
:mod:`fser_utils.plotting.beyond`          chapters 9 to 11: pairs of models, learning
                                           curves, budgets, variants, the speaker probe
:mod:`fser_utils.plotting._style`          what they share: axes, titles, colours, the
                                           legibility check (:func:`find_small_text`)
=========================================  ==================================================

This package gathers their public names: ``plotting.plot_x`` and
``from fser_utils.plotting import plot_x`` both work.

One convention for every ``plot_*`` helper:

- it takes a keyword ``ax=None`` and **returns the axes it drew into**, so that a
  chapter can label, rearrange or save the figure (``ax.figure``);
- a *single-panel* helper takes and returns one ``matplotlib.axes.Axes``;
- a *multi-panel* helper (:func:`plot_fft`, :func:`plot_feature_grid`,
  :func:`plot_class_means`, :func:`plot_history`, :func:`plot_gallery`) takes and
  returns an ``np.ndarray`` of Axes whose shape its docstring states;
- with ``ax=None`` a new figure is made with pyplot; nothing here calls
  ``plt.show()`` or closes a figure it did not make.

The numbers behind a figure come from ``compute_*`` functions elsewhere
(:mod:`~fser_utils.features`, :mod:`~fser_utils.data.catalogue`,
:mod:`~fser_utils.studies.evaluate`, ...), so that they can be tested and printed without
drawing. matplotlib is imported only when a figure is drawn: importing this package
costs no more than numpy.
"""
from __future__ import annotations

from fser_utils.plotting import _style, beyond, comparison, corpora, results, signals, training
from fser_utils.plotting._style import (CAP_HEIGHT, COLUMN_PX, MAX_LEGEND_ENTRIES, MIN_TEXT_PX,
                                         compute_colours, find_small_text)
from fser_utils.plotting.beyond import (
    plot_budget_curves,
    plot_curves,
    plot_learning_curves,
    plot_pair_accuracy,
    plot_speaker_breakdown,
    plot_speaker_probe,
    plot_variant_gains,
)
from fser_utils.plotting.corpora import (
    display_examples,
    plot_durations,
    plot_emotion_counts,
    plot_speakers_by_sex,
)
from fser_utils.plotting.comparison import plot_comparison
from fser_utils.plotting.results import (
    plot_confusion_matrix,
    plot_emotion_timeline,
    plot_group_accuracy,
    plot_heldout_accuracy,
    plot_remedy_effects,
    plot_reliability,
    plot_roc_curves,
    save_evaluation_figures,
)
from fser_utils.plotting.signals import (
    compute_class_means,  # computed in features.images; chapter 3 calls it from here
    plot_class_means,
    plot_feature_grid,
    plot_feature_image,
    plot_fft,
    plot_gallery,
    plot_melspectrogram,
    plot_spectrogram,
    plot_waveform,
)
from fser_utils.plotting.training import (
    plot_architecture,
    plot_history,
    plot_leak_curves,
    plot_recipe_curves,
)

__all__ = (_style.__all__ + signals.__all__ + corpora.__all__ + training.__all__ + results.__all__
           + comparison.__all__ + beyond.__all__)
