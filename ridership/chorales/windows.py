"""Tokens and training windows for the chorales: the exercise's ``tf.data`` way and a NumPy way.

Tokens: silence stays 0 and piano key ``n`` becomes ``n - 35``, so keys 36..81 are tokens
1..46 and there are 47 tokens in all.

Windows: each chorale is cut into windows of 33 chords, a new one every 16 chords (a tail
too short for a window is dropped), and each window is flattened to 132 tokens, the four
voices of a chord in turn (soprano, alto, tenor, bass, then the next chord). The input is
the window without its last token and the target the window without its first: at every
position the model predicts the next note, which is the next voice of the same chord or
the soprano of the next chord.

``bach_dataset`` builds them with ``tf.data`` as the exercise teaches; ``window_arrays``
builds the same arrays once with NumPy (a test checks they are equal), for training on any
backend.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import RidershipError
from ..windows import dataset_arrays  # noqa: F401  (the same for the chorales' datasets)
from .data import MAX_NOTE, MIN_NOTE, SILENCE, VOICES

N_VOICES = len(VOICES)
N_TOKENS = MAX_NOTE - MIN_NOTE + 2  # 46 keys and silence: 47
WINDOW_CHORDS = 32  # chords of input context; a window holds one chord more, for the targets
SHIFT = 16  # chords between the starts of two windows of a chorale
BATCH_SIZE = 32
SHUFFLE_BUFFER = 1_000  # the exercise shuffles the training windows through this many


def to_tokens(notes) -> np.ndarray:
    """Piano keys (36..81, 0 for silence) to tokens (1..46, 0 for silence), same shape."""
    notes = np.asarray(notes)
    bad = (notes != SILENCE) & ((notes < MIN_NOTE) | (notes > MAX_NOTE))
    if bad.any():
        raise RidershipError(f"Notes must be piano keys {MIN_NOTE}..{MAX_NOTE} or 0 for silence; got "
                             f"{notes[bad].ravel()[0]}.")
    return np.where(notes == SILENCE, 0, notes - MIN_NOTE + 1).astype(np.int32)


def to_notes(tokens) -> np.ndarray:
    """Tokens (0..46) back to piano keys (0 stays silence), same shape."""
    tokens = np.asarray(tokens)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= N_TOKENS):
        raise RidershipError(f"Tokens must lie in 0..{N_TOKENS - 1}; got {int(tokens.min())}..{int(tokens.max())}.")
    return np.where(tokens == 0, SILENCE, tokens + MIN_NOTE - 1).astype(np.int64)


def _check(window: int, shift: int) -> None:
    for name, value in (("window", window), ("shift", shift)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise RidershipError(f"{name} must be a whole number of chords >= 1; got {value!r}.")


def window_arrays(chorales, window: int = WINDOW_CHORDS, shift: int = SHIFT) -> tuple[np.ndarray, np.ndarray]:
    """The exercise's windows as NumPy arrays ``(X, Y)``, each of shape ``(windows, (window + 1) * 4 - 1)``.

    Args:
        chorales: a list of ``(chords, 4)`` arrays of piano keys (one split of ``load_chorales``).
        window: chords of context; each window holds ``window + 1`` chords.
        shift: chords between the starts of two windows of one chorale.

    Example:

    >>> from ridership.chorales import load_chorales
    >>> X, Y = window_arrays(load_chorales()["train"])
    >>> X.shape, Y.shape          # 131 tokens each: 33 chords of 4 notes, less one
    ((3111, 131), (3111, 131))
    >>> bool((X[:, 1:] == Y[:, :-1]).all())
    True
    """
    _check(window, shift)
    length = window + 1
    pieces = []
    for chorale in chorales:
        tokens = to_tokens(chorale)
        if len(tokens) >= length:
            windows = sliding_window_view(tokens, length, axis=0)[::shift]  # (n, 4, length)
            pieces.append(windows.transpose(0, 2, 1).reshape(len(windows), length * N_VOICES))
    if not pieces:
        raise RidershipError(f"No chorale is at least {length} chords long: there are no windows of {window} chords. "
                             "Use a shorter window.")
    flat = np.concatenate(pieces)
    return np.ascontiguousarray(flat[:, :-1]), np.ascontiguousarray(flat[:, 1:])


def bach_dataset(chorales, batch_size: int = BATCH_SIZE, shuffle_buffer_size: int | None = None,
                 window: int = WINDOW_CHORDS, shift: int = SHIFT, seed: int | None = None, cache: bool = True):
    """The exercise's ``tf.data`` pipeline: windows of each chorale, tokens, flattening, batches, targets.

    Args:
        chorales: one split of ``load_chorales``.
        batch_size: windows per batch.
        shuffle_buffer_size: shuffle the windows through a buffer this big (the exercise uses
            1,000 for the training set, nothing for the others).
        window, shift: as in :func:`window_arrays`.
        seed: the shuffle's seed (default: drawn from TensorFlow's global seed).
        cache: keep the prepared windows in memory after the first epoch.
    """
    import tensorflow as tf

    _check(window, shift)
    length = window + 1

    def chorale_windows(chorale):
        chords = tf.data.Dataset.from_tensor_slices(chorale)
        return chords.window(length, shift, drop_remainder=True).flat_map(lambda w: w.batch(length))

    def tokens_in_turn(chords):  # (length, 4) keys -> (length * 4,) tokens, voice after voice
        tokens = tf.where(chords == SILENCE, chords, chords - MIN_NOTE + 1)
        return tf.reshape(tokens, [-1])

    ragged = tf.ragged.constant([np.asarray(c).tolist() for c in chorales], ragged_rank=1, dtype=tf.int32)
    dataset = tf.data.Dataset.from_tensor_slices(ragged).flat_map(chorale_windows).map(tokens_in_turn)
    if cache:
        dataset = dataset.cache()
    if shuffle_buffer_size:
        dataset = dataset.shuffle(shuffle_buffer_size, seed=seed)
    dataset = dataset.batch(batch_size).map(lambda batch: (batch[:, :-1], batch[:, 1:]))
    return dataset.prefetch(1)
