"""Atomic writes leave a complete file with a plain file's permissions, or nothing."""

import os
import stat

import pytest

from ridership.engine.storage import atomic_path, write_json, write_text


def test_written_files_get_the_mode_a_plain_open_would_give(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_json(tmp_path / "r" / "results.json", {"mae": 1.0})
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # readable by others, as open() under this umask
        os.umask(0o077)
        private = write_text(tmp_path / "private.txt", "x")
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(old)
    assert path.read_text().strip().endswith("}")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = write_text(tmp_path / "table.md", "old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["table.md"]
