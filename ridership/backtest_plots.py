"""The walk-forward backtest's two figures: the test period's rail with three forecasts, and their MAE by month.

Each function takes the forecasts (riders, by day) and returns a matplotlib ``Figure``;
``ridership backtest`` writes them atomically (``engine.storage.save_figure``).

Example:

>>> days = pd.date_range("2019-06-01", periods=60)
>>> truth = pd.Series(np.arange(60.0) * 1e4, index=days)
>>> fig = monthly_mae_plot(truth, {"naive": truth.shift(7)})
>>> [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
['naive']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .backtest import PARTS


def _shade_parts(ax) -> None:
    """The collapse, shaded: the months between the test period's first and last parts."""
    start, end = PARTS["collapse"]
    ax.axvspan(pd.Period(start).start_time, pd.Period(end).end_time, color="0.9", zorder=0)


def rail_forecasts_plot(truth: pd.Series, forecasts: dict[str, pd.Series]) -> Figure:
    """The test period's rail ridership and each forecast (one day ahead), in millions."""
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    _shade_parts(ax)
    ax.plot(truth.index, truth / 1e6, color="black", lw=1, label="rail (truth)")
    for label, forecast in forecasts.items():
        ax.plot(forecast.index, forecast / 1e6, lw=0.8, alpha=0.8, label=label)
    ax.set_ylabel("rail riders a day (millions)")
    ax.set_title("The test period, forecast one day ahead (grey: the collapse, 2020-03 to 2020-06)")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    return fig


def monthly_mae_plot(truth: pd.Series, forecasts: dict[str, pd.Series]) -> Figure:
    """Each forecast's MAE (thousands of riders) month by month: who recovers first."""
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    _shade_parts(ax)
    for label, forecast in forecasts.items():
        errors = (forecast - truth.reindex(forecast.index)).abs().dropna()
        monthly = errors.groupby(errors.index.to_period("M")).mean()
        ax.plot(monthly.index.to_timestamp(), monthly / 1e3, marker="o", ms=3, label=label)
    ax.set_ylabel("MAE (thousands of riders)")
    ax.set_title("MAE month by month, one day ahead")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig
