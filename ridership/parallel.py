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


# glibc's mallopt parameter numbers
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
#: Where glibc's own sliding thresholds stop (32 MB for mmap, twice that for trimming), fixed there.
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD


def tune_malloc(arenas: int = 4, fixed_thresholds: bool = True) -> None:
    """Fewer malloc arenas, and fixed thresholds so a training step's buffers are reused.

    Arenas: glibc makes up to 8 per core, each keeping its own free heap. Measured on 2
    cores (six models, two at a time): 4 arenas took 80 MB less at the peak than the default
    and no longer; 2 took 110 MB less but 23 % longer (threads queue for the arena locks).

    Thresholds: glibc maps blocks above its mmap threshold afresh on every allocation and
    hands the top of a heap back to the system once more than its trim threshold is free;
    both thresholds slide with what the process has freed so far, and in most trainings
    some of each step's buffers landed on the wrong side and were faulted in again step
    after step. ``python benchmarks/malloc.py`` (gru as one run of ``reproduce`` does it,
    eight rounds, 2026-11-29): sliding, 6 of 8 runs over a million page faults (two over
    seven million, 62 and 65 s), mean 53.4 s; fixed, at most 55,000 faults, mean 47.5 s,
    worst 50.4 s; the same MAE. Fixed thresholds stop the sliding; ``trim_heap`` hands
    memory back at the points we choose instead.

    ``fixed_thresholds=False`` leaves them sliding (the benchmark's other side). Applies to
    arenas created from now on: call it before the backend starts its threads.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, arenas)
        if fixed_thresholds:
            libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)


def release_memory() -> None:
    """Give back what a finished model used: JAX's compiled-function caches, then freed heap.

    Without it each run leaves about 100 MB behind (compiled code nothing calls again, and
    free heap malloc keeps), and a worker grows run after run.
    """
    if "jax" in sys.modules:
        sys.modules["jax"].clear_caches()
    gc.collect()
    trim_heap()


def trim_heap() -> bool:
    """Hand the heap malloc holds free back to the system (glibc only); True if it did.

    With ``tune_malloc``'s thresholds glibc keeps up to 64 MB free at the top of a heap for
    reuse; what XLA's compiler leaves free would otherwise stay with the process for good.
    """
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0))


def worker_setup(threads: int | None = 1) -> None:
    """Prepare a process that trains on NumPy windows: thread cap (if given), malloc tuned
    (``tune_malloc``), no TensorFlow on JAX."""
    if threads is not None:
        limit_threads(threads)
    tune_malloc()
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
