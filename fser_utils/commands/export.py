"""``fser export RUN_DIR``: a trained network as an ONNX graph, checked and calibrated."""
from __future__ import annotations

from fser_utils.config import ROOT_HELP


def register(sub) -> None:
    parser = sub.add_parser(
        "export", help="export a trained network for fast scoring (ONNX)",
        description="Write the run's network as an ONNX graph (model.onnx) that fser predict "
                    "and Recognizer run with onnxruntime, without Keras. The graph is checked "
                    "against the Keras model on the run's validation clips (or random "
                    "features when the corpora are absent) to 1e-4, and a temperature is "
                    "fitted on the validation predictions so that the probabilities are "
                    "calibrated; export.json records both, with the graph's SHA-256.")
    parser.add_argument("run", metavar="RUN_DIR", help="a finished run of a network")
    parser.add_argument("--out", metavar="FOLDER",
                        help="write the export here, with the run's settings and metrics "
                             "(default: into the run folder)")
    parser.add_argument("--version", help="the name the model goes by in every output "
                                          "(default: run:FOLDER_NAME)")
    parser.add_argument("--root", help=ROOT_HELP)
    parser.set_defaults(func=run_export)


def run_export(args) -> int:
    from fser_utils.scoring.export import export_run

    record = export_run(args.run, out=args.out, version=args.version, root=args.root)
    print(f"exported {record['model']} as {record['version']}: largest difference from Keras "
          f"{record['max_abs_difference']:.1e} on {record['checked_on']}; temperature "
          f"{record['temperature']:.3f}, validation calibration error "
          f"{record['ece_val']:.3f} -> {record['ece_val_calibrated']:.3f}")
    return 0
