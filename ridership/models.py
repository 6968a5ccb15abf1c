"""Builders for every model of the chapter, and ``MODELS``, the registry of them by name.

Each builder, called with no arguments, returns an uncompiled ``keras.Model``
that starts from ``keras.Input`` with the chapter's defaults. Univariate models
take windows of shape (time, 1), the others (time, 5): bus, rail and the next
day's type one-hot. Only ``keras`` is used, so every model runs on the
TensorFlow and JAX backends.
"""

from __future__ import annotations

import keras
from keras import layers

from .errors import RidershipError
from .layers import CausalConvStack, GatedActivationUnit, LNSimpleRNNCell, StepLoopRNN

SEQ_LENGTH = 56
N_FEATURES = 5
AHEAD = 14


def linear(seq_length: int = SEQ_LENGTH) -> keras.Model:
    """Dense(1) on the last ``seq_length`` values: a learned weighted average."""
    inputs = keras.Input((seq_length, 1))
    outputs = layers.Dense(1)(layers.Flatten()(inputs))
    return keras.Model(inputs, outputs, name="linear")


def _stack(name: str, n_features: int, *hidden, n_outputs: int = 1) -> keras.Model:
    inputs = keras.Input((None, n_features))
    z = inputs
    for layer in hidden:
        z = layer(z)
    outputs = layers.Dense(n_outputs)(z) if n_outputs else z
    return keras.Model(inputs, outputs, name=name)


def simple_rnn() -> keras.Model:
    """A single SimpleRNN neuron: the chapter's simplest RNN."""
    return _stack("simple_rnn", 1, layers.SimpleRNN(1), n_outputs=0)


def univar(units: int = 32) -> keras.Model:
    """SimpleRNN(32) + Dense(1) on rail alone."""
    return _stack("univar", 1, layers.SimpleRNN(units))


def deep(units: int = 32) -> keras.Model:
    """Three stacked SimpleRNN(32) layers + Dense(1)."""
    return _stack("deep", 1, layers.SimpleRNN(units, return_sequences=True),
                  layers.SimpleRNN(units, return_sequences=True), layers.SimpleRNN(units))


def mulvar(units: int = 32) -> keras.Model:
    """SimpleRNN(32) + Dense(1) on five features, forecasting rail."""
    return _stack("mulvar", N_FEATURES, layers.SimpleRNN(units))


def multask(units: int = 32) -> keras.Model:
    """SimpleRNN(32) + Dense(2): bus and rail at once."""
    return _stack("multask", N_FEATURES, layers.SimpleRNN(units), n_outputs=2)


