"""Benchmark: SARIMA fits started from the day before's estimates against fresh starts.

A lever measured and not used. Each day of a backtest refits the same model on one more
day of data, so the day before's estimates look like a good start for the optimizer. This
script runs the test period's daily backtest (2019-06-01 to ``--end``) both ways on one
process, fresh then warm, ``--rounds`` times, and prints each way's time, optimizer
iterations and MAE; how far the warm forecasts move from the fresh ones; and the gap in
log-likelihood each fit reached (warm minus fresh: negative where the warm start stopped
on a worse optimum), overall and on the first day of each quarter. The last line is
``speedup: <ratio>x`` (fresh time over warm time, medians over the rounds).

    python benchmarks/warm_start.py [--data PATH] [--end 2021-11-30] [--rounds 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

import ridership
from ridership.baselines import (FORECAST_ONLY, ORDER, ORIGIN, SEASONAL_ORDER, STEADY_STATE,
                                 _one_blas_thread, fit_sarima)

START = "2019-06-01"


def backtest(rail: pd.Series, days: pd.DatetimeIndex, warm: bool) -> dict:
    """A daily one-day-ahead backtest over ``days``, our forecast-only fits, one BLAS thread."""
    previous, forecasts, llf, iterations = None, [], [], 0
    tick = time.perf_counter()
    with _one_blas_thread():
        for day in days:
            results, _ = fit_sarima(rail.loc[ORIGIN: day - pd.Timedelta(days=1)], ORDER, SEASONAL_ORDER,
                                    start_params=previous if warm else None, steady_state=STEADY_STATE,
                                    **FORECAST_ONLY)
            iterations += int(results.mle_retvals.get("iterations", 0))
            previous = results.params.to_numpy()
            forecasts.append(float(results.forecast().iloc[0]))
            llf.append(float(results.llf))
    return {"seconds": time.perf_counter() - tick, "iterations": iterations,
            "forecasts": np.array(forecasts), "llf": np.array(llf)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="path to ridership.tgz (default: RIDERSHIP_DATA, cache or download)")
    parser.add_argument("--end", help="last day of the backtest (default: the data's last)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the pair, fresh then warm")
    args = parser.parse_args(argv)

    rail = ridership.load_ridership(args.data)["rail"].asfreq("D")
    days = rail.loc[START: args.end].index
    truth = rail.loc[days].to_numpy()
    print(f"daily backtest {days[0].date()} to {days[-1].date()}: {len(days)} fits each way")
    print(f"{'start':6} {'seconds':>8} {'iterations':>10} {'MAE':>10}")
    runs = {"fresh": [], "warm": []}
    for _ in range(args.rounds):
        for label in runs:
            run = backtest(rail, days, warm=label == "warm")
            runs[label].append(run)
            mae = np.abs(run["forecasts"] - truth).mean()
            print(f"{label:6} {run['seconds']:8.1f} {run['iterations']:10d} {mae:10,.1f}", flush=True)
    fresh, warm = runs["fresh"][-1], runs["warm"][-1]
    moved = np.abs(warm["forecasts"] - fresh["forecasts"])
    gap = warm["llf"] - fresh["llf"]
    print(f"forecasts, warm against fresh: max {moved.max():,.1f} riders, mean {moved.mean():,.1f}")
    print(f"log-likelihood, warm - fresh: min {gap.min():.2f}, max {gap.max():.2f}, "
          f"below -0.01 on {(gap < -0.01).sum()} of {len(gap)} days")
    for i in np.flatnonzero(days.is_quarter_start):
        print(f"  {days[i].date()}  llf gap {gap[i]:9.2f}  forecast gap {warm['forecasts'][i] - fresh['forecasts'][i]:10,.1f}")
    ratio = statistics.median(r["seconds"] for r in runs["fresh"]) / statistics.median(r["seconds"] for r in runs["warm"])
    print(f"speedup: {ratio:.2f}x")


if __name__ == "__main__":
    main()
