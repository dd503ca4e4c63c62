"""A trained Keras network as an ONNX graph, for scoring without a training framework.

Importing Keras with a backend costs seconds and hundreds of megabytes, more than
scoring a clip. ONNX is a file format for inference graphs that holds only operators
and numbers (nothing in it executes Python), and onnxruntime runs it in a fraction of a
second. :func:`export_onnx` writes the graph of the networks this project builds
(:func:`fser_utils.models.networks.build_logmel_cnn` with mean-max pooling, and the paper's
CNN) layer by layer with ONNX's own helpers; :func:`check_onnx_export` measures how far
its probabilities lie from the Keras model's.

The Keras layers read channels last (``NHWC``); ONNX convolutions read channels first
(``NCHW``), so the graph transposes its input once and carries channels first.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fser_utils.data.corpora import EMOTIONS
from fser_utils.errors import FserError

__all__ = ["export_onnx", "check_onnx_export", "export_run", "EXPORT_TOLERANCE", "ONNX_OPSET", "ONNX_INPUT", "ONNX_OUTPUT"]

#: operator set written (ReduceMean/ReduceMax take their axes as attributes up to 17)
ONNX_OPSET = 17
ONNX_INPUT = "features"
ONNX_OUTPUT = "probabilities"


class _Graph:
    """Nodes and weights being collected, and the ONNX name and layout of each tensor."""

    def __init__(self):
        self.nodes, self.weights, self.names = [], [], {}

    def weight(self, name: str, value, dtype=np.float32) -> str:
        from onnx import numpy_helper

        self.weights.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def node(self, op: str, inputs, output: str, **attrs) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, list(inputs), [output], name=output, **attrs))
        return output


def _conv(g, layer, x, name):
    kernel, *bias = layer.get_weights()
    if layer.padding not in ("same", "valid") or tuple(layer.dilation_rate) != (1, 1):
        raise FserError(f"cannot export Conv2D '{layer.name}' with padding={layer.padding}, "
                        f"dilation={layer.dilation_rate}")
    inputs = [x, g.weight(f"{name}.w", kernel.transpose(3, 2, 0, 1))]
    if bias:
        inputs.append(g.weight(f"{name}.b", bias[0]))
    # Keras' "same" pads the extra row or column at the end, as ONNX's SAME_UPPER does
    pad = {"auto_pad": "SAME_UPPER"} if layer.padding == "same" else {}
    out = g.node("Conv", inputs, name, kernel_shape=list(kernel.shape[:2]),
                 strides=list(layer.strides), **pad)
    return _activation(g, layer.activation.__name__, out, name)


def _activation(g, kind: str, x, name):
    ops = {"linear": None, "relu": "Relu", "softmax": "Softmax", "sigmoid": "Sigmoid"}
    if kind not in ops:
        raise FserError(f"cannot export the activation '{kind}' ({name})")
    if ops[kind] is None:
        return x
    attrs = {"axis": -1} if kind == "softmax" else {}
    return g.node(ops[kind], [x], f"{name}.{kind}", **attrs)


def _batch_norm(g, layer, x, name):
    gamma, beta, mean, var = layer.get_weights()
    return g.node("BatchNormalization",
                  [x, g.weight(f"{name}.g", gamma), g.weight(f"{name}.b", beta),
                   g.weight(f"{name}.m", mean), g.weight(f"{name}.v", var)],
                  name, epsilon=float(layer.epsilon))


def _pool(g, layer, x, name, op):
    if layer.padding != "valid":
        raise FserError(f"cannot export {type(layer).__name__} '{layer.name}' with "
                        f"padding={layer.padding}")
    return g.node(op, [x], name, kernel_shape=list(layer.pool_size),
                  strides=list(layer.strides))


def _convert(g, layer, ins, layouts):
    """ONNX nodes of one Keras layer: returns (output name, output layout)."""
    kind, name = type(layer).__name__, layer.name
    x, layout = ins[0], layouts[0]
    if kind in ("Dropout", "SpatialDropout1D", "SpatialDropout2D"):
        return x, layout  # identity at inference
    if kind == "Conv2D" and layout == "nchw":
        return _conv(g, layer, x, name), layout
    if kind == "BatchNormalization" and layout in ("nchw", "flat"):
        return _batch_norm(g, layer, x, name), layout
    if kind == "Activation":
        return _activation(g, layer.activation.__name__, x, name), layout
    if kind == "MaxPooling2D" and layout == "nchw":
        return _pool(g, layer, x, name, "MaxPool"), layout
    if kind == "AveragePooling2D" and layout == "nchw":
        return _pool(g, layer, x, name, "AveragePool"), layout
    if kind == "Reshape" and layout == "nchw" and len(layer.target_shape) == 2 \
            and layer.input.shape[1] == 1:
        # NHWC (b, 1, T, C) read as (b, T, C) is NCHW (b, C, 1, T) read as (b, C, T)
        shape = g.weight(f"{name}.shape", [0, layer.target_shape[1], layer.target_shape[0]],
                         dtype=np.int64)
        return g.node("Reshape", [x, shape], name), "seq"
    if kind in ("GlobalAveragePooling1D", "GlobalMaxPooling1D") and layout == "seq":
        op = "ReduceMean" if "Average" in kind else "ReduceMax"
        return g.node(op, [x], name, axes=[2], keepdims=0), "flat"
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D") and layout == "nchw":
        op = "ReduceMean" if "Average" in kind else "ReduceMax"
        return g.node(op, [x], name, axes=[2, 3], keepdims=0), "flat"
    if kind == "Flatten" and layout == "nchw":
        # Keras flattens channels last: back to NHWC first, so the Dense weights line up
        nhwc = g.node("Transpose", [x], f"{name}.nhwc", perm=[0, 2, 3, 1])
        return g.node("Flatten", [nhwc], name, axis=1), "flat"
    if kind == "Concatenate" and set(layouts) == {"flat"} and layer.axis in (-1, 1):
        return g.node("Concat", ins, name, axis=1), "flat"
    if kind == "Dense" and layout == "flat":
        kernel, *bias = layer.get_weights()
        bias = bias[0] if bias else np.zeros(kernel.shape[1], dtype=np.float32)
        out = g.node("Gemm", [x, g.weight(f"{name}.w", kernel), g.weight(f"{name}.b", bias)],
                     name)
        return _activation(g, layer.activation.__name__, out, name), layout
    raise FserError(f"cannot export layer '{name}' ({kind}, input layout {layout}) to ONNX: "
                    "only the log-mel CNN with mean-max pooling and the paper's CNN are "
                    "supported")


def export_onnx(model, path, *, metadata: dict | None = None) -> Path:
    """Write a trained Keras network as an ONNX graph.

    Parameters
    ----------
    model : keras.Model
        A functional model of 2-D feature maps [shape=(batch, height, width, channels)]
        to class probabilities, built from the layers the project uses (Conv2D,
        BatchNormalization, pooling, Reshape, Concatenate, Dense, Dropout, Activation).
    path : path-like
        The ``.onnx`` file; written to a temporary name, then renamed.
    metadata : dict or None
        Strings stored in the graph's ``metadata_props`` (model name, version).

    Returns
    -------
    path : Path

    Raises
    ------
    FserError
        For a layer or a layout the exporter does not know (one line naming it).
    """
    import onnx
    from onnx import TensorProto, helper

    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
        raise FserError("only a network of one 2-D feature map (batch, H, W, C) is exported")
    g = _Graph()
    first = g.node("Transpose", [ONNX_INPUT], "input.nchw", perm=[0, 3, 1, 2])
    where = {id(model.inputs[0]): (first, "nchw")}
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        known = [where[id(t)] for t in inputs]
        where[id(layer.output)] = _convert(g, layer, [k[0] for k in known],
                                           [k[1] for k in known])
    out_name, layout = where[id(model.outputs[0])]
    if layout != "flat":
        raise FserError("the network's output is not a vector of class probabilities")
    g.nodes.append(helper.make_node("Identity", [out_name], [ONNX_OUTPUT], name=ONNX_OUTPUT))
    shape = ["batch", *model.inputs[0].shape[1:]]
    graph = helper.make_graph(
        g.nodes, model.name,
        [helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(ONNX_OUTPUT, TensorProto.FLOAT,
                                       ["batch", model.outputs[0].shape[-1]])],
        initializer=g.weights)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              producer_name="fser_utils")
    for key, value in (metadata or {}).items():
        proto.metadata_props.add(key=str(key), value=str(value))
    onnx.checker.check_model(proto)
    from fser_utils.atomic import write_bytes_atomic

    return write_bytes_atomic(path, proto.SerializeToString())


def check_onnx_export(model, path, X: np.ndarray) -> float:
    """The largest absolute difference between the Keras model's probabilities and the
    exported graph's on features ``X`` [shape=(n, H, W, C)]."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    keras_p = np.asarray(model.predict(X, verbose=0), dtype=np.float64)
    onnx_p = session.run([ONNX_OUTPUT], {ONNX_INPUT: np.asarray(X, dtype=np.float32)})[0]
    return float(np.abs(keras_p - onnx_p).max())


