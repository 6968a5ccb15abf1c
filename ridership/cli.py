"""The ``ridership`` command line (also ``python -m ridership``).

Each command imports what it needs when it runs: ``--help``, ``data``, ``baselines`` and the
data figures load neither Keras nor TensorFlow. Bad input ends in one line and exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from .arguments import add_scheduler_argument, path as _path, positive as _positive, seed as _seed
from .backend import BACKENDS, choose_backend
from .chorales.cli import add_parser as add_chorales_parser
from .errors import RidershipError
from .settings import FIRST_SEED

DATA_HELP = "ridership.tgz, its CSV, or a folder holding ridership.tgz (default: $RIDERSHIP_DATA, the cache, a download)"


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad argument reported in one line (and exit code 2, as argparse does)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _uses_keras(args) -> bool:
    """Whether the command loads Keras (``figures`` only with ``--results``)."""
    keras = getattr(args, "uses_keras", False)
    return keras(args) if callable(keras) else bool(keras)


def _cmd_data(args) -> int:
    from .data import RIDERSHIP, read_ridership

    df, info = read_ridership(args.data)
    print(f"file:               {info.path} (from {info.source})")
    status = "matches the published checksum" if info.checksum_ok else f"DIFFERS from the published {RIDERSHIP.sha256}"
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
    print(f"\nSARIMA: {back.fits} fits in {back.seconds:.1f} s on {back.workers} process(es) ({back.engine} engine); "
          f"statsmodels would have raised {back.warnings} warning(s) while fitting.")
    return 0


def _cmd_figures(args) -> int:
    from .data import load_ridership
    from .plots import save_data_figures
    from .engine.storage import writable_folder

    df = load_ridership(args.data)
    if args.results:
        from .result_plots import check_results

        check_results(args.results)  # before anything is drawn
    out = writable_folder(args.out, what="the figures")
    paths = save_data_figures(df, out)
    if args.results:
        from .result_plots import save_result_figures

        paths += save_result_figures(df, args.results, out)
    for path in paths:
        print(path)
    return 0


def _cmd_reproduce(args) -> int:
    from .engine.reproduce import parse_only, reproduce

    parse_only(args.only)  # a bad name is reported before anything starts
    backend = args.checked_backend
    jobs = args.jobs
    print(f"backend: {backend}, results in {args.out}/" + (" (quick mode)" if args.quick else "")
          + (f", runs on the Dask cluster at {args.scheduler}" if args.scheduler else ""), flush=True)
    table = reproduce(args.out, only=args.only, seeds=args.seeds, quick=args.quick, force=args.force,
                      verbose=args.verbose, data_path=args.data, jobs=jobs, chapter_layers=args.chapter_layers,
                      compile_cache=not args.no_compile_cache, backend=backend, scheduler=args.scheduler)
    print(f"\n{len(table)} experiment(s) in {args.out}/results.csv")
    return 0


def _cmd_backtest(args) -> int:
    from .engine.backtest import parse_models, run_backtest

    names = parse_models(args.only)  # a bad name is reported before anything starts
    print(f"backend: {args.checked_backend}, backtest in {args.out}/" + (" (quick mode)" if args.quick else "")
          + (f", models on the Dask cluster at {args.scheduler}" if args.scheduler else ""), flush=True)
    table = run_backtest(args.out, only=args.only, seed=args.seed, quick=args.quick, force=args.force,
                         data_path=args.data, jobs=args.jobs, backend=args.checked_backend, scheduler=args.scheduler)
    print(f"\n{len(table)} row(s) for {len(names)} model(s) in {args.out}/results.md")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ridership", description="Chapter 15 of Hands-On ML (3rd ed.): CTA ridership "
                                     "forecasting on Keras 3, and the chapter's exercises.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("data", help="load and check the data; say where it came from")
    p.add_argument("--data", type=_path, help=DATA_HELP)
    p.set_defaults(func=_cmd_data)

    p = sub.add_parser("baselines", help="the naive and SARIMA baselines as a table")
    p.add_argument("--data", type=_path, help=DATA_HELP)
    p.add_argument("--refit", choices=("daily", "weekly", "never"), default="daily",
                   help="SARIMA refit schedule (daily is the chapter's)")
    p.add_argument("--workers", type=_positive, default=None,
                   help="processes for the daily refits (default: 1 for the banded fits)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_baselines)

    p = sub.add_parser("figures", help="save the chapter's figures as PNG")
    p.add_argument("--data", type=_path, help=DATA_HELP)
    p.add_argument("--out", type=_path, default="figures", help="folder for the PNG files (default: figures)")
    p.add_argument("--results", type=_path,
                   help="a `ridership reproduce` results folder: adds the model figures (no retraining)")
    p.set_defaults(func=_cmd_figures, uses_keras=lambda args: bool(args.results))

    p = sub.add_parser("reproduce", help="train every experiment of the chapter and tabulate the results")
    p.add_argument("--data", type=_path, help=DATA_HELP)
    p.add_argument("--out", type=_path, default="results", help="results folder (default: results)")
    p.add_argument("--seeds", type=_positive, default=1, help="seeds per model; the table gives median, min and max")
    p.add_argument("--quick", action="store_true", help="cap training at a few epochs (same code path)")
    p.add_argument("--only", help="comma-separated experiments, e.g. univar,lstm (default: all)")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="Keras backend (default auto: $KERAS_BACKEND, else JAX when installed)")
    p.add_argument("--jobs", type=_positive, help="runs trained at once, one process each (default: one per core; "
                                                 "with --scheduler, runs in flight on the cluster, default all)")
    p.add_argument("--chapter-layers", action="store_true",
                   help="train the WaveNet as the chapter's Conv1D layers, not as one CausalConvStack "
                        "(the same function and initial weights, faster on a CPU)")
    p.add_argument("--no-compile-cache", action="store_true",
                   help="on JAX, compile every run afresh instead of keeping compiled programs in OUT/compile-cache")
    p.add_argument("--force", action="store_true", help="train again runs already done, also runs of another kind")
    p.add_argument("-v", "--verbose", action="count", default=0, help="show Keras' per-epoch output")
    add_scheduler_argument(p)
    p.set_defaults(func=_cmd_reproduce, uses_keras=True)

    p = sub.add_parser("backtest", help="walk forward through the test period, every model refit on a schedule")
    p.add_argument("--data", type=_path, help=DATA_HELP)
    p.add_argument("--out", type=_path, default="backtest", help="backtest folder (default: backtest)")
    p.add_argument("--only", help="comma-separated models, e.g. univar,sarima,autoets (default: all)")
    p.add_argument("--seed", type=_seed, default=FIRST_SEED, help="the networks' seed (default: 42)")
    p.add_argument("--quick", action="store_true", help="a few epochs, the first weeks of the test period")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="Keras backend (default auto: $KERAS_BACKEND, else JAX when installed)")
    p.add_argument("--jobs", type=_positive, help="models backtested at once, one process each (default: one per "
                                                 "core; with --scheduler, models in flight on the cluster, default all)")
    p.add_argument("--force", action="store_true", help="backtest again models already done, also of another kind")
    add_scheduler_argument(p)
    p.set_defaults(func=_cmd_backtest, uses_keras=True)

    add_chorales_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run the ``ridership`` command; return its exit code.

    Ctrl-C and SIGTERM end any command in one line with exit code 130 or 143
    (``ridership.engine.stopping``); bad input in one line with exit code 2.
    """
    from .engine.stopping import Stopped, signals_raise

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        with signals_raise():
            if _uses_keras(args):  # one backend check for every command that loads Keras, before it loads
                from .backend import checked_backend

                args.checked_backend = checked_backend(getattr(args, "backend", None))
            return args.func(args)
    except RidershipError as exc:
        print(f"ridership: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("ridership: interrupted; finished work is saved, run the same command again to resume.", file=sys.stderr)
        return exc.exit_code if isinstance(exc, Stopped) else 130
    except OSError as exc:  # anything the commands did not turn into a clearer message
        print(f"ridership: error: {exc.strerror or exc} ({exc.filename or 'no file named'})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
