"""The chapter's exercises in code: cells by hand, gradients through time, the shapes of RNNs,
forecasts several days ahead, the video and sketch classifiers and the QuickDraw loader.

The loader is tested on TFRecords written here in the tutorial set's format; nothing is downloaded.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from ridership.exercises.cells import gru_step, lstm_cell_diagram, lstm_gates, lstm_step, unroll
from ridership.data import period
from ridership.errors import RidershipError
from ridership.exercises.gradients import (input_gradient_norms, input_gradients, relative_gradient_norms, rnn_probe,
                                 state_norms)
from ridership.exercises.multistep import forecast_ahead, horizon_maes, horizon_windows
from ridership.exercises.quickdraw import (fit_sketch_classifier, parse_sketch, quickdraw_files, shortest_sketch,
                                 sketch_classifier, sketch_dataset, synthetic_sketches, write_synthetic_quickdraw)
from ridership.exercises.shapes import deep_rnn, keras_error, sequence_to_sequence, sequence_to_vector, vector_to_sequence
from ridership.exercises.video import video_classifier

RNG = np.random.default_rng(7)
X_SEQ = RNG.normal(size=(3, 6, 4)).astype("float32")


def _randomised(layer):
    """The layer built on X_SEQ with every weight (biases too) drawn at random, so no term is zero."""
    layer(X_SEQ)
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    return layer


# --- exercise 6: LSTM and GRU steps by hand -------------------------------------------------


@pytest.mark.both_backends
def test_numpy_lstm_equals_keras():
    layer = _randomised(keras.layers.LSTM(5, return_sequences=True, return_state=True))
    outputs, h_last, c_last = (np.asarray(a) for a in layer(X_SEQ))
    assert np.abs(unroll(layer, X_SEQ) - outputs).max() < 1e-5
    # one step from a given state, against the layer started in that state
    h0, c0 = RNG.normal(size=(3, 5)), RNG.normal(size=(3, 5))
    h1, c1 = lstm_step(layer, X_SEQ[:, 0], h0, c0)
    _, h_keras, c_keras = layer(X_SEQ[:, :1], initial_state=[h0.astype("float32"), c0.astype("float32")])
    assert np.abs(h1 - np.asarray(h_keras)).max() < 1e-5 and np.abs(c1 - np.asarray(c_keras)).max() < 1e-5
    gates = lstm_gates(layer, X_SEQ[:, 0], h0, c0)
    assert np.allclose(gates["c"], gates["f"] * c0 + gates["i"] * gates["g"])
    assert np.allclose(gates["h"], gates["o"] * np.tanh(gates["c"]))


@pytest.mark.both_backends
@pytest.mark.parametrize("reset_after", [True, False])
def test_numpy_gru_equals_keras(reset_after):
    layer = _randomised(keras.layers.GRU(5, return_sequences=True, reset_after=reset_after))
    outputs = np.asarray(layer(X_SEQ))
    assert np.abs(unroll(layer, X_SEQ) - outputs).max() < 1e-5
    h0 = RNG.normal(size=(3, 5))
    from_keras = np.asarray(layer(X_SEQ[:, :1], initial_state=[h0.astype("float32")]))[:, 0]
    assert np.abs(gru_step(layer, X_SEQ[:, 0], h0) - from_keras).max() < 1e-5


def test_the_reset_gates_side_matters():
    """The two GRU conventions give different numbers from the same weights: the test above can tell them apart."""
    after = _randomised(keras.layers.GRU(5, return_sequences=True))
    before = keras.layers.GRU(5, return_sequences=True, reset_after=False)
    before(X_SEQ)
    kernel, recurrent, bias = after.get_weights()
    before.set_weights([kernel, recurrent, bias[0] + bias[1]])  # same weights, the biases summed
    h0 = RNG.normal(size=(3, 5))
    assert np.abs(gru_step(after, X_SEQ[:, 0], h0) - gru_step(before, X_SEQ[:, 0], h0)).max() > 1e-3


def test_cells_refuse_what_they_cannot_compute():
    with pytest.raises(RidershipError, match="no weights yet"):
        lstm_step(keras.layers.LSTM(3), np.zeros((1, 2)), np.zeros((1, 3)), np.zeros((1, 3)))
    lstm = _randomised(keras.layers.LSTM(5))
    with pytest.raises(RidershipError, match="GRU"):
        gru_step(lstm, X_SEQ[:, 0], np.zeros((3, 5)))
    with pytest.raises(RidershipError, match=r"shape \(batch, 4\)"):
        lstm_step(lstm, np.zeros((3, 7)), np.zeros((3, 5)), np.zeros((3, 5)))
    with pytest.raises(RidershipError, match="initial_state"):
        unroll(lstm, X_SEQ, initial_state=[np.zeros((3, 5))])
    relu = keras.layers.LSTM(5, activation="selu")
    relu(X_SEQ)
    with pytest.raises(RidershipError, match="selu"):
        unroll(relu, X_SEQ)


def test_lstm_diagram_is_a_figure():
    fig = lstm_cell_diagram()
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for part in ("forget", "input", "candidate", "output", "c_t", "h_{t-1}", "x_t"):
        assert part in texts


# --- exercise 5: gradients through time -----------------------------------------------------


def test_input_gradients_are_exact_on_a_linear_model():
    X = RNG.normal(size=(4, 6, 2)).astype("float32")
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.Flatten(), keras.layers.Dense(1)])
    before = [w.copy() for w in model.get_weights()]
    y = RNG.normal(size=(4, 1)).astype("float32")
    # 0.5 * sum (Xw + b - y)^2  ->  d/dX = (Xw + b - y) w
    residual = np.asarray(model(X)) - y
    expected = residual[:, :, None] * before[0][:, 0].reshape(1, 6, 2)
    assert np.allclose(input_gradients(model, X, y), expected, atol=1e-5)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights())), "weights must be restored"
    # the projection loss: d(u . y)/dX = u w for the one output, u = +1 or -1
    projected = input_gradients(model, X)
    assert np.allclose(np.abs(projected), np.abs(np.broadcast_to(before[0][:, 0].reshape(1, 6, 2), X.shape)), atol=1e-6)


def test_gradient_norms_per_step_are_finite_and_show_explosion():
    X = np.random.default_rng(0).normal(size=(8, 60, 1)).astype("float32")
    plain, normalised = rnn_probe(16, recurrent_gain=2.0), rnn_probe(16, layer_norm=True, recurrent_gain=2.0)
    # the same linear weights in both: only the normalisation differs
    assert all(np.array_equal(a, b) for a, b in zip(plain.get_weights(), normalised.get_weights()[:3]))
    for model in (plain, normalised):
        norms = input_gradient_norms(model, X)
        assert norms.shape == (60,) and np.isfinite(norms).all() and (norms > 0).all()
    table = relative_gradient_norms({"plain": plain, "layer norm": normalised, "gain 1": rnn_probe(16),
                                     "lstm": rnn_probe(16, cell="lstm")}, X)
    assert list(table.columns) == [0, 10, 20, 30, 40, 50, 59] and np.allclose(table[0], 1.0)
    assert np.isfinite(table.to_numpy()).all()
    # a stretching recurrent kernel: the gradient grows going back in time, much less with layer norm
    assert table.loc["plain", 59] > 100 and table.loc["layer norm", 59] < table.loc["plain", 59] / 10
    assert table.loc["gain 1", 59] < 1e-2  # the default orthogonal kernel: it vanishes instead


def test_state_norms_need_sequences():
    X = np.random.default_rng(0).normal(size=(4, 12, 1))
    norms = state_norms(rnn_probe(6, return_sequences=True), X)
    assert norms.shape == (12,) and np.isfinite(norms).all() and (norms <= np.sqrt(6)).all()  # tanh: |h_i| < 1
    with pytest.raises(RidershipError, match="return_sequences=True"):
        state_norms(rnn_probe(6), X)


def test_gradient_measurement_rejects_bad_input():
    model = rnn_probe(4)
    with pytest.raises(RidershipError, match=r"\(batch, time, features\)"):
        input_gradient_norms(model, np.zeros((5, 1)))
    with pytest.raises(RidershipError, match="NaN"):
        input_gradient_norms(model, np.full((2, 3, 1), np.nan))
    with pytest.raises(RidershipError, match="output shape"):
        input_gradients(model, np.zeros((2, 3, 1)), y=np.zeros((2, 9)))
    with pytest.raises(RidershipError, match="recurrent_gain"):
        rnn_probe(4, recurrent_gain=0)
    with pytest.raises(RidershipError, match="Unknown cell"):
        rnn_probe(4, cell="transformer")
    with pytest.raises(RidershipError, match="LNSimpleRNNCell"):
        rnn_probe(4, layer_norm=True, cell="lstm")
    with pytest.raises(RidershipError, match="every"):
        relative_gradient_norms({"m": model}, np.zeros((2, 3, 1)), every=0)


# --- exercises 1 to 3: shapes -----------------------------------------------------------------


def test_the_three_kinds_of_model_and_the_deep_stacks():
    X = RNG.normal(size=(2, 9, 3)).astype("float32")
    assert sequence_to_sequence()(X).shape == (2, 9, 2)
    assert sequence_to_vector()(X).shape == (2, 2)
    assert vector_to_sequence(n_steps=4)(X[:, 0]).shape == (2, 4, 2)
    assert deep_rnn([True, True, True], n_features=3)(X).shape == (2, 9, 1)
    assert deep_rnn([True, True, False], n_features=3)(X).shape == (2, 1)
    message = keras_error(deep_rnn, [True, False, True], n_features=3)
    assert message.startswith("ValueError") and "expected ndim=3, found ndim=2" in message
    assert keras_error(deep_rnn, [True, False], n_features=3) is None
    with pytest.raises(RidershipError, match="one per layer"):
        deep_rnn([])
    with pytest.raises(RidershipError, match="units"):
        sequence_to_vector(units=0)


# --- exercise 4: seven days ahead -------------------------------------------------------------


class LastValue:
    """Stands in for a trained model: tomorrow (and every later day) is today's rail ridership."""

    def __init__(self, approach):
        self.approach = approach

    def __call__(self, X, training=False):
        rail = X[:, -1, 0 if self.approach == "iterative" else 1]
        if self.approach == "iterative":
            return rail[:, None]
        if self.approach == "direct":
            return np.repeat(rail[:, None], 14, axis=1)
        return np.repeat(np.repeat(rail[:, None, None], 14, axis=2), X.shape[1], axis=1)


def test_horizon_maes_align_the_three_approaches(df):
    table = horizon_maes({a: LastValue(a) for a in ("iterative", "direct", "seq2seq")}, df, "valid", steps=7)
    assert list(table.columns) == [f"+{h}" for h in range(1, 8)]
    assert list(table.index) == ["iterative", "direct", "seq2seq"]
    # the same forecast by three routes: the same errors, and those of the naive forecast from the series itself
    rail = period(df["rail"], "valid").to_numpy()
    n = len(rail) - 56 - 7 + 1
    naive = [np.abs(rail[56 + h: 56 + h + n] - rail[55: 55 + n]).mean() for h in range(7)]
    for approach in table.index:
        assert np.allclose(table.loc[approach].to_numpy(), naive, rtol=1e-5)
    # day +7 of a last-value forecast is the same weekday: much better than day +3
    assert table.loc["direct", "+7"] < table.loc["direct", "+3"]


def test_forecast_ahead_rejects_bad_models(df):
    windows = horizon_windows(df, "valid", steps=7)
    with pytest.raises(RidershipError, match="forecasts 3 days"):
        forecast_ahead(lambda X, training=False: np.zeros((len(X), 3)), "direct", windows["multivariate"], 7)
    with pytest.raises(RidershipError, match="1 feature"):
        forecast_ahead(LastValue("iterative"), "iterative", windows["multivariate"], 7)
    with pytest.raises(RidershipError, match="Unknown approach"):
        forecast_ahead(LastValue("direct"), "sideways", windows["multivariate"], 7)
    with pytest.raises(RidershipError, match="No models"):
        horizon_maes({}, df)


