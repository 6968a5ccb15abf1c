"""The naive and SARIMA baselines against the book's published figures (golden tests)."""

import pandas as pd
import pytest

from ridership import RidershipError, sarima
from ridership.baselines import naive_errors, sarima_backtest, sarima_forecast
from ridership.sarima import FORECAST_ONLY, STEADY_STATE, fit_sarima


def test_naive_golden(df):
    errors = naive_errors(df)
    assert errors.loc["bus", "mae"] == pytest.approx(43_915.6, abs=0.05)
    assert errors.loc["rail", "mae"] == pytest.approx(42_143.3, abs=0.05)
    assert errors.loc["bus", "mape"] == pytest.approx(8.29, abs=0.005)
    assert errors.loc["rail", "mape"] == pytest.approx(8.99, abs=0.005)


def test_sarima_one_day_golden(df):
    assert sarima_forecast(df["rail"], "2019-05-31") == pytest.approx(427_758.6, abs=0.5)


def test_forecast_only_fit_gives_the_full_fits_estimates_and_forecast(df):
    history = df["rail"]["2019-01-01":"2019-05-31"].asfreq("D")
    full, _ = fit_sarima(history)
    lean, _ = fit_sarima(history, **FORECAST_ONLY)
    assert list(lean.params) == list(full.params)
    assert lean.forecast().iloc[0] == full.forecast().iloc[0]


def test_steady_state_filter_gives_the_same_forecast_to_a_hundredth_of_a_rider(df):
    history = df["rail"]["2019-01-01":"2020-06-30"].asfreq("D")
    exact, _ = fit_sarima(history, **FORECAST_ONLY)
    steady, _ = fit_sarima(history, steady_state=STEADY_STATE, **FORECAST_ONLY)
    # statsmodels' default never declares the filter converged; ours does, after months of data
    assert not exact.filter_results.converged
    assert steady.filter_results.converged and 0 < steady.filter_results.period_converged < len(history)
    assert steady.params.to_numpy() == pytest.approx(exact.params.to_numpy(), rel=1e-6)
    assert steady.forecast().iloc[0] == pytest.approx(exact.forecast().iloc[0], abs=0.01)


def test_fits_run_blas_on_one_thread_and_look_the_libraries_up_once(df, monkeypatch):
    from threadpoolctl import threadpool_info

    made = []

    class Counting(sarima.ThreadpoolController):
        def __init__(self):
            made.append(self)
            super().__init__()

    sarima._blas.cache_clear()
    monkeypatch.setattr(sarima, "ThreadpoolController", Counting)
    try:
        sarima_backtest(df["rail"], "2019-05-01", "2019-05-03", workers=1)
        assert len(made) == 1  # three fits, one lookup (a lookup costs more than a banded fit)
        with sarima.one_blas_thread():
            assert {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} == {1}
    finally:
        sarima._blas.cache_clear()


def test_sarima_backtest_golden_in_parallel_and_serial(df):
    parallel = sarima_backtest(df["rail"], workers=2)  # spawned workers, which die with this process
    assert parallel.fits == 92 and parallel.workers == 2 and parallel.engine == "banded"
    assert parallel.mae == pytest.approx(32_040.7, abs=0.5)
    serial = sarima_backtest(df["rail"], "2019-05-01", "2019-05-31", workers=1)
    # the same day gives the same forecast whichever process fits it
    pd.testing.assert_series_equal(serial.forecasts, parallel.forecasts.loc["2019-05"], check_freq=False)


def test_cheaper_refit_modes(df):
    weekly = sarima_backtest(df["rail"], refit="weekly")
    never = sarima_backtest(df["rail"], refit="never")
    assert (weekly.fits, never.fits) == (14, 1)
    daily_first = sarima_backtest(df["rail"], "2019-03-01", "2019-03-01", workers=1)
    # on the first day every mode has fitted on the same data: same forecast
    assert never.forecasts.iloc[0] == pytest.approx(daily_first.forecasts.iloc[0], rel=1e-6)
    assert weekly.forecasts.iloc[0] == pytest.approx(daily_first.forecasts.iloc[0], rel=1e-6)
    # they cost a little accuracy, not much
    assert 32_040 < weekly.mae < 33_000 and 32_040 < never.mae < 34_000


def test_bad_backtest_arguments(df):
    with pytest.raises(RidershipError, match="refit"):
        sarima_backtest(df["rail"], refit="monthly")
    with pytest.raises(RidershipError, match="outside the data"):
        sarima_backtest(df["rail"], "2021-11-01", "2022-01-31")
    for workers in (0, -1, 1.5):
        with pytest.raises(RidershipError, match="workers must be a whole number"):
            sarima_backtest(df["rail"], workers=workers)


def test_cli_baselines(data_path, capsys):
    from ridership.cli import main

    assert main(["baselines", "--data", str(data_path), "--refit", "weekly", "-q"]) == 0
    out = capsys.readouterr().out
    assert "43,915.6" in out and "42,143.3" in out and "SARIMA" in out
