"""Exercise 10, the Bach chorales: the loader's checks, windows, models, scoring, generation, sound, the command.

Training here is a few batches of small models, or of the real one where its recipe is the
point: the real scores come from ``ridership chorales train`` and ``benchmarks/chorales.py``.
"""

from __future__ import annotations

import io
import json
import tarfile

import keras
import numpy as np
import pytest

from ridership import RidershipError
from ridership.chorales import data as cd
from ridership.chorales import generation, scoring, sound
from ridership.chorales import windows as W
from ridership.chorales.layers import ProjectedLSTM
from ridership.chorales.models import bach_model, build, fast_bach_model, load_bach_model
from ridership.chorales.train import split_windows


@pytest.fixture(scope="module")
def chorales(chorales_path):
    return cd.load_chorales(chorales_path)


@pytest.fixture(scope="module")
def windows(chorales):
    return split_windows(chorales)


# --- the data ------------------------------------------------------------------------------


def test_golden_counts_and_first_chords(chorales_path):
    chorales, info = cd.read_chorales(chorales_path)
    assert info.counts == {"train": 229, "valid": 76, "test": 77}
    assert info.chords == {"train": 55_228, "valid": 18_408, "test": 18_900}
    assert info.checksum_ok and info.source == "argument"
    assert chorales["test"][2][:2].tolist() == [[73, 68, 61, 53], [73, 68, 61, 53]]
    every = np.concatenate([c for split in chorales.values() for c in split])
    assert every.shape[1] == 4 and set(np.unique(every)) <= {0, *range(36, 82)}


def test_environment_variable_names_the_archive(chorales_path, monkeypatch):
    monkeypatch.setenv("RIDERSHIP_CHORALES", str(chorales_path.parent))  # a folder holding it works too
    assert cd.read_chorales()[1].source == "environment"


def _members(path):
    with tarfile.open(path, "r:gz") as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]


def _archive(tmp_path, chorales_path, change=None, drop=None):
    """A copy of the archive with one chorale's text changed by ``change``, or a split's files dropped."""
    out = tmp_path / "jsb_chorales.tgz"
    with tarfile.open(out, "w:gz") as tar:
        for member, raw in _members(chorales_path):
            if drop and f"/{drop}/" in member.name:
                continue
            if raw is not None and member.name.endswith("train/chorale_005.csv") and change:
                raw = change(raw.decode()).encode()
                member.size = len(raw)
            tar.addfile(member, io.BytesIO(raw) if raw is not None else None)
    return out


def _line(text: str, number: int, new: str) -> str:
    lines = text.splitlines()
    lines[number - 1] = new
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("change, message", [
    (lambda t: _line(t, 4, "74,70,65,90"), r"chorale_005.csv, line 4: note 90 is outside 36..81"),
    (lambda t: _line(t, 3, "74,7x,65,58"), r"chorale_005.csv, line 3: '7x' is not a whole number"),
    (lambda t: _line(t, 6, "74,70,65"), r"chorale_005.csv, line 6: '74,70,65' has 3 value\(s\), not one per voice"),
    (lambda t: "soprano,alto,tenor,bass\n" + t.split("\n", 1)[1], r"line 1 must be the header note0,note1"),
])
def test_bad_chorale_is_named_with_line_and_value(tmp_path, chorales_path, change, message):
    with pytest.raises(RidershipError, match=message):
        cd.load_chorales(_archive(tmp_path, chorales_path, change=change))


def test_missing_split(tmp_path, chorales_path):
    with pytest.raises(RidershipError, match=r"no chorales for the split\(s\) valid"):
        cd.load_chorales(_archive(tmp_path, chorales_path, drop="valid"))


def test_damaged_archives(tmp_path, chorales_path):
    text = tmp_path / "text.tgz"
    text.write_text("note0,note1,note2,note3\n60,62,64,65\n")
    with pytest.raises(RidershipError, match="not a gzip-compressed tar archive.*RIDERSHIP_CHORALES"):
        cd.load_chorales(text)
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(chorales_path.read_bytes()[:60_000])
    with pytest.raises(RidershipError, match="truncated"):
        cd.load_chorales(cut)
    with pytest.raises(RidershipError, match="No file at"):
        cd.load_chorales(tmp_path / "nowhere.tgz")


