"""Benchmark: exercise 10 (the Bach chorales) as the book's cells run it, against ridership's default path.

Each side runs in its own child process, one after the other, on the same machine:

- recipe: the exercise as the book's cells do it: TensorFlow backend, the ``tf.data`` windows
  (``bach_dataset``: training set shuffled through a 1,000-window buffer), ``bach_model``
  (``keras.layers.LSTM``), Nadam, ``fit`` with the validation set scored after every epoch,
  then ``evaluate`` on the test set; generation as the book's cell does it, ``model.predict``
  on the whole growing sequence for every note, greedy.
- ours: what ``ridership chorales train`` does: the backend ``import ridership`` picks (JAX when
  installed), NumPy windows, the same 1,000-window shuffle buffer, ``fast_bach_model``
  (``ProjectedLSTM``: the same function and starting weights), whole epochs per call into the
  compiled step, no scoring between epochs (the exercise only prints it), then the validation and
  test scores; generation both ways the package offers, ``plain`` (the exercise's algorithm,
  one compiled program) and ``fast`` (states kept), each timed cold (first call, compiling
  included) and warm, greedy, with their outputs asserted identical.

Both sides train the same number of epochs from seed 42 and print their test accuracy. Times:
the first epoch (which includes compiling), the median of the later ones, the training, and
end to end: from the child's start (interpreter, imports and data included) to its trained
model's test score; the generation measured after that is not part of it. A third
child measures this CPU's matrix-product rate (float32, 2048 x 2048, JAX) to put the epoch
beside the LSTM's compute floor: its matrix products, forward and backward, for the shapes
trained (computed from the shapes, printed).

The last line is ``speedup: <ratio>x``: the recipe's end-to-end seconds over ours.

    python benchmarks/chorales.py --epochs 20            # the exercise's full training
    python benchmarks/chorales.py --epochs 1 --batches 10  # a check that it all runs (a minute or two)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 42
THREAD_VARS = ("NPROC", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "XLA_FLAGS", "JAX_COMPILATION_CACHE_DIR",
               "TF_ENABLE_ONEDNN_OPTS")


def child_env(**extra: str) -> dict:
    """This environment without thread caps or compile caches, the checkout first on the path, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in (*THREAD_VARS, "KERAS_BACKEND", "RIDERSHIP_QUICK")}
    path = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    return {**env, "PYTHONPATH": path, **extra}


def _epoch_timer():
    """A Keras callback recording each epoch's wall time (``timing.EpochTimer``, so both sides time alike)."""
    from timing import EpochTimer

    return EpochTimer()


def lstm_flops(windows: int, steps: int = 131, inputs: int = 96, units: int = 256) -> float:
    """Floating-point operations of the LSTM's matrix products in one epoch, forward and backward.

    Forward, each step of each window multiplies ``[x_t, h_{t-1}]`` (inputs + units values) by
    the four gates' weights (``4 * units`` columns): ``2 * (inputs + units) * 4 * units``
    operations. The backward pass needs two products of the same size (the gradients of the
    inputs and of the weights): three times the forward in all. The gates' elementwise work,
    the convolutions and the softmax layer come on top.
    """
    return 3 * windows * steps * 2 * (inputs + units) * 4 * units


# --- the sides, in child processes ---------------------------------------------------------------


def recipe_side(epochs: int, batches: int | None, chords: int, book_generation: bool, started: float) -> dict:
    import ridership  # noqa: F401  (KERAS_BACKEND=tensorflow is set for this side)

    import keras
    import numpy as np
    import tensorflow as tf

    from ridership.chorales.data import load_chorales
    from ridership.chorales.models import bach_model, compile_bach
    from ridership.chorales.windows import bach_dataset, to_notes, to_tokens

    tick = time.perf_counter()
    chorales = load_chorales()
    keras.utils.set_random_seed(SEED)  # before the datasets: the shuffle draws from the global seed
    train = bach_dataset(chorales["train"], shuffle_buffer_size=1000)
    if batches:
        train = train.take(batches)
    valid, test = bach_dataset(chorales["valid"]), bach_dataset(chorales["test"])
    model = compile_bach(bach_model())
    timer = _epoch_timer()
    fit_tick = time.perf_counter()
    model.fit(train, epochs=epochs, validation_data=valid, callbacks=[timer], verbose=0)
    fit_seconds = time.perf_counter() - fit_tick
    loss, accuracy = model.evaluate(test, verbose=0)
    end_to_end = time.time() - started
    result = {"side": "recipe", "end_to_end": end_to_end, "backend": keras.backend.backend(),
              "epoch_times": timer.times,
              "fit_seconds": fit_seconds, "test_accuracy": float(accuracy), "test_loss": float(loss),
              "train_windows": int(sum(len(x) for x, _ in train)), "seconds_to_trained": time.perf_counter() - tick}
    if book_generation:
        # the book's cell: the model run on the whole sequence so far for each new note
        sequence = tf.reshape(tf.constant(to_tokens(chorales["test"][2][:8])), [1, -1])
        gen_tick = time.perf_counter()
        for _ in range(chords * 4):
            next_token = model.predict(sequence, verbose=0).argmax(axis=-1)[:1, -1:]
            sequence = tf.concat([sequence, tf.cast(next_token, sequence.dtype)], axis=1)
        result["book_generation_seconds"] = time.perf_counter() - gen_tick
        result["book_generation_first"] = to_notes(np.asarray(sequence)[0, 32:36]).tolist()
    return result


