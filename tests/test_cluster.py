"""Runs on a Dask cluster (``--scheduler``): a scheduler and workers on 127.0.0.1 that each test owns and stops.

The driver keeps the results folder and writes what the workers send back; a killed worker's
run is trained again elsewhere; a lost scheduler ends the command in one line and a rerun
resumes; a worker of another package version is refused. Without Dask's ``distributed`` the
cluster tests skip (the option's own message is tested without it).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ridership.engine.runs import check_run, load_runs

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = "linear,univar,mulvar"
RUNS = ("linear-seed42", "univar-seed42", "mulvar-seed42")
NEEDS = "needs Dask's distributed: pip install 'ridership[cluster]'"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_env(**extra) -> dict:
    """The tests' environment (data found as the package finds it), the worktree importable first."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "MPLBACKEND": "Agg", **extra}


class Cluster:
    """A Dask scheduler and workers on 127.0.0.1, each its own process group, all stopped by :meth:`stop`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler = None
        self.workers: dict[str, subprocess.Popen] = {}
        self.client = None

    def _start(self, name: str, args: list, env: dict, cpu: int | None = None) -> subprocess.Popen:
        def pin():  # each worker on its own core, as `reproduce --jobs 2` pins each run
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})

        log = open(self.folder / f"{name}.log", "ab")
        try:
            return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log, stderr=subprocess.STDOUT,
                                    env=env, cwd=self.folder, start_new_session=True, preexec_fn=pin)
        finally:
            log.close()

    def start_scheduler(self) -> "Cluster":
        self.scheduler = self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                                   "--no-dashboard"], worker_env())
        return self

    def add_worker(self, name: str, env: dict | None = None) -> None:
        cores = sorted(os.sched_getaffinity(0))
        cpu = cores[len(self.workers) % len(cores)] if len(cores) > 1 else None
        self.workers[name] = self._start(name, ["worker", self.address, "--name", name, "--nthreads", "1",
                                                "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
                                         env or worker_env(), cpu)

    def wait_for_workers(self, n: int, within: float = 120) -> None:
        from distributed import Client

        if self.client is None:
            self.client = Client(self.address, timeout=30, set_as_default=False)
        self.client.wait_for_workers(n, timeout=within)

    def busy_worker(self, within: float = 180) -> str:
        """The name of a worker with a run in flight (waits for one)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            info = self.client.scheduler_info()["workers"]
            busy = [info[address]["name"] for address, keys in self.client.processing().items()
                    if keys and address in info]
            if busy:
                return busy[0]
            time.sleep(0.2)
        raise AssertionError("no run was in flight")

    @staticmethod
    def _kill(process: subprocess.Popen | None) -> None:
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if process is not None:
            process.wait(timeout=30)

    def kill_worker(self, name: str) -> None:
        self._kill(self.workers[name])

    def _close_client(self) -> None:
        if self.client is not None:
            try:
                self.client.close(timeout=5)
            except Exception:
                pass
            self.client = None

    def kill_scheduler(self) -> None:
        self._kill(self.scheduler)
        self._close_client()

    def stop(self) -> None:
        self._close_client()
        for process in [*self.workers.values(), self.scheduler]:
            self._kill(process)


@pytest.fixture
def cluster_factory(tmp_path):
    """Makes clusters; every process they started is killed when the test ends, however it ends."""
    pytest.importorskip("distributed", reason=NEEDS)
    made = []

    def make(workers: int = 2, env: dict | None = None) -> Cluster:
        folder = tmp_path / f"cluster{len(made)}"
        folder.mkdir()
        cluster = Cluster(folder)
        made.append(cluster)
        cluster.start_scheduler()
        for k in range(workers):
            cluster.add_worker(f"w{k}", env)
        cluster.wait_for_workers(workers)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()
    for cluster in made:  # nothing left running
        assert all(p.poll() is not None for p in [*cluster.workers.values(), cluster.scheduler])


def reproduce_command(out: Path, *args) -> list:
    return [sys.executable, "-m", "ridership", "reproduce", "--quick", "--only", EXPERIMENTS, "--out", str(out), *args]


def run(command: list, one_core: bool = False, **env) -> subprocess.CompletedProcess:
    """``command``'s outcome; with ``one_core``, on the first CPU only, as a worker of the cluster runs."""
    first = sorted(os.sched_getaffinity(0))[0]
    return subprocess.run(command, capture_output=True, text=True, env=worker_env(**env), timeout=900,
                          preexec_fn=(lambda: os.sched_setaffinity(0, {first})) if one_core else None)


