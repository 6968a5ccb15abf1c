"""The engine: backend choice, quiet and light commands, worker processes that die with their parent."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ridership"


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "JAX_COMPILATION_CACHE_DIR", "TF_ENABLE_ONEDNN_OPTS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **extra}


def _python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=_env(**env), timeout=300)


# --- start-up: light, quiet, on the documented backend ---------------------------------------

@pytest.mark.parametrize("command", [["--help"], ["data"]])
def test_commands_that_do_not_train_import_no_tensorflow_and_print_nothing_on_stderr(command, data_path):
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "ridership", *command], capture_output=True,
                          text=True, env=_env(RIDERSHIP_DATA=str(data_path)), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert not [line for line in lines if "tensorflow" in line]
    assert not [line for line in lines if not line.startswith("import time:")]  # nothing but -X importtime's
    assert not [line for line in lines if re.search(r"\| +keras\b", line)]


def test_the_reproduce_parent_loads_no_keras(data_path, tmp_path):
    """The parent only schedules: Keras, its backend and its plotting stay in the workers."""
    code = f"""
        import sys
        from ridership.cli import main
        try:
            main(["reproduce", "--quick", "--only", "naive", "--out", {str(tmp_path / "r")!r}])
        except SystemExit as exc:
            assert not exc.code, exc.code
        print(sorted(m for m in ("keras", "jax", "tensorflow", "matplotlib") if m in sys.modules))
    """
    done = _python(code, RIDERSHIP_DATA=str(data_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "[]"


def test_backend_follows_the_documented_order():
    code = """
        import ridership, os
        ridership.choose_backend()
        import keras
        print(keras.backend.backend(), os.environ.get("TF_ENABLE_ONEDNN_OPTS"))
    """
    assert _python(code).stdout.split() == ["jax", "0"]  # JAX when installed; TensorFlow only reads data
    assert _python(code, KERAS_BACKEND="tensorflow").stdout.split() == ["tensorflow", "None"]  # its fast kernels
    assert _python(code, TF_ENABLE_ONEDNN_OPTS="1").stdout.split() == ["jax", "1"]  # a setting of yours wins
    late = _python("""
        import keras, ridership
        try:
            ridership.choose_backend("tensorflow")
        except ridership.RidershipError as exc:
            print(keras.backend.backend(), "|", exc)
    """, KERAS_BACKEND="jax")
    assert late.stdout.startswith("jax | Keras is already running on jax"), late.stderr[-2000:]


def test_a_run_on_tensorflow_prints_none_of_its_start_up_notices(tmp_path, data_path):
    done = subprocess.run([sys.executable, "-m", "ridership", "reproduce", "--quick", "--only", "linear", "--backend",
                           "tensorflow", "--out", str(tmp_path / "r"), "--data", str(data_path)],
                          capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "linear-seed42" in done.stdout and "backend: tensorflow" in done.stdout
    assert not [word for word in ("absl", "oneDNN", "cpu_feature_guard", "Traceback") if word in done.stderr]


@pytest.mark.parametrize("how", ["keras, after importing the layers' module", "ridership.load_model"])
def test_saved_custom_layers_load_in_a_fresh_process(how, tmp_path):
    """Keras' convention: importing the module that defines a layer registers it."""
    save = _python(f"""
        import ridership
        ridership.choose_backend()
        ridership.build_model("custom_loop").save({str(tmp_path / "m.keras")!r})
    """)
    assert save.returncode == 0, save.stderr[-2000:]
    load = "import keras, ridership.layers; model = keras.saving.load_model" if how.startswith("keras") else \
        "import ridership; model = ridership.load_model"
    done = _python(f"""
        {load}({str(tmp_path / "m.keras")!r})
        print(type(model.layers[0]).__name__)
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["StepLoopRNN"]


def test_the_package_has_no_process_hacks():
    pattern = re.compile(r"orig_argv|execve|_src\b|keras\.src|jax\._src|tensorflow\.python")
    found = [f"{path.name}:{n}" for path in PACKAGE.rglob("*.py")
             for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim; elsewhere a no-op")
def test_freed_memory_is_handed_back_to_the_system():
    # small blocks come from malloc's heap, which glibc keeps when they are freed out of order
    done = _python("""
        from ridership.engine.runtime import release_freed_memory
        def anon_mb():
            return int(next(l for l in open("/proc/self/status") if l.startswith("RssAnon")).split()[1]) // 1024
        blocks = [bytes(1000) for _ in range(200_000)]
        kept = blocks[::50]
        del blocks
        before = anon_mb()
        print(release_freed_memory(), before, anon_mb())
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    handed_back, before, after = done.stdout.split()
    assert handed_back == "True"
    assert int(before) - int(after) > 100, (before, after)  # of about 200 MB freed


# --- workers ----------------------------------------------------------------------------------

PROBE = '''
import json, os, sys
from pathlib import Path

def probe(item, cpus):
    from ridership.engine.runtime import keep_tensorflow_out, use_cpus
    use_cpus(cpus)
    kept = keep_tensorflow_out()
    import keras, numpy as np
    import ridership
    keras.utils.set_random_seed(1)
    model = ridership.build_model("univar")
    model.compile(loss="mse", optimizer="sgd")
    model.fit(np.zeros((64, 56, 1)), np.zeros((64, 1)), epochs=1, verbose=0)
    model.save(item)
    pool = sum(p.read_text().startswith("tf_XLAEigen") for p in Path("/proc/self/task").glob("*/comm"))
    return {"cpus": sorted(os.sched_getaffinity(0)), "pool": pool, "kept": kept,
            "tensorflow": sys.modules.get("tensorflow") is not None, "backend": keras.backend.backend()}
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CPU affinity and /proc are Linux's")
def test_each_worker_trains_on_its_own_cpus_without_tensorflow(tmp_path):
    (tmp_path / "probe.py").write_text(PROBE)
    code = f"""
        import json, sys
        sys.path.insert(0, {str(tmp_path)!r})
        from probe import probe
        from ridership.engine.workers import run_longest_first
        if __name__ == "__main__":
            results = []
            items = [{str(tmp_path / "a.keras")!r}, {str(tmp_path / "b.keras")!r}]
            run_longest_first(probe, items, 2, cost=len, on_result=lambda item, r: results.append(r),
                              env={{"KERAS_BACKEND": "jax"}})
            print(json.dumps(results))
    """
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(code))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    cpus = sorted(os.sched_getaffinity(0))
    share = len(cpus) // min(2, len(cpus))
    assert all(r["backend"] == "jax" and r["kept"] and not r["tensorflow"] for r in results)
    assert all(len(r["cpus"]) == share and r["pool"] in (0, share) for r in results)  # JAX's pool: one per CPU
    if len(cpus) >= 2:
        assert not set(results[0]["cpus"]) & set(results[1]["cpus"])
    assert (tmp_path / "a.keras").is_file() and (tmp_path / "b.keras").is_file()


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found.update(kids)
            todo += kids
    return found


def _alive(pids) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _start_reproduce(out: Path, data_path: Path, only="linear,univar,mulvar,seq2seq") -> tuple:
    cmd = [sys.executable, "-m", "ridership", "reproduce", "--quick", "--jobs", "2", "--only", only, "--out", str(out),
           "--data", str(data_path)]
    # A shell starts a background command with Ctrl-C ignored, and Python then keeps it ignored:
    # the command gets Ctrl-C's default, as it has in a terminal, whatever ran these tests.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(),
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline, workers = time.monotonic() + 120, set()
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = {p for p in _descendants(proc.pid) if _is_worker(p)}
    assert len(workers) >= 2, "the command did not start its two workers"
    time.sleep(3)  # let them import and start training
    assert proc.poll() is None, "the command ended before it could be stopped"
    return cmd, proc, workers


def _is_worker(pid: int) -> bool:
    """A pool worker (not multiprocessing's resource tracker): it runs ``spawn_main``."""
    try:
        return "spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _gone_within(pids, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_parent_is_killed_and_the_rerun_completes(tmp_path, data_path):
    out = tmp_path / "results"
    cmd, proc, workers = _start_reproduce(out, data_path)
    proc.kill()  # SIGKILL: the parent gets no chance to stop anything
    proc.wait()
    assert _gone_within(workers, 5), f"workers {_alive(workers)} outlived their parent"
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    import pandas as pd

    assert list(pd.read_csv(out / "results.csv")["experiment"]) == ["linear", "univar", "mulvar", "seq2seq"]
    assert not [p for p in out.rglob(".*") if p.is_file() and p.name != ".lock"]  # no temporaries left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_stopping_the_command_stops_its_workers_and_says_so_in_one_line(how, tmp_path, data_path):
    _, proc, workers = _start_reproduce(tmp_path / "results", data_path)
    if how == "SIGTERM":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (143 if how == "SIGTERM" else 130)  # 128 + the signal's number, as a shell says
    assert _gone_within(workers, 5)
    assert err.strip().splitlines() == ["ridership: interrupted; finished work is saved, run the same command "
                                        "again to resume."], err[-2000:]


# --- quick mode and the compile cache ----------------------------------------------------------

def test_quick_mode_from_the_environment(monkeypatch, tmp_path, data_path):
    from ridership import fit_and_evaluate, load_ridership, make_data
    from ridership.models import linear
    from ridership.engine.reproduce import reproduce
    from ridership.training import quick_mode

    monkeypatch.setenv("RIDERSHIP_QUICK", "1")
    data = make_data("univar", load_ridership(data_path))
    result = fit_and_evaluate(linear, data["train"], data["valid"], 0.02, epochs=50, patience=None)
    assert len(result.history.epoch) == 2
    table = reproduce(tmp_path / "r", only="linear", data_path=data_path, progress=False, log=lambda line: None)
    assert table.iloc[0]["mode"] == "quick" and table.iloc[0]["epochs"] == 2
    monkeypatch.setenv("RIDERSHIP_QUICK", "0")
    assert not quick_mode()


def test_compile_cache_on_jax_is_reused_and_changes_no_result(tmp_path, data_path):
    """A rerun into the same folder loads the programs the first run compiled; without the cache
    the run gives the same MAE and leaves no cache folder."""
    def run(out, *extra) -> list[float]:
        cmd = [sys.executable, "-m", "ridership", "reproduce", "--only", "univar,mulvar", "--quick", "--out", str(out),
               "--data", str(data_path), "--backend", "jax", *extra]
        done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=600)
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
