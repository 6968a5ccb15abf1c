"""The chapter's models, one builder each, and ``MODELS``, the registry of them by name.

Each builder returns an uncompiled ``keras.Model`` that starts from ``keras.Input``, with the
chapter's layers and sizes and a name on every layer. They are written as the chapter's cells
are, so ``inspect.getsource(ridership.models.univar)`` reads like the book.

Inputs are windows of shape ``(batch, time steps, features)``: one feature (rail) for the
univariate models, five for the others (bus, rail, and the next day's type one-hot). The time
axis is ``None`` wherever the model allows, so the same model runs on windows of any length.
Only ``keras`` is used, so every model runs on the TensorFlow and JAX backends.

Example:

>>> model = ridership.models.univar()
>>> tuple(model(np.zeros((8, 56, 1))).shape)          # 8 windows of 56 days -> one forecast each
(8, 1)
"""

from __future__ import annotations

import keras
from keras import layers

from .errors import RidershipError
from .layers import CausalConvStack, GatedActivationUnit, LNSimpleRNNCell, StepLoopRNN
from .settings import AHEAD, N_FEATURES, SEQ_LENGTH


def linear(seq_length: int = SEQ_LENGTH) -> keras.Model:
    """One Dense unit on the window's ``seq_length`` values: a learned weighted average."""
    return keras.Sequential([
        keras.Input(shape=(seq_length, 1)),
        layers.Flatten(name="flatten"),
        layers.Dense(1, name="forecast"),
    ], name="linear")


def simple_rnn() -> keras.Model:
    """A single recurrent neuron: its state, squashed by tanh, is also the forecast."""
    return keras.Sequential([
        keras.Input(shape=(None, 1)),
        layers.SimpleRNN(1, name="rnn"),
    ], name="simple_rnn")


def univar(units: int = 32) -> keras.Model:
    """32 recurrent neurons read the rail series; a Dense layer turns the last state into the forecast."""
    return keras.Sequential([
        keras.Input(shape=(None, 1)),
        layers.SimpleRNN(units, name="rnn"),
        layers.Dense(1, name="forecast"),
    ], name="univar")


def deep(units: int = 32) -> keras.Model:
    """Three recurrent layers; the first two pass on their whole sequence of states."""
    return keras.Sequential([
        keras.Input(shape=(None, 1)),
        layers.SimpleRNN(units, return_sequences=True, name="rnn_1"),
        layers.SimpleRNN(units, return_sequences=True, name="rnn_2"),
        layers.SimpleRNN(units, name="rnn_3"),
        layers.Dense(1, name="forecast"),
    ], name="deep")


def mulvar(units: int = 32) -> keras.Model:
    """The univariate RNN fed five features a day, still forecasting rail."""
    return keras.Sequential([
        keras.Input(shape=(None, N_FEATURES)),
        layers.SimpleRNN(units, name="rnn"),
        layers.Dense(1, name="forecast"),
    ], name="mulvar")


def multask(units: int = 32) -> keras.Model:
    """Five features in, two forecasts out: tomorrow's bus and rail."""
    return keras.Sequential([
        keras.Input(shape=(None, N_FEATURES)),
        layers.SimpleRNN(units, name="rnn"),
        layers.Dense(2, name="forecast"),
    ], name="multask")


