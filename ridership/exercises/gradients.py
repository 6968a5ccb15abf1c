"""How far back a recurrent network's gradients reach, and how its states grow: small measurements.

Unstable gradients show in two numbers per time step of an input window:

- :func:`input_gradient_norms`: the norm of the loss's gradient with respect to the inputs
  at each step. Read from the last step backwards, it falls where gradients vanish (the
  network cannot learn from what happened that long ago) and grows where they explode.
- :func:`state_norms`: the norm of the layer's output (its hidden state) at each step,
  which grows without bound in an unstable network.

:func:`rnn_probe` builds the small networks to measure: a ``SimpleRNN``, the same
weights in ``LNSimpleRNNCell`` (layer normalisation before the activation), or an LSTM or
GRU; :func:`relative_gradient_norms` tabulates several side by side and
:func:`relative_gradient_plot` draws the table.

Example:

>>> X = np.random.default_rng(0).normal(size=(16, 60, 1))
>>> norms = relative_gradient_norms({"SimpleRNN": rnn_probe(16), "layer norm": rnn_probe(16, layer_norm=True)}, X)
>>> norms.columns.tolist()                  # steps back from the last, each step's gradient over the last's
[0, 10, 20, 30, 40, 50, 59]
>>> bool(norms.loc["layer norm", 40] > norms.loc["SimpleRNN", 40])   # layer norm keeps more of it
True

Gradients come from Keras' own training step, so they are computed by whichever backend
runs (TensorFlow or JAX), with ``keras`` only: the inputs pass through a layer that adds a
trainable tensor ``delta``, zero at the start, and one step of plain SGD with learning
rate 1 leaves ``delta = 0 - gradient``: the gradient itself, with no subtraction of nearby
numbers to lose precision. The measured model's weights are restored afterwards.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from keras import ops
from matplotlib.figure import Figure

from ..errors import RidershipError
from ..layers import LNSimpleRNNCell


class _Nudge(keras.layers.Layer):
    """Adds a trainable tensor (zeros) of the input's full shape: its gradient is the input's."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.delta = self.add_weight(shape=tuple(shape), initializer="zeros", trainable=True, name="delta")

    def call(self, inputs):
        return inputs + self.delta


class _Projection(keras.losses.Loss):
    """``sum(y_true * y_pred)`` over every sample: ``y_true`` holds a fixed direction to project on."""

    def __init__(self):
        super().__init__(reduction="sum", name="projection")

    def call(self, y_true, y_pred):
        return ops.sum(ops.reshape(y_true * y_pred, (ops.shape(y_pred)[0], -1)), axis=1)


class _HalfSquaredError(keras.losses.Loss):
    """``0.5 * sum((y_pred - y_true) ** 2)`` over every sample and output."""

    def __init__(self):
        super().__init__(reduction="sum", name="half_squared_error")

    def call(self, y_true, y_pred):
        return 0.5 * ops.sum(ops.reshape(ops.square(y_pred - y_true), (ops.shape(y_pred)[0], -1)), axis=1)


def _check_inputs(X) -> np.ndarray:
    X = np.asarray(X, dtype="float32")
    if X.ndim != 3 or 0 in X.shape:
        raise RidershipError(f"X must have shape (batch, time, features) with no empty axis; got {X.shape}.")
    if not np.isfinite(X).all():
        raise RidershipError("X holds NaN or infinite values; the gradients would be meaningless.")
    return X


def input_gradients(model: keras.Model, X, y=None, seed: int = 0) -> np.ndarray:
    """The gradient of a loss on ``model(X)`` with respect to every input value: the shape of ``X``.

    Args:
        model: a Keras model taking ``(batch, time, features)``.
        X: the inputs.
        y: targets; the loss is then ``0.5 * sum((model(X) - y) ** 2)``. Without targets the loss
            is the outputs projected on one fixed random unit direction (drawn from ``seed``), the
            same for every sample: how much each input moves the output, with no target needed.
        seed: the projection's seed.

    The gradient is taken in training mode, as a training step sees it. ``model``'s weights
    are the same afterwards (saved and restored).
    """
    X = _check_inputs(X)
    outputs = np.asarray(model(X[:1], training=False))
    if y is None:
        direction = np.random.default_rng(seed).normal(size=outputs.shape[1:])
        direction /= np.linalg.norm(direction)
        targets, loss = np.broadcast_to(direction, (len(X), *outputs.shape[1:])).astype("float32"), _Projection()
    else:
        targets, loss = np.asarray(y, dtype="float32"), _HalfSquaredError()
        if targets.shape != (len(X), *outputs.shape[1:]):
            raise RidershipError(f"y must have the model's output shape {(len(X), *outputs.shape[1:])}; "
                                 f"got {targets.shape}.")
    inputs = keras.Input(batch_shape=X.shape)
    nudge = _Nudge(X.shape)
    probe = keras.Model(inputs, model(nudge(inputs)))
    # eagerly: one step needs no compiled function (and TensorFlow warns when many are traced)
    probe.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss=loss, run_eagerly=True)
    saved = model.get_weights()
    try:
        probe.train_on_batch(X, targets)
    finally:
        model.set_weights(saved)
    return -np.asarray(nudge.delta, dtype="float64")


def input_gradient_norms(model: keras.Model, X, y=None, seed: int = 0) -> np.ndarray:
    """The norm of the loss's gradient with respect to the inputs at each time step, averaged over the batch.

    A ``(time,)`` array; index ``t`` is how strongly step ``t`` of the window moves the loss.
    See :func:`input_gradients` for the loss and the arguments.

    Example:

    >>> X = np.random.default_rng(0).normal(size=(8, 50, 1))
    >>> norms = input_gradient_norms(rnn_probe(16), X)
    >>> norms.shape
    (50,)
    """
    gradients = input_gradients(model, X, y, seed)
    return np.linalg.norm(gradients, axis=2).mean(axis=0)