def valid_maes(out: Path) -> pd.Series:
    return pd.read_csv(out / "results.csv").set_index("experiment")["valid_mae"]


def verified(out: Path) -> None:
    """Every run's record checks out (files present, sizes and sha256 as recorded) and no temporary file is left."""
    for rid in RUNS:
        record = json.loads((out / "runs" / f"{rid}.json").read_text())
        assert check_run(out, rid, record["kind"]).status == "ok", rid
    assert not [p for p in out.rglob(".*") if p.name != ".lock" and "compile-cache" not in p.parts]


@pytest.fixture(scope="module")
def local_maes(tmp_path_factory) -> pd.Series:
    """The same runs trained by local processes (``--jobs 2``)."""
    out = tmp_path_factory.mktemp("local") / "results"
    done = run(reproduce_command(out, "--jobs", "2"))
    assert done.returncode == 0, done.stderr[-2000:]
    return valid_maes(out)


# --- without a cluster ----------------------------------------------------------------------


def test_without_distributed_the_option_says_how_to_install_it(monkeypatch, capsys):
    from ridership.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(SystemExit) as stop:
        main(["reproduce", "--quick", "--scheduler", "tcp://127.0.0.1:8786"])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(err) == 1, err
    assert "pip install 'ridership[cluster]'" in err[0]


def test_the_scheduler_comes_from_the_environment_and_is_checked(monkeypatch, capsys):
    pytest.importorskip("distributed", reason=NEEDS)
    from ridership.cli import build_parser

    monkeypatch.setenv("RIDERSHIP_SCHEDULER", "127.0.0.1:8786")
    assert build_parser().parse_args(["reproduce"]).scheduler == "tcp://127.0.0.1:8786"
    assert build_parser().parse_args(["chorales", "train"]).scheduler == "tcp://127.0.0.1:8786"
    monkeypatch.delenv("RIDERSHIP_SCHEDULER")
    assert build_parser().parse_args(["reproduce"]).scheduler is None  # local processes
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "--scheduler", "http://somewhere"])
    assert "tcp://HOST:PORT" in capsys.readouterr().err


def test_a_scheduler_that_is_not_there_is_one_line(tmp_path):
    pytest.importorskip("distributed", reason=NEEDS)
    done = run(reproduce_command(tmp_path / "r", "--scheduler", f"tcp://127.0.0.1:{free_port()}"))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert "Cannot reach a Dask scheduler" in lines[0]


def test_a_task_refuses_another_package_version():
    from ridership.engine.cluster import VersionMismatch, on_worker

    with pytest.raises(VersionMismatch, match=r"runs ridership .* this command 0\.0\.1"):
        on_worker("os:getcwd", "0.0.1", "jax", True)


# --- on a cluster ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_cluster_gives_the_local_runs_maes(cluster_factory, tmp_path, local_maes):
    cluster = cluster_factory()
    out = tmp_path / "results"
    done = run(reproduce_command(out, "--scheduler", cluster.address))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "runs on the Dask cluster" in done.stdout
    pd.testing.assert_series_equal(valid_maes(out), local_maes)
    verified(out)
    again = run(reproduce_command(out, "--scheduler", cluster.address))  # done runs are not sent again
    assert again.returncode == 0 and again.stdout.count("(skipped)") == len(RUNS), again.stdout


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing(cluster_factory, tmp_path, local_maes):
    cluster = cluster_factory()
    out = tmp_path / "results"
    command = subprocess.Popen(reproduce_command(out, "--scheduler", cluster.address), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=worker_env())
    try:
        victim = cluster.busy_worker()
        time.sleep(2)  # well into the run
        cluster.kill_worker(victim)
        stdout, stderr = command.communicate(timeout=900)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    assert command.returncode == 0, stderr[-2000:]
    verified(out)
    pd.testing.assert_series_equal(valid_maes(out), local_maes)  # the retried run gives the same numbers


