"""The package's custom layers: shapes, numbers against NumPy with fixed weights, and round trips.

Each layer is checked the way Keras checks its own: the output shape, the output itself against
a NumPy computation of what the docstring says, ``from_config(get_config())``, and a ``.keras``
file saved and loaded back. CI runs this file on JAX and on TensorFlow.
"""

import keras
import numpy as np
import pytest

from ridership.layers import CausalConvStack, GatedActivationUnit, LNSimpleRNNCell, StepLoopRNN

pytestmark = pytest.mark.both_backends
RNG = np.random.default_rng(0)


def _random_weights(layer):
    layer.set_weights([RNG.normal(scale=0.4, size=w.shape).astype("float32") for w in layer.get_weights()])
    return [np.asarray(w) for w in layer.get_weights()]


def _layer_norm(z, gamma, beta, epsilon=1e-3):
    mean, var = z.mean(-1, keepdims=True), z.var(-1, keepdims=True)
    return (z - mean) / np.sqrt(var + epsilon) * gamma + beta


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _round_trips(layer, X, tmp_path):
    """The layer rebuilt from its config, and saved in a model and loaded back, gives its outputs."""
    expected = np.asarray(layer(X))
    clone = layer.__class__.from_config(layer.get_config())
    clone(X)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(X)), expected, rtol=1e-6, atol=1e-6)
    inputs = keras.Input(shape=X.shape[1:])
    model = keras.Model(inputs, layer(inputs))
    path = tmp_path / f"{layer.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.layers[-1]) is type(layer)
    np.testing.assert_allclose(np.asarray(loaded(X)), expected, rtol=1e-6, atol=1e-6)


def test_ln_simple_rnn_cell_is_a_normalised_simple_rnn_step(tmp_path):
    cell = LNSimpleRNNCell(4, name="cell")
    x, h = RNG.normal(size=(3, 2)).astype("float32"), RNG.normal(size=(3, 4)).astype("float32")
    output, states = cell(x, [h])
    assert tuple(output.shape) == (3, 4) and len(states) == 1
    kernel, recurrent, bias, gamma, beta = _random_weights(cell)
    output, states = cell(x, [h])
    expected = np.tanh(_layer_norm(x @ kernel + h @ recurrent + bias, gamma, beta))
    np.testing.assert_allclose(np.asarray(output), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(states[0]), np.asarray(output))
    layer = keras.layers.RNN(cell, return_sequences=True, name="ln_rnn")
    assert tuple(layer(np.zeros((3, 7, 2), "float32")).shape) == (3, 7, 4)
    _round_trips(layer, RNG.normal(size=(3, 7, 2)).astype("float32"), tmp_path)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_step_loop_rnn_runs_its_cell_step_by_step(return_sequences, tmp_path):
    layer = StepLoopRNN(keras.layers.SimpleRNNCell(4), return_sequences=return_sequences, name="loop")
    X = RNG.normal(size=(3, 6, 2)).astype("float32")
    assert tuple(layer(X).shape) == ((3, 6, 4) if return_sequences else (3, 4))
    assert tuple(layer.compute_output_shape((3, 6, 2))) == tuple(layer(X).shape)
    kernel, recurrent, bias = _random_weights(layer)
    h, outputs = np.zeros((3, 4), "float32"), []
    for t in range(6):
        h = np.tanh(X[:, t] @ kernel + h @ recurrent + bias)
        outputs.append(h)
    expected = np.stack(outputs, axis=1) if return_sequences else h
    np.testing.assert_allclose(np.asarray(layer(X)), expected, rtol=1e-5, atol=1e-6)
    _round_trips(layer, X, tmp_path)


def test_step_loop_rnn_with_the_ln_cell_equals_keras_rnn():
    X = RNG.normal(size=(2, 5, 3)).astype("float32")
    ours = StepLoopRNN(LNSimpleRNNCell(4), return_sequences=True)
    theirs = keras.layers.RNN(LNSimpleRNNCell(4), return_sequences=True)
    ours(X), theirs(X)
    theirs.set_weights(_random_weights(ours))
    np.testing.assert_allclose(np.asarray(ours(X)), np.asarray(theirs(X)), rtol=1e-5, atol=1e-6)


def test_gated_activation_unit_gates_one_half_with_the_other(tmp_path):
    layer = GatedActivationUnit(name="gate")
    X = RNG.normal(size=(2, 5, 6)).astype("float32")
    out = np.asarray(layer(X))
    assert out.shape == (2, 5, 3) and tuple(layer.compute_output_shape((2, 5, 6))) == (2, 5, 3)
    np.testing.assert_allclose(out, np.tanh(X[..., :3]) * _sigmoid(X[..., 3:]), rtol=1e-5, atol=1e-6)
    relu = GatedActivationUnit(activation="relu")
    np.testing.assert_allclose(np.asarray(relu(X)), np.maximum(X[..., :3], 0) * _sigmoid(X[..., 3:]), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="even number of channels"):
        GatedActivationUnit()(np.zeros((1, 2, 5), "float32"))
    _round_trips(layer, X, tmp_path)


def _causal_conv(z, kernel, bias, rate):
    """NumPy: out[t] = sum_j z[t - (taps - 1 - j) * rate] @ kernel[j] + bias, zeros before the start."""
    taps, steps = kernel.shape[0], z.shape[1]
    out = np.broadcast_to(bias, (z.shape[0], steps, kernel.shape[2])).copy()
    for j in range(taps):
        delay = (taps - 1 - j) * rate
        shifted = np.zeros_like(z)
        shifted[:, delay:] = z[:, :steps - delay] if delay < steps else 0
        out += shifted @ kernel[j]
    return out


@pytest.mark.parametrize("steps", [1, 3, 20])
def test_causal_conv_stack_is_causal_dilated_convolutions(steps, tmp_path):
    layer = CausalConvStack(filters=4, dilations=(1, 2, 4), n_outputs=3, kernel_size=2, name="stack")
    X = RNG.normal(size=(2, steps, 5)).astype("float32")
    assert tuple(layer(X).shape) == (2, steps, 3)
    weights = _random_weights(layer)
    z = X
    for i, rate in enumerate((1, 2, 4)):
        z = np.maximum(_causal_conv(z, weights[2 * i], weights[2 * i + 1], rate), 0)
    expected = _causal_conv(z, weights[6], weights[7], 1)
    np.testing.assert_allclose(np.asarray(layer(X)), expected, rtol=1e-4, atol=1e-5)
    _round_trips(layer, X, tmp_path)


def test_causal_conv_stack_looks_only_back():
    layer = CausalConvStack(filters=4, dilations=(1, 2, 4), n_outputs=2)
    X = RNG.normal(size=(1, 12, 3)).astype("float32")
    changed = X.copy()
    changed[:, 8:] += 1.0  # only steps 8 and later change
    before, after = np.asarray(layer(X)), np.asarray(layer(changed))
    np.testing.assert_array_equal(before[:, :8], after[:, :8])
    assert not np.allclose(before[:, 8:], after[:, 8:])


def test_causal_conv_stack_refuses_a_bad_configuration():
    with pytest.raises(ValueError, match="dilation"):
        CausalConvStack(dilations=(1, 0))
    with pytest.raises(ValueError, match="kernel_size"):
        CausalConvStack(kernel_size=0)