# --- exercise 8: videos -----------------------------------------------------------------------


@pytest.mark.both_backends
def test_video_classifier_runs_and_round_trips(tmp_path):
    model = video_classifier(5, frame_shape=(16, 16, 3), filters=(8, 16), units=8)
    clips = np.random.default_rng(0).random((2, 6, 16, 16, 3)).astype("float32")
    probabilities = np.asarray(model(clips))
    assert probabilities.shape == (2, 5) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert model(clips[:, :3]).shape == (2, 5)  # any number of frames
    model.save(tmp_path / "video.keras")
    loaded = keras.models.load_model(tmp_path / "video.keras")
    assert np.allclose(np.asarray(loaded(clips)), probabilities, atol=1e-6)


def test_video_classifier_rejects_bad_input():
    with pytest.raises(RidershipError, match="n_classes"):
        video_classifier(1)
    with pytest.raises(RidershipError, match="frame_shape"):
        video_classifier(3, frame_shape=(32, 32))
    with pytest.raises(RidershipError, match="too small"):
        video_classifier(3, frame_shape=(4, 4, 3), filters=(8, 8, 8, 8))
    with pytest.raises(RidershipError, match="recurrent"):
        video_classifier(3, recurrent="transformer")


# --- exercise 9: QuickDraw ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def quickdraw(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quickdraw")
    write_synthetic_quickdraw(folder, n_sketches=48, n_classes=3, shards=3, seed=0)
    write_synthetic_quickdraw(folder, n_sketches=12, n_classes=3, shards=1, split="eval", seed=1)
    return folder


