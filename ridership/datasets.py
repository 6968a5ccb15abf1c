"""The windows each experiment trains on, by kind of data, the fast way and the chapter's way.

A *kind* names a series and how it is cut:

==============  ===========================  ==================================================
kind            series                       windows (inputs -> targets)
==============  ===========================  ==================================================
``univar``      rail (millions)              56 days -> the next day
``mulvar``      bus, rail, next day's type   56 days -> the next day's rail
``multask``     the same five columns        56 days -> the next day's bus and rail
``ahead``       the same                     56 days -> the next 14 days of rail
``seq2seq``     the same                     56 days -> at every step, its next 14 days
``longer``      the same                     112 days -> at every step, its next 14 days
``downsampled`` the same                     112 days -> every second step's 14 from step 3
==============  ===========================  ==================================================

:func:`make_data` gives NumPy ``(X, Y)`` pairs (the fast path) or the chapter's
``timeseries_dataset_from_array`` / ``tf.data`` datasets, which tests prove equal.
"""

from __future__ import annotations

import pandas as pd

from . import windows as W
from .settings import AHEAD, FIRST_SEED, SEQ_LENGTH
from .data import PERIODS, SCALE, multivariate_frame, period
from .errors import RidershipError

DATA_KINDS = ("univar", "mulvar", "multask", "ahead", "seq2seq", "longer", "downsampled")
#: Input steps per window for each kind.
WINDOW_DAYS = {kind: 2 * SEQ_LENGTH if kind in ("longer", "downsampled") else SEQ_LENGTH for kind in DATA_KINDS}


def _check_kind(kind: str) -> None:
    if kind not in DATA_KINDS:
        raise RidershipError(f"Unknown kind of data {kind!r}; choose one of {', '.join(DATA_KINDS)}.")


def series_for(kind: str, df: pd.DataFrame) -> pd.Series | pd.DataFrame:
    """Rail in millions for ``univar``, the five-column frame (``multivariate_frame``) for the others."""
    _check_kind(kind)
    return df["rail"] / SCALE if kind == "univar" else multivariate_frame(df)


def windows_for(kind: str, series) -> tuple:
    """NumPy ``(X, Y)`` windows of one period for a kind of data (the fast path)."""
    _check_kind(kind)
    if kind == "univar":
        return W.window_arrays(series)
    if kind == "mulvar":
        return W.window_arrays(series, target_cols=1)
    if kind == "multask":
        return W.window_arrays(series, target_cols=[0, 1])
    if kind == "ahead":
        return W.ahead_arrays(series)
    X, Y = W.seq2seq_arrays(series, seq_length=WINDOW_DAYS[kind])
    return (X, W.downsample_targets(Y)) if kind == "downsampled" else (X, Y)


def chapter_dataset(kind: str, series, shuffle: bool = False):
    """The same windows built the chapter's way (keras.utils / tf.data), batched by 32.

    A shuffled dataset draws its order from the global seed in force when it is built, not
    when it is iterated: call ``keras.utils.set_random_seed`` first, as the book does, or the
    order follows whatever ran before.
    """
    _check_kind(kind)
    seed = FIRST_SEED if shuffle else None
    if kind in ("univar", "mulvar", "multask"):
        target = {"univar": None, "mulvar": 1, "multask": [0, 1]}[kind]
        return W.timeseries_dataset(series, target_cols=target, shuffle=shuffle, seed=seed)
    if kind == "ahead":
        return W.ahead_dataset(series, shuffle=shuffle, seed=seed)
    ds = W.to_seq2seq_dataset(series, seq_length=WINDOW_DAYS[kind], shuffle=shuffle, seed=seed)
    return ds.map(lambda X, Y: (X, W.downsample_targets(Y))) if kind == "downsampled" else ds


def check_periods(kind: str, df: pd.DataFrame) -> None:
    """Raise ``RidershipError`` if a period of ``df`` is too short for one window of ``kind``."""
    _check_kind(kind)
    needed = WINDOW_DAYS[kind] + (1 if kind in ("univar", "mulvar", "multask") else AHEAD)
    for name, (start, end) in PERIODS.items():
        days = len(period(df, name))
        if days < needed:
            raise RidershipError(
                f"The {name} period ({start} to {end or 'the end of the data'}) has {days} days, fewer than one "
                f"{kind} window needs ({needed}): use data that covers {needed} days or more of it.")


def make_data(kind: str, df: pd.DataFrame, fast: bool = True) -> dict:
    """Train, valid and test windows for a kind of data: NumPy pairs, or the chapter's datasets.

    Args:
        kind: one of ``DATA_KINDS``.
        df: the daily data (``load_ridership()``).
        fast: NumPy ``(X, Y)`` pairs (True) or the chapter's batched datasets (False).

    Example:

    >>> data = make_data("seq2seq", df)
    >>> [a.shape for a in data["train"]]
    [(1027, 56, 5), (1027, 56, 14)]
    """
    check_periods(kind, df)
    series = series_for(kind, df)
    parts = {name: period(series, name) for name in PERIODS}
    if fast:
        return {name: windows_for(kind, part) for name, part in parts.items()}
    return {name: chapter_dataset(kind, part, shuffle=name == "train") for name, part in parts.items()}
