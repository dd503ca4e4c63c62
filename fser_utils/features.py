"""From audio to features, in four layers; this module gathers their public names.

=================================  ==========================================================
:mod:`fser_utils.audio`            reading and checking files, resampling, DC offset removal
:mod:`fser_utils.spectral`         spectrum, STFT and mel spectrograms in dB (librosa)
:mod:`fser_utils.images`           the paper's 64 x 64 RGB image of a mel spectrogram
:mod:`fser_utils.cache`            a whole catalogue: parallel extraction, on-disk cache
=================================  ==========================================================

The image pipeline is audio -> mono at ``sr``, mean removed -> mel power spectrogram
(``n_fft = 512``, ``hop_length = 512``, Hann window, as in the paper) -> dB relative to
the clip's peak, floored at ``-top_db`` -> resized to ``image_size`` x ``image_size`` ->
an 8-bit image, grey (1 channel) or coloured through a matplotlib colour map
(3 channels, the paper's RGB input). :func:`load_features` runs it (or any other
feature kind, see :mod:`fser_utils.feature_kinds`) in parallel over a catalogue and
keeps the result in an on-disk cache keyed by the settings.
"""
from __future__ import annotations

from .audio import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    SILENCE_PEAK,
    AudioFileError,
    check_audio_path,
    fix_length,
    inspect_audio,
    load_audio,
    prepare_signal,
)
from .cache import get_feature_cache_path, load_features
from .images import (  # the two private helpers: benchmarks/bench_features.py uses them
    FEATURE_VERSION,
    FeatureSettings,
    _colour_table,
    _grey_levels,
    compute_class_means,
    compute_feature_image,
    compute_feature_steps,
)
from .spectral import compute_melspectrogram, compute_spectrogram, compute_spectrum, describe_frames

__all__ = [
    "FeatureSettings",
    "FEATURE_VERSION",
    "SILENCE_PEAK",
    "MIN_SAMPLE_RATE",
    "MAX_SAMPLE_RATE",
    "AudioFileError",
    "check_audio_path",
    "inspect_audio",
    "load_audio",
    "prepare_signal",
    "fix_length",
    "compute_spectrum",
    "compute_spectrogram",
    "compute_melspectrogram",
    "describe_frames",
    "compute_feature_image",
    "compute_feature_steps",
    "compute_class_means",
    "load_features",
    "get_feature_cache_path",
]
