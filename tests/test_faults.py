"""Faults and bad input: nothing finished is lost, and each one ends in one clear line.

Each test reproduces a case found by trying the command as a new user would, and checks the
exit code, a single-line message without a traceback, and the files left behind. The kill
cases (SIGKILL, SIGTERM, Ctrl-C of a run with two jobs) are in ``tests/test_engine.py``.
"""

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ridership import RidershipError

ROOT = Path(__file__).resolve().parents[1]


def ridership(*args, env=None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "ridership", *map(str, args)], capture_output=True, text=True,
                          env=environ, timeout=600)


def one_line_error(done: subprocess.CompletedProcess, *words: str) -> str:
    """The command failed with exit code 2 and said why in one line, naming ``words``."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "compile-cache" not in p.parts and p.name != ".lock"}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, data_path):
    """A full (not quick) run of the linear model: about a hundred epochs, a few seconds."""
    out = tmp_path_factory.mktemp("full") / "D"
    done = ridership("reproduce", "--jobs", "1", "--only", "linear", "--out", out, "--data", data_path)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


# --- 1. finished work is never overwritten by another kind of run -------------------------------

@pytest.mark.parametrize("other", [["--quick"], ["--backend", "tensorflow"]], ids=["quick", "tensorflow"])
def test_another_kind_of_run_never_replaces_a_full_one(full_run, data_path, other):
    before = snapshot(full_run)
    done = ridership("reproduce", "--jobs", "1", "--only", "linear", "--out", full_run, "--data", data_path, *other)
    one_line_error(done, "another kind", "--force", "another --out")
    assert snapshot(full_run) == before  # record, model and tables byte for byte


def test_the_tables_report_only_runs_of_the_commands_kind(full_run, data_path, tmp_path):
    out = tmp_path / "D"
    shutil.copytree(full_run, out)
    done = ridership("reproduce", "--quick", "--jobs", "1", "--only", "linear", "--out", out, "--data", data_path)
    assert done.returncode == 2  # linear's full run is there: refused
    done = ridership("reproduce", "--quick", "--jobs", "1", "--only", "mulvar", "--out", out, "--data", data_path)
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(out / "results.csv")
    assert table["experiment"].tolist() == ["mulvar"] and table["mode"].tolist() == ["quick"]
    assert (out / "runs" / "linear-seed42.json").read_bytes() == (full_run / "runs" / "linear-seed42.json").read_bytes()


# --- 2. counts that cannot be riders ------------------------------------------------------------

@pytest.mark.parametrize("value", ["1e30", "1e19", "9223372036854775808", "50000001"])
def test_huge_counts_are_refused_with_line_and_value(tmp_path, csv_text, value):
    lines = csv_text.splitlines()
    header = lines[0].split(",")
    row = lines[5].split(",")
    row[header.index("rail_boardings")] = value
    lines[5] = ",".join(row)
    path = tmp_path / "cta.csv"
    path.write_text("\n".join(lines) + "\n")
    message = one_line_error(ridership("data", "--data", path), "rail", "line 6", value, "50,000,000")
    assert "Traceback" not in message


# --- 4. output folders that cannot be written ---------------------------------------------------

def test_out_naming_a_file_or_a_path_through_a_file(tmp_path, data_path):
    file = tmp_path / "a-file"
    file.write_text("keep me")
    one_line_error(ridership("reproduce", "--quick", "--only", "naive", "--out", file, "--data", data_path),
                   "Cannot write", "a file")
    one_line_error(ridership("reproduce", "--quick", "--only", "naive", "--out", file / "x", "--data", data_path),
                   "Cannot write", "a file stands where a folder is needed")
    one_line_error(ridership("figures", "--out", file, "--data", data_path), "Cannot write the figures", "a file")
    assert file.read_text() == "keep me"


def test_out_where_nothing_can_be_created(data_path):
    one_line_error(ridership("reproduce", "--quick", "--only", "naive", "--out", "/proc/ridership-x", "--data",
                             data_path), "Cannot write", "/proc/ridership-x")


def test_out_inside_an_immutable_folder(tmp_path, data_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    if shutil.which("chattr") is None:  # e2fsprogs, absent from minimal systems
        pytest.skip("chattr is not installed (Debian: apt-get install e2fsprogs)")
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        one_line_error(ridership("reproduce", "--quick", "--only", "naive", "--out", folder / "D", "--data", data_path),
                       "Cannot write", "may not be changed")
    finally:
        subprocess.run(["chattr", "-i", str(folder)])


def test_a_full_disk_while_saving_a_model_is_one_line_and_leaves_no_file(tmp_path, df, monkeypatch):
    import keras

    from ridership.engine.reproduce import Settings, fingerprint, run_job

    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half a model")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(keras.Model, "save", full)
    monkeypatch.setattr("ridership.engine.runtime.keep_tensorflow_out", lambda: False)  # this is the test's process
    monkeypatch.setattr("ridership.engine.runtime.use_cpus", lambda cpus: None)
    monkeypatch.setenv("RIDERSHIP_QUICK", "1")
    settings = Settings(str(tmp_path), "quick", keras.backend.backend(), fingerprint(df))
    (tmp_path / "runs").mkdir()
    with pytest.raises(RidershipError, match="the disk is full") as caught:
        run_job(("linear", 42, settings.__dict__, df), cpus=None)
    assert "\n" not in str(caught.value)
    assert not list(tmp_path.rglob("*.keras")) and not list((tmp_path / "runs").iterdir())


# --- 5, 6. damaged records and models -----------------------------------------------------------

@pytest.fixture(scope="module")
def quick_base(tmp_path_factory, data_path):
    out = tmp_path_factory.mktemp("quick") / "D"
    done = ridership("reproduce", "--quick", "--only", "naive,linear,univar,ahead,seq2seq", "--out", out,
                     "--data", data_path)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.fixture()
def quick_run(quick_base, tmp_path):
    """A copy of a quick run of the experiments the figures need, for a test to damage."""
    out = tmp_path / "D"
    shutil.copytree(quick_base, out, ignore=shutil.ignore_patterns(".lock"))
    return out


DAMAGE = {
    "a list": lambda record: [],
    "no valid_mae": lambda record: {k: v for k, v in record.items() if k != "valid_mae"},
    "valid_mae as text": lambda record: {**record, "valid_mae": "37,000"},
    "not JSON": None,
}


def test_damaged_records_are_named_and_trained_again(quick_run, data_path):
    runs = quick_run / "runs"
    for (how, damage), name in zip(DAMAGE.items(), ["linear-seed42", "univar-seed42", "seq2seq-seed42", "naive"]):
        path = runs / f"{name}.json"
        if damage is None:
            path.write_text('{"schema": 1, "valid')
        else:
            path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    (runs / "lstm-seed42.json").write_text("{}")  # a stray record of an experiment this command leaves out
    done = ridership("reproduce", "--quick", "--only", "naive,linear,univar,seq2seq", "--out", quick_run,
                     "--data", data_path)
    assert done.returncode == 0, done.stderr[-2000:]
    damaged = [line for line in done.stderr.splitlines() + done.stdout.splitlines() if " damaged: " in line]
    assert len(damaged) == 4, damaged
    assert all("training it again" in line for line in damaged)
    assert (runs / "lstm-seed42.json").read_text() == "{}"  # left alone
    table = pd.read_csv(quick_run / "results.csv")
    assert table["experiment"].tolist() == ["naive", "linear", "univar", "ahead", "seq2seq"]


def test_a_truncated_model_is_retrained_and_never_drawn_from(quick_run, data_path, tmp_path):
    model = quick_run / "models" / "seq2seq-seed42.keras"
    with open(model, "r+b") as f:
        f.truncate(model.stat().st_size // 2)
    message = one_line_error(ridership("figures", "--results", quick_run, "--out", tmp_path / "figs", "--data",
                                       data_path), str(model), "reproduce")
    assert not (tmp_path / "figs").exists()  # checked before anything was drawn
    done = ridership("reproduce", "--quick", "--only", "seq2seq", "--out", quick_run, "--data", data_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "seq2seq-seed42" in message and "damaged" in done.stderr + done.stdout
    record = json.loads((quick_run / "runs" / "seq2seq-seed42.json").read_text())
    assert record["files"]["seq2seq-seed42.keras"]["bytes"] == model.stat().st_size


# --- 7. damaged tables --------------------------------------------------------------------------

@pytest.mark.parametrize("table, damage", [
    ("horizons.csv", lambda text: ""),
    ("results.csv", lambda text: text[: len(text) // 2]),
    ("results.csv", lambda text: "experiment,valid_mae\n"),
])
def test_damaged_tables_stop_figures_with_the_file_and_the_fix(quick_run, data_path, tmp_path, table, damage):
    path = quick_run / table
    path.write_text(damage(path.read_text()))
    one_line_error(ridership("figures", "--results", quick_run, "--out", tmp_path / "figs", "--data", data_path),
                   str(path), "ridership reproduce")


# --- 8. smaller gaps ----------------------------------------------------------------------------

def test_only_naming_nothing_and_bad_worker_counts(data_path, tmp_path):
    one_line_error(ridership("reproduce", "--only", ",", "--out", tmp_path / "D", "--data", data_path),
                   "names no experiment")
    assert not (tmp_path / "D").exists()
    for workers in ("0", "-1", "two"):
        one_line_error(ridership("baselines", "--workers", workers, "--data", data_path), "--workers")


def test_temporaries_of_an_interrupted_save_are_removed(quick_run, data_path):
    left = [quick_run / "models" / ".linear-seed42.keras.x1.tmp.keras", quick_run / "runs" / ".naive.json.x2.tmp.json"]
    for path in left:
        path.write_bytes(b"")
    done = ridership("reproduce", "--quick", "--only", "naive,linear", "--out", quick_run, "--data", data_path)
    assert done.returncode == 0 and "removed 2 temporary file(s)" in done.stderr + done.stdout
    assert not any(path.exists() for path in left)


def test_to_windows_refuses_a_bad_length():
    import tensorflow as tf

    from ridership.windows import to_windows

    for length in (0, -3, 2.5, True):
        with pytest.raises(RidershipError, match="whole number >= 1"):
            to_windows(tf.data.Dataset.range(5), length)


def test_data_too_short_for_a_period_names_the_period_and_the_fix(tmp_path, csv_text):
    import io

    frame = pd.read_csv(io.StringIO(csv_text))
    dates = pd.to_datetime(frame["service_date"], format="%m/%d/%Y")
    path = tmp_path / "short.csv"
    frame[dates <= "2019-06-10"].to_csv(path, index=False)
    one_line_error(ridership("reproduce", "--quick", "--only", "linear", "--out", tmp_path / "D", "--data", path),
                   "test period", "2019-06", "10 days")
    assert not (tmp_path / "D").exists()


def test_missing_data_leaves_no_folders_behind(tmp_path):
    one_line_error(ridership("reproduce", "--quick", "--only", "naive", "--out", tmp_path / "D",
                             "--data", tmp_path / "nowhere.tgz"), "No file at")
    assert not (tmp_path / "D").exists()


def test_ridership_data_may_name_a_folder(tmp_path, data_path):
    done = ridership("data", env={"RIDERSHIP_DATA": str(data_path.parent)})
    assert done.returncode == 0 and "from environment" in done.stdout
    one_line_error(ridership("data", env={"RIDERSHIP_DATA": str(tmp_path)}), "is a folder without ridership.tgz")
