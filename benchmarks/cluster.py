"""Benchmark: the same runs on a local Dask cluster (``--scheduler``) against ``ridership reproduce --jobs 2``.

Both sides run the same ``ridership reproduce`` command (the same experiments, seeds and mode),
each into a fresh results folder, one after the other on this machine:

- local: ``--jobs 2``, two runs at once, each in a fresh process on its own core;
- cluster: a ``dask scheduler`` and two ``dask worker --nthreads 1 --no-nanny`` on 127.0.0.1,
  each worker pinned to its own core (as ``--jobs 2`` pins each run), started and warmed up
  before the clock starts (a cluster is running before its commands come), then the command
  with ``--scheduler``. Each run there also gets a fresh process, on its worker.

It prints each side's wall time, the training time its records hold and the validation MAEs
(which must be the same: the same seeds give the same numbers); then the cluster's overhead
per run, (cluster wall time - local wall time) * 2 slots / runs; and as its last line
``speedup: <ratio>x``, local wall time / cluster wall time (at least 0.9 is the target).

    python benchmarks/cluster.py --only linear,univar,deep,mulvar,multask,ahead --seeds 2
    python benchmarks/cluster.py --only linear --quick        # a smoke test of the plumbing
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment() -> dict:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "MPLBACKEND": "Agg"}


class LocalCluster:
    """A scheduler and ``WORKERS`` single-threaded workers on 127.0.0.1, each its own process group."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes: list[subprocess.Popen] = []

    def _start(self, name: str, args: list, cpu: int | None = None) -> None:
        def pin():
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})

        with open(self.folder / f"{name}.log", "ab") as log:
            self.processes.append(subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log,
                                                   stderr=subprocess.STDOUT, env=environment(), cwd=self.folder,
                                                   start_new_session=True, preexec_fn=pin))

    def __enter__(self) -> "LocalCluster":
        from distributed import Client

        port = self.address.rsplit(":", 1)[1]
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"])
        cores = sorted(os.sched_getaffinity(0))
        for k in range(WORKERS):
            self._start(f"worker{k}", ["worker", self.address, "--name", f"w{k}", "--nthreads", "1", "--no-nanny",
                                       "--no-dashboard", "--host", "127.0.0.1"],
                        cores[k % len(cores)] if len(cores) > 1 else None)
        with Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(WORKERS, timeout=120)
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait()


def side(out: Path, args, extra: list) -> dict:
    """Run the command into ``out``; its wall time, the records' training time and the MAEs."""
    command = [sys.executable, "-m", "ridership", "reproduce", "--only", args.only, "--seeds", str(args.seeds),
               "--out", str(out), *(["--quick"] if args.quick else []), *extra]
    tick = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environment())
    wall = time.perf_counter() - tick
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    records = [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))]
    return {"wall": wall, "runs": len(records), "trained": sum(r["seconds"] for r in records),
            "mae": {r["run"]: r["valid_mae"] for r in records}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="linear,univar,deep,mulvar,multask,ahead", help="experiments")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per experiment (default 2)")
    parser.add_argument("--quick", action="store_true", help="2 epochs a run (a smoke test); default: full runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ridership-cluster-bench-") as tmp:
        tmp = Path(tmp)
        mode = "quick" if args.quick else "full"
        print(f"runs: {args.only} x {args.seeds} seed(s), {mode} mode; {WORKERS} slots each side", flush=True)
        local = side(tmp / "local", args, ["--jobs", str(WORKERS)])
        (tmp / "cluster").mkdir()
        with LocalCluster(tmp / "cluster") as cluster:
            remote = side(tmp / "cluster" / "results", args, ["--scheduler", cluster.address])

    print(f"\n{'side':8} {'wall (s)':>9} {'runs':>5} {'training in records (s)':>24} {'wall per run (s)':>17}")
    for name, got in (("local", local), ("cluster", remote)):
        print(f"{name:8} {got['wall']:9.1f} {got['runs']:5d} {got['trained']:24.1f} {got['wall'] / got['runs']:17.2f}")
    same = local["mae"] == remote["mae"]
    print(f"same validation MAEs, run by run: {'yes' if same else 'NO'}")
    if not same:
        for run in sorted(local["mae"]):
            print(f"  {run:24} local {local['mae'][run]:12,.1f}  cluster {remote['mae'].get(run, float('nan')):12,.1f}")
    print(f"cluster overhead per run: {(remote['wall'] - local['wall']) * WORKERS / remote['runs']:.2f} s "
          f"(wall-time difference x {WORKERS} slots / runs)")
    print(f"speedup: {local['wall'] / remote['wall']:.2f}x")


if __name__ == "__main__":
    main()
