"""Work in other processes, one way for everything: the networks' runs and SARIMA's daily fits.

It is ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start method: every worker
is a fresh interpreter, never a fork of a process whose backend may have started threads. On
top of it:

- the parent alone decides to stop. Workers ignore Ctrl-C, which the terminal sends to the
  whole process group, from their first instruction on: they are started with SIGINT (and
  SIGTERM) blocked, a mask that survives ``exec``, so one still importing never prints a
  traceback; and a signal never cuts short the parent's hand-over of a worker's start-up data. When the
  parent stops (Ctrl-C, SIGTERM, a task that failed) it cancels what has not started, kills
  the workers (the runs in flight are dropped; their callers remove what they half wrote)
  and returns within a few seconds;
- nothing is shared between parent and workers but the pool's own queues: a worker finds
  out that its parent is gone by watching its parent's pid, never by waiting on an event
  (a worker that exits while waiting on a shared event can leave the event's lock to hang
  whoever sets it next);
- a worker exits within a second of its parent ending, however the parent ends (SIGTERM,
  SIGKILL);
- :func:`run_longest_first` keeps one task in flight per slot, starts the costliest first,
  and gives each slot its own share of the CPUs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from typing import Callable, Iterable

from .runtime import core_groups

#: How often a worker checks that its parent is still there (seconds).
WATCH_EVERY = 0.25
#: How long the parent waits for killed workers and the pool's thread before giving up on them (seconds).
STOP_WITHIN = 5.0
_SHARED = None  # what the pool gave this worker once (see ``shared``)
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _watch(parent: int) -> None:
    """End this worker when its parent has gone (it was re-parented)."""
    while os.getppid() == parent:
        time.sleep(WATCH_EVERY)
    os._exit(1)  # nothing of this worker's is worth finishing once its parent is gone


def _start(parent: int, initializer, initargs, shared) -> None:
    global _SHARED
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C that came while starting is dropped
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # a SIGTERM that came ends the worker now
    _SHARED = shared
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="ridership-watch").start()
    if initializer is not None:
        initializer(*initargs)


def shared():
    """In a worker: the ``shared`` object its pool was given (sent once per worker, not with every task)."""
    return _SHARED


@contextlib.contextmanager
def _stop_signals_held():
    """Hold SIGINT and SIGTERM back in the main thread for the block; a signal that came is acted on after it.

    Two things, because blocking alone is not enough: processes (and threads) started in the
    block inherit the blocked mask, so a new worker starts deaf to Ctrl-C; and the Python
    handlers are swapped for one that only notes the signal, because a signal the kernel hands
    to another thread of this process (one started before the block) still runs its Python
    handler in the main thread at the next instruction. Raised there, half-way through the
    start of a worker, it would leave that worker without its start-up data (it would print a
    traceback of its own) and outside the pool's list of processes (nobody would kill it).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: came.append(signum)) for signum in _STOP_SIGNALS}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)  # one pending for this thread is noted now
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if came:  # as if it came now, to the handler that was there
            handler = previous[came[0]]
            if callable(handler):
                handler(came[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(came[0])


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


class WorkerPool(ProcessPoolExecutor):
    """A ``ProcessPoolExecutor`` of spawned processes that start deaf to Ctrl-C and die with this one.

    Processes are started in ``submit`` (the first ones) and by the pool's own thread (the
    replacements after ``max_tasks_per_child``); both start them with SIGINT and SIGTERM
    blocked, the thread because it is itself started, in the first ``submit``, with them blocked.
    A signal that comes during ``submit`` is acted on when ``submit`` has returned
    (:func:`_stop_signals_held`), so a worker is never left half started.
    """

    def submit(self, fn, /, *args, **kwargs):
        with _stop_signals_held():
            return super().submit(fn, *args, **kwargs)

    def stop_now(self, within: float = STOP_WITHIN) -> None:
        """Kill the workers, fail what they had not finished, and wait at most ``within`` seconds for it.

        The workers are killed before ``shutdown``: the pool's thread then finds them dead, marks
        the pool broken and ends, without starting replacements (``shutdown`` first would
        race with a replacement being started). Python 3.14 has ``kill_workers()``; before
        it, the pool's processes are only in ``_processes``.
        """
        processes, manager = self._processes, self._executor_manager_thread
        deadline = time.monotonic() + within
        def kill_all():
            for process in list((processes or {}).values()):  # the thread may add a replacement meanwhile
                with contextlib.suppress(Exception):
                    process.kill()

        while True:
            kill_all()
            if manager is None or not manager.is_alive() or time.monotonic() > deadline:
                break
            manager.join(0.1)
        # Once more: a replacement the thread started after the last pass, just before it ended,
        # would otherwise outlive us and print a traceback when its start-up data never comes.
        kill_all()
        self.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def worker_pool(workers: int, initializer: Callable | None = None, initargs: tuple = (), env: dict | None = None,
                fresh: bool = False, shared=None):
    """A :class:`WorkerPool` of ``workers`` spawned processes that die with this one.

    Args:
        workers: how many processes.
        initializer, initargs: run in each worker first, as ``ProcessPoolExecutor`` does.
        env: environment variables the workers start with (None: unset).
        fresh: a new process for every task (nothing one task leaves in memory reaches the next).
        shared: an object each worker receives once when it starts (:func:`shared` returns it
            there): large data sent this way never waits in the pool's task queue.

    Leaving the block by an exception (Ctrl-C and SIGTERM included) stops the workers at once
    (:meth:`WorkerPool.stop_now`); leaving it normally waits for the tasks submitted.
    """
    context = multiprocessing.get_context("spawn")
    with _environment(env):  # for the whole block: workers are started as tasks are submitted
        pool = WorkerPool(workers, mp_context=context, initializer=_start,
                          initargs=(os.getpid(), initializer, initargs, shared),
                          max_tasks_per_child=1 if fresh else None)
        try:
            yield pool
        except BaseException:
            pool.stop_now()
            raise
        pool.shutdown(wait=True)


def run_longest_first(task: Callable, items: Iterable, jobs: int, cost: Callable, on_result: Callable,
                      env: dict | None = None, shared=None, executor: Callable[..., Executor] | None = None) -> None:
    """``task(item, cpus)`` for every item, ``jobs`` at a time, each in a fresh worker process.

    Items start in order of decreasing ``cost(item)``; each of the ``jobs`` slots owns an equal
    share of this process's CPUs, passed to the task as ``cpus``. ``on_result(item, result)``
    runs here as each task finishes. The first task that fails stops the others and its
    exception is raised here; so does Ctrl-C.

    Args:
        env, shared: as :func:`worker_pool`.
        executor: a context manager factory called as ``executor(jobs)`` that yields any
            ``concurrent.futures.Executor`` (a Dask ``Client.get_executor()``, say) instead of
            this module's worker processes; it owns how its workers stop, and places its tasks
            on CPUs itself: ``jobs`` slots, each task given ``cpus=None``.
    """
    queue = sorted(items, key=cost, reverse=True)
    slots = core_groups(jobs) if executor is None else [None] * max(1, jobs)
    free, running = list(range(len(slots))), {}
    pool_of = executor or (lambda n: worker_pool(n, env=env, fresh=True, shared=shared))
    with pool_of(len(slots)) as pool:
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
