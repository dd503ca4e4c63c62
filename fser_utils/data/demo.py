"""A small synthetic corpus, so that every chapter and test runs with no real data.

The clips are harmonic "voices" whose pitch, loudness, tempo and brightness depend on
the emotion, which is enough for a CNN to learn something, and nothing more: numbers
obtained on it say nothing about real speech.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from fser_utils.data.corpora import EMOTIONS

__all__ = ["DEMO_BANNER", "DEMO_NOTE", "EMOTION_VOICES", "make_demo_corpus"]

DEMO_BANNER = ("NOTE: no real corpus was found, so this page runs on the synthetic demo "
               "corpus; its numbers say nothing about real speech. Set FSER_DATA to a data "
               "root to run on the real corpora.")

#: written beside the demo clips, so that every result on them carries the caveat
#: (see :func:`fser_utils.data.catalogue.describe_data_copy`)
DEMO_NOTE = ("synthetic tones whose pitch, loudness and tempo depend on the emotion, not "
             "speech; numbers obtained on them say nothing about real speech")

#: per emotion: pitch factor, loudness, syllables per second, spectral tilt (brightness)
EMOTION_VOICES = {
    "anger": (1.35, 0.9, 5.5, 0.55),
    "anxiety": (1.45, 0.5, 6.5, 0.80),
    "calm": (0.90, 0.3, 2.5, 1.30),
    "disgust": (0.85, 0.6, 3.0, 0.90),
    "happiness": (1.30, 0.7, 5.0, 0.65),
    "neutral": (1.00, 0.4, 4.0, 1.00),
    "sadness": (0.80, 0.25, 2.0, 1.50),
    "surprise": (1.60, 0.8, 4.5, 0.70),
}


def _synth_clip(rng: np.random.Generator, *, f0: float, loudness: float, rate: float,
                tilt: float, duration: float, sr: int) -> np.ndarray:
    t = np.arange(int(duration * sr)) / sr
    # a slow pitch contour plus a little vibrato, as in read speech
    contour = f0 * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t + rng.uniform(0, 6)))
    contour *= 1 + 0.01 * np.sin(2 * np.pi * 5.5 * t)
    phase = 2 * np.pi * np.cumsum(contour) / sr
    harmonics = np.arange(1, 16)
    voice = (np.sin(np.outer(phase, harmonics)) / harmonics ** (1 + tilt)).sum(axis=1)
    syllables = np.clip(np.sin(np.pi * rate * t + rng.uniform(0, np.pi)), 0, None) ** 2
    noise = 0.02 * rng.standard_normal(t.size)
    y = loudness * syllables * voice / np.abs(voice).max() + noise * syllables
    return (0.9 * y / max(np.abs(y).max(), 1e-9) * loudness).astype(np.float32)


def make_demo_corpus(root, *, n_speakers: int = 6, n_takes: int = 4, duration: float = 1.5,
                     sr: int = 22050, seed: int = 0) -> Path:
    """Write the demo corpus to ``root/demo/SPK/SPK_emotion_NN.wav``.

    Parameters
    ----------
    root : path-like
        Data root to write into; existing identical files are kept.
    n_speakers, n_takes : int > 0
        Speakers (odd numbers male, even female) and takes per speaker and emotion.
    duration : float > 0 [s]
    sr : int > 0 [Hz]
    seed : int
        The same seed always gives the same samples.

    Returns
    -------
    folder : Path
        ``root/demo``, holding ``n_speakers * 8 * n_takes`` clips and a
        :data:`fser_utils.data.catalogue.NOTE_FILE` that says what they are.
    """
    from fser_utils.data.catalogue import NOTE_FILE

    folder = Path(root) / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NOTE_FILE).write_text(DEMO_NOTE + "\n")
    rng = np.random.default_rng(seed)
    for s in range(1, n_speakers + 1):
        spk = f"s{s:02d}"
        base = 120.0 if s % 2 else 210.0
        base *= rng.uniform(0.9, 1.1)
        (folder / spk).mkdir(parents=True, exist_ok=True)
        for emotion in EMOTIONS:
            pitch, loud, rate, tilt = EMOTION_VOICES[emotion]
            for k in range(1, n_takes + 1):
                y = _synth_clip(rng, f0=base * pitch * rng.uniform(0.95, 1.05),
                                loudness=loud * rng.uniform(0.85, 1.15),
                                rate=rate * rng.uniform(0.9, 1.1), tilt=tilt,
                                duration=duration * rng.uniform(0.8, 1.2), sr=sr)
                path = folder / spk / f"{spk}_{emotion}_{k:02d}.wav"
                if not path.exists():
                    sf.write(path, y, sr, subtype="PCM_16")
    return folder
