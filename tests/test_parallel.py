"""The fast defaults: runs in parallel worker processes, quick mode from the environment, no TensorFlow on JAX."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from ridership.reproduce import reproduce

ROOT = Path(__file__).resolve().parents[1]


def test_parallel_runs_give_the_same_results_as_one_after_another(tmp_path, data_path):
    quiet = {"quick": True, "data_path": data_path, "progress": False, "log": lambda line: None}
    serial = reproduce(tmp_path / "serial", only="naive,linear,univar,mulvar", jobs=1, **quiet)
    parallel = reproduce(tmp_path / "parallel", only="naive,linear,univar,mulvar", jobs=2, **quiet)
    assert list(parallel["experiment"]) == ["naive", "linear", "univar", "mulvar"]  # the chapter's order
    pd.testing.assert_series_equal(serial["valid_mae"], parallel["valid_mae"])  # every run seeds itself
    assert len(list((tmp_path / "parallel" / "models").glob("*.keras"))) == 3
    import keras  # the compile cache is JAX's: on other backends no folder appears

    assert (tmp_path / "parallel" / "compile-cache").is_dir() == (keras.backend.backend() == "jax")


def test_compile_cache_on_jax_is_reused_and_changes_no_result(tmp_path, data_path):
    """A rerun into the same folder loads every program the first run compiled; without the
    cache the run gives the same MAE and leaves no cache folder."""
    env = {k: v for k, v in _env_with_root().items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env["KERAS_BACKEND"] = "jax"

    def run(out, *extra) -> list[float]:
        cmd = [sys.executable, "-m", "ridership", "reproduce", "--only", "univar,mulvar", "--quick", "--out", str(out),
               "--data", str(data_path), *extra]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return [json.loads((out / "runs" / f"{name}-seed42.json").read_text())["valid_mae"] for name in ("univar", "mulvar")]

    first = run(tmp_path / "a")
    cache = tmp_path / "a" / "compile-cache"
    entries = sorted(path.name for path in cache.iterdir())
    assert len(entries) > 10  # the steps and the small functions, from both processes
    assert run(tmp_path / "a", "--force") == first
    assert sorted(path.name for path in cache.iterdir()) == entries  # nothing compiled anew
    assert run(tmp_path / "b", "--no-compile-cache") == first
    assert not (tmp_path / "b" / "compile-cache").exists()


def test_quick_mode_from_the_environment(monkeypatch, tmp_path, data_path):
    from ridership import MODELS, fit_and_evaluate, make_data

    monkeypatch.setenv("RIDERSHIP_QUICK", "1")
    data = make_data("univar", pd.read_pickle(_frame(tmp_path, data_path)))
    result = fit_and_evaluate(MODELS["linear"], data["train"], data["valid"], 0.02, epochs=50, patience=None)
    assert len(result.history.epoch) == 2
    table = reproduce(tmp_path / "r", only="linear", data_path=data_path, progress=False, log=lambda line: None)
    assert table.iloc[0]["mode"] == "quick" and table.iloc[0]["epochs"] == 2
    monkeypatch.setenv("RIDERSHIP_QUICK", "0")
    from ridership.training import quick_mode

    assert not quick_mode()


def _env_with_root() -> dict:
    """This environment with the project's root first on PYTHONPATH, for the benchmark scripts."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _frame(tmp_path, data_path):
    from ridership import load_ridership

    path = tmp_path / "df.pkl"
    load_ridership(data_path).to_pickle(path)
    return path


def test_jax_worker_trains_on_one_thread_and_saves_without_tensorflow(tmp_path, data_path):
    script = textwrap.dedent(f"""
        import json, sys
        from ridership.parallel import worker_setup
        worker_setup(threads=1)
        import keras, ridership
        from ridership.experiments import make_data
        data = make_data("univar", ridership.load_ridership({str(data_path)!r}))
        result = ridership.fit_and_evaluate(ridership.MODELS["univar"], data["train"], data["valid"], 0.05, epochs=1)
        result.history.model.save({str(tmp_path / "m.keras")!r})
        # JAX's CPU compute pool: one thread, not one per core (Linux names its threads in /proc)
        from pathlib import Path
        pool = sum(p.read_text().startswith("tf_XLAEigen") for p in Path("/proc/self/task").glob("*/comm"))
        print(json.dumps({{"backend": keras.backend.backend(), "tensorflow": sys.modules.get("tensorflow") is not None,
                          "pool": pool if sys.platform == "linux" else 1}}))
    """)
    env = {"KERAS_BACKEND": "jax", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"backend": "jax", "tensorflow": False, "pool": 1}
    assert (tmp_path / "m.keras").is_file()


