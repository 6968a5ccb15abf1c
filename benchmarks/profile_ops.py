"""Where an epoch's time goes: XLA's operations of one model's training step, on JAX.

Trains the model as ``fit_and_evaluate`` builds and compiles it, but with a plain loop of
its jitted training step over the chapter's training windows (no validation, no callbacks),
records ``--epochs`` epochs with JAX's profiler and prints, per kind of XLA operation (the
name XLA gives it, less its number: ``convolution``, ``dot``, ``transpose_copy_fusion``...),
the milliseconds per epoch it ran and its share. The profiler adds a cost to every
operation, small ones most, so the shares matter more than the sums; the line ``untraced``
gives the same loop's time per epoch without the profiler.

    python benchmarks/profile_ops.py [--model wavenet] [--layers chapter|fused] [--threads 1]

A tool for reading, not a benchmark: it prints no ratio.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
if "--xla_cpu_enable_xprof_traceme" not in os.environ.get("XLA_FLAGS", ""):  # names XLA's operations in the trace
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_enable_xprof_traceme=true".strip()

from ridership import parallel  # noqa: E402


def train_step(model, learning_rate: float):
    """The jitted step ``fit`` runs: the compiled loss, its gradient, the optimizer's update."""
    import jax

    from ridership.training import compile_model

    compile_model(model, learning_rate)
    model.optimizer.build(model.trainable_variables)
    loss_fn = model.loss  # the chapter's, as compile_model sets it

    def loss(trainable, other, x, y):
        predicted, other = model.stateless_call(trainable, other, x, training=True)
        return loss_fn(y, predicted), other

    gradient = jax.value_and_grad(loss, has_aux=True)

    @jax.jit
    def step(state, x, y):
        trainable, other, optimizer = state
        (value, other), grads = gradient(trainable, other, x, y)
        trainable, optimizer = model.optimizer.stateless_apply(optimizer, grads, trainable)
        return (trainable, other, optimizer), value

    state = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in model.optimizer.variables])
    return step, state


def op_times(trace_dir: Path, epochs: int) -> dict[str, float]:
    """Milliseconds per epoch per kind of operation, on the thread that ran XLA's program."""
    path = next(trace_dir.rglob("*.trace.json.gz"))
    events = [e for e in json.load(gzip.open(path))["traceEvents"] if e.get("ph") == "X"]
    runs = collections.Counter(e["tid"] for e in events if e["name"] == "ThunkExecutor::Execute")
    if not runs:
        raise SystemExit(f"no XLA operations in the trace {path}: this JAX does not name them")
    thread = runs.most_common(1)[0][0]
    totals: dict[str, float] = collections.Counter()
    for e in events:
        name = e["name"]
        if e["tid"] == thread and not name.startswith(("ThunkExecutor", "end:", "Threadpool")):
            totals[re.sub(r"\.\d+$", "", name)] += e["dur"] / 1000 / epochs
    return dict(totals)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="wavenet")
    parser.add_argument("--layers", choices=("chapter", "fused"), default="chapter",
                        help="the WaveNet's layers: the chapter's Conv1D or the package's CausalConvStack")
    parser.add_argument("--threads", type=int, default=1, help="compute threads (default 1, as each run of reproduce)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs recorded, after 3 to compile and settle")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    parallel.worker_setup(args.threads)
    import jax
    import keras
    import numpy as np

    import ridership
    from ridership.experiments import EXPERIMENTS, make_data
    from ridership.reproduce import model_builder

    if args.model not in EXPERIMENTS:
        parser.error(f"unknown model {args.model!r}; choose from {', '.join(EXPERIMENTS)}")
    exp = EXPERIMENTS[args.model]
    X, Y = (np.asarray(a) for a in make_data(exp.data, ridership.load_ridership())["train"])
    keras.utils.set_random_seed(42)
    model = model_builder(args.model, args.layers)()
    step, state = train_step(model, exp.learning_rate)
    batches = [(jax.numpy.asarray(X[i:i + 32]), jax.numpy.asarray(Y[i:i + 32])) for i in range(0, len(X), 32)]

    def epoch(state):
        for x, y in batches:
            state, value = step(state, x, y)
        value.block_until_ready()
        return state

    plain = []
    for _ in range(3 + args.epochs):
        tick = time.perf_counter()
        state = epoch(state)
        plain.append(1000 * (time.perf_counter() - tick))
    with tempfile.TemporaryDirectory() as folder:
        jax.profiler.start_trace(folder)
        for _ in range(args.epochs):
            state = epoch(state)
        jax.profiler.stop_trace()
        totals = op_times(Path(folder), args.epochs)
    layers = f", layers: {args.layers}" if args.model == "wavenet" else ""
    print(f"{args.model}{layers}, threads: {args.threads}, {len(batches)} steps per epoch, "
          f"{args.epochs} epochs recorded")
    print(f"untraced: {statistics.median(plain[3:]):.1f} ms per epoch (median)")
    whole = sum(totals.values())
    print(f"{'operation':32} {'ms/epoch':>9} {'share':>6}")
    for name, ms in sorted(totals.items(), key=lambda item: -item[1])[:args.top]:
        print(f"{name:32} {ms:9.1f} {100 * ms / whole:5.1f}%")
    print(f"{'all operations (traced)':32} {whole:9.1f}")


if __name__ == "__main__":
    main()
