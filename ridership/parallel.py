"""Running work in several processes: how many cores, how to start workers, how to set them up.

Kept free of heavy imports: a process starts its workers before it loads a backend.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import multiprocessing
import os
import sys


def cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def limit_threads(threads: int) -> None:
    """Cap XLA's and TensorFlow's compute threads in this process and the ones it starts.

    Read when the backend starts computing, so call it before the first computation.
    JAX's CPU client sizes its compute pool (the ``XLAEigen`` threads) from ``NPROC``,
    else from the core count; the XLA flags alone left that pool at one thread per core,
    so two one-thread workers ran four busy threads on two cores (measured: a lone
    one-thread wavenet used 19.3 s of CPU in 11.9 s; with ``NPROC=1``, 19.6 in 16.9).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}".strip()
    os.environ["NPROC"] = str(threads)
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)


def without_tensorflow() -> None:
    """On a non-TensorFlow backend, keep TensorFlow from being imported, as in a JAX-only install.

    Keras would otherwise load it just to seed ``tf.random`` and to check types when
    saving (about 500 MB and 5 s per process) though training on NumPy windows never uses
    it. Nothing changes if TensorFlow is already loaded or is the backend.
    """
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow" and "tensorflow" not in sys.modules:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # import now raises ImportError


@functools.cache  # find_library runs ldconfig: look once per process, not after every run
def _glibc():
    """The C library when it is glibc (Linux), else None: the calls below are glibc's."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name and sys.platform == "linux" else None
        return libc if libc is not None and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(arenas: int = 4) -> None:
    """Cap glibc's malloc arenas (by default up to 8 per core, each keeping its own free heap).

    Measured on 2 cores (six models, two at a time): 4 arenas took 80 MB less at the peak
    than glibc's default and no longer; 2 took 110 MB less but 23 % longer (threads queue
    for the arena locks). Applies to arenas created from now on: call it before the
    backend starts its threads.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, arenas)


def release_memory() -> None:
    """Give back what a finished model used: JAX's compiled-function caches, then freed heap.

    Without it each run leaves about 100 MB behind (compiled code nothing calls again, and
    free heap malloc keeps), and a worker grows run after run.
    """
    if "jax" in sys.modules:
        sys.modules["jax"].clear_caches()
    gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def worker_setup(threads: int | None = 1) -> None:
    """Prepare a process that trains on NumPy windows: thread cap (if given), fewer malloc
    arenas, no TensorFlow on JAX."""
    if threads is not None:
        limit_threads(threads)
    limit_malloc_arenas()
    without_tensorflow()


def context() -> multiprocessing.context.BaseContext:
    """How to start workers: fork while this process has not started JAX or TensorFlow, else spawn.

    A forked worker shares the modules this process already imported (copy on write), which
    saves memory and start-up time; it is only safe before a backend's runtime threads exist.
    """
    if sys.platform == "linux" and sys.modules.get("tensorflow") is None:  # absent, or blocked on JAX
        try:
            from jax._src import xla_bridge  # private, but the only way to ask; spawn if it moves

            if not xla_bridge.backends_are_initialized():
                return multiprocessing.get_context("fork")
        except (ImportError, AttributeError):
            pass
    return multiprocessing.get_context("spawn")
