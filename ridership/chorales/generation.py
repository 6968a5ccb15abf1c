"""New chorales from a trained model, one note at a time: the exercise's plain way and a fast way.

Both start from a few seed chords and add one note after another (soprano, alto, tenor,
bass, then the next chord), each chosen from the model's probabilities for the next note:

- greedy (``temperature=None``): the most likely note;
- sampled (``temperature=T > 0``): a draw from the probabilities raised to the power ``1 / T``
  and renormalised (below 1 sharper, above 1 flatter). The draws come from NumPy's generator
  seeded with ``seed`` (the Gumbel-max trick: the argmax of ``log(p) / T`` plus Gumbel noise),
  so the same seed gives the same chorale.

``method="plain"`` is the exercise's way: for every new note, the model runs again over the
whole sequence so far. The tokens sit in a buffer of the final length, zeros after the
current note; the model is causal, so what follows a position changes nothing at it, and
one compiled program serves every call instead of one per length.

``method="fast"`` runs the model one step at a time, as fast WaveNet generation does: the
embedding of the newest token only; each causal convolution keeps its last
``(kernel_size - 1) * dilation`` inputs instead of recomputing them; batch normalisation is a
fixed affine map at inference; the LSTM carries its state; the softmax layer reads the new
state. The whole generation is one compiled loop (compiled on the first call for each
length, reused after). Greedy output is identical to the plain way's (a test checks it).
It works for models built from ``Embedding``, causal ``Conv1D``, ``BatchNormalization``,
``LSTM`` or ``ProjectedLSTM`` and ``Dense`` layers in a chain, as ``bach_model`` and
``fast_bach_model`` are.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
from keras import ops

from ..errors import RidershipError
from ..settings import CHORDS, FIRST_SEED, GENERATION_METHODS
from .data import MAX_NOTE, MIN_NOTE, SILENCE
from .layers import ProjectedLSTM
from .windows import N_TOKENS, N_VOICES, to_notes, to_tokens



def check_request(seed_chords, chords: int, temperature: float | None) -> np.ndarray:
    """The seed as an int array ``(n, 4)`` of piano keys, after checking the three arguments.

    One chord is the shortest seed: the model learnt to start from the first chord of a
    window, with nothing before it, so it needs no more to begin.
    """
    seed = np.asarray(seed_chords)
    if seed.ndim != 2 or seed.shape[1] != N_VOICES or len(seed) < 1:
        raise RidershipError(f"The seed must be at least one chord of {N_VOICES} notes, an array of shape "
                             f"(chords, {N_VOICES}); got shape {seed.shape}. Pass e.g. a chorale's first 8 chords.")
    if not np.issubdtype(seed.dtype, np.integer):
        if not np.all(np.isfinite(seed)) or not np.all(seed == np.round(seed)):
            raise RidershipError("The seed's notes must be whole piano-key numbers.")
        seed = seed.astype(np.int64)
    bad = (seed != SILENCE) & ((seed < MIN_NOTE) | (seed > MAX_NOTE))
    if bad.any():
        raise RidershipError(f"The seed holds note {int(seed[bad][0])}: notes must be piano keys "
                             f"{MIN_NOTE}..{MAX_NOTE} or 0 for silence.")
    if isinstance(chords, bool) or not isinstance(chords, (int, np.integer)) or chords < 1:
        raise RidershipError(f"The number of chords to generate must be a whole number >= 1; got {chords!r}.")
    if temperature is not None and not (np.isfinite(temperature) and temperature > 0):
        raise RidershipError(f"A sampling temperature must be > 0; got {temperature!r}. For the most likely note "
                             "every time, ask for greedy generation (temperature None, or 0 on the command line).")
    return seed


def gumbel_noise(n_notes: int, seed: int | None) -> np.ndarray:
    """The noise that turns an argmax into a draw: ``(n_notes, tokens)`` Gumbel samples from ``seed``."""
    return np.random.default_rng(seed).gumbel(size=(n_notes, N_TOKENS)).astype(np.float32)


def _choose(probabilities: np.ndarray, temperature: float | None, noise: np.ndarray) -> int:
    if temperature is None:
        return int(np.argmax(probabilities))
    return int(np.argmax(np.log(np.maximum(probabilities, 1e-30)) / temperature + noise))


def generate(model, seed_chords, chords: int = CHORDS, temperature: float | None = None, seed: int | None = FIRST_SEED,
             method: str = "fast") -> np.ndarray:
    """The seed chords followed by ``chords`` new ones, as piano keys ``(len(seed) + chords, 4)``.

    Args:
        model: a trained chorale model (``bach_model`` or ``fast_bach_model``, or one loaded from ``.keras``).
        seed_chords: at least one chord, shape ``(n, 4)``, piano keys 36..81 or 0 for silence.
        chords: how many chords to add (>= 1).
        temperature: None for greedy, else > 0 for sampling.
        seed: the sampling's random seed (unused when greedy).
        method: ``"fast"`` (one step at a time, states kept) or ``"plain"`` (the model rerun for every note).

    Example:

    >>> from ridership.chorales import fast_bach_model, load_chorales
    >>> model = fast_bach_model()       # untrained here; `ridership chorales train` saves trained ones
    >>> test = load_chorales()["test"]
    >>> new = generate(model, test[2][:8], chords=8)                     # greedy
    >>> hot = generate(model, test[2][:8], chords=8, temperature=1.5, seed=7)   # sampled
    >>> new.shape, bool((new[:8] == test[2][:8]).all())                  # the seed chords come first
    ((16, 4), True)
    """
    seed_notes = check_request(seed_chords, chords, temperature)
    if method not in GENERATION_METHODS:
        raise RidershipError(f"Unknown generation method {method!r}; choose one of {', '.join(GENERATION_METHODS)}.")
    tokens = to_tokens(seed_notes).reshape(-1)
    n_new = chords * N_VOICES
    noise = gumbel_noise(n_new, seed) if temperature is not None else np.zeros((n_new, N_TOKENS), np.float32)
    check_model(model)
    run = _generate_plain if method == "plain" else _generate_fast
    out = run(model, tokens, n_new, temperature, noise)
    return to_notes(out.reshape(-1, N_VOICES))


def check_model(model) -> None:
    """Refuse in one line a model that is not a chorale model: one that does not take token sequences
    ``(batch, time)`` and return the next token's probabilities ``(batch, time, N_TOKENS)``."""
    try:
        inputs, outputs = [tuple(t.shape) for t in model.inputs], [tuple(t.shape) for t in model.outputs]
    except (AttributeError, ValueError, TypeError):
        return  # a model that declares no inputs (subclassed, not yet called) is taken on trust
    if len(inputs) == 1 and len(inputs[0]) == 2 and len(outputs) == 1 and len(outputs[0]) == 3 \
            and outputs[0][-1] == N_TOKENS:
        return
    shown = ", ".join(map(str, inputs)) + " to " + ", ".join(map(str, outputs))
    raise RidershipError(f"{getattr(model, 'name', 'the model')} is not a chorale model: it maps {shown}, where a "
                         f"chorale model maps token sequences (batch, time) to the {N_TOKENS} tokens' probabilities "
                         f"(batch, time, {N_TOKENS}). Give a model saved by `ridership chorales train` (its models/ "
                         "folder).")


