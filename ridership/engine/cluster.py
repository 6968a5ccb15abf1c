"""Runs on a Dask cluster: the commands' ``--scheduler tcp://HOST:PORT`` (or ``$RIDERSHIP_SCHEDULER``).

The driver (the command) keeps the results folder; a Dask worker needs the package and the
data, not the driver's disk. Each run goes to the cluster as one task through
``distributed.Client.get_executor()``, a ``concurrent.futures.Executor`` that
``ridership.engine.workers.run_longest_first`` takes in place of its own processes:

- the worker trains the run and sends back a :class:`Returned`: what the record holds and the
  bytes of each file it made (the model), with their sha256 (:func:`file_bytes`);
- the driver checks them and writes them as a local run is written, atomically and the record
  last (:func:`keep_returned`); runs already done in the folder are never sent;
- a task first compares the worker's package version with the driver's (:func:`on_worker`),
  and so does the driver, with every worker, when it connects (:func:`cluster_executor`):
  another version is refused in one line naming both, so no table mixes versions;
- a worker killed mid-run is Dask's to handle: the scheduler gives its run to another worker;
- the scheduler gone ends the command in one line (:class:`RidershipError`); what was written
  stays, and the same command run again resumes from it.

``distributed`` is an optional extra (``pip install 'ridership[cluster]'``), imported only here
and only when a scheduler is given.

Example:
    >>> check_address("tcp://127.0.0.1:8786")
    'tcp://127.0.0.1:8786'
    >>> check_address("127.0.0.1:8786")  # Dask's default protocol
    'tcp://127.0.0.1:8786'
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import re
import tempfile
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import RidershipError

#: The environment variable that gives ``--scheduler`` its default.
SCHEDULER_ENV = "RIDERSHIP_SCHEDULER"
INSTALL = "pip install 'ridership[cluster]'"
#: Seconds to wait for the scheduler when connecting.
CONNECT_WITHIN = 10.0
_ADDRESS = re.compile(r"^(?:(tcp|tls|ucx|inproc)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$")


def check_address(text: str) -> str:
    """A scheduler's address, ``tcp://HOST:PORT`` (``HOST:PORT`` means tcp); anything else is refused in one line.

    Args:
        text: the address as given (``--scheduler`` or ``$RIDERSHIP_SCHEDULER``).
    """
    match = _ADDRESS.match(text.strip())
    if not match or not 0 < int(match.group(3)) < 65536:
        raise RidershipError(f"{text!r} is not a Dask scheduler's address: give tcp://HOST:PORT "
                             "(--scheduler or $RIDERSHIP_SCHEDULER).")
    scheme, host, port = match.groups()
    return f"{scheme or 'tcp'}://{host}:{port}"


def installed() -> bool:
    """Whether Dask's ``distributed`` can be imported here (without importing it)."""
    try:
        return importlib.util.find_spec("distributed") is not None
    except (ImportError, ValueError):
        return False


def require_installed() -> None:
    """Raise one line saying how to install ``distributed`` when it is missing."""
    if not installed():
        raise RidershipError(f"--scheduler needs Dask's distributed, which is not installed: {INSTALL}")


def package_version() -> str:
    """This process's ridership version."""
    from .. import __version__

    return __version__


def _versions_line(worker: str, theirs: str) -> str:
    return (f"Dask worker {worker} runs ridership {theirs}, this command {package_version()}: install the same "
            "version on every worker (no results table mixes versions).")


class VersionMismatch(RidershipError):
    """A worker runs another version of the package than the driver."""


def _worker_version() -> str:
    return package_version()


@contextlib.contextmanager
def _quiet_distributed():
    """Dask's own log lines (connection retries, a lost scheduler) held back: the command says it in one line.

    After a lost scheduler they stay held back: the client's reconnection, cancelled as it
    closes, logs from its own thread after the block has ended.
    """
    import distributed  # noqa: F401  (its loggers, each with the level Dask's configuration gives it)

    logs = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
            if name == "distributed" or name.startswith("distributed.")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL + 1)
    yield
    for log, level in zip(logs, levels):
        log.setLevel(level)


def _lost(address: str, why: str = "") -> RidershipError:
    return RidershipError(f"Lost the Dask scheduler at {address}{f' ({why})' if why else ''}; finished runs are "
                          "kept: run the same command again to resume.")


@contextlib.contextmanager
def cluster_executor(address: str, jobs: int | None = None):
    """A ``concurrent.futures.Executor`` on the Dask cluster at ``address``, for the block.

    Connects, refuses a cluster with a worker of another package version, yields
    ``Client.get_executor()``, and closes the client after the block; on an exception
    (Ctrl-C included) the runs still queued or in flight are cancelled first. A scheduler that
    cannot be reached or goes away during the block ends it with one line (``RidershipError``).

    Args:
        address: ``tcp://HOST:PORT``.
        jobs: unused (the cluster places its tasks itself); there for ``run_longest_first``.
    """
    require_installed()
    address = check_address(address)
    with _quiet_distributed():
        from distributed import Client
        from distributed.comm.core import CommClosedError

        try:
            client = Client(address, timeout=CONNECT_WITHIN, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise RidershipError(f"Cannot reach a Dask scheduler at {address} ({exc.__class__.__name__}): start one "
                                 "with `dask scheduler`, or check --scheduler.") from None
        executor = None
        try:
            try:
                found = client.run(_worker_version)
            except (OSError, CommClosedError, CancelledError, TimeoutError) as exc:
                raise _lost(address, exc.__class__.__name__) from None
            if not found:
                raise RidershipError(f"The Dask scheduler at {address} has no workers: start some with "
                                     f"`dask worker {address}`.")
            for worker, version in sorted(found.items()):
                if version != package_version():
                    raise VersionMismatch(_versions_line(worker, version))
            executor = client.get_executor(pure=False)
            yield executor
        except CancelledError:
            raise _lost(address, "its runs were cancelled") from None
        except (CommClosedError, OSError) as exc:
            if client.status in ("running",):
                raise
            raise _lost(address, exc.__class__.__name__) from None
        except BaseException:
            if executor is not None:
                with contextlib.suppress(Exception):
                    executor.shutdown(wait=False)
            raise
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=2)


