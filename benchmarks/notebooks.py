"""Benchmark: notebooks 4 and 5 run in full on the default backend (JAX when installed) and on TensorFlow.

Each notebook runs top to bottom in a fresh kernel (nbclient), as a reader runs it from Jupyter:
first every notebook on the default backend (``KERAS_BACKEND`` unset, so the first cell's
``ridership.choose_backend()`` picks JAX when it is installed), then every notebook with ``KERAS_BACKEND=tensorflow``, one after
the other. A notebook's time is its kernel's start to its last cell's end. It prints each
notebook's time on each side, the backend each kernel reported in its first cell, and as its last
line ``speedup: <ratio>x``: the total TensorFlow time over the total default time.

Full mode trains every model of the two notebooks to convergence (up to 500 epochs each), as the
notebooks do by default; ``--quick`` sets ``RIDERSHIP_QUICK=1`` (2 epochs per training), only to
check that the script runs: its ratio measures start-up and compiling, not training.

    RIDERSHIP_DATA=../shared/data/ridership.tgz python benchmarks/notebooks.py
    python benchmarks/notebooks.py --quick [--notebooks 04,05]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SIDES = ("default", "tensorflow")


def find(numbers: list[str]) -> list[Path]:
    paths = []
    for number in numbers:
        matches = sorted(NOTEBOOKS.glob(f"{number}_*.ipynb"))
        if len(matches) != 1:
            sys.exit(f"error: no single notebook numbered {number} in {NOTEBOOKS} (found {[p.name for p in matches]})")
        paths.extend(matches)
    return paths


def environment(side: str, quick: bool) -> dict:
    """The kernel's environment: each side on its backend's own defaults (no KERAS_BACKEND or
    TF_ENABLE_ONEDNN_OPTS of the caller's), in full mode unless ``quick``."""
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "TF_ENABLE_ONEDNN_OPTS")}
    if side == "tensorflow":
        env["KERAS_BACKEND"] = "tensorflow"
    env.pop("RIDERSHIP_QUICK", None)
    if quick:
        env["RIDERSHIP_QUICK"] = "1"
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return env


def run(path: Path, env: dict, timeout: int) -> tuple[float, str]:
    """Execute ``path`` in a fresh kernel started with ``env``; return (seconds, the backend it reported)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    tick = time.perf_counter()
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        sys.exit(f"error: {path.name} failed on {env.get('KERAS_BACKEND', 'the default backend')}: {last}")
    seconds = time.perf_counter() - tick
    first = next(c for c in notebook.cells if c.cell_type == "code")
    text = "".join(o.get("text", "") for o in first.outputs if o.output_type == "stream")
    found = re.search(r"Keras backend: (\w+)", text)
    return seconds, found.group(1) if found else "?"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", default="04,05", help="notebook numbers, comma-separated (default: 04,05)")
    parser.add_argument("--quick", action="store_true", help="RIDERSHIP_QUICK=1: check that the script runs")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell (default: 3600)")
    args = parser.parse_args(argv)
    paths = find([n.strip() for n in args.notebooks.split(",") if n.strip()])
    mode = "quick" if args.quick else "full"
    print(f"notebooks {', '.join(p.name for p in paths)} in {mode} mode, each in a fresh kernel, one after the other")
    times = {side: {} for side in SIDES}
    backends = {}
    for side in SIDES:
        env = environment(side, args.quick)
        for path in paths:
            seconds, backend = run(path, env, args.timeout)
            times[side][path] = seconds
            backends.setdefault(side, set()).add(backend)
            print(f"{side:10} ({backend:10}) {path.name:45} {seconds:8.1f} s", flush=True)
    if backends["tensorflow"] != {"tensorflow"} or "tensorflow" in backends["default"]:
        sys.exit(f"error: the kernels ran on {backends}; the default side must not be TensorFlow, "
                 "and KERAS_BACKEND=tensorflow must give TensorFlow")
    default_name = "/".join(sorted(backends["default"]))
    print(f"\n{'notebook':45} {'default (' + default_name + ')':>16} {'tensorflow':>12}")
    for path in paths:
        print(f"{path.name:45} {times['default'][path]:14.1f} s {times['tensorflow'][path]:10.1f} s")
    totals = {side: sum(times[side].values()) for side in SIDES}
    print(f"{'total':45} {totals['default']:14.1f} s {totals['tensorflow']:10.1f} s")
    print(f"speedup: {totals['tensorflow'] / totals['default']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
