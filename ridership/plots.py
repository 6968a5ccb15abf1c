"""The chapter's data figures, each a function returning a matplotlib Figure.

Figures are built with the object-oriented API (no pyplot state, no ``show``),
so they work in scripts, tests and notebooks alike; notebooks display them as
the cell's value.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from .baselines import Backtest, sarima_backtest
from .data import select
from .engine.storage import save_figure

WINDOW = ("2019-03", "2019-05")  # the three months the chapter plots


def daily_ridership_plot(df: pd.DataFrame) -> Figure:
    """Bus and rail riders per day, March to May 2019: the weekly pattern."""
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    select(df[["bus", "rail"]], *WINDOW).plot(ax=ax, grid=True, marker=".")
    ax.set_ylabel("riders per day")
    ax.set_title("CTA daily ridership")
    return fig


def differencing_plot(df: pd.DataFrame, lag: int = 7) -> Figure:
    """Top: the series with the series ``lag`` days earlier; bottom: their difference."""
    series = df[["bus", "rail"]]
    fig = Figure(figsize=(8, 5))
    top, bottom = fig.subplots(2, 1, sharex=True)
    select(series, *WINDOW).plot(ax=top, legend=False, marker=".")
    select(series.shift(lag), *WINDOW).plot(ax=top, grid=True, legend=False, linestyle=":", color=["C0", "C1"])
    top.legend(["bus", "rail", f"bus {lag} days earlier", f"rail {lag} days earlier"], fontsize=8, ncol=2)
    select(series.diff(lag), *WINDOW).plot(ax=bottom, grid=True, marker=".")
    bottom.set_ylabel(f"{lag}-day difference")
    top.set_ylabel("riders per day")
    fig.subplots_adjust(hspace=0.05)
    return fig


def _monthly(df: pd.DataFrame) -> pd.DataFrame:
    return df[["bus", "rail"]].resample("MS").mean()


def long_term_ridership_plot(df: pd.DataFrame) -> Figure:
    """Monthly mean riders 2001 to 2019 with a 12-month rolling mean: trend and yearly season."""
    monthly = select(_monthly(df), "2001", "2019")
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    monthly.plot(ax=ax, marker=".")
    monthly.rolling(window=12).mean().plot(ax=ax, grid=True, legend=False)
    ax.legend(["bus", "rail", "bus, 12-month mean", "rail, 12-month mean"], fontsize=8)
    ax.set_ylabel("mean riders per day")
    return fig


def yearly_diff_plot(df: pd.DataFrame) -> Figure:
    """The monthly means minus those of a year before: differencing removes the yearly season."""
    diff = select(_monthly(df).diff(12), "2001", "2019")
    fig = Figure(figsize=(8, 3))
    ax = fig.subplots()
    diff.plot(ax=ax, grid=True, marker=".")
    ax.set_ylabel("12-month difference")
    return fig


def sarima_backtest_plot(df: pd.DataFrame, backtest: Backtest | None = None) -> Figure:
    """SARIMA's one-day-ahead forecasts against the true rail ridership."""
    backtest = backtest or sarima_backtest(df["rail"])
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    backtest.truth.plot(ax=ax, marker=".", label="rail (truth)")
    backtest.forecasts.plot(ax=ax, grid=True, marker="x", linestyle=":", color="C3",
                            label=f"SARIMA forecast (refit {backtest.refit})")
    ax.set_title(f"SARIMA backtest, MAE {backtest.mae:,.0f} riders")
    ax.set_ylabel("riders per day")
    ax.set_xlabel("")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return fig


def acf_pacf_plot(df: pd.DataFrame, lags: int = 35) -> Figure:
    """Autocorrelation and partial autocorrelation of rail ridership, 2001 to 2019."""
    from statsmodels.graphics.tsaplots import plot_acf, plot_pacf

    rail = select(df["rail"], "2001", "2019")
    fig = Figure(figsize=(12, 4))
    left, right = fig.subplots(1, 2)
    plot_acf(rail, ax=left, lags=lags)
    plot_pacf(rail, ax=right, lags=lags, method="ywm")
    for ax in (left, right):
        ax.grid(True)
        ax.set_xlabel("lag (days)")
    return fig


DATA_FIGURES = {
    "daily_ridership_plot": daily_ridership_plot,
    "differencing_plot": differencing_plot,
    "long_term_ridership_plot": long_term_ridership_plot,
    "yearly_diff_plot": yearly_diff_plot,
    "sarima_backtest_plot": sarima_backtest_plot,
    "acf_pacf_plot": acf_pacf_plot,
}


def save_data_figures(df: pd.DataFrame, out: str | Path, backtest: Backtest | None = None) -> list[Path]:
    """Write every data figure to ``out/<name>.png`` (atomically); return the paths."""
    out = Path(out)
    paths = []
    for name, make in DATA_FIGURES.items():
        fig = make(df, backtest) if name == "sarima_backtest_plot" else make(df)
        paths.append(save_figure(fig, out / f"{name}.png"))
    return paths
