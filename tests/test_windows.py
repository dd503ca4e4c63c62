"""Long recordings: streamed windows, the per-window table, the file's label, the timeline,
and memory that stays flat with the length of the file."""
from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from fser_utils.cli import main
from fser_utils.errors import FserError

from test_predict_input import P_COLS, predictor, sensitive_run, speech_like  # noqa: F401


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """40 s at 16 kHz, stereo: speech, 6 s of digital silence (10-16 s), speech, and a
    quiet stretch (30-35 s) 50 dB down, over a DC offset of 0.1."""
    sr = 16000
    y = speech_like(sr, seconds=40.0, seed=2)
    y[10 * sr:16 * sr] = 0
    y[30 * sr:35 * sr] *= 10 ** (-50 / 20)
    y += 0.1
    path = tmp_path_factory.mktemp("session") / "session.wav"
    sf.write(path, np.stack([y, y], axis=1), sr, subtype="FLOAT")
    return path


def test_windows_stream_equals_whole_file(session, monkeypatch):
    """Block by block (small blocks: many block edges inside each window) gives the
    samples of resampling the whole file at once."""
    import soxr

    from fser_utils.scoring import windows as W

    monkeypatch.setattr(W, "BLOCK_FRAMES", 3001)
    data, sr = sf.read(session, dtype="float32")
    mono = data.mean(axis=1)
    mean = float(mono.mean(dtype=np.float64))
    whole = soxr.resample(mono - mean, sr, 22050, quality="HQ")
    got = list(W.iter_audio_windows(session, sr=22050, window=3.0, hop=1.5, offset=mean))
    starts = [s for s, _ in got]
    assert starts[:3] == [0.0, 1.5, 3.0] and starts[-2] == pytest.approx(36.0)
    assert starts[-1] == pytest.approx(37.0)  # the tail window ends at the file's end
    for start, y in got:
        i = int(round(start * 22050))
        assert y.shape == (3 * 22050,)
        np.testing.assert_allclose(y, whole[i:i + y.size], atol=1e-6)
    # a file shorter than a window is one window, the whole file
    ((start, y),) = W.iter_audio_windows(session, sr=22050, window=60.0, hop=1.5)
    assert start == 0.0 and y.size == whole.size


def test_window_table_voiced_and_file_label(session, predictor):
    from fser_utils.scoring.windows import predict_windows, summarize_windows

    table, notes = predict_windows(session, predictor=predictor)
    assert notes == []
    assert list(table.columns[:7]) == ["path", "start", "end", "level_db", "voiced", "emotion",
                                       "confidence"]
    assert list(table.columns[7:]) == P_COLS
    assert len(table) == 26 and (table["end"] - table["start"]).round(6).eq(3.0).all()
    silent = table["start"].between(10.5, 12.0)  # windows inside the digital silence
    assert silent.sum() == 2
    assert table.loc[silent, P_COLS].isna().all().all() and not table.loc[silent, "voiced"].any()
    assert (table.loc[silent, "emotion"] == "").all()
    quiet = table["start"].between(30.0, 32.0)  # inside the stretch 50 dB down
    assert not table.loc[quiet, "voiced"].any()
    loud = table["start"].between(0, 7.5)
    assert table.loc[loud, "voiced"].all()
    np.testing.assert_allclose(table.loc[~silent, P_COLS].sum(axis=1), 1, atol=1e-5)
    row = summarize_windows(table)
    voiced = table[table["voiced"]]
    np.testing.assert_allclose(row[P_COLS].to_numpy(float), voiced[P_COLS].mean().to_numpy(),
                               rtol=1e-6)
    assert row["emotion"] == P_COLS[int(np.argmax(row[P_COLS].to_numpy(float)))][2:]
    assert row["scored_as"] == f"mean of {len(voiced)} voiced windows of 26 (3 s every 1.5 s)"


def test_window_settings_and_silence_refused(session, predictor, tmp_path):
    from fser_utils.scoring.windows import predict_windows, summarize_windows

    for window, hop in [(0.1, 0.05), (3.0, 4.0), (3.0, 0.0), (600.0, 1.0)]:
        with pytest.raises(FserError, match="window|hop"):
            predict_windows(session, predictor=predictor, window=window, hop=hop)
    sf.write(tmp_path / "zeros.wav", np.zeros(16000 * 20), 16000)
    with pytest.raises(FserError, match="zeros.wav' is all silence"):
        predict_windows(tmp_path / "zeros.wav", predictor=predictor)
    empty = pd.DataFrame({"path": ["x.wav"], "voiced": [False], "p_anger": [np.nan]})
    with pytest.raises(FserError, match="silent in every window"):
        summarize_windows(empty)


