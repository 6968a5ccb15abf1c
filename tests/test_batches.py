"""BufferShuffled serves NumPy windows in the order of the chapter's tf.data shuffle buffer."""

import numpy as np
import pytest

import ridership
from ridership.batches import BufferShuffled, buffer_shuffle_order
from ridership.experiments import EXPERIMENTS
from ridership.models import MODELS


def displacement(order: np.ndarray) -> np.ndarray:
    """How many places later (positive) or earlier each item comes out than it went in."""
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    return position - np.arange(len(order))


@pytest.mark.parametrize("n, size", [(1000, 256), (300, 1), (50, 256), (257, 256)])
def test_order_is_a_permutation_no_item_jumps_the_buffer(n, size):
    order = buffer_shuffle_order(n, size, np.random.default_rng(0))
    assert sorted(order) == list(range(n))
    # an item is read into the buffer only when an earlier one leaves: it cannot come out
    # more than size - 1 places early
    assert displacement(order).min() >= -(size - 1)
    if size == 1:
        assert list(order) == list(range(n))


def test_order_has_the_distribution_of_tf_data_shuffle():
    """Same mean and spread of displacement as tf.data's shuffle(256) over 1,000 items."""
    import tensorflow as tf

    n, size, epochs = 1000, 256, 40
    rng = np.random.default_rng(1)
    ours = np.stack([displacement(buffer_shuffle_order(n, size, rng)) for _ in range(epochs)])
    ds = tf.data.Dataset.range(n).shuffle(size, seed=1)
    theirs = np.stack([displacement(np.fromiter(ds.as_numpy_iterator(), dtype=np.int64)) for _ in range(epochs)])
    full = np.stack([displacement(np.random.default_rng(s).permutation(n)) for s in range(epochs)])
    for stat in (lambda d: np.abs(d).mean(), lambda d: d.std(), lambda d: np.abs(d[:, :100]).mean()):
        assert stat(ours) == pytest.approx(stat(theirs), rel=0.06)
        assert abs(stat(full) - stat(theirs)) > 0.3 * stat(theirs)  # a full shuffle is told apart


def test_batches_cover_every_window_once_per_epoch_and_reshuffle():
    X = np.arange(100, dtype="float32")[:, None, None].repeat(3, axis=1)
    Y = np.arange(100, dtype="float32")[:, None] * 10
    batches = BufferShuffled(X, Y, batch_size=32, seed=5)
    assert len(batches) == 4 and batches.buffer_size == 256

    def epoch():
        pairs = [batches[i] for i in range(len(batches))]
        assert [len(x) for x, _ in pairs] == [32, 32, 32, 4]
        seen = np.concatenate([x[:, 0, 0] for x, _ in pairs])
        np.testing.assert_array_equal(np.concatenate([y[:, 0] for _, y in pairs]), seen * 10)  # pairs kept together
        batches.on_epoch_end()
        return seen

    first, second = epoch(), epoch()
    assert sorted(first) == sorted(second) == list(range(100))
    assert not np.array_equal(first, second)
    again = BufferShuffled(X, Y, batch_size=32, seed=5)
    np.testing.assert_array_equal(np.concatenate([again[i][0][:, 0, 0] for i in range(4)]), first)  # same seed


def test_bad_inputs_are_named():
    with pytest.raises(ridership.RidershipError, match="different numbers of windows"):
        BufferShuffled(np.zeros((3, 2, 1)), np.zeros((4, 1)))
    with pytest.raises(ridership.RidershipError, match="no windows"):
        BufferShuffled(np.zeros((0, 2, 1)), np.zeros((0, 1)))
    with pytest.raises(ridership.RidershipError, match="buffer_size"):
        buffer_shuffle_order(10, 0, np.random.default_rng())


def test_the_chapters_tf_data_experiments_use_the_buffer():
    """The chapter cuts the sequence-to-sequence kinds with tf.data (a 256-window buffer), the others with
    ``timeseries_dataset_from_array`` (a full shuffle): each experiment's record orders its windows so."""
    for e in EXPERIMENTS.values():
        assert (e.shuffle == "buffer") == (e.data in ("seq2seq", "longer", "downsampled")), e.name
        assert e.shuffle in (True, "buffer")


def test_fit_with_buffer_is_seeded_and_differs_from_a_full_shuffle(df):
    from ridership.datasets import make_data

    data = make_data("seq2seq", df)
    train = tuple(a[:320] for a in data["train"])

    def mae(shuffle, seed=3):
        return ridership.fit_and_evaluate(MODELS["seq2seq"], train, data["valid"], 0.1, epochs=2, patience=None,
                                          seed=seed, shuffle=shuffle).mae

    buffered = mae("buffer")
    assert buffered == mae("buffer")  # the same seed gives the same MAE
    assert buffered != mae(True)
    with pytest.raises(ridership.RidershipError, match="shuffle must be True, False or 'buffer'"):
        mae("window")


def test_fit_sees_the_buffered_batches_in_their_order(df, monkeypatch):
    """Keras permutes a PyDataset's batches under fit(shuffle=True); the buffer order must reach the model intact."""
    from ridership.datasets import make_data

    data = make_data("seq2seq", df)
    train = tuple(a[:320] for a in data["train"])
    served, getitem = [], BufferShuffled.__getitem__

    def record(self, index):
        served.append(index)
        return getitem(self, index)

    monkeypatch.setattr(BufferShuffled, "__getitem__", record)
    ridership.fit_and_evaluate(MODELS["seq2seq"], train, data["valid"], 0.1, epochs=2, patience=None, shuffle="buffer")
    # 320 windows: batches 0 to 9, in order, each epoch (Keras may peek at the first ones before training)
    assert served[-20:] == list(range(10)) * 2
