"""Work in other processes, one way for everything: the networks' runs and SARIMA's daily fits.

It is ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start method: every worker
is a fresh interpreter, never a fork of a process whose backend may have started threads. On
top of it:

- workers ignore Ctrl-C, which the terminal sends to the whole process group: the parent
  alone handles it, stops the workers and prints one line;
- a worker exits within a second of its parent ending, however the parent ends (SIGTERM,
  SIGKILL), and at once when the parent stops the pool;
- :func:`run_longest_first` keeps one task in flight per slot, starts the costliest first,
  and gives each slot its own share of the CPUs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Iterable

from .runtime import core_groups

#: How often a worker checks that its parent is still there (seconds).
WATCH_EVERY = 0.25


def _watch(stop, parent: int) -> None:
    """End this worker when the pool is stopped or the parent has gone (we were re-parented)."""
    while not stop.wait(WATCH_EVERY):
        if os.getppid() != parent:
            break
    os._exit(1)  # nothing of this worker's is worth finishing once its parent is gone


def _start(stop, parent: int, initializer, initargs) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(stop, parent), daemon=True, name="ridership-watch").start()
    if initializer is not None:
        initializer(*initargs)


@contextlib.contextmanager
def _environment(env: dict | None):
    """``env`` set in ``os.environ`` for the block (workers spawned in it inherit it; None unsets), then restored."""
    saved = {name: os.environ.get(name) for name in env or {}}
    for name, value in (env or {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def worker_pool(workers: int, initializer: Callable | None = None, initargs: tuple = (), env: dict | None = None,
                fresh: bool = False):
    """A ``ProcessPoolExecutor`` of ``workers`` spawned processes that die with this one.

    Args:
        workers: how many processes.
        initializer, initargs: run in each worker first, as ``ProcessPoolExecutor`` does.
        env: environment variables the workers start with (None: unset).
        fresh: a new process for every task (nothing one task leaves in memory reaches the next).

    Leaving the block by an exception (Ctrl-C included) stops the workers at once.
    """
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    with _environment(env):
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start,
                                   initargs=(stop, os.getpid(), initializer, initargs),
                                   max_tasks_per_child=1 if fresh else None)
        try:
            yield pool
        except BaseException:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def run_longest_first(task: Callable, items: Iterable, jobs: int, cost: Callable, on_result: Callable,
                      env: dict | None = None) -> None:
    """``task(item, cpus)`` for every item, ``jobs`` at a time, each in a fresh worker process.

    Items start in order of decreasing ``cost(item)``; each of the ``jobs`` slots owns an equal
    share of this process's CPUs, passed to the task as ``cpus``. ``on_result(item, result)``
    runs here as each task finishes. The first task that fails stops the others and its
    exception is raised here.
    """
    queue = sorted(items, key=cost, reverse=True)
    slots = core_groups(jobs)
    free, running = list(range(len(slots))), {}
    with worker_pool(len(slots), env=env, fresh=True) as pool:
        while queue or running:
            while queue and free:
                slot = free.pop(0)
                item = queue.pop(0)
                running[pool.submit(task, item, slots[slot])] = (item, slot)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                item, slot = running.pop(future)
                free.append(slot)
                on_result(item, future.result())
