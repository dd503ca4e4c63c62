"""Write MODEL_CARD.md beside the shipped weights, from the stored runs.

    python tools/results/write_model_card.py

Reads ``results/shipped/`` (the shipped run and the leave-one-corpus-out runs over five
corpora), ``results/beyond_longer/`` (the same recipe on three corpora) and the shipped
model's ``export.json``; the book's model-card page computes the same numbers with the
same functions (:func:`fser_utils.studies.model_card.compute_card_facts`).
"""
from pathlib import Path

import pandas as pd

from fser_utils.studies import model_card
from fser_utils.atomic import write_text_atomic
from fser_utils.scoring.recognizer import PRETRAINED_DIR

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    runs = model_card.find_card_runs(ROOT / "results")
    heldout = pd.concat([model_card.load_heldout_predictions(runs["five"], label="five corpora"),
                         model_card.load_heldout_predictions(runs["three"], label="three corpora")],
                        ignore_index=True)
    facts = model_card.compute_card_facts(runs["shipped"], export_folder=PRETRAINED_DIR,
                                          heldout=heldout)
    path = write_text_atomic(PRETRAINED_DIR / "MODEL_CARD.md", model_card.render_model_card(facts))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
