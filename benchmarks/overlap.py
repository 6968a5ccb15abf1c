"""Benchmark: why a run takes longer with a second run beside it than alone.

``ridership reproduce`` trains one run per core, each on one compute thread. A run's own
time then comes out longer than the same run's alone (the per-experiment line of
``speed.py``). This script measures where that goes, for models as the command trains
them (a fresh process set up as one of its workers, seed 42, exactly ``--epochs`` epochs):

- alone: one run, the other core idle. Per epoch after the first (the first compiles):
  wall ms, the process's CPU ms (all its threads; divided by the wall, the cores it kept
  busy) and the CPU ms of its main thread, where Keras' Python loop runs;
- paired: two copies started together, one per core; each one's wall ms per epoch;
- a control: a NumPy matrix product on one BLAS thread, alone and two at once, which
  tells whether the two cores slow each other down by themselves.

A run "on one thread" keeps more than one core busy when it can: Keras' loop prepares and
dispatches batches on the main thread while XLA computes on another. Paired, each process
has one core and that overlap is lost. Rounds alternate which setting runs first. Last
line: ``paired / alone: <ratio>x``, the geometric mean over the models of the median
ratio of the paired runs' wall ms per epoch (both copies) to the lone run's.

    python benchmarks/overlap.py [--only univar,lstm,wavenet] [--rounds 2] [--epochs 41] [--data PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

from steps import chosen_networks  # this folder is on the path when a script in it runs

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = "univar,lstm,wavenet"

RUN = """
import json, resource, time
from ridership import parallel
parallel.worker_setup(1)
import keras
import ridership
from ridership.experiments import EXPERIMENTS, make_data
from ridership.reproduce import STEPS_PER_EXECUTION, model_builder

def process_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

class Clocks(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.marks = []
    def on_epoch_end(self, epoch, logs=None):
        self.marks.append((time.perf_counter(), process_cpu(), time.thread_time()))

experiment = EXPERIMENTS[{model!r}]
data = make_data(experiment.data, ridership.load_ridership({data!r}))
clocks = Clocks()
result = ridership.fit_and_evaluate(model_builder({model!r}), data["train"], data["valid"], experiment.learning_rate,
                                    epochs={epochs}, patience=None, seed=42, callbacks=[clocks],
                                    shuffle=experiment.shuffle, steps_per_execution=STEPS_PER_EXECUTION)
(w0, c0, m0), (w1, c1, m1) = clocks.marks[0], clocks.marks[-1]
n = len(clocks.marks) - 1
print(json.dumps({{"epoch_ms": 1000 * (w1 - w0) / n, "cpu_ms": 1000 * (c1 - c0) / n, "main_ms": 1000 * (m1 - m0) / n,
                  "mae": result.mae}}))
"""

CONTROL = """
import json, time
import numpy as np
from threadpoolctl import threadpool_limits
a = np.random.default_rng(0).random((128, 128), dtype=np.float32)
with threadpool_limits(1):
    tick = time.perf_counter()
    for _ in range(20000):
        a @ a
print(json.dumps({"seconds": time.perf_counter() - tick}))
"""


def _env() -> dict:
    env = {**os.environ, "KERAS_BACKEND": "jax",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("RIDERSHIP_QUICK", None)  # exactly --epochs epochs
    return env


def run_together(code: str, copies: int) -> list[dict]:
    """``copies`` processes running ``code`` started at once; each one's JSON line."""
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=_env()) for _ in range(copies)]
    records = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"a run failed:\n{err[-3000:]}")
        records.append(json.loads(out.strip().splitlines()[-1]))
    return records


def measure(code: str, rounds: int, label: str, key: str) -> tuple[list[dict], list[list[dict]]]:
    """``rounds`` rounds of one run alone and two at once, the first setting alternating."""
    alone, paired = [], []
    for i in range(rounds):
        for copies in ((1, 2) if i % 2 == 0 else (2, 1)):
            records = run_together(code, copies)
            if copies == 1:
                alone.append(records[0])
            else:
                paired.append(records)
            shown = " ".join(f"{r[key]:.1f}" for r in records)
            print(f"{label:10} round {i + 1} {'alone' if copies == 1 else 'paired':6} {key} {shown}", flush=True)
    return alone, paired


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=DEFAULT_MODELS, help=f"experiments, comma-separated (default {DEFAULT_MODELS})")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, each one run alone and a pair (default 2)")
    parser.add_argument("--epochs", type=int, default=41, help="epochs per run, the first not timed (default 41)")
    parser.add_argument("--data", help="path to ridership.tgz (default: RIDERSHIP_DATA, cache or download)")
    args = parser.parse_args(argv)

    os.environ.setdefault("KERAS_BACKEND", "jax")  # the names are all this process needs: no TensorFlow start-up
    models = chosen_networks(args, "overlap.py")
    print(f"JAX, one compute thread per run, {args.epochs} epochs, {args.rounds} rounds", flush=True)
    alone, paired = measure(CONTROL, args.rounds, "control", "seconds")
    control = (statistics.median(r["seconds"] for r in alone),
               statistics.median(r["seconds"] for pair in paired for r in pair))
    rows = []
    for model in models:
        code = RUN.format(model=model, epochs=args.epochs, data=args.data)
        alone, paired = measure(code, args.rounds, model, "epoch_ms")
        lone_ms = statistics.median(r["epoch_ms"] for r in alone)
        pair_ms = [r["epoch_ms"] for pair in paired for r in pair]
        same = len({r["mae"] for r in alone + [r for pair in paired for r in pair]}) == 1
        rows.append({"model": model, "alone_ms": lone_ms,
                     "cores": statistics.median(r["cpu_ms"] / r["epoch_ms"] for r in alone),
                     "main_ms": statistics.median(r["main_ms"] for r in alone),
                     "paired_ms": statistics.median(pair_ms), "ratio": statistics.median(pair_ms) / lone_ms,
                     "same": same})
    print("\n| model | alone ms/epoch | cores busy alone | main thread ms/epoch | paired ms/epoch | paired / alone "
          "| same MAE |\n|---|---:|---:|---:|---:|---:|---|")
    print(f"| control: NumPy 128 x 128 products, one BLAS thread (s) | {control[0]:.3f} | | | {control[1]:.3f} "
          f"| {control[1] / control[0]:.3f} | |")
    for row in rows:
        print(f"| {row['model']} | {row['alone_ms']:.1f} | {row['cores']:.2f} | {row['main_ms']:.1f} "
              f"| {row['paired_ms']:.1f} | {row['ratio']:.3f} | {'yes' if row['same'] else '**no**'} |")
    print(f"paired / alone: {math.exp(statistics.mean(math.log(row['ratio']) for row in rows)):.3f}x")


if __name__ == "__main__":
    main()
