"""The synthetic demo corpus: deterministic, complete and catalogued."""
import hashlib

import soundfile as sf

from fser_utils.data.catalogue import compute_emotion_table, load_catalogue
from fser_utils.data.corpora import EMOTIONS
from fser_utils.data.demo import make_demo_corpus


def _digest(folder):
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*.wav")))).hexdigest()


def test_demo_corpus_is_deterministic(tmp_path):
    a = make_demo_corpus(tmp_path / "a", n_speakers=2, n_takes=1)
    b = make_demo_corpus(tmp_path / "b", n_speakers=2, n_takes=1)
    c = make_demo_corpus(tmp_path / "c", n_speakers=2, n_takes=1, seed=1)
    assert _digest(a) == _digest(b) != _digest(c)


def test_demo_corpus_is_balanced_and_parses(demo_root):
    cat = load_catalogue(demo_root, corpora=("demo",))
    assert len(cat) == 6 * 8 * 4
    table = compute_emotion_table(cat).set_index("emotion")
    assert (table.loc[list(EMOTIONS), "count"] == 24).all()
    assert set(cat["sex"]) == {"female", "male"}


def test_demo_emotions_differ_in_loudness(demo_root):
    cat = load_catalogue(demo_root, corpora=("demo",))
    rms = {}
    for emotion in ("anger", "sadness"):
        paths = cat.loc[cat.emotion == emotion, "path"]
        rms[emotion] = sum(float((sf.read(p)[0] ** 2).mean() ** 0.5) for p in paths) / len(paths)
    assert rms["anger"] > 2 * rms["sadness"]
