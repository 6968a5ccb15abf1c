"""The chapter's statistical baselines: the naive seasonal forecast and SARIMA's daily backtest.

The SARIMA backtest refits the model every day on all data since ``origin``, as the chapter
does; each fit is computed by one of the engines in ``ridership.sarima``. Cheaper modes refit
weekly or never, reusing fitted parameters on new data. ``BASELINES`` lists what
``ridership reproduce`` runs for each baseline.

Example:

>>> naive_errors(df).round(1)
          mae  mape
bus   43915.6   8.3
rail  42143.3   9.0
"""

from __future__ import annotations

import time
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from . import banded_sarima
from .data import PERIODS, select
from .errors import RidershipError
from .sarima import (ARIMA_ORDER, SEASONAL_ORDER, banded_values, check_engine, fit_and_forecast, fit_sarima,
                     one_blas_thread)

ORIGIN = "2019-01-01"
REFIT_MODES = ("daily", "weekly", "never")
VALID = ("2019-03-01", "2019-05-31")  # the chapter's validation backtest


def naive_forecast(data: pd.DataFrame | pd.Series, lag: int = 7) -> pd.DataFrame | pd.Series:
    """Forecast each day by the value ``lag`` days before (weekly seasonality)."""
    return data.shift(lag)


def naive_errors(df: pd.DataFrame, start: str = "2019-03", end: str = "2019-05", lag: int = 7,
                 columns=("bus", "rail")) -> pd.DataFrame:
    """MAE (riders) and MAPE (%) of the naive forecast over ``start``..``end``, one row per column."""
    series = df[list(columns)]
    errors = select(series - naive_forecast(series, lag), start, end)
    truth = select(series, start, end)
    if errors.isna().any().any():
        raise RidershipError(f"The period {start} to {end} starts fewer than {lag} days after the data begins; start later.")
    return pd.DataFrame({"mae": errors.abs().mean(), "mape": (errors / truth).abs().mean() * 100})


def sarima_forecast(series: pd.Series, today: str, origin: str = ORIGIN, order=ARIMA_ORDER,
                    seasonal_order=SEASONAL_ORDER, engine: str = "banded") -> float:
    """The one-day-ahead forecast for the day after ``today`` from data ``origin``..``today``."""
    check_engine(engine)
    history = select(series, origin, today).asfreq("D")
    return fit_and_forecast(history, order, seasonal_order, engine)[0]


@dataclass
class Backtest:
    """A rolling one-day-ahead backtest: forecasts, truth and what it cost."""

    forecasts: pd.Series
    truth: pd.Series
    refit: str
    fits: int
    warnings: int
    seconds: float
    workers: int = 1
    extra: dict = field(default_factory=dict)
    engine: str = "statsmodels"

    @property
    def mae(self) -> float:
        return float((self.forecasts - self.truth).abs().mean())

    @property
    def mape(self) -> float:
        return float(((self.forecasts - self.truth) / self.truth).abs().mean() * 100)


def default_workers(engine: str = "banded") -> int:
    """Processes for the daily refits: one for the banded fits (a fit takes milliseconds, less
    than starting a process), one per core for statsmodels' (``benchmarks/sarima.py``)."""
    from .engine.runtime import cores

    return 1 if engine == "banded" else len(cores())


def sarima_backtest(series: pd.Series, start: str = VALID[0], end: str = VALID[1],
                    origin: str = ORIGIN, refit: str = "daily", workers: int | None = None,
                    progress: bool = False, order=ARIMA_ORDER, seasonal_order=SEASONAL_ORDER,
                    engine: str = "banded") -> Backtest:
    """Forecast each day of ``start``..``end`` from the data before it.

    Args:
        series: the daily series (rail).
        start, end: the days to forecast.
        origin: the first day every fit uses.
        refit: ``"daily"`` (the chapter's: a new fit every day), ``"weekly"`` (fit on the first
            day of each week, reuse the parameters for six more), ``"never"`` (fit once).
        workers: processes for the daily fits (default: ``default_workers(engine)``).
        progress: show a progress bar.
        order, seasonal_order: the model (default: the chapter's).
        engine: ``"banded"`` or ``"statsmodels"`` (``ridership.sarima``).

    The warnings fitting raises are counted, not shown.
    """
    if refit not in REFIT_MODES:
        raise RidershipError(f"Unknown refit mode {refit!r}; choose one of {', '.join(REFIT_MODES)}.")
    check_engine(engine)
    workers = default_workers(engine) if workers is None else workers
    if not isinstance(workers, int) or workers < 1:
        raise RidershipError(f"workers must be a whole number of at least 1; got {workers!r}.")
    series = series.asfreq("D")
    select(series, origin, end)  # checks the bounds
    days = select(series, start, end).index
    if days[0] - pd.Timestamp(origin) < pd.Timedelta(days=2 * seasonal_order[3]):
        raise RidershipError(f"Start the backtest at least two seasons after the origin {origin}.")
    from tqdm.auto import tqdm

    tick = time.perf_counter()
    with tqdm(total=len(days), desc=f"SARIMA ({refit})", unit="fit", leave=False, disable=not progress) as bar:
        if refit == "daily":
            forecasts, n_warn = _daily(series, days, origin, workers, bar, order, seasonal_order, engine)
            fits = len(days)
        else:
            step = 7 if refit == "weekly" else len(days)
            forecasts, n_warn, fits = _reuse(series, days, origin, step, bar, order, seasonal_order, engine)
            workers = 1
    first = series.loc[origin: days[0] - pd.Timedelta(days=1)]
    used = "banded" if banded_values(first, order, seasonal_order, engine) is not None else "statsmodels"
    return Backtest(pd.Series(forecasts, index=days, name="forecast"), series.loc[days], refit, fits, n_warn,
                    time.perf_counter() - tick, workers, engine=used)