def test_plot_emotion_timeline(session, predictor):
    import matplotlib.pyplot as plt

    from fser_utils.plotting import plot_emotion_timeline
    from fser_utils.scoring.windows import predict_windows

    table, _ = predict_windows(session, predictor=predictor)
    ax = plot_emotion_timeline(table)
    assert len(ax.lines) == len(P_COLS) and ax.get_ylim() == (0, 1)
    assert ax.get_xlim() == (0.0, 40.0)
    assert len(ax.patches) >= 2  # the silence and the quiet stretch, shaded
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [c[2:] for c in P_COLS]
    plt.close(ax.figure)
    with pytest.raises(FserError, match="exactly one file"):
        plot_emotion_timeline(pd.concat([table, table.assign(path="other.wav")]))


def test_cli_windows_csv_plot_json(session, sensitive_run, tmp_path, capsys):
    short = tmp_path / "short.wav"
    sf.write(short, speech_like(16000, seconds=2.0), 16000)
    csv, png = tmp_path / "w.csv", tmp_path / "t.png"
    status = main(["predict", str(session), str(short), "--run", str(sensitive_run),
                   "--windows-out", str(csv), "--plot", str(png)])
    out, err = capsys.readouterr()
    assert status == 0, err
    table = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    assert list(table["path"].unique()) == [str(session), str(short)]  # --plot: all in windows
    assert (table["path"] == str(session)).sum() == 26
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    header, first = out.splitlines()[:2]
    assert header.split()[-1] == "scored_as"
    assert "mean of" in first and "(3 s every 1.5 s)" in first
    # without --windows-out the table of windows follows; a short file alone is scored whole
    status = main(["predict", str(session), str(short), "--run", str(sensitive_run),
                   "--window", "2", "--hop", "1", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert status == 0
    assert payload["windowing"]["applies_to"] == "files longer than 15 s"
    long_pred, short_pred = payload["predictions"]
    assert long_pred["scored_as"].endswith("(2 s every 1 s)")
    assert len(long_pred["windows"]) == 39 and short_pred["scored_as"] == "whole file"
    assert "windows" not in short_pred
    silent = [w for w in long_pred["windows"] if w["start"] in (11, 12, 13)]
    assert all(w["probabilities"]["anger"] is None and w["emotion"] is None for w in silent)


@pytest.mark.parametrize("args, message", [
    (["--window", "0.1"], "window length must lie between"),
    (["--hop", "5"], "hop must be positive and at most the window"),
    (["--windows-out", "/nonexistent/w.csv"], "its folder does not exist"),
])
def test_cli_bad_window_options(session, sensitive_run, args, message, capsys):
    assert main(["predict", str(session), "--run", str(sensitive_run), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("fser: error:") and message in err[-1]


def test_ten_minutes_streamed_with_flat_memory(tmp_path, predictor):
    """10 minutes at 16 kHz, written and scored without ever holding the file. Reading
    it whole (the old way) peaks at 52 MB of numpy arrays (38 MB decoded, 53 MB
    resampled, one after the other); streamed, the peak is about 12 MB whatever the
    length: one batch of 64 window images (3 MB) and the model's copies of it."""
    from fser_utils.scoring.predict import predict_files

    path, sr = tmp_path / "ten_minutes.wav", 16000
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        for k in range(60):  # 10 s at a time
            f.write(speech_like(sr, seconds=10.0, seed=k))
    # before measuring: the first call imports and caches (~85 MB), and each batch size
    # traces the model's graph once
    sf.write(tmp_path / "warm_up.wav", speech_like(sr), sr)
    predict_files([tmp_path / "warm_up.wav"], predictor=predictor, windows=True)
    for n in (64, 399 % 64):
        predictor.predict_proba(np.zeros((n, *predictor.settings.shape), dtype=np.float32))
    tracemalloc.start()
    try:
        scores, errors, table = predict_files([path], predictor=predictor, return_windows=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert errors.empty
    assert len(table) == 399 and table["end"].max() == pytest.approx(600.0)
    assert scores.loc[0, "scored_as"] == "mean of 399 voiced windows of 399 (3 s every 1.5 s)"
    assert peak < 25e6, f"peak traced memory {peak / 1e6:.1f} MB"
