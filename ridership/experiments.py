"""The chapter's experiments, one record each, and :func:`fit_experiment`, which trains one.

An :class:`Experiment` says everything a run needs: the model it trains, the windows it
trains on and in which order, the learning rate, the book's figure and any extra metrics.
``ridership reproduce``, the notebooks, the README's example and the tests all train
through :func:`fit_experiment`, so they train alike. Models live in ``ridership.models``;
two experiments may share one model.

To add an experiment: a record in ``EXPERIMENTS`` (and, for a new model, its builder in
``ridership.models``). The command line, the tables and the tests pick it up from here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .baselines import BASELINES
from .data import SCALE, period
from .datasets import DATA_KINDS, make_data
from .errors import RidershipError
from .settings import BATCH_SIZE, FIRST_SEED, MAX_EPOCHS, PATIENCE, STEPS_PER_EXECUTION, cap_epochs
ORDERS = ("shuffled", "buffer")


@dataclass(frozen=True)
class Experiment:
    """One experiment of the chapter.

    Args:
        name: its name, and its row in the results table.
        model: the builder in ``ridership.models.MODELS`` the chapter trains.
        data: the kind of windows (``ridership.datasets.DATA_KINDS``).
        learning_rate: SGD's learning rate (the chapter's protocol: Huber loss, momentum 0.9).
        order: how an epoch orders the training windows: ``"shuffled"`` (a full shuffle, as
            ``timeseries_dataset_from_array(shuffle=True)`` gives) or ``"buffer"`` (time order
            through a 256-window shuffle buffer, as the chapter's ``tf.data`` pipelines give).
        book_mae: the book's published validation MAE (riders), for comparison only.
        extras: extra metrics computed after training (keys of ``EXTRAS``).
        faster: a model computing the same function from the same initial weights faster on a
            CPU; trained unless ``chapter_layers=True``.
        cost: rough relative training time, so that parallel runs start the longest first.
        model_kwargs: arguments for the builder.
    """

    name: str
    model: str
    data: str
    learning_rate: float
    order: str = "shuffled"
    book_mae: float | None = None
    extras: tuple[str, ...] = ()
    faster: str | None = None
    cost: float = 1.0
    model_kwargs: dict = field(default_factory=dict)

    def trained_model(self, chapter_layers: bool = False) -> str:
        """The model a run trains: ``faster`` when there is one, unless the chapter's layers are asked for."""
        return self.model if chapter_layers or not self.faster else self.faster

    @property
    def shuffle(self) -> bool | str:
        """The order as ``fit_and_evaluate``'s ``shuffle`` argument."""
        return "buffer" if self.order == "buffer" else True


SEQ = ("last_step",)  # every sequence-to-sequence model also reports its last step's MAE
EXPERIMENTS = {e.name: e for e in [
    Experiment("linear", "linear", "univar", 0.02, book_mae=37_866, cost=5),
    Experiment("simple_rnn", "simple_rnn", "univar", 0.02, book_mae=102_787, cost=6),
    Experiment("univar", "univar", "univar", 0.05, book_mae=27_703, cost=9),
    Experiment("deep", "deep", "univar", 0.01, book_mae=31_211, cost=16),
    Experiment("mulvar", "mulvar", "mulvar", 0.05, book_mae=22_062, cost=10),
    Experiment("multask", "multask", "multask", 0.02, book_mae=25_850, extras=("bus_rail",), cost=15),
    Experiment("ahead", "ahead", "ahead", 0.02, book_mae=35_017, cost=15),
    Experiment("seq2seq", "seq2seq", "seq2seq", 0.1, "buffer", 45_929, ("horizons", *SEQ), cost=18),
    Experiment("custom_ln", "custom_ln", "seq2seq", 0.1, "buffer", extras=SEQ, cost=21),
    Experiment("custom_loop", "custom_loop", "seq2seq", 0.1, "buffer", extras=SEQ, cost=20),
    Experiment("lstm", "lstm", "seq2seq", 0.1, "buffer", extras=SEQ, cost=59),
    Experiment("gru", "gru", "seq2seq", 0.1, "buffer", extras=SEQ, cost=62),
    Experiment("conv_rnn", "conv_rnn", "downsampled", 0.1, "buffer", extras=SEQ, cost=37),
    Experiment("wavenet", "wavenet", "longer", 0.1, "buffer", extras=SEQ, faster="fused_wavenet", cost=62),
    Experiment("full_wavenet", "full_wavenet", "longer", 0.1, "buffer", extras=SEQ, cost=66),
]}


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise RidershipError(f"Unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}.")
    return EXPERIMENTS[name]


# --- extra metrics ------------------------------------------------------------------------

def _predict(model, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return np.concatenate([np.asarray(model(X[i:i + batch_size], training=False)) for i in range(0, len(X), batch_size)])


def bus_rail(model, data: dict, df: pd.DataFrame) -> dict:
    """The multitask model's validation MAE for each of its outputs (bus, rail), in riders."""
    X, Y = data["valid"]
    bus, rail = (np.abs(_predict(model, X) - Y).mean(axis=0) * SCALE).tolist()
    return {"bus_valid_mae": bus, "rail_valid_mae": rail}


def horizons(model, data: dict, df: pd.DataFrame) -> dict:
    """The validation MAE of each horizon (+1 to +14) from each window's last step."""
    from .forecasting import horizon_mae

    truth = period(df["rail"], "valid") / SCALE
    return {"horizons": horizon_mae(model, data["valid"][0], truth).to_dict()}


def last_step(model, data: dict, df: pd.DataFrame) -> dict:
    """MAE of the last time step's forecasts only: the forecast a user would use.

    A sequence-to-sequence model is trained and scored (``valid_mae``) on every step of the
    window, most of which see less history; its last step is what compares with ``ahead``.
    """
    out = {}
    for part in ("valid", "test"):
        X, Y = data[part]
        out[f"{part}_last_step_mae"] = float(np.abs(_predict(model, X)[:, -1] - Y[:, -1]).mean() * SCALE)
    return out


EXTRAS: dict[str, Callable[[Any, dict, pd.DataFrame], dict]] = {
    "bus_rail": bus_rail, "horizons": horizons, "last_step": last_step,
}


# --- training -----------------------------------------------------------------------------

@dataclass
class ExperimentResult:
    """What :func:`fit_experiment` returns: the scores in riders, the trained model and its history."""

    name: str
    seed: int
    model_name: str
    valid_mae: float
    test_mae: float
    epochs: int
    seconds: float
    extras: dict
    model: Any
    history: Any

    def record(self) -> dict:
        """The JSON-able part, as a run record holds it."""
        return {"experiment": self.name, "seed": self.seed, "model": self.model_name, "valid_mae": self.valid_mae,
                "test_mae": self.test_mae, "epochs": self.epochs, "seconds": self.seconds, "detail": self.extras}


OVERRIDES = ("learning_rate", "epochs", "patience", "batch_size", "verbose", "callbacks", "model_kwargs",
             "chapter_layers", "data", "quick", "steps_per_execution")


def fit_experiment(name: str, df: pd.DataFrame, seed: int = 42, **overrides) -> ExperimentResult:
    """Train experiment ``name`` exactly as ``ridership reproduce`` does; score it in riders.

    The chapter's protocol (``ridership.training.fit_and_evaluate``): Huber loss, SGD with
    momentum 0.9 at the experiment's learning rate, up to 500 epochs, stopping 50 epochs after
    the best validation MAE and keeping the best weights; the windows in the experiment's order;
    the seed set before the model is built, so the same seed gives the same numbers.

    Args:
        name: a key of ``EXPERIMENTS``.
        df: the daily data (``ridership.load_ridership()``).
        seed: the random seed for the weights and the window order.
        **overrides: any of ``learning_rate``, ``epochs``, ``patience``, ``batch_size``,
            ``verbose``, ``callbacks``, ``model_kwargs``; ``chapter_layers=True`` to train the
            chapter's layers where a faster twin exists (the WaveNet); ``data`` to pass windows
            already made by ``make_data(experiment.data, df)``; ``quick=True`` for the
            quick-mode cap on epochs; ``steps_per_execution`` (default ``STEPS_PER_EXECUTION``).

    Example:

    >>> result = ridership.fit_experiment("univar", df)
    >>> f"{result.valid_mae:,.0f} riders after {result.epochs} epochs"
    """
    from .models import build_model
    from .training import epochs_run, evaluate_mae, fit_and_evaluate

    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise RidershipError(f"fit_experiment got unknown setting(s) {', '.join(unknown)}; "
                             f"choose from {', '.join(OVERRIDES)}.")
    exp = get_experiment(name)
    model_name = exp.trained_model(overrides.get("chapter_layers", False))
    data = overrides.get("data") or make_data(exp.data, df)
    epochs = cap_epochs(overrides.get("epochs", MAX_EPOCHS), overrides.get("quick", False))
    kwargs = {**exp.model_kwargs, **overrides.get("model_kwargs", {})}
    tick = time.perf_counter()
    fit = fit_and_evaluate(lambda: build_model(model_name, **kwargs), data["train"], data["valid"],
                           overrides.get("learning_rate", exp.learning_rate), epochs=epochs,
                           patience=overrides.get("patience", 50), seed=seed, verbose=overrides.get("verbose", 0),
                           batch_size=overrides.get("batch_size", 32), callbacks=overrides.get("callbacks", ()),
                           shuffle=exp.shuffle,
                           steps_per_execution=overrides.get("steps_per_execution", STEPS_PER_EXECUTION))
    seconds = time.perf_counter() - tick
    model = fit.history.model
    extras = {}
    for extra in exp.extras:
        extras.update(EXTRAS[extra](model, data, df))
    return ExperimentResult(name, seed, model_name, fit.mae, evaluate_mae(model, data["test"]),
                            epochs_run(fit.history), seconds, extras, model, fit.history)


#: The book's published validation MAE of each baseline and experiment that has one (riders).
BOOK_MAE = {**{k: b.book_mae for k, b in BASELINES.items()},
            **{k: e.book_mae for k, e in EXPERIMENTS.items() if e.book_mae}}


def versus_book(maes: dict[str, float]) -> pd.DataFrame:
    """Our validation MAEs (riders) beside the book's, one row per experiment, with their ratio.

    Example:

    >>> versus_book({"univar": 28_465.2})
                  ours     book  ours / book
    experiment
    univar      28,465   27,703        1.028
    """
    rows = [{"experiment": name, "ours": float(mae), "book": BOOK_MAE.get(name)} for name, mae in maes.items()]
    table = pd.DataFrame(rows, columns=["experiment", "ours", "book"]).set_index("experiment")
    table["ours / book"] = (table["ours"] / table["book"]).round(3)
    return table.round({"ours": 0})


assert all(e.data in DATA_KINDS and e.order in ORDERS and set(e.extras) <= set(EXTRAS) for e in EXPERIMENTS.values())