#: the largest difference allowed between the exported graph's probabilities and Keras'
EXPORT_TOLERANCE = 1e-4


def _check_features(run, model, root):
    """Validation features of the run's own clips where the corpora are at hand, else
    random ones of the same shape; returns (X, what they are)."""
    from fser_utils.scoring.predict import load_run_parts

    try:
        for _, _, clips, X in load_run_parts([run.path], root=root, parts=("val",)):
            return X[:256], f"{min(len(X), 256)} validation clips"
    except FserError:
        pass
    shape = tuple(model.inputs[0].shape[1:])
    X = np.random.default_rng(0).uniform(-1.0, 1.0, size=(64, *shape)).astype(np.float32)
    return X, "64 random feature maps (the corpora were not found)"


def export_run(run_dir, *, out=None, version: str | None = None, root=None) -> dict:
    """Export a run's network to ONNX, check it, and fit its temperature.

    Writes ``model.onnx`` and ``export.json`` (its SHA-256, the check, the temperature
    and the calibration errors) into ``out``; with ``out`` other than the run folder,
    the run's ``settings.json`` (without the local data path) and ``metrics.json`` are
    copied there too, so that the folder scores on its own
    (:meth:`fser_utils.scoring.recognizer.Recognizer.from_run`).

    Parameters
    ----------
    run_dir : path-like
        A finished run of a Keras network.
    out : path-like or None
        Default: the run folder.
    version : str or None
        The name the model goes by in every output; default ``run:<folder name>``.
    root : path-like or None
        Data root for the check on the run's validation clips.

    Returns
    -------
    record : dict
        What ``export.json`` holds.

    Raises
    ------
    FserError
        Not a Keras run, a layer the exporter does not know, or probabilities that
        differ from Keras' by more than :data:`EXPORT_TOLERANCE`.
    """
    import datetime as dt

    from fser_utils.scoring.calibration import apply_temperature, compute_ece, fit_temperature
    from fser_utils.training.run import Run
    from fser_utils.trust import compute_file_sha256

    run = Run.open(run_dir, finished=True)
    settings = run.load_settings()
    if settings.get("model", {}).get("family", "keras") != "keras":
        raise FserError(f"'{run.path}' holds a scikit-learn model: only networks are exported")
    target = Run(out) if out is not None else run
    target.path.mkdir(parents=True, exist_ok=True)
    model = run.load_model()
    version = version or f"run:{run.path.name}"
    onnx_path = export_onnx(model, target.onnx_path,
                            metadata={"model": run.model_name, "version": version})
    X, checked_on = _check_features(run, model, root)
    diff = check_onnx_export(model, onnx_path, X)
    if not diff <= EXPORT_TOLERANCE:
        onnx_path.unlink(missing_ok=True)
        raise FserError(f"the exported graph's probabilities differ from Keras' by {diff:.2e} "
                        f"(more than {EXPORT_TOLERANCE:g}); nothing was exported")
    classes = list(EMOTIONS)
    calibration = {}
    for part in ("val", "test"):
        pred = run.load_predictions(part)
        calibration[part] = (pred[[f"p_{c}" for c in classes]].to_numpy(),
                             pred["emotion"].map(classes.index).to_numpy())
    temperature = fit_temperature(*calibration["val"])  # validation only, never test
    record = {"version": version, "model": run.model_name, "classes": classes,
              "onnx_sha256": compute_file_sha256(onnx_path), "temperature": temperature,
              "max_abs_difference": diff, "checked_on": checked_on,
              "exported": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    for part, (p, y) in calibration.items():
        record[f"ece_{part}"] = compute_ece(p, y)
        record[f"ece_{part}_calibrated"] = compute_ece(apply_temperature(p, temperature), y)
    if target.path != run.path:
        settings.pop("data_root", None)  # a path of the machine that trained it
        target.save_settings(settings)
        target.save_metrics(run.load_metrics())
    target.save_export(record)
    return record
