"""Forecast alignment: a model that knows the future must score zero, and forecasts land on the right days."""

import numpy as np
import pandas as pd
import pytest

from ridership import RidershipError
from ridership.forecasting import direct_forecast, horizon_mae, iterative_forecast
from ridership.windows import seq2seq_arrays


class Oracle:
    """Stands in for a seq2seq model: returns the true future of each window."""

    def __init__(self, Y):
        self.Y = Y
        self.start = 0

    def __call__(self, X, training=False):
        out = self.Y[self.start:self.start + len(X)]
        self.start += len(X)
        return out


def test_horizon_mae_of_a_perfect_model_is_zero():
    rng = np.random.default_rng(0)
    frame = rng.normal(size=(120, 5))
    X, Y = seq2seq_arrays(frame)
    maes = horizon_mae(Oracle(Y), X, pd.Series(frame[:, 1]), batch_size=16)
    assert list(maes.index) == [f"+{h}" for h in range(1, 15)]
    assert np.allclose(maes.to_numpy(), 0, atol=0.1)  # float32 windows against float64 truth
    shifted = horizon_mae(Oracle(Y + 0.001), X, pd.Series(frame[:, 1]))
    assert np.allclose(shifted.to_numpy(), 1000, atol=0.1)  # 0.001 million riders


def test_iterative_forecast_feeds_back_and_dates():
    days = pd.date_range("2019-01-01", periods=80, freq="D")
    series = pd.Series(np.arange(80, dtype=float) / 1e6, index=days)
    calls = []

    def next_value(X, training=False):  # "tomorrow = last value + 1 rider"
        calls.append(X.shape)
        return X[:, -1, :] + 1e-6

    forecast = iterative_forecast(next_value, series, "2019-02-25", steps=14)
    assert forecast.index[0] == pd.Timestamp("2019-02-26") and len(forecast) == 14
    today = series.loc["2019-02-25"] * 1e6
    assert forecast.to_numpy() == pytest.approx(today + np.arange(1, 15), abs=1e-3)
    assert all(shape == (1, 56, 1) for shape in calls)
    with pytest.raises(RidershipError, match="seq_length"):
        iterative_forecast(next_value, series, "2019-01-10")


def test_direct_forecast_from_last_step():
    days = pd.date_range("2019-01-01", periods=60, freq="D")
    frame = pd.DataFrame(np.zeros((60, 5)), index=days)
    forecast = direct_forecast(lambda X, training=False: np.ones((1, 56, 14)) * 0.5, frame, "2019-02-25")
    assert len(forecast) == 14 and forecast.iloc[0] == 500_000 and forecast.index[-1] == pd.Timestamp("2019-03-11")