def test_download_is_checked_and_cached(tmp_path, chorales_path, monkeypatch):
    monkeypatch.delenv("RIDERSHIP_CHORALES", raising=False)
    cache = tmp_path / "cache"
    assert cd.read_chorales(cache=cache, url=chorales_path.as_uri())[1].source == "download"
    assert cd.read_chorales(cache=cache, url="file:///nowhere")[1].source == "cache"
    bogus = tmp_path / "bogus.tgz"
    bogus.write_bytes(b"not the chorales")
    with pytest.raises(RidershipError, match="sha256"):
        cd.read_chorales(cache=tmp_path / "other", url=bogus.as_uri())


# --- tokens and windows ---------------------------------------------------------------------


def test_tokens_round_trip_and_range():
    notes = np.array([[0, 36, 81, 60]])
    assert W.to_tokens(notes).tolist() == [[0, 1, 46, 25]]
    assert (W.to_notes(W.to_tokens(notes)) == notes).all() and W.N_TOKENS == 47
    with pytest.raises(RidershipError, match="35"):
        W.to_tokens([[35, 60, 60, 60]])


def test_windows_shapes_and_targets(windows):
    X, Y = windows["train"]
    assert X.shape == Y.shape == (3111, 131) and X.dtype == np.int32
    assert (X[:, 1:] == Y[:, :-1]).all()  # the target is the input one note later
    assert [len(windows[s][0]) for s in ("valid", "test")] == [1039, 1067]


@pytest.mark.parametrize("window, shift", [(32, 16), (5, 3), (8, 8)])
def test_numpy_windows_equal_the_tf_data_ones(chorales, window, shift):
    rng = np.random.default_rng(window)
    sample = [chorales["valid"][i] for i in rng.choice(len(chorales["valid"]), 12, replace=False)]
    fast = W.window_arrays(sample, window, shift)
    taught = W.dataset_arrays(W.bach_dataset(sample, batch_size=7, window=window, shift=shift))
    for a, b in zip(fast, taught):
        np.testing.assert_array_equal(a, b)


def test_whole_split_windows_equal_and_bad_parameters(chorales):
    fast = W.window_arrays(chorales["test"])
    taught = W.dataset_arrays(W.bach_dataset(chorales["test"]))
    np.testing.assert_array_equal(fast[0], taught[0])
    np.testing.assert_array_equal(fast[1], taught[1])
    with pytest.raises(RidershipError, match="shift"):
        W.window_arrays(chorales["test"], shift=0)
    with pytest.raises(RidershipError, match="no windows"):
        W.window_arrays([np.full((10, 4), 60)], window=32)


# --- scoring and baselines ------------------------------------------------------------------


def test_scores_on_a_toy_example():
    Y = np.array([[1, 2, 3, 4, 5, 6, 7]])  # targets' voices: 1, 2, 3, 0, 1, 2, 3
    probabilities = np.full((1, 7, W.N_TOKENS), 1e-3)
    probabilities[0, np.arange(7), [1, 2, 3, 4, 0, 0, 0]] = 0.9  # the first four right
    s = scoring.score_probabilities(probabilities, Y)
    assert s.accuracy == pytest.approx(4 / 7)
    assert s.cross_entropy == pytest.approx(-(4 * np.log(0.9) + 3 * np.log(1e-3)) / 7)
    assert s.per_voice == {"soprano": 1.0, "alto": 0.5, "tenor": 0.5, "bass": 0.5}
    assert scoring.score_guesses(Y, Y).cross_entropy is None


def test_previous_same_voice_reads_the_chord_before():
    X = np.arange(10)[None]  # token k at position k
    assert scoring.previous_same_voice(X)[0].tolist() == [0, 1, 2, 0, 1, 2, 3, 4, 5, 6]


