"""The LSTM and GRU cells computed by hand in NumPy from a Keras layer's own weights, and a diagram.

Exercise 6 of the chapter asks what an LSTM cell's parts do. Reading equations is one way;
recomputing a Keras layer's output from its weights is a sharper one, because every detail
(gate order, where the biases go, which side the reset gate is applied on) has to be right
for the numbers to agree. Keras stores each cell's weights as three arrays:

- ``kernel`` (inputs, k * units): the input's weights for all gates side by side;
- ``recurrent_kernel`` (units, k * units): the previous hidden state's weights, same order;
- ``bias``: (k * units,) for an LSTM; for a GRU with ``reset_after=True`` (Keras' default)
  (2, 3 * units): one row added to the input's products, one to the hidden state's.

The gates come in this order: LSTM ``i, f, c, o`` (input, forget, candidate, output),
GRU ``z, r, h`` (update, reset, candidate).

Example:

>>> layer = keras.layers.LSTM(4, return_sequences=True)
>>> X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
>>> outputs = np.asarray(layer(X))          # calling the layer builds its weights
>>> bool(np.abs(unroll(layer, X) - outputs).max() < 1e-5)
True
"""

from __future__ import annotations

import keras
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from ..errors import RidershipError


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


#: NumPy versions of the activations a recurrent cell may use, by Keras name.
ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
}


def _activation(fn, what: str):
    name = getattr(fn, "__name__", repr(fn))
    if name not in ACTIVATIONS:
        raise RidershipError(f"The cell's {what} is {name!r}; the NumPy steps know {', '.join(ACTIVATIONS)}.")
    return ACTIVATIONS[name]


def _activations(cell):
    """The cell's activation and recurrent (gate) activation, in NumPy."""
    return _activation(cell.activation, "activation"), _activation(cell.recurrent_activation, "recurrent_activation")


def _cell(layer, kind):
    """The built ``LSTMCell``/``GRUCell`` of ``layer`` (an ``LSTM``/``GRU`` layer or the cell itself)."""
    cell = getattr(layer, "cell", layer)
    if not isinstance(cell, kind):
        raise RidershipError(f"Expected a keras {kind.__name__.removesuffix('Cell')} layer or {kind.__name__}; "
                             f"got {type(layer).__name__}.")
    if not cell.built:
        raise RidershipError(f"The {type(layer).__name__} has no weights yet: call it on an input once "
                             "(or build it) before computing its steps by hand.")
    return cell


def _as_2d(name: str, value, width: int) -> np.ndarray:
    array = np.asarray(value, dtype="float64")
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != width:
        raise RidershipError(f"{name} must have shape (batch, {width}); got {np.shape(value)}.")
    return array


def _weights(cell):
    kernel = np.asarray(cell.kernel, dtype="float64")
    recurrent = np.asarray(cell.recurrent_kernel, dtype="float64")
    bias = np.asarray(cell.bias, dtype="float64") if cell.use_bias else None
    return kernel, recurrent, bias


def lstm_gates(layer, x, h, c) -> dict[str, np.ndarray]:
    """One LSTM step in NumPy: every gate's value, the new long-term state ``c`` and output ``h``.

    Args:
        layer: a built ``keras.layers.LSTM`` (or ``LSTMCell``).
        x: the inputs at this time step, (batch, features).
        h: the previous short-term state (the previous output), (batch, units).
        c: the previous long-term state, (batch, units).

    Returns:
        ``{"i", "f", "g", "o", "c", "h"}``: input, forget, candidate and output gates, then the
        new states. ``c = f * c_prev + i * g`` and ``h = o * tanh(c)`` (with the layer's activation).
    """
    cell = _cell(layer, keras.layers.LSTMCell)
    kernel, recurrent, bias = _weights(cell)
    units = cell.units
    x = _as_2d("x", x, kernel.shape[0])
    h, c = _as_2d("h", h, units), _as_2d("c", c, units)
    act, gate = _activations(cell)
    z = x @ kernel + h @ recurrent + (0.0 if bias is None else bias)
    zi, zf, zg, zo = (z[:, k * units:(k + 1) * units] for k in range(4))
    i, f, g, o = gate(zi), gate(zf), act(zg), gate(zo)
    c_new = f * c + i * g
    return {"i": i, "f": f, "g": g, "o": o, "c": c_new, "h": o * act(c_new)}


def lstm_step(layer, x, h, c) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step in NumPy from the layer's weights: the new ``(h, c)``. See :func:`lstm_gates`."""
    gates = lstm_gates(layer, x, h, c)
    return gates["h"], gates["c"]


