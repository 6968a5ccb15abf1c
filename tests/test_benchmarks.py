"""The benchmarks' plumbing, on tiny settings: both sides run and the tables add up (no ratio is asserted)."""

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _version(package: str) -> tuple[int, ...]:
    """An installed package's release as numbers: (0, 10, 2)."""
    return tuple(int(part) for part in version(package).split(".")[:3] if part.isdigit())


def _env_with_root() -> dict:
    """This environment with the project's root first on PYTHONPATH, for the benchmark scripts."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def test_speed_benchmark_runs_both_sides(tmp_path):
    """A smoke test of the benchmark's plumbing (one model, 2 epochs, two rounds); the ratio itself is not asserted.

    Ours is measured twice per round: alone (every CPU: JAX's pool has one thread per core, as
    `ridership reproduce --only NAME` trains) and on one CPU (a run of the full command).
    Thread caps in the caller's environment must not reach the sides.
    """
    from ridership.engine.runtime import cores

    env = {**_env_with_root(), "NPROC": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
           "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--only", "linear", "--epochs", "2",
                           "--repeat", "2"], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[-2].startswith("speedup, ours one thread: ") and lines[-1].startswith("speedup: ")
    assert any("peak memory" in line and "ours alone" in line and "ours one thread" in line for line in lines)
    headers = [line for line in lines if line.startswith("ours ")]
    assert [h.split(" (")[0] for h in headers] == ["ours alone", "ours one thread"]
    # JAX 0.10.2 (requirements.txt) names its compute pool's threads, which Linux lists in /proc;
    # JAX 0.7.2 (Colab's) leaves them unnamed, so there the benchmark reports None.
    if sys.platform == "linux" and _version("jaxlib") >= (0, 10):
        assert f"(JAX compute threads: {len(cores())})" in headers[0] and "(JAX compute threads: 1)" in headers[1]
    rows = [line.split() for line in lines if line.startswith("linear ")]
    assert len(rows) == 2  # one table per way
    for row in rows:
        assert len(row) == 7  # name, two medians, median ratio, min-max, one ratio per round
        assert min(float(x) for x in row[-2:]) == float(row[4].split("-")[0])
    assert float(lines[-1].split()[-1].rstrip("x")) == float(rows[0][3])  # the headline: ours alone


def _speed_module():
    """benchmarks/speed.py, imported as a module."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import speed
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return speed


def test_speed_benchmark_sides_start_without_the_callers_caps_or_compile_cache(monkeypatch):
    speed = _speed_module()
    monkeypatch.setenv("NPROC", "1")
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1 --xla_dump_to=/tmp/d")
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/tmp/warm")  # ours must start cold
    env = speed.child_env(EXTRA="1")
    assert "NPROC" not in env and "JAX_COMPILATION_CACHE_DIR" not in env
    assert env["XLA_FLAGS"] == "--xla_dump_to=/tmp/d" and env["EXTRA"] == "1"
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)  # this checkout's package, not an installed one


def test_speed_benchmark_per_experiment_line_compares_the_same_work():
    speed = _speed_module()
    recipe = {name: {42: {"seconds": seconds}} for name, seconds in
              [("naive", 0.004), ("sarima", 3.0), ("linear", 40.0), ("lstm", 90.0)]}
    runs = {"naive": {"experiment": "naive", "seconds": 0.001},
            "sarima": {"experiment": "sarima", "seconds": 60.0, "detail": {"valid_seconds": 2.0}},
            "linear": {"experiment": "linear", "seconds": 10.0}, "lstm": {"experiment": "lstm", "seconds": 10.0}}
    names = list(recipe)
    line = speed._per_experiment_line(names, recipe, runs)
    # naive left out; SARIMA's validation backtest (1.5x), linear 4x, lstm 9x
    assert f"{(1.5 * 4 * 9) ** (1 / 3):.2f}x over 3 experiment(s)" in line
    assert "6.00x over the 2 network(s)" in line and "also backtests" not in line
    del runs["sarima"]["detail"]  # a run saved before the split: its whole time, and the line says so
    line = speed._per_experiment_line(names, recipe, runs)
    assert f"{(0.05 * 4 * 9) ** (1 / 3):.2f}x over 3" in line and "sarima: ours also backtests the test period" in line