def test_baselines_on_the_test_windows(windows):
    table = scoring.baseline_scores(windows["train"], windows["test"])
    assert list(table) == list(scoring.BASELINE_NAMES)
    assert table["repeat"].accuracy == pytest.approx(0.7481, abs=5e-4)  # "about 0.75", as the issue says
    assert table["most_frequent"].accuracy < 0.2
    assert table["repeat"].accuracy <= table["transition"].accuracy < table["transition_beat"].accuracy
    assert table["transition_beat"].cross_entropy < table["transition"].cross_entropy < 1.2


# --- models ---------------------------------------------------------------------------------


def test_the_exercises_model_and_its_shapes():
    model = bach_model()
    kinds = [layer.__class__.__name__ for layer in model.layers[1:]]
    assert kinds == ["Embedding"] + ["Conv1D", "BatchNormalization"] * 4 + ["LSTM", "Dense"]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)]
    assert [c.dilation_rate[0] for c in convs] == [1, 2, 4, 8] and [c.filters for c in convs] == [32, 48, 64, 96]
    assert all(c.padding == "causal" for c in convs)
    assert tuple(model.output.shape) == (None, None, 47)
    assert model.layers[-2].units == 256 and model.layers[1].output_dim == 5


@pytest.mark.both_backends
def test_projected_lstm_is_keras_lstm():
    """Same outputs and, through its hand-written backward pass, the same gradients as keras.layers.LSTM."""
    x = np.random.default_rng(0).normal(size=(3, 9, 6)).astype("float32")
    target = np.random.default_rng(1).normal(size=(3, 9, 8)).astype("float32")
    keras.utils.set_random_seed(3)
    models = {}
    for name, layer in (("keras", keras.layers.LSTM(8, return_sequences=True)), ("ours", ProjectedLSTM(8))):
        inputs = keras.Input((None, 6))
        models[name] = keras.Model(inputs, layer(inputs))
    start = models["keras"].get_weights()
    models["ours"].set_weights(start)  # same names, shapes and order: the weights move as they are
    assert [w.path.split("/")[-1] for w in models["ours"].weights] == ["kernel", "recurrent_kernel", "bias"]
    expected = np.asarray(models["keras"](x))
    np.testing.assert_allclose(np.asarray(models["ours"](x)), expected, atol=1e-6)
    np.testing.assert_allclose(np.asarray(models["ours"](x, training=True)), expected, atol=1e-6)
    steps = {}
    for name, model in models.items():
        model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
        model.train_on_batch(x, target)  # one step of rate 1: the weights move by minus the gradient
        steps[name] = [a - b for a, b in zip(start, model.get_weights())]
    for keras_grad, our_grad in zip(steps["keras"], steps["ours"]):
        assert np.abs(keras_grad).max() > 1e-4
        np.testing.assert_allclose(our_grad, keras_grad, atol=1e-5)


@pytest.mark.both_backends
@pytest.mark.parametrize("name", ["exercise", "fast"])
def test_keras_round_trip(name, tmp_path):
    keras.utils.set_random_seed(7)
    model = build(name)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    again = load_bach_model(path)
    X = np.random.default_rng(0).integers(0, 47, (2, 12)).astype("int32")
    np.testing.assert_array_equal(np.asarray(again.predict_on_batch(X)), np.asarray(model.predict_on_batch(X)))
    assert [w.shape for w in again.get_weights()] == [w.shape for w in model.get_weights()]
    assert [layer.__class__ for layer in again.layers] == [layer.__class__ for layer in model.layers]


def test_same_seed_same_start_for_both_builders():
    small = {"filters": (4, 4, 4, 4), "units": 8}
    keras.utils.set_random_seed(11)
    exercise = bach_model(**small)
    keras.utils.set_random_seed(11)
    fast = fast_bach_model(**small)
    for a, b in zip(exercise.get_weights(), fast.get_weights()):
        np.testing.assert_array_equal(a, b)
    X = np.random.default_rng(1).integers(0, 47, (2, 30)).astype("int32")
    np.testing.assert_allclose(np.asarray(fast.predict_on_batch(X)), np.asarray(exercise.predict_on_batch(X)),
                               atol=1e-6)