# Each worker process gets the series once, when it starts; a task then ships only a date.
_SERIES: pd.Series | None = None


def _keep_series(series: pd.Series) -> None:
    global _SERIES
    _SERIES = series


def _fit_day(day: pd.Timestamp, origin, order, seasonal_order, engine) -> tuple[pd.Timestamp, float, int]:
    value, n_warn = fit_and_forecast(_SERIES.loc[origin: day - pd.Timedelta(days=1)], order, seasonal_order, engine)
    return day, value, n_warn


def _daily(series, days, origin, workers, bar, order, seasonal_order, engine):
    forecasts, n_warn = {}, 0
    if workers == 1:
        _keep_series(series)
        results = (_fit_day(day, origin, order, seasonal_order, engine) for day in days)
        for day, value, w in results:
            forecasts[day], n_warn = value, n_warn + w
            bar.update(1)
        return [forecasts[d] for d in days], n_warn
    from .engine.workers import worker_pool

    with worker_pool(workers, initializer=_keep_series, initargs=(series,)) as pool:
        # Longest histories first, so no worker is left with the big fits at the end.
        futures = [pool.submit(_fit_day, day, origin, order, seasonal_order, engine) for day in days[::-1]]
        for future in as_completed(futures):
            day, value, w = future.result()
            forecasts[day], n_warn = value, n_warn + w
            bar.update(1)
    return [forecasts[d] for d in days], n_warn


def _reuse(series, days, origin, step, bar, order, seasonal_order, engine):
    """Fit every ``step`` days; in between, filter new data with the fitted parameters."""
    forecasts, n_warn, fits = [], 0, 0
    with one_blas_thread():
        for i in range(0, len(days), step):
            block = days[i: i + step]
            history = series.loc[origin: block[0] - pd.Timedelta(days=1)]
            values = banded_values(history, order, seasonal_order, engine)
            if values is not None and np.isfinite(series.loc[block[0]: block[-1]].to_numpy(dtype=float)).all():
                fitted = banded_sarima.fit(values, seasonal_order[3])
                n_warn += fitted.warnings
                known = series.loc[origin: block[-1]].to_numpy(dtype=float)
                forecasts.extend(banded_sarima.forecast(fitted.params, known[:values.size + k], seasonal_order[3])
                                 for k in range(len(block)))
            else:
                results, w = fit_sarima(history, order, seasonal_order)
                n_warn += w
                # One-step-ahead predictions over the block, with the parameters held fixed.
                extended = results.apply(series.loc[origin: block[-1]])
                forecasts.extend(extended.predict(start=block[0], end=block[-1]).to_numpy())
            fits += 1
            bar.update(len(block))
    return forecasts, n_warn, fits


def baseline_table(df: pd.DataFrame, refit: str = "daily", workers: int | None = None,
                   progress: bool = False) -> pd.DataFrame:
    """The chapter's baseline figures, one row each: naive bus and rail, SARIMA rail."""
    naive = naive_errors(df)
    back = sarima_backtest(df["rail"], refit=refit, workers=workers, progress=progress)
    rows = [
        {"baseline": "naive (lag 7)", "series": col, "period": "2019-03..2019-05",
         "mae": naive.loc[col, "mae"], "mape_percent": naive.loc[col, "mape"]}
        for col in naive.index
    ]
    rows.append({"baseline": f"SARIMA{ARIMA_ORDER}x{SEASONAL_ORDER} refit {refit}", "series": "rail",
                 "period": "2019-03..2019-05", "mae": back.mae, "mape_percent": back.mape})
    table = pd.DataFrame(rows)
    table.attrs["sarima"] = back
    return table


# --- the baselines as ``ridership reproduce`` runs them -------------------------------------

def _test_period(df: pd.DataFrame) -> tuple[str, str]:
    start, end = PERIODS["test"]
    return f"{start}-01", end or df.index[-1].strftime("%Y-%m-%d")


def run_naive(df: pd.DataFrame, quick: bool = False) -> dict:
    """The naive forecast's validation (the chapter's three months) and test MAE on rail."""
    errors = naive_errors(df)
    rail = df["rail"]
    test = float(select((rail - naive_forecast(rail)).abs(), *_test_period(df)).mean())
    return {"valid_mae": float(errors.loc["rail", "mae"]), "test_mae": test,
            "detail": {"valid_period": "2019-03..2019-05", "bus_valid_mae": float(errors.loc["bus", "mae"])}}


def run_sarima(df: pd.DataFrame, quick: bool = False) -> dict:
    """SARIMA's validation backtest (the chapter's) and test backtest (refit weekly in quick mode)."""
    valid = sarima_backtest(df["rail"])
    refit = "weekly" if quick else "daily"
    test = sarima_backtest(df["rail"], *_test_period(df), refit=refit)
    return {"valid_mae": valid.mae, "test_mae": test.mae,
            "detail": {"valid_period": "2019-03..2019-05", "test_refit": refit, "valid_seconds": valid.seconds,
                       "engine": valid.engine}}


@dataclass(frozen=True)
class Baseline:
    """A baseline of the chapter: how ``ridership reproduce`` runs it, and the book's figure.

    Args:
        name: its row in the results table.
        run: ``run(df, quick) -> {"valid_mae", "test_mae", "detail"}`` in riders.
        book_mae: the book's published validation MAE (riders).
        cost: rough relative time, so that parallel runs start the longest first.
    """

    name: str
    run: Callable[[pd.DataFrame, bool], dict]
    book_mae: float
    cost: float = 0.0


BASELINES = {b.name: b for b in [Baseline("naive", run_naive, 42_143), Baseline("sarima", run_sarima, 32_041, 5)]}
