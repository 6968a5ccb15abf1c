"""Benchmark: the chapter's SARIMA backtest, straightforward loop against ridership's.

Both sides run here, one after the other, on the same machine and data:
- the straightforward loop: statsmodels defaults, one fit per day, serial, as the chapter writes it;
- ours: ``ridership.sarima_backtest(refit="daily")`` with its defaults (BLAS pinned to one thread;
  ``--engine banded``, the default, fits with ``ridership.banded_sarima`` in one process;
  ``--engine statsmodels`` with statsmodels' ARIMA, one process per core; ``--workers`` to choose).

For the chapter's backtest (2019-03-01 to 2019-05-31, 92 fits) and a long one that
refits daily over the whole test period (2019-06-01 to 2021-11-30), it prints both
times and MAEs, the largest gap between the two sides' forecasts, and as its last line
``speedup: <ratio>x`` for the long backtest.

    python benchmarks/sarima.py [--data PATH] [--workers N] [--engine banded|statsmodels] [--short-only]
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd
from statsmodels.tsa.arima.model import ARIMA

import ridership
from ridership.baselines import ORIGIN, default_workers, sarima_backtest
from ridership.sarima import ARIMA_ORDER, ENGINES, SEASONAL_ORDER


def straightforward(rail: pd.Series, start: str, end: str) -> tuple[float, float, pd.Series]:
    """The chapter's loop: refit on origin..today, forecast tomorrow. Returns (seconds, MAE, forecasts)."""
    tick = time.perf_counter()
    period = pd.date_range(start, end)
    series = rail.loc[ORIGIN:end].asfreq("D")
    preds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for today in period.shift(-1):
            model = ARIMA(series[ORIGIN:today], order=ARIMA_ORDER, seasonal_order=SEASONAL_ORDER).fit()
            preds.append(model.forecast().iloc[0])
    preds = pd.Series(preds, index=period)
    mae = (preds - series[period]).abs().mean()
    return time.perf_counter() - tick, float(mae), preds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="path to ridership.tgz (default: RIDERSHIP_DATA, cache or download)")
    parser.add_argument("--workers", type=int, default=None, help="our worker processes (default: the engine's default)")
    parser.add_argument("--engine", choices=ENGINES, default="banded", help="how our side fits (default: banded)")
    parser.add_argument("--short-only", action="store_true", help="only the chapter's 92-day backtest")
    args = parser.parse_args(argv)

    rail = ridership.load_ridership(args.data)["rail"]
    workers = args.workers or default_workers(args.engine)
    print(f"cores available: {default_workers('statsmodels')}, our workers: {workers}, our engine: {args.engine}")
    cases = [("chapter", "2019-03-01", "2019-05-31")]
    if not args.short_only:
        cases.append(("long", "2019-06-01", "2021-11-30"))
    print(f"{'backtest':10} {'fits':>5} {'loop s':>8} {'ours s':>8} {'ratio':>6} {'loop MAE':>11} {'ours MAE':>11} "
          f"{'|diff|':>7} {'max gap':>8}")
    ratio = None
    for name, start, end in cases:
        loop_s, loop_mae, loop_preds = straightforward(rail, start, end)
        ours = sarima_backtest(rail, start, end, refit="daily", workers=workers, engine=args.engine)
        ratio = loop_s / ours.seconds
        gap = float((ours.forecasts - loop_preds).abs().max())  # riders, the largest over the days
        print(f"{name:10} {ours.fits:5d} {loop_s:8.2f} {ours.seconds:8.2f} {ratio:6.2f} "
              f"{loop_mae:11.1f} {ours.mae:11.1f} {abs(loop_mae - ours.mae):7.3f} {gap:8.4f}", flush=True)
    print(f"speedup: {ratio:.2f}x")


if __name__ == "__main__":
    main()