def ahead(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """The next ``n_ahead`` days of rail at once, from the last state."""
    return keras.Sequential([
        keras.Input(shape=(None, N_FEATURES)),
        layers.SimpleRNN(units, name="rnn"),
        layers.Dense(n_ahead, name="forecast"),
    ], name="ahead")


def seq2seq(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """At every time step, the next ``n_ahead`` days: Dense applies to each step's state."""
    return keras.Sequential([
        keras.Input(shape=(None, N_FEATURES)),
        layers.SimpleRNN(units, return_sequences=True, name="rnn"),
        layers.Dense(n_ahead, name="forecast"),
    ], name="seq2seq")


def custom_ln(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """The seq2seq model with a layer-normalised cell, run by ``keras.layers.RNN``."""
    return keras.Sequential([
        keras.Input(shape=(None, N_FEATURES)),
        layers.RNN(LNSimpleRNNCell(units), return_sequences=True, name="ln_rnn"),
        layers.Dense(n_ahead, name="forecast"),
    ], name="custom_ln")


def custom_loop(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """The same cell run by the chapter's hand-written loop over the time steps."""
    return keras.Sequential([
        keras.Input(shape=(None, N_FEATURES)),
        StepLoopRNN(LNSimpleRNNCell(units), return_sequences=True, name="step_loop_rnn"),
        layers.Dense(n_ahead, name="forecast"),
    ], name="custom_loop")


def lstm(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """The seq2seq model with an LSTM layer: a long-term state beside the short-term one."""
    return keras.Sequential([
        keras.Input(shape=(None, N_FEATURES)),
        layers.LSTM(units, return_sequences=True, name="lstm"),
        layers.Dense(n_ahead, name="forecast"),
    ], name="lstm")


def gru(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """The seq2seq model with a GRU layer: one state, two gates."""
    return keras.Sequential([
        keras.Input(shape=(None, N_FEATURES)),
        layers.GRU(units, return_sequences=True, name="gru"),
        layers.Dense(n_ahead, name="forecast"),
    ], name="gru")


def conv_rnn(filters: int = 32, units: int = 32, n_ahead: int = AHEAD) -> keras.Model:
    """A strided Conv1D halves the sequence (kernel 4, stride 2) before a GRU reads it.

    Output step ``j`` sees input steps ``2j .. 2j + 3``, so it forecasts from step ``2j + 3``:
    train it on the 112-day windows with targets ``Y[:, 3::2]`` (``windows.downsample_targets``).
    """
    return keras.Sequential([
        keras.Input(shape=(None, N_FEATURES)),
        layers.Conv1D(filters, kernel_size=4, strides=2, activation="relu", name="conv"),
        layers.GRU(units, return_sequences=True, name="gru"),
        layers.Dense(n_ahead, name="forecast"),
    ], name="conv_rnn")


def wavenet(filters: int = 32, dilations=(1, 2, 4, 8) * 2, n_ahead: int = AHEAD) -> keras.Model:
    """Causal Conv1D layers whose dilation doubles (1, 2, 4, 8, twice), then a 1-wide Conv1D.

    Each layer sees its own step and one ``rate`` steps back, so the eight layers together see
    the last 31 days at every step.
    """
    model = keras.Sequential(name="wavenet")
    model.add(keras.Input(shape=(None, N_FEATURES)))
    for i, rate in enumerate(dilations, start=1):
        model.add(layers.Conv1D(filters, kernel_size=2, padding="causal", activation="relu",
                                dilation_rate=rate, name=f"conv_{i}"))
    model.add(layers.Conv1D(n_ahead, kernel_size=1, name="forecast"))
    return model


def fused_wavenet(filters: int = 32, dilations=(1, 2, 4, 8) * 2, n_ahead: int = AHEAD) -> keras.Model:
    """:func:`wavenet` computed by one ``CausalConvStack``: the same function, faster on a CPU.

    It starts from the very weights :func:`wavenet` would get under the same seed, and lists them
    in the same order, so ``wavenet().set_weights(fused.get_weights())`` moves trained weights to
    the chapter's layers (``benchmarks/choices.py wavenet`` measures the speed).
    """
    chapter = wavenet(filters, dilations, n_ahead)
    model = keras.Sequential([
        keras.Input(shape=(None, N_FEATURES)),
        CausalConvStack(filters, dilations, n_ahead, kernel_size=2, activation="relu", name="causal_conv_stack"),
    ], name="fused_wavenet")
    model.set_weights(chapter.get_weights())
    return model


def full_wavenet(n_layers_per_block: int = 3, n_blocks: int = 1, filters: int = 32,
                 n_outputs: int = AHEAD) -> keras.Model:
    """WaveNet with gated activation units, residual and skip connections.

    Each layer's causal, dilated Conv1D gives twice ``filters`` channels; the gate keeps
    ``tanh(first half) * sigmoid(second half)``; a 1-wide Conv1D then makes the layer's skip
    output, which is also added to its input (the residual). The skips are summed and read by
    two 1-wide Conv1D layers. The last one is linear: 14 ridership values are not a choice
    among classes.
    """
    inputs = keras.Input(shape=(None, N_FEATURES), name="windows")
    z = layers.Conv1D(filters, kernel_size=2, padding="causal", name="input_conv")(inputs)
    skips = []
    for i, rate in enumerate([2 ** k for k in range(n_layers_per_block)] * n_blocks, start=1):
        gated = layers.Conv1D(2 * filters, kernel_size=2, padding="causal", dilation_rate=rate,
                              name=f"dilated_conv_{i}")(z)
        skip = layers.Conv1D(filters, kernel_size=1, name=f"skip_{i}")(GatedActivationUnit(name=f"gate_{i}")(gated))
        z = layers.Add(name=f"residual_{i}")([skip, z])
        skips.append(skip)
    z = layers.ReLU(name="relu")(layers.Add(name="skips")(skips) if len(skips) > 1 else skips[0])
    z = layers.Conv1D(filters, kernel_size=1, activation="relu", name="head")(z)
    outputs = layers.Conv1D(n_outputs, kernel_size=1, name="forecast")(z)
    return keras.Model(inputs, outputs, name="full_wavenet")


#: Every builder by name, in the chapter's order (``fused_wavenet`` is ours: the same function as ``wavenet``).
MODELS = {builder.__name__: builder for builder in (
    linear, simple_rnn, univar, deep, mulvar, multask, ahead, seq2seq, custom_ln, custom_loop, lstm, gru,
    conv_rnn, wavenet, fused_wavenet, full_wavenet,
)}


def build_model(name: str, **kwargs) -> keras.Model:
    """Build a registered model by name; an unknown name lists the known ones.

    Args:
        name: a key of ``MODELS``.
        **kwargs: the builder's own arguments (``units``, ``n_ahead``, ...).
    """
    if name not in MODELS:
        raise RidershipError(f"Unknown model {name!r}; choose one of {', '.join(MODELS)}.")
    return MODELS[name](**kwargs)