def gru_step(layer, x, h) -> np.ndarray:
    """One GRU step in NumPy from the layer's weights: the new hidden state.

    Follows the layer's ``reset_after`` setting. With ``reset_after=True`` (Keras' default, the
    cuDNN convention) the reset gate scales the hidden state's *product*,
    ``g = tanh(x Wh + bh_in + r * (h Uh + bh_rec))``; with ``False`` it scales the hidden state
    before the product, ``g = tanh(x Wh + bh + (r * h) Uh)``. Then ``h_new = z * h + (1 - z) * g``:
    in Keras the update gate ``z`` keeps the old state.

    Args:
        layer: a built ``keras.layers.GRU`` (or ``GRUCell``).
        x: the inputs at this time step, (batch, features).
        h: the previous hidden state, (batch, units).
    """
    cell = _cell(layer, keras.layers.GRUCell)
    kernel, recurrent, bias = _weights(cell)
    units = cell.units
    x, h = _as_2d("x", x, kernel.shape[0]), _as_2d("h", h, units)
    act, gate = _activations(cell)
    if bias is None:
        bias_in, bias_rec = 0.0, 0.0
    elif cell.reset_after:
        bias_in, bias_rec = bias[0], bias[1]
    else:
        bias_in, bias_rec = bias, 0.0
    from_x = x @ kernel + bias_in
    xz, xr, xh = (from_x[:, k * units:(k + 1) * units] for k in range(3))
    uz, ur, uh = (recurrent[:, k * units:(k + 1) * units] for k in range(3))
    if cell.reset_after:
        from_h = h @ recurrent + bias_rec
        hz, hr, hh = (from_h[:, k * units:(k + 1) * units] for k in range(3))
        z, r = gate(xz + hz), gate(xr + hr)
        g = act(xh + r * hh)
    else:
        z, r = gate(xz + h @ uz), gate(xr + h @ ur)
        g = act(xh + (r * h) @ uh)
    return z * h + (1.0 - z) * g


def unroll(layer, X, initial_state=None) -> np.ndarray:
    """Run an LSTM or GRU layer over a whole sequence by hand: its output at every step, (batch, time, units).

    Args:
        layer: a built ``keras.layers.LSTM`` or ``GRU`` (or its cell).
        X: the inputs, (batch, time, features).
        initial_state: as the layer takes it: ``[h, c]`` for an LSTM, ``[h]`` for a GRU; zeros by default.
    """
    X = np.asarray(X, dtype="float64")
    if X.ndim != 3:
        raise RidershipError(f"X must have shape (batch, time, features); got {X.shape}.")
    cell = getattr(layer, "cell", layer)
    is_lstm = isinstance(cell, keras.layers.LSTMCell)
    if not is_lstm:
        _cell(layer, keras.layers.GRUCell)  # the error for anything that is neither
    zeros = np.zeros((X.shape[0], cell.units))
    states = [zeros, zeros] if is_lstm else [zeros]
    if initial_state is not None:
        states = [np.asarray(s, dtype="float64") for s in initial_state]
        if len(states) != (2 if is_lstm else 1):
            raise RidershipError(f"initial_state must be {'[h, c]' if is_lstm else '[h]'}; got {len(states)} array(s).")
    outputs = []
    for t in range(X.shape[1]):
        states = list(lstm_step(layer, X[:, t], *states)) if is_lstm else [gru_step(layer, X[:, t], *states)]
        outputs.append(states[0])
    return np.stack(outputs, axis=1)


# --- the diagram --------------------------------------------------------------------------

_GATES = {  # name: (x position, activation label, colour, meaning)
    "f": (2.4, "σ", "#f4b6b6", "forget"),
    "i": (3.8, "σ", "#b6d7f4", "input"),
    "g": (5.1, "tanh", "#c9e8c0", "candidate"),
    "o": (6.5, "σ", "#f4dfb6", "output"),
}
_STATE_Y, _GATE_Y, _BUS_Y = 5.0, 2.4, 1.0


def _arrow(ax, start, end, **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, lw=1.4,
                                 color=kw.pop("color", "#333333"), shrinkA=0, shrinkB=0, **kw))


def _op(ax, xy, symbol, radius=0.28):
    ax.add_patch(Circle(xy, radius, facecolor="white", edgecolor="#333333", lw=1.4, zorder=3))
    ax.text(*xy, symbol, ha="center", va="center", fontsize=13, zorder=4)


