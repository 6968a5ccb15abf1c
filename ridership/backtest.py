"""A walk-forward backtest of the test period: every model refit on a schedule, as data arrives.

The chapter scores its networks on the test period frozen at the end of 2018; SARIMA, refit
every day, wins there. :func:`walk_forward` gives every model the same chance: each day of the
test period is forecast from an *origin*, the last day known, with a model refit on a schedule
(``SCHEDULES``) from the data known at its refit, never after. A one-day forecast for day ``d``
is made at ``d - 1``; a 14-day model's day-14 forecast for ``d`` at ``d - 14``.

- ``never``: the model fitted before the test period, kept (the book's test score);
- ``monthly``: refit on the last day of each month (the test period's eve included);
- ``weekly``: refit every seven days from the test period's eve.

The naive forecast needs no fit and SARIMA keeps the chapter's daily refit. Between refits a
model keeps its parameters and reads the newest data: a network's input windows end at the
origin, a statistical model's state is updated (statsforecast's ``forward``).

Example:

>>> back = walk_forward("naive", df, end="2021-11")   # the whole test period, even in quick mode
>>> f"{back.mae():,.0f} riders, {back.refits} refits"
'31,008 riders, 0 refits'
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .baselines import naive_forecast, sarima_backtest
from .data import PERIODS, SCALE, select
from .errors import RidershipError
from .settings import (AHEAD, BATCH_SIZE, FINE_TUNE_EPOCHS, FINE_TUNE_WINDOWS, FIRST_SEED, QUICK_BACKTEST_DAYS,
                       SCHEDULES, STAT_HISTORY, STEPS_PER_EXECUTION, cap_epochs, quick_mode)

#: The chapter's networks that forecast the next day, then those that forecast 14 days at once.
ONE_DAY_NETWORKS = ("linear", "univar", "deep", "mulvar")
FOURTEEN_DAY_NETWORKS = ("ahead", "seq2seq")
NETWORKS = (*ONE_DAY_NETWORKS, *FOURTEEN_DAY_NETWORKS)
#: statsforecast's models, as people use them today (the ``forecasters`` extra).
STATISTICAL = ("autoarima", "autoets", "mstl")
BACKTEST_MODELS = ("naive", "sarima", *NETWORKS, *STATISTICAL)
#: The test period's three parts: before the pandemic, the collapse, the recovery.
PARTS = {"before": ("2019-06", "2020-02"), "collapse": ("2020-03", "2020-06"), "recovery": ("2020-07", None)}


def schedules_for(name: str) -> tuple[str, ...]:
    """The schedules a model is backtested under: the naive forecast and SARIMA have one each."""
    _check_name(name)
    return {"naive": ("none",), "sarima": ("daily",)}.get(name, SCHEDULES)


def horizons_for(name: str) -> tuple[int, ...]:
    """The horizons scored: day 1, and day 14 for the models that forecast 14 days at once."""
    _check_name(name)
    return (1, AHEAD) if name in (*FOURTEEN_DAY_NETWORKS, *STATISTICAL) else (1,)


def _check_name(name: str) -> None:
    if name not in BACKTEST_MODELS:
        raise RidershipError(f"Unknown model {name!r} for the backtest; choose one of {', '.join(BACKTEST_MODELS)}.")


def has_statsforecast() -> bool:
    """Whether statsforecast (the ``forecasters`` extra) is installed."""
    import importlib.util

    return importlib.util.find_spec("statsforecast") is not None


@dataclass
class WalkForward:
    """A walk-forward backtest: forecasts by day and horizon, the truth, and what the refits cost.

    ``forecasts`` has one column per horizon (``1``, ``14``), indexed by the day forecast.
    """

    model: str
    schedule: str
    forecasts: pd.DataFrame
    truth: pd.Series
    refits: int
    seconds: float
    detail: dict = field(default_factory=dict)

    def errors(self, horizon: int = 1) -> pd.Series:
        """Absolute errors (riders) of the forecasts ``horizon`` days ahead, by day."""
        if horizon not in self.forecasts.columns:
            raise RidershipError(f"{self.model} has no {horizon}-day forecasts; it has "
                                 f"{', '.join(map(str, self.forecasts.columns))}.")
        forecast = self.forecasts[horizon].dropna()
        return (forecast - self.truth.reindex(forecast.index)).abs()

    def mae(self, horizon: int = 1, start: str | None = None, end: str | None = None) -> float:
        """MAE (riders) of the ``horizon``-day forecasts from ``start`` to ``end`` (months or days)."""
        errors = self.errors(horizon).loc[start:end]
        return float(errors.mean()) if len(errors) else float("nan")

    def part_maes(self, horizon: int = 1) -> dict:
        """MAE overall and over each of ``PARTS`` (NaN for a part the backtest does not reach)."""
        return {"test": self.mae(horizon), **{part: self.mae(horizon, *span) for part, span in PARTS.items()}}


def backtest_days(df: pd.DataFrame, start: str | None = None, end: str | None = None,
                  quick: bool = False) -> pd.DatetimeIndex:
    """The days forecast: the test period (its first ``QUICK_BACKTEST_DAYS`` in quick mode)."""
    start = start or f"{PERIODS['test'][0]}-01"
    days = select(df, start, end).index
    if (quick or quick_mode()) and end is None:
        days = days[:QUICK_BACKTEST_DAYS]
    if len(days) < AHEAD:
        raise RidershipError(f"The backtest needs at least {AHEAD} days to forecast; {start} to {end or 'the end'} "
                             f"has {len(days)}.")
    return days


def refit_origins(days: pd.DatetimeIndex, schedule: str) -> list[pd.Timestamp]:
    """The origins (last days known) at which a model is refit before forecasting ``days``.

    Example:

    >>> days = pd.date_range("2019-06-01", "2019-08-15")
    >>> [f"{o:%m-%d}" for o in refit_origins(days, "monthly")]
    ['05-31', '06-30', '07-31']
    """
    if schedule not in SCHEDULES:
        raise RidershipError(f"Unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}.")
    origins = days - pd.Timedelta(days=1)
    if schedule == "never":
        return []
    if schedule == "weekly":
        return list(origins[::7])
    return [origins[0], *[o for o in origins[1:] if (o + pd.Timedelta(days=1)).day == 1]]


def walk_forward(name: str, df: pd.DataFrame, schedule: str | None = None, *, start: str | None = None,
                 end: str | None = None, seed: int = FIRST_SEED, quick: bool = False, model=None,
                 epochs: int = FINE_TUNE_EPOCHS, windows: int = FINE_TUNE_WINDOWS, history: int | None = None,
                 from_scratch: bool = False, progress: bool = False) -> WalkForward:
    """Forecast every day of the test period from the data before it, refitting on ``schedule``.

    A network (``NETWORKS``) starts from the model ``fit_experiment`` trains (the chapter's
    protocol; pass ``model`` to reuse one, which is copied, never changed). A refit fine-tunes it
    from its current weights, with the chapter's learning rate and Huber loss, for ``epochs``
    epochs (default 10) on the ``windows`` latest windows whose targets are known at the refit
    (default 364, a year of windows), in the experiment's order. Why: starting again would throw
    away what the network learnt of the years before and cost a full training each time; a year
    of windows holds every season once and weighs the newest days most; a fixed count keeps
    one compiled training step for every refit; and with five epochs the whole study stays within
    its ten minutes (``benchmarks/backtest.py`` times it and the refits from scratch).
    ``from_scratch=True`` trains a new network at each refit instead, for ``epochs`` epochs on
    every window known since the training period began (the benchmark's comparison). A statistical forecaster (``STATISTICAL``) is fit on the ``history`` latest days.

    Args:
        name: one of ``BACKTEST_MODELS``.
        df: the daily data (``load_ridership()``).
        schedule: one of ``SCHEDULES`` (default ``weekly``); the naive forecast and SARIMA take
            none (SARIMA refits daily, as in the chapter).
        start, end: the days to forecast (default: the test period; quick mode, its first weeks).
        seed: the network's seed (its initial training and its refits).
        quick: quick mode for this call (also ``RIDERSHIP_QUICK=1``): initial training and refits
            of at most ``QUICK_EPOCHS`` epochs, over the first ``QUICK_BACKTEST_DAYS`` days.
        model: a trained network to start from, instead of training one.
        epochs, windows: a network's refit (see above).
        history: the days a statistical forecaster is fit on (default ``STAT_HISTORY``'s).
        from_scratch: refit a network from new weights (see above).
        progress: show a progress bar.

    Raises ``RidershipError`` for an unknown model or schedule, a period outside the data, or a
    statistical forecaster without statsforecast.
    """
    _check_name(name)
    if name in ("naive", "sarima"):
        if schedule not in (None, *schedules_for(name)):
            raise RidershipError(f"{name} takes no schedule (it is {schedules_for(name)[0]}); leave schedule out.")
        schedule = schedules_for(name)[0]
    elif schedule is None:
        schedule = "weekly"
    history = STAT_HISTORY.get(name, 1) if history is None else history
    for label, value in (("epochs", epochs), ("windows", windows), ("history", history), ("seed", seed)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < (0 if label == "seed" else 1):
            raise RidershipError(f"{label} must be a whole number of at least {0 if label == 'seed' else 1}; "
                                 f"got {value!r}.")
    days = backtest_days(df, start, end, quick)
    truth = df["rail"].loc[days].astype(float)
    if name == "naive":
        forecasts = pd.DataFrame({1: naive_forecast(df["rail"].astype(float)).loc[days]})
        return WalkForward(name, schedule, forecasts, truth, 0, 0.0)
    if name == "sarima":
        back = sarima_backtest(df["rail"], f"{days[0]:%Y-%m-%d}", f"{days[-1]:%Y-%m-%d}", refit="daily",
                               progress=progress)
        return WalkForward(name, schedule, pd.DataFrame({1: back.forecasts}), truth, back.fits, back.seconds,
                           {"engine": back.engine})
    refits = refit_origins(days, schedule)
    if name in STATISTICAL:
        from .forecasters import statistical_forecasts

        if history < 2 * 365 and name == "mstl":
            raise RidershipError(f"MSTL needs two years of its yearly season: history must be at least 730; got {history}.")
        forecasts, seconds, detail = statistical_forecasts(name, df["rail"].astype(float), days,
                                                           refits or [days[0] - pd.Timedelta(days=1)],
                                                           horizons_for(name), history, progress)
        return WalkForward(name, schedule, forecasts, truth, max(len(refits), 1), seconds, detail)
    forecasts, seconds, detail = _network_forecasts(name, df, days, refits, seed, quick, model,
                                                    cap_epochs(epochs, quick), windows, from_scratch, progress)
    return WalkForward(name, schedule, forecasts, truth, len(refits), seconds, detail)


# --- the networks ---------------------------------------------------------------------------

def _windows_before(kind: str, series, origin: pd.Timestamp, count: int | None):
    """The ``count`` latest training windows of ``kind`` whose targets all lie on or before ``origin``
    (``None``: every one since the training period's first day)."""
    from .datasets import WINDOW_DAYS, windows_for

    if count is None:
        return windows_for(kind, series.loc[f"{PERIODS['train'][0]}-01": origin])
    span = WINDOW_DAYS[kind] + (1 if kind in ("univar", "mulvar", "multask") else AHEAD) + count - 1
    X, Y = windows_for(kind, series.loc[:origin].iloc[-span:])
    return X[-count:], Y[-count:]


def _inputs_at(kind: str, series, origins: pd.DatetimeIndex) -> np.ndarray:
    """The input window ending at each origin, one per origin."""
    from numpy.lib.stride_tricks import sliding_window_view

    from .datasets import WINDOW_DAYS
    from .windows import as_array

    length = WINDOW_DAYS[kind]
    values = as_array(series.loc[:origins[-1]].iloc[-(length + len(origins) - 1):], "the known data")
    return np.ascontiguousarray(sliding_window_view(values, length, axis=0).transpose(0, 2, 1))


def _network_forecasts(name, df, days, refits, seed, quick, model, epochs, windows, from_scratch, progress):
    import keras
    from tqdm.auto import tqdm

    from .datasets import series_for
    from .experiments import fit_experiment, get_experiment
    from .forecasting import predict
    from .models import build_model
    from .training import _train_args, compile_model

    exp = get_experiment(name)
    if model is None:
        model = fit_experiment(name, df, seed, quick=quick).model
    series = series_for(exp.data, df)
    origins = days - pd.Timedelta(days=1)

    def fresh(weights_from=None):
        net = build_model(exp.trained_model()) if weights_from is None else keras.models.clone_model(weights_from)
        if weights_from is not None:
            net.set_weights(weights_from.get_weights())
        return compile_model(net, exp.learning_rate, steps_per_execution=STEPS_PER_EXECUTION)

    keras.utils.set_random_seed(seed)
    net = fresh(model)
    refit_set = set(refits)
    starts = [i for i, o in enumerate(origins) if i == 0 or o in refit_set]
    out = {h: pd.Series(np.nan, index=days) for h in horizons_for(name)}
    seconds = 0.0
    with tqdm(total=len(origins), desc=f"{name}", unit="day", leave=False, disable=not progress) as bar:
        for b, first in enumerate(starts):
            block = origins[first: starts[b + 1] if b + 1 < len(starts) else len(origins)]
            if block[0] in refit_set:
                tick = time.perf_counter()
                if from_scratch:
                    keras.utils.set_random_seed(seed + b)
                    net = fresh()
                X, Y = _windows_before(exp.data, series, block[0], None if from_scratch else windows)
                net.fit(**_train_args((X, Y), BATCH_SIZE, exp.shuffle, seed + b), epochs=epochs, verbose=0)
                seconds += time.perf_counter() - tick
            Y = predict(net, _inputs_at(exp.data, series, block))
            Y = Y[:, -1] if Y.ndim == 3 else Y.reshape(len(block), -1)
            for h in out:
                made = block[block + pd.Timedelta(days=h) <= days[-1]]  # origins whose day h is backtested
                out[h].loc[made + pd.Timedelta(days=h)] = Y[:len(made), h - 1] * SCALE
            bar.update(len(block))
    return pd.DataFrame(out), seconds, {"epochs": epochs, "windows": windows, "from_scratch": from_scratch}
