"""Benchmark: Keras' training loop one batch per call against ``ridership reproduce``'s setting.

Keras hands its compiled training step ``steps_per_execution`` batches per call of its
loop (1 by default, as the chapter trains); between calls it does its per-batch
bookkeeping (callbacks, the state it keeps for them). ``ridership reproduce`` sets
``ridership.reproduce.STEPS_PER_EXECUTION``, a whole epoch per call. Each run here is a
fresh process set up as a worker of the command (one compute thread, no TensorFlow on
JAX) that trains one model as the command builds it, seed 42, exactly ``--epochs``
epochs; the two sides differ only in ``steps_per_execution``. Runs go one at a time,
the side that starts alternating from round to round. Per model: each side's median ms
per epoch after the first (the first compiles), the median of the rounds' ratios, and
whether every run of the model gave the same validation MAE (it should: the same steps
in the same order). Last line: ``speedup: <ratio>x``, the geometric mean of the models'
ratios.

    python benchmarks/steps.py [--only univar,deep,lstm,gru,wavenet] [--rounds 3] [--epochs 21]
                               [--backend jax|tensorflow] [--data PATH]
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

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = "univar,deep,lstm,gru,wavenet"

RUN = """
import json, statistics
from ridership import parallel
parallel.worker_setup(1)
import ridership
from ridership.experiments import EXPERIMENTS, make_data
from ridership.reproduce import model_builder
from ridership.training import EpochTimer
experiment = EXPERIMENTS[{model!r}]
data = make_data(experiment.data, ridership.load_ridership({data!r}))
timer = EpochTimer()
result = ridership.fit_and_evaluate(model_builder({model!r}), data["train"], data["valid"], experiment.learning_rate,
                                    epochs={epochs}, patience=None, seed=42, callbacks=[timer],
                                    shuffle=experiment.shuffle, steps_per_execution={steps})
print(json.dumps({{"epoch_ms": 1000 * statistics.median(timer.times[1:]), "mae": result.mae}}))
"""


def run(model: str, steps: int, epochs: int, backend: str, data: str | None) -> dict:
    """One model trained in a fresh process; returns its median ms per epoch and its MAE."""
    env = {**os.environ, "KERAS_BACKEND": backend,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("RIDERSHIP_QUICK", None)  # exactly --epochs epochs
    code = RUN.format(model=model, steps=steps, epochs=epochs, data=data)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"a run of {model} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def chosen_networks(args: argparse.Namespace, script: str) -> list[str]:
    """The networks ``--only`` names, once they and ``--rounds``/``--epochs`` are checked; exits with
    a message saying what is wrong otherwise. Shared with ``overlap.py``."""
    sys.path.insert(0, str(ROOT))
    from ridership.experiments import EXPERIMENTS

    models = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in models if name not in EXPERIMENTS]
    if unknown:
        sys.exit(f"{script} trains the chapter's networks; unknown: {', '.join(unknown)}. "
                 f"Choose from {', '.join(EXPERIMENTS)}.")
    if args.rounds < 1 or args.epochs < 2:
        sys.exit("--rounds must be at least 1 and --epochs at least 2 (the first epoch is not timed).")
    return models


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=DEFAULT_MODELS, help=f"experiments, comma-separated (default {DEFAULT_MODELS})")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, one run a side each (default 3)")
    parser.add_argument("--epochs", type=int, default=21, help="epochs per run, the first not timed (default 21)")
    parser.add_argument("--backend", choices=("jax", "tensorflow"), default="jax",
                        help="Keras backend (default jax, what `ridership reproduce` picks when JAX is installed)")
    parser.add_argument("--data", help="path to ridership.tgz (default: RIDERSHIP_DATA, cache or download)")
    args = parser.parse_args(argv)

    models = chosen_networks(args, "steps.py")
    from ridership.reproduce import STEPS_PER_EXECUTION

    sides = {"1 per call": 1, f"{STEPS_PER_EXECUTION} per call": STEPS_PER_EXECUTION}
    print(f"backend {args.backend}, one thread, {args.epochs} epochs, {args.rounds} rounds", flush=True)
    rows = []
    for model in models:
        runs = {side: [] for side in sides}
        for i in range(args.rounds):
            order = list(sides) if i % 2 == 0 else list(sides)[::-1]
            for side in order:
                record = run(model, sides[side], args.epochs, args.backend, args.data)
                runs[side].append(record)
                print(f"{model:10} round {i + 1} {side:12} {record['epoch_ms']:7.1f} ms/epoch  "
                      f"valid MAE {record['mae']:,.3f}", flush=True)
        one, ours = (runs[side] for side in sides)
        ratios = [a["epoch_ms"] / b["epoch_ms"] for a, b in zip(one, ours)]
        same = len({r["mae"] for side_runs in runs.values() for r in side_runs}) == 1
        rows.append((model, statistics.median(r["epoch_ms"] for r in one),
                     statistics.median(r["epoch_ms"] for r in ours), statistics.median(ratios), ratios, same))
    print(f"\n| model | ms/epoch, 1 per call | ms/epoch, {STEPS_PER_EXECUTION} per call | ratio (median) | rounds "
          f"| same MAE |\n|---|---:|---:|---:|---|---|")
    for model, one_ms, ours_ms, ratio, ratios, same in rows:
        print(f"| {model} | {one_ms:.1f} | {ours_ms:.1f} | {ratio:.3f} | {' '.join(f'{r:.3f}' for r in ratios)} "
              f"| {'yes' if same else '**no**'} |")
    print(f"speedup: {math.exp(statistics.mean(math.log(row[3]) for row in rows)):.3f}x")


if __name__ == "__main__":
    main()
