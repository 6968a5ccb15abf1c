"""Training with the chapter's protocol, and evaluation in riders."""

from __future__ import annotations

import sys
from typing import Callable, NamedTuple

import keras

from .batches import BufferShuffled
from .data import SCALE
from .errors import RidershipError
from .engine.runtime import release_freed_memory
from .settings import (BATCH_SIZE, FIRST_SEED, MAX_EPOCHS, PATIENCE, QUICK_EPOCHS, SHUFFLES,  # noqa: F401
                       cap_epochs, quick_mode)


class FitResult(NamedTuple):
    """The validation MAE in riders (the model's scaled MAE times ``SCALE``) and the Keras History."""

    mae: float
    history: keras.callbacks.History


def compile_model(model: keras.Model, learning_rate: float, **compile_kwargs) -> keras.Model:
    """Huber loss, SGD with momentum 0.9, MAE metric: the chapter's choices."""
    model.compile(loss=keras.losses.Huber(), optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
                  metrics=["mae"], **compile_kwargs)
    return model


def _fit_args(data, batch_size: int, shuffle: bool) -> dict:
    """NumPy ``(X, Y)`` pairs are batched (and shuffled) by Keras; datasets go as they are."""
    if isinstance(data, tuple):
        return {"x": data[0], "y": data[1], "batch_size": batch_size, "shuffle": shuffle}
    return {"x": data, "shuffle": False}  # a dataset is already shuffled (or not) as built


def evaluate_mae(model: keras.Model, data, batch_size: int = BATCH_SIZE) -> float:
    """MAE of ``model`` on ``data`` (a dataset or ``(X, Y)``), in riders."""
    args = _fit_args(data, batch_size, shuffle=False)
    args.pop("shuffle")
    metrics = model.evaluate(**args, verbose=0, return_dict=True)
    return float(metrics["mae"]) * SCALE


def _train_args(data, batch_size: int, shuffle: bool | str, seed: int | None) -> dict:
    """``fit`` arguments for the training windows in the requested order."""
    if shuffle not in SHUFFLES:
        raise RidershipError(f"shuffle must be True, False or 'buffer'; got {shuffle!r}.")
    if shuffle == "buffer" and isinstance(data, tuple):
        # shuffle=False: fit would otherwise permute a PyDataset's batches, undoing the time order
        return {"x": BufferShuffled(*data, batch_size=batch_size, seed=seed), "shuffle": False}
    return _fit_args(data, batch_size, shuffle=bool(shuffle))


