"""Finding a published data file: a path you give, an environment variable, the cache, a download.

Each data set the package uses is a :class:`RemoteFile`: its file name, canonical URL,
sha256 and the environment variable that names a local copy. :func:`fetch` looks in this
order:

1. the ``path`` argument;
2. the data set's environment variable (``RIDERSHIP_DATA``, ``RIDERSHIP_CHORALES``);
3. the cache folder (``RIDERSHIP_CACHE``, else ``$XDG_CACHE_HOME/ridership``, else
   ``~/.cache/ridership``);
4. a download into the cache, from the canonical URL or, when ``RIDERSHIP_MIRROR`` is set, from
   that base address (``$RIDERSHIP_MIRROR/ridership.tgz``): a copy inside a network that cannot
   reach the published address, served by any web server.

A path or variable may name the file itself or a folder that holds it under its published
name, so one offline folder serves every data set. A downloaded or cached file must match
the published sha256; a file you name is read as it is, and callers report its checksum.

A download that fails on the network (no connection, a timeout, a server error) is tried again
a few times after a pause, as scikit-learn's dataset fetchers do; a wrong checksum, a missing
file (HTTP 4xx) or a local error is reported at once, since trying again cannot change it.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import RidershipError
from .engine.storage import atomic_path

ENV_CACHE = "RIDERSHIP_CACHE"
#: A base address serving the data files under their published names, used instead of theirs.
ENV_MIRROR = "RIDERSHIP_MIRROR"
#: Further tries of a download that failed on the network, and the pause before each (seconds).
RETRIES, RETRY_DELAY = 3, 1.0


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
    given_here = source == "argument"
    where = "the path given" if given_here else remote.env
    instead = (f"leave the path out to use {remote.env}, the cache or a download" if given_here
               else f"unset {remote.env} to download {remote.filename} from {download_url(remote)}")
    file = Path(given).expanduser()
    if file.is_dir():
        inside = file / remote.filename
        if not inside.is_file():
            aim = "give the file itself" if given_here else f"point {remote.env} at the file itself"
            raise RidershipError(f"{file} (from {where}) is a folder without {remote.filename}: put the file "
                                 f"there, or {aim}.")
        return inside
    if not file.is_file():
        raise RidershipError(f"No file at {file} (from {where}), where {remote.title} should be. Check the path, "
                             f"or {instead}.")
    return file


def download_url(remote: RemoteFile) -> str:
    """Where ``remote`` is downloaded from: ``$RIDERSHIP_MIRROR/<filename>`` when set, else its URL."""
    mirror = os.environ.get(ENV_MIRROR)
    return f"{mirror.rstrip('/')}/{remote.filename}" if mirror else remote.url


def _transient(exc: OSError) -> bool:
    """Whether a failed download may succeed if tried again: a network error, not a missing file."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code == 429 or exc.code >= 500  # too many requests, or the server's fault
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    # A local file (file://) that is absent or unreadable, or a full disk, stays so.
    return not isinstance(reason, (FileNotFoundError, PermissionError, IsADirectoryError))


def _download(remote: RemoteFile, url: str, dest: Path, retries: int, delay: float) -> None:
    """Download ``url`` to ``dest``, trying network failures again; keep it only if its checksum
    is the published one."""
    with atomic_path(dest) as tmp:
        for attempt in range(retries + 1):
            try:
                with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
                    while block := response.read(1 << 16):
                        out.write(block)
                break
            except OSError as exc:  # URLError and HTTPError are OSErrors, as are resets mid-file
                if attempt < retries and _transient(exc):
                    time.sleep(delay)
                    continue
                tries = f" (tried {attempt + 1} times)" if attempt else ""
                raise RidershipError(
                    f"Could not download {remote.title} from {url}{tries}: {exc}. Without network, set "
                    f"{remote.env}=/path/to/{remote.filename} (a local copy, or the folder that holds it), "
                    f"or {ENV_MIRROR} to a server that has it."
                ) from None
        got = sha256sum(tmp)
        if got != remote.sha256:
            # Leaving the block by an exception removes the temporary file: the cache never
            # holds a bad file under the good name. Not tried again: the same bytes would come.
            raise RidershipError(
                f"The file downloaded from {url} has sha256 {got}, expected {remote.sha256}: it is corrupt "
                f"or not {remote.title}. Try again later, or set {remote.env} to a verified copy."
            )


def fetch(remote: RemoteFile, path: str | os.PathLike | None = None, *, cache: str | os.PathLike | None = None,
          url: str | None = None, download: bool = True, retries: int = RETRIES,
          retry_delay: float = RETRY_DELAY) -> tuple[Path, str]:
    """Find ``remote`` in the documented order; return ``(file, source)``.

    Args:
        remote: the data set.
        path: a local copy (the file or a folder holding it); wins over everything else.
        cache: the cache folder (default :func:`data_home`).
        url: download from here instead of :func:`download_url`'s address (tests use ``file://``).
        download: False to fail rather than download when nothing local is found.
        retries, retry_delay: further tries of a download that failed on the network, and the
            pause before each, in seconds.

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
    _download(remote, url or download_url(remote), cached, retries, retry_delay)
    return cached, "download"
