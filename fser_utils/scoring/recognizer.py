"""A speech emotion recognizer that works the minute the package is installed.

:meth:`Recognizer.pretrained` opens the model shipped inside the package (the default
network trained on five corpora in five languages, ``fser_utils/pretrained/``; its card
is ``MODEL_CARD.md`` there and the book's model-card page); :meth:`Recognizer.from_run`
opens a run the user trained. Either way, :meth:`Recognizer.predict` turns files or a
signal in memory into a tidy table of probabilities.

Scoring needs no training framework: ``fser export RUN_DIR`` writes the network as an
ONNX graph (:mod:`fser_utils.scoring.export`; the run folder keeps it beside a record of its
digest and calibration, :class:`fser_utils.training.run.Run`), and onnxruntime runs it. A run without that file is
scored with Keras, which is slower to start but gives the same probabilities.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError

__all__ = ["Recognizer", "OnnxNetwork", "PRETRAINED_DIR", "PRETRAINED_VERSION"]

#: the shipped model's folder inside the package, named by its version
PRETRAINED_VERSION = "fser-5corpora-1.0"
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained" / PRETRAINED_VERSION


class OnnxNetwork:
    """An exported network run by onnxruntime, with Keras' ``predict`` signature.

    Parameters
    ----------
    path : path-like
        The ``.onnx`` file (:func:`fser_utils.scoring.export.export_onnx`).
    temperature : float > 0
        Applied to the probabilities (:func:`fser_utils.scoring.calibration.apply_temperature`);
        1 leaves them as the network gives them.
    """

    def __init__(self, path, *, temperature: float = 1.0):
        import onnxruntime as ort

        from fser_utils.scoring.export import ONNX_INPUT, ONNX_OUTPUT

        options = ort.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        # scoring one clip is a few million multiply-adds: threads only contend
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])
        self.temperature = float(temperature)
        self._names = ([ONNX_OUTPUT], ONNX_INPUT)

    def predict(self, X: np.ndarray, verbose: int = 0) -> np.ndarray:
        """Probabilities [shape=(n, n_classes)] of features [shape=(n, H, W, C)]."""
        del verbose  # Keras' argument, accepted so that both are called alike
        outputs, name = self._names
        proba = self.session.run(outputs, {name: np.ascontiguousarray(X, dtype=np.float32)})[0]
        if self.temperature == 1.0:
            return proba
        from fser_utils.scoring.calibration import apply_temperature

        return apply_temperature(proba, self.temperature).astype(np.float32)


class Recognizer:
    """A trained model ready to score recordings.

    Use :meth:`pretrained` or :meth:`from_run` rather than the constructor.

    Attributes
    ----------
    name : str
        The registered name of the model (``logmel-cnn-warp``).
    version : str
        The shipped model's version, or ``run:<folder name>`` for a user's run.
    classes : tuple of str
    calibrated : bool
        Whether the probabilities carry a temperature fitted on validation clips.
    predictor : fser_utils.scoring.predict.Predictor
        What :func:`fser_utils.scoring.predict.predict_files` scores with.
    """

    def __init__(self, predictor, *, version: str, calibrated: bool):
        self.predictor, self.version, self.calibrated = predictor, version, calibrated

    @property
    def name(self) -> str:
        return self.predictor.model_name

    @property
    def classes(self) -> tuple:
        return self.predictor.classes

    @property
    def source(self) -> Path:
        """The folder the model was read from."""
        return Path(self.predictor.run_dir)

    def __repr__(self) -> str:
        return (f"Recognizer(name={self.name!r}, version={self.version!r}, "
                f"engine={self.engine!r}, calibrated={self.calibrated})")

    @property
    def engine(self) -> str:
        """``onnxruntime``, ``scikit-learn`` or the Keras backend that scores."""
        if isinstance(self.predictor.model, OnnxNetwork):
            return "onnxruntime"
        if hasattr(self.predictor.model, "predict_proba"):  # a scikit-learn pipeline
            return "scikit-learn"
        import keras

        return f"keras ({keras.backend.backend()})"

    @classmethod
    def pretrained(cls, *, calibrated: bool = True) -> "Recognizer":
        """The model shipped with the package (:data:`PRETRAINED_VERSION`).

        Parameters
        ----------
        calibrated : bool
            Apply the temperature fitted on its validation clips (default), or give the
            network's own probabilities.
        """
        from fser_utils.training.run import Run

        if not Run(PRETRAINED_DIR).onnx_path.is_file():
            raise FserError(f"the shipped model is missing from this installation "
                            f"({PRETRAINED_DIR}): reinstall fser_utils, or train one with "
                            "'fser train' and score with --run")
        return cls._open(PRETRAINED_DIR, version=PRETRAINED_VERSION, calibrated=calibrated)

    @classmethod
    def from_run(cls, path, *, calibrated: bool = True) -> "Recognizer":
        """A run folder's model: its ONNX export when ``fser export`` made one, else Keras.

        Parameters
        ----------
        path : path-like
            A finished run folder.
        calibrated : bool
            Apply the export's temperature, when there is one.
        """
        path = Path(path)
        if not path.is_dir():
            raise FserError(f"run folder '{path}' does not exist")
        return cls._open(path, version=f"run:{path.name}", calibrated=calibrated)

    @classmethod
    def _open(cls, folder: Path, *, version: str, calibrated: bool) -> "Recognizer":
        from fser_utils.scoring.predict import Predictor, load_predictor
        from fser_utils.training.run import Run

        run = Run(folder)
        record = run.load_export()
        if record is None:  # a run not exported: its Keras model, as fser predict always did
            return cls(load_predictor(folder), version=version, calibrated=False)
        temperature = float(record.get("temperature", 1.0)) if calibrated else 1.0
        predictor = Predictor(run_dir=folder,
                              model=OnnxNetwork(run.onnx_path, temperature=temperature),
                              settings=run.load_feature_settings(),
                              classes=tuple(record.get("classes", EMOTIONS)))
        return cls(predictor, version=record.get("version", version),
                   calibrated=calibrated and temperature != 1.0)

    def predict(self, inputs, *, sr: int | None = None, windows: bool | None = None,
                window: float | None = None, hop: float | None = None) -> pd.DataFrame:
        """Score files, folders or one signal in memory.

        Parameters
        ----------
        inputs : path-like, sequence of path-like, or np.ndarray [shape=(n,) or (n, channels)]
            Audio files and folders (see :func:`fser_utils.scoring.predict.list_audio_inputs`),
            or a signal.
        sr : int > 0 [Hz] or None
            The signal's sample rate; required for an array, refused for paths.
        windows, window, hop
            As :func:`fser_utils.scoring.predict.predict_files`: recordings over 15 s are scored
            in windows of 3 s every 1.5 s unless told otherwise.

        Returns
        -------
        table : pd.DataFrame
            One row per file scored whole, and for a recording scored in windows one row
            per window plus a row ``window == "all"`` with the file's label. Columns:
            ``file``, ``window`` (``"whole"``, ``"all"`` or ``"START-END"`` in seconds),
            ``label``, ``confidence``, ``p_<class>`` for every class, ``model`` and
            ``version``. Files that could not be scored are listed, one line each, in
            ``table.attrs["errors"]`` (a DataFrame of ``path`` and ``reason``).

        Raises
        ------
        FserError
            A signal without ``sr``, or ``sr`` with paths; for a signal, anything that
            makes it unscorable (too short, silent, not finite).
        """
        from fser_utils.scoring.predict import predict_files, predict_signal

        if isinstance(inputs, np.ndarray):
            if sr is None:
                raise FserError("give the signal's sample rate: predict(y, sr=...)")
            row = predict_signal(inputs, sr=int(sr), predictor=self.predictor)
            table = self._tidy(pd.DataFrame([{"path": "<signal>", "scored_as": "whole file",
                                              **row.to_dict()}]), None)
            table.attrs["errors"] = pd.DataFrame(columns=["path", "reason"])
            return table
        if sr is not None:
            raise FserError("sr is for a signal in memory; files carry their own rate")
        paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
        scores, errors, windows_table = predict_files(
            paths, predictor=self.predictor, windows=windows, window=window, hop=hop,
            return_windows=True)
        table = self._tidy(scores, windows_table)
        table.attrs["errors"] = errors
        return table

    def _tidy(self, scores: pd.DataFrame, windows_table) -> pd.DataFrame:
        p_cols = [f"p_{c}" for c in self.classes]
        whole = scores.assign(window=np.where(scores["scored_as"] == "whole file", "whole",
                                              "all"))
        parts = [whole.rename(columns={"path": "file", "emotion": "label"})]
        if windows_table is not None and len(windows_table):
            w = windows_table.rename(columns={"path": "file", "emotion": "label"})
            w = w.assign(window=[f"{a:.2f}-{b:.2f}" for a, b in zip(w["start"], w["end"])])
            parts.append(w)
        table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        order = {f: i for i, f in enumerate(dict.fromkeys(table["file"]))}
        table = table.assign(_file=table["file"].map(order), _all=table["window"] == "all")
        table = table.sort_values(["_file", "_all"], kind="stable")
        table = table.assign(model=self.name, version=self.version)
        return table[["file", "window", "label", "confidence", *p_cols, "model", "version"]] \
            .reset_index(drop=True)
