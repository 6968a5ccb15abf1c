"""Forecasting several days ahead three ways, each scored horizon by horizon on the same days (exercise 4).

- **iterative**: a one-step model (the ``univar`` experiment) forecasts tomorrow; the forecast
  is appended to the window and the model runs again, ``steps`` times;
- **direct**: a model with one output per day ahead (the ``ahead`` experiment, 14 outputs)
  forecasts them all at once;
- **seq2seq**: a model trained to forecast the next 14 days at *every* step of the window
  (the ``seq2seq`` experiment); only its last step's forecast is used.

:func:`horizon_maes` scores them on exactly the same forecast origins, every day of a period
that has 56 days of history and ``steps`` days of truth inside the period, so the columns of
its table compare like with like.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import SCALE, multivariate_frame, period
from ..errors import RidershipError
from ..forecasting import iterate, predict
from ..settings import SEQ_LENGTH
from ..windows import ahead_arrays

#: Each approach and the experiment that trains its model (``ridership.experiments.EXPERIMENTS``).
APPROACHES = {"iterative": "univar", "direct": "ahead", "seq2seq": "seq2seq"}
STEPS = 7


def horizon_windows(df: pd.DataFrame, part: str = "valid", steps: int = STEPS,
                    seq_length: int = SEQ_LENGTH) -> dict[str, np.ndarray]:
    """The windows of one period, as each approach's model takes them, and their targets.

    Returns ``{"univariate": (n, seq_length, 1), "multivariate": (n, seq_length, 5),
    "targets": (n, steps)}``: window ``i`` ends on the same day in both inputs, and
    ``targets[i]`` is the rail ridership (millions) of the ``steps`` days after it.
    """
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise RidershipError(f"steps must be a whole number >= 1; got {steps!r}.")
    X1, Y1 = ahead_arrays(period(df["rail"] / SCALE, part), seq_length, ahead=steps, target_col=0)
    X5, Y5 = ahead_arrays(period(multivariate_frame(df), part), seq_length, ahead=steps, target_col=1)
    assert X1.shape[0] == X5.shape[0] and np.allclose(Y1, Y5), "both inputs must end on the same days"
    return {"univariate": X1, "multivariate": X5, "targets": Y1}


def forecast_ahead(model, approach: str, X: np.ndarray, steps: int = STEPS) -> np.ndarray:
    """``steps`` days after the end of every window of ``X``, by ``approach``: ``(windows, steps)``, millions.

    Args:
        model: the approach's trained model (see :data:`APPROACHES`).
        approach: ``"iterative"`` (X univariate), ``"direct"`` or ``"seq2seq"`` (X multivariate).
        X: windows, ``(windows, time, features)``.
        steps: days ahead; a direct or seq2seq model must have at least this many outputs.
    """
    if approach not in APPROACHES:
        raise RidershipError(f"Unknown approach {approach!r}; choose one of {', '.join(APPROACHES)}.")
    X = np.asarray(X, dtype="float32")
    if approach == "iterative":
        return iterate(model, X, steps)
    Y = predict(model, X)
    if approach == "seq2seq":
        if Y.ndim != 3:
            raise RidershipError(f"A seq2seq model returns (windows, time, days ahead); got {Y.shape}.")
        Y = Y[:, -1]  # the forecast made at the window's last step
    if Y.ndim != 2 or Y.shape[1] < steps:
        raise RidershipError(f"The {approach} model forecasts {Y.shape[-1]} days; {steps} were asked for.")
    return Y[:, :steps]


def horizon_maes(models: dict, df: pd.DataFrame, part: str = "valid", steps: int = STEPS) -> pd.DataFrame:
    """MAE in riders of each approach at each horizon ``+1`` to ``+steps``, on the same windows.

    Args:
        models: ``{approach: trained model}`` for any of :data:`APPROACHES`.
        df: the daily data.
        part: the period to score (``"valid"`` or ``"test"``).
        steps: days ahead.

    Example:

    >>> models = {a: ridership.fit_experiment(e, df, quick=True).model for a, e in APPROACHES.items()}
    >>> table = horizon_maes(models, df)
    >>> table.index.tolist(), table.columns.tolist()     # one row per approach, one column per day ahead
    (['iterative', 'direct', 'seq2seq'], ['+1', '+2', '+3', '+4', '+5', '+6', '+7'])
    """
    if not models:
        raise RidershipError(f"No models given: pass {{approach: model}} for any of {', '.join(APPROACHES)}.")
    windows = horizon_windows(df, part, steps)
    rows = {}
    for approach, model in models.items():
        X = windows["univariate" if approach == "iterative" else "multivariate"]
        errors = np.abs(forecast_ahead(model, approach, X, steps) - windows["targets"]) * SCALE
        rows[approach] = errors.mean(axis=0)
    columns = [f"+{h}" for h in range(1, steps + 1)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("approach")
