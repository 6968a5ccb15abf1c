"""Benchmark: the book's recipe against ridership's defaults, each side in its own process(es).

- recipe: the chapter as the book runs it: TensorFlow backend, windows built with
  keras.utils / tf.data window+flat_map, default threading, one experiment after another
  in one process, the SARIMA backtest as a plain serial loop; nothing tuned;
- ours: what ``ridership reproduce`` does with its defaults (run as that command).

Two modes:

- ``--epochs N``: every model trains exactly N epochs, no early stopping, one process per
  side. Measures the speed of an epoch; ours (JAX, NumPy windows) is measured in the two ways
  ``ridership reproduce`` trains: a model alone (``--only NAME``: every core, as the recipe
  has) and as one of the runs the full command trains at once (one thread each, one run
  per core). The headline is the geometric mean over the models of
  the ratios of the time per epoch after the first, for the model alone; the line before
  it gives the same for one thread.
  ``--repeat R`` runs R rounds, the sides alternating, and takes each model's median ratio:
  on a noisy 2-core machine one round's ratios move by a third between runs.
- no ``--epochs``: to convergence with the chapter's protocol, every experiment of the
  chapter (naive and SARIMA included), seed 42. The headline is the end-to-end ratio:
  recipe seconds over the wall-clock seconds of ``ridership reproduce`` (which also
  computes test MAEs and saves every model: extra work on our side; it starts from an empty
  results folder, so its compile cache starts empty too). The table's ratio column is each
  run's own time ratio (SARIMA's over its validation backtest), and the line before the last
  gives their geometric mean over the experiments: lower with
  our defaults, which train two runs at once (each on one thread, so each takes longer than
  its share of the wall clock), and moved by the sides stopping at different epochs.
  ``--recipe-seeds K`` also runs the recipe under seeds 43.. to show its spread.

The recipe's finished experiments are kept in ``--out`` (one JSON each, written atomically),
so an interrupted run resumes; ``--redo recipe|ours`` discards a side's saved results.
Memory: the peak over the run of the resident (RSS) and proportional (PSS: shared pages
split between the processes sharing them) set sizes, summed over each side's process tree,
sampled every 0.2 s. The last line is ``speedup: <ratio>x``.

    python benchmarks/speed.py --only univar,lstm --epochs 20
    python benchmarks/speed.py --only univar,deep,lstm,gru,wavenet --epochs 20 --repeat 5
    python benchmarks/speed.py --out /tmp/speed
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ridership.settings import FIRST_SEED  # the seed `ridership reproduce` starts from; no Keras

HERE = Path(__file__).resolve().parent
#: The recipe runs on TensorFlow's own defaults, oneDNN on, whatever the caller's environment says.
RECIPE_ENV = {"KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "1"}


# --- measuring -----------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB, from /proc; zeros if it has gone."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
        return int(fields["Rss"].split()[0]), int(fields["Pss"].split()[0])
    except (OSError, KeyError, ValueError):
        return 0, 0


class TreeMemory(threading.Thread):
    """Samples the summed RSS and PSS of a process and its descendants; keeps the peaks (MB)."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak_rss, self.peak_pss = pid, every, 0.0, 0.0
        self._done = threading.Event()

    def run(self):
        while not self._done.wait(self.every):
            pids, todo = [], [self.pid]
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo += _children(pid)
            rss, pss = map(sum, zip(*(_memory_kb(p) for p in pids)))
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss / 1024), max(self.peak_pss, pss / 1024)

    def stop(self):
        self._done.set()
        self.join()


def run_measured(cmd: list[str], env: dict, log: Path | None = None) -> tuple[float, TreeMemory, str]:
    """Run ``cmd``; return (seconds, memory sampler, stdout). Exits with the side's stderr on failure."""
    tick = time.perf_counter()
    err = open(log, "w") if log else subprocess.PIPE
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    memory = TreeMemory(proc.pid)
    memory.start()
    out, errors = proc.communicate()
    memory.stop()
    seconds = time.perf_counter() - tick
    if proc.returncode:
        text = log.read_text() if log else errors
        sys.exit(f"{' '.join(cmd[:4])} ... failed:\n{text[-3000:]}")
    return seconds, memory, out


