"""What the benchmark scripts share: ``EpochTimer``, the wall time of each epoch of a Keras fit.

Only the benchmarks time epochs, so it lives here rather than in the package; the scripts run
from this folder (``python benchmarks/speed.py``), which puts it on their import path.
"""

from __future__ import annotations

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of each epoch (the first includes tracing and compiling)."""

    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)

    @property
    def steady_ms(self) -> float:
        """Mean milliseconds per epoch after the first."""
        later = self.times[1:] or self.times
        return 1000 * sum(later) / len(later)
