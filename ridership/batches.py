"""Batches of NumPy windows in the order the chapter's ``tf.data`` pipelines give them.

The chapter builds its sequence-to-sequence windows (and the longer and downsampled
ones) with ``tf.data``: windows come in time order and ``shuffle(8 * batch_size)``
mixes them through a buffer of 256, so a batch holds windows from a few months of
the series, never from all of it. Keras's ``fit(shuffle=True)`` on arrays shuffles
the whole set instead. The order changes what a model learns, so the fast path keeps
the chapter's: ``BufferShuffled``
draws each epoch's order the way ``tf.data``'s shuffle buffer does, from NumPy's
generator, then serves batches by fancy indexing (``tests/test_batches.py`` compares the
distribution of its orders with ``tf.data``'s).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from .errors import RidershipError


def buffer_shuffle_order(n: int, buffer_size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices ``0..n-1`` in the order a shuffle buffer of ``buffer_size`` lets them out.

    The buffer starts with the first ``buffer_size`` items; each step picks one of the
    items it holds uniformly at random, and the next unread item takes its place, as in
    ``tf.data.Dataset.shuffle``.
    """
    if buffer_size < 1:
        raise RidershipError(f"buffer_size must be >= 1; got {buffer_size}.")
    buffer = list(range(min(buffer_size, n)))
    following = len(buffer)
    order = np.empty(n, dtype=np.int64)
    picks = rng.random(n)
    for step in range(n):
        slot = int(picks[step] * len(buffer))
        order[step] = buffer[slot]
        if following < n:
            buffer[slot] = following
            following += 1
        else:
            buffer[slot] = buffer[-1]
            buffer.pop()
    return order


class BufferShuffled(keras.utils.PyDataset):
    """``(X, Y)`` windows in time order, batched after a ``tf.data``-style shuffle buffer.

    A new order is drawn every epoch; the same ``seed`` gives the same orders. The
    default buffer, ``8 * batch_size``, is the chapter's.
    """

    def __init__(self, X, Y, batch_size: int = 32, buffer_size: int | None = None, seed: int | None = None):
        super().__init__()
        if len(X) != len(Y):
            raise RidershipError(f"X and Y hold different numbers of windows ({len(X)} and {len(Y)}).")
        if len(X) == 0:
            raise RidershipError("There are no windows to batch: the period is shorter than one window.")
        self.X, self.Y, self.batch_size = X, Y, batch_size
        self.buffer_size = 8 * batch_size if buffer_size is None else buffer_size
        self._rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self) -> int:
        return math.ceil(len(self.X) / self.batch_size)

    def __getitem__(self, index: int):
        chosen = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.X[chosen], self.Y[chosen]

    def on_epoch_end(self) -> None:
        self.order = buffer_shuffle_order(len(self.X), self.buffer_size, self._rng)
