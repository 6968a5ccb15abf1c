"""The package's process-level settings, in one place, each with why it exists.

- :func:`import_tensorflow_quietly`: on the TensorFlow backend, a worker imports TensorFlow with
  its C++ start-up notices (printed before its logging starts, whatever the log level) taken
  out of what it writes to standard error; anything else it prints is passed on.
- :func:`keep_tensorflow_out`: a process that trains on JAX never needs TensorFlow, but
  Keras imports it when it is installed (``keras.utils.set_random_seed`` seeds ``tf.random``,
  saving checks TensorFlow types). Marking it absent, as Python's import system documents
  (``sys.modules[name] = None``), saves each training process TensorFlow's memory and start-up
  time (``benchmarks/choices.py tensorflow``).
- :func:`release_freed_memory`: glibc keeps the memory a training process frees (Keras and
  XLA free many short-lived buffers every epoch) for reuse instead of handing it back, so a
  worker's memory only grows. ``malloc_trim(0)``, glibc's documented call for handing it back,
  runs at the end of every epoch of a ``ridership reproduce`` worker (``ReleaseFreedMemory``)
  and after each of its runs; ``benchmarks/choices.py trim`` measures the peak memory it saves
  and what it costs in time. Elsewhere than glibc it does nothing.
- :func:`use_cpus`: a training process's share of the cores, given as a CPU affinity
  (``os.sched_setaffinity``), which JAX's and TensorFlow's thread pools size themselves from:
  two runs at once, one core each, do not fight over both.
"""

from __future__ import annotations

import ctypes
import os
import sys


def keep_tensorflow_out() -> bool:
    """On a backend other than TensorFlow, make ``import tensorflow`` fail in this process.

    Call it before Keras is imported, in a process that trains on NumPy windows (tf.data needs
    TensorFlow). Returns whether TensorFlow is now kept out; nothing changes if it is already
    loaded or is the backend.
    """
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow" or "tensorflow" in sys.modules:
        return False
    sys.modules["tensorflow"] = None  # type: ignore[assignment]  # documented: import raises ImportError
    return True


#: Lines TensorFlow writes to standard error at import, before its log level applies.
_STARTUP_NOTICES = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on",
                    "cpu_feature_guard", "To enable the following instructions", "rebuild TensorFlow with")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow, dropping only its start-up notices from standard error (a no-op if imported)."""
    if "tensorflow" in sys.modules:
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode(errors="replace").splitlines(keepends=True)
                    if not any(notice in line for notice in _STARTUP_NOTICES)]
            sys.stderr.write("".join(kept))


def cores() -> list[int]:
    """The CPUs this process may run on."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))


def core_groups(jobs: int) -> list[list[int]]:
    """This process's CPUs split into ``jobs`` groups of equal size (at least one CPU each)."""
    cpus = cores()
    jobs = max(1, min(jobs, len(cpus)))
    size = len(cpus) // jobs
    return [cpus[i * size:(i + 1) * size] for i in range(jobs)]


def use_cpus(cpus: list[int] | None) -> None:
    """Run this process on ``cpus`` only (None: leave it); call it before a backend starts its threads."""
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)


_LIBC: list = []  # the C library, once looked up (empty list: not yet; [None]: none with malloc_trim)


def release_freed_memory() -> bool:
    """Hand the memory this process has freed back to the system (glibc's ``malloc_trim(0)``).

    Returns whether it could: False where the C library is not glibc.
    """
    if not _LIBC:
        try:
            libc = ctypes.CDLL(None)  # the symbols already loaded into this process, the C library's among them
            _LIBC.append(libc if hasattr(libc, "malloc_trim") else None)
        except OSError:
            _LIBC.append(None)
    if _LIBC[0] is None:
        return False
    _LIBC[0].malloc_trim(0)
    return True


#: The folder, inside a results folder, where JAX keeps the programs it compiled.
COMPILE_CACHE = "compile-cache"


def keep_compiled_programs(folder) -> bool:
    """On JAX, keep the programs this process compiles in ``folder``, and load them from there.

    Why: every seed of a command that trains in its own process (``ridership chorales train``)
    builds a fresh model whose training step compiles to the same program, seconds of work on
    a CPU each time; loaded from the cache it takes a fraction of that (on this machine 2 s
    instead of 8 s for the chorale model's step, under load). A compile cannot be interrupted,
    so this also shortens how long Ctrl-C waits. ``ridership reproduce`` gives its workers the
    same cache through JAX's ``JAX_COMPILATION_CACHE_DIR``; a folder of the user's own there wins.
    Call it before the first compile (a process that already compiled keeps its own setting).

    Returns whether programs are kept (False on another backend).
    """
    import keras

    if keras.backend.backend() != "jax":
        return False
    import jax

    if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)  # the small programs add up
    return True