def test_speed_benchmark_table_gives_each_experiments_ratio():
    """At convergence each row has its own ratio (SARIMA's over its validation backtest, none for
    naive), the total row the wall-clock one; with seeds, ours outside the recipe's range is named."""
    speed = _speed_module()
    recipe = {"naive": {42: {"seconds": 0.004, "mae": 42_143.0, "epochs": None}},
              "sarima": {42: {"seconds": 3.0, "mae": 32_041.0, "epochs": None}},
              "linear": {42: {"seconds": 40.0, "mae": 37_000.0, "epochs": 300},
                         43: {"seconds": 41.0, "mae": 38_000.0, "epochs": 280}},
              "lstm": {42: {"seconds": 90.0, "mae": 50_000.0, "epochs": 500},
                       43: {"seconds": 95.0, "mae": 51_000.0, "epochs": 500}}}
    runs = {"naive": {"experiment": "naive", "seconds": 0.001, "valid_mae": 42_143.0, "epochs": None},
            "sarima": {"experiment": "sarima", "seconds": 60.0, "valid_mae": 32_041.0, "epochs": None,
                       "detail": {"valid_seconds": 2.0}},
            "linear": {"experiment": "linear", "seconds": 10.0, "valid_mae": 37_500.0, "epochs": 150},
            "lstm": {"experiment": "lstm", "seconds": 12.5, "valid_mae": 49_000.0, "epochs": 480}}
    lines = speed.convergence_table(list(recipe), recipe, runs, wall=20.0, spread=True)
    header, rows = lines[0].split(), {line.split()[0]: line.split() for line in lines[1:6]}
    column = header.index("ratio") - 2  # "recipe s" and "ours s" are two words each in the header
    assert header[:7] == ["experiment", "recipe", "s", "ours", "s", "ratio", "recipe"]
    assert [rows[name][column] for name in recipe] == ["-", "1.50", "4.00", "7.20"]
    assert rows["total"][column] == f"{(0.004 + 3 + 40 + 90) / 20:.2f}"
    assert lines[6] == "(sarima's ratio is over our validation backtest, 2.0 of its 60.0 s)"
    assert rows["linear"][-4:] == ["37,000-38,000", "yes", "2", "seeds"] and rows["lstm"][-3] == "NO"
    assert lines[-1] == "our MAE outside the recipe's spread: lstm"
    del runs["sarima"]["detail"]  # saved before the split: its whole time, and no note
    lines = speed.convergence_table(list(recipe), recipe, runs, wall=20.0)
    assert lines[2].split()[column] == "0.05" and len(lines) == 6 and "spread" not in lines[-1]


def test_speed_benchmark_says_repeat_needs_epochs():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--repeat", "3"],
                          capture_output=True, text=True, timeout=120, env=_env_with_root())
    assert done.returncode != 0 and "--repeat" in done.stderr and "--epochs" in done.stderr


def test_spread_benchmark_judges_our_seed_42_against_the_recipes_seeds(tmp_path):
    """benchmarks/spread.py reads saved runs of both sides; no training."""
    for seed, mae in ((42, 100.0), (43, 110.0), (44, 120.0)):
        for name, shift in (("linear", 0.0), ("univar", 1000.0)):
            path = tmp_path / "speed" / "recipe" / f"{name}-seed{seed}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"name": name, "seed": seed, "mae": mae + shift}))
    for seed, linear, univar in ((42, 105.0, 900.0), (43, 130.0, 950.0)):
        runs = tmp_path / "ours" / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        (runs / f"linear-seed{seed}.json").write_text(json.dumps({"experiment": "linear", "seed": seed, "valid_mae": linear}))
        (runs / f"univar-seed{seed}.json").write_text(json.dumps({"experiment": "univar", "seed": seed, "valid_mae": univar}))
    env = _env_with_root()
    script = str(ROOT / "benchmarks" / "spread.py")
    done = subprocess.run([sys.executable, script, "--recipe", str(tmp_path / "speed"), "--ours", str(tmp_path / "ours")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:3]] == ["linear", "univar"]  # the chapter's order
    assert lines[1].split()[-3:-1] == ["yes", "yes"]  # 105 inside 100-120; ranges overlap
    assert lines[2].split()[-3:-1] == ["NO", "NO"]  # 900 below 1,100-1,120; 900-950 misses it
    assert "inside the recipe's min-max: 1 of 2 (outside: univar); expected if both sides drew from one distribution: 1.0" in done.stdout
    empty = subprocess.run([sys.executable, script, "--recipe", str(tmp_path / "none"), "--ours", str(tmp_path / "ours")],
                           capture_output=True, text=True, timeout=60, env=env)
    assert empty.returncode != 0 and "no saved runs" in empty.stderr


def test_spread_benchmark_reads_the_recipes_runs_kept_in_the_repository(tmp_path):
    """docs/fidelity.md's spread table comes from benchmarks/seed-runs: every kept network gets a row."""
    saved = ROOT / "benchmarks" / "seed-runs" / "recipe"
    names = {path.name.split("-seed")[0] for path in saved.glob("*-seed*.json")}
    runs = tmp_path / "ours" / "runs"
    runs.mkdir(parents=True)
    for name in names:
        (runs / f"{name}-seed42.json").write_text(json.dumps({"experiment": name, "seed": 42, "valid_mae": 1.0}))
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "spread.py"), "--ours", str(tmp_path / "ours")],
                          capture_output=True, text=True, timeout=300, env=_env_with_root())
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split()[0] for line in done.stdout.splitlines()[1:] if not line.startswith(("our ", "ranges "))}
    assert names and rows == names


def test_backtest_benchmark_runs_both_sides(tmp_path):
    """The study (two models, quick) and one network refit from scratch beside its fine-tuning; no ratio asserted."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "backtest.py"), "--quick", "--only", "naive,linear",
                           "--network", "linear", "--schedule", "weekly", "--out", str(tmp_path / "bt")],
                          capture_output=True, text=True, timeout=600, env=_env_with_root())
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[-1].startswith("speedup: ") and float(lines[-1].split()[-1].rstrip("x")) > 0
    assert any(line.startswith("the whole study: ") for line in lines)
    assert [line.split(" |")[0] for line in lines if line.startswith("| fine-tuned") or line.startswith("| from scratch")] \
        == ["| fine-tuned", "| from scratch"]
