"""Forecasting 14 days ahead: iteratively with a one-step model, directly, and seq2seq per horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import SCALE
from .errors import RidershipError
from .settings import AHEAD, SEQ_LENGTH
from .windows import as_array


def _predict(model, X: np.ndarray) -> np.ndarray:
    return np.asarray(model(X, training=False))


def iterative_forecast(model, series: pd.Series, today: str, steps: int = AHEAD,
                       seq_length: int = SEQ_LENGTH) -> pd.Series:
    """Forecast ``steps`` days after ``today`` with a one-step model, feeding each forecast back in.

    ``series`` is the univariate input (rail in millions); the result is in riders.
    """
    history = series.loc[:today].iloc[-seq_length:]
    if len(history) < seq_length:
        raise RidershipError(f"Only {len(history)} days up to {today}; the model needs seq_length={seq_length}.")
    X = as_array(history)[None]  # (1, seq_length, 1)
    for _ in range(steps):
        y = _predict(model, X[:, -seq_length:]).reshape(1, 1, 1)
        X = np.concatenate([X, y.astype(X.dtype)], axis=1)
    days = pd.date_range(pd.Timestamp(today) + pd.Timedelta(days=1), periods=steps, freq="D")
    return pd.Series(X[0, -steps:, 0] * SCALE, index=days, name="forecast")


def direct_forecast(model, frame: pd.DataFrame, today: str, seq_length: int = SEQ_LENGTH) -> pd.Series:
    """The next days after ``today`` in one shot from an ``ahead`` model (or the last step of a seq2seq one)."""
    X = as_array(frame.loc[:today].iloc[-seq_length:])[None]
    Y = _predict(model, X)
    Y = Y[0, -1] if Y.ndim == 3 else Y[0]
    days = pd.date_range(pd.Timestamp(today) + pd.Timedelta(days=1), periods=len(Y), freq="D")
    return pd.Series(Y * SCALE, index=days, name="forecast")


def horizon_mae(model, X: np.ndarray, truth: pd.Series, seq_length: int | None = None, batch_size: int = 256) -> pd.Series:
    """MAE in riders for each horizon (+1 to +14) of a seq2seq model, from each window's last step.

    ``X`` holds the consecutive windows of one period (``seq2seq_arrays``) and
    ``truth`` that period's target (rail in millions). As the chapter does, the last
    window is left out.
    """
    seq_length = X.shape[1] if seq_length is None else seq_length
    Y = np.concatenate([_predict(model, X[i:i + batch_size]) for i in range(0, len(X), batch_size)])
    last = Y[:-1, -1, :]  # (windows - 1, horizons)
    n, horizons = last.shape
    values = truth.to_numpy()
    maes = {f"+{h + 1}": float(np.abs(last[:, h] - values[seq_length + h: seq_length + h + n]).mean() * SCALE)
            for h in range(horizons)}
    return pd.Series(maes, name="mae")
