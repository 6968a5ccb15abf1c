"""Atomic writes: a result or figure is either complete on disk or not there at all."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path

from ..errors import RidershipError

#: What the operating system's errors mean for someone choosing where results go.
_WHY = {
    errno.ENOTDIR: "a file stands where a folder is needed",
    errno.EEXIST: "a file of that name exists",
    errno.EACCES: "no permission to write there",
    errno.EPERM: "the folder may not be changed",
    errno.EROFS: "the disk is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.ENOENT: "a folder on the way cannot be created",
}


def output_error(exc: OSError, path: str | os.PathLike, what: str = "the results") -> RidershipError:
    """One clear line for an operating-system error while writing ``path``."""
    why = _WHY.get(exc.errno, exc.strerror or str(exc))
    where = exc.filename or path
    return RidershipError(f"Cannot write {what} to {path}: {why} ({where}). Choose another --out, "
                          "or fix the folder and run the same command again; finished work is kept.")


def given_folder(path: str | os.PathLike, option: str = "--out") -> Path:
    """``path`` as a ``Path``; an empty string (which would mean the current folder, unasked) is refused."""
    if not str(path).strip():
        raise RidershipError(f"{option} is an empty string: give a folder's name, e.g. {option} results.")
    return Path(path)


def writable_folder(path: str | os.PathLike, *subfolders: str, what: str = "the results") -> Path:
    """Create ``path`` (and ``subfolders`` in it) and check a file can be written there.

    Raises ``RidershipError`` in one line, before any work starts, for a file in the way, a
    missing permission, a read-only or a full disk.
    """
    path = Path(path)
    try:
        for folder in (path, *(path / sub for sub in subfolders)):
            folder.mkdir(parents=True, exist_ok=True)
            if not folder.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
        fd, probe = tempfile.mkstemp(prefix=".probe.", suffix=".tmp", dir=path)
        try:
            os.write(fd, b"\0" * 4096)  # a full disk refuses the bytes, not always the name
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise output_error(exc, path, what) from None
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    The rename is atomic on POSIX file systems, so a reader never sees a
    half-written file, and an interrupted writer leaves the old file (or none).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it a plain file's mode
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def save_figure(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Save a matplotlib Figure to ``path`` atomically (format from the suffix)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png", bbox_inches="tight")
    return path
