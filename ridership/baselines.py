"""The chapter's statistical baselines: the naive seasonal forecast and SARIMA.

The SARIMA backtest refits the model every day on all data since ``origin``, as
the chapter does. Each fit is a small problem. For the chapter's model the fits run on
``banded_sarima`` by default (statsmodels' likelihood, start and optimizer, computed with one
banded Cholesky factor: the same forecasts to thousandths of a rider, about ten times
faster); ``engine="statsmodels"`` runs statsmodels' ARIMA itself, as other orders always do.
Either way we import SciPy first, pin BLAS to one thread per process and spread the days
over worker processes; statsmodels is imported only when a fit needs it. Cheaper modes refit
weekly or never, reusing fitted parameters on new data.
"""

from __future__ import annotations

import functools
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
import multiprocessing

import numpy as np
import pandas as pd
import scipy.linalg  # noqa: F401  (load BLAS before limiting its threads)
from threadpoolctl import ThreadpoolController

from . import banded_sarima
from .data import select
from .errors import RidershipError
from .parallel import cores

ORDER = (1, 0, 0)
SEASONAL_ORDER = (0, 1, 1, 7)
ORIGIN = "2019-01-01"
REFIT_MODES = ("daily", "weekly", "never")
#: "banded": ``banded_sarima`` where it covers the model and data, statsmodels elsewhere.
ENGINES = ("banded", "statsmodels")


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


#: For a fit used only to forecast: no standard errors (a numerical Hessian per fit) and no
#: stored filter output. The estimates and forecasts are the same to the last bit; 19 % faster.
FORECAST_ONLY = {"cov_type": "none", "low_memory": True}

#: Relative change of the state covariance below which the Kalman filter treats itself as
#: converged and stops recomputing it. statsmodels' default (an absolute 1e-19) never
#: triggers on ridership-sized numbers, so every likelihood evaluation recomputes a
#: covariance that stopped changing after a few months of data. At 1e-10 the backtests'
#: forecasts move by thousandths of a rider and the test-period backtest takes 29 % less time.
STEADY_STATE = 1e-10


def fit_sarima(series: pd.Series, order=ORDER, seasonal_order=SEASONAL_ORDER, start_params=None,
               steady_state: float | None = None, **fit_kwargs):
    """Fit statsmodels' ARIMA on ``series``; return (results, warnings raised).

    ``steady_state`` (e.g. ``STEADY_STATE``) lets the filter stop updating the state
    covariance once it changes by less than that fraction of the variance of the
    differenced series; ``None`` keeps statsmodels' default.
    """
    from statsmodels.tsa.arima.model import ARIMA  # here: the banded fits never load statsmodels

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ARIMA(series, order=order, seasonal_order=seasonal_order)
        if steady_state is not None:
            # The filter compares the squared norm of the covariance's change with this.
            model.ssm.tolerance = (steady_state * _innovation_scale(series, order, seasonal_order)) ** 2
        results = model.fit(start_params=start_params, **fit_kwargs)
    return results, len(caught)


def _innovation_scale(series: pd.Series, order, seasonal_order) -> float:
    """The variance of the series after the model's differencing: the units of its covariances."""
    values = series.to_numpy(dtype=float)
    for _ in range(seasonal_order[1]):
        values = values[seasonal_order[3]:] - values[:-seasonal_order[3]]
    values = np.diff(values, n=order[1])
    scale = float(np.nanvar(values)) if values.size > 1 else 0.0
    return scale if np.isfinite(scale) and scale > 0 else 1.0


def sarima_forecast(series: pd.Series, today: str, origin: str = ORIGIN, order=ORDER,
                    seasonal_order=SEASONAL_ORDER, engine: str = "banded") -> float:
    """The one-day-ahead forecast for the day after ``today`` from data ``origin``..``today``."""
    _check_engine(engine)
    history = select(series, origin, today).asfreq("D")
    return _fit_and_forecast(history, order, seasonal_order, engine)[0]


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise RidershipError(f"Unknown SARIMA engine {engine!r}; choose one of {', '.join(ENGINES)}.")


def _banded(history: pd.Series, order, seasonal_order, engine: str) -> np.ndarray | None:
    """``history`` as an array when ``banded_sarima`` fits it, else None (statsmodels does)."""
    if engine != "banded" or not banded_sarima.supports(order, seasonal_order):
        return None
    values = history.to_numpy(dtype=float)
    return values if banded_sarima.usable(values, seasonal_order[3]) else None


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


@functools.cache
def _blas() -> ThreadpoolController:
    """This process's BLAS libraries, looked up once. ``threadpool_limits`` looks them up on
    every call (6 to 7 ms; 0.03 ms for the controller's ``limit``): over 122 daily fits that
    was 10.7 % of the backtest's time (median of six rounds), forecasts identical."""
    return ThreadpoolController()


def _one_blas_thread():
    """A context in which BLAS uses one thread: a small fit loses more to threads than it gains."""
    return _blas().limit(limits=1)


def _fit_and_forecast(history: pd.Series, order, seasonal_order, engine: str = "banded") -> tuple[float, int]:
    """The one-day forecast after ``history`` and the warnings counted: the forecast-only fit."""
    with _one_blas_thread():
        values = _banded(history, order, seasonal_order, engine)
        if values is not None:
            return banded_sarima.fit_and_forecast(values, seasonal_order[3])
        results, n_warn = fit_sarima(history, order, seasonal_order, steady_state=STEADY_STATE,
                                     **FORECAST_ONLY)
        return float(results.forecast().iloc[0]), n_warn


