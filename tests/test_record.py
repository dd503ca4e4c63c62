"""Try your own voice: clips from the browser, the three places the recorder runs."""
import base64
import shutil
import subprocess
import sys
import types

import pytest

from fser_utils.scoring import record
from fser_utils.errors import FserError


def _payload(name="take 1.wav", data=b"RIFF....WAVE"):
    return {"name": name, "b64": base64.b64encode(data).decode()}


def test_save_clip(tmp_path):
    path = record.save_clip(_payload("../../my take?.wav"), tmp_path / "voice")
    assert path == tmp_path / "voice" / "my_take_.wav" and path.read_bytes() == b"RIFF....WAVE"
    with pytest.raises(FserError, match="without a file name"):
        record.save_clip({"name": "", "b64": ""}, tmp_path)
    with pytest.raises(FserError, match="'x.wav' in a form that is not base64"):
        record.save_clip({"name": "x.wav", "b64": "not base64!"}, tmp_path)
    with pytest.raises(FserError, match="'x.wav' empty"):
        record.save_clip({"name": "x.wav", "b64": ""}, tmp_path)


@pytest.fixture
def scored(monkeypatch):
    """Replaces scoring by a note of which file would be scored with which model."""
    calls = []
    monkeypatch.setattr(record, "_score", lambda path, recognizer: calls.append(
        (str(path), recognizer)) or f"scores of {path}")
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    return calls


def test_a_given_clip_is_scored(scored, capsys):
    assert record.show_voice_recorder(recognizer="model", clip="me.wav") == "scores of me.wav"
    assert scored == [("me.wav", "model")]


def test_no_browser_is_a_message(scored, monkeypatch, capsys):
    monkeypatch.setattr(record, "in_kernel", lambda: False)
    assert record.show_voice_recorder(recognizer="model") is None
    assert "needs this notebook open in JupyterLab or Colab" in capsys.readouterr().out
    assert scored == []


def test_jupyterlab_widget_scores_each_clip(scored, monkeypatch, tmp_path, capsys):
    pytest.importorskip("anywidget")
    monkeypatch.setattr(record, "in_kernel", lambda: True)
    widget = record.show_voice_recorder(recognizer="model", folder=tmp_path, seconds=3)
    assert widget.seconds == 3 and widget.rate == record.RECORD_SR
    assert repr(widget) == record.NO_BROWSER  # what a page without widgets shows
    widget.clip = _payload("first.wav")  # what the browser side sets
    widget.clip = _payload("second.wav", b"other bytes")
    assert scored == [(str(tmp_path / "first.wav"), "model"),
                      (str(tmp_path / "second.wav"), "model")]
    assert (tmp_path / "second.wav").read_bytes() == b"other bytes"


def test_colab_records_through_eval_js(scored, monkeypatch, tmp_path):
    asked = []
    colab = types.ModuleType("google.colab")
    colab.output = types.SimpleNamespace(eval_js=lambda js: asked.append(js) or _payload())
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    assert record.in_colab()
    record.show_voice_recorder(recognizer="model", folder=tmp_path, seconds=4)
    assert asked == [f"fserVoiceInput(document.body, 4.0, {record.RECORD_SR})"]
    assert scored == [(str(tmp_path / "take_1.wav"), "model")]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to parse JavaScript")
def test_browser_code_parses(tmp_path):
    pytest.importorskip("anywidget")
    script = tmp_path / "recorder.js"
    script.write_text(record.RECORDER_JS)
    module = tmp_path / "widget.mjs"
    module.write_text(record.build_recorder_widget(on_clip=print)._esm)
    for path in (script, module):
        proc = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_the_shipped_model_scores_without_training(tmp_path, capsys):
    """No recognizer given: the one shipped with the package scores the clip."""
    import numpy as np
    import soundfile as sf

    t = np.arange(3 * 16000) / 16000
    sf.write(tmp_path / "me.wav", 0.3 * np.sin(2 * np.pi * 210 * t * (1 + 0.04 * np.sin(7 * t))),
             16000)
    table = record.show_voice_recorder(clip=tmp_path / "me.wav")
    assert len(table) == 1 and table.loc[0, "version"].startswith("fser-")
    assert table.loc[0, "label"] in table.columns.str.removeprefix("p_").tolist()