def executor_for(address: str | None) -> Callable | None:
    """The ``executor`` argument of ``run_longest_first`` for ``address`` (None: local processes)."""
    if address is None:
        return None
    require_installed()
    address = check_address(address)
    return lambda jobs: cluster_executor(address, jobs)


# --- on the worker --------------------------------------------------------------------------


@dataclass
class Returned:
    """What a worker sends back for one run: the record's fields and each file's name, bytes and sha256."""

    rid: str
    result: dict
    files: dict = field(default_factory=dict)  # path inside the results folder -> (bytes, sha256)


def file_bytes(save: Callable[[Path], None], name: str) -> tuple[bytes, str]:
    """The bytes ``save(path)`` writes to a file called ``name`` in a temporary folder, and their sha256.

    Example:
        >>> data, digest = file_bytes(lambda p: p.write_text("hi"), "x.txt")
        >>> data, digest[:8]
        (b'hi', '8f434346')
    """
    with tempfile.TemporaryDirectory(prefix="ridership-") as folder:
        path = Path(folder) / name
        save(path)
        data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()


def on_worker(task: str, driver_version: str, backend: str, compile_cache: bool, *args):
    """On a Dask worker: check it runs the driver's package version, then ``task(*args)`` in a fresh process.

    The run gets a spawned process of its own (``ridership.engine.workers.worker_pool``), as a
    local run does: nothing of the worker's reaches it (its event loop's timers draw from
    Python's global random numbers, which Keras seeds and then draws its default seeds from; a
    backend already loaded; memory a run left), so a seed gives the same numbers as locally
    (trained in the worker's own thread, some runs did not), and the process dies with the worker. ``task`` is named (``"ridership.engine.reproduce:remote_job"``): the new
    process imports its module after choosing ``backend``. With ``compile_cache``, on JAX, the
    compiled programs are kept in the worker's folder (or ``$JAX_COMPILATION_CACHE_DIR``).
    An error in the run (``RidershipError``) comes back in one line naming the worker.
    """
    from .runtime import COMPILE_CACHE
    from .workers import worker_pool

    here = worker_name()
    if package_version() != driver_version:
        raise VersionMismatch(f"Dask worker {here} runs ridership {package_version()}, this command "
                              f"{driver_version}: install the same version on every worker (no results table "
                              "mixes versions).")
    env = {"KERAS_BACKEND": backend}
    if compile_cache and backend == "jax":
        env["JAX_COMPILATION_CACHE_DIR"] = os.environ.get("JAX_COMPILATION_CACHE_DIR") or str(worker_folder(COMPILE_CACHE))
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"  # the small programs add up
    try:
        with worker_pool(1, env=env, fresh=True) as pool:
            return pool.submit(_in_process, task, backend, *args).result()
    except VersionMismatch:
        raise
    except RidershipError as exc:
        raise RidershipError(f"On Dask worker {here}: {exc}") from None


def _in_process(task: str, backend: str, *args):
    """In the run's own process: choose ``backend``, then import and call ``task``."""
    import importlib

    from ..backend import choose_backend

    choose_backend(backend)
    module, name = task.split(":")
    return getattr(importlib.import_module(module), name)(*args)


def remote(task: str, backend: str, compile_cache: bool = True) -> Callable:
    """What ``run_longest_first`` sends to the cluster for ``task`` (``"module:function"``) on ``backend``."""
    from functools import partial

    return partial(on_worker, task, package_version(), backend, compile_cache)


def worker_name() -> str:
    """The address of the Dask worker this runs on, for messages."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "(not a Dask worker)"


def worker_folder(name: str) -> Path:
    """A folder of this worker's own (in its Dask local directory, else the temporary folder) for ``name``."""
    try:
        from distributed import get_worker

        base = Path(get_worker().local_directory)
    except (ImportError, ValueError):
        base = Path(tempfile.gettempdir())
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- back on the driver ---------------------------------------------------------------------


def keep_returned(out: Path, returned: Returned, kind: dict, fields: dict | None = None) -> dict:
    """Write a run a worker sent back into ``out`` as a local run is written; return its record.

    Each file is checked against the sha256 the worker computed, written atomically, then the
    record last; the record is then checked as a rerun would check it.
    """
    from .runs import check_run, write_run
    from .storage import atomic_path, output_error

    out = Path(out)
    paths = []
    for name, (data, digest) in returned.files.items():
        if hashlib.sha256(data).hexdigest() != digest:
            raise RidershipError(f"The file {name} of run {returned.rid} arrived damaged from its Dask worker; "
                                 "run the same command again to train it again.")
        path = out / name
        try:
            with atomic_path(path) as tmp:
                tmp.write_bytes(data)
        except OSError as exc:
            raise output_error(exc, path, "a model") from None
        paths.append(path)
    record = write_run(out, returned.rid, kind, returned.result, paths)
    check = check_run(out, returned.rid, kind, fields)
    if check.status != "ok":
        raise RidershipError(f"The run {returned.rid} from the cluster did not check out once written: {check.problem}")
    return record
