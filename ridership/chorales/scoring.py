"""Scores for next-note prediction, and the baselines a model must beat, on the same windows.

Every score is over all the predictions in a split's windows: 131 per window, each the next
note of one voice. Accuracy is the share of notes whose most likely token is the true one;
cross-entropy is the mean of ``-log p(true token)`` in nats per note (natural logarithm,
probabilities clipped at 1e-7 as Keras' loss does, so it equals the loss Keras reports).
Per-voice accuracy splits the predictions by the voice of the predicted note (soprano,
alto, tenor, bass).

The baselines use the same windows and see no more than the model does (the window up to
the note), and what they learn comes from the training windows:

- ``most_frequent``: each voice's most frequent note in the training windows, always; its
  probabilities are the voice's note frequencies.
- ``repeat``: each voice repeats its note of the previous chord (for the first chord of a
  window, whose previous chord is outside it, the note just before). A hard guess, so it has
  no cross-entropy. Chorales hold notes over several sixteenths, so this scores high.
- ``transition``: the note a voice most often moved to from its previous note in the
  training windows, and those counts as probabilities (add-half smoothing).
- ``transition_beat``: the same counts kept apart for each of the four sixteenths of a
  quarter note (the chord's position in the window, modulo 4: windows start every 16
  chords, on a bar line when the chorale starts on one). Notes change mostly on beats, so
  knowing where the beat falls is worth something; the model can learn it too, by
  counting steps from the window's start.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import RidershipError
from .windows import N_TOKENS, N_VOICES

EPSILON = 1e-7  # Keras clips probabilities so before taking logs
VOICE_NAMES = ("soprano", "alto", "tenor", "bass")  # note0 .. note3
#: The exercise's published test scores (the book's notebook), for comparison only.
BOOK = {"accuracy": 0.8164, "cross_entropy": 0.6631}
BASELINE_NAMES = ("most_frequent", "repeat", "transition", "transition_beat")
BEAT = 4  # chords (sixteenths) per quarter note
SMOOTHING = 0.5


@dataclass(frozen=True)
class Scores:
    """Accuracy, cross-entropy (nats per note, None for a hard guess) and per-voice accuracy."""

    accuracy: float
    cross_entropy: float | None
    per_voice: dict  # voice name -> accuracy
    notes: int

    def as_dict(self) -> dict:
        return asdict(self)


def target_voices(length: int) -> np.ndarray:
    """The voice (0..3) of each target position of a window of ``length`` targets.

    Target ``j`` is the window's token ``j + 1``, and token ``k`` belongs to voice ``k % 4``.
    """
    return (np.arange(length) + 1) % N_VOICES


def _check(X, Y) -> tuple[np.ndarray, np.ndarray]:
    X, Y = np.asarray(X), np.asarray(Y)
    if X.ndim != 2 or X.shape != Y.shape:
        raise RidershipError(f"X and Y must be windows of tokens, two arrays of one shape (windows, steps); got "
                             f"{X.shape} and {Y.shape}.")
    if len(X) == 0:
        raise RidershipError("There are no windows to score.")
    return X, Y


def _per_voice(correct: np.ndarray) -> dict:
    voices = target_voices(correct.shape[1])
    return {name: float(correct[:, voices == v].mean()) for v, name in enumerate(VOICE_NAMES)}


def score_guesses(guesses, Y) -> Scores:
    """Scores of hard guesses (token per position, the shape of ``Y``): no cross-entropy."""
    guesses, Y = np.asarray(guesses), np.asarray(Y)
    correct = guesses == Y
    return Scores(float(correct.mean()), None, _per_voice(correct), int(Y.size))


def score_probabilities(probabilities, Y) -> Scores:
    """Scores of predicted probabilities ``(windows, steps, tokens)`` for the targets ``Y``."""
    probabilities, Y = np.asarray(probabilities), np.asarray(Y)
    if probabilities.shape[:2] != Y.shape:
        raise RidershipError(f"Probabilities of shape {probabilities.shape} do not match targets of shape {Y.shape}.")
    correct = probabilities.argmax(axis=-1) == Y
    chosen = np.take_along_axis(probabilities, Y[..., None].astype(np.int64), axis=-1)[..., 0]
    nats = float(-np.log(np.clip(chosen.astype(np.float64), EPSILON, 1.0)).mean())
    return Scores(float(correct.mean()), nats, _per_voice(correct), int(Y.size))


def score_model(model, X, Y, batch_size: int = 32) -> Scores:
    """Scores of a Keras model's predictions for the windows ``X`` against the targets ``Y``.

    The windows are padded with empty ones to whole batches (their predictions dropped), so
    every batch has one shape and the prediction is compiled once.
    """
    X, Y = _check(X, Y)
    padded = np.zeros((-(-len(X) // batch_size) * batch_size, X.shape[1]), dtype=X.dtype)
    padded[:len(X)] = X
    return score_probabilities(model.predict(padded, batch_size=batch_size, verbose=0)[:len(X)], Y)


# --- baselines ------------------------------------------------------------------------


def previous_same_voice(X) -> np.ndarray:
    """For each target position, the same voice's note in the chord before (from the input window).

    Target ``j`` is token ``j + 1``; its voice's previous note is token ``j - 3``, which is
    ``X[:, j - 3]``. For ``j < 3`` that chord is outside the window and the last input token
    ``X[:, j]`` stands in.
    """
    X = np.asarray(X)
    previous = np.empty_like(X)
    previous[:, 3:] = X[:, :-3]
    previous[:, :3] = X[:, :3]
    return previous


def _voice_counts(X, Y) -> np.ndarray:  # X unused: this baseline ignores the context
    """Counts of each target token per voice: (4, tokens)."""
    voices = np.broadcast_to(target_voices(Y.shape[1]), Y.shape)
    counts = np.zeros((N_VOICES, N_TOKENS))
    np.add.at(counts, (voices.ravel(), Y.ravel()), 1)
    return counts


def target_beats(length: int) -> np.ndarray:
    """The position (0..3) within a quarter note of the chord of each target position."""
    return ((np.arange(length) + 1) // N_VOICES) % BEAT


def _contexts(X, Y, beats: bool) -> tuple:
    """Index arrays (voice, [beat position,] previous note of the voice), each of the shape of ``Y``."""
    voices = np.broadcast_to(target_voices(Y.shape[1]), Y.shape)
    previous = previous_same_voice(X)
    if beats:
        return voices, np.broadcast_to(target_beats(Y.shape[1]), Y.shape), previous
    return voices, previous


def _transition_counts(X, Y, beats: bool) -> np.ndarray:
    """Counts of each next note per context: (4, [4,] tokens, tokens)."""
    contexts = _contexts(X, Y, beats)
    counts = np.zeros((N_VOICES, *((BEAT,) if beats else ()), N_TOKENS, N_TOKENS))
    np.add.at(counts, tuple(c.ravel() for c in contexts) + (Y.ravel(),), 1)
    return counts


def _normalise(counts: np.ndarray) -> np.ndarray:
    smoothed = counts + SMOOTHING
    return smoothed / smoothed.sum(axis=-1, keepdims=True)


def baseline_scores(train, windows) -> dict:
    """Every baseline's :class:`Scores` on ``windows``, learning from ``train`` (both ``(X, Y)`` pairs).

    Example:

    >>> from ridership.chorales import load_chorales, window_arrays
    >>> chorales = load_chorales()
    >>> table = baseline_scores(window_arrays(chorales["train"]), window_arrays(chorales["test"]))
    >>> round(table["repeat"].accuracy, 2)        # three notes in four repeat the voice's last one
    0.75
    """
    train_X, train_Y = _check(*train)
    X, Y = _check(*windows)
    voices = np.broadcast_to(target_voices(Y.shape[1]), Y.shape)
    frequencies = _normalise(_voice_counts(train_X, train_Y))  # (4, tokens)
    scores = {"most_frequent": score_probabilities(frequencies[voices], Y),
              "repeat": score_guesses(previous_same_voice(X), Y)}
    for name, beats in (("transition", False), ("transition_beat", True)):
        probabilities = _normalise(_transition_counts(train_X, train_Y, beats))
        scores[name] = score_probabilities(probabilities[_contexts(X, Y, beats)], Y)
    return scores


def comparison_table(rows: dict, book: bool = True):
    """A DataFrame of scores, one row per name (a :class:`Scores` or its ``as_dict()``), the book's last.

    Columns: accuracy, cross-entropy (nats per note; empty for hard guesses) and each voice's
    accuracy. The book's row holds only what the book published (accuracy and loss) and is
    labelled "book".
    """
    import pandas as pd

    records = []
    for s in rows.values():
        s = s.as_dict() if isinstance(s, Scores) else s
        records.append({"accuracy": s["accuracy"], "cross_entropy": s["cross_entropy"], **s["per_voice"]})
    names = list(rows)
    if book:
        records.append({"accuracy": BOOK["accuracy"], "cross_entropy": BOOK["cross_entropy"]})
        names.append("book")
    return pd.DataFrame(records, index=names).astype("float64").round(4)


__all__ = ["BASELINE_NAMES", "BOOK", "Scores", "VOICE_NAMES", "baseline_scores", "comparison_table",
           "previous_same_voice", "score_guesses", "score_model", "score_probabilities", "target_beats",
           "target_voices"]