def _generate_plain(model, tokens: np.ndarray, n_new: int, temperature, noise) -> np.ndarray:
    """The exercise's way: the whole sequence through the model again for every note."""
    n_seed = len(tokens)
    buffer = np.zeros((1, n_seed + n_new), dtype=np.int32)
    buffer[0, :n_seed] = tokens
    for k in range(n_new):
        position = n_seed + k  # the note to choose; the model's output at position - 1 predicts it
        probabilities = np.asarray(model.predict_on_batch(buffer))[0, position - 1]
        buffer[0, position] = _choose(probabilities, temperature, noise[k])
    return buffer[0]


# --- the fast way -------------------------------------------------------------------------


def _generate_fast(model, tokens: np.ndarray, n_new: int, temperature, noise) -> np.ndarray:
    decoder = stepper(model)
    total = len(tokens) + n_new
    buffer = np.zeros((1, total), dtype=np.int32)
    buffer[0, :len(tokens)] = tokens
    settings = np.array([[len(tokens), 0.0 if temperature is None else 1.0 / temperature]], dtype=np.float32)
    out = decoder.predict_on_batch((buffer, noise[None], settings))
    return np.asarray(out)[0].astype(np.int64)


_STEPPERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def stepper(model) -> "Stepper":
    """The one-step-at-a-time generator for ``model``, made once per model (and compiled on first use)."""
    if model not in _STEPPERS:
        _STEPPERS[model] = Stepper(_chain(model))
    return _STEPPERS[model]


def _chain(model) -> list:
    """The model's layers after its input, checked to form a chain of supported layers."""
    supported = (keras.layers.Embedding, keras.layers.Conv1D, keras.layers.BatchNormalization, keras.layers.LSTM,
                 ProjectedLSTM, keras.layers.Dense)
    chain = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not chain or not isinstance(chain[0], keras.layers.Embedding):
        raise RidershipError("Fast generation needs a model that starts with an Embedding of the tokens; use the "
                             "plain method (method='plain', --method plain) for this model.")
    for before, layer in zip(chain, chain[1:]):
        if not isinstance(layer, supported) or layer.input is not before.output:
            raise RidershipError(
                f"Fast generation runs chains of Embedding, causal Conv1D, BatchNormalization, LSTM and Dense layers; "
                f"{layer.name} ({layer.__class__.__name__}) does not fit. Use the plain method (method='plain', "
                "--method plain) for this model.")
    for layer in chain:
        if isinstance(layer, keras.layers.Conv1D) and (layer.padding != "causal" or layer.strides != (1,)):
            raise RidershipError(f"Fast generation needs causal, stride-1 convolutions; {layer.name} has padding "
                                 f"{layer.padding!r} and strides {layer.strides}. Use the plain method "
                                 "(--method plain).")
        if isinstance(layer, keras.layers.LSTM) and layer.go_backwards:
            raise RidershipError(f"{layer.name} runs backwards: it is not causal. Use the plain method "
                                 "(--method plain).")
    return chain


