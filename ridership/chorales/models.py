"""The exercise's chorale model, our faster twin of it, and how both are compiled.

Both take a batch of token sequences ``(batch, time)`` and return, at every position, the
probabilities of the 47 tokens for the next note ``(batch, time, 47)``. Only ``keras`` is
used, so both run on the TensorFlow and JAX backends and save to ``.keras``.
"""

from __future__ import annotations

from pathlib import Path

import keras
from keras import layers

from ..errors import RidershipError
from .layers import ProjectedLSTM
from .windows import N_TOKENS

EMBEDDING_DIM = 5
FILTERS = (32, 48, 64, 96)
DILATIONS = (1, 2, 4, 8)
UNITS = 256
LEARNING_RATE = 1e-3
EPOCHS = 20


def bach_model(n_tokens: int = N_TOKENS, embedding_dim: int = EMBEDDING_DIM, filters=FILTERS, dilations=DILATIONS,
               units: int = UNITS) -> keras.Model:
    """The exercise's model: an embedding, four causal dilated convolutions, an LSTM, a softmax.

    Shapes, for a batch of 32 windows of 131 tokens:

    - ``Embedding(47, 5)``: each token becomes a learned vector of 5 numbers: (32, 131) -> (32, 131, 5).
    - four ``Conv1D`` with kernel 2 and ``padding="causal"``: each output step mixes the step
      and the one ``dilation`` steps before it, never a later one, so with dilations 1, 2, 4
      and 8 a step sees the 16 tokens up to itself (four chords). The time axis keeps its
      length; the channels become 32, 48, 64, then 96: (32, 131, 96). ``BatchNormalization``
      after each keeps the activations in range.
    - ``LSTM(256, return_sequences=True)``: one state of 256 numbers per step, carried from
      step to step, returned at every step: (32, 131, 256).
    - ``Dense(47, softmax)``: at every step, the probabilities of the next token: (32, 131, 47).

    Example:

    >>> model = bach_model()
    >>> tuple(model(keras.ops.zeros((2, 131), dtype="int32")).shape)
    (2, 131, 47)
    """
    inputs = keras.Input((None,), dtype="int32", name="tokens")
    z = layers.Embedding(n_tokens, embedding_dim)(inputs)
    for n_filters, rate in zip(filters, dilations):
        z = layers.Conv1D(n_filters, kernel_size=2, padding="causal", dilation_rate=rate, activation="relu")(z)
        z = layers.BatchNormalization()(z)
    z = layers.LSTM(units, return_sequences=True)(z)
    outputs = layers.Dense(n_tokens, activation="softmax")(z)
    return keras.Model(inputs, outputs, name="bach")


def fast_bach_model(n_tokens: int = N_TOKENS, embedding_dim: int = EMBEDDING_DIM, filters=FILTERS,
                    dilations=DILATIONS, units: int = UNITS) -> keras.Model:
    """The exercise's model with a ``ProjectedLSTM`` in place of ``keras.layers.LSTM``: the same function, faster.

    It starts from the weights ``bach_model`` would get in its place (it builds that model
    and copies them), so the same seed starts both from the same weights, and
    ``set_weights`` moves trained weights between the two.
    """
    chapter = bach_model(n_tokens, embedding_dim, filters, dilations, units)
    inputs = keras.Input((None,), dtype="int32", name="tokens")
    z = inputs
    for layer in chapter.layers[1:]:
        if isinstance(layer, layers.LSTM):
            z = ProjectedLSTM(units, name="projected_lstm")(z)
        else:
            z = layer.__class__.from_config(layer.get_config())(z)
    model = keras.Model(inputs, z, name="bach_fast")
    model.set_weights(chapter.get_weights())
    return model


#: The chorale builders by name; ``fast`` is the one ``ridership chorales train`` uses unless told otherwise.
BUILDERS = {"exercise": bach_model, "fast": fast_bach_model}
DEFAULT_BUILDER = "fast"


def build(name: str = DEFAULT_BUILDER, **kwargs) -> keras.Model:
    """Build a chorale model by name (``exercise`` or ``fast``)."""
    if name not in BUILDERS:
        raise RidershipError(f"Unknown chorale model {name!r}; choose one of {', '.join(BUILDERS)}.")
    return BUILDERS[name](**kwargs)


def compile_bach(model: keras.Model, learning_rate: float = LEARNING_RATE, **compile_kwargs) -> keras.Model:
    """The exercise's training set-up: Nadam, sparse categorical cross-entropy, accuracy.

    Extra keyword arguments go to ``compile`` (e.g. ``steps_per_execution``).
    """
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Nadam(learning_rate=learning_rate),
                  metrics=["accuracy"], **compile_kwargs)
    return model


def load_bach_model(path, fix: str | None = None) -> keras.Model:
    """A chorale model saved to ``.keras`` (``ProjectedLSTM`` is registered by importing this module),
    or one clear line saying why the file cannot be read.

    Args:
        path: the ``.keras`` file.
        fix: what the line advises when the file cannot be read (default: a model saved by
            ``ridership chorales train``); the command passes the exact command that retrains it.
    """
    import textwrap

    path = Path(path)
    if not path.is_file():
        raise RidershipError(f"No model file at {path}: give the path of a .keras file, or --results DIR.")
    try:
        return keras.saving.load_model(path)
    except Exception as exc:  # noqa: BLE001 - any failure to read the file is reported in one line
        why = textwrap.shorten(" ".join(str(exc).split()), 160, placeholder=" ...")
        advice = (f"Retrain it with {fix}." if fix else
                  "Give the .keras file of a chorale model saved by `ridership chorales train` (its models/ folder).")
        raise RidershipError(f"Cannot read the model {path} ({exc.__class__.__name__}: {why}). {advice}") from None
