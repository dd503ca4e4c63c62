"""Try your own voice: record from the microphone in the browser, or upload a file.

:func:`show_voice_recorder` is the one call of chapter 7's last section. Where it runs
decides what it does:

* with a clip given (a path), it scores that file;
* in **Colab**, it shows a "Record" button and a file picker in the cell's output
  (``google.colab.output.eval_js``) and waits for one of them;
* in **JupyterLab** (or any Jupyter front end that shows widgets), it shows the same
  controls as an :mod:`anywidget` widget and scores every clip recorded or uploaded;
* anywhere else (a terminal, nbconvert, the static book), it says so in one line.

The browser side is one small script, ``voice_recorder.js``: it records with
``MediaRecorder`` and converts the recording to a 16-bit mono WAV at 22.05 kHz before
sending it, so that reading it needs no ffmpeg.
"""
from __future__ import annotations

import base64
import binascii
import re
import sys
from pathlib import Path

from fser_utils.errors import FserError

__all__ = ["RECORDER_JS", "RECORD_SR", "in_colab", "in_kernel", "save_clip",
           "build_recorder_widget",
           "show_voice_recorder"]

#: the browser-side recorder (read once; shipped as package data)
RECORDER_JS = (Path(__file__).resolve().parent / "voice_recorder.js").read_text()
#: sample rate of the WAV the browser sends [Hz]: the features' own, so nothing resamples
RECORD_SR = 22050
NO_BROWSER = ("try your own voice: recording needs this notebook open in JupyterLab or "
              "Colab in a browser; here, give a file instead (clip=\"my_voice.wav\")")


def in_colab() -> bool:
    """Whether this runs in a Colab kernel."""
    return "google.colab" in sys.modules


def in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel, which a browser may be showing."""
    return "ipykernel" in sys.modules


def save_clip(payload: dict, folder) -> Path:
    """Write a clip sent by the browser to ``folder``.

    Parameters
    ----------
    payload : dict
        ``{"name": file name, "b64": its bytes in base64}`` from ``voice_recorder.js``.
    folder : path-like
        Created if missing.

    Returns
    -------
    path : Path
        ``folder / name``, the name reduced to letters, digits, ``.``, ``-`` and ``_``.

    Raises
    ------
    FserError
        If the payload has no name or its data is not base64.
    """
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(str(payload.get("name", ""))).name).lstrip(".")
    if not name:
        raise FserError("the browser sent a clip without a file name")
    try:
        data = base64.b64decode(payload.get("b64", ""), validate=True)
    except (binascii.Error, ValueError):
        raise FserError(f"the browser sent '{name}' in a form that is not base64") from None
    if not data:
        raise FserError(f"the browser sent '{name}' empty")
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _score(path, recognizer):
    table = recognizer.predict([path])
    errors = table.attrs["errors"]
    return table.round(3) if errors.empty else errors


def _show(table):
    try:
        from IPython.display import display
    except ImportError:  # plain Python: print the table
        display = print
    display(table)
    return table


def build_recorder_widget(*, on_clip, seconds: float = 5.0):
    """An anywidget with the recorder; ``on_clip(payload)`` is called for each clip.

    Returns
    -------
    widget : anywidget.AnyWidget
        Its ``clip`` trait holds the last payload (see :func:`save_clip`).

    Raises
    ------
    ImportError
        If anywidget is not installed (``pip install "fser_utils[book]"``).
    """
    import anywidget
    import traitlets

    class VoiceRecorder(anywidget.AnyWidget):
        _esm = RECORDER_JS + """
export default {
  render({ model, el }) {
    const again = () => fserVoiceInput(el, model.get("seconds"), model.get("rate"))
      .then((clip) => { model.set("clip", clip); model.save_changes(); again(); });
    again();
  },
};
"""
        seconds = traitlets.Float(5.0).tag(sync=True)
        rate = traitlets.Int(RECORD_SR).tag(sync=True)
        clip = traitlets.Dict({}).tag(sync=True)

        def __repr__(self):  # what the static book and nbconvert show
            return NO_BROWSER

    widget = VoiceRecorder(seconds=seconds)
    widget.observe(lambda change: on_clip(change["new"]), names="clip")
    return widget


def _record_in_colab(seconds: float) -> dict:
    from google.colab import output  # only in Colab
    from IPython.display import Javascript, display

    display(Javascript(RECORDER_JS))
    return output.eval_js(f"fserVoiceInput(document.body, {float(seconds)}, {RECORD_SR})")


def show_voice_recorder(*, recognizer=None, clip="", seconds: float = 5.0, folder=None):
    """Score a clip of the reader's own voice: a file, a recording, or an upload.

    Parameters
    ----------
    recognizer : fser_utils.scoring.recognizer.Recognizer or None
        The model to score with; ``None``: the one shipped with the package
        (:meth:`~fser_utils.scoring.recognizer.Recognizer.pretrained`), so nothing needs training.
    clip : path-like
        A recording on disk; empty: record or upload one in the browser.
    seconds : float > 0 [s]
        Length of a recording.
    folder : path-like or None
        Where recordings and uploads are saved; ``None``: ``get_cache_dir()/voice``.

    Everything it shows, it displays itself (assign the result in a notebook).

    Returns
    -------
    result : pd.DataFrame, widget or None
        The scores (or why the file could not be scored) for a given clip or a Colab
        recording; in JupyterLab the recorder widget, displayed with an output area
        below it that shows the scores of each clip as it arrives; ``None`` where no
        browser can record (a message says so).
    """
    from fser_utils.config import get_cache_dir

    if recognizer is None:
        from fser_utils.scoring.recognizer import Recognizer

        recognizer = Recognizer.pretrained()
    if clip:
        return _show(_score(clip, recognizer))
    folder = Path(folder) if folder is not None else get_cache_dir() / "voice"
    if in_colab():
        return _show(_score(save_clip(_record_in_colab(seconds), folder), recognizer))
    if not in_kernel():
        print(NO_BROWSER)
        return None
    try:
        import ipywidgets
        from IPython.display import display

        out = ipywidgets.Output()

        def on_clip(payload):
            with out:
                display(_score(save_clip(payload, folder), recognizer))

        widget = build_recorder_widget(on_clip=on_clip, seconds=seconds)
    except ImportError:
        print(NO_BROWSER + ' (or install the widgets: pip install "fser_utils[book]")')
        return None
    # the page may be read later as a static copy (the book), where widgets do not render
    print("Record or upload a clip with the buttons below; its scores appear under them.\n"
          "The buttons need this notebook running (JupyterLab or Colab): a static copy\n"
          "of the page, such as the book's, shows none.")
    display(widget, out)
    return widget