def test_quickdraw_files_and_records(quickdraw):
    import tensorflow as tf

    shards, classes = quickdraw_files(quickdraw, "training")
    assert [s.rsplit("/", 1)[1] for s in shards] == [f"training.tfrecord-0000{k}-of-00003" for k in range(3)]
    assert classes == ["3 sides", "4 sides", "5 sides"]
    written = synthetic_sketches(48, 3, seed=0)[1::3]  # shard 1 holds every third sketch from the second
    parsed = [(ink.numpy(), int(label)) for ink, label in tf.data.TFRecordDataset(shards[1]).map(parse_sketch)]
    assert len(parsed) == len(written)
    for (ink, label), (want, want_label) in zip(parsed, written):
        assert ink.shape == want.shape and ink.shape[1] == 3 and np.array_equal(ink, want) and label == want_label


def test_sketch_dataset_crops_pads_and_batches(quickdraw):
    shards, _ = quickdraw_files(quickdraw, "training")
    written = synthetic_sketches(48, 3, seed=0)[0::3]
    assert max(len(ink) for ink, _ in written) > 50 > min(len(ink) for ink, _ in written)  # both cases happen
    batches = list(sketch_dataset(shards[:1], batch_size=5, max_length=50))
    assert [tuple(inks.shape) for inks, _ in batches] == [(5, 50, 3), (5, 50, 3), (5, 50, 3), (1, 50, 3)]
    inks = np.concatenate([np.asarray(i) for i, _ in batches])
    labels = np.concatenate([np.asarray(y) for _, y in batches])
    assert labels.tolist() == [label for _, label in written]
    for got, (ink, _) in zip(inks, written):
        kept = min(len(ink), 50)
        assert np.array_equal(got[:kept], ink[:kept]) and not got[kept:].any()
    shuffled = np.concatenate([np.asarray(y) for _, y in sketch_dataset(shards, 8, shuffle_buffer=48, seed=1)])
    assert sorted(shuffled.tolist()) == sorted(k % 3 for k in range(48))


def test_quickdraw_files_explain_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("RIDERSHIP_QUICKDRAW", raising=False)
    with pytest.raises(RidershipError, match="RIDERSHIP_QUICKDRAW"):
        quickdraw_files()
    with pytest.raises(RidershipError, match="not found"):
        quickdraw_files(tmp_path / "nowhere")
    with pytest.raises(RidershipError, match="No eval.tfrecord"):
        quickdraw_files(tmp_path, "eval")
    with pytest.raises(RidershipError, match="Unknown split"):
        quickdraw_files(tmp_path, "test")
    with pytest.raises(RidershipError, match="No TFRecord files"):
        sketch_dataset([])
    with pytest.raises(RidershipError, match="max_length"):
        sketch_dataset([__file__], max_length=0)
    nested = tmp_path / "extracted" / "quickdraw_tutorial_dataset_v1"
    write_synthetic_quickdraw(nested, n_sketches=6, n_classes=2, shards=1)
    shards, classes = quickdraw_files(tmp_path / "extracted")  # one level down is found too
    assert len(shards) == 1 and classes == ["3 sides", "4 sides"]


@pytest.mark.both_backends
def test_sketch_classifier_runs_and_round_trips(tmp_path):
    model = sketch_classifier(6, filters=(8, 8, 8), units=8, max_length=40)
    X = np.random.default_rng(0).normal(size=(3, 40, 3)).astype("float32")
    probabilities = np.asarray(model(X))
    assert probabilities.shape == (3, 6) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    model.save(tmp_path / "sketch.keras")
    assert np.allclose(np.asarray(keras.models.load_model(tmp_path / "sketch.keras")(X)), probabilities, atol=1e-6)
    shortest = shortest_sketch((5, 5, 3))  # any length from there up
    assert sketch_classifier(6, filters=(4, 4, 4), units=4)(X[:, :shortest]).shape == (3, 6)
    with pytest.raises(RidershipError, match="shorter than"):
        sketch_classifier(6, max_length=shortest_sketch((5, 5, 3)) - 1)
    with pytest.raises(RidershipError, match="one kernel size per convolution"):
        sketch_classifier(6, filters=(8, 8), kernel_sizes=(3,))
    with pytest.raises(RidershipError, match="n_classes"):
        sketch_classifier(1)


def test_fit_sketch_classifier_trains_on_a_folder(quickdraw, monkeypatch):
    monkeypatch.delenv("RIDERSHIP_QUICK", raising=False)
    fit = fit_sketch_classifier(quickdraw, epochs=2, batch_size=16, max_length=60, filters=(8, 8, 8), units=8,
                                verbose=0)
    assert fit.class_names == ["3 sides", "4 sides", "5 sides"]
    history = pd.DataFrame(fit.history.history)
    assert len(history) == 2 and np.isfinite(history.to_numpy()).all()
    assert {"loss", "accuracy", "top5", "val_loss", "val_accuracy"} <= set(history.columns)
