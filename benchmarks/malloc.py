"""Benchmark: one run of ``ridership reproduce`` with glibc's sliding malloc thresholds against fixed ones.

Each run is a fresh process set up as ``ridership reproduce`` sets up a worker (one compute
thread, JAX, no TensorFlow, four malloc arenas) that does one run of ``--model`` as the
command does (the chapter's protocol: up to 500 epochs, early stopping, seed 42; then the
test score and the saved model). The two sides differ only in glibc's thresholds:
"sliding" leaves its defaults, "fixed" calls ``ridership.parallel.tune_malloc``. Each
round starts one run of each side at once, as the command keeps two runs going on two
cores. Every run prints its training seconds and minor page faults: a run whose step
buffers are mapped afresh at every step shows millions. The summary gives each side's
median, mean and worst time and how many runs faulted more than a million times; the
last line is ``speedup: <ratio>x`` (sliding's mean time over fixed's: the mean, because
the cost is the occasional bad run).

    python benchmarks/malloc.py [--model gru] [--rounds 8] [--data PATH]

Linux with glibc only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUN = """
import json, resource, tempfile
from ridership import parallel
parallel.limit_threads(1)
parallel.without_tensorflow()
parallel.tune_malloc(fixed_thresholds={fixed})
from ridership.reproduce import _setup, run_job
_setup({data!r})
settings = {{"out": tempfile.mkdtemp(), "mode": "full", "verbose": 0, "data_path": {data!r}, "sarima_workers": 1}}
before = resource.getrusage(resource.RUSAGE_SELF)
record = run_job({model!r}, 42, settings)
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"seconds": record["seconds"], "faults": after.ru_minflt - before.ru_minflt,
                  "mae": record["valid_mae"], "epochs": record["epochs"]}}))
"""


def run(model: str, fixed: bool, data: str | None) -> dict:
    """One run in a fresh process; returns its training seconds, page faults, MAE and epochs."""
    env = {**os.environ, "KERAS_BACKEND": "jax",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES",
                 "RIDERSHIP_QUICK"):
        env.pop(name, None)  # the thresholds come from the script alone; full runs only
    done = subprocess.run([sys.executable, "-c", RUN.format(fixed=fixed, model=model, data=data)],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"a run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gru", help="an experiment's name (default: gru)")
    parser.add_argument("--rounds", type=int, default=8, help="rounds, each one run a side at once (default 8)")
    parser.add_argument("--data", help="path to ridership.tgz (default: RIDERSHIP_DATA, cache or download)")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        sys.exit("malloc.py measures glibc's allocator: run it on Linux.")
    sides = {"sliding": [], "fixed": []}
    with ThreadPoolExecutor(2) as pool:
        for i in range(args.rounds):
            futures = {side: pool.submit(run, args.model, side == "fixed", args.data) for side in sides}
            for side, future in futures.items():
                record = future.result()
                sides[side].append(record)
                print(f"round {i + 1:2d} {side:8} {record['seconds']:6.1f} s {record['faults']:>11,} faults  "
                      f"{record['epochs']} epochs  valid MAE {record['mae']:,.1f}", flush=True)
    print(f"\n{args.model}, one thread, {args.rounds} rounds:")
    for side, records in sides.items():
        times = [r["seconds"] for r in records]
        bad = sum(r["faults"] > 1_000_000 for r in records)
        print(f"{side:8} median {statistics.median(times):5.1f} s  mean {statistics.mean(times):5.1f} s  "
              f"worst {max(times):5.1f} s  runs over a million faults: {bad} of {len(records)}")
    maes = {round(r["mae"], 3) for records in sides.values() for r in records}
    print("the same validation MAE in every run" if len(maes) == 1 else f"validation MAEs differ: {sorted(maes)}")
    ratio = statistics.mean(r["seconds"] for r in sides["sliding"]) / statistics.mean(
        r["seconds"] for r in sides["fixed"])
    print(f"speedup: {ratio:.2f}x")


if __name__ == "__main__":
    main()