@pytest.mark.slow
def test_a_lost_scheduler_stops_in_one_line_and_a_rerun_resumes(cluster_factory, tmp_path):
    cluster = cluster_factory()
    out = tmp_path / "results"
    command = subprocess.Popen(reproduce_command(out, "--scheduler", cluster.address), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=worker_env())
    try:
        deadline = time.monotonic() + 300
        while not list((out / "runs").glob("*.json")) and time.monotonic() < deadline and command.poll() is None:
            time.sleep(0.1)
        cluster.kill_scheduler()
        stdout, stderr = command.communicate(timeout=120)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    lines = stderr.strip().splitlines()
    assert command.returncode != 0 and len(lines) == 1, stderr[-2000:]
    assert "Lost the Dask scheduler" in lines[0] and "run the same command again" in lines[0]
    written = {record["run"] for record in load_runs(out)}
    assert written and written < set(RUNS), written

    again = cluster_factory()
    done = run(reproduce_command(out, "--scheduler", again.address))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("(skipped)") == len(written)
    verified(out)


@pytest.mark.slow
def test_a_worker_of_another_version_is_refused(cluster_factory, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(ROOT / "ridership", other / "ridership", ignore=shutil.ignore_patterns("__pycache__"))
    init = other / "ridership" / "__init__.py"
    text = init.read_text()
    import ridership

    assert f'__version__ = "{ridership.__version__}"' in text
    init.write_text(text.replace(f'__version__ = "{ridership.__version__}"', '__version__ = "0.0.1"'))
    cluster = cluster_factory(workers=1, env=worker_env(PYTHONPATH=str(other)))
    out = tmp_path / "results"
    done = run(reproduce_command(out, "--scheduler", cluster.address))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert f"runs ridership 0.0.1, this command {ridership.__version__}" in lines[0]
    assert not list((out / "runs").glob("*.json"))


@pytest.mark.slow
def test_a_worker_without_the_data_fails_the_run_in_the_datas_line(cluster_factory, tmp_path):
    cluster = cluster_factory(workers=1, env=worker_env(RIDERSHIP_DATA=str(tmp_path / "nowhere" / "ridership.tgz")))
    done = run(reproduce_command(tmp_path / "results", "--scheduler", cluster.address))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert "On Dask worker tcp://127.0.0.1:" in lines[0] and "nowhere" in lines[0]


@pytest.mark.slow
def test_chorales_train_on_a_cluster_gives_the_local_scores(cluster_factory, tmp_path):
    """Locally on one core, as the worker has: the scores' sums over many notes depend on how many threads add them."""
    cluster = cluster_factory(workers=1)
    runs = {}
    for where, extra in (("local", []), ("cluster", ["--scheduler", cluster.address])):
        out = tmp_path / where
        done = run([sys.executable, "-m", "ridership", "chorales", "train", "--quick", "--batches", "1", "--seeds", "1",
                    "--out", str(out), *extra], one_core=not extra)
        assert done.returncode == 0, done.stderr[-2000:]
        record = json.loads((out / "runs" / "fast-seed42.json").read_text())
        assert check_run(out, "fast-seed42", record["kind"]).status == "ok"
        runs[where] = (record["test"], record["valid"])
    assert runs["cluster"] == runs["local"]


@pytest.mark.slow
def test_backtest_on_a_cluster_gives_the_local_table(cluster_factory, tmp_path):
    cluster = cluster_factory()
    tables = {}
    for where, extra in (("local", ["--jobs", "2"]), ("cluster", ["--scheduler", cluster.address])):
        out = tmp_path / where
        done = run([sys.executable, "-m", "ridership", "backtest", "--quick", "--only", "naive,linear", "--out",
                    str(out), *extra])
        assert done.returncode == 0, done.stderr[-2000:]
        for model in ("naive", "linear"):
            record = json.loads((out / "runs" / f"{model}.json").read_text())
            assert check_run(out, model, record["kind"]).status == "ok", model
        assert not [p for p in out.rglob(".*") if p.name != ".lock" and "compile-cache" not in p.parts]
        tables[where] = pd.read_csv(out / "results.csv").drop(columns="refit_seconds")
        assert (out / "backtest_rail.png").is_file()
    assert "models on the Dask cluster" in done.stdout
    pd.testing.assert_frame_equal(tables["cluster"], tables["local"])


@pytest.mark.slow
def test_the_cluster_benchmark_runs_both_sides():
    pytest.importorskip("distributed", reason=NEEDS)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cluster.py"), "--only", "linear", "--seeds", "1",
                           "--quick"], capture_output=True, text=True, env=worker_env(), timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert "same validation MAEs, run by run: yes" in lines
    assert lines[-2].startswith("cluster overhead per run: ") and lines[-1].startswith("speedup: ")
    assert float(lines[-1].split()[-1].rstrip("x")) > 0
