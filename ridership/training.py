"""Training with the chapter's protocol, and evaluation in riders."""

from __future__ import annotations

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


def fit_and_evaluate(model: keras.Model | Callable[[], keras.Model], train_set, valid_set, learning_rate: float,
                     epochs: int = MAX_EPOCHS, patience: int | None = PATIENCE, seed: int | None = FIRST_SEED,
                     verbose: int | str = 0, batch_size: int = BATCH_SIZE, callbacks=(), shuffle: bool | str = True,
                     **compile_kwargs) -> FitResult:
    """Train until the validation MAE stops improving for ``patience`` epochs; keep the best weights.

    ``model`` is a model or a builder: pass a builder (e.g. ``ridership.models.univar``)
    to have the seed cover the initial weights too, so that the same seed gives the
    same MAE. ``train_set``/``valid_set`` are datasets or NumPy ``(X, Y)`` pairs.
    ``patience=None`` trains exactly ``epochs`` epochs. ``shuffle=True`` shuffles NumPy
    windows fully every epoch; ``"buffer"`` keeps the order of the chapter's ``tf.data``
    windows (time order through a 256-window shuffle buffer, ``BufferShuffled``), which
    the sequence-to-sequence experiments use. Extra keyword arguments go
    to ``compile`` (``jit_compile``, ``steps_per_execution``). In quick mode
    (``RIDERSHIP_QUICK=1``) at most ``QUICK_EPOCHS`` epochs are trained.
    """
    epochs = cap_epochs(epochs)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if callable(model) and not isinstance(model, keras.Model):
        model = model()
    compile_model(model, learning_rate, **compile_kwargs)
    callbacks = list(callbacks)
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