MALLOC_PROBE = textwrap.dedent("""
    import ctypes, importlib.util, json, sys
    # parallel.py alone (standard library only): the package's imports would move glibc's thresholds first
    spec = importlib.util.spec_from_file_location("parallel", sys.argv[1])
    parallel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(parallel)
    libc = parallel._glibc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        print(json.dumps(None))
        sys.exit()
    class Info(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")]
    libc.mallinfo2.restype = Info
    libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    if sys.argv[2] == "tuned":
        parallel.tune_malloc()
    mapped = libc.mallinfo2().hblks
    block = libc.malloc(16 << 20)
    mapped = libc.mallinfo2().hblks - mapped
    libc.free(block)
    print(json.dumps({"mapped": mapped, "kept": libc.mallinfo2().keepcost}))
""")


def test_tune_malloc_keeps_a_freed_16_mb_block_for_reuse():
    """glibc by default maps a 16 MB block afresh and unmaps it when freed; tuned, it comes from the
    heap and stays there free for the next allocation (what a training step's buffers need)."""
    probe = {}
    for side in ("default", "tuned"):
        done = subprocess.run([sys.executable, "-c", MALLOC_PROBE, str(ROOT / "ridership" / "parallel.py"), side],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        probe[side] = json.loads(done.stdout)
    if probe["default"] is None:
        pytest.skip("not glibc 2.33 or newer")
    assert probe["default"]["mapped"] == 1 and probe["default"]["kept"] < 16 << 20
    assert probe["tuned"]["mapped"] == 0 and probe["tuned"]["kept"] >= 16 << 20


def test_heap_trim_runs_once_after_the_first_epoch(monkeypatch, tmp_path, data_path):
    from ridership import MODELS, fit_and_evaluate, make_data, parallel
    from ridership.training import HeapTrim

    calls = []
    monkeypatch.setattr(parallel, "trim_heap", lambda: calls.append(1) or True)
    data = make_data("univar", pd.read_pickle(_frame(tmp_path, data_path)))
    fit_and_evaluate(MODELS["linear"], data["train"], data["valid"], 0.02, epochs=3, patience=None,
                     callbacks=[HeapTrim()])
    assert calls == [1]


def test_malloc_benchmark_runs_both_sides(data_path):
    """benchmarks/malloc.py, one round of linear: both sides run, the seed gives both the same MAE."""
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc only")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "malloc.py"), "--model", "linear", "--rounds", "1",
                           "--data", str(data_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert [line.split()[2] for line in lines if line.startswith("round")] == ["sliding", "fixed"]
    assert any(line.startswith("fixed ") and "runs over a million faults: 0 of 1" in line for line in lines)
    assert "the same validation MAE in every run" in lines
    assert lines[-1].startswith("speedup: ") and lines[-1].endswith("x")


def test_steps_benchmark_runs_both_sides(data_path):
    """benchmarks/steps.py, one round of linear: both sides run in turn and give the same MAE; a bad name is refused."""
    from ridership.reproduce import STEPS_PER_EXECUTION

    script = str(ROOT / "benchmarks" / "steps.py")
    done = subprocess.run([sys.executable, script, "--only", "linear", "--rounds", "1", "--epochs", "2", "--data",
                           str(data_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    sides = [line.split("round 1 ")[1].split(" ms/epoch")[0].rsplit(None, 1)[0] for line in lines if "round 1" in line]
    assert sides == ["1 per call", f"{STEPS_PER_EXECUTION} per call"]
    row = next(line for line in lines if line.startswith("| linear |")).split("|")
    assert row[-2].strip() == "yes"  # the same validation MAE on both sides
    assert lines[-1] == f"speedup: {float(row[4]):.3f}x"  # one model: the headline is its ratio
    refused = subprocess.run([sys.executable, script, "--only", "linear,transformer"], capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode != 0 and "unknown: transformer" in refused.stderr


def test_overlap_benchmark_pairs_runs(data_path):
    """benchmarks/overlap.py, one round of linear: a run alone and two at once, the same MAE; a bad name is refused."""
    script = str(ROOT / "benchmarks" / "overlap.py")
    done = subprocess.run([sys.executable, script, "--only", "linear", "--rounds", "1", "--epochs", "3", "--data",
                           str(data_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    paired = next(line for line in lines if line.startswith("linear") and " paired " in line)
    assert len(paired.split("epoch_ms ")[1].split()) == 2  # two copies ran at once
    row = [cell.strip() for cell in next(line for line in lines if line.startswith("| linear |")).split("|")]
    alone_ms, cores, paired_ms, ratio = float(row[2]), float(row[3]), float(row[5]), float(row[6])
    assert alone_ms > 0 and cores > 0
    # the ratio is the paired runs' ms over the lone run's, up to the table's rounding (ms to 0.1, ratio to 0.001)
    assert abs(ratio * alone_ms - paired_ms) <= 0.05 * (1 + ratio) + 0.0005 * alone_ms + 1e-9
    assert row[7] == "yes"  # one seed, one thread: the same MAE alone and paired
    assert any(line.startswith("| control:") for line in lines)
    assert lines[-1] == f"paired / alone: {ratio:.3f}x"  # one model: the headline is its ratio
    refused = subprocess.run([sys.executable, script, "--only", "lstm,transformer"], capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode != 0 and "unknown: transformer" in refused.stderr


def test_default_backend_is_jax_when_installed(tmp_path, data_path):
    """And the command starts on JAX: TensorFlow is never imported (it used to load, then restart on JAX)."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "ridership", "reproduce", "--quick", "--only",
                           "naive", "--out", str(tmp_path / "r"), "--data", str(data_path)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "backend: jax, 2 job(s)" in done.stdout or "backend: jax, 1 job(s)" in done.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert "keras" in imported and "jax" in imported  # the importtime lines were read
    assert "tensorflow" not in imported


def test_speed_benchmark_runs_both_sides(tmp_path):
    """A smoke test of the benchmark's plumbing (one model, 2 epochs, two rounds); the ratio itself is not asserted.

    Ours is measured twice per round: alone (no cap: JAX's pool has one thread per core, as
    `ridership reproduce --only NAME` trains) and capped at one thread (a run of the full command).
    Thread caps in the caller's environment (as `limit_threads` leaves in a process that ran
    `reproduce` with several jobs) must not reach the sides.
    """
    from ridership.parallel import cores

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
    if sys.platform == "linux":
        assert f"(JAX compute threads: {cores()})" in headers[0] and "(JAX compute threads: 1)" in headers[1]
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


def test_spread_benchmark_reads_the_runs_kept_in_the_repository():
    """The README's spread table comes from benchmarks/seed-runs: every kept network gets a row."""
    saved = ROOT / "benchmarks" / "seed-runs"
    names = {path.name.split("-seed")[0] for path in (saved / "recipe").glob("*-seed*.json")}
    env = _env_with_root()
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "spread.py")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split()[0] for line in done.stdout.splitlines()[1:] if not line.startswith(("our ", "ranges "))}
    assert names and rows == names


def test_order_benchmark_trains_each_order_and_compares_them(tmp_path):
    """benchmarks/order.py: the chapter's tf.data order trains (one epoch here); saved runs are reused."""
    out = tmp_path / "order"
    for order, maes in (("buffer", (100.0, 110.0, 117.0)), ("full", (200.0, 210.0, 220.0))):
        for seed, mae in zip((42, 43, 44), maes):
            path = out / order / f"seq2seq-seed{seed}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"valid_mae": mae, "epochs": 9, "seconds": 1.0}))
    (out / "dataset").mkdir()
    for seed in (43, 44):  # seed 42 of the tf.data order is the one run left to train
        (out / "dataset" / f"seq2seq-seed{seed}.json").write_text(json.dumps({"valid_mae": 300.0 + seed, "epochs": 9,
                                                                              "seconds": 1.0}))
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    for seed, mae in ((42, 105.0), (43, 115.0), (44, 118.0)):
        (recipe / f"seq2seq-seed{seed}.json").write_text(json.dumps({"name": "seq2seq", "seed": seed, "mae": mae}))
    script = str(ROOT / "benchmarks" / "order.py")
    done = subprocess.run([sys.executable, script, "--only", "seq2seq", "--seeds", "3", "--epochs", "1",
                           "--recipe", str(recipe), "--out", str(out)],
                          capture_output=True, text=True, timeout=600, env=_env_with_root())
    assert done.returncode == 0, done.stderr[-2000:]
    trained = json.loads((out / "dataset" / "seq2seq-seed42.json").read_text())
    assert trained["order"] == "dataset" and trained["epochs"] == 1 and 1_000 < trained["valid_mae"] < 1e6
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:] if " vs " not in line}
    assert rows["recipe"][1:5] == ["3", "105", "115", "118"]
    assert rows["buffer"][1:6] == ["3", "100", "110", "117", "0.700"]  # interleaved with the recipe's
    assert rows["full"][5] == "0.100"  # every run above the recipe's: the smallest p 3 against 3 allows
    assert "buffer vs full: p = 0.100" in done.stdout
    wrong = subprocess.run([sys.executable, script, "--only", "univar", "--out", str(out)],
                           capture_output=True, text=True, timeout=120, env=_env_with_root())
    assert wrong.returncode != 0 and "sequence-to-sequence" in wrong.stderr and "seq2seq" in wrong.stderr


def _floor_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("floor", ROOT / "benchmarks" / "floor.py")
    floor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(floor)
    return floor


def test_floor_counts_the_wavenets_work_as_its_layers_do():
    """benchmarks/floor.py's hand count of one WaveNet window agrees with the built model's convolutions."""
    import keras

    from ridership import MODELS

    floor = _floor_module()
    forward, n_train, n_valid, shape = floor.models()["wavenet"]
    per_step = 0
    for layer in MODELS["wavenet"]().layers:
        if isinstance(layer, keras.layers.Conv1D):
            taps, inputs, filters = layer.kernel.shape
            per_step += 2 * taps * inputs * filters + filters
    assert forward == floor.LONG_SEQ_LENGTH * per_step
    assert (n_train, n_valid) == (971, 26)  # the windows make_data("longer") gives the train and valid periods
    assert shape == (32 * 112, 64, 32)


def test_floor_benchmark_runs_and_refuses_unknown_models():
    script = str(ROOT / "benchmarks" / "floor.py")
    done = subprocess.run([sys.executable, script, "--only", "univar", "--epochs", "2", "--threads", "1"],
                          capture_output=True, text=True, timeout=300, env=_env_with_root())
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert "threads: 1" in lines[0]
    row = lines[-1].split()
    assert row[0] == "univar" and row[3] == "32x32x32" and float(row[-2]) > 0
    wrong = subprocess.run([sys.executable, script, "--only", "wavnet"],
                           capture_output=True, text=True, timeout=120, env=_env_with_root())
    assert wrong.returncode != 0 and "wavnet" in wrong.stderr and "wavenet" in wrong.stderr


@pytest.mark.parametrize("form", ["fused", "products"])
def test_conv_matmul_benchmark_computes_the_same_convolutions(form):
    """benchmarks/conv_matmul.py: its matrix-product WaveNet starts from Conv1D's weights and gives its outputs."""
    env = {**_env_with_root(), "KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "conv_matmul.py"), "--epochs", "1", "--rounds", "1",
                           "--threads", "1", "--form", form], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith(f"wavenet, backend jax, threads: 1, form: {form}")
    gap = next(line for line in lines if line.startswith("outputs before training"))
    assert float(gap.split("max |difference| ")[1].split()[0]) < 1e-6
    maes = next(line for line in lines if line.startswith("validation MAE after training"))
    conv, matmul = (float(part.split()[-1].replace(",", "")) for part in maes.split(":")[1].split(", "))
    assert abs(conv - matmul) <= 1e-3 * conv  # one epoch from the same weights: the same up to rounding
    assert lines[-1].startswith("speedup: ") and lines[-1].endswith("x")


def test_profile_ops_reads_xlas_operations_from_the_trace():
    """benchmarks/profile_ops.py: the WaveNet's Conv1D step shows XLA's convolutions, the fused one none."""
    script = str(ROOT / "benchmarks" / "profile_ops.py")
    env = {**_env_with_root(), "KERAS_BACKEND": "jax"}
    kinds = {}
    for layers in ("chapter", "fused"):
        done = subprocess.run([sys.executable, script, "--layers", layers, "--epochs", "1", "--top", "40"],
                              capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        lines = done.stdout.strip().splitlines()
        assert lines[0].startswith(f"wavenet, layers: {layers}, threads: 1, 31 steps per epoch")
        assert float(lines[1].split()[1]) > 0
        kinds[layers] = {line.split()[0] for line in lines[3:-1]}
    assert "convolution" in kinds["chapter"]
    assert not any(kind.startswith("conv") for kind in kinds["fused"])
    wrong = subprocess.run([sys.executable, script, "--model", "wavnet"], capture_output=True, text=True,
                           timeout=120, env=env)
    assert wrong.returncode != 0 and "wavnet" in wrong.stderr