def ours_side(epochs: int, batches: int | None, chords: int, started: float) -> dict:
    import ridership

    ridership.choose_backend()  # first: JAX when installed, before Keras loads

    import keras
    import numpy as np

    from ridership.chorales.data import load_chorales
    from ridership.chorales.generation import generate
    from ridership.chorales.scoring import score_model
    from ridership.chorales.train import fit_chorales, split_windows

    tick = time.perf_counter()
    chorales = load_chorales()
    windows = split_windows(chorales)
    timer = _epoch_timer()
    fit = fit_chorales("fast", windows["train"], epochs=epochs, seed=SEED, batches=batches, callbacks=[timer])
    scores = {split: score_model(fit.model, *windows[split]) for split in ("valid", "test")}
    end_to_end = time.time() - started
    result = {"side": "ours", "end_to_end": end_to_end, "backend": keras.backend.backend(), "epoch_times": timer.times,
              "fit_seconds": fit.seconds, "test_accuracy": scores["test"].accuracy,
              "test_cross_entropy": scores["test"].cross_entropy, "valid_accuracy": scores["valid"].accuracy,
              "train_windows": min(len(windows["train"][0]), (batches or 10**9) * 32),
              "seconds_to_trained": time.perf_counter() - tick}
    seed = chorales["test"][2][:8]
    outputs, times = {}, {}
    for method in ("plain", "fast"):
        for when in ("cold", "warm"):
            gen_tick = time.perf_counter()
            outputs[method] = generate(fit.model, seed, chords=chords, method=method)
            times[f"{method}_{when}"] = time.perf_counter() - gen_tick
    identical = bool(np.array_equal(outputs["plain"], outputs["fast"]))
    assert identical, "fast greedy generation differs from the plain way"
    result.update(generation=times, generation_identical=identical, first_generated=outputs["fast"][8].tolist())
    return result


def floor_side() -> dict:
    """This CPU's float32 matrix-product rate (JAX, the best of 10 products of 2048 x 2048 matrices)."""
    import jax
    import jax.numpy as jnp

    n = 2048
    a = jnp.ones((n, n), jnp.float32)
    product = jax.jit(lambda x, y: x @ y)
    product(a, a).block_until_ready()
    best = float("inf")
    for _ in range(10):
        tick = time.perf_counter()
        product(a, a).block_until_ready()
        best = min(best, time.perf_counter() - tick)
    return {"side": "floor", "gflops": 2 * n**3 / best / 1e9}


# --- the parent -----------------------------------------------------------------------------------


