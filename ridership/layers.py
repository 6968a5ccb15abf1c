"""The chapter's custom layers, in backend-neutral Keras 3 (``keras`` and ``keras.ops`` only).

All are registered serializable under the package name ``ridership``, so a model
saved to ``.keras`` loads back in any process that has run ``import ridership``.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ridership")
class LNSimpleRNNCell(keras.layers.Layer):
    """A SimpleRNN cell whose output is layer-normalised before the activation.

    Layer normalisation inside the cell keeps the recurrent activations in range,
    the chapter's remedy for unstable gradients in RNNs. Use it in
    ``keras.layers.RNN(LNSimpleRNNCell(32))``.
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

    Written with ``keras.ops.scan`` so it runs on every backend. The cell is a
    tracked sublayer built in :meth:`build`, so its weights are the layer's
    trainable weights and really train (the Keras 2 version built the cell
    lazily inside the loop, where Keras 3 does not see its weights).
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
    """WaveNet's gate: ``activation(first half) * sigmoid(second half)`` of the channels."""

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