# Worker processes read the series from this global, inherited when they fork,
# so each task ships only two dates.
_SERIES: pd.Series | None = None


def _worker_task(day: pd.Timestamp, origin, order, seasonal_order, engine) -> tuple[pd.Timestamp, float, int]:
    history = _SERIES.loc[origin: day - pd.Timedelta(days=1)]
    value, n_warn = _fit_and_forecast(history, order, seasonal_order, engine)
    return day, value, n_warn


def default_workers() -> int:
    """One worker per core this process may use."""
    return cores()


def sarima_backtest(series: pd.Series, start: str = "2019-03-01", end: str = "2019-05-31",
                    origin: str = ORIGIN, refit: str = "daily", workers: int | None = None,
                    progress: bool = False, order=ORDER, seasonal_order=SEASONAL_ORDER,
                    engine: str = "banded") -> Backtest:
    """Forecast each day of ``start``..``end`` from the data before it.

    ``refit="daily"`` (the chapter's method) fits a new model every day, in
    ``workers`` processes (default: one per core). ``"weekly"`` fits on the
    first day of each week and reuses those parameters for the next six days;
    ``"never"`` fits once, on the data before ``start``. ``engine="banded"``
    fits the chapter's model with ``banded_sarima`` (statsmodels' fit, computed
    faster); ``"statsmodels"`` runs statsmodels' ARIMA. The warnings fitting
    raises are counted, not shown.
    """
    if refit not in REFIT_MODES:
        raise RidershipError(f"Unknown refit mode {refit!r}; choose one of {', '.join(REFIT_MODES)}.")
    _check_engine(engine)
    series = series.asfreq("D")
    select(series, origin, end)  # checks the bounds
    days = select(series, start, end).index
    if days[0] - pd.Timestamp(origin) < pd.Timedelta(days=2 * seasonal_order[3]):
        raise RidershipError(f"Start the backtest at least two seasons after the origin {origin}.")
    tick = time.perf_counter()
    bar = _progress(len(days), progress, f"SARIMA ({refit})")
    if refit == "daily":
        forecasts, n_warn, workers = _daily(series, days, origin, workers, bar, order, seasonal_order, engine)
        fits = len(days)
    else:
        step = 7 if refit == "weekly" else len(days)
        forecasts, n_warn, fits = _reuse(series, days, origin, step, bar, order, seasonal_order, engine)
        workers = 1
    bar.close()
    preds = pd.Series(forecasts, index=days, name="forecast")
    used = "banded" if _banded(series.loc[origin: days[0] - pd.Timedelta(days=1)], order, seasonal_order,
                               engine) is not None else "statsmodels"
    return Backtest(preds, series.loc[days], refit, fits, n_warn, time.perf_counter() - tick, workers,
                    engine=used)


def _daily(series, days, origin, workers, bar, order, seasonal_order, engine):
    workers = default_workers() if workers is None else int(workers)
    forecasts = {}
    n_warn = 0
    if workers <= 1:
        for day in days:
            history = series.loc[origin: day - pd.Timedelta(days=1)]
            forecasts[day], w = _fit_and_forecast(history, order, seasonal_order, engine)
            n_warn += w
            bar.update(1)
    else:
        global _SERIES
        _SERIES = series
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                # Longest histories first, so no worker is left with the big fits at the end.
                futures = [pool.submit(_worker_task, day, origin, order, seasonal_order, engine)
                           for day in days[::-1]]
                for future in as_completed(futures):
                    day, value, w = future.result()
                    forecasts[day] = value
                    n_warn += w
                    bar.update(1)
        finally:
            _SERIES = None
    return [forecasts[d] for d in days], n_warn, workers


def _reuse(series, days, origin, step, bar, order, seasonal_order, engine):
    """Fit every ``step`` days; in between, filter new data with the fitted parameters."""
    forecasts, n_warn, fits = [], 0, 0
    with _one_blas_thread():
        for i in range(0, len(days), step):
            block = days[i: i + step]
            history = series.loc[origin: block[0] - pd.Timedelta(days=1)]
            values = _banded(history, order, seasonal_order, engine)
            if values is not None and np.isfinite(series.loc[block[0]: block[-1]].to_numpy(dtype=float)).all():
                fitted = banded_sarima.fit(values, seasonal_order[3])
                n_warn += fitted.warnings
                fits += 1
                known = series.loc[origin: block[-1]].to_numpy(dtype=float)
                forecasts.extend(banded_sarima.forecast(fitted.params, known[:values.size + k], seasonal_order[3])
                                 for k in range(len(block)))
                bar.update(len(block))
                continue
            results, w = fit_sarima(history, order, seasonal_order)
            n_warn += w
            fits += 1
            # One-step-ahead predictions over the block, with the parameters held fixed.
            extended = results.apply(series.loc[origin: block[-1]])
            forecasts.extend(extended.predict(start=block[0], end=block[-1]).to_numpy())
            bar.update(len(block))
    return forecasts, n_warn, fits


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def _progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="fit", leave=False)


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
    rows.append({"baseline": f"SARIMA{ORDER}x{SEASONAL_ORDER} refit {refit}", "series": "rail",
                 "period": "2019-03..2019-05", "mae": back.mae, "mape_percent": back.mape})
    table = pd.DataFrame(rows)
    table.attrs["sarima"] = back
    return table