def run_side(side: str, args, env: dict) -> tuple[dict, float]:
    """Run one side in a child process; return its JSON result and the child's whole wall time."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--side", side, "--epochs", str(args.epochs),
           "--chords", str(args.chords), "--started", repr(time.time())]
    if args.batches:
        cmd += ["--batches", str(args.batches)]
    if args.no_book_generation:
        cmd.append("--no-book-generation")
    tick = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - tick
    if proc.returncode:
        sys.exit(f"the {side} side failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), seconds


def _epochs(times: list[float]) -> str:
    later = times[1:]
    steady = f", later ones {statistics.median(later):.2f} s (median of {len(later)})" if later else ""
    return f"first epoch {times[0]:.2f} s{steady}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs on both sides (default: the exercise's 20)")
    parser.add_argument("--batches", type=int, help="train only this many batches per epoch on both sides (a check)")
    parser.add_argument("--chords", type=int, default=56, help="chords to generate (default: 56)")
    parser.add_argument("--no-book-generation", action="store_true", help="skip the book's generation cell (slow)")
    parser.add_argument("--data", help="jsb_chorales.tgz (default: $RIDERSHIP_CHORALES, the cache, a download)")
    parser.add_argument("--recipe-onednn", choices=("on", "off"), default="on",
                        help="the recipe's TF_ENABLE_ONEDNN_OPTS: on (default: TensorFlow's own default, as the book "
                             "runs) or off (as `import ridership` sets it)")
    parser.add_argument("--side", choices=("recipe", "ours", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        if args.side == "recipe":
            result = recipe_side(args.epochs, args.batches, args.chords, not args.no_book_generation, args.started)
        elif args.side == "ours":
            result = ours_side(args.epochs, args.batches, args.chords, args.started)
        else:
            result = floor_side()
        print(json.dumps(result))
        return

    if args.data:
        os.environ["RIDERSHIP_CHORALES"] = str(Path(args.data).resolve())
    print(f"{args.epochs} epoch(s)" + (f" of {args.batches} batches" if args.batches else "") + f", seed {SEED}, "
          f"{os.cpu_count()} CPU(s)", flush=True)
    # on: TensorFlow's own default, as the book's cells run (``import ridership`` turns oneDNN off unless set)
    onednn = "1" if args.recipe_onednn == "on" else "0"
    recipe, _ = run_side("recipe", args, child_env(KERAS_BACKEND="tensorflow", TF_ENABLE_ONEDNN_OPTS=onednn))
    recipe_wall = recipe["end_to_end"]
    print(f"recipe ({recipe['backend']}, oneDNN {args.recipe_onednn}, tf.data): {_epochs(recipe['epoch_times'])}; "
          f"training {recipe['fit_seconds']:.1f} s; end to end {recipe_wall:.1f} s; test accuracy "
          f"{recipe['test_accuracy']:.4f}", flush=True)
    ours, _ = run_side("ours", args, child_env())
    ours_wall = ours["end_to_end"]
    print(f"ours ({ours['backend']}, NumPy windows, ProjectedLSTM): {_epochs(ours['epoch_times'])}; training "
          f"{ours['fit_seconds']:.1f} s; end to end {ours_wall:.1f} s; test accuracy {ours['test_accuracy']:.4f}",
          flush=True)
    floor, _ = run_side("floor", args, child_env(KERAS_BACKEND="jax"))

    windows = ours["train_windows"]
    flops = lstm_flops(windows)
    floor_seconds = flops / (floor["gflops"] * 1e9)
    ours_epoch = statistics.median(ours["epoch_times"][1:] or ours["epoch_times"])
    recipe_epoch = statistics.median(recipe["epoch_times"][1:] or recipe["epoch_times"])
    print(f"LSTM(256) matrix products per epoch ({windows:,} windows of 131 steps, forward and backward): "
          f"{flops / 1e12:.3f} TFLOP; at this CPU's {floor['gflops']:.0f} GFLOP/s (2048 x 2048 float32) that is "
          f"{floor_seconds:.2f} s: our epoch is {ours_epoch / floor_seconds:.1f} times the floor, the recipe's "
          f"{recipe_epoch / floor_seconds:.1f}")
    g = ours["generation"]
    print(f"generation of {args.chords} chords, greedy: plain {g['plain_cold']:.2f} s cold, "
          f"{g['plain_warm']:.3f} s warm; "
          f"fast {g['fast_cold']:.2f} s cold, {g['fast_warm']:.4f} s warm; identical output: "
          f"{ours['generation_identical']}")
    if "book_generation_seconds" in recipe:
        print(f"the book's generation cell (TensorFlow, model.predict for every note): "
              f"{recipe['book_generation_seconds']:.1f} s; over ours fast cold: "
              f"{recipe['book_generation_seconds'] / g['fast_cold']:.1f}x")
    print(f"generation ratio (plain / fast, warm): {g['plain_warm'] / g['fast_warm']:.1f}x; cold: "
          f"{g['plain_cold'] / g['fast_cold']:.1f}x")
    print(f"per epoch after the first: recipe {recipe_epoch:.2f} s (with its validation pass), ours {ours_epoch:.2f} s "
          f"(none): {recipe_epoch / ours_epoch:.2f}x")
    print(f"end to end: recipe {recipe_wall:.1f} s, ours {ours_wall:.1f} s")
    print(f"speedup: {recipe_wall / ours_wall:.2f}x")


if __name__ == "__main__":
    main()