def in_notebook() -> bool:
    """True in a Jupyter kernel (a notebook, live or executed by nbclient), False in a script or a test."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


class FitProgress(keras.callbacks.Callback):
    """One line that a fit rewrites as epochs end, then leaves as its summary: the epochs done and
    the best validation score so far (``tqdm``, refreshed at most every ``interval`` seconds).

    A notebook shows it as one live line, and an executed notebook keeps one line per fit (its
    runner keeps the last state of a line rewritten with carriage returns), where Keras'
    ``verbose`` would print a line or a bar per epoch, up to 500 of them.

    Args:
        label: what trains, printed first (e.g. the experiment's name).
        monitor: the log to follow (``"val_mae"``, or ``"val_accuracy"`` with ``best=max``).
        best: ``min`` or ``max``: which value is the best.
        show: the best value as text (default: an MAE in riders, the scaled MAE times ``SCALE``).
        interval: seconds between two refreshes of the line.
        file: where the line goes (default: ``sys.stdout``).

    Example:

    >>> import io
    >>> out = io.StringIO()
    >>> progress = FitProgress("demo", file=out)
    >>> progress.params = {"epochs": 3}
    >>> progress.on_train_begin()
    >>> for epoch, mae in enumerate([0.05, 0.03, 0.04]):
    ...     progress.on_epoch_end(epoch, {"val_mae": mae})
    >>> progress.on_train_end()
    >>> out.getvalue().splitlines()[-1].split(" [")[0]   # the line as it ends (a "\\r" starts each state)
    'demo: 3/3 epochs, best validation MAE 30,000 riders'
    """

    def __init__(self, label: str = "fit", monitor: str = "val_mae", best=min, show=None, interval: float = 1.0,
                 file=None):
        super().__init__()
        self.label, self.monitor, self.best, self.interval, self.file = label, monitor, best, interval, file
        self.show = show or (lambda value: f"{value * SCALE:,.0f} riders")
        self.what = {"val_mae": "validation MAE", "val_accuracy": "validation accuracy",
                     "loss": "training loss"}.get(monitor, monitor)
        self.bar, self.value = None, None

    def on_train_begin(self, logs=None):
        from tqdm.std import tqdm  # the plain bar: text a saved notebook keeps, not a widget

        self.value = None
        self.bar = tqdm(total=self.params.get("epochs"), desc=self.label, file=self.file or sys.stdout,
                        mininterval=self.interval, dynamic_ncols=False,
                        bar_format="{desc}: {n_fmt}/{total_fmt} epochs{postfix} [{elapsed}]")

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None:
            self.value = value if self.value is None else self.best(self.value, value)
            self.bar.set_postfix_str(f"best {self.what} {self.show(self.value)}", refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def fit_and_evaluate(model: keras.Model | Callable[[], keras.Model], train_set, valid_set, learning_rate: float,
                     epochs: int = MAX_EPOCHS, patience: int | None = PATIENCE, seed: int | None = FIRST_SEED,
                     verbose: int | str = 0, batch_size: int = BATCH_SIZE, callbacks=(), shuffle: bool | str = True,
                     progress: bool | None = None, **compile_kwargs) -> FitResult:
    """Train until the validation MAE stops improving for ``patience`` epochs; keep the best weights.

    ``model`` is a model or a builder: pass a builder (e.g. ``ridership.models.univar``)
    to have the seed cover the initial weights too, so that the same seed gives the
    same MAE. ``train_set``/``valid_set`` are datasets or NumPy ``(X, Y)`` pairs.
    ``patience=None`` trains exactly ``epochs`` epochs. ``shuffle=True`` shuffles NumPy
    windows fully every epoch; ``"buffer"`` keeps the order of the chapter's ``tf.data``
    windows (time order through a 256-window shuffle buffer, ``BufferShuffled``), which
    the sequence-to-sequence experiments use. Extra keyword arguments go
    to ``compile`` (``jit_compile``, ``steps_per_execution``). In quick mode
    (``RIDERSHIP_QUICK=1``) at most ``QUICK_EPOCHS`` epochs are trained. ``progress`` shows one
    line that follows the fit (``FitProgress``); ``None`` shows it in a notebook only.
    """
    epochs = cap_epochs(epochs)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if callable(model) and not isinstance(model, keras.Model):
        model = model()
    compile_model(model, learning_rate, **compile_kwargs)
    callbacks = list(callbacks)
    if progress or (progress is None and in_notebook() and not verbose):
        callbacks.append(FitProgress(model.name))
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_mae", patience=patience, restore_best_weights=True))
    history = model.fit(**_train_args(train_set, batch_size, shuffle, seed), validation_data=valid_set,
                        epochs=epochs, callbacks=callbacks, verbose=verbose)
    return FitResult(evaluate_mae(model, valid_set, batch_size), history)


class ReleaseFreedMemory(keras.callbacks.Callback):
    """Hands the memory freed during each epoch back to the system (``runtime.release_freed_memory``).

    ``ridership reproduce`` gives it to every run of its workers, two of which train at once, so
    that their peak memory stays low; ``benchmarks/choices.py trim`` measures what it saves.
    """

    def on_epoch_end(self, epoch, logs=None):
        release_freed_memory()


def epochs_run(history: keras.callbacks.History) -> int:
    return len(history.epoch)
