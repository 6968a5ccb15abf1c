"""Today's statistical forecasters, from statsforecast (the ``forecasters`` extra), walked forward.

``FORECASTERS`` builds each model as people use it: AutoARIMA and AutoETS with a weekly season,
MSTL with a weekly and a yearly one. :func:`statistical_forecasts` fits a model at each refit
origin on the latest days and, between refits, updates its state on the newest data with the
parameters held: statsforecast's ``forward`` for AutoARIMA and AutoETS, on the days from the
fit's first to the origin (their initial states, the weekly season's phase among them, belong to
that first day). MSTL's own ``forward``
decomposes the whole series again, which is a refit of its seasonal shapes (and costs as much);
between its refits the seasonal components fitted last are continued as its ``predict`` continues
them (each one's last season repeated), and only its trend model reads the new days.

Example:

>>> from ridership.forecasters import FORECASTERS
>>> sorted(FORECASTERS)
['autoarima', 'autoets', 'mstl']
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from .errors import RidershipError

FORECASTERS_HINT = "pip install 'ridership[forecasters]'"
#: How each model is built: its statsforecast class and arguments (statsforecast's defaults
#: otherwise). AutoARIMA searches its orders on the conditional sum of squares and fits the one it
#: chose by maximum likelihood (``approximation=True``, what R's ``auto.arima`` does by default on
#: series this long): four times faster a fit on a year of days, often the same orders, and what
#: keeps the whole study of ``benchmarks/backtest.py`` within its ten minutes.
FORECASTERS = {
    "autoarima": ("AutoARIMA", {"season_length": 7, "approximation": True}),
    "autoets": ("AutoETS", {"season_length": 7}),
    "mstl": ("MSTL", {"season_length": [7, 365]}),
}


def forecaster_spec(name: str) -> str:
    """How ``name`` is built, as a call: part of what makes its backtest of one kind.

    Example:

    >>> forecaster_spec("autoarima")
    'AutoARIMA(season_length=7, approximation=True)'
    """
    cls, arguments = FORECASTERS[name]
    return f"{cls}({', '.join(f'{key}={value!r}' for key, value in arguments.items())})"


def make_forecaster(name: str):
    """A new, unfitted statsforecast model; one line naming the extra when statsforecast is missing."""
    if name not in FORECASTERS:
        raise RidershipError(f"Unknown forecaster {name!r}; choose one of {', '.join(FORECASTERS)}.")
    try:
        from statsforecast import models
    except ImportError:
        raise RidershipError(f"{name} needs statsforecast, which is not installed: {FORECASTERS_HINT}") from None
    cls, arguments = FORECASTERS[name]
    return getattr(models, cls)(**arguments)


def _seasonal(fitted, days_after: int) -> np.ndarray:
    """MSTL's seasonal components over its fitted days and ``days_after`` more, each season repeated."""
    components = fitted.model_.filter(regex="^seasonal")
    lengths = fitted.season_length if isinstance(fitted.season_length, list) else [fitted.season_length]
    total = components.sum(axis=1).to_numpy()
    ahead = np.zeros(days_after)
    for column, length in zip(components.columns, sorted(lengths)):
        last = components[column].to_numpy()[-length:]
        ahead += np.resize(last, days_after)
    return np.concatenate([total, ahead])


def _forecast(name: str, fitted, fit_end: int, y: np.ndarray, end: int, h: int, history: int, seasonal) -> np.ndarray:
    """The ``h`` days after position ``end`` of ``y`` (``y[:end + 1]`` known), fitted on ``history`` days to ``fit_end``.

    Between refits the model reads the days from its fit's first day to the origin: its fitted
    initial states (a weekly season's phase among them) belong to that first day.
    """
    if end == fit_end:
        return fitted.predict(h=h)["mean"]
    window = y[fit_end + 1 - history: end + 1]
    if name != "mstl":
        return fitted.forward(y=window, h=h)["mean"]
    season = seasonal[: window.size + h]
    trend = fitted.trend_forecaster.forward(y=window - season[:-h], h=h)["mean"]
    return trend + season[-h:]


def statistical_forecasts(name: str, series: pd.Series, days: pd.DatetimeIndex, refits: list[pd.Timestamp],
                          horizons: tuple[int, ...], history: int, progress: bool = False):
    """Forecasts of ``days`` at each horizon, by a model refit at ``refits`` on ``history`` days.

    Returns ``(forecasts, seconds the fits took, detail)``.
    """
    from tqdm.auto import tqdm

    origins = days - pd.Timedelta(days=1)
    position = {day: i for i, day in enumerate(series.index)}
    if origins[0] not in position or position[origins[0]] + 1 < history:
        raise RidershipError(f"{name} is fit on the {history} days before each origin; the data starts too late "
                             f"for the first, {origins[0]:%Y-%m-%d}.")
    y = series.to_numpy(dtype=float)
    h = max(horizons)
    out = {k: pd.Series(np.nan, index=days) for k in horizons}
    refit_set, fitted, fit_end, seasonal, seconds = set(refits), None, None, None, 0.0
    with warnings.catch_warnings(), tqdm(total=len(origins), desc=name, unit="day", leave=False,
                                         disable=not progress) as bar:
        warnings.simplefilter("ignore")  # AutoARIMA's search warns about the candidates it drops
        for origin in origins:
            end = position[origin]
            if fitted is None or origin in refit_set:
                tick = time.perf_counter()
                fitted = make_forecaster(name).fit(y[end + 1 - history: end + 1])
                fit_end = end
                if name == "mstl":
                    seasonal = _seasonal(fitted, _days_to_next(origins, origin, refit_set) + h)
                seconds += time.perf_counter() - tick
            values = _forecast(name, fitted, fit_end, y, end, h, history, seasonal)
            for k in horizons:
                day = origin + pd.Timedelta(days=k)
                if day <= days[-1]:
                    out[k].loc[day] = float(values[k - 1])
            bar.update(1)
    return pd.DataFrame(out), seconds, {"history": history}


def _days_to_next(origins: pd.DatetimeIndex, origin: pd.Timestamp, refits: set) -> int:
    """Days from ``origin`` to the next refit (or past the last origin)."""
    later = [o for o in origins if o > origin and o in refits]
    return ((later[0] if later else origins[-1]) - origin).days + 1
