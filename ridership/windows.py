"""Turning the series into training windows, the chapter's ways and a fast way.

The chapter builds windows with ``keras.utils.timeseries_dataset_from_array`` and
with ``tf.data`` ``window``/``flat_map``; the notebooks teach those, so they are
here as written (the ``*_dataset`` and ``to_*`` functions). The fast path
(``*_arrays``) builds the very same windows once with NumPy's
``sliding_window_view``; ``Keras`` then batches and shuffles the arrays itself,
on any backend. Property tests check that both paths give identical arrays.

Shapes: inputs are ``(windows, seq_length, features)``; univariate series get a
feature axis of one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from .errors import RidershipError
from .settings import AHEAD, BATCH_SIZE, FIRST_SEED, SEQ_LENGTH


def as_array(series, name: str = "series") -> np.ndarray:
    """The series as a float32 array of shape (time, features), checked for NaNs."""
    values = series.to_numpy() if isinstance(series, (pd.Series, pd.DataFrame)) else np.asarray(series)
    values = np.asarray(values, dtype="float32")
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise RidershipError(f"{name} must be 1-D (time) or 2-D (time, features); got shape {values.shape}.")
    if np.isnan(values).any():
        first = int(np.flatnonzero(np.isnan(values).any(axis=1))[0])
        raise RidershipError(f"{name} holds NaN values (first at position {first}); fill or drop them before windowing.")
    return values


def check_params(n_steps: int, n_features: int, seq_length: int, ahead: int = 1, target_col: int | None = None) -> None:
    """Raise a clear error for windows that cannot be cut from this series."""
    if not isinstance(seq_length, (int, np.integer)) or seq_length < 1:
        raise RidershipError(f"seq_length must be a whole number >= 1; got {seq_length!r}.")
    if not isinstance(ahead, (int, np.integer)) or ahead < 1:
        raise RidershipError(f"ahead must be a whole number >= 1; got {ahead!r}.")
    if target_col is not None and not -n_features <= target_col < n_features:
        raise RidershipError(f"target_col={target_col} is out of range for a series with {n_features} column(s).")
    if n_steps < seq_length + ahead:
        raise RidershipError(
            f"The series has {n_steps} steps, fewer than one window needs (seq_length={seq_length} + ahead={ahead}): "
            "use a longer period or a shorter seq_length."
        )


# --- the fast path: NumPy --------------------------------------------------------------


def window_arrays(series, seq_length: int = SEQ_LENGTH, target_cols=None) -> tuple[np.ndarray, np.ndarray]:
    """One-step-ahead windows: X[i] = series[i:i+seq_length], y[i] = the next value.

    ``target_cols`` picks the target column(s): ``None`` for a univariate series,
    an int (``(n,)`` targets) or a list of ints (``(n, k)`` targets).
    """
    values = as_array(series)
    cols = [target_cols] if isinstance(target_cols, (int, np.integer)) else target_cols or [None]
    for col in cols:
        check_params(len(values), values.shape[1], seq_length, 1, col)
    X = sliding_window_view(values[:-1], seq_length, axis=0).transpose(0, 2, 1)
    y = values[seq_length:, 0 if target_cols is None else target_cols]
    return np.ascontiguousarray(X), np.ascontiguousarray(y)


def ahead_arrays(series, seq_length: int = SEQ_LENGTH, ahead: int = AHEAD, target_col: int = 1):
    """Windows of ``seq_length`` inputs and the next ``ahead`` values of ``target_col``."""
    values = as_array(series)
    check_params(len(values), values.shape[1], seq_length, ahead, target_col)
    windows = sliding_window_view(values, seq_length + ahead, axis=0).transpose(0, 2, 1)
    return np.ascontiguousarray(windows[:, :seq_length]), np.ascontiguousarray(windows[:, seq_length:, target_col])


def seq2seq_arrays(series, seq_length: int = SEQ_LENGTH, ahead: int = AHEAD, target_col: int = 1):
    """Sequence-to-sequence windows: at every step t of each input window, the next ``ahead`` targets.

    X has shape (n, seq_length, features), Y (n, seq_length, ahead) with
    Y[i, t, h] = series[i + t + 1 + h, target_col].
    """
    values = np.ascontiguousarray(as_array(series))
    n_steps, n_features = values.shape
    check_params(n_steps, n_features, seq_length, ahead, target_col)
    n = n_steps - seq_length - ahead + 1
    # Window i of X is rows i .. i + seq_length - 1: one run of consecutive values in memory.
    X = _blocks(values.ravel(), seq_length * n_features, n_features, n).reshape(n, seq_length, n_features)
    futures = np.ascontiguousarray(sliding_window_view(values[1:, target_col], ahead))  # next `ahead` after step j
    Y = _blocks(futures.ravel(), seq_length * ahead, ahead, n).reshape(n, seq_length, ahead)
    return X, Y


def _blocks(flat: np.ndarray, width: int, step: int, count: int) -> np.ndarray:
    """``count`` runs of ``width`` consecutive values of ``flat``, one every ``step``, copied.

    Copying long contiguous runs is several times faster than copying a transposed window
    view, whose innermost axis is only a few values long.
    """
    return sliding_window_view(flat, width)[: (count - 1) * step + 1 : step].copy()


# --- the chapter's path: keras.utils and tf.data ---------------------------------------


def timeseries_dataset(series, seq_length: int = SEQ_LENGTH, target_cols=None, batch_size: int = BATCH_SIZE,
                       shuffle: bool = False, seed: int | None = FIRST_SEED):
    """The chapter's ``timeseries_dataset_from_array`` call: windows and next-step targets.

    Univariate (``target_cols=None``), multivariate (``target_cols=1``: rail) or
    multitask (``target_cols=[0, 1]``: bus and rail).
    """
    import keras

    values = as_array(series)
    check_params(len(values), values.shape[1], seq_length, 1)
    targets = values[seq_length:, 0] if target_cols is None else values[seq_length:, target_cols]
    return keras.utils.timeseries_dataset_from_array(
        values, targets=targets, sequence_length=seq_length, batch_size=batch_size, shuffle=shuffle, seed=seed)


def ahead_dataset(series, seq_length: int = SEQ_LENGTH, ahead: int = AHEAD, target_col: int = 1,
                  batch_size: int = BATCH_SIZE, shuffle: bool = False, seed: int | None = FIRST_SEED):
    """The chapter's 14-steps-ahead dataset: windows of seq_length + ahead, split in two."""
    import keras

    values = as_array(series)
    check_params(len(values), values.shape[1], seq_length, ahead, target_col)
    ds = keras.utils.timeseries_dataset_from_array(
        values, targets=None, sequence_length=seq_length + ahead, batch_size=batch_size, shuffle=shuffle, seed=seed)
    return ds.map(lambda w: (w[:, :seq_length], w[:, seq_length:, target_col]))


