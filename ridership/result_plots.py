"""Figures from a ``ridership reproduce`` results folder: forecasts, horizons, all models compared.

They read the saved ``.keras`` models and the tables; nothing is retrained. :func:`check_results`
checks everything they read first, so a missing, empty or damaged file is one clear error that
names it and the command that rebuilds it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .baselines import BASELINES
from .data import SCALE, multivariate_frame
from .errors import RidershipError
from .engine.runs import check_run, model_path, run_id
from .engine.storage import save_figure
from .engine.tables import BOOK_HORIZONS
from .settings import FIRST_SEED

TODAY = "2019-02-25"  # the chapter forecasts the two weeks after this day
#: The models the figures load (seed 42's).
FIGURE_MODELS = ("univar", "ahead", "seq2seq")


def _rebuild(results: Path, only: str | None = None) -> str:
    return f"`ridership reproduce --out {results}" + (f" --only {only}`" if only else "`")


def _table(path: Path, needed: list[str], results: Path, only: str | None = None) -> pd.DataFrame:
    """A results table, read and checked: one clear error naming it if it is missing or damaged."""
    fix = f"rebuild it with {_rebuild(results, only)}"
    if not path.is_file():
        raise RidershipError(f"{path} is missing: {fix}.")
    try:
        table = pd.read_csv(path, dtype={"horizon": str})  # "+1", not 1
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise RidershipError(f"{path} is not a readable table ({exc.__class__.__name__}): {fix}.") from None
    missing = [c for c in needed if c not in table.columns]
    numbers = [c for c in needed if c not in ("experiment", "horizon", "backend", "mode")]
    bad = table[numbers].apply(pd.to_numeric, errors="coerce") if not missing else None
    if missing or table.empty or (bad is not None and (~(bad > 0)).any().any()):
        raise RidershipError(f"{path} is damaged or empty (" + (f"no column {', '.join(missing)}" if missing else
                             "no rows" if table.empty else "a value that is not a positive number") + f"): {fix}.")
    return table


def check_results(results: str | Path) -> None:
    """Check what the result figures read in ``results``; raise ``RidershipError`` naming the first problem."""
    from .engine.plan import claim

    results = Path(results)
    if not results.is_dir():
        raise RidershipError(f"{results} is not a results folder: make one with {_rebuild(results)}.")
    claim(results, "reproduce", "--results")  # another command's folder: rebuilding it there would be refused
    _table(results / "results.csv", ["experiment", "valid_mae", "valid_min", "valid_max", "test_mae"], results)
    _table(results / "horizons.csv", ["horizon", "mae"], results, "seq2seq")
    for name in FIGURE_MODELS:
        _verified(results, name)


def _verified(results: Path, name: str) -> Path:
    """Seed 42's model file of ``name``, checked against its run record's size and sha256."""
    rid = run_id(name, FIRST_SEED)
    path = model_path(results, rid)
    check = check_run(results, rid, kind=None)
    if check.status == "missing" or not path.is_file():
        raise RidershipError(f"No trained {name} model at {path}: run {_rebuild(results, name)} first.")
    if check.status == "damaged":
        raise RidershipError(f"{check.problem}: run {_rebuild(results, name)} to train it again.")
    return path


def _model(results: Path, name: str):
    from .saving import load_model

    path = _verified(results, name)
    try:
        return load_model(path)
    except Exception as exc:  # Keras raises several kinds for a file it cannot read
        raise RidershipError(f"{path} does not load as a Keras model ({exc.__class__.__name__}): run "
                             f"{_rebuild(results, name)} --force to train it again.") from None


def forecast_plot(df: pd.DataFrame, forecast: pd.Series, title: str) -> Figure:
    """A forecast in riders against the truth (rail) from the start of February 2019."""
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    truth = df["rail"].loc["2019-02-01":forecast.index[-1]]
    truth.plot(ax=ax, marker=".", label="rail (truth)")
    forecast.plot(ax=ax, marker="x", linestyle="--", color="C3", grid=True, label="forecast")
    ax.axvline(pd.Timestamp(TODAY), color="k", linestyle=":")
    ax.text(pd.Timestamp(TODAY), ax.get_ylim()[1], " today", va="top")
    mae = (forecast - df["rail"].reindex(forecast.index)).abs().mean()
    ax.set_title(f"{title}: MAE {mae:,.0f} riders over {len(forecast)} days")
    ax.set_ylabel("riders per day")
    ax.set_xlabel("")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return fig


def forecast_ahead_plot(df: pd.DataFrame, results: Path) -> Figure:
    """The univariate RNN forecasting 14 days, one day at a time, feeding its forecasts back."""
    from .forecasting import iterative_forecast

    forecast = iterative_forecast(_model(results, "univar"), df["rail"] / SCALE, TODAY)
    return forecast_plot(df, forecast, "Iterative forecast (univar)")


def direct_ahead_plot(df: pd.DataFrame, results: Path) -> Figure:
    """The ``ahead`` model's 14 days in one shot."""
    from .forecasting import direct_forecast

    forecast = direct_forecast(_model(results, "ahead"), multivariate_frame(df), TODAY)
    return forecast_plot(df, forecast, "Direct 14-day forecast (ahead)")


