"""Exercise 9: classify QuickDraw sketches, from the TFRecord files of TensorFlow's drawing tutorial.

The data (not shipped, not downloaded by the package): TensorFlow's "Recurrent Neural
Networks for Drawing Classification" tutorial set, one archive of about 1 GB (the size the
book gives; we have not downloaded it to check it), 345 classes, 10 training shards
(10,000 sketches a class) and 10 evaluation shards (1,000 a class)::

    curl -LO http://download.tensorflow.org/data/quickdraw_tutorial_dataset_v1.tar.gz
    mkdir -p quickdraw && tar xzf quickdraw_tutorial_dataset_v1.tar.gz -C quickdraw
    export RIDERSHIP_QUICKDRAW=$PWD/quickdraw

The folder then holds ``training.tfrecord-0000k-of-00010``, ``eval.tfrecord-...`` and the
class names, one a line, in ``training.tfrecord.classes`` and ``eval.tfrecord.classes``.
No checksum is published for that archive, so none is checked.

Each record is a ``tf.train.Example`` with three features:

- ``ink``: float list, ``length * 3`` values: per point ``(dx, dy, end)``, the move from the
  previous point (the sketch scaled into a unit box first) and 1 where a stroke ends;
- ``shape``: int64 list ``[length, 3]``;
- ``class_index``: int64, the class's line in the ``.classes`` file.

:func:`sketch_dataset` reads them with ``tf.data`` (a data path, as in the chapter); the
model, :func:`sketch_classifier`, uses ``keras`` only. :func:`write_synthetic_quickdraw` writes
a small folder in the same format (polygons, one class per number of sides), so the loader
and the model can be run and tested without the download.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import NamedTuple, Sequence

import keras
import numpy as np
from keras import layers
from matplotlib.figure import Figure

from ..errors import RidershipError
from ..settings import FIRST_SEED, cap_epochs

URL = "http://download.tensorflow.org/data/quickdraw_tutorial_dataset_v1.tar.gz"
ENV = "RIDERSHIP_QUICKDRAW"
SPLITS = ("training", "eval")
#: Sketches are cropped to this many points: the longest ones are rare, and a fixed length
#: gives every batch the same shape, so the model is compiled once (not once per length).
MAX_LENGTH = 100
N_CLASSES = 345


# --- the model ----------------------------------------------------------------------------


def sketch_classifier(n_classes: int = N_CLASSES, filters: Sequence[int] = (32, 64, 128),
                      kernel_sizes: Sequence[int] = (5, 5, 3), units: int = 128,
                      max_length: int | None = None) -> keras.Model:
    """Sketches ``(batch, points, 3)`` to class probabilities ``(batch, n_classes)``.

    Strided ``Conv1D`` layers (stride 2, ReLU), each followed by ``BatchNormalization``,
    shorten the sequence and find local stroke shapes; two ``LSTM`` layers read what is left
    in order; a softmax gives the classes.

    Args:
        n_classes: number of classes (345 for the tutorial set).
        filters, kernel_sizes: one per convolution.
        units: each LSTM's size.
        max_length: the points per sketch, or None for any length (at least the
            convolutions' reach).

    Example:

    >>> model = sketch_classifier(10)
    >>> tuple(model(np.zeros((4, 100, 3))).shape)
    (4, 10)
    """
    if not isinstance(n_classes, int) or n_classes < 2:
        raise RidershipError(f"n_classes must be a whole number >= 2; got {n_classes!r}.")
    filters, kernel_sizes = list(filters), list(kernel_sizes)
    if not filters or len(filters) != len(kernel_sizes):
        raise RidershipError(f"Give one kernel size per convolution: {len(filters)} filters, "
                             f"{len(kernel_sizes)} kernel sizes.")
    if min(filters) < 1 or min(kernel_sizes) < 1 or not isinstance(units, int) or units < 1:
        raise RidershipError("filters, kernel_sizes and units must all be positive whole numbers.")
    needed = shortest_sketch(kernel_sizes)
    if max_length is not None and max_length < needed:
        raise RidershipError(f"max_length={max_length} is shorter than the {needed} points these convolutions need.")
    inputs = keras.Input((max_length, 3))
    z = inputs
    for n, size in zip(filters, kernel_sizes):
        z = layers.Conv1D(n, size, strides=2, activation="relu")(z)
        z = layers.BatchNormalization()(z)
    z = layers.LSTM(units, return_sequences=True)(z)
    z = layers.LSTM(units)(z)
    outputs = layers.Dense(n_classes, activation="softmax")(z)
    return keras.Model(inputs, outputs, name="sketch_classifier")


def shortest_sketch(kernel_sizes: Sequence[int]) -> int:
    """The fewest points the strided convolutions can take and still leave one step."""
    length = 1
    for size in reversed(list(kernel_sizes)):
        length = (length - 1) * 2 + size
    return length


# --- the files ----------------------------------------------------------------------------


def quickdraw_folder(folder: str | os.PathLike | None = None) -> Path:
    """The folder holding the extracted tutorial set: ``folder``, else ``$RIDERSHIP_QUICKDRAW``."""
    given = folder if folder is not None else os.environ.get(ENV)
    if not given:
        raise RidershipError(f"No QuickDraw folder given: download {URL} (about 1 GB), extract it, and pass "
                             f"its folder or set {ENV}=/path/to/folder.")
    path = Path(given).expanduser()
    if not path.is_dir():
        raise RidershipError(f"QuickDraw folder not found: {path}. Extract {URL} there, or fix the path.")
    return path


def quickdraw_files(folder: str | os.PathLike | None = None, split: str = "training") -> tuple[list[str], list[str]]:
    """The shards of one split, sorted, and the class names: ``(paths, class_names)``.

    Looks in ``folder`` (else ``$RIDERSHIP_QUICKDRAW``) and in its sub-folders one level down,
    where some ways of extracting the archive put the files.
    """
    if split not in SPLITS:
        raise RidershipError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
    root = quickdraw_folder(folder)
    for where in (root, *sorted(p for p in root.iterdir() if p.is_dir())):
        shards = sorted(str(p) for p in where.glob(f"{split}.tfrecord-*"))
        if shards:
            classes = where / f"{split}.tfrecord.classes"
            if not classes.is_file():
                raise RidershipError(f"{where} has {split} shards but no {classes.name}: extract the whole archive.")
            return shards, read_class_names(classes)
    raise RidershipError(f"No {split}.tfrecord-* files in {root}: extract {URL} there.")


def read_class_names(path: str | os.PathLike) -> list[str]:
    """The class names, one a line, in class-index order."""
    names = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    names = [name for name in names if name]
    if len(names) < 2:
        raise RidershipError(f"{path} lists {len(names)} class name(s); a classifier needs at least 2.")
    return names


# --- reading: tf.data ---------------------------------------------------------------------


def parse_sketch(serialized):
    """One serialized record to ``(ink (length, 3) float32, class_index int64 scalar)``."""
    import tensorflow as tf

    spec = {
        "ink": tf.io.VarLenFeature(tf.float32),
        "shape": tf.io.FixedLenFeature([2], tf.int64),
        "class_index": tf.io.FixedLenFeature([1], tf.int64),
    }
    example = tf.io.parse_single_example(serialized, spec)
    ink = tf.reshape(tf.sparse.to_dense(example["ink"]), example["shape"])
    return ink, example["class_index"][0]


def sketch_dataset(filepaths: Sequence[str | os.PathLike], batch_size: int = 32, max_length: int = MAX_LENGTH,
                   shuffle_buffer: int = 0, seed: int | None = None, repeat: bool = False):
    """A ``tf.data`` dataset of ``(inks (batch, max_length, 3), labels (batch,))`` from TFRecord shards.

    Each sketch is cut to its first ``max_length`` points and padded with zeros (no move, no
    stroke end) to exactly ``max_length``, so every batch has the same shape.

    Args:
        filepaths: the shards (:func:`quickdraw_files`).
        batch_size: sketches per batch; the last batch may be smaller.
        max_length: points kept per sketch.
        shuffle_buffer: shuffle through a buffer of this many sketches (0: keep the files' order).
        seed: the shuffle's seed.
        repeat: loop over the files forever (then give ``fit`` a ``steps_per_epoch``).
    """
    import tensorflow as tf

    paths = [str(p) for p in filepaths]
    if not paths:
        raise RidershipError("No TFRecord files given: see quickdraw_files(), or write_synthetic_quickdraw() to try.")
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise RidershipError(f"{len(missing)} TFRecord file(s) not found, e.g. {missing[0]}.")
    for name, value in (("batch_size", batch_size), ("max_length", max_length)):
        if not isinstance(value, int) or value < 1:
            raise RidershipError(f"{name} must be a whole number >= 1; got {value!r}.")
    ds = tf.data.TFRecordDataset(paths, num_parallel_reads=min(len(paths), 4))
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed)
    if repeat:
        ds = ds.repeat()
    ds = ds.map(parse_sketch, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda ink, label: (ink[:max_length], label))
    ds = ds.padded_batch(batch_size, padded_shapes=([max_length, 3], []))
    return ds.prefetch(tf.data.AUTOTUNE)


# --- synthetic records in the same format -------------------------------------------------


def polygon_sketch(n_sides: int, n_points: int, rng: np.random.Generator) -> np.ndarray:
    """A hand-drawn-looking polygon in the tutorial's ink format: ``(n_points - 1, 3)`` float32.

    The outline is drawn in two strokes, each point jittered, the whole scaled into a unit
    box; then, as the tutorial's files store it, each point becomes the move from the previous
    one (the first point is dropped) with 1 in the third column where a stroke ends.
    """
    if n_sides < 3 or n_points < 4:
        raise RidershipError(f"A polygon sketch needs at least 3 sides and 4 points; got {n_sides}, {n_points}.")
    corners = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n_sides + 1) / n_sides
    corners = np.stack([np.cos(corners), np.sin(corners)], axis=1) * rng.uniform(0.8, 1.2, size=(n_sides + 1, 1))
    corners[-1] = corners[0]  # closed outline
    along = np.sort(rng.uniform(0, n_sides, size=n_points))
    along[0], along[-1] = 0.0, float(n_sides)
    edge = np.minimum(along.astype(int), n_sides - 1)
    frac = (along - edge)[:, None]
    points = corners[edge] * (1 - frac) + corners[edge + 1] * frac + rng.normal(0, 0.02, size=(n_points, 2))
    ink = np.zeros((n_points, 3), dtype="float64")
    ink[:, :2] = (points - points.min(axis=0)) / np.maximum(np.ptp(points, axis=0), 1e-9)
    ink[n_points // 2 - 1, 2] = 1.0  # the first stroke ends half way round
    ink[-1, 2] = 1.0
    ink[1:, :2] = ink[1:, :2] - ink[:-1, :2]
    return ink[1:].astype("float32")


def synthetic_sketches(n_sketches: int = 64, n_classes: int = 4, min_points: int = 20, max_points: int = 160,
                       seed: int = 0) -> list[tuple[np.ndarray, int]]:
    """``n_sketches`` polygon sketches ``(ink, class_index)``: class ``k`` has ``k + 3`` sides.

    Lengths are drawn between ``min_points`` and ``max_points`` so that some are longer than
    :data:`MAX_LENGTH` and get cropped by the loader.
    """
    for name, value in (("n_sketches", n_sketches), ("n_classes", n_classes)):
        if not isinstance(value, int) or value < 1:
            raise RidershipError(f"{name} must be a whole number >= 1; got {value!r}.")
    if not 4 <= min_points <= max_points:
        raise RidershipError(f"Need 4 <= min_points <= max_points; got {min_points}, {max_points}.")
    rng = np.random.default_rng(seed)
    labels = np.arange(n_sketches) % n_classes
    rng.shuffle(labels)
    return [(polygon_sketch(int(k) + 3, int(rng.integers(min_points, max_points + 1)), rng), int(k)) for k in labels]


def write_sketch_records(path: str | os.PathLike, sketches: Sequence[tuple[np.ndarray, int]]) -> Path:
    """Write ``(ink, class_index)`` pairs to one TFRecord file in the tutorial's format."""
    import tensorflow as tf

    from ..engine.storage import atomic_path

    with atomic_path(path) as tmp, tf.io.TFRecordWriter(str(tmp)) as writer:
        for ink, label in sketches:
            ink = np.asarray(ink, dtype="float32")
            if ink.ndim != 2 or ink.shape[1] != 3:
                raise RidershipError(f"Each ink must have shape (length, 3); got {ink.shape}.")
            features = {
                "ink": tf.train.Feature(float_list=tf.train.FloatList(value=ink.ravel())),
                "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=list(ink.shape))),
                "class_index": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
            }
            writer.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())
    return Path(path)


def write_synthetic_quickdraw(folder: str | os.PathLike, n_sketches: int = 64, n_classes: int = 4, shards: int = 2,
                              split: str = "training", seed: int = 0, **kwargs) -> list[Path]:
    """A small folder laid out like the tutorial set: ``{split}.tfrecord-0000k-of-0000n`` and the classes file.

    The sketches are :func:`synthetic_sketches` (``kwargs`` go there), dealt round the shards;
    the class names are ``"3 sides"``, ``"4 sides"``, ... Returns the shard paths.
    """
    if split not in SPLITS:
        raise RidershipError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
    if not isinstance(shards, int) or not 1 <= shards <= max(n_sketches, 1):
        raise RidershipError(f"shards must be between 1 and n_sketches={n_sketches}; got {shards!r}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sketches = synthetic_sketches(n_sketches, n_classes, seed=seed, **kwargs)
    paths = [write_sketch_records(folder / f"{split}.tfrecord-{k:05d}-of-{shards:05d}", sketches[k::shards])
             for k in range(shards)]
    from ..engine.storage import write_text

    write_text(folder / f"{split}.tfrecord.classes", "".join(f"{k + 3} sides\n" for k in range(n_classes)))
    return paths


# --- training and looking -----------------------------------------------------------------


class SketchFit(NamedTuple):
    """A trained sketch classifier, its Keras History and the class names."""

    model: keras.Model
    history: keras.callbacks.History
    class_names: list[str]


def fit_sketch_classifier(folder: str | os.PathLike | None = None, epochs: int = 5, batch_size: int = 32,
                          max_length: int = MAX_LENGTH, learning_rate: float = 1e-3,
                          steps_per_epoch: int | None = None, validation_steps: int | None = None,
                          shuffle_buffer: int = 10_000, seed: int = FIRST_SEED, verbose: int | str = "auto",
                          **model_kwargs) -> SketchFit:
    """Train :func:`sketch_classifier` on a folder's ``training`` shards, validating on its ``eval`` shards.

    Adam, sparse categorical cross-entropy, accuracy and top-5 accuracy. On the real set one
    epoch is about 108,000 batches of 32: pass ``steps_per_epoch`` (the training set then
    repeats) to see progress sooner. In quick mode (``RIDERSHIP_QUICK=1``) at most
    ``QUICK_EPOCHS`` epochs are trained. ``model_kwargs`` go to :func:`sketch_classifier`.
    """
    train_files, classes = quickdraw_files(folder, "training")
    eval_files, eval_classes = quickdraw_files(folder, "eval")
    if eval_classes != classes:
        raise RidershipError("The training and eval class files differ: extract both from the same archive.")
    epochs = cap_epochs(epochs)
    keras.utils.set_random_seed(seed)
    train = sketch_dataset(train_files, batch_size, max_length, shuffle_buffer=shuffle_buffer, seed=seed,
                           repeat=steps_per_epoch is not None)
    valid = sketch_dataset(eval_files, batch_size, max_length)
    model = sketch_classifier(len(classes), max_length=max_length, **model_kwargs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")])
    with warnings.catch_warnings():
        # A TFRecord dataset does not know its length, so Keras learns it by running out of data at
        # the end of the first epoch and says so; that is how these files are meant to end.
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        history = model.fit(train, validation_data=valid, epochs=epochs, steps_per_epoch=steps_per_epoch,
                            validation_steps=validation_steps, shuffle=False, verbose=verbose)
    return SketchFit(model, history, classes)


def sketch_figure(inks, labels, class_names: Sequence[str] | None = None, columns: int = 4) -> Figure:
    """Draw sketches from their ink (moves and stroke ends), one panel each, titled by class."""
    inks = [np.asarray(ink, dtype="float64") for ink in inks]
    if not inks:
        raise RidershipError("No sketches to draw.")
    rows = -(-len(inks) // columns)
    fig = Figure(figsize=(2.2 * min(columns, len(inks)), 2.3 * rows))
    axes = np.atleast_1d(fig.subplots(rows, min(columns, len(inks)), squeeze=False)).ravel()
    for ax, ink, label in zip(axes, inks, labels):
        ink = ink[np.abs(ink).sum(axis=1) > 0]  # padding: no move, no stroke end
        points = np.cumsum(ink[:, :2], axis=0)
        ends = np.flatnonzero(ink[:, 2] > 0.5) + 1
        for stroke in np.split(points, ends):
            if len(stroke):
                ax.plot(stroke[:, 0], -stroke[:, 1], lw=1.5)
        name = class_names[int(label)] if class_names is not None else str(int(label))
        ax.set_title(name, fontsize=9)
    for ax in axes:
        ax.set_axis_off()
        ax.set_aspect("equal")
    return fig