def state_norms(model: keras.Model, X) -> np.ndarray:
    """The norm of the model's output at each time step, averaged over the batch: ``(time,)``.

    ``model`` must return sequences, ``(batch, time, units)``: e.g. ``rnn_probe(...,
    return_sequences=True)``, whose outputs are the hidden states.
    """
    X = _check_inputs(X)
    outputs = np.asarray(model(X, training=False), dtype="float64")
    if outputs.ndim != 3 or outputs.shape[1] != X.shape[1]:
        raise RidershipError(f"The model must return one output per time step, (batch, {X.shape[1]}, units); "
                             f"got {outputs.shape}: build it with return_sequences=True.")
    return np.linalg.norm(outputs, axis=2).mean(axis=0)


PROBE_CELLS = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def rnn_probe(units: int = 16, layer_norm: bool = False, activation: str = "tanh", recurrent_gain: float = 1.0,
              n_features: int = 1, return_sequences: bool = False, seed: int = 0,
              cell: str = "simple_rnn") -> keras.Model:
    """A one-layer recurrent network to measure, untrained: ``SimpleRNN`` or the layer-normalised cell.

    Args:
        units: the hidden state's size.
        layer_norm: False for ``SimpleRNN``; True for ``keras.layers.RNN(LNSimpleRNNCell)`` with the
            *same* kernel, recurrent kernel and bias, so the two differ only by the normalisation
            (``cell="simple_rnn"`` only).
        activation: the cell's activation (``"tanh"``, ``"relu"``, ...).
        recurrent_gain: the recurrent kernel is orthogonal times this gain: above 1 the state is
            stretched at every step (the setting in which activations and gradients explode).
        n_features: inputs per time step.
        return_sequences: True to output the hidden state at every step (for :func:`state_norms`).
        seed: seeds the initial weights, so the same arguments give the same network.
        cell: ``"simple_rnn"``, ``"lstm"`` or ``"gru"`` (the last two with Keras' other defaults).
    """
    if cell not in PROBE_CELLS:
        raise RidershipError(f"Unknown cell {cell!r}; choose one of {', '.join(PROBE_CELLS)}.")
    if layer_norm and cell != "simple_rnn":
        raise RidershipError("layer_norm=True is the package's LNSimpleRNNCell: use it with cell='simple_rnn'.")
    if not isinstance(units, (int, np.integer)) or units < 1:
        raise RidershipError(f"units must be a whole number >= 1; got {units!r}.")
    if not np.isfinite(recurrent_gain) or recurrent_gain <= 0:
        raise RidershipError(f"recurrent_gain must be a positive number; got {recurrent_gain!r}.")
    inputs = keras.Input((None, n_features))
    plain = PROBE_CELLS[cell](
        units, activation=activation, return_sequences=return_sequences,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        recurrent_initializer=keras.initializers.Orthogonal(gain=recurrent_gain, seed=seed + 1), name=cell)
    model = keras.Model(inputs, plain(inputs), name=f"{cell}_probe")
    if not layer_norm:
        return model
    cell = LNSimpleRNNCell(units, activation=activation, name="ln_simple_rnn_cell")
    layer = keras.layers.RNN(cell, return_sequences=return_sequences, name="ln_rnn")
    normalised = keras.Model(inputs, layer(inputs), name="ln_simple_rnn_probe")
    inner = cell.simple_rnn_cell  # built with the model: give it the plain layer's weights
    for variable, value in zip((inner.kernel, inner.recurrent_kernel, inner.bias), plain.get_weights()):
        variable.assign(value)
    return normalised


def relative_gradient_norms(models: dict[str, keras.Model], X, every: int = 10, seed: int = 0) -> pd.DataFrame:
    """Each model's input-gradient norm at every ``every``-th step back from the last, over the last step's.

    One row per model (named by its key), one column per distance back in time (``0`` is the
    window's last step, so that column is 1; the last column is the window's first step): a row
    that falls to the right is a network whose gradients vanish; one that climbs, a network
    whose gradients explode.

    Example:

    >>> X = np.random.default_rng(0).normal(size=(16, 60, 1))
    >>> norms = relative_gradient_norms({"plain": rnn_probe(), "layer norm": rnn_probe(layer_norm=True)}, X)
    >>> norms.index.tolist()
    ['plain', 'layer norm']
    """
    if not isinstance(every, (int, np.integer)) or every < 1:
        raise RidershipError(f"every must be a whole number >= 1; got {every!r}.")
    rows = {}
    for name, model in models.items():
        norms = input_gradient_norms(model, X, seed=seed)[::-1]  # steps back from the last
        rows[name] = norms / norms[0]
    if not rows:
        raise RidershipError("models is empty: give at least one {name: model}.")
    length = len(next(iter(rows.values())))
    back = sorted({*range(0, length, every), length - 1})  # always the window's first step too
    return pd.DataFrame({name: norms[back] for name, norms in rows.items()}, index=pd.Index(back, name="steps back")).T


def relative_gradient_plot(table: pd.DataFrame) -> Figure:
    """:func:`relative_gradient_norms`'s table on a log scale: one line per model."""
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    for name, row in table.iterrows():
        ax.semilogy(row.index, row.to_numpy(), marker=".", label=name)
    ax.axhline(1.0, color="#888888", lw=0.8)
    ax.set_xlabel("steps back from the window's last step")
    ax.set_ylabel("gradient norm / last step's")
    ax.grid(True, which="major", alpha=0.4)
    ax.legend(fontsize=8)
    return fig
