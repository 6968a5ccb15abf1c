"""``ProjectedLSTM``: the function of ``keras.layers.LSTM``, trained faster on a CPU (``keras.ops`` only).

An LSTM step computes ``x_t @ kernel + h_{t-1} @ recurrent_kernel + bias``, then its gates.
Only the second product depends on the step before. ``keras.layers.LSTM`` computes both
inside its loop over the time steps, and automatic differentiation of that loop adds, at
every step of the way back, small products for the weights' gradients. This layer keeps in
the loops only what is sequential:

- forward: the input product for every step of every window is one large matrix product
  before the loop; in the loop, the recurrent product and the gates;
- backward (written out with ``keras.ops.custom_gradient``): every factor of the gates'
  derivatives that does not depend on the gradient coming back is computed for all steps at
  once, before the loop; the loop multiplies, adds, and makes one product per step (the
  gradient passed to the step before); after it, the gradients of both kernels are one large
  product and the input's gradient another.

The sigmoids are computed as ``0.5 + 0.5 * tanh(x / 2)``, the same function, so that each step
applies one ``tanh`` to all four gates; the halving is folded into the weights once per batch.
``benchmarks/chorales.py`` measures the training this layer gives beside ``keras.layers.LSTM``.

The weights are those of ``keras.layers.LSTM``: the same names, shapes, gate order (input,
forget, cell, output), initialisers (Glorot uniform, orthogonal, zeros with the forget gate's
bias at one) and order in ``get_weights()``, so ``set_weights`` moves trained weights between
the two layers. Tanh and sigmoid activations, no dropout, no masking, the initial state zero.
"""

from __future__ import annotations

import keras
from keras import ops


def _gate_scale(units: int, dtype):
    """1/2 for the three sigmoid gates (input, forget, output), 1 for the cell's tanh."""
    half, one = ops.full((units,), 0.5, dtype=dtype), ops.ones((units,), dtype=dtype)
    return ops.concatenate([half, half, one, half])


def _forward(z, recurrent_kernel, units: int):
    """The recurrence over the (scaled) input products ``z`` (time, batch, 4 * units).

    Returns, time first, every step's ``h``, ``c`` and the ``tanh`` of its scaled gate
    pre-activations. (A step's outputs are also its carry: ``keras.ops.scan`` on TensorFlow
    requires the two to have one structure.)
    """
    batch = ops.shape(z)[1]
    start = (ops.zeros((batch, units), dtype=z.dtype), ops.zeros((batch, units), dtype=z.dtype),
             ops.zeros((batch, 4 * units), dtype=z.dtype))

    def step(carry, z_t):
        state = _step(z_t, carry[0], carry[1], recurrent_kernel, units)
        return state, state

    return ops.scan(step, start, z)[1]


def _step(z_t, h, c, recurrent_kernel, units: int):
    """One step from the scaled input product ``z_t``: the new ``h``, ``c`` and the gates' ``tanh``."""
    t = ops.tanh(z_t + ops.matmul(h, recurrent_kernel))
    i = 0.5 + 0.5 * t[:, :units]
    f = 0.5 + 0.5 * t[:, units:2 * units]
    g = t[:, 2 * units:3 * units]
    o = 0.5 + 0.5 * t[:, 3 * units:]
    c = f * c + i * g
    return o * ops.tanh(c), c, t


def _states(x, kernel, recurrent_kernel, bias, units: int):
    """Every step's ``h`` (time, batch, units) for the time-major inputs ``x``, no gradient written out."""
    scale = _gate_scale(units, x.dtype)
    return _forward(ops.matmul(x, kernel * scale) + bias * scale, recurrent_kernel * scale, units)[0]


