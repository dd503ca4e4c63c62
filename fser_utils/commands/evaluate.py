"""``fser evaluate RUN_DIR``: the paper's Tables 2-4, Figure 6 and bootstrap intervals."""
from __future__ import annotations


def register(sub) -> None:
    parser = sub.add_parser(
        "evaluate", help="tables (CSV, Markdown) and figures of a trained run",
        description="Compute Table 2 (classification report), Table 3 (normalized confusion "
                    "matrix), Figure 6 (ROC curves), Table 4 (accuracy per corpus next to the "
                    "paper's) and 95 %% bootstrap intervals, and write them to RUN_DIR/evaluation.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by fser train")
    parser.add_argument("--out", help="output folder (default: RUN_DIR/evaluation)")
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples (2000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    parser.set_defaults(func=run_evaluate)


def run_evaluate(args) -> int:
    import os

    from fser_utils.errors import FserError
    from fser_utils.studies.evaluate import describe_run, evaluate_run
    from fser_utils.plotting import save_evaluation_figures

    if args.n_boot < 1:
        raise FserError(f"--n-boot must be at least 1 (got {args.n_boot})")
    res = evaluate_run(args.run_dir, out=args.out, n_boot=args.n_boot, seed=args.seed)
    save_evaluation_figures(res)
    boot = res["bootstrap"]
    report = res["report"]
    print(describe_run(res["settings"]))
    for m, label in (("accuracy", "accuracy"), ("macro_f1", "macro F1")):
        b = boot[m]
        print(f"{label:>9}: {b[m]:.2f} %  (95 % CI {b[f'{m}_low']:.2f}-{b[f'{m}_high']:.2f}, "
              f"{b['n']} test clips)")
    auc = report.loc["macro avg", "auc"]
    if auc == auc:
        print(f"macro AUC: {auc:.2f} %")
    per = res["per_corpus"]
    ours = per[per["work"] == "this repository"].dropna(subset=["accuracy"])
    for row in ours.itertuples():
        print(f"{row.corpus:>9}: {row.accuracy:.2f} %  (95 % CI {row.accuracy_low:.2f}-"
              f"{row.accuracy_high:.2f}, {row.n} clips)")
    # relative to the working folder: the line is stored in the book, a machine path is not
    print(f"tables and figures written to {os.path.relpath(res['out'])}")
    return 0