class Stepper(keras.Model):
    """Inputs: tokens ``(1, total)`` with the seed filled in, noise ``(1, new, tokens)``, and
    ``(1, 2)`` settings (seed length, 1 / temperature or 0 for greedy). Output: the tokens."""

    def __init__(self, layers):
        super().__init__(name="chorale_stepper")
        self.chain = layers
        self.built = True  # its layers are the trained model's: nothing to build (Keras would run it once to)

    def _start(self):
        states = []
        width = None
        for layer in self.chain:
            if isinstance(layer, keras.layers.Embedding):
                width = layer.output_dim
                states.append(())
            elif isinstance(layer, keras.layers.Conv1D):
                reach = (layer.kernel_size[0] - 1) * layer.dilation_rate[0]
                states.append((ops.zeros((max(reach, 1), 1, width)),))  # its last inputs, oldest first
                width = layer.filters
            elif isinstance(layer, (keras.layers.LSTM, ProjectedLSTM)):
                width = layer.units
                states.append((ops.zeros((1, width)), ops.zeros((1, width))))
            else:
                width = getattr(layer, "units", width)
                states.append(())
        return states

    def _step(self, token, states):
        """One token through the chain: the next note's probabilities (1, tokens) and the new states."""
        new_states = []
        x = None
        for layer, state in zip(self.chain, states):
            if isinstance(layer, keras.layers.Embedding):
                x = ops.take(layer.embeddings, token, axis=0)  # (1, dim)
                new_states.append(())
            elif isinstance(layer, keras.layers.Conv1D):
                (history,) = state
                size, rate = layer.kernel_size[0], layer.dilation_rate[0]
                reach = (size - 1) * rate
                kernel = layer.kernel
                z = ops.matmul(x, kernel[size - 1])
                for tap in range(size - 1):  # tap j sees the input (size - 1 - j) * rate steps back
                    back = (size - 1 - tap) * rate
                    z = z + ops.matmul(history[reach - back], kernel[tap])
                if layer.use_bias:
                    z = z + layer.bias
                if reach:
                    history = ops.concatenate([history[1:], x[None]], axis=0)
                new_states.append((history,))
                x = layer.activation(z)
            elif isinstance(layer, keras.layers.BatchNormalization):  # inference: the moving statistics
                x = ops.batch_normalization(x, layer.moving_mean, layer.moving_variance, axis=-1,
                                            offset=layer.beta if layer.center else None,
                                            scale=layer.gamma if layer.scale else None, epsilon=layer.epsilon)
                new_states.append(())
            elif isinstance(layer, keras.layers.Dense):
                x = layer(x)
                new_states.append(())
            elif isinstance(layer, ProjectedLSTM):
                h, c = layer.step(x, *state)
                new_states.append((h, c))
                x = h
            else:  # keras.layers.LSTM: its cell is its step
                h, (h, c) = layer.cell(x, list(state), training=False)
                new_states.append((h, c))
                x = h
        return x, new_states

    def call(self, inputs):
        tokens, noise, settings = inputs
        tokens = ops.cast(tokens[0], "int32")
        noise = noise[0]
        n_seed = ops.cast(settings[0, 0], "int32")
        inverse_temperature = settings[0, 1]
        total = ops.shape(tokens)[0]

        def body(t, carry):
            tokens, states = carry
            probabilities, states = self._step(ops.take(tokens, ops.reshape(t, (1,))), states)
            probabilities = probabilities[0]
            sampled = ops.log(ops.maximum(probabilities, 1e-30)) * inverse_temperature
            sampled = sampled + ops.take(noise, ops.maximum(t + 1 - n_seed, 0), axis=0)
            choice = ops.where(inverse_temperature > 0, ops.argmax(sampled), ops.argmax(probabilities))
            # a seed token stays; after the seed, the choice is written in
            keep = ops.where(t + 1 < n_seed, ops.take(tokens, t + 1), ops.cast(choice, "int32"))
            tokens = ops.slice_update(tokens, [t + 1], ops.reshape(keep, (1,)))
            return tokens, states

        tokens, _ = ops.fori_loop(0, total - 1, body, (tokens, self._start()))
        return tokens[None]
