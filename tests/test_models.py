"""Every registered model trains, saves to .keras and reloads in a fresh process, on this backend.

The models come from the registries: a new builder in ``ridership.models`` and its experiment in
``ridership.experiments`` are tested here with no change to this file. CI runs the tests marked
``both_backends`` on JAX and again on TensorFlow.
"""

import json
import os
import subprocess
import sys
import textwrap
import keras
import numpy as np
import pytest

import ridership
from ridership.datasets import make_data
from ridership.experiments import EXPERIMENTS, STEPS_PER_EXECUTION, fit_experiment
from ridership.models import MODELS, build_model, fused_wavenet, wavenet

N_TRAIN = 256  # real windows, a subset to keep the test quick
#: The experiment that trains each model (a faster twin trains on its chapter model's windows).
EXPERIMENT_OF = {m: e for e in EXPERIMENTS.values() for m in (e.model, e.faster) if m}
pytestmark = pytest.mark.both_backends


@pytest.fixture(scope="module")
def data(df):
    return {kind: make_data(kind, df) for kind in {e.data for e in EXPERIMENTS.values()}}


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """Each model trained two epochs, saved, with inputs and predictions kept for the reload check."""
    folder = tmp_path_factory.mktemp(f"models-{keras.backend.backend()}")
    out = {}
    for name, builder in MODELS.items():
        experiment = EXPERIMENT_OF[name]
        train = tuple(a[:N_TRAIN] for a in data[experiment.data]["train"])
        result = ridership.fit_and_evaluate(builder, train, data[experiment.data]["valid"],
                                            experiment.learning_rate, epochs=2, patience=None,
                                            shuffle=experiment.shuffle)
        model = result.history.model
        X = data[experiment.data]["valid"][0][:8]
        path = folder / f"{name}.keras"
        model.save(path)
        np.save(folder / f"{name}_X.npy", X)
        np.save(folder / f"{name}_Y.npy", np.asarray(model(X, training=False)))
        out[name] = (result, model, path)
    return folder, out


def test_every_model_is_trained_by_an_experiment_and_starts_from_keras_input():
    assert set(EXPERIMENT_OF) == set(MODELS)  # no builder left untested, no experiment without its model
    for name, builder in MODELS.items():
        model = builder()
        assert isinstance(model, keras.Model) and not model.compiled and model.name == name
        assert model.inputs and all(not layer.name.startswith(("dense", "input_layer")) for layer in model.layers)


def test_two_experiments_may_share_a_model():
    from dataclasses import replace

    twin = replace(EXPERIMENTS["univar"], name="univar_slow", learning_rate=0.01)
    assert twin.model == EXPERIMENTS["univar"].model and twin.trained_model() == "univar"


@pytest.mark.parametrize("name", list(MODELS))
def test_trains_with_falling_loss(trained, name):
    result, _, _ = trained[1][name]
    loss = result.history.history["loss"]
    assert len(loss) == 2 and loss[1] < loss[0]
    assert np.isfinite(result.mae) and result.mae > 0


