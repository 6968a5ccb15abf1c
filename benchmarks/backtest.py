"""Benchmark: the walk-forward study of ``ridership backtest``, and fine-tuning against refitting from scratch.

It runs, on this machine, one after the other:

1. the whole study with the command's defaults (every model and schedule, one process per
   core), timed wall clock: its target is 10 minutes on 2 cores; then the refits' cost per model
   and schedule, read from the study's run records;
2. one network under one schedule refit from scratch: at every refit a new network trained on
   every window known since 2016 for as many epochs as the chapter's protocol trained it before
   the test period (its best epoch plus the patience), against the study's fine-tuning of the
   same network (``FINE_TUNE_EPOCHS`` epochs on the ``FINE_TUNE_WINDOWS`` latest windows).

The last line is ``speedup: <ratio>x``, the refits' seconds from scratch over fine-tuning's.

    python benchmarks/backtest.py [--data PATH] [--out DIR] [--network univar] [--schedule monthly] [--quick]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import ridership
from ridership.backtest import NETWORKS
from ridership.settings import FINE_TUNE_EPOCHS, FINE_TUNE_WINDOWS, SCHEDULES, cap_epochs

TARGET_SECONDS = 600


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="path to ridership.tgz (default: RIDERSHIP_DATA, cache or download)")
    parser.add_argument("--out", help="the study's folder (default: a new temporary one)")
    parser.add_argument("--only", help="the study's models (default: all)")
    parser.add_argument("--network", choices=NETWORKS, default="univar", help="the network refit from scratch")
    parser.add_argument("--schedule", choices=[s for s in SCHEDULES if s != "never"], default="monthly",
                        help="its schedule (default: monthly)")
    parser.add_argument("--quick", action="store_true", help="quick mode: the plumbing, not the numbers")
    args = parser.parse_args(argv)
    ridership.choose_backend()
    from ridership.engine.backtest import markdown_table, run_backtest
    from ridership.engine.runtime import cores

    out = Path(args.out or tempfile.mkdtemp(prefix="backtest-benchmark-"))
    epochs = cap_epochs(FINE_TUNE_EPOCHS, args.quick)
    print(f"cores: {len(cores())}; fine-tuning: {epochs} epochs on {FINE_TUNE_WINDOWS} windows; "
          f"study in {out}/", flush=True)
    tick = time.perf_counter()
    table = run_backtest(out, only=args.only, quick=args.quick, data_path=args.data, progress=False, log=print)
    study = time.perf_counter() - tick
    print()
    print(markdown_table(table))

    print("| model | initial training (s) | schedule | refits | refit seconds | seconds a refit |")
    print("|---|---:|---|---:|---:|---:|")
    records = {json.loads(p.read_text())["model"]: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    for name in ridership.BACKTEST_MODELS:
        if name not in records:
            continue
        seen = set()
        for row in records[name]["rows"]:
            if row["schedule"] in seen:
                continue
            seen.add(row["schedule"])
            each = row["refit_seconds"] / row["refits"] if row["refits"] else 0.0
            print(f"| {name} | {records[name].get('initial_seconds', 0):.1f} | {row['schedule']} | {row['refits']} | "
                  f"{row['refit_seconds']:.1f} | {each:.2f} |")
    print(f"\nthe whole study: {study:.1f} s wall clock (target {TARGET_SECONDS} s on 2 cores)\n", flush=True)

    if args.network not in records:
        print(f"{args.network} was not in the study: no comparison")
        return
    from ridership.backtest import walk_forward
    from ridership.experiments import fit_experiment

    df = ridership.load_ridership(args.data)
    initial = fit_experiment(args.network, df, quick=args.quick)
    scratch = walk_forward(args.network, df, args.schedule, quick=args.quick, model=initial.model,
                           from_scratch=True, epochs=initial.epochs)
    fine = next(row for row in records[args.network]["rows"] if row["schedule"] == args.schedule and row["horizon"] == 1)
    print(f"| {args.network}, {args.schedule} | refits | epochs a refit | windows | refit seconds | test MAE |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| fine-tuned | {fine['refits']} | {epochs} | {FINE_TUNE_WINDOWS} | {fine['refit_seconds']:.1f} | "
          f"{fine['test']:,.0f} |")
    print(f"| from scratch | {scratch.refits} | {initial.epochs} | all since 2016 | {scratch.seconds:.1f} | "
          f"{scratch.mae():,.0f} |")
    print(f"speedup: {scratch.seconds / max(fine['refit_seconds'], 1e-9):.2f}x")


if __name__ == "__main__":
    main()