def _save(path: Path, record: dict) -> None:
    """Atomic JSON write (not ``ridership.engine.storage``: importing the package would load Keras here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(record, f)
    os.replace(tmp, path)


THREAD_VARS = ("NPROC", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "GLIBC_TUNABLES")
THREAD_FLAGS = ("--xla_cpu_multi_thread_eigen=", "intra_op_parallelism_threads=")


def child_env(**extra: str) -> dict:
    """This environment without thread caps, malloc tunables or a compile cache, plus ``extra``.

    Each side must start from its own defaults: a cap inherited from the caller (a shell
    that set one) would otherwise hold the recipe and "ours alone" to one thread without
    saying so. A JAX compile cache of the caller's (``JAX_COMPILATION_CACHE_DIR``) is dropped
    too: ours would start warm. The checkout this script is in comes first on ``PYTHONPATH``,
    so both sides run its package rather than whichever one the environment has installed.
    """
    env = {k: v for k, v in os.environ.items() if k not in (*THREAD_VARS, "XLA_FLAGS", "JAX_COMPILATION_CACHE_DIR")}
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if not f.startswith(THREAD_FLAGS)]
    path = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    return {**env, "PYTHONPATH": path, **({"XLA_FLAGS": " ".join(flags)} if flags else {}), **extra}


def geo(xs) -> float:
    xs = list(xs)
    return math.exp(sum(map(math.log, xs)) / len(xs))


# --- the sides, run in child processes -------------------------------------------------------

def recipe_worker(names: list[str], seeds: list[int], out: Path) -> None:
    """The book's way, one experiment after another; each finished one saved to ``out``."""
    import resource

    import keras

    import ridership
    from ridership.datasets import make_data
    from ridership.experiments import EXPERIMENTS
    from sarima import straightforward

    df = ridership.load_ridership()
    for seed in seeds:
        for name in names:
            path = out / f"{name}-seed{seed}.json"
            if path.exists() or (name in ("naive", "sarima") and seed != FIRST_SEED):
                continue
            tick = time.perf_counter()
            epochs = None
            if name == "naive":
                mae = float(ridership.naive_errors(df).loc["rail", "mae"])
            elif name == "sarima":
                mae = straightforward(df["rail"], "2019-03-01", "2019-05-31")[1]
            else:
                exp = EXPERIMENTS[name]
                # The book sets the seed before it builds the datasets: a tf.data shuffle draws its
                # order from the global seed in force when it is created, so without this the order
                # would follow whichever run came before in this process (or none, for the first).
                keras.utils.set_random_seed(seed)
                data = make_data(exp.data, df, fast=False)  # tf.data windows, as the chapter builds them
                result = ridership.fit_and_evaluate(ridership.MODELS[exp.model], data["train"], data["valid"],
                                                    exp.learning_rate, seed=seed)
                mae, epochs = result.mae, len(result.history.epoch)
            _save(path, {"name": name, "seed": seed, "seconds": time.perf_counter() - tick, "mae": mae,
                         "epochs": epochs, "self_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
            print(f"recipe {name}-seed{seed}: {mae:,.0f} in {time.perf_counter() - tick:.1f} s", file=sys.stderr, flush=True)


def epochs_worker(side: str, names: list[str], epochs: int, threads: int | None = None) -> None:
    """Exactly ``epochs`` epochs per model; one JSON line per model on stdout.

    Ours is set up as a worker of ``ridership reproduce``: TensorFlow kept out, and on
    ``threads`` CPUs when given (one, as each of the runs the full command trains at once);
    it trains through ``fit_experiment``, as the command does.
    """
    if side == "ours":
        from ridership.engine.runtime import cores, keep_tensorflow_out, use_cpus

        use_cpus(cores()[:threads] if threads else None)
        keep_tensorflow_out()
    import keras

    import ridership
    from ridership.datasets import make_data
    from ridership.experiments import EXPERIMENTS, fit_experiment
    from timing import EpochTimer

    df = ridership.load_ridership()
    for name in names:
        exp = EXPERIMENTS[name]
        tick = time.perf_counter()
        timer = EpochTimer()
        if side == "ours":
            result = fit_experiment(name, df, FIRST_SEED, epochs=epochs, patience=None, callbacks=[timer])
        else:
            keras.utils.set_random_seed(FIRST_SEED)  # before the datasets, as in recipe_worker
            data = make_data(exp.data, df, fast=False)
            result = ridership.fit_and_evaluate(ridership.MODELS[exp.model], data["train"], data["valid"],
                                                exp.learning_rate, epochs=epochs, patience=None, callbacks=[timer],
                                                shuffle=exp.shuffle)
        print(json.dumps({"name": name, "seconds": time.perf_counter() - tick, "mae": result.valid_mae
                          if side == "ours" else result.mae,
                          "epoch_ms": timer.steady_ms, "first_epoch_s": timer.times[0],
                          "compute_threads": _compute_threads()}), flush=True)


def _compute_threads() -> int | None:
    """Threads in JAX's CPU compute pool (Linux names them in /proc); None elsewhere, on TensorFlow,
    or on a JAX that leaves them unnamed (0.7.2, Colab's; 0.10.2 names them)."""
    names = [p.read_text() for p in Path("/proc/self/task").glob("*/comm")] if sys.platform == "linux" else []
    return sum(n.startswith("tf_XLAEigen") for n in names) or None


# --- the two modes ---------------------------------------------------------------------------

OURS_WAYS = {  # label -> thread cap of the worker (None: JAX's default, one thread per core)
    "alone": None,
    "one thread": 1,
}


def per_epoch(names: list[str], epochs: int, repeat: int = 1) -> None:
    """The recipe and both ways of ours, ``repeat`` times, alternating (recipe, ours alone,
    ours one thread, recipe, ...).

    Each round's ratio pairs the sides measured minutes apart, so a slow spell of the
    machine shows as a spread between rounds rather than as one side's luck; the headline
    uses each model's median ratio over the rounds.
    """
    print(f"{len(names)} model(s), {epochs} epochs each, {repeat} round(s); recipe = TensorFlow + tf.data "
          f"windows, default threads; ours = JAX + NumPy windows")
    sides = {"recipe": ("recipe", None), **{way: ("ours", cap) for way, cap in OURS_WAYS.items()}}
    rounds, memory, seconds = [], {}, {side: 0.0 for side in sides}
    for _ in range(repeat):
        results = {}
        for side, (worker, cap) in sides.items():
            env = child_env(**(RECIPE_ENV if worker == "recipe" else {"KERAS_BACKEND": "jax"}), TF_CPP_MIN_LOG_LEVEL="2")
            cmd = [sys.executable, __file__, "--worker", worker, "--only", ",".join(names), "--epochs", str(epochs)]
            cmd += [] if cap is None else ["--threads", str(cap)]
            _, sampled, out = run_measured(cmd, env)
            label = side if worker == "recipe" else f"ours {side}"
            if label not in memory or sampled.peak_pss > memory[label].peak_pss:
                memory[label] = sampled
            results[side] = {r["name"]: r for r in map(json.loads, (l for l in out.splitlines() if l.startswith("{")))}
            seconds[side] += sum(results[side][n]["seconds"] for n in names)
        rounds.append(results)
    headline = {}
    for way, cap in OURS_WAYS.items():
        pool = {r[way][n]["compute_threads"] for r in rounds for n in names}
        print(f"\nours {way} (JAX compute threads: {', '.join(map(str, sorted(pool, key=str)))}): "
              + ("no cap, one thread per core, as `ridership reproduce --only NAME` trains one model (and Keras on "
                 "JAX does in your own code)" if cap is None else
                 f"capped at {cap}, as each of the runs the full `ridership reproduce` trains at once (one per core)"))
        paired = [{"recipe": r["recipe"], "ours": r[way]} for r in rounds]
        if repeat == 1:
            _per_epoch_table(names, paired[0])
        else:
            _per_epoch_rounds(names, paired)
        headline[way] = geo([statistics.median(r["recipe"][n]["epoch_ms"] / r[way][n]["epoch_ms"] for r in rounds)
                             for n in names])
    print()
    _print_memory(memory)
    for way in OURS_WAYS:
        print(f"wall-clock ratio, ours {way} (windows, compiling, {epochs} epochs): "
              f"{seconds['recipe'] / seconds[way]:.2f}x")
    print(f"speedup, ours one thread: {headline['one thread']:.2f}x")
    print(f"speedup: {headline['alone']:.2f}x")


def _per_epoch_table(names: list[str], results: dict) -> None:
    print(f"{'model':13} {'recipe s':>9} {'ours s':>8} {'recipe ms/ep':>13} {'ours ms/ep':>11} {'ratio':>6} "
          f"{'recipe 1st s':>13} {'ours 1st s':>11}")
    for name in names:
        r, o = results["recipe"][name], results["ours"][name]
        print(f"{name:13} {r['seconds']:9.1f} {o['seconds']:8.1f} {r['epoch_ms']:13.0f} {o['epoch_ms']:11.0f} "
              f"{r['epoch_ms'] / o['epoch_ms']:6.2f} {r['first_epoch_s']:13.1f} {o['first_epoch_s']:11.1f}")


def _per_epoch_rounds(names: list[str], rounds: list[dict]) -> None:
    """Median ms per epoch of each side and the median, min and max of the rounds' ratios."""
    print(f"{'model':13} {'recipe ms/ep':>13} {'ours ms/ep':>11} {'ratio':>6} {'ratio min-max':>14}   "
          f"ratio per round")
    for name in names:
        recipe = [r["recipe"][name]["epoch_ms"] for r in rounds]
        ours = [r["ours"][name]["epoch_ms"] for r in rounds]
        ratios = [a / b for a, b in zip(recipe, ours)]
        print(f"{name:13} {statistics.median(recipe):13.0f} {statistics.median(ours):11.0f} "
              f"{statistics.median(ratios):6.2f} {min(ratios):6.2f}-{max(ratios):<7.2f}   "
              + " ".join(f"{x:.2f}" for x in ratios))


def _print_memory(memory: dict) -> None:
    print("peak memory (process tree): " + "; ".join(
        f"{side} RSS {m.peak_rss:,.0f} MB / PSS {m.peak_pss:,.0f} MB" for side, m in memory.items()))


def convergence(names: list[str], out: Path, recipe_seeds: int, redo: str | None, extra: list[str],
                recipe_only: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if redo:
        shutil.rmtree(out / redo, ignore_errors=True)
        (out / f"{redo}.json").unlink(missing_ok=True)
    seeds = list(range(FIRST_SEED, FIRST_SEED + recipe_seeds))
    memory = {}

    # The recipe, resumable: one JSON per finished experiment and seed.
    env = child_env(**RECIPE_ENV, TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [sys.executable, __file__, "--worker", "recipe", "--only", ",".join(names), "--out", str(out),
           "--recipe-seeds", str(recipe_seeds)]
    _, memory["recipe"], _ = run_measured(cmd, env, log=out / "recipe.log")
    mem_file = out / "recipe-memory.json"  # peaks over every (resumed) part of the recipe run
    old = json.loads(mem_file.read_text()) if mem_file.exists() else {"rss": 0, "pss": 0}
    memory["recipe"].peak_rss = max(old["rss"], memory["recipe"].peak_rss)
    memory["recipe"].peak_pss = max(old["pss"], memory["recipe"].peak_pss)
    _save(mem_file, {"rss": memory["recipe"].peak_rss, "pss": memory["recipe"].peak_pss})
    recipe = {}
    if recipe_only:
        return
    for path in (out / "recipe").glob("*.json"):
        row = json.loads(path.read_text())
        recipe.setdefault(row["name"], {})[row["seed"]] = row

    # Ours: the command line with its defaults, from an empty results folder, timed as a whole.
    ours_file = out / "ours.json"
    if ours_file.exists():
        ours = json.loads(ours_file.read_text())
        memory["ours"] = TreeMemory(0)
        memory["ours"].peak_rss, memory["ours"].peak_pss = ours["peak_rss"], ours["peak_pss"]
    else:
        shutil.rmtree(out / "ours", ignore_errors=True)
        cmd = [sys.executable, "-m", "ridership", "reproduce", "--out", str(out / "ours"), "--only", ",".join(names),
               *extra]
        env = {k: v for k, v in child_env().items() if k != "KERAS_BACKEND"}
        seconds, memory["ours"], _ = run_measured(cmd, env, log=out / "ours.log")
        runs = {}
        for path in (out / "ours" / "runs").glob("*.json"):
            row = json.loads(path.read_text())
            runs[row["experiment"]] = row
        ours = {"seconds": seconds, "runs": runs, "peak_rss": memory["ours"].peak_rss,
                "peak_pss": memory["ours"].peak_pss, "args": extra}
        _save(ours_file, ours)

    print(f"{len(names)} experiment(s) to convergence, seed {FIRST_SEED}; recipe = TensorFlow + tf.data windows, "
          f"serial; ours = `{' '.join(['ridership reproduce', *extra])}`" + ("" if extra else " (its defaults)"))
    print("\n".join(convergence_table(names, recipe, ours["runs"], ours["seconds"], spread=recipe_seeds > 1)))
    _print_memory(memory)
    print(_per_experiment_line(names, recipe, ours["runs"]))
    total_recipe = sum(recipe[n][FIRST_SEED]["seconds"] for n in names)
    print(f"speedup: {total_recipe / ours['seconds']:.2f}x")


def convergence_table(names: list[str], recipe: dict, runs: dict, wall: float, spread: bool = False) -> list[str]:
    """The table at convergence, one line per experiment: both sides' seconds, the ratio of the
    run's own time (``_own_ratio``: SARIMA's over its validation backtest, the recipe's work;
    none for naive, milliseconds on both sides), both MAEs, the epochs; with ``spread``, the
    recipe's MAE range over its seeds, whether ours is inside it, and a line naming those outside."""
    lines = [f"{'experiment':13} {'recipe s':>9} {'ours s':>7} {'ratio':>6} {'recipe MAE':>11} {'ours MAE':>9} "
             f"{'diff %':>7} {'epochs r/o':>11}" + (f" {'recipe min-max':>17} {'inside':>6}" if spread else "")]
    note, outside = None, []
    for name in names:
        r, o = recipe[name][FIRST_SEED], runs[name]
        ratio = _own_ratio(name, r, o)
        maes = [row["mae"] for row in recipe[name].values()]
        line = (f"{name:13} {r['seconds']:9.1f} {o['seconds']:7.1f} {'-' if ratio is None else f'{ratio:.2f}':>6} "
                f"{r['mae']:11,.0f} {o['valid_mae']:9,.0f} {100 * (o['valid_mae'] / r['mae'] - 1):+7.1f} "
                f"{r['epochs'] or 0:5d}/{o['epochs'] or 0:<5d}")
        valid, apart = _own_seconds(o)
        if name == "sarima" and apart:
            note = f"(sarima's ratio is over our validation backtest, {valid:.1f} of its {o['seconds']:.1f} s)"
        if spread and name in ("naive", "sarima"):
            line += f" {'(deterministic)':>17} {'same' if round(o['valid_mae']) == round(r['mae']) else 'NO':>6}"
        elif spread:
            inside = min(maes) <= o["valid_mae"] <= max(maes)
            outside += [] if inside or len(maes) == 1 else [name]
            line += (f" {min(maes):8,.0f}-{max(maes):<8,.0f} "
                     f"{('yes' if inside else 'NO') if len(maes) > 1 else 'n/a':>6} {len(maes)} seeds")
        lines.append(line)
    total_recipe = sum(recipe[n][FIRST_SEED]["seconds"] for n in names)
    lines.append(f"{'total':13} {total_recipe:9.1f} {wall:7.1f} {total_recipe / wall:6.2f}   (ours: wall clock of the "
                 f"whole command, start-up included; per-experiment times overlap when it runs experiments in parallel)")
    lines += [note] if note else []
    if spread:
        few = [n for n in names if n not in ("naive", "sarima") and len(recipe[n]) == 1]
        lines.append("our MAE outside the recipe's spread: " + (", ".join(outside) or "none")
                     + (f"; only one recipe seed, not judged: {', '.join(few)}" if few else ""))
    return lines


def _own_ratio(name: str, recipe_row: dict, run: dict) -> float | None:
    """Recipe seconds over the run's own seconds for the same work; None for naive."""
    if name == "naive":  # milliseconds on both sides: a ratio of timer noise
        return None
    return recipe_row["seconds"] / _own_seconds(run)[0]


def _own_seconds(run: dict) -> tuple[float, bool]:
    """A run's own seconds for the work the recipe does too, and whether that could be told
    apart: SARIMA's run also backtests the test period; since the validation backtest's time
    is saved on its own (``valid_seconds``), that is what compares with the chapter's loop."""
    valid = (run.get("detail") or {}).get("valid_seconds")
    return (float(valid), True) if valid is not None else (float(run["seconds"]), run["experiment"] != "sarima")


def _per_experiment_line(names: list[str], recipe: dict, runs: dict) -> str:
    """The geometric mean over the experiments of each one's own time ratio, the figure the
    issue first named for the last line. Not the headline at convergence: with its defaults
    ours trains two runs at once, one thread each, so a run's own time is longer than its
    share of the wall clock (with ``--ours-args "--jobs 1"`` it is not), and the sides stop
    at different epochs (their random streams differ)."""
    ratios, unlike = {}, []
    for name in names:
        ratio = _own_ratio(name, recipe[name][FIRST_SEED], runs[name])
        if ratio is None:
            continue
        ratios[name] = ratio
        unlike += [] if _own_seconds(runs[name])[1] else [name]
    if not ratios:
        return "per experiment: nothing but naive run"
    networks = [r for n, r in ratios.items() if n != "sarima"]
    parts = [f"{geo(ratios.values()):.2f}x over {len(ratios)} experiment(s)"]
    if "sarima" in ratios and networks:
        parts.append(f"{geo(networks):.2f}x over the {len(networks)} network(s)")
    note = f"; {', '.join(unlike)}: ours also backtests the test period (time not saved apart)" if unlike else ""
    return ("per experiment, geometric mean of recipe s / ours s (each run's own time; naive left out): "
            f"{', '.join(parts)}{note}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated experiments (default: every one of the chapter)")
    parser.add_argument("--epochs", type=int, help="train exactly this many epochs (default: to convergence)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="with --epochs: rounds of both sides, alternating; the ratio is each model's median")
    parser.add_argument("--out", default="benchmark-speed", help="folder for saved results (convergence mode)")
    parser.add_argument("--recipe-seeds", type=int, default=1, help="seeds for the recipe, from 42 (its spread)")
    parser.add_argument("--redo", choices=("recipe", "ours"), help="discard one side's saved results first")
    parser.add_argument("--ours-args", default="", help="extra arguments for `ridership reproduce` (e.g. '--jobs 1')")
    parser.add_argument("--recipe-only", action="store_true", help="run (or resume) only the recipe's side")
    parser.add_argument("--worker", choices=("recipe", "ours"), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)  # ours' thread cap in a per-epoch worker
    args = parser.parse_args(argv)
    if args.repeat < 1 or (args.repeat > 1 and not args.epochs):
        parser.error(f"--repeat {args.repeat}: give at least 1, and more than 1 only with --epochs (per-epoch mode)")

    # Ask a child for the experiment names: importing ridership here would load a Keras backend
    # into this process, whose shared pages would then blur the sides' memory (PSS).
    order = subprocess.run([sys.executable, "-c", "from ridership.engine.tables import ROW_ORDER; print(*ROW_ORDER)"],
                           capture_output=True, text=True, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    ORDER = order.stdout.split()
    models = [n for n in ORDER if n not in ("naive", "sarima")]
    default = models if args.epochs else list(ORDER)
    names = args.only.split(",") if args.only else default
    unknown = [n for n in names if n not in (models if args.epochs else ORDER)]
    if unknown:
        sys.exit(f"unknown experiment(s): {', '.join(unknown)}; choose from {', '.join(default)}")
    if args.worker and args.epochs:
        epochs_worker(args.worker, names, args.epochs, args.threads)
    elif args.worker:
        recipe_worker(names, list(range(FIRST_SEED, FIRST_SEED + args.recipe_seeds)), Path(args.out) / "recipe")
    elif args.epochs:
        per_epoch(names, args.epochs, args.repeat)
    else:
        convergence(names, Path(args.out), args.recipe_seeds, args.redo, args.ours_args.split(), args.recipe_only)


if __name__ == "__main__":
    main()
