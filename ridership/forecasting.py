"""Forecasting 14 days ahead: iteratively with a one-step model, directly, and seq2seq per horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import SCALE
from .errors import RidershipError
from .settings import AHEAD, SEQ_LENGTH
from .windows import as_array


def predict(model, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for the windows ``X``, ``batch_size`` windows per call, as a NumPy array.

    Calling the model (not ``model.predict``) keeps this quick for a few windows; the batches bound
    the memory for many.
    """
    return np.concatenate([np.asarray(model(X[i:i + batch_size], training=False))
                           for i in range(0, len(X), batch_size)])


def iterate(model, X: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` days after the end of each window of ``X`` from a one-step model, each forecast fed back in.

    Args:
        model: a model forecasting the next day from a univariate window.
        X: windows ``(windows, time, 1)``; every window moves one day per pass, all at once.
        steps: days ahead.

    Returns ``(windows, steps)``, in the units of ``X``.
    """
    X = np.asarray(X, dtype="float32")
    if X.ndim != 3 or X.shape[-1] != 1:
        raise RidershipError(f"An iterative forecast feeds its forecasts back as the only input column; "
                             f"X must be (windows, time, 1 feature), got {X.shape}.")
    length, window = X.shape[1], X
    for _ in range(steps):
        tomorrow = predict(model, window[:, -length:]).reshape(len(X), 1, 1).astype("float32")
        window = np.concatenate([window, tomorrow], axis=1)
    return window[:, length:, 0]


def iterative_forecast(model, series: pd.Series, today: str, steps: int = AHEAD,
                       seq_length: int = SEQ_LENGTH) -> pd.Series:
    """Forecast ``steps`` days after ``today`` with a one-step model, feeding each forecast back in.

    ``series`` is the univariate input (rail in millions); the result is in riders.
    """
    history = series.loc[:today].iloc[-seq_length:]
    if len(history) < seq_length:
        raise RidershipError(f"Only {len(history)} days up to {today}; the model needs seq_length={seq_length}.")
    days = pd.date_range(pd.Timestamp(today) + pd.Timedelta(days=1), periods=steps, freq="D")
    return pd.Series(iterate(model, as_array(history)[None], steps)[0] * SCALE, index=days, name="forecast")


def direct_forecast(model, frame: pd.DataFrame, today: str, seq_length: int = SEQ_LENGTH) -> pd.Series:
    """The next days after ``today`` in one shot from an ``ahead`` model (or the last step of a seq2seq one)."""
    X = as_array(frame.loc[:today].iloc[-seq_length:])[None]
    Y = predict(model, X)
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
    Y = predict(model, X, batch_size)
    last = Y[:-1, -1, :]  # (windows - 1, horizons)
    n, horizons = last.shape
    values = truth.to_numpy()
    maes = {f"+{h + 1}": float(np.abs(last[:, h] - values[seq_length + h: seq_length + h + n]).mean() * SCALE)
            for h in range(horizons)}
    return pd.Series(maes, name="mae")
