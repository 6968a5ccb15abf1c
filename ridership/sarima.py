"""The engines that fit the chapter's SARIMA: statsmodels' ARIMA, or ``banded_sarima`` for its model.

:func:`fit_and_forecast` is one fit and the next day's forecast, as the backtests call it:

- ``engine="banded"`` (the default) fits the chapter's model, (1,0,0)x(0,1,1,7), with
  ``ridership.banded_sarima``: statsmodels' own likelihood, starting values and optimizer,
  computed with one banded Cholesky factor instead of the Kalman filter; the same forecasts
  to thousandths of a rider (``tests/test_banded_sarima.py``), several times faster
  (``benchmarks/sarima.py``). Other orders, short histories and gaps go to statsmodels.
- ``engine="statsmodels"`` always runs statsmodels' ARIMA, with two settings that change no
  forecast by more than a hundredth of a rider (tests): no standard errors, and a Kalman filter
  that stops updating its covariance once it has converged.

Every fit runs with BLAS held to one thread: a small fit loses more to threads than it gains.
statsmodels is imported only when a fit needs it.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import scipy.linalg  # noqa: F401  (load BLAS before limiting its threads)
from threadpoolctl import ThreadpoolController

from . import banded_sarima
from .errors import RidershipError

ARIMA_ORDER = (1, 0, 0)
SEASONAL_ORDER = (0, 1, 1, 7)
#: "banded": ``banded_sarima`` where it covers the model and data, statsmodels elsewhere.
ENGINES = ("banded", "statsmodels")

#: For a fit used only to forecast: no standard errors (a numerical Hessian per fit) and no
#: stored filter output; the estimates and forecasts are the same to the last bit (a test).
FORECAST_ONLY = {"cov_type": "none", "low_memory": True}

#: Relative change of the state covariance below which the Kalman filter treats itself as
#: converged and stops recomputing it. statsmodels' default (an absolute 1e-19) never triggers
#: on ridership-sized numbers; at this tolerance forecasts move by thousandths of a rider.
STEADY_STATE = 1e-10


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise RidershipError(f"Unknown SARIMA engine {engine!r}; choose one of {', '.join(ENGINES)}.")


def fit_sarima(series: pd.Series, order=ARIMA_ORDER, seasonal_order=SEASONAL_ORDER, start_params=None,
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


def banded_values(history: pd.Series, order, seasonal_order, engine: str) -> np.ndarray | None:
    """``history`` as an array when ``banded_sarima`` fits it, else None (statsmodels does)."""
    if engine != "banded" or not banded_sarima.supports(order, seasonal_order):
        return None
    values = history.to_numpy(dtype=float)
    return values if banded_sarima.usable(values, seasonal_order[3]) else None


@functools.cache
def _blas() -> ThreadpoolController:
    """This process's BLAS libraries, looked up once: ``threadpool_limits`` looks them up on every
    call, which costs more than a banded fit (``tests/test_baselines.py`` counts the lookups)."""
    return ThreadpoolController()


def one_blas_thread():
    """A context in which BLAS uses one thread."""
    return _blas().limit(limits=1)


def fit_and_forecast(history: pd.Series, order=ARIMA_ORDER, seasonal_order=SEASONAL_ORDER,
                     engine: str = "banded") -> tuple[float, int]:
    """The one-day forecast after ``history`` and the warnings the fit raised."""
    with one_blas_thread():
        values = banded_values(history, order, seasonal_order, engine)
        if values is not None:
            return banded_sarima.fit_and_forecast(values, seasonal_order[3])
        results, n_warn = fit_sarima(history, order, seasonal_order, steady_state=STEADY_STATE, **FORECAST_ONLY)
        return float(results.forecast().iloc[0]), n_warn
