"""Stage 2, from audio to features, in four layers; this package gathers their public names.

==========================================  =================================================
:mod:`fser_utils.features.audio`            reading and checking files, resampling, DC offset
:mod:`fser_utils.features.frontend`         the log-mel front end in NumPy (scoring, no librosa)
:mod:`fser_utils.features.spectral`         spectrum, STFT and mel spectrograms in dB (librosa)
:mod:`fser_utils.features.images`           the paper's 64 x 64 RGB image of a mel spectrogram
:mod:`fser_utils.features.kinds`            the registry of feature kinds (``FEATURE_KINDS``)
:mod:`fser_utils.features.speaker_norm`     per-speaker, per-corpus and per-clip normalisation
:mod:`fser_utils.features.cache`            a whole catalogue: parallel extraction, disk cache
==========================================  =================================================

The image pipeline is audio -> mono at ``sr``, mean removed -> mel power spectrogram
(``n_fft = 512``, ``hop_length = 512``, Hann window, as in the paper) -> dB relative to
the clip's peak, floored at ``-top_db`` -> resized to ``image_size`` x ``image_size`` ->
an 8-bit image, grey (1 channel) or coloured through a matplotlib colour map
(3 channels, the paper's RGB input). :func:`load_features` runs it (or any other
feature kind, see :mod:`fser_utils.features.kinds`) in parallel over a catalogue and
keeps the result in an on-disk cache keyed by the settings.
"""
from __future__ import annotations

import importlib

# name -> the submodule that defines it. Loaded on first use (PEP 562), so that
# importing one light submodule (audio, frontend: what `fser predict` needs) does not
# pull librosa and matplotlib in through this package
_EXPORTS = {
    "audio": ("MAX_SAMPLE_RATE", "MIN_SAMPLE_RATE", "SILENCE_PEAK", "AudioFileError",
              "check_audio_path", "fix_length", "inspect_audio", "load_audio", "prepare_signal"),
    "cache": ("get_feature_cache_path", "load_features"),
    # the two private helpers: benchmarks/bench_features.py uses them
    "images": ("FEATURE_VERSION", "FeatureSettings", "_colour_table", "_grey_levels",
               "compute_class_means", "compute_feature_image", "compute_feature_steps"),
    "spectral": ("compute_melspectrogram", "compute_spectrogram", "compute_spectrum",
                 "describe_frames"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(n for n in _WHERE if not n.startswith("_"))


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'fser_utils.features' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"fser_utils.features.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
