"""Every number the FSER paper states, in one place {cite}`dossou2021fser`.

Nothing here is measured: these are the paper's own claims, quoted so that the
package and the book compare against one copy of them. Where the paper's text and
its tables disagree, the tables are kept and the text's value is recorded next to
them (:data:`PAPER_TEXT_DISAGREES`). Numbers of *other* publications drawn for
comparison (TIM-Net, EmoBox) are not the paper's claims: they stay with the
comparison (:data:`fser_utils.studies.compare.ANCHORS`).

Sections of the paper: 2 (corpora, Table 1), 3 (features, split, augmentation),
4.1 (network and training recipe), 4.2 (Tables 2-4, unseen-language test).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fser_utils.data.corpora import EMOTIONS

__all__ = [
    "PAPER_ACCURACY",
    "PAPER_CORPUS_SIZES",
    "PAPER_SAMPLE_RATE",
    "PAPER_SPLIT",
    "PAPER_N_CLIPS",
    "PAPER_N_TEST",
    "PAPER_FEATURES",
    "PAPER_RECIPE",
    "PAPER_HARDWARE",
    "PAPER_TABLE1",
    "PAPER_TABLE2",
    "PAPER_TABLE3",
    "PAPER_TABLE4",
    "PAPER_TEXT_DISAGREES",
    "PAPER_UNSEEN",
    "get_paper_corpus_accuracy",
]

#: overall test accuracy [%] over 8 classes (abstract and Table 2)
PAPER_ACCURACY = 95.05

#: clips per corpus as Section 2 states them (EmoDB, EMOVO, SAVEE, RAVDESS speech)
PAPER_CORPUS_SIZES = {"emodb": 535, "emovo": 588, "savee": 480, "ravdess": 1440}

#: sampling rate [Hz] the paper says every corpus has (Section 2); EmoDB's
#: distribution is at 16 kHz and SAVEE's at 44.1 kHz, so this is a claim, not a fact
PAPER_SAMPLE_RATE = 48000

#: the split of Section 3 [clips]: 80/20 train/test, then 80/20 of train into
#: fit/validation; the 1947 fitting images grow to 40 887 with 20 copies each
PAPER_SPLIT = {"clips": 3043, "train": 2434, "fit": 1947, "val": 487, "test": 609,
               "augmented": 40887}
PAPER_N_CLIPS = PAPER_SPLIT["clips"]
PAPER_N_TEST = PAPER_SPLIT["test"]

#: the features of Section 3 and the input of Section 4.1: librosa mel-spectrogram,
#: FFT window and hop of 512 samples, Hann window, 64 x 64 RGB images. The number of
#: mel bands, the dB scaling and the colour map are not stated.
PAPER_FEATURES = {"n_fft": 512, "hop_length": 512, "window": "hann", "image_size": 64,
                  "channels": 3}

#: the training recipe of Sections 3 and 4.1: Algorithm 1's augmentation (width and
#: height shift, zoom, horizontal flip; ranges not stated) with 20 copies of each
#: training image, SGD at a learning rate of 0.001, batches of 64, categorical
#: cross-entropy, 400 epochs
PAPER_RECIPE = {"epochs": 400, "batch_size": 64, "optimizer": "sgd", "learning_rate": 1e-3,
                "loss": "categorical cross-entropy", "n_copies": 20,
                "augmentation": ("width shift", "height shift", "zoom", "horizontal flip")}

#: where and how long the paper trained (Section 4.1)
PAPER_HARDWARE = {"gpu": "Tesla K80 (16 GB), PaperSpace", "days": 8}

#: Table 1: clips per unified class over EmoDB, EMOVO, SAVEE and RAVDESS
PAPER_TABLE1 = {"anger": 463, "anxiety": 405, "calm": 273, "disgust": 382, "happiness": 407,
                "neutral": 379, "sadness": 398, "surprise": 336}

#: Table 2: precision, recall, F1 [%], support [clips], one-vs-rest AUC [%]
PAPER_TABLE2 = pd.DataFrame(
    [[96, 96, 96, 91, 99.84], [94, 97, 95, 80, 99.85], [93, 97, 95, 54, 99.92],
     [97, 92, 94, 77, 99.72], [95, 93, 94, 83, 99.75], [94, 94, 94, 77, 99.74],
     [95, 94, 94, 78, 99.76], [94, 95, 94, 69, 99.82],
     [np.nan, np.nan, 95, 609, np.nan],
     [95, 95, 95, 609, 99.79], [95, 95, 95, 609, 99.79]],
    index=list(EMOTIONS) + ["accuracy", "macro avg", "weighted avg"],
    columns=["precision", "recall", "f1", "support", "auc"])

#: Table 3: normalized confusion matrix [% of each true class]
PAPER_TABLE3 = pd.DataFrame(
    [[96.92, 0.31, 0.16, 0.42, 1.15, 0.42, 0.37, 0.26],
     [0.53, 95.46, 0.47, 0.29, 1.12, 0.53, 0.94, 0.65],
     [0.00, 0.18, 96.59, 0.00, 0.18, 1.97, 0.81, 0.27],
     [0.88, 1.19, 1.00, 91.49, 0.56, 2.06, 1.44, 1.38],
     [1.72, 0.98, 0.40, 0.40, 93.16, 1.03, 0.86, 1.44],
     [0.37, 0.50, 1.43, 0.50, 0.50, 95.45, 1.06, 0.19],
     [0.41, 0.94, 1.00, 0.35, 0.23, 0.59, 95.84, 0.64],
     [0.43, 1.58, 0.14, 0.50, 0.65, 0.14, 1.08, 95.46]],
    index=list(EMOTIONS), columns=list(EMOTIONS))

_FSER_PROTOCOL = (f"paper: one model on 4 corpora ({PAPER_N_CLIPS} clips, "
                  f"{PAPER_SAMPLE_RATE // 1000} kHz), random clip split; "
                  "how the per-corpus number was computed is not stated")

#: Table 4: accuracy [%] per corpus, FSER's and the related works' it quotes, as
#: (work, corpus, features, accuracy, protocol)
PAPER_TABLE4 = [
    ("Qayyum et al. (as quoted by the paper)", "savee", "MFCC", 83.61,
     "that work's own split of SAVEE; not re-measured here"),
    ("Kannan & Haresh (as quoted by the paper)", "ravdess", "mel-spectrogram", 86.0,
     "that work's own split of RAVDESS; not re-measured here"),
    ("Kannan & Haresh (as quoted by the paper)", "ravdess", "MFCC", 53.0,
     "that work's own split of RAVDESS; not re-measured here"),
    ("Zhao et al. (as quoted by the paper)", "emodb", "mel-spectrogram", 95.33,
     "that work's own split of EmoDB; not re-measured here"),
    ("FSER paper", "emodb", "mel-spectrogram", 97.74, _FSER_PROTOCOL),
    ("FSER paper", "savee", "mel-spectrogram", 99.10, _FSER_PROTOCOL),
    ("FSER paper", "ravdess", "mel-spectrogram", 98.67, _FSER_PROTOCOL),
]

#: where Section 4.2's text gives another value than Table 4: (work, corpus) ->
#: (table, text) [%]
PAPER_TEXT_DISAGREES = {("FSER paper", "emodb"): (97.74, 97.44),
                        ("Zhao et al. (as quoted by the paper)", "emodb"): (95.33, 95.53)}

#: the unseen-language test of Section 4.2: correct clips, total clips (French, Fon
#: and Igbo speakers, 3 clips per class); the clips are not published
PAPER_UNSEEN = (20, 24)


def get_paper_corpus_accuracy() -> dict:
    """FSER's own per-corpus accuracy [%] from Table 4, e.g. ``{"emodb": 97.74, ...}``."""
    return {corpus: acc for work, corpus, _, acc, _ in PAPER_TABLE4 if work == "FSER paper"}