def _trained_states(x, kernel, recurrent_kernel, bias, units: int):
    """As ``_states``, with the hand-written backward pass described in the module's docstring."""

    @ops.custom_gradient
    def run(x, kernel, recurrent_kernel, bias):
        scale = _gate_scale(units, x.dtype)
        hs, cs, ts = _forward(ops.matmul(x, kernel * scale) + bias * scale, recurrent_kernel * scale, units)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            zero = ops.zeros_like(hs[:1])
            c_before = ops.concatenate([zero, cs[:-1]], axis=0)
            h_before = ops.concatenate([zero, hs[:-1]], axis=0)
            i, f = 0.5 + 0.5 * ts[..., :units], 0.5 + 0.5 * ts[..., units:2 * units]
            g, o = ts[..., 2 * units:3 * units], 0.5 + 0.5 * ts[..., 3 * units:]
            tanh_c = ops.tanh(cs)
            # the factors that do not depend on the gradient flowing back, for every step at once
            to_cell = o * (1.0 - tanh_c * tanh_c)  # d c from d h
            from_cell = ops.concatenate([g * i * (1.0 - i), c_before * f * (1.0 - f), i * (1.0 - g * g)], axis=-1)
            from_h = tanh_c * o * (1.0 - o)  # d (output gate's pre-activation) from d h
            transposed = ops.transpose(recurrent_kernel)

            def back(carry, inputs):
                dh_next, dc_next = carry[0], carry[1]
                dh_out, to_cell_t, from_cell_t, from_h_t, f_t = inputs
                dh = dh_out + dh_next
                dc = dc_next + dh * to_cell_t
                dz = ops.concatenate([ops.tile(dc, (1, 3)) * from_cell_t, dh * from_h_t], axis=-1)
                state = (ops.matmul(dz, transposed), dc * f_t, dz)
                return state, state

            start = (zero[0], zero[0], ops.zeros_like(ts[0]))
            dzs = ops.scan(back, start, (upstream, to_cell, from_cell, from_h, f), reverse=True)[1][2]
            rows = ops.shape(dzs)[0] * ops.shape(dzs)[1]
            flat = ops.reshape(dzs, (rows, 4 * units))
            # both kernels' gradients in one product: [x, h_before]^T @ dz
            inputs_and_states = ops.concatenate([ops.reshape(x, (rows, -1)), ops.reshape(h_before, (rows, units))],
                                                axis=-1)
            d_kernels = ops.matmul(ops.transpose(inputs_and_states), flat)
            return (ops.matmul(dzs, ops.transpose(kernel)), d_kernels[:-units], d_kernels[-units:],
                    ops.sum(flat, axis=0))

        return hs, grad

    return run(x, kernel, recurrent_kernel, bias)


@keras.saving.register_keras_serializable(package="ridership")
class ProjectedLSTM(keras.layers.Layer):
    """An LSTM layer returning the whole sequence of hidden states, ``keras.layers.LSTM``'s weights and function.

    Args:
        units: size of the hidden and cell states.
        return_sequences: must be True (the exercise's use); kept as an argument to read like ``LSTM``'s.

    Takes ``(batch, time, features)`` and returns ``(batch, time, units)``.

    Example:

    >>> lstm = ProjectedLSTM(256)
    >>> tuple(lstm(keras.ops.ones((2, 10, 96))).shape)
    (2, 10, 256)
    """

    def __init__(self, units: int, return_sequences: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not return_sequences:
            raise ValueError("ProjectedLSTM returns every step's state: use return_sequences=True, "
                             "or keras.layers.LSTM for the last step only.")
        self.units = int(units)
        self.return_sequences = True

    def build(self, input_shape):
        units = self.units

        def bias_initializer(shape, dtype=None):  # the forget gate starts at one, as LSTM's unit_forget_bias
            return ops.concatenate([ops.zeros((units,), dtype), ops.ones((units,), dtype),
                                    ops.zeros((2 * units,), dtype)])

        self.kernel = self.add_weight(shape=(input_shape[-1], 4 * units), name="kernel", initializer="glorot_uniform")
        self.recurrent_kernel = self.add_weight(shape=(units, 4 * units), name="recurrent_kernel",
                                                initializer="orthogonal")
        self.bias = self.add_weight(shape=(4 * units,), name="bias", initializer=bias_initializer)
        self.built = True

    def call(self, inputs, training=False):
        x = ops.transpose(inputs, (1, 0, 2))  # time first, for the loops
        # plain tensors, read here: the hand-written gradient is then the weights' on every backend
        weights = [ops.copy(w) for w in (self.kernel, self.recurrent_kernel, self.bias)]
        run = _trained_states if training else _states
        return ops.transpose(run(x, *weights, self.units), (1, 0, 2))

    def step(self, x, h, c):
        """One time step, computed as ``call`` computes each: inputs ``(batch, features)``, states
        ``(batch, units)``; returns the new ``(h, c)``. Fast generation runs the layer so."""
        scale = _gate_scale(self.units, x.dtype)
        z = ops.matmul(x, self.kernel * scale) + self.bias * scale
        h, c, _ = _step(z, h, c, self.recurrent_kernel * scale, self.units)
        return h, c

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "return_sequences": True}
