"""ridership: chapter 15 of Hands-On Machine Learning (3rd ed.), CTA ridership, on Keras 3.

``import ridership`` is quick and changes nothing in the process: it loads no Keras, sets no
environment variable and installs no import hook; each public name loads its module on first
use. Call :func:`choose_backend` before Keras loads to train on JAX when it is installed (the
command line and the notebooks' first cell do); a ``KERAS_BACKEND`` of yours always wins. The
package's custom layers register with Keras when their module is imported, as Keras' own do;
:func:`load_model` imports them before it loads a saved ``.keras`` file.

Example:

>>> import ridership
>>> ridership.choose_backend() in ("jax", "tensorflow")
True
>>> df = ridership.load_ridership()
>>> result = ridership.fit_experiment("linear", df, quick=True)   # as `ridership reproduce --quick` trains it
>>> result.epochs
2
"""

from importlib import import_module

from .errors import RidershipError

__version__ = "0.2.0"

#: Public name -> the module that defines it; each module loads on first use.
_EXPORTS = {
    "backend": ["choose_backend"],
    "saving": ["load_model"],
    "data": ["load_ridership", "read_ridership", "split", "period", "multivariate_frame"],
    "baselines": ["naive_forecast", "naive_errors", "sarima_forecast", "sarima_backtest", "BASELINES"],
    "windows": ["window_arrays", "ahead_arrays", "seq2seq_arrays", "timeseries_dataset", "ahead_dataset",
                "to_windows", "to_seq2seq_dataset"],
    "datasets": ["make_data", "DATA_KINDS"],
    "experiments": ["EXPERIMENTS", "Experiment", "fit_experiment", "versus_book", "BOOK_FIVE_EPOCHS_MAE"],
    "models": ["MODELS", "build_model"],
    "layers": ["LNSimpleRNNCell", "StepLoopRNN", "GatedActivationUnit", "CausalConvStack"],
    "batches": ["BufferShuffled"],
    "training": ["fit_and_evaluate", "evaluate_mae", "FitResult", "FitProgress", "quick_mode"],
    "forecasting": ["iterative_forecast", "direct_forecast", "horizon_mae"],
    "backtest": ["walk_forward", "WalkForward", "BACKTEST_MODELS"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
#: Modules that moved into a folder, still reachable as ``ridership.<name>``.
_MOVED = {**dict.fromkeys(("reproduce", "runs", "tables", "workers", "runtime", "storage"), "engine"),
          **dict.fromkeys(("shapes", "multistep", "gradients", "cells", "video", "quickdraw", "teaching", "diagrams"),
                          "exercises")}
__all__ = ["RidershipError", *_WHERE]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _MOVED:  # a module's name from before the engine/ and exercises/ folders
        return import_module(f".{_MOVED[name]}.{name}", __name__)
    try:  # a submodule, as ``ridership.models`` after ``import ridership``
        return import_module(f".{name}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
