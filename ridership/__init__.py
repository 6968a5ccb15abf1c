"""ridership: chapter 15 of Hands-On Machine Learning (3rd ed.), CTA ridership, on Keras 3.

Importing the package registers its custom Keras layers, so saved ``.keras``
models that use them load back.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet

from .launch import choose_command_backend  # noqa: E402

choose_command_backend()  # `ridership reproduce` starts on its backend rather than restarting on it

from .batches import BufferShuffled  # noqa: E402
from .data import load_ridership, multivariate_frame, period, read_ridership, split  # noqa: E402
from .errors import RidershipError  # noqa: E402
from .experiments import EXPERIMENTS, make_data, versus_book  # noqa: E402
from .forecasting import direct_forecast, horizon_mae, iterative_forecast  # noqa: E402
from .layers import CausalConvStack, GatedActivationUnit, LNSimpleRNNCell, StepLoopRNN  # noqa: E402
from .models import MODELS, build_model  # noqa: E402
from .training import FitResult, evaluate_mae, fit_and_evaluate, quick_mode  # noqa: E402
from .windows import (  # noqa: E402
    ahead_arrays, ahead_dataset, seq2seq_arrays, timeseries_dataset, to_seq2seq_dataset, to_windows, window_arrays,
)

__version__ = "0.1.0"

#: Loaded on first use: statsmodels is heavy, and a process that only trains never needs it.
_LAZY = {name: ".baselines" for name in ("naive_errors", "naive_forecast", "sarima_backtest", "sarima_forecast")}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "RidershipError", "load_ridership", "read_ridership", "split", "period", "multivariate_frame",
    "naive_forecast", "naive_errors", "sarima_forecast", "sarima_backtest",
    "window_arrays", "ahead_arrays", "seq2seq_arrays", "timeseries_dataset", "ahead_dataset",
    "to_windows", "to_seq2seq_dataset", "BufferShuffled", "MODELS", "build_model", "EXPERIMENTS", "make_data",
    "LNSimpleRNNCell", "StepLoopRNN", "GatedActivationUnit", "CausalConvStack", "fit_and_evaluate", "evaluate_mae", "FitResult",
    "iterative_forecast", "direct_forecast", "horizon_mae", "versus_book", "quick_mode",
]