def test_load_errors_are_one_line(tmp_path):
    with pytest.raises(RidershipError, match="No model file"):
        load_bach_model(tmp_path / "none.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(RidershipError, match="Cannot read the model"):
        load_bach_model(bad)


# --- generation -----------------------------------------------------------------------------


def _scrambled(model, seed: int):
    """``model`` with large random weights: its next-note choices then vary from note to note,
    as a trained model's do, without the minutes of training (a positive variance for batch norm)."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.0, 1.5, w.shape).astype("float32") for w in model.get_weights()]
    for variable, value in zip(model.weights, weights):
        if "moving_variance" in variable.path:
            value[:] = np.abs(value) + 0.5
    model.set_weights(weights)
    return model


@pytest.fixture(scope="module")
def small_models():
    """Both builders, small, with varied output."""
    small = {"filters": (8, 8, 8, 8), "units": 32}
    return {"exercise": _scrambled(bach_model(**small), 1), "fast": _scrambled(fast_bach_model(**small), 2)}


@pytest.mark.parametrize("name", ["exercise", "fast"])
def test_fast_greedy_generation_is_the_plain_way(small_models, chorales, name):
    seed = chorales["test"][2][:8]
    plain = generation.generate(small_models[name], seed, chords=12, method="plain")
    fast = generation.generate(small_models[name], seed, chords=12, method="fast")
    assert plain.shape == (20, 4) and (plain[:8] == seed).all()
    np.testing.assert_array_equal(fast, plain)
    assert len(np.unique(fast[8:])) > 3  # the notes vary: equal choices are not equal by chance


def test_sampling_is_seeded(small_models, chorales):
    model, seed = small_models["fast"], chorales["test"][2][:8]
    a = generation.generate(model, seed, chords=16, temperature=1.0, seed=1)
    assert (a == generation.generate(model, seed, chords=16, temperature=1.0, seed=1)).all()
    assert (a != generation.generate(model, seed, chords=16, temperature=1.0, seed=2)).any()
    np.testing.assert_array_equal(a, generation.generate(model, seed, chords=16, temperature=1.0, seed=1,
                                                         method="plain"))
    assert a.min() >= 0 and a.max() <= 81


def test_generation_errors(small_models, chorales):
    model, seed = small_models["fast"], chorales["test"][2][:8]
    with pytest.raises(RidershipError, match="at least one chord"):
        generation.generate(model, seed[:0])
    with pytest.raises(RidershipError, match="at least one chord"):
        generation.generate(model, seed[:, :3])
    with pytest.raises(RidershipError, match="temperature must be > 0.*greedy"):
        generation.generate(model, seed, temperature=0)
    with pytest.raises(RidershipError, match="temperature must be > 0"):
        generation.generate(model, seed, temperature=-1.0)
    with pytest.raises(RidershipError, match=">= 1"):
        generation.generate(model, seed, chords=0)
    with pytest.raises(RidershipError, match="note 90"):
        generation.generate(model, [[90, 60, 60, 60]])
    with pytest.raises(RidershipError, match="method"):
        generation.generate(model, seed, method="beam")


# --- sound and the piano roll ---------------------------------------------------------------


def test_wav_is_sine_waves_at_the_exercises_rate(tmp_path):
    from scipy.io import wavfile

    chorale = np.array([[69, 0, 0, 0]] * 4 + [[0, 0, 0, 0]] * 2)
    rate, samples = wavfile.read(sound.write_wav(chorale, tmp_path / "a.wav"))
    per_chord = round(44_100 * 60 / 160)
    assert rate == 44_100 and samples.dtype == np.int16 and len(samples) == 6 * per_chord
    tone = samples[:4 * per_chord].astype(float)
    crossings = np.count_nonzero((tone[:-1] < 0) & (tone[1:] >= 0))  # upward: 440 a second over 1.5 s
    assert abs(crossings - 440 * 1.5) <= 2
    assert np.abs(tone).max() == pytest.approx(32_767 / 4, rel=1e-3) and not samples[4 * per_chord:].any()


def test_midi_holds_repeated_notes(tmp_path):
    import mido

    chorale = np.array([[60, 55, 48, 0], [60, 55, 48, 0], [62, 55, 0, 0], [0, 55, 50, 43]])
    song = mido.MidiFile(sound.write_midi(chorale, tmp_path / "a.mid"))
    assert len(song.tracks) == 5  # tempo, then soprano, alto, tenor, bass
    soprano = [m for m in song.tracks[1] if m.type in ("note_on", "note_off")]
    assert [(m.type, m.note, m.time) for m in soprano] == [("note_on", 60, 0), ("note_off", 60, 240),
                                                           ("note_on", 62, 0), ("note_off", 62, 120)]
    alto = [m for m in song.tracks[2] if m.type == "note_on"]
    assert len(alto) == 1  # four sixteenths of one key: one held note
    assert sound.held_notes([0, 43, 43, 0, 43]) == [(43, 1, 2), (43, 4, 1)]
    assert song.length == pytest.approx(4 * 60 / 160)


def test_piano_roll(tmp_path):
    from matplotlib.figure import Figure

    from ridership.chorales.plots import piano_roll
    from ridership.engine.storage import save_figure

    fig = piano_roll(np.array([[72, 67, 60, 48]] * 6 + [[74, 67, 59, 43]] * 2), seed_chords=4, title="t")
    assert isinstance(fig, Figure)
    assert save_figure(fig, tmp_path / "roll.png").stat().st_size > 1000
    with pytest.raises(RidershipError, match="shape"):
        piano_roll(np.zeros((3, 3)))


# --- the command ----------------------------------------------------------------------------


def test_train_resume_damage_refusal_and_generate(tmp_path, chorales_path, capsys):
    from ridership.cli import main

    out = tmp_path / "results"
    train = ["chorales", "train", "--out", str(out), "--seeds", "1", "--epochs", "1", "--batches", "2",
             "--data", str(chorales_path)]
    assert main(train) == 0
    first = capsys.readouterr().out
    record = json.loads((out / "runs" / "fast-seed42.json").read_text())
    assert record["epochs"] == 1 and record["kind"]["batches"] == 2 and record["seed"] == 42
    assert 0 <= record["test"]["accuracy"] <= 1 and set(record["test"]["per_voice"]) == set(scoring.VOICE_NAMES)
    assert record["files"]["fast-seed42.keras"]["bytes"] == (out / "models" / "fast-seed42.keras").stat().st_size
    assert "baseline: repeat | 0.7481" in (out / "results.md").read_text() and "| book | 0.8164" in first

    assert main(train) == 0  # a finished sound run is skipped
    assert "done before" in capsys.readouterr().out

    model = out / "models" / "fast-seed42.keras"
    model.write_bytes(model.read_bytes()[:-10])  # damaged: retrained, the file named in one line
    assert main(train) == 0
    again = capsys.readouterr().out
    assert f"{model} has" in again and "training it again" in again and "done before" not in again

    other = [*train, "--epochs", "2"]  # the last --epochs wins: another kind of run, refused
    assert main(other) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "epochs 1" in err and "--force" in err and "--out" in err

    figures = tmp_path / "new"
    assert main(["chorales", "generate", "--results", str(out), "--chords", "3", "--out", str(figures),
                 "--data", str(chorales_path)]) == 0
    assert sorted(p.suffix for p in figures.iterdir()) == [".mid", ".png", ".wav"]
    assert main(["chorales", "generate", "--results", str(out), "--temperature", "-1", "--out", str(figures)]) == 2
    assert "temperature" in capsys.readouterr().err
    assert main(["chorales", "generate", "--results", str(tmp_path / "empty"), "--out", str(figures)]) == 2
    assert "no finished run" in capsys.readouterr().err
