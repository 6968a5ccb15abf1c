"""Benchmark: the book's recipe against ridership's default path, each in its own process.

- recipe: the package's teaching path as the book runs it: TensorFlow backend, windows built
  with keras.utils / tf.data window+flat_map, default threading, nothing tuned;
- ours: JAX backend, NumPy windows built once, batched and shuffled by Keras.

Both train the same builders with the same protocol, one experiment after another. With
``--epochs N`` each model trains exactly N epochs (per-epoch speed); without it, to convergence
(the chapter's early stopping). Prints a table (seconds include building the windows), the peak
memory of each side's process, and as its last line ``speedup: <ratio>x``, the geometric mean
of the per-experiment ratios: of the time per epoch after the first with ``--epochs`` (compiling
is a one-off cost, reported in the wall-clock line), of the whole wall-clock time otherwise.

    python benchmarks/speed.py --only univar,lstm --epochs 20
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

SIDES = {"recipe": {"KERAS_BACKEND": "tensorflow"}, "ours": {"KERAS_BACKEND": "jax"}}


def worker(side: str, names: list[str], epochs: int | None) -> None:
    """Run in a child process: train each experiment and print one JSON line per result."""
    import ridership
    from ridership.experiments import EXPERIMENTS, make_data
    from ridership.training import EpochTimer

    df = ridership.load_ridership()
    for name in names:
        exp = EXPERIMENTS[name]
        tick = time.perf_counter()
        data = make_data(exp.data, df, fast=side == "ours")
        kwargs = {"epochs": epochs, "patience": None} if epochs else {}
        timer = EpochTimer()
        result = ridership.fit_and_evaluate(ridership.MODELS[name], data["train"], data["valid"], exp.learning_rate,
                                            callbacks=[timer], **kwargs)
        seconds = time.perf_counter() - tick
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"name": name, "seconds": seconds, "mae": result.mae, "epochs": len(result.history.epoch),
                          "epoch_ms": timer.steady_ms, "first_epoch_s": timer.times[0], "peak_mb": peak_mb}), flush=True)


def run_side(side: str, names: list[str], epochs: int | None) -> dict:
    cmd = [sys.executable, __file__, "--worker", side, "--only", ",".join(names)]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    env = {**os.environ, **SIDES[side], "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"the {side} side failed:\n{done.stderr[-3000:]}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {row["name"]: row for row in rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated experiments (default: every model)")
    parser.add_argument("--epochs", type=int, help="train exactly this many epochs (default: to convergence)")
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from ridership.experiments import EXPERIMENTS  # light: no backend work happens here

    names = args.only.split(",") if args.only else list(EXPERIMENTS)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        sys.exit(f"unknown experiment(s): {', '.join(unknown)}; choose from {', '.join(EXPERIMENTS)}")
    if args.worker:
        worker(args.worker, names, args.epochs)
        return

    mode = f"{args.epochs} epochs each" if args.epochs else "to convergence"
    print(f"{len(names)} experiment(s), {mode}; recipe = TensorFlow + tf.data windows, ours = JAX + NumPy windows")
    results = {side: run_side(side, names, args.epochs) for side in SIDES}
    print(f"{'experiment':13} {'recipe s':>9} {'ours s':>8} {'ratio':>6} {'recipe ms/ep':>13} {'ours ms/ep':>11} "
          f"{'ratio':>6} {'recipe MAE':>11} {'ours MAE':>10} {'epochs r/o':>11}")
    ratios, epoch_ratios = [], []
    for name in names:
        r, o = results["recipe"][name], results["ours"][name]
        ratio, epoch_ratio = r["seconds"] / o["seconds"], r["epoch_ms"] / o["epoch_ms"]
        ratios.append(ratio)
        epoch_ratios.append(epoch_ratio)
        print(f"{name:13} {r['seconds']:9.1f} {o['seconds']:8.1f} {ratio:6.2f} {r['epoch_ms']:13.0f} {o['epoch_ms']:11.0f} "
              f"{epoch_ratio:6.2f} {r['mae']:11,.0f} {o['mae']:10,.0f} {r['epochs']:5d}/{o['epochs']:<5d}")
    total_r = sum(results["recipe"][n]["seconds"] for n in names)
    total_o = sum(results["ours"][n]["seconds"] for n in names)
    peak_r = max(results["recipe"][n]["peak_mb"] for n in names)
    peak_o = max(results["ours"][n]["peak_mb"] for n in names)
    print(f"{'total':13} {total_r:9.1f} {total_o:8.1f} {total_r / total_o:6.2f}")
    print(f"peak memory: recipe {peak_r:,.0f} MB, ours {peak_o:,.0f} MB")
    geo = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))  # noqa: E731
    print(f"wall-clock speedup (windows, compiling and training): {geo(ratios):.2f}x")
    print(f"per-epoch speedup (epochs after the first): {geo(epoch_ratios):.2f}x")
    # The headline: per epoch when --epochs fixes the work, end to end at convergence.
    print(f"speedup: {geo(epoch_ratios if args.epochs else ratios):.2f}x")


if __name__ == "__main__":
    main()