def seq2seq_forecast_plot(df: pd.DataFrame, results: Path) -> Figure:
    """The seq2seq model's 14 days from the last step of its window."""
    from .forecasting import direct_forecast

    forecast = direct_forecast(_model(results, "seq2seq"), multivariate_frame(df), TODAY)
    return forecast_plot(df, forecast, "Seq2seq forecast (seq2seq)")


def horizons_plot(maes: pd.Series) -> Figure:
    """Validation MAE by horizon (index "+1".."+14", in riders), with the book's published ends."""
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    x = np.arange(1, len(maes) + 1)
    ax.plot(x, maes.to_numpy(), marker="o", label="ours")
    book = pd.Series([BOOK_HORIZONS.get(h) for h in maes.index], dtype=float)
    ax.plot(x[book.notna()], book.dropna(), "r*", markersize=12, label="book")
    ax.set_xticks(x, list(maes.index))
    ax.set_xlabel("days ahead")
    ax.set_ylabel("validation MAE (riders)")
    ax.grid(True)
    ax.legend()
    return fig


def horizon_mae_plot(df: pd.DataFrame, results: Path) -> Figure:
    """The seq2seq model's validation MAE by horizon from a results folder (median over seeds)."""
    table = _table(results / "horizons.csv", ["horizon", "mae"], results, "seq2seq")
    return horizons_plot(table.set_index("horizon")["mae"])


def models_mae_plot(df: pd.DataFrame, results: Path) -> Figure:
    """Every model's validation and test MAE from a results folder."""
    return results_plot(_table(results / "results.csv", ["experiment", "valid_mae", "valid_min", "valid_max",
                                                         "test_mae"], results))


def results_plot(table: pd.DataFrame) -> Figure:
    """Every model's validation and test MAE; the naive and SARIMA levels; the book's figure.

    ``table`` is a ``ridership reproduce`` results table (``results.csv``).
    """
    base = table[table.experiment.isin(BASELINES)].set_index("experiment")
    models = table[~table.experiment.isin(BASELINES)].reset_index(drop=True)
    fig = Figure(figsize=(11, 4.5))
    ax = fig.subplots()
    x = np.arange(len(models))
    ax.bar(x - 0.2, models["valid_mae"], 0.4, label="validation (median)", color="C0")
    err = np.vstack([models["valid_mae"] - models["valid_min"], models["valid_max"] - models["valid_mae"]])
    ax.errorbar(x - 0.2, models["valid_mae"], yerr=err, fmt="none", ecolor="k", capsize=2, label="min to max over seeds")
    ax.bar(x + 0.2, models["test_mae"], 0.4, label="test (2019-06 on)", color="C1")
    ax.plot(x - 0.2, models["book_mae"], "r*", markersize=11, label="book (validation)")
    for name, style in (("naive", "--"), ("sarima", ":")):
        if name in base.index:
            ax.axhline(base.loc[name, "valid_mae"], color="k", linestyle=style, linewidth=1,
                       label=f"{name} (validation)")
    ax.set_xticks(x, models["experiment"], rotation=30, ha="right")
    ax.set_ylabel("MAE (riders)")
    ax.set_yscale("log")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(f"Every model of the chapter ({models['seeds'].max()} seed(s), {models['mode'].iloc[0]} run)")
    return fig


RESULT_FIGURES = {
    "forecast_ahead_plot": forecast_ahead_plot,
    "direct_ahead_plot": direct_ahead_plot,
    "seq2seq_forecast_plot": seq2seq_forecast_plot,
    "horizon_mae_plot": horizon_mae_plot,
    "models_mae_plot": models_mae_plot,
}


def save_result_figures(df: pd.DataFrame, results: str | Path, out: str | Path) -> list[Path]:
    """Write every results figure to ``out/<name>.png``; return the paths."""
    results, out = Path(results), Path(out)
    return [save_figure(make(df, results), out / f"{name}.png") for name, make in RESULT_FIGURES.items()]
