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
from .forecasting import horizon_mae, predict
from .settings import BATCH_SIZE, FIRST_SEED, MAX_EPOCHS, PATIENCE, SHUFFLES, STEPS_PER_EXECUTION, cap_epochs


# --- extra metrics ------------------------------------------------------------------------

def bus_rail(model, data: dict, df: pd.DataFrame) -> dict:
    """The multitask model's validation MAE for each of its outputs (bus, rail), in riders."""
    X, Y = data["valid"]
    bus, rail = (np.abs(predict(model, X) - Y).mean(axis=0) * SCALE).tolist()
    return {"bus_valid_mae": bus, "rail_valid_mae": rail}


def horizons(model, data: dict, df: pd.DataFrame) -> dict:
    """The validation MAE of each horizon (+1 to +14) from each window's last step."""
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
        out[f"{part}_last_step_mae"] = float(np.abs(predict(model, X)[:, -1] - Y[:, -1]).mean() * SCALE)
    return out


EXTRAS: dict[str, Callable[[Any, dict, pd.DataFrame], dict]] = {
    "bus_rail": bus_rail, "horizons": horizons, "last_step": last_step,
}


# --- the experiments ----------------------------------------------------------------------

@dataclass(frozen=True)
class Experiment:
    """One experiment of the chapter.

    Args:
        name: its name, and its row in the results table.
        model: the builder in ``ridership.models.MODELS`` the chapter trains.
        data: the kind of windows (``ridership.datasets.DATA_KINDS``).
        learning_rate: SGD's learning rate (the chapter's protocol: Huber loss, momentum 0.9).
        shuffle: the order of the training windows in an epoch, as ``fit_and_evaluate`` takes
            it (``ridership.settings.SHUFFLES``): ``True``, a full shuffle, as
            ``timeseries_dataset_from_array(shuffle=True)`` gives; ``"buffer"``, time order
            through a 256-window shuffle buffer, as the chapter's ``tf.data`` pipelines give.
        book_mae: the book's published validation MAE (riders), for comparison only.
        extras: extra metrics computed after training (keys of ``EXTRAS``).
        faster: a model computing the same function from the same initial weights faster on a
            CPU; trained unless ``chapter_layers=True``.
        cost: rough relative training time, so that parallel runs start the longest first.
        model_kwargs: arguments for the builder.

    Raises ``RidershipError`` for an unknown kind of windows, order or extra metric.
    """

    name: str
    model: str
    data: str
    learning_rate: float
    shuffle: bool | str = True
    book_mae: float | None = None
    extras: tuple[str, ...] = ()
    faster: str | None = None
    cost: float = 1.0
    model_kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.data not in DATA_KINDS:
            raise RidershipError(f"Experiment {self.name!r}: unknown kind of windows {self.data!r}; "
                                 f"choose one of {', '.join(DATA_KINDS)}.")
        if self.shuffle not in SHUFFLES or self.shuffle is False:
            raise RidershipError(f"Experiment {self.name!r}: shuffle must be True or 'buffer'; got {self.shuffle!r}.")
        unknown = sorted(set(self.extras) - set(EXTRAS))
        if unknown:
            raise RidershipError(f"Experiment {self.name!r}: unknown extra metric(s) {', '.join(unknown)}; "
                                 f"choose from {', '.join(EXTRAS)}.")

    def trained_model(self, chapter_layers: bool = False) -> str:
        """The model a run trains: ``faster`` when there is one, unless the chapter's layers are asked for."""
        return self.model if chapter_layers or not self.faster else self.faster


SEQ = ("last_step",)  # every sequence-to-sequence model also reports its last step's MAE


def _seq2seq(name: str, data: str = "seq2seq", extras: tuple[str, ...] = SEQ, **kwargs) -> Experiment:
    """The chapter's sequence-to-sequence protocol: learning rate 0.1, the tf.data buffer's order."""
    return Experiment(name, model=name, data=data, learning_rate=0.1, shuffle="buffer", extras=extras, **kwargs)


EXPERIMENTS = {e.name: e for e in [
    Experiment("linear", model="linear", data="univar", learning_rate=0.02, book_mae=37_866, cost=5),
    Experiment("simple_rnn", model="simple_rnn", data="univar", learning_rate=0.02, book_mae=102_787, cost=6),
    Experiment("univar", model="univar", data="univar", learning_rate=0.05, book_mae=27_703, cost=9),
    Experiment("deep", model="deep", data="univar", learning_rate=0.01, book_mae=31_211, cost=16),
    Experiment("mulvar", model="mulvar", data="mulvar", learning_rate=0.05, book_mae=22_062, cost=10),
    Experiment("multask", model="multask", data="multask", learning_rate=0.02, book_mae=25_850,
               extras=("bus_rail",), cost=15),
    Experiment("ahead", model="ahead", data="ahead", learning_rate=0.02, book_mae=35_017, cost=15),
    _seq2seq("seq2seq", book_mae=45_929, extras=("horizons", *SEQ), cost=18),
    _seq2seq("custom_ln", cost=21),
    _seq2seq("custom_loop", cost=20),
    _seq2seq("lstm", cost=59),
    _seq2seq("gru", cost=62),
    _seq2seq("conv_rnn", data="downsampled", cost=37),
    _seq2seq("wavenet", data="longer", faster="fused_wavenet", cost=62),
    _seq2seq("full_wavenet", data="longer", cost=66),
]}


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise RidershipError(f"Unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}.")
    return EXPERIMENTS[name]


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