def ahead(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """SimpleRNN(32) + Dense(14): the next 14 days of rail in one shot."""
    return _stack("ahead", N_FEATURES, layers.SimpleRNN(units), n_outputs=n_ahead)


def seq2seq(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """SimpleRNN(32, return_sequences) + Dense(14): 14 days ahead at every time step."""
    return _stack("seq2seq", N_FEATURES, layers.SimpleRNN(units, return_sequences=True), n_outputs=n_ahead)


def custom_ln(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """``keras.layers.RNN`` running the layer-normalised cell, seq2seq."""
    return _stack("custom_ln", N_FEATURES, layers.RNN(LNSimpleRNNCell(units), return_sequences=True),
                  n_outputs=n_ahead)


def custom_loop(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """The chapter's hand-written RNN layer running the layer-normalised cell, seq2seq."""
    return _stack("custom_loop", N_FEATURES, StepLoopRNN(LNSimpleRNNCell(units), return_sequences=True),
                  n_outputs=n_ahead)


def lstm(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """LSTM(32, return_sequences) + Dense(14)."""
    return _stack("lstm", N_FEATURES, layers.LSTM(units, return_sequences=True), n_outputs=n_ahead)


def gru(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """GRU(32, return_sequences) + Dense(14)."""
    return _stack("gru", N_FEATURES, layers.GRU(units, return_sequences=True), n_outputs=n_ahead)


def conv_rnn(filters: int = 32, units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """Conv1D(32, kernel 4, stride 2) + GRU(32) + Dense(14): halves the sequence first.

    Train it on the longer windows (112 steps) with targets ``Y[:, 3::2]``.
    """
    return _stack("conv_rnn", N_FEATURES,
                  layers.Conv1D(filters, kernel_size=4, strides=2, activation="relu"),
                  layers.GRU(units, return_sequences=True), n_outputs=n_ahead)


def wavenet(filters: int = 32, dilations=(1, 2, 4, 8) * 2, n_ahead: int = AHEAD, fused: bool = False) -> keras.Model:
    """Causal Conv1D layers with dilations 1, 2, 4, 8 twice, then Conv1D(14, 1).

    ``fused=True`` computes the same layers as one ``CausalConvStack`` (matrix products,
    about 1.4 times faster per epoch on a CPU; ``ridership reproduce`` trains it so). It
    starts from the weights the ``Conv1D`` layers would get, so the same seed starts both
    models from the same weights, and ``set_weights`` moves trained weights between them.
    """
    inputs = keras.Input((None, N_FEATURES))
    z = inputs
    for rate in dilations:
        z = layers.Conv1D(filters, kernel_size=2, padding="causal", activation="relu", dilation_rate=rate)(z)
    outputs = layers.Conv1D(n_ahead, kernel_size=1)(z)
    model = keras.Model(inputs, outputs, name="wavenet")
    if not fused:
        return model
    inputs = keras.Input((None, N_FEATURES))
    stack = CausalConvStack(filters, dilations, n_ahead, kernel_size=2, activation="relu", name="causal_conv_stack")
    twin = keras.Model(inputs, stack(inputs), name="wavenet")
    twin.set_weights(model.get_weights())
    return twin


def full_wavenet(n_layers_per_block: int = 3, n_blocks: int = 1, filters: int = 32,
                 n_outputs: int = AHEAD) -> keras.Model:
    """WaveNet with gated activation units, residual and skip connections.

    The output layer is linear: the chapter copies the paper's softmax, made for
    choosing among 256 audio levels, which cannot express 14 ridership values.
    """
    inputs = keras.Input((None, N_FEATURES))
    z = layers.Conv1D(filters, kernel_size=2, padding="causal")(inputs)
    skips = []
    for rate in [2**i for i in range(n_layers_per_block)] * n_blocks:
        gated = layers.Conv1D(2 * filters, kernel_size=2, padding="causal", dilation_rate=rate)(z)
        skip = layers.Conv1D(filters, kernel_size=1)(GatedActivationUnit()(gated))
        z = layers.Add()([skip, z])
        skips.append(skip)
    z = layers.ReLU()(layers.Add()(skips) if len(skips) > 1 else skips[0])
    z = layers.Conv1D(filters, kernel_size=1, activation="relu")(z)
    outputs = layers.Conv1D(n_outputs, kernel_size=1)(z)
    return keras.Model(inputs, outputs, name="full_wavenet")


MODELS = {
    "linear": linear,
    "simple_rnn": simple_rnn,
    "univar": univar,
    "deep": deep,
    "mulvar": mulvar,
    "multask": multask,
    "ahead": ahead,
    "seq2seq": seq2seq,
    "custom_ln": custom_ln,
    "custom_loop": custom_loop,
    "lstm": lstm,
    "gru": gru,
    "conv_rnn": conv_rnn,
    "wavenet": wavenet,
    "full_wavenet": full_wavenet,
}


def build_model(name: str, **kwargs) -> keras.Model:
    """Build a registered model by name; an unknown name lists the known ones."""
    if name not in MODELS:
        raise RidershipError(f"Unknown model {name!r}; choose one of {', '.join(MODELS)}.")
    return MODELS[name](**kwargs)
