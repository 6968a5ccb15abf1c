"""Run records: what a rerun may reuse, and what it must name and redo."""

import json
import multiprocessing

import pytest

from ridership import RidershipError
from ridership.engine.runs import check_run, folder_lock, load_runs, record_path, remove_temporaries, write_run
from ridership.engine.storage import writable_folder

KIND = {"mode": "full", "backend": "jax"}
FIELDS = {"valid_mae": float}


@pytest.fixture()
def out(tmp_path):
    folder = writable_folder(tmp_path / "D", "runs", "models")
    model = folder / "models" / "a.keras"
    model.write_bytes(b"weights" * 100)
    write_run(folder, "a", KIND, {"valid_mae": 1.5, "seconds": 2.0}, [model])
    return folder


def test_a_sound_record_of_the_same_kind_is_reused(out):
    check = check_run(out, "a", KIND, FIELDS)
    assert check.status == "ok" and check.record["valid_mae"] == 1.5
    assert check.record["files"]["a.keras"]["bytes"] == 700
    assert check_run(out, "b", KIND, FIELDS).status == "missing"


def test_another_kind_is_told_apart_and_described(out):
    check = check_run(out, "a", {"mode": "quick", "backend": "jax"}, FIELDS)
    assert check.status == "other-kind" and "full, jax run" in check.problem
    assert check_run(out, "a", None, FIELDS).status == "ok"  # any kind


@pytest.mark.parametrize("damage, problem", [
    (lambda path: path.write_text("[]"), "JSON list"),
    (lambda path: path.write_text("{not json"), "not a readable run record"),
    (lambda path: path.write_text(json.dumps({**json.loads(path.read_text()), "valid_mae": "1.5"})), "'1.5'"),
    (lambda path: path.write_text(json.dumps({**json.loads(path.read_text()), "valid_mae": float("nan")})), "nan"),
    (lambda path: path.write_text(json.dumps({**json.loads(path.read_text()), "schema": 0})), "schema"),
    (lambda path: path.write_text(json.dumps({k: v for k, v in json.loads(path.read_text()).items()
                                              if k != "valid_mae"})), "lacks 'valid_mae'"),
])
def test_a_damaged_record_is_named(out, damage, problem):
    damage(record_path(out, "a"))
    check = check_run(out, "a", KIND, FIELDS)
    assert check.status == "damaged" and problem in check.problem and "a.json" in check.problem


@pytest.mark.parametrize("damage, problem", [
    (lambda path: path.unlink(), "is missing"),
    (lambda path: path.write_bytes(b"weights" * 50), "350 bytes"),
    (lambda path: path.write_bytes(b"WEIGHTS" * 100), "sha256"),
])
def test_a_changed_or_missing_file_is_named(out, damage, problem):
    damage(out / "models" / "a.keras")
    check = check_run(out, "a", KIND, FIELDS)
    assert check.status == "damaged" and problem in check.problem and "a.keras" in check.problem


def test_load_runs_leaves_out_what_it_cannot_use(out):
    (out / "runs" / "stray.json").write_text("{}")
    (out / "runs" / ".b.json.x.tmp.json").write_text("{")
    assert [r["run"] for r in load_runs(out, FIELDS)] == ["a"]
    assert load_runs(out, FIELDS, kind_of=lambda record: record["kind"]["mode"] == "quick") == []


def test_temporaries_are_removed(out):
    left = [out / "models" / ".a.keras.1.tmp.keras", out / "runs" / ".a.json.2.tmp.json", out / ".results.csv.3.tmp.csv"]
    for path in left:
        path.write_text("")
    assert sorted(remove_temporaries(out)) == sorted(left)
    assert check_run(out, "a", KIND, FIELDS).status == "ok"


def _try_lock(folder, answer):
    try:
        with folder_lock(folder):
            answer.put("locked")
    except RidershipError as exc:
        answer.put(str(exc))


def test_a_second_command_on_the_same_folder_is_refused(out):
    answer = multiprocessing.get_context("spawn").Queue()
    with folder_lock(out):
        process = multiprocessing.get_context("spawn").Process(target=_try_lock, args=(out, answer))
        process.start()
        process.join(60)
    assert "Another command is writing to" in answer.get(timeout=5)
    with folder_lock(out):  # released at the end of the block
        pass