def fit_experiment(name: str, df: pd.DataFrame, seed: int = FIRST_SEED, *, learning_rate: float | None = None,
                   epochs: int = MAX_EPOCHS, patience: int | None = PATIENCE, batch_size: int = BATCH_SIZE,
                   verbose: int | str = 0, callbacks=(), model_kwargs: dict | None = None,
                   chapter_layers: bool = False, data: dict | None = None, quick: bool = False,
                   steps_per_execution: int = STEPS_PER_EXECUTION, progress: bool | None = None) -> ExperimentResult:
    """Train experiment ``name`` exactly as ``ridership reproduce`` does; score it in riders.

    The chapter's protocol (``ridership.training.fit_and_evaluate``): Huber loss, SGD with
    momentum 0.9 at the experiment's learning rate, up to 500 epochs, stopping 50 epochs after
    the best validation MAE and keeping the best weights; the windows in the experiment's order;
    the seed set before the model is built, so the same seed gives the same numbers.

    Args:
        name: a key of ``EXPERIMENTS``.
        df: the daily data (``ridership.load_ridership()``).
        seed: the random seed for the weights and the window order.
        learning_rate: instead of the experiment's.
        epochs: at most this many (capped at ``QUICK_EPOCHS`` in quick mode).
        patience: epochs without a better validation MAE before stopping; ``None`` trains ``epochs``.
        batch_size: windows per batch.
        verbose: Keras' ``verbose``.
        callbacks: more Keras callbacks.
        model_kwargs: arguments for the builder, over the experiment's own.
        chapter_layers: train the chapter's layers where a faster twin exists (the WaveNet).
        data: windows already made by ``make_data(experiment.data, df)``, to save making them again.
        quick: quick mode for this call (``RIDERSHIP_QUICK=1`` turns it on everywhere).
        steps_per_execution: batches per call into Keras' compiled training step.
        progress: one line that follows the fit (``training.FitProgress``); None: in a notebook only.

    Example:

    >>> result = ridership.fit_experiment("linear", df, quick=True)
    >>> result.model_name, result.epochs
    ('linear', 2)
    """
    from .models import build_model
    from .training import epochs_run, evaluate_mae, fit_and_evaluate

    exp = get_experiment(name)
    model_name = exp.trained_model(chapter_layers)
    data = data or make_data(exp.data, df)
    kwargs = {**exp.model_kwargs, **(model_kwargs or {})}
    tick = time.perf_counter()
    fit = fit_and_evaluate(lambda: build_model(model_name, **kwargs), data["train"], data["valid"],
                           exp.learning_rate if learning_rate is None else learning_rate,
                           epochs=cap_epochs(epochs, quick), patience=patience, seed=seed, verbose=verbose,
                           batch_size=batch_size, callbacks=callbacks, shuffle=exp.shuffle,
                           progress=progress, steps_per_execution=steps_per_execution)
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


#: The validation MAE (riders) the book prints for the models it trains for 5 epochs only, to keep
#: its notebook short: the layer-normalized cell (both ways), LSTM, GRU, Conv1D+GRU and the two
#: WaveNets. They are not comparable with a model trained to convergence, so they never enter a
#: ratio; ``versus_book`` shows them in a column of their own, "book, 5 epochs".
BOOK_FIVE_EPOCHS_MAE = {"custom_ln": 103_751, "custom_loop": 102_875, "lstm": 135_186, "gru": 107_093,
                        "conv_rnn": 115_850, "wavenet": 140_714, "full_wavenet": 95_349}


def versus_book(maes: dict[str, float]) -> pd.DataFrame:
    """Our validation MAEs (riders) beside the book's, one row per experiment, with their ratio.

    Where the book trains a model for 5 epochs only, its MAE goes in a column of its own,
    "book, 5 epochs" (``BOOK_FIVE_EPOCHS_MAE``), without a ratio.

    Example:

    >>> versus_book({"univar": 28_465.2})
                   ours   book  ours / book
    experiment
    univar      28465.0  27703        1.028
    """
    # Whole riders with gaps: nullable integers, so that a column with no book figure at all stays
    # numeric (pandas 2 would make it an object column that no arithmetic accepts).
    names = list(maes)
    table = pd.DataFrame({"ours": [float(maes[name]) for name in names],
                          "book": pd.array([BOOK_MAE.get(name) for name in names], dtype="Int64")},
                         index=pd.Index(names, name="experiment"))
    table["ours / book"] = (table["ours"] / table["book"]).astype(float).round(3)
    if any(name in BOOK_FIVE_EPOCHS_MAE for name in maes):
        table["book, 5 epochs"] = pd.array([BOOK_FIVE_EPOCHS_MAE.get(name) for name in names], dtype="Int64")
    return table.round({"ours": 0})

