"""The chapter's experiments: for each model, its data, learning rate and the book's figure."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import windows as W
from .data import PERIODS, SCALE, multivariate_frame, period
from .errors import RidershipError
from .models import MODELS

#: What each kind of data feeds: the series, how it is cut, and its target.
DATA_KINDS = ("univar", "mulvar", "multask", "ahead", "seq2seq", "longer", "downsampled")
#: Kinds the chapter cuts with tf.data and shuffles through a 256-window buffer in time order;
#: the others come from ``timeseries_dataset_from_array``, whose shuffle spans the whole set.
BUFFERED_KINDS = ("seq2seq", "longer", "downsampled")


@dataclass(frozen=True)
class Experiment:
    name: str
    data: str
    learning_rate: float
    book_mae: float | None = None  # the book's published validation MAE, for comparison only

    @property
    def shuffle(self) -> bool | str:
        """How ``fit_and_evaluate`` orders this experiment's training windows, as the chapter does."""
        return "buffer" if self.data in BUFFERED_KINDS else True


EXPERIMENTS = {e.name: e for e in [
    Experiment("linear", "univar", 0.02, 37_866),
    Experiment("simple_rnn", "univar", 0.02, 102_787),
    Experiment("univar", "univar", 0.05, 27_703),
    Experiment("deep", "univar", 0.01, 31_211),
    Experiment("mulvar", "mulvar", 0.05, 22_062),
    Experiment("multask", "multask", 0.02, 25_850),
    Experiment("ahead", "ahead", 0.02, 35_017),
    Experiment("seq2seq", "seq2seq", 0.1, 45_929),
    Experiment("custom_ln", "seq2seq", 0.1),
    Experiment("custom_loop", "seq2seq", 0.1),
    Experiment("lstm", "seq2seq", 0.1),
    Experiment("gru", "seq2seq", 0.1),
    Experiment("conv_rnn", "downsampled", 0.1),
    Experiment("wavenet", "longer", 0.1),
    Experiment("full_wavenet", "longer", 0.1),
]}
assert set(EXPERIMENTS) == set(MODELS)

#: The book's published validation MAE of every experiment that has one (riders; for comparison only).
BOOK_MAE = {"naive": 42_143, "sarima": 32_041, **{k: e.book_mae for k, e in EXPERIMENTS.items() if e.book_mae}}


def versus_book(maes: dict[str, float]) -> pd.DataFrame:
    """Our validation MAEs (riders) beside the book's, one row per experiment, with their ratio."""
    rows = [{"experiment": name, "ours": float(mae), "book": BOOK_MAE.get(name)} for name, mae in maes.items()]
    table = pd.DataFrame(rows, columns=["experiment", "ours", "book"]).set_index("experiment")
    table["ours / book"] = (table["ours"] / table["book"]).round(3)
    return table.round({"ours": 0})


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise RidershipError(f"Unknown model {name!r}; choose one of {', '.join(EXPERIMENTS)}.")
    return EXPERIMENTS[name]


def series_for(kind: str, df: pd.DataFrame) -> pd.Series | pd.DataFrame:
    """Rail in millions for the univariate kinds, the five-column frame for the others."""
    return df["rail"] / SCALE if kind == "univar" else multivariate_frame(df)


def windows_for(kind: str, series) -> tuple:
    """NumPy ``(X, Y)`` windows of one period for a kind of data (the fast path)."""
    if kind == "univar":
        return W.window_arrays(series)
    if kind == "mulvar":
        return W.window_arrays(series, target_cols=1)
    if kind == "multask":
        return W.window_arrays(series, target_cols=[0, 1])
    if kind == "ahead":
        return W.ahead_arrays(series)
    if kind == "seq2seq":
        return W.seq2seq_arrays(series)
    if kind == "longer":
        return W.seq2seq_arrays(series, seq_length=2 * W.SEQ_LENGTH)
    if kind == "downsampled":
        X, Y = W.seq2seq_arrays(series, seq_length=2 * W.SEQ_LENGTH)
        return X, W.downsample_targets(Y)
    raise RidershipError(f"Unknown kind of data {kind!r}; choose one of {', '.join(DATA_KINDS)}.")


def chapter_dataset(kind: str, series, shuffle: bool = False):
    """The same windows built the chapter's way (keras.utils / tf.data), batched by 32.

    A shuffled dataset draws its order from the global seed in force when it is built, not
    when it is iterated: call ``keras.utils.set_random_seed`` first, as the book does, or the
    order follows whatever ran before.
    """
    seed = W.SEED if shuffle else None
    if kind in ("univar", "mulvar", "multask"):
        target = {"univar": None, "mulvar": 1, "multask": [0, 1]}[kind]
        return W.timeseries_dataset(series, target_cols=target, shuffle=shuffle, seed=seed)
    if kind == "ahead":
        return W.ahead_dataset(series, shuffle=shuffle, seed=seed)
    if kind == "seq2seq":
        return W.to_seq2seq_dataset(series, shuffle=shuffle, seed=seed)
    if kind in ("longer", "downsampled"):
        ds = W.to_seq2seq_dataset(series, seq_length=2 * W.SEQ_LENGTH, shuffle=shuffle, seed=seed)
        return ds.map(lambda X, Y: (X, W.downsample_targets(Y))) if kind == "downsampled" else ds
    raise RidershipError(f"Unknown kind of data {kind!r}; choose one of {', '.join(DATA_KINDS)}.")


def make_data(kind: str, df: pd.DataFrame, fast: bool = True) -> dict:
    """Train, valid and test windows for a kind of data: NumPy pairs, or the chapter's datasets."""
    series = series_for(kind, df)
    parts = {name: period(series, name) for name in PERIODS}
    if fast:
        return {name: windows_for(kind, part) for name, part in parts.items()}
    return {name: chapter_dataset(kind, part, shuffle=name == "train") for name, part in parts.items()}
