"""Classifying videos (exercise 8): a small CNN reads each frame, a recurrent layer reads the frames in order.

The per-frame CNN is one ``keras.Model`` wrapped in ``TimeDistributed``, so every frame goes
through the same weights and the clip becomes a sequence of frame vectors; the recurrent
layer turns that sequence into one vector, and a softmax picks the class.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

from ..errors import RidershipError

RECURRENT = {"gru": layers.GRU, "lstm": layers.LSTM, "simple_rnn": layers.SimpleRNN}


def frame_encoder(frame_shape: Sequence[int] = (64, 64, 3), filters: Sequence[int] = (16, 32, 64)) -> keras.Model:
    """A small CNN from one frame ``(height, width, channels)`` to a vector of ``filters[-1]`` values.

    Each block is a 3x3 ``Conv2D`` (ReLU) and a 2x2 max pooling; global average pooling ends it.
    """
    frame_shape = _frame_shape(frame_shape)
    filters = [int(f) for f in filters]
    if not filters or min(filters) < 1:
        raise RidershipError(f"filters must list at least one positive number of filters; got {filters!r}.")
    side = min(frame_shape[:2])
    if side < 2 ** (len(filters) - 1):
        raise RidershipError(f"Frames of {frame_shape[0]}x{frame_shape[1]} pixels are too small for "
                             f"{len(filters)} pooling blocks; use larger frames or fewer filters.")
    inputs = keras.Input(frame_shape)
    z = inputs
    for i, n in enumerate(filters):
        z = layers.Conv2D(n, 3, padding="same", activation="relu")(z)
        if i < len(filters) - 1:
            z = layers.MaxPooling2D(2)(z)
    return keras.Model(inputs, layers.GlobalAveragePooling2D()(z), name="frame_encoder")


def video_classifier(n_classes: int, frame_shape: Sequence[int] = (64, 64, 3), n_frames: int | None = None,
                     filters: Sequence[int] = (16, 32, 64), units: int = 64, recurrent: str = "gru") -> keras.Model:
    """Clips ``(batch, frames, height, width, channels)`` to class probabilities ``(batch, n_classes)``.

    Args:
        n_classes: how many kinds of video.
        frame_shape: ``(height, width, channels)`` of every frame.
        n_frames: frames per clip, or None for clips of any length.
        filters: the per-frame CNN's filters, block by block (see :func:`frame_encoder`).
        units: the recurrent layer's size.
        recurrent: ``"gru"``, ``"lstm"`` or ``"simple_rnn"``.

    Example:

    >>> model = video_classifier(5, frame_shape=(32, 32, 3))
    >>> tuple(model(np.zeros((2, 8, 32, 32, 3))).shape)
    (2, 5)
    """
    if not isinstance(n_classes, int) or n_classes < 2:
        raise RidershipError(f"n_classes must be a whole number >= 2; got {n_classes!r}.")
    if n_frames is not None and (not isinstance(n_frames, int) or n_frames < 1):
        raise RidershipError(f"n_frames must be None or a whole number >= 1; got {n_frames!r}.")
    if recurrent not in RECURRENT:
        raise RidershipError(f"Unknown recurrent layer {recurrent!r}; choose one of {', '.join(RECURRENT)}.")
    if not isinstance(units, int) or units < 1:
        raise RidershipError(f"units must be a whole number >= 1; got {units!r}.")
    encoder = frame_encoder(frame_shape, filters)
    clips = keras.Input((n_frames, *encoder.input_shape[1:]))
    frames = layers.TimeDistributed(encoder, name="every_frame")(clips)  # (batch, frames, filters[-1])
    summary = RECURRENT[recurrent](units, name=recurrent)(frames)
    outputs = layers.Dense(n_classes, activation="softmax", name="classes")(summary)
    return keras.Model(clips, outputs, name="video_classifier")


def _frame_shape(frame_shape) -> tuple[int, int, int]:
    shape = tuple(frame_shape)
    if len(shape) != 3 or not all(isinstance(n, int) and n >= 1 for n in shape):
        raise RidershipError(f"frame_shape must be (height, width, channels), three positive whole numbers; "
                             f"got {frame_shape!r}.")
    return shape
