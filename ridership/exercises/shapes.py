"""The shapes of recurrent models: sequence to sequence, to vector, vector to sequence, deep stacks.

Small builders for the chapter's first exercises, so a reader can call each kind of model
on a tensor and read the shapes, and a helper that returns Keras' error message instead of
raising it, so a notebook can show what a wrong ``return_sequences`` flag breaks.

A recurrent layer takes ``(batch, time steps, features)``. With ``return_sequences=True`` it
returns one output per step, ``(batch, time steps, units)``; without, only the last one,
``(batch, units)``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import keras
from keras import layers

from ..errors import RidershipError


def _positive(**values) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise RidershipError(f"{name} must be a whole number >= 1; got {value!r}.")


def sequence_to_sequence(n_features: int = 3, units: int = 8, n_outputs: int = 2) -> keras.Model:
    """An output at every time step: ``(batch, time, n_features) -> (batch, time, n_outputs)``.

    E.g. forecasting at every step, as the chapter's ``seq2seq`` model does.
    """
    _positive(n_features=n_features, units=units, n_outputs=n_outputs)
    inputs = keras.Input((None, n_features))
    z = layers.SimpleRNN(units, return_sequences=True)(inputs)
    return keras.Model(inputs, layers.Dense(n_outputs)(z), name="sequence_to_sequence")


def sequence_to_vector(n_features: int = 3, units: int = 8, n_outputs: int = 2) -> keras.Model:
    """One output for the whole sequence: ``(batch, time, n_features) -> (batch, n_outputs)``.

    E.g. a review's sentiment, or tomorrow's value from the last weeks.
    """
    _positive(n_features=n_features, units=units, n_outputs=n_outputs)
    inputs = keras.Input((None, n_features))
    z = layers.SimpleRNN(units)(inputs)
    return keras.Model(inputs, layers.Dense(n_outputs)(z), name="sequence_to_vector")


def vector_to_sequence(n_features: int = 3, n_steps: int = 5, units: int = 8, n_outputs: int = 2) -> keras.Model:
    """A sequence out of one vector: ``(batch, n_features) -> (batch, n_steps, n_outputs)``.

    The vector is fed at every one of ``n_steps`` steps (``RepeatVector``); e.g. a caption
    from an image's features.
    """
    _positive(n_features=n_features, n_steps=n_steps, units=units, n_outputs=n_outputs)
    inputs = keras.Input((n_features,))
    z = layers.SimpleRNN(units, return_sequences=True)(layers.RepeatVector(n_steps)(inputs))
    return keras.Model(inputs, layers.Dense(n_outputs)(z), name="vector_to_sequence")


def deep_rnn(return_sequences: Sequence[bool], n_features: int = 1, units: int = 8, n_outputs: int = 1) -> keras.Model:
    """Stacked ``SimpleRNN`` layers, each with its own ``return_sequences`` flag, then ``Dense``.

    Args:
        return_sequences: one flag per layer, bottom first. A sequence-to-sequence stack needs
            ``True`` everywhere; a sequence-to-vector one ``True`` everywhere but on the top layer.
            A wrong flag either fails to build (a recurrent layer fed 2-D input) or gives an
            output of the wrong rank.
    """
    flags = list(return_sequences)
    if not flags or not all(isinstance(flag, bool) for flag in flags):
        raise RidershipError("return_sequences must be a non-empty list of True/False, one per layer; "
                             f"got {return_sequences!r}.")
    _positive(n_features=n_features, units=units, n_outputs=n_outputs)
    inputs = keras.Input((None, n_features))
    z = inputs
    for flag in flags:
        z = layers.SimpleRNN(units, return_sequences=flag)(z)
    return keras.Model(inputs, layers.Dense(n_outputs)(z), name="deep_rnn")


def keras_error(call: Callable, *args, **kwargs) -> str | None:
    """Run ``call(*args, **kwargs)``; return the first line of the error it raises, or None if it runs.

    For showing, in a notebook, the message Keras gives for a model it cannot build.
    """
    try:
        call(*args, **kwargs)
    except Exception as exc:  # any error: the point is to show what Keras says
        message = str(exc).strip().splitlines()
        return f"{type(exc).__name__}: {message[0] if message else ''}"
    return None
