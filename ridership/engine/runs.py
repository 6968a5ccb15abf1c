"""Run records: one JSON file per finished run, written last, that a later run can check.

A *run* is one piece of finished work: an experiment under one seed, a baseline, a chorale
model. Its record (``runs/<run id>.json`` in a results folder) says

- what was run, as its *kind*: a small dict such as ``{"mode": "full", "backend": "jax"}``;
- what it scored (fields of the caller's choosing, checked against ``fields``);
- which files it wrote (``files``: each one's path in the folder, size and sha256).

A rerun reuses a run only when :func:`check_run` finds its record readable, of this schema,
with every required field of the right type, of the kind asked for, and every file it lists
present with the listed size and checksum. Anything else is reported in one line by the
caller and the run is done again; a record of another kind is never replaced without being
asked (``--force``). Records are written atomically and last, so a record on disk always
describes files that were complete when it was written.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import RidershipError
from ..fetch import sha256sum
from .storage import atomic_path, output_error, write_json

#: The layout of a record; a record of another schema is treated as damaged and redone.
SCHEMA = 1
RUNS_DIR, MODELS_DIR = "runs", "models"
#: What every record holds, whatever wrote it.
COMMON_FIELDS = {"schema": int, "run": str, "kind": dict, "files": dict, "seconds": float}


@dataclass(frozen=True)
class Check:
    """What :func:`check_run` found: ``status`` is "missing", "ok", "damaged" or "other-kind"."""

    status: str
    record: dict | None = None
    problem: str = ""


def run_id(name: str, seed: int | None) -> str:
    """``lstm-seed42`` for a seeded run, ``sarima`` for one without a seed."""
    return name if seed is None else f"{name}-seed{seed}"


def record_path(out: Path, rid: str) -> Path:
    return Path(out) / RUNS_DIR / f"{rid}.json"


def model_path(out: Path, rid: str) -> Path:
    return Path(out) / MODELS_DIR / f"{rid}.keras"


def file_entry(path: Path, out: Path) -> dict:
    """How a record lists a file it wrote: its path inside ``out``, its size and its sha256."""
    path = Path(path)
    return {"path": path.relative_to(out).as_posix(), "bytes": path.stat().st_size, "sha256": sha256sum(path)}


def save_model(model, out: Path, rid: str) -> Path:
    """Save a run's trained Keras model to ``models/<rid>.keras`` atomically; return its path.

    Raises ``RidershipError`` in one line when it cannot be written (a full disk, a file in the way).
    """
    path = model_path(out, rid)
    try:
        with atomic_path(path) as tmp:
            model.save(tmp)
    except OSError as exc:
        raise output_error(exc, path, "a model") from None
    return path


def write_run(out: Path, rid: str, kind: dict, result: dict, files: list[Path] = ()) -> dict:
    """Write the record of a finished run (atomically, after its files); return it.

    Raises ``RidershipError`` in one line when it cannot be written.
    """
    out = Path(out)
    record = {"schema": SCHEMA, "run": rid, "kind": dict(kind), **result,
              "files": {Path(f).name: file_entry(Path(f), out) for f in files}}
    try:
        write_json(record_path(out, rid), record)
    except OSError as exc:
        raise output_error(exc, out / RUNS_DIR, "a run record") from None
    return record


def _typed(value, kind) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def read_run(path: Path, fields: dict | None = None) -> dict:
    """The record at ``path``, checked for the schema and ``fields`` (name -> type, or a tuple of types).

    Raises ``RidershipError`` saying what is wrong with it.
    """
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RidershipError(f"{path} is not a readable run record ({exc.__class__.__name__})") from None
    if not isinstance(record, dict):
        raise RidershipError(f"{path} holds a JSON {type(record).__name__}, not a run record")
    if record.get("schema") != SCHEMA:
        raise RidershipError(f"{path} is not a run record of schema {SCHEMA}")
    for name, kind in {**COMMON_FIELDS, **(fields or {})}.items():
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if name not in record:
            raise RidershipError(f"{path} lacks {name!r}")
        if not any(_typed(record[name], k) if k is not type(None) else record[name] is None for k in kinds):
            raise RidershipError(f"{path} has {name!r} = {record[name]!r}, not a valid "
                                 + " or ".join("null" if k is type(None) else k.__name__ for k in kinds))
    return record


def _files_problem(record: dict, out: Path) -> str:
    """What is wrong with the files a record lists, or ""."""
    for entry in record["files"].values():
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)):
            return "a file entry is damaged"
        path = out / entry["path"]
        if not path.is_file():
            return f"{path} is missing"
        if path.stat().st_size != entry.get("bytes"):
            return f"{path} has {path.stat().st_size:,} bytes, not the {entry.get('bytes')} recorded"
        if sha256sum(path) != entry.get("sha256"):
            return f"{path} does not match its recorded sha256"
    return ""


def check_run(out: Path, rid: str, kind: dict | None, fields: dict | None = None) -> Check:
    """Whether the run ``rid`` in ``out`` is finished, sound and of ``kind`` (None: of any kind)."""
    out = Path(out)
    path = record_path(out, rid)
    if not path.exists():
        return Check("missing")
    try:
        record = read_run(path, fields)
    except RidershipError as exc:
        return Check("damaged", problem=str(exc))
    if kind is not None and record["kind"] != kind:
        return Check("other-kind", record, f"{path} is a {describe(record['kind'])} run")
    problem = _files_problem(record, out)
    return Check("damaged", record, problem) if problem else Check("ok", record)


def describe(kind: dict) -> str:
    """A kind in a few words: ``full, jax`` (None values left out)."""
    return ", ".join(f"{value}" if key in ("mode", "backend") else f"{key} {value}"
                     for key, value in kind.items() if value is not None)


def load_runs(out: Path, fields: dict | None = None, kind_of=None) -> list[dict]:
    """Every sound record in ``out/runs`` whose kind ``kind_of(record)`` accepts (all if None).

    Damaged records, records of other kinds and stray files are left alone and left out.
    """
    found = []
    for path in sorted((Path(out) / RUNS_DIR).glob("[!.]*.json")):
        try:
            record = read_run(path, fields)
        except RidershipError:
            continue
        if kind_of is None or kind_of(record):
            found.append(record)
    return found


def remove_temporaries(out: Path) -> list[Path]:
    """Delete the hidden temporary files an interrupted write left in ``out`` and its run folders."""
    removed = []
    for folder in (Path(out), Path(out) / RUNS_DIR, Path(out) / MODELS_DIR):
        for path in folder.glob(".*.tmp*"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


@contextlib.contextmanager
def folder_lock(out: Path):
    """Hold ``out/.lock`` for the block: a second command writing to the same folder is refused.

    The lock is the kernel's (``fcntl.flock``): it ends with the process, also when the process
    is killed, so a stale lock never blocks a rerun.
    """
    import fcntl

    path = Path(out) / ".lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise RidershipError(f"Another command is writing to {out} right now; wait for it to finish, "
                                     "or choose another --out.") from None
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
