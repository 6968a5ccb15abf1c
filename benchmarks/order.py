"""Does the order of the training windows move a network's validation MAE? One network, three orders, over seeds.

Trains a sequence-to-sequence network (default ``custom_ln``) on the current backend (JAX when
installed) for each seed, feeding the same training windows in three orders:

- ``dataset``: the chapter's own ``tf.data`` pipeline (windows in time order through a
  256-window shuffle buffer), exactly as the recipe builds it (seed set first);
- ``buffer``: our NumPy windows through ``ridership.BufferShuffled`` (the same kind of order,
  drawn by NumPy), what ``ridership reproduce`` does for these networks;
- ``full``: our NumPy windows shuffled whole every epoch by Keras (``fit(shuffle=True)``).

It prints each order's minimum, median and maximum over the seeds, and exact two-sided
Mann-Whitney p-values between the orders and against the recipe's runs of the same network
on TensorFlow (``--recipe``, default the runs kept in ``seed-runs/recipe``). A small p against
the recipe for one order and not for another says the order, not the backend, made the gap.
Each run is written to ``OUT/<order>/<name>-seed<N>.json`` when it ends; a rerun skips it.

    RIDERSHIP_DATA=../shared/data/ridership.tgz python benchmarks/order.py --seeds 8 --out /tmp/order
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from itertools import combinations
from pathlib import Path

if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("jax") is not None:
    os.environ["KERAS_BACKEND"] = "jax"  # our default backend, as `ridership reproduce --backend auto`

from spread import FIRST_SEED, SAVED, load_runs, mann_whitney_p  # noqa: E402  (benchmarks/ is on sys.path)

ORDERS = ("dataset", "buffer", "full")


def train(name: str, order: str, seed: int, df, fast: dict, epochs: int) -> dict:
    """One run of ``name`` with its windows in ``order``; the validation windows are the same NumPy ones."""
    import keras

    import ridership
    from ridership.experiments import EXPERIMENTS, make_data

    exp = EXPERIMENTS[name]
    tick = time.perf_counter()
    if order == "dataset":
        keras.utils.set_random_seed(seed)  # the pipeline's shuffle draws from the global seed when built
        train_set, shuffle = make_data(exp.data, df, fast=False)["train"], True
    else:
        train_set, shuffle = fast["train"], "buffer" if order == "buffer" else True
    result = ridership.fit_and_evaluate(ridership.MODELS[name], train_set, fast["valid"], exp.learning_rate,
                                        epochs=epochs, seed=seed, shuffle=shuffle)
    keras.backend.clear_session()
    return {"name": name, "order": order, "seed": seed, "valid_mae": result.mae, "epochs": len(result.history.epoch),
            "seconds": time.perf_counter() - tick, "backend": keras.backend.backend()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="custom_ln", help="the network (a sequence-to-sequence one)")
    parser.add_argument("--seeds", type=int, default=8, help="seeds 42, 43, ... (default 8)")
    parser.add_argument("--orders", default=",".join(ORDERS), help=f"comma-separated, from {', '.join(ORDERS)}")
    parser.add_argument("--epochs", type=int, default=None, help="cap on epochs (default: the chapter's 500)")
    parser.add_argument("--recipe", default=str(SAVED / "recipe"), help="the recipe's saved runs")
    parser.add_argument("--out", required=True, help="folder for the runs (resumable)")
    args = parser.parse_args(argv)

    import ridership
    from ridership.experiments import BUFFERED_KINDS, EXPERIMENTS, make_data
    from ridership.training import MAX_EPOCHS
    from ridership.storage import write_json

    name = args.only
    if name not in EXPERIMENTS or EXPERIMENTS[name].data not in BUFFERED_KINDS:
        buffered = [n for n, e in EXPERIMENTS.items() if e.data in BUFFERED_KINDS]
        sys.exit(f"--only takes one sequence-to-sequence network ({', '.join(buffered)}); got {name!r}")
    orders = args.orders.split(",")
    if unknown := [o for o in orders if o not in ORDERS]:
        sys.exit(f"unknown order(s) {', '.join(unknown)}; choose from {', '.join(ORDERS)}")
    df = ridership.load_ridership()
    fast = make_data(EXPERIMENTS[name].data, df)
    maes: dict[str, list[float]] = {}
    for order in orders:
        for seed in range(FIRST_SEED, FIRST_SEED + args.seeds):
            path = Path(args.out) / order / f"{name}-seed{seed}.json"
            if path.exists():
                run = json.loads(path.read_text())
            else:
                run = train(name, order, seed, df, fast, args.epochs or MAX_EPOCHS)
                write_json(path, run)
            print(f"{order:8} seed {seed}: {run['valid_mae']:9,.0f}  {run['epochs']:4d} epochs  {run['seconds']:6.1f} s",
                  file=sys.stderr, flush=True)
            maes.setdefault(order, []).append(run["valid_mae"])

    recipe = sorted(load_runs(Path(args.recipe), "mae").get(name, {}).values()) if Path(args.recipe).is_dir() else []
    print(f"{name}, validation MAE over seeds {FIRST_SEED} to {FIRST_SEED + args.seeds - 1} "
          f"({os.environ.get('KERAS_BACKEND', 'tensorflow')} backend)")
    print(f"{'order':9} {'n':>3} {'min':>9} {'median':>9} {'max':>9} {'p vs recipe':>12}")
    rows = ([("recipe", recipe)] if recipe else []) + [(o, sorted(maes[o])) for o in orders]
    for label, xs in rows:
        p = mann_whitney_p(xs, recipe) if recipe and label != "recipe" else None
        print(f"{label:9} {len(xs):>3} {xs[0]:9,.0f} {statistics.median(xs):9,.0f} {xs[-1]:9,.0f} "
              f"{'' if p is None else f'{p:.3f}':>12}")
    for a, b in combinations(orders, 2):
        p = mann_whitney_p(maes[a], maes[b])
        print(f"{a} vs {b}: p = {'n/a' if p is None else f'{p:.3f}'}")


if __name__ == "__main__":
    main()
