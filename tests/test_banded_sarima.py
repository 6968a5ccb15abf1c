"""banded_sarima against statsmodels' ARIMA: the same likelihood, start, fit and forecasts."""

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.arima.model import ARIMA

from ridership import RidershipError, banded_sarima
from ridership.baselines import sarima_backtest

PARAMS = [(0.5, -0.3, 1e9), (0.9, 0.2, 4e9), (-0.2, -0.8, 2e9)]


def _arima(history: pd.Series, season: int = 7) -> ARIMA:
    return ARIMA(history, order=(1, 0, 0), seasonal_order=(0, 1, 1, season))


@pytest.fixture(scope="module")
def histories(df):
    """The chapter's first history (59 days) and a long one (18 months)."""
    rail = df["rail"].asfreq("D")
    return [rail["2019-01-01":"2019-02-28"], rail["2019-01-01":"2020-06-30"]]


def test_loglike_and_forecast_are_statsmodels(histories):
    for history in histories:
        model, y = _arima(history), history.to_numpy()
        for params in PARAMS:
            assert banded_sarima.loglike(params, y) == pytest.approx(model.loglike(np.array(params)), rel=1e-11)
            expected = model.filter(np.array(params)).forecast().iloc[0]
            assert banded_sarima.forecast(params, y) == pytest.approx(expected, rel=1e-11)


def test_another_season_length_on_another_series():
    """The band's layout depends on the season: s = 4 on a random walk with a weekly-free pattern."""
    rng = np.random.default_rng(7)
    y = pd.Series(1_000 + rng.normal(0, 30, 90).cumsum() + np.tile([50.0, -20, 10, -40], 23)[:90],
                  index=pd.date_range("2020-01-01", periods=90))
    model = _arima(y, season=4)
    for params in [(0.3, 0.4, 900.0), (-0.7, -0.5, 2_500.0)]:
        assert banded_sarima.loglike(params, y.to_numpy(), 4) == pytest.approx(model.loglike(np.array(params)), rel=1e-11)
        expected = model.filter(np.array(params)).forecast().iloc[0]
        assert banded_sarima.forecast(params, y.to_numpy(), 4) == pytest.approx(expected, rel=1e-11)


def test_start_values_are_statsmodels(histories):
    for history in histories:
        start, warned = banded_sarima.start_params(history.to_numpy())
        assert start == pytest.approx(_arima(history).start_params, rel=1e-9)
        assert warned == 0


def test_fit_lands_where_statsmodels_does(histories):
    for history in histories:
        ours = banded_sarima.fit(history.to_numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = _arima(history).fit()
        assert ours.converged and ours.start_warnings == 0
        assert ours.params == pytest.approx(theirs.params.to_numpy(), rel=1e-5)
        assert banded_sarima.forecast(ours.params, history.to_numpy()) == pytest.approx(theirs.forecast().iloc[0], abs=0.01)


def test_backtest_engines_agree_to_a_hundredth_of_a_rider(df):
    banded = sarima_backtest(df["rail"], "2019-05-01", "2019-05-31", workers=1)
    again = sarima_backtest(df["rail"], "2019-05-01", "2019-05-31", workers=1)
    statsmodels = sarima_backtest(df["rail"], "2019-05-01", "2019-05-31", workers=1, engine="statsmodels")
    assert (banded.engine, statsmodels.engine) == ("banded", "statsmodels")
    assert (banded.forecasts - statsmodels.forecasts).abs().max() < 0.01
    pd.testing.assert_series_equal(banded.forecasts, again.forecasts)  # the same data, the same numbers


def test_other_models_and_short_histories_go_to_statsmodels(df):
    short = sarima_backtest(df["rail"], "2019-01-15", "2019-01-16", workers=1)  # 14 days behind the first
    assert short.engine == "statsmodels" and short.forecasts.notna().all()
    other = sarima_backtest(df["rail"], "2019-05-30", "2019-05-31", workers=1, order=(2, 0, 0))
    assert other.engine == "statsmodels" and other.forecasts.notna().all()
    assert not banded_sarima.supports((2, 0, 0), (0, 1, 1, 7))


def test_bad_input_says_what_to_do(df):
    with pytest.raises(RidershipError, match="engine 'kalman'.*banded, statsmodels"):
        sarima_backtest(df["rail"], engine="kalman")
    with pytest.raises(RidershipError, match="at least 42 values.*engine=\"statsmodels\""):
        banded_sarima.fit(np.arange(20.0))
    gappy = np.arange(100.0)
    gappy[50] = np.nan
    with pytest.raises(RidershipError, match="1 missing"):
        banded_sarima.fit(gappy)
    with pytest.raises(RidershipError, match="strictly between -1 and 1"):
        banded_sarima.forecast((1.5, 0.2, 1e9), np.arange(100.0))


def test_banded_backtests_leave_statsmodels_unloaded(data_path):
    """statsmodels' modules take about 45 MB; a process that only runs the chapter's model needs none."""
    code = ("import sys; import ridership; "
            f"rail = ridership.load_ridership({str(data_path)!r})['rail']; "
            "b = ridership.sarima_backtest(rail, '2019-05-25', '2019-05-31', workers=1); "
            "print(b.engine, 'statsmodels' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["banded", "False"]
