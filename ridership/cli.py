"""The ``ridership`` command line (also ``python -m ridership``)."""

from __future__ import annotations

import argparse
import os
import sys

from .errors import RidershipError
from .launch import BACKENDS, fastest_backend

DATA_HELP = "path to ridership.tgz or its CSV (default: $RIDERSHIP_DATA, then the cache, then a download)"


def _cmd_data(args) -> int:
    from .data import DATA_SHA256, read_ridership

    df, info = read_ridership(args.data)
    print(f"file:               {info.path} (from {info.source})")
    status = "matches the published checksum" if info.checksum_ok else f"DIFFERS from the published {DATA_SHA256}"
    print(f"sha256:             {info.sha256} ({status})")
    print(f"rows:               {info.rows_raw:,} raw, {info.rows:,} after cleaning")
    print(f"duplicates removed: {info.duplicates_removed:,}")
    print(f"dates:              {info.start} to {info.end}, one row per day")
    print(f"columns:            {', '.join(['date', *df.columns])}")
    return 0


def _cmd_baselines(args) -> int:
    from .baselines import baseline_table
    from .data import load_ridership

    df = load_ridership(args.data)
    table = baseline_table(df, refit=args.refit, workers=args.workers, progress=not args.quiet)
    back = table.attrs["sarima"]
    shown = table.assign(mae=table["mae"].map("{:,.1f}".format), mape_percent=table["mape_percent"].map("{:.2f}".format))
    print(shown.to_string(index=False))
    print(f"\nSARIMA: {back.fits} fits in {back.seconds:.1f} s on {back.workers} process(es); "
          f"statsmodels raised {back.warnings} warning(s) while fitting.")
    return 0


def _cmd_figures(args) -> int:
    from .data import load_ridership
    from .plots import save_data_figures

    df = load_ridership(args.data)
    paths = save_data_figures(df, args.out)
    if args.results:
        from .result_plots import save_result_figures

        paths += save_result_figures(df, args.results, args.out)
    for path in paths:
        print(path)
    return 0


def _cmd_reproduce(args) -> int:
    import keras

    from .parallel import cores, worker_setup
    from .reproduce import parse_only, reproduce

    parse_only(args.only)  # a bad name is reported now, not after a restart
    if args.backend == "auto":
        args.backend = fastest_backend()
    if args.backend and args.backend != keras.backend.backend():
        # Keras picks its backend once, at import (``launch`` chooses it first when it can): start again.
        env = {**os.environ, "KERAS_BACKEND": args.backend}
        os.execve(sys.executable, [sys.executable, "-m", "ridership", *args.argv], env)
    worker_setup(threads=None)  # this process only trains and writes: no TensorFlow on JAX
    jobs = cores() if args.jobs is None else args.jobs
    print(f"backend: {keras.backend.backend()}, {jobs} job(s) at once, results in {args.out}/"
          + (" (quick mode)" if args.quick else ""))
    table = reproduce(args.out, only=args.only, seeds=args.seeds, quick=args.quick, force=args.force,
                      verbose=args.verbose, data_path=args.data, jobs=jobs,
                      wavenet_layers=args.wavenet_layers, compile_cache=not args.no_compile_cache)
    print(f"\n{len(table)} experiment(s) in {args.out}/results.csv")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ridership", description="Chapter 15 of Hands-On ML (3rd ed.): CTA ridership forecasting on Keras 3.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="load and check the data; say where it came from")
    p.add_argument("--data", help=DATA_HELP)
    p.set_defaults(func=_cmd_data)

    p = sub.add_parser("baselines", help="the naive and SARIMA baselines as a table")
    p.add_argument("--data", help=DATA_HELP)
    p.add_argument("--refit", choices=("daily", "weekly", "never"), default="daily",
                   help="SARIMA refit schedule (daily is the chapter's; see the README for what the others cost)")
    p.add_argument("--workers", type=int, default=None, help="processes for the daily refits (default: one per core)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_baselines)

    p = sub.add_parser("figures", help="save the chapter's figures as PNG")
    p.add_argument("--data", help=DATA_HELP)
    p.add_argument("--out", default="figures", help="folder for the PNG files (default: figures)")
    p.add_argument("--results", help="a `ridership reproduce` results folder: adds the model figures (no retraining)")
    p.set_defaults(func=_cmd_figures)
    p = sub.add_parser("reproduce", help="train every experiment of the chapter and tabulate the results")
    p.add_argument("--data", help=DATA_HELP)
    p.add_argument("--out", default="results", help="results folder (default: results)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per model; the table gives median, min and max")
    p.add_argument("--quick", action="store_true", help="cap training at a few epochs (same code path)")
    p.add_argument("--only", help="comma-separated experiments, e.g. univar,lstm (default: all)")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="Keras backend (default auto: JAX when installed, the fastest on a CPU; else Keras' configured one)")
    p.add_argument("--jobs", type=int, help="runs trained at once, one process each (default: one per core)")
    p.add_argument("--wavenet-layers", choices=("fused", "chapter"), default="fused",
                   help="the WaveNet as one CausalConvStack (default: the same function and weights, faster on a CPU) "
                        "or as the chapter's Conv1D layers")
    p.add_argument("--no-compile-cache", action="store_true",
                   help="on JAX, compile every run afresh instead of keeping compiled programs in OUT/compile-cache")
    p.add_argument("--force", action="store_true", help="retrain experiments already done")
    p.add_argument("-v", "--verbose", action="count", default=0, help="show Keras' per-epoch output")
    p.set_defaults(func=_cmd_reproduce)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.func(args)
    except RidershipError as exc:
        print(f"ridership: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ridership: interrupted; finished work is saved, run the same command again to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
