"""Finding a published data file: a path you give, an environment variable, the cache, a download.

Each data set the package uses is a :class:`RemoteFile`: its file name, canonical URL,
sha256 and the environment variable that names a local copy. :func:`fetch` looks in this
order:

1. the ``path`` argument;
2. the data set's environment variable (``RIDERSHIP_DATA``, ``RIDERSHIP_CHORALES``);
3. the cache folder (``RIDERSHIP_CACHE``, else ``$XDG_CACHE_HOME/ridership``, else
   ``~/.cache/ridership``);
4. a download from the canonical URL into the cache.

A path or variable may name the file itself or a folder that holds it under its published
name, so one offline folder serves every data set. A downloaded or cached file must match
the published sha256; a file you name is read as it is, and callers report its checksum.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import RidershipError
from .engine.storage import atomic_path

ENV_CACHE = "RIDERSHIP_CACHE"


@dataclass(frozen=True)
class RemoteFile:
    """A published data file: where it lives, how to check it, how to point at a local copy.

    Args:
        filename: the file's published name, also its name in the cache and in an offline folder.
        url: the canonical address to download it from.
        sha256: the published checksum.
        env: the environment variable that may name a local copy (the file or its folder).
        title: how messages name the data, e.g. "the ridership data".
    """

    filename: str
    url: str
    sha256: str
    env: str
    title: str


def data_home(cache: str | os.PathLike | None = None) -> Path:
    """The folder downloaded files are kept in (``cache`` if given)."""
    if cache is not None:
        return Path(cache)
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ridership"


def sha256sum(path: str | os.PathLike) -> str:
    """The file's sha256 as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _local(remote: RemoteFile, given: str, source: str) -> Path:
    """The file a path or the environment names: the file itself, or the published name in a folder."""
    where = "the path given" if source == "argument" else remote.env
    file = Path(given).expanduser()
    if file.is_dir():
        inside = file / remote.filename
        if not inside.is_file():
            raise RidershipError(f"{file} (from {where}) is a folder without {remote.filename}: put the file "
                                 f"there, or point {remote.env} at the file itself.")
        return inside
    if not file.is_file():
        raise RidershipError(f"{remote.title.capitalize()} not found: {file} (from {where}). Check the path, or unset "
                             f"{remote.env} to download {remote.filename} from {remote.url}.")
    return file


def _download(remote: RemoteFile, url: str, dest: Path) -> None:
    """Download ``url`` to ``dest``; keep it only if its checksum is the published one."""
    with atomic_path(dest) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
                while block := response.read(1 << 16):
                    out.write(block)
        except (urllib.error.URLError, OSError) as exc:
            raise RidershipError(
                f"Could not download {remote.title} from {url}: {exc}. Without network, set "
                f"{remote.env}=/path/to/{remote.filename} (a local copy, or the folder that holds it)."
            ) from None
        got = sha256sum(tmp)
        if got != remote.sha256:
            # Leaving the block by an exception removes the temporary file: the cache never
            # holds a bad file under the good name.
            raise RidershipError(
                f"The file downloaded from {url} has sha256 {got}, expected {remote.sha256}: it is corrupt "
                f"or not {remote.title}. Try again later, or set {remote.env} to a verified copy."
            )


def fetch(remote: RemoteFile, path: str | os.PathLike | None = None, *, cache: str | os.PathLike | None = None,
          url: str | None = None, download: bool = True) -> tuple[Path, str]:
    """Find ``remote`` in the documented order; return ``(file, source)``.

    Args:
        remote: the data set.
        path: a local copy (the file or a folder holding it); wins over everything else.
        cache: the cache folder (default :func:`data_home`).
        url: download from here instead of ``remote.url`` (tests use a ``file://`` URL).
        download: False to fail rather than download when nothing local is found.

    ``source`` is ``"argument"``, ``"environment"``, ``"cache"`` or ``"download"``.
    """
    for given, source in ((path, "argument"), (os.environ.get(remote.env) or None, "environment")):
        if given is not None:
            return _local(remote, str(given), source), source
    cached = data_home(cache) / remote.filename
    if cached.is_file():
        if sha256sum(cached) == remote.sha256:
            return cached, "cache"
        cached.unlink()  # a damaged cache entry is replaced, never trusted
    if not download:
        raise RidershipError(f"No cached copy at {cached} and downloading is off. "
                             f"Set {remote.env}=/path/to/{remote.filename}.")
    _download(remote, url or remote.url, cached)
    return cached, "download"