def lstm_cell_diagram() -> Figure:
    """The LSTM cell as a diagram: the long-term state along the top, the four gates below it.

    The long-term state ``c`` runs straight through the cell, touched only by one
    multiplication (the forget gate ``f`` erases) and one addition (the input gate ``i``
    lets in part of the candidate ``g``); the output gate ``o`` reads ``tanh(c)`` into the
    new short-term state ``h``, which is also the output. Returns a matplotlib Figure.
    """
    fig = Figure(figsize=(9, 5.2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-0.6, 10.6)
    ax.set_ylim(-0.5, 6.6)
    ax.set_axis_off()
    ax.add_patch(FancyBboxPatch((1.0, 0.45), 7.9, 5.15, boxstyle="round,pad=0.1", facecolor="#f7f7f7",
                                edgecolor="#888888", lw=1.2, zorder=0))
    # the long-term state: in at the left, out at the right, one x and one + on the way
    times, plus = (_GATES["f"][0], _STATE_Y), (5.6, _STATE_Y)
    _arrow(ax, (-0.4, _STATE_Y), (times[0] - 0.28, _STATE_Y))
    ax.plot([times[0] + 0.28, plus[0] - 0.28], [_STATE_Y] * 2, color="#333333", lw=1.4)
    _arrow(ax, (plus[0] + 0.28, _STATE_Y), (10.3, _STATE_Y))
    ax.text(-0.45, _STATE_Y + 0.2, r"$c_{t-1}$", fontsize=13, va="bottom")
    ax.text(10.3, _STATE_Y + 0.2, r"$c_t$", fontsize=13, ha="right", va="bottom")
    _op(ax, times, "×")
    _op(ax, plus, "+")
    # the short-term state and the inputs meet on one bus that feeds every gate
    ax.text(-0.45, _BUS_Y + 0.15, r"$h_{t-1}$", fontsize=13, va="bottom")
    ax.plot([-0.4, _GATES["o"][0]], [_BUS_Y, _BUS_Y], color="#333333", lw=1.4)
    _arrow(ax, (1.5, -0.35), (1.5, _BUS_Y))
    ax.text(1.62, -0.35, r"$x_t$", fontsize=13, va="bottom")
    boxes = {}
    for name, (x, label, colour, meaning) in _GATES.items():
        _arrow(ax, (x, _BUS_Y), (x, _GATE_Y - 0.35))
        ax.add_patch(FancyBboxPatch((x - 0.5, _GATE_Y - 0.35), 1.0, 0.7, boxstyle="round,pad=0.05",
                                    facecolor=colour, edgecolor="#333333", lw=1.2, zorder=2))
        ax.text(x, _GATE_Y + 0.12, label, ha="center", va="center", fontsize=12, zorder=3)
        ax.text(x, _GATE_Y - 0.19, f"{name}: {meaning}", ha="center", va="center", fontsize=7.5, zorder=3)
        boxes[name] = (x, _GATE_Y + 0.35)
    # forget gate: straight up to the x on the state line
    _arrow(ax, boxes["f"], (times[0], _STATE_Y - 0.28))
    # input gate x candidate, then up to the +
    mix = (4.45, 3.75)
    _op(ax, mix, "×")
    _arrow(ax, boxes["i"], (mix[0] - 0.22, mix[1] - 0.18))
    _arrow(ax, boxes["g"], (mix[0] + 0.22, mix[1] - 0.18))
    ax.plot([mix[0], mix[0]], [mix[1] + 0.28, 4.35], color="#333333", lw=1.4)
    _arrow(ax, (mix[0], 4.35), (plus[0] - 0.2, _STATE_Y - 0.2))
    # output: tanh of the new state, gated by o, is h_t (and y_t)
    tap, squash, read = 7.7, (7.7, 3.75), (7.7, _GATE_Y)
    _arrow(ax, (tap, _STATE_Y), (tap, squash[1] + 0.25))
    ax.add_patch(FancyBboxPatch((tap - 0.38, squash[1] - 0.22), 0.76, 0.44, boxstyle="round,pad=0.04",
                                facecolor="white", edgecolor="#333333", lw=1.2, zorder=2))
    ax.text(*squash, "tanh", ha="center", va="center", fontsize=10, zorder=3)
    _arrow(ax, (tap, squash[1] - 0.22), (tap, read[1] + 0.28))
    _op(ax, read, "×")
    _arrow(ax, (boxes["o"][0] + 0.45, _GATE_Y), (read[0] - 0.28, read[1]))
    ax.plot([tap, tap], [read[1] - 0.28, _BUS_Y - 0.2], color="#333333", lw=1.4)
    _arrow(ax, (tap, _BUS_Y - 0.2), (10.3, _BUS_Y - 0.2))
    ax.text(10.3, _BUS_Y - 0.05, r"$h_t = y_t$", fontsize=13, ha="right", va="bottom")
    ax.text(1.2, 6.15, "LSTM cell", fontsize=12, weight="bold")
    ax.text(3.5, 6.15, r"each box: a fully connected layer on $[h_{t-1}, x_t]$", fontsize=9, color="#555555")
    return fig
