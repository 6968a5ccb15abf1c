"""Ctrl-C and SIGTERM stop every command that trains, at any moment, within seconds and in one line.

Each test starts a command as a terminal would (Ctrl-C at its default: a shell starts
background jobs with it ignored, and Python keeps it so), waits for the first run record,
then stops it: exit 130 (Ctrl-C) or 143 (SIGTERM) within 10 seconds, the one line, no
traceback, no temporary file, the folder's lock released, and the same command then
completes. The same holds when a run cannot write its files.
"""

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ridership.engine.stopping import StopFlag, Stopped, signals_raise
from ridership.engine.workers import _stop_signals_held

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups and signals")

ROOT = Path(__file__).resolve().parents[1]
LINE = "ridership: interrupted; finished work is saved, run the same command again to resume."
STOP_WITHIN = 10  # seconds, the bound


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "JAX_COMPILATION_CACHE_DIR")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **extra}


def _start(args, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ridership", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=_env(**env), start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, f"the command ended first: {proc.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, f"no {path} after {seconds} s"
        time.sleep(0.05)


def _stop(proc: subprocess.Popen, how: str) -> tuple[int, str, float]:
    tick = time.monotonic()
    if how == "Ctrl-C":
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does: the whole process group
    else:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the command did not stop within 60 s")
    return proc.returncode, err, time.monotonic() - tick


def _assert_clean(out: Path) -> None:
    assert not [p for p in out.rglob(".*") if p.is_file() and p.name != ".lock"], "temporary files left"
    with open(out / ".lock", "a+") as handle:  # the lock is free: taking it does not block
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(handle, fcntl.LOCK_UN)


def _rerun(args, **env) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "ridership", *args], capture_output=True, text=True,
                          env=_env(**env), timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.mark.parametrize("jobs, how", [(2, "Ctrl-C"), (1, "SIGTERM")])
def test_reproduce_stops_right_after_its_first_run(tmp_path, data_path, jobs, how):
    out = tmp_path / "D"
    args = ["reproduce", "--quick", "--jobs", str(jobs), "--seeds", "3", "--only", "linear", "--out", str(out),
            "--data", str(data_path)]
    proc = _start(args)
    _wait_for(out / "runs" / "linear-seed42.json", proc)
    code, err, seconds = _stop(proc, how)
    assert code == (130 if how == "Ctrl-C" else 143), err[-2000:]
    assert err.strip().splitlines() == [LINE], err[-2000:]
    assert seconds < STOP_WITHIN
    _assert_clean(out)
    done = _rerun(args)
    assert "linear-seed42" in done.stdout and "done before" in done.stdout
    assert sorted(p.name for p in (out / "runs").iterdir()) == [f"linear-seed{s}.json" for s in (42, 43, 44)]


def test_reproduce_ends_with_the_line_of_a_run_that_cannot_write(tmp_path, data_path):
    out = tmp_path / "D"
    args = ["reproduce", "--quick", "--jobs", "2", "--seeds", "3", "--only", "linear", "--out", str(out),
            "--data", str(data_path)]
    proc = _start(args)
    _wait_for(out / "runs" / "linear-seed42.json", proc)
    # The other worker may be writing into models/ right now: move the folder away in one step (a
    # file it is writing lands there, outside the results), then put a file in its place, which the
    # later runs cannot write into.
    (out / "models").rename(tmp_path / "models-moved")
    (out / "models").write_text("a file where the models folder was")
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the command hung after a run failed to write")
    assert proc.returncode == 2
    [line] = err.strip().splitlines()
    assert line.startswith("ridership: error: Cannot write a model to ") and "run the same command again" in line
    _assert_clean(out)
    (out / "models").unlink()  # the fix the line asks for, then its advice: the same command again
    _rerun(args)
    assert len(list((out / "models").glob("*.keras"))) == 3


def test_chorales_train_stops_between_steps(tmp_path, chorales_path):
    out = tmp_path / "C"
    args = ["chorales", "train", "--batches", "3", "--seeds", "3", "--out", str(out), "--data", str(chorales_path)]
    proc = _start(args, RIDERSHIP_QUICK="1")
    _wait_for(out / "runs" / "fast-seed42.json", proc)
    time.sleep(1)  # into the next run's training
    code, err, seconds = _stop(proc, "Ctrl-C")
    assert code == 130, err[-2000:]  # never 139 (a crash inside JAX), never 0 (the signal ignored)
    assert err.strip().splitlines() == [LINE], err[-2000:]
    assert seconds < STOP_WITHIN
    _assert_clean(out)
    assert not (out / "runs" / "fast-seed44.json").exists()
    done = _rerun(args, RIDERSHIP_QUICK="1")
    assert "fast-seed42" in done.stdout and "done before" in done.stdout
    assert len(list((out / "runs").glob("*.json"))) == 3


def test_the_flag_stops_fit_after_the_step_and_raises_between_steps():
    """In process, a signal only sets the flag: fit ends after the step it came in, then ``check`` raises."""
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    x = np.zeros((64, 2), "float32")

    class SignalAtSecondStep(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:
                os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    with StopFlag() as flag:
        history = model.fit(x, x[:, :1], batch_size=8, epochs=3, verbose=0,
                            callbacks=[SignalAtSecondStep(), flag.callback()])
        assert flag.signum == signal.SIGTERM and len(history.epoch) == 1
        with pytest.raises(Stopped) as stopped:
            flag.check()
    assert stopped.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) is before  # the handlers from before the block are back


def test_a_signal_that_comes_while_a_worker_starts_is_raised_after_the_start():
    """A signal the kernel hands to another thread still runs its Python handler in the main thread.

    While a worker is being started (``WorkerPool.submit``) that handler must not raise half-way
    (the worker would be left without its start-up data, printing a traceback of its own): the
    signal is held and raised once the start is over. Here another thread receives SIGINT.
    """
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()  # started before the block: SIGINT is not blocked there
    finished_the_block = False
    try:
        with signals_raise(), pytest.raises(Stopped):
            with _stop_signals_held():
                signal.pthread_kill(other.ident, signal.SIGINT)
                deadline = time.monotonic() + 0.2
                while time.monotonic() < deadline:  # many instructions at which an unheld handler would raise
                    pass
                finished_the_block = True
    finally:
        release.set()
        other.join()
    assert finished_the_block
