"""The commands check what they are given as carefully as each other: one line, exit 2, nothing made.

Each numbered case of issue 54 the Ctrl-C tests (``test_stopping.py``) do not cover: a WAV
too long to write, an unknown backend, a model of another kind, two commands in one folder,
an empty path, runs on other data, and messages whose advice works when followed (a test
runs the command a message names). The one resume planner (``ridership.engine.plan``) is
tested here too.
"""

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from ridership.cli import main
from ridership.engine.plan import Wanted, claim, folder_owner, plan_runs, record_result
from ridership.engine.runs import write_run
from ridership.errors import RidershipError

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "JAX_COMPILATION_CACHE_DIR")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **extra}


def _ridership(*args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ridership", *map(str, args)], capture_output=True, text=True,
                          env=_env(**env), timeout=900)


def _one_line(done: subprocess.CompletedProcess, code: int = 2) -> str:
    assert done.returncode == code, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return lines[0]


def _in_process(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def _fake_run(out: Path, command: str, rid: str = "r-seed42", **fields) -> None:
    write_run(out, rid, {"mode": "quick"}, record_result(command, {"seconds": 1.0, **fields}))


# --- the planner ------------------------------------------------------------------------------

def test_the_planner_sorts_runs_into_done_damaged_other_and_to_do(tmp_path):
    kind = {"mode": "quick"}
    for rid in ("done", "other", "damaged"):
        write_run(tmp_path, rid, kind if rid != "other" else {"mode": "full"}, {"seconds": 1.0})
    (tmp_path / "runs" / "damaged.json").write_text("{")
    wanted = [Wanted(rid, kind, rid) for rid in ("done", "other", "damaged", "missing")]
    plan = plan_runs(tmp_path, wanted)
    assert [w.rid for w, _ in plan.done] == ["done"] and [w.rid for w, _ in plan.other] == ["other"]
    assert [w.rid for w, _ in plan.damaged] == ["damaged"]
    assert [w.job for w in plan.todo] == ["damaged", "missing"]
    with pytest.raises(RidershipError, match=r"runs of another kind .*full.* this is a quick run.*--force"):
        plan.refuse_other_kinds(kind)
    forced = plan_runs(tmp_path, wanted, force=True)
    assert [w.rid for w in forced.todo] == ["done", "other", "damaged", "missing"] and not forced.other
    lines = []
    plan.report(lines.append, lambda run, record: f"{run.rid} done before")
    assert lines[0] == "done done before" and "damaged: " in lines[1] and lines[1].endswith("training it again")


def test_a_folder_belongs_to_the_command_that_wrote_its_runs(tmp_path):
    assert folder_owner(tmp_path / "none") is None
    claim(tmp_path / "none", "reproduce")  # nothing there yet: any command may start it
    _fake_run(tmp_path, "chorales train")
    assert folder_owner(tmp_path) == "chorales train"
    claim(tmp_path, "chorales train")
    with pytest.raises(RidershipError, match=r"holds the results of `ridership chorales train`.*another --out"):
        claim(tmp_path, "reproduce")
    older = tmp_path / "older"  # records from before they named their command
    write_run(older, "lstm-seed42", {"mode": "quick"}, {"experiment": "lstm", "seconds": 1.0})
    assert folder_owner(older) == "reproduce"


# --- 3: a chorale too long for a WAV; the WAV written in pieces -----------------------------

def test_a_wav_too_long_is_refused_before_generating_with_the_limit(tmp_path, capsys, chorales_path):
    from ridership.chorales.sound import max_wav_chords

    out = tmp_path / "gen"
    code, err = _in_process(capsys, "chorales", "generate", "--model", tmp_path / "never-read.keras", "--chords",
                            100_000_000, "--data", chorales_path, "--out", out)
    assert code == 2 and err.count("\n") == 1
    assert "over the format's 4 GiB limit" in err and f"--chords at most {max_wav_chords() - 8:,}" in err
    assert not out.exists()


def test_the_wav_written_in_pieces_is_the_waveform(tmp_path):
    from scipy.io import wavfile

    from ridership.chorales import sound

    rng = np.random.default_rng(0)
    chorale = rng.integers(60, 72, size=(3 * sound.CHORDS_PER_PIECE + 5, 4))
    rate, samples = wavfile.read(sound.write_wav(chorale, tmp_path / "long.wav"))
    expected = np.round(sound.waveform(chorale) * 32_767).astype(np.int16)
    assert rate == sound.SAMPLE_RATE and np.array_equal(samples, expected)
    whole = np.sin(2 * np.pi * np.cumsum(np.repeat(sound.frequency(chorale), len(samples) // len(chorale), axis=0)
                                         / rate, axis=0)).sum(axis=1) / 4
    # the phase runs on across pieces: the same tone within a third of one 16-bit step (the long
    # cumulative sum of the one-piece reference drifts by about 1e-6 here)
    np.testing.assert_allclose(sound.waveform(chorale), whole, atol=1e-5)


# --- 4: one backend check for every command that loads Keras --------------------------------

@pytest.mark.parametrize("backend", ["nonsense", "torch"])
@pytest.mark.parametrize("command", [["figures", "--results", "R"], ["chorales", "train"], ["chorales", "generate"],
                                     ["reproduce", "--quick"]])
def test_an_unknown_backend_is_one_line_for_every_command(tmp_path, command, backend):
    line = _one_line(_ridership(*command, "--out", tmp_path / "out", KERAS_BACKEND=backend))
    assert line == (f"ridership: error: KERAS_BACKEND={backend} is not a backend ridership trains on: set "
                    "KERAS_BACKEND to jax or tensorflow, or unset it (JAX when installed, else TensorFlow).")
    assert not (tmp_path / "out").exists()


# --- 5: a model of another kind -------------------------------------------------------------

@pytest.mark.parametrize("method", ["plain", "fast"])
def test_a_ridership_model_is_not_taken_for_a_chorale_model(tmp_path, capsys, chorales_path, method):
    from ridership.models import linear

    path = tmp_path / "linear.keras"
    linear().save(path)
    out = tmp_path / "gen"
    code, err = _in_process(capsys, "chorales", "generate", "--model", path, "--method", method, "--data",
                            chorales_path, "--out", out)
    assert code == 2 and err.count("\n") == 1 and "is not a chorale model" in err and "Traceback" not in err
    assert not out.exists()


# --- 6: one folder, one command -------------------------------------------------------------

def test_each_command_refuses_the_other_commands_folder(tmp_path, capsys, data_path, chorales_path):
    chorales, ridership = tmp_path / "chorales", tmp_path / "ridership"
    _fake_run(chorales, "chorales train")
    _fake_run(ridership, "reproduce")
    before = {p: p.read_bytes() for folder in (chorales, ridership) for p in folder.rglob("*") if p.is_file()}
    for args, owner in [(["reproduce", "--quick", "--only", "naive", "--out", chorales], "chorales train"),
                        (["figures", "--results", chorales, "--out", tmp_path / "f"], "chorales train"),
                        (["chorales", "train", "--out", ridership], "reproduce"),
                        (["chorales", "generate", "--results", ridership, "--out", tmp_path / "g"], "reproduce")]:
        code, err = _in_process(capsys, *args, "--data", chorales_path if "chorales" in args else data_path)
        assert code == 2 and err.count("\n") == 1, err
        assert f"holds the results of `ridership {owner}`" in err
        assert "ridership reproduce --out" not in err and "chorales train --out" not in err  # no advice to mix them
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "f").exists() and not (tmp_path / "g").exists()


# --- 7: an empty path -----------------------------------------------------------------------

@pytest.mark.parametrize("args", [["reproduce", "--out", ""], ["chorales", "train", "--out", ""],
                                  ["chorales", "generate", "--out", ""], ["figures", "--out", ""],
                                  ["figures", "--results", ""], ["data", "--data", ""],
                                  ["chorales", "generate", "--model", ""], ["chorales", "generate", "--results", ""]])
def test_an_empty_path_is_refused_naming_its_option(args, capsys):
    with pytest.raises(SystemExit) as exited:
        main(args)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.count("\n") == 1
    assert f"argument {args[-2]}: expected a path, got an empty string" in err


def test_the_api_refuses_an_empty_folder_too(data_path):
    from ridership.chorales.train import train_chorales
    from ridership.engine.reproduce import reproduce

    with pytest.raises(RidershipError, match="--out is an empty string"):
        reproduce("", only="naive", data_path=data_path)
    with pytest.raises(RidershipError, match="--out is an empty string"):
        train_chorales("")


# --- 8, 9: runs on other data; advice that works when followed -------------------------------

@pytest.fixture(scope="module")
def altered_run(tmp_path_factory, chorales_path):
    """A quick one-batch chorale run trained on an archive with one note of one chorale changed."""
    folder = tmp_path_factory.mktemp("altered")
    altered = folder / "jsb_chorales.tgz"
    with tarfile.open(chorales_path, "r:gz") as src, tarfile.open(altered, "w:gz") as dst:
        changed = False
        for member in src:
            data = src.extractfile(member).read() if member.isfile() else None
            if data is not None and not changed and "/train/" in member.name and member.name.endswith(".csv"):
                lines = data.decode().splitlines()
                lines[1] = ",".join(["60", *lines[1].split(",")[1:]])
                data, changed = ("\n".join(lines) + "\n").encode(), True
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    out = folder / "C"
    done = _ridership("chorales", "train", "--quick", "--batches", "1", "--seeds", "1", "--out", out,
                      "--data", altered)
    assert done.returncode == 0, done.stderr[-2000:]
    return out, altered


def test_runs_on_other_data_are_another_kind(altered_run, chorales_path):
    out, altered = altered_run
    record = json.loads((out / "runs" / "fast-seed42.json").read_text())
    assert record["command"] == "chorales train" and len(record["kind"]["data"]) == 16
    line = _one_line(_ridership("chorales", "train", "--quick", "--batches", "1", "--seeds", "1", "--out", out,
                                "--data", chorales_path))
    assert "holds runs of another kind" in line and f"data {record['kind']['data']}" in line and "--force" in line


def test_an_unreadable_model_names_the_command_that_retrains_it(altered_run, tmp_path, chorales_path):
    out = tmp_path / "C"
    import shutil

    shutil.copytree(altered_run[0], out)
    model = out / "models" / "fast-seed42.keras"
    model.write_bytes(b"not a zip archive")  # unreadable, yet its record is made to match it
    path = out / "runs" / "fast-seed42.json"
    record = json.loads(path.read_text())
    from ridership.engine.runs import file_entry

    record["files"]["fast-seed42.keras"] = file_entry(model, out)
    path.write_text(json.dumps(record))
    line = _one_line(_ridership("chorales", "generate", "--results", out, "--out", tmp_path / "gen"))
    assert "Cannot read the model" in line and line.endswith("`.") and not (tmp_path / "gen").exists()
    advice = line.split("Retrain it with `")[1].rstrip("`.")
    assert advice.startswith("ridership chorales train ") and "--force" in advice
    done = _ridership(*advice.split()[1:])  # the advice, followed
    assert done.returncode == 0, done.stderr[-2000:]
    done = _ridership("chorales", "generate", "--results", out, "--out", tmp_path / "gen", "--chords", 4)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.suffix for p in (tmp_path / "gen").iterdir()) == [".mid", ".png", ".wav"]


def test_a_bad_archive_given_with_data_says_to_fix_data(tmp_path, capsys):
    bad = tmp_path / "jsb_chorales.tgz"
    bad.write_bytes(b"not an archive")
    out = tmp_path / "C"
    code, err = _in_process(capsys, "chorales", "train", "--data", bad, "--out", out)
    assert code == 2 and err.count("\n") == 1 and "--data PATH" in err and "Point RIDERSHIP_CHORALES" not in err
    assert not out.exists()  # a validation that fails leaves no folder behind