def to_windows(dataset, length: int):
    """Cut a tf.data dataset into overlapping windows of ``length`` consecutive elements.

    Example:

    >>> import tensorflow as tf
    >>> ds = to_windows(tf.data.Dataset.range(6), 4)
    >>> [w.tolist() for w in ds.as_numpy_iterator()]
    [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]]
    """
    if not isinstance(length, (int, np.integer)) or isinstance(length, bool) or length < 1:
        raise RidershipError(f"to_windows needs a window length that is a whole number >= 1; got {length!r}.")
    dataset = dataset.window(length, shift=1, drop_remainder=True)
    return dataset.flat_map(lambda window: window.batch(length))


def to_seq2seq_dataset(series, seq_length: int = SEQ_LENGTH, ahead: int = AHEAD, target_col: int = 1,
                       batch_size: int = BATCH_SIZE, shuffle: bool = False, seed: int | None = None):
    """The chapter's sequence-to-sequence dataset, built with two levels of ``to_windows``."""
    import tensorflow as tf

    values = as_array(series)
    check_params(len(values), values.shape[1], seq_length, ahead, target_col)
    ds = to_windows(tf.data.Dataset.from_tensor_slices(values), ahead + 1)
    ds = to_windows(ds, seq_length).map(lambda S: (S[:, 0], S[:, 1:, target_col]))
    if shuffle:
        ds = ds.shuffle(8 * batch_size, seed=seed)
    return ds.batch(batch_size)


def downsample_targets(Y: np.ndarray, start: int = 3, step: int = 2) -> np.ndarray:
    """Targets for the strided Conv1D model (kernel 4, stride 2): ``Y[:, 3::2]``."""
    return Y[:, start::step]


def dataset_arrays(dataset) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate a finite dataset of ``(X, Y)`` batches back into two arrays (the chapter's and the chorales')."""
    xs, ys = zip(*((np.asarray(x), np.asarray(y)) for x, y in dataset))
    return np.concatenate(xs), np.concatenate(ys)
