"""The chapter's custom layers, in backend-neutral Keras 3 (``keras`` and ``keras.ops`` only).

All are registered serializable under the package name ``ridership``, so a model saved to
``.keras`` loads back in any process that has run ``import ridership`` (``tests/test_layers.py``
checks each one's outputs against NumPy and its round trips on both backends).
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ridership")
class LNSimpleRNNCell(keras.layers.Layer):
    """A SimpleRNN cell that layer-normalises its pre-activation: ``h = tanh(LN(x W + h_prev U + b))``.

    Normalising each step's pre-activation over the units keeps the state's scale from growing
    or shrinking step after step, the chapter's remedy for unstable gradients in RNNs. A cell
    computes one time step; run it over a sequence with ``keras.layers.RNN`` (or
    :class:`StepLoopRNN`).

    Args:
        units: positive integer, the size of the state (and of the output).
        activation: applied after the normalisation (default ``"tanh"``).
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``).

    Call arguments:
        inputs: a 2D tensor ``(batch, features)``, one time step.
        states: a list holding the previous state, ``(batch, units)``.
        training: passed to the inner cell.

    Returns ``(output, [new_state])``, the same tensor twice, ``(batch, units)``.

    Example:

    >>> layer = keras.layers.RNN(LNSimpleRNNCell(32), return_sequences=True)
    >>> tuple(layer(np.zeros((8, 56, 5), "float32")).shape)
    (8, 56, 32)
    """

    def __init__(self, units: int, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units
        self.output_size = units
        self.activation = keras.activations.get(activation)
        self.simple_rnn_cell = keras.layers.SimpleRNNCell(units, activation=None, name="simple_rnn_cell")
        self.layer_norm = keras.layers.LayerNormalization(name="layer_norm")

    def build(self, input_shape):
        if not self.simple_rnn_cell.built:
            self.simple_rnn_cell.build(input_shape)
        if not self.layer_norm.built:
            self.layer_norm.build((input_shape[0], self.units))
        self.built = True

    def call(self, inputs, states, training=False):
        outputs, _ = self.simple_rnn_cell(inputs, states, training=training)
        outputs = self.activation(self.layer_norm(outputs))
        return outputs, [outputs]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


@keras.saving.register_keras_serializable(package="ridership")
class StepLoopRNN(keras.layers.Layer):
    """The chapter's hand-written RNN layer: run ``cell`` over the time steps one by one.

    The state starts at zeros; at each step the cell maps ``(input, state)`` to
    ``(output, new state)``. Written with ``keras.ops.scan`` so it runs on every backend. The
    cell is a tracked sublayer built in :meth:`build`, so its weights are the layer's
    trainable weights and train with it.

    Args:
        cell: a cell layer with ``state_size`` and ``output_size`` (an ``LNSimpleRNNCell``,
            ``keras.layers.SimpleRNNCell``, ...), or its serialized config.
        return_sequences: return the output of every step ``(batch, time, units)`` rather than
            the last one's ``(batch, units)``.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: a 3D tensor ``(batch, time, features)``.
        training: passed to the cell.

    Example:

    >>> layer = StepLoopRNN(LNSimpleRNNCell(32))
    >>> tuple(layer(np.zeros((8, 56, 5), "float32")).shape)
    (8, 32)
    """

    def __init__(self, cell, return_sequences: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, dict):
            cell = keras.saving.deserialize_keras_object(cell)
        self.cell = cell
        self.return_sequences = return_sequences

    def build(self, input_shape):
        if not self.cell.built:  # a cell restored from a saved model arrives built
            self.cell.build((input_shape[0], input_shape[-1]))
        self.built = True

    def call(self, inputs, training=False):
        batch_size = ops.shape(inputs)[0]
        state = ops.zeros((batch_size, self.cell.state_size), dtype=self.compute_dtype)
        steps = ops.transpose(inputs, (1, 0, 2))  # time-major for scan

        def step(carry, x):
            output, new_states = self.cell(x, [carry], training=training)
            return new_states[0], output

        last, outputs = ops.scan(step, state, steps)
        if self.return_sequences:
            return ops.transpose(outputs, (1, 0, 2))
        return outputs[-1]

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.cell.output_size)
        return (input_shape[0], self.cell.output_size)

    def get_config(self):
        return {**super().get_config(), "cell": keras.saving.serialize_keras_object(self.cell),
                "return_sequences": self.return_sequences}


@keras.saving.register_keras_serializable(package="ridership")
class GatedActivationUnit(keras.layers.Layer):
    """WaveNet's gate: ``activation(first half) * sigmoid(second half)`` of the last axis.

    The sigmoid half decides, per channel and time step, how much of the other half passes.

    Args:
        activation: applied to the first half (default ``"tanh"``).
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: a tensor whose last axis has an even size ``2 * n``.

    Returns a tensor of the same shape but for a last axis of ``n``.

    Example:

    >>> tuple(GatedActivationUnit()(np.zeros((8, 56, 64), "float32")).shape)
    (8, 56, 32)
    """

    def __init__(self, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] % 2:
            raise ValueError(f"GatedActivationUnit needs an even number of channels; got {input_shape[-1]}.")
        self.built = True

    def call(self, inputs):
        n_filters = inputs.shape[-1] // 2
        return self.activation(inputs[..., :n_filters]) * keras.activations.sigmoid(inputs[..., n_filters:])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)

    def get_config(self):
        return {**super().get_config(), "activation": keras.activations.serialize(self.activation)}


@keras.saving.register_keras_serializable(package="ridership")
class CausalConvStack(keras.layers.Layer):
    """The chapter's WaveNet (causal dilated ``Conv1D`` layers, then a 1-wide ``Conv1D``) in one layer.

    The same function of the same weights as those layers, computed as plain matrix products:
    the activations are kept channels first, with every time step of every window as one
    column, so each causal convolution, and each of its two gradients, is one matrix product
    (faster on a CPU than the ``Conv1D`` layers' convolutions and transposes:
    ``benchmarks/choices.py wavenet``). ``get_weights()`` lists each kernel, shaped
    ``(kernel_size, in, out)`` like ``Conv1D``'s, and its bias, in the layers' order, so weights
    move between this layer's model and the ``Conv1D`` model with ``set_weights``.

    Args:
        filters: channels of each causal convolution.
        dilations: one dilation rate per convolution, each >= 1.
        n_outputs: channels of the final 1-wide convolution (linear).
        kernel_size: taps of each causal convolution.
        activation: applied after each causal convolution.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: a 3D tensor ``(batch, time, channels)``, any length of time.

    Returns ``(batch, time, n_outputs)``: step ``t`` depends on steps ``t - receptive field + 1 .. t``.

    Example:

    >>> tuple(CausalConvStack(32, (1, 2, 4, 8), n_outputs=14)(np.zeros((8, 112, 5), "float32")).shape)
    (8, 112, 14)
    """

    def __init__(self, filters: int = 32, dilations=(1, 2, 4, 8) * 2, n_outputs: int = 14, kernel_size: int = 2,
                 activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.filters, self.n_outputs, self.kernel_size = int(filters), int(n_outputs), int(kernel_size)
        self.dilations = tuple(int(rate) for rate in dilations)
        if not self.dilations or min(self.dilations) < 1 or self.kernel_size < 1:
            raise ValueError(f"CausalConvStack needs at least one dilation, all >= 1, and kernel_size >= 1; "
                             f"got dilations={self.dilations}, kernel_size={self.kernel_size}.")
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        channels, self.convs = input_shape[-1], []
        for i, _ in enumerate(self.dilations):
            kernel = self.add_weight(shape=(self.kernel_size, channels, self.filters), name=f"kernel_{i}",
                                     initializer="glorot_uniform")
            bias = self.add_weight(shape=(self.filters,), name=f"bias_{i}", initializer="zeros")
            self.convs.append((kernel, bias))
            channels = self.filters
        self.out_kernel = self.add_weight(shape=(1, self.filters, self.n_outputs), name="out_kernel",
                                          initializer="glorot_uniform")
        self.out_bias = self.add_weight(shape=(self.n_outputs,), name="out_bias", initializer="zeros")
        self.built = True

    @staticmethod
    def _product(kernel, bias, columns):
        """``kernel`` (taps, in, out) applied to ``columns`` (taps * in, n): (out, n)."""
        taps, n_in, n_out = kernel.shape
        weights = ops.transpose(ops.reshape(kernel, (taps * n_in, n_out)))
        return ops.matmul(weights, columns) + ops.expand_dims(bias, 1)

    def call(self, inputs):
        batch, steps = ops.shape(inputs)[0], ops.shape(inputs)[1]
        z = ops.transpose(inputs, (2, 0, 1))  # (channels, batch, time)
        for rate, (kernel, bias) in zip(self.dilations, self.convs):
            # tap j sees step t - (taps - 1 - j) * rate, zero before the window starts
            taps = [self._delayed(z, (self.kernel_size - 1 - j) * rate, steps) for j in range(self.kernel_size)]
            columns = ops.reshape(ops.concatenate(taps, axis=0), (self.kernel_size * kernel.shape[1], -1))
            z = ops.reshape(self.activation(self._product(kernel, bias, columns)), (self.filters, batch, steps))
        outputs = self._product(self.out_kernel, self.out_bias, ops.reshape(z, (self.filters, -1)))
        return ops.transpose(ops.reshape(outputs, (self.n_outputs, batch, steps)), (1, 2, 0))

    @staticmethod
    def _delayed(z, delay: int, steps):
        """``z`` shifted ``delay`` steps later in time, zeros in front (padded first: any length works)."""
        if delay == 0:
            return z
        return ops.pad(z, [(0, 0), (0, 0), (delay, 0)])[:, :, :steps]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.n_outputs)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "dilations": list(self.dilations),
                "n_outputs": self.n_outputs, "kernel_size": self.kernel_size,
                "activation": keras.activations.serialize(self.activation)}
