"""Benchmark: each engine choice of ``ridership reproduce`` against its absence, on the same machine.

One subcommand per choice; each runs both sides in fresh processes, alternating, ``--rounds``
times, set up as a worker of ``ridership reproduce`` with its defaults (one CPU each,
TensorFlow kept out), and changes only the choice measured:

- ``tensorflow``: TensorFlow kept out of a JAX training process (``ridership.engine.runtime.keep_tensorflow_out``)
  or imported as Keras would import it: the process's peak memory and time, end to end;
- ``wavenet``: the WaveNet as one ``CausalConvStack`` (``fused_wavenet``) or as the chapter's
  ``Conv1D`` layers: time per epoch after the first;
- ``trim``: the memory freed in each epoch handed back to the system
  (``ridership.training.ReleaseFreedMemory``, and ``release_freed_memory`` after each run) or
  kept by glibc: the process's peak memory and time, end to end, two models one after the other
  as a worker trains them;
- ``steps``: 64 batches per call into Keras' training step (``STEPS_PER_EXECUTION``) or one:
  time per epoch after the first, for two models.

Each prints a line per round, the medians, and as its last line ``speedup: <ratio>x``, the
median over rounds of (time without the choice) / (time with it); for ``tensorflow`` and
``trim`` the line before it gives the memory ratio.

    python benchmarks/choices.py tensorflow --rounds 3
    python benchmarks/choices.py wavenet --rounds 3 --epochs 20
    python benchmarks/choices.py steps --rounds 3 --epochs 20
    python benchmarks/choices.py trim --rounds 3 --epochs 20
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHOICES = {  # name -> (model, epochs by default, label with, label without)
    "tensorflow": ("univar", 20, "kept out", "imported"),
    "wavenet": ("wavenet", 20, "fused", "Conv1D layers"),
    "steps": ("univar,seq2seq", 20, "64 per call", "1 per call"),
    "trim": ("full_wavenet,gru", 20, "freed memory handed back", "kept by glibc"),
}


def worker(choice: str, with_it: bool, names: list[str], epochs: int) -> None:
    """One side, in this fresh process: train ``names`` for ``epochs`` as a reproduce worker would."""
    tick = time.perf_counter()
    from ridership.engine.runtime import cores, keep_tensorflow_out, release_freed_memory, use_cpus

    use_cpus(cores()[:1])
    if with_it or choice != "tensorflow":
        keep_tensorflow_out()
    import keras  # noqa: F401  (Keras and its backend load here, in the time measured)

    import ridership
    from ridership.experiments import fit_experiment
    from ridership.training import ReleaseFreedMemory
    from timing import EpochTimer

    df = ridership.load_ridership()
    rows = []
    for name in names:
        timer = EpochTimer()
        extra = {}
        if choice == "wavenet":
            extra["chapter_layers"] = not with_it
        if choice == "steps":
            extra["steps_per_execution"] = 64 if with_it else 1
        trim = [ReleaseFreedMemory()] if choice == "trim" and with_it else []
        fit = fit_experiment(name, df, 42, epochs=epochs, patience=None, callbacks=[timer, *trim], **extra)
        del fit
        if trim:
            release_freed_memory()
        rows.append({"name": name, "epoch_ms": timer.steady_ms})
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": time.perf_counter() - tick, "rows": rows, "peak_mb": usage.ru_maxrss / 1024,
                      "faults": usage.ru_minflt, "tensorflow": sys.modules.get("tensorflow") is not None}))


def side(choice: str, with_it: bool, names: str, epochs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "JAX_COMPILATION_CACHE_DIR")}
    env.update(KERAS_BACKEND="jax", PYTHONPATH=os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")])))
    cmd = [sys.executable, __file__, choice, "--worker", "with" if with_it else "without", "--models", names,
           "--epochs", str(epochs)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"{choice} ({'with' if with_it else 'without'}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("choice", choices=CHOICES)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both sides, alternating (default 3)")
    parser.add_argument("--epochs", type=int, help="epochs per model (default: the choice's)")
    parser.add_argument("--models", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=("with", "without"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names, default_epochs, label_with, label_without = CHOICES[args.choice]
    epochs = args.epochs or default_epochs
    if args.worker:
        worker(args.choice, args.worker == "with", (args.models or names).split(","), epochs)
        return
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    print(f"{args.choice}: {names}, {epochs} epochs, {args.rounds} round(s), one CPU per side; "
          f"with = {label_with}, without = {label_without}")
    per_epoch = args.choice in ("wavenet", "steps")
    ratios, memory = [], []
    for n in range(args.rounds):
        pair = {}
        for with_it in (False, True) if n % 2 else (True, False):
            pair[with_it] = side(args.choice, with_it, names, epochs)
        if per_epoch:
            parts = [pair[False]["rows"][i]["epoch_ms"] / pair[True]["rows"][i]["epoch_ms"] for i in range(len(pair[True]["rows"]))]
            ratio = statistics.geometric_mean(parts)
            detail = "  ".join(f"{row['name']} {pair[False]['rows'][i]['epoch_ms']:.0f} / {row['epoch_ms']:.0f} ms per epoch"
                               for i, row in enumerate(pair[True]["rows"]))
        else:
            ratio = pair[False]["seconds"] / pair[True]["seconds"]
            detail = (f"without {pair[False]['seconds']:.1f} s, {pair[False]['peak_mb']:,.0f} MB, "
                      f"{pair[False]['faults']:,} faults; with {pair[True]['seconds']:.1f} s, "
                      f"{pair[True]['peak_mb']:,.0f} MB, {pair[True]['faults']:,} faults")
        ratios.append(ratio)
        memory.append(pair[False]["peak_mb"] / pair[True]["peak_mb"])
        print(f"round {n + 1}: {detail}; ratio {ratio:.2f}", flush=True)
    print(f"median peak memory ratio (without / with): {statistics.median(memory):.2f}x")
    print(f"speedup: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
