"""Reading a ``.tgz`` archive (the ridership data, the chorales) with one clear line when it is damaged."""

from __future__ import annotations

import tarfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import RidershipError


@dataclass(frozen=True)
class ArchiveInfo:
    """Where an archive came from: the file, how it was found, its sha256 and whether it is the published one."""

    path: str
    source: str  # "argument", "environment", "cache" or "download"
    sha256: str
    checksum_ok: bool


def fix_hint(remote) -> str:
    """The sentence ending every error about a damaged archive: how to get a good copy of ``remote``
    (a ``ridership.fetch.RemoteFile``)."""
    return (f"Point {remote.env} at a good copy (e.g. {remote.env}=/path/to/{remote.filename}) "
            "or delete the file so it is downloaded again.")


@contextmanager
def open_archive(file: Path, fix: str) -> Iterator[tarfile.TarFile]:
    """The gzip-compressed tar archive ``file``, open for reading.

    A truncated file, or one that is not such an archive, raises one ``RidershipError`` saying
    which, whether it shows when opening or while reading a member inside the ``with`` block.

    Args:
        file: the archive.
        fix: the sentence that ends the error, saying how to get a good copy.

    Example:

    >>> import io, tarfile, tempfile
    >>> broken = Path(tempfile.mkdtemp()) / "data.tgz"
    >>> _ = broken.write_bytes(b"not an archive")
    >>> with open_archive(broken, "Download it again."):
    ...     pass
    Traceback (most recent call last):
    ridership.errors.RidershipError: ... is not a gzip-compressed tar archive (...). Download it again.
    """
    try:
        with tarfile.open(file, "r:gz") as tar:
            yield tar
    except (EOFError, zlib.error, OSError, tarfile.TarError) as exc:
        text = str(exc).lower()
        truncated = isinstance(exc, EOFError) or "end of" in text or "truncated" in text
        kind = "is truncated" if truncated else "is not a gzip-compressed tar archive"
        raise RidershipError(f"{file} {kind} ({exc}). {fix}") from None