def test_reload_in_fresh_process_gives_identical_predictions(trained):
    folder, _ = trained
    script = textwrap.dedent(f"""
        import json, pathlib, numpy as np, keras
        import ridership
        ridership.choose_backend()
        folder = pathlib.Path({str(folder)!r})
        worst = {{}}
        for path in sorted(folder.glob("*.keras")):
            model = ridership.load_model(path)
            X = np.load(folder / (path.stem + "_X.npy"))
            Y = np.load(folder / (path.stem + "_Y.npy"))
            worst[path.stem] = float(np.abs(np.asarray(model(X, training=False)) - Y).max())
        print(json.dumps({{"backend": keras.backend.backend(), "worst": worst}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=os.environ, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backend"] == keras.backend.backend()
    assert set(report["worst"]) == set(MODELS)
    assert all(v <= 1e-6 for v in report["worst"].values()), report["worst"]


@pytest.mark.parametrize("steps", [1, 5, 112])
def test_fused_wavenet_computes_the_chapters_layers(steps):
    """Same seed, same initial weights; same weights, same outputs, also for windows shorter
    than the largest dilation (8). A tap shifted the wrong way, or a kernel read in the
    wrong order, fails this."""
    keras.utils.set_random_seed(3)
    chapter = wavenet()
    keras.utils.set_random_seed(3)
    fused = fused_wavenet()
    assert [type(layer) for layer in fused.layers] == [ridership.CausalConvStack]
    for ours, theirs in zip(fused.get_weights(), chapter.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    rng = np.random.default_rng(0)
    weights = [rng.normal(scale=0.3, size=w.shape).astype("float32") for w in chapter.get_weights()]
    chapter.set_weights(weights)
    fused.set_weights(weights)
    X = rng.normal(size=(4, steps, 5)).astype("float32")
    expected = np.asarray(chapter(X))
    np.testing.assert_allclose(np.asarray(fused(X)), expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_fused_wavenet_trains_as_the_chapters_does(trained):
    """Two epochs from seed 42 on the same windows: the same MAE but for float rounding."""
    chapter, fused = trained[1]["wavenet"][0], trained[1]["fused_wavenet"][0]
    assert fused.mae == pytest.approx(chapter.mae, rel=1e-4)
    assert fused.history.history["loss"][1] < fused.history.history["loss"][0]


def test_causal_conv_stack_refuses_a_bad_configuration():
    with pytest.raises(ValueError, match="dilation"):
        ridership.CausalConvStack(dilations=(1, 0))


def test_custom_loop_tracks_its_cell(trained):
    _, model, _ = trained[1]["custom_loop"]
    loop = next(layer for layer in model.layers if isinstance(layer, ridership.StepLoopRNN))
    cell_weights = {id(w) for w in loop.cell.trainable_weights}
    assert len(cell_weights) == 5  # kernel, recurrent kernel, bias, gamma, beta
    assert cell_weights <= {id(w) for w in model.trainable_weights}


def test_custom_loop_cell_weights_change_in_training(data):
    keras.utils.set_random_seed(1)
    model = MODELS["custom_loop"]()
    loop = next(layer for layer in model.layers if isinstance(layer, ridership.StepLoopRNN))
    before = [np.array(w) for w in loop.cell.trainable_weights]
    train = tuple(a[:64] for a in data["seq2seq"]["train"])
    ridership.fit_and_evaluate(model, train, train, 0.1, epochs=1, patience=None, seed=None)
    after = [np.array(w) for w in loop.cell.trainable_weights]
    assert all(not np.array_equal(b, a) for b, a in zip(before, after))


def test_custom_loop_equals_keras_rnn_with_same_weights():
    keras.utils.set_random_seed(3)
    ours, theirs = MODELS["custom_loop"](), MODELS["custom_ln"]()
    theirs.set_weights(ours.get_weights())
    X = np.random.default_rng(0).normal(size=(4, 10, 5)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(X)), np.asarray(theirs(X)), atol=1e-5)


def test_same_seed_same_mae(data):
    train = tuple(a[:128] for a in data["univar"]["train"])
    runs = [ridership.fit_and_evaluate(MODELS["univar"], train, data["univar"]["valid"], 0.05, epochs=2, patience=None,
                                       seed=7).mae for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("name", ["univar", "wavenet"])
def test_batches_per_call_do_not_change_the_training(data, name):
    """``reproduce`` hands Keras a whole epoch per call (``STEPS_PER_EXECUTION``): the same steps
    in the same order, so the same MAE, here with 11 batches, the last one short, in calls of 1,
    4 (4 + 4 + 3) and ``STEPS_PER_EXECUTION``; univar shuffles fully, wavenet through the buffer."""
    experiment = EXPERIMENTS[name]
    train = tuple(a[:10 * 32 + 5] for a in data[experiment.data]["train"])
    maes = [ridership.fit_and_evaluate(MODELS[name], train, data[experiment.data]["valid"], experiment.learning_rate,
                                       epochs=2, patience=None, seed=3, shuffle=experiment.shuffle,
                                       steps_per_execution=steps).mae for steps in (1, 4, STEPS_PER_EXECUTION)]
    assert STEPS_PER_EXECUTION > 1 and maes[0] == maes[1] == maes[2]


def test_best_weights_are_restored(data):
    train = tuple(a[:128] for a in data["univar"]["train"])
    result = ridership.fit_and_evaluate(MODELS["linear"], train, data["univar"]["valid"], 0.02, epochs=6, patience=2)
    assert result.mae == pytest.approx(min(result.history.history["val_mae"]) * 1e6, rel=1e-4)


def test_progress_is_one_line_that_ends_with_the_best_mae(data, capsys):
    """``progress=True``: one line, rewritten as epochs end (carriage returns), left as the fit's
    summary; outside a notebook the default shows nothing, and the progress changes no weight."""
    train = tuple(a[:128] for a in data["univar"]["train"])
    quiet = ridership.fit_and_evaluate(MODELS["linear"], train, data["univar"]["valid"], 0.02, epochs=3, patience=None)
    assert capsys.readouterr().out == ""
    shown = ridership.fit_and_evaluate(MODELS["linear"], train, data["univar"]["valid"], 0.02, epochs=3, patience=None,
                                       progress=True)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.endswith("\n")
    last = out.rsplit("\r", 1)[-1]
    best = min(shown.history.history["val_mae"]) * 1e6
    assert last.startswith(f"linear: 3/3 epochs, best validation MAE {best:,.0f} riders [")
    assert shown.mae == quiet.mae


def test_unknown_model_name():
    with pytest.raises(ridership.RidershipError, match="Unknown model 'transformer'.*univar"):
        build_model("transformer")


def test_fit_experiment_trains_as_reproduce_does_and_takes_overrides(df, monkeypatch):
    monkeypatch.setenv("RIDERSHIP_QUICK", "1")
    result = fit_experiment("seq2seq", df)
    assert result.model_name == "seq2seq" and result.epochs == 2 and result.seed == 42
    assert result.model.steps_per_execution == STEPS_PER_EXECUTION
    assert set(result.extras) >= {"horizons", "valid_last_step_mae", "test_last_step_mae"}
    assert result.valid_mae > 0 and result.test_mae > 0
    assert fit_experiment("seq2seq", df).valid_mae == result.valid_mae  # the same seed, the same MAE
    assert fit_experiment("wavenet", df).model_name == "fused_wavenet"
    assert fit_experiment("wavenet", df, chapter_layers=True).model_name == "wavenet"
    other = fit_experiment("univar", df, learning_rate=0.01, seed=7, model_kwargs={"units": 4})
    assert other.model.get_layer("rnn").units == 4 and float(other.history.model.optimizer.learning_rate) == pytest.approx(0.01)
    with pytest.raises(TypeError, match="lr"):  # keyword-only arguments: a misspelt one is Python's TypeError
        fit_experiment("univar", df, lr=0.1)
    with pytest.raises(ridership.RidershipError, match="Unknown experiment 'transformer'"):
        fit_experiment("transformer", df)


def test_fit_on_the_chapters_datasets(df):
    """fit_and_evaluate takes the chapter's tf.data datasets as well as NumPy pairs."""
    data = make_data("univar", df, fast=False)
    result = ridership.fit_and_evaluate(MODELS["linear"], data["train"].take(4), data["valid"], 0.02, epochs=1,
                                        patience=None)
    assert np.isfinite(result.mae) and len(result.history.epoch) == 1


def test_the_registry_names_real_models_windows_and_metrics():
    from ridership.datasets import DATA_KINDS
    from ridership.experiments import EXTRAS

    for e in EXPERIMENTS.values():
        assert e.model in MODELS and (e.faster is None or e.faster in MODELS), e.name
        assert e.data in DATA_KINDS and e.shuffle in (True, "buffer") and set(e.extras) <= set(EXTRAS), e.name


@pytest.mark.parametrize("bad", [{"data": "weekly"}, {"shuffle": False}, {"shuffle": "sorted"}, {"extras": ("rmse",)}])
def test_an_experiment_with_an_unknown_setting_is_refused_in_one_line(bad):
    from ridership.experiments import Experiment

    fields = {"model": "univar", "data": "univar", "learning_rate": 0.05, **bad}
    with pytest.raises(ridership.RidershipError, match="Experiment 'x'"):
        Experiment("x", **fields)
