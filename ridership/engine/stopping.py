"""Stopping a command cleanly on Ctrl-C (SIGINT) or SIGTERM: one line, exit 130 or 143, nothing half written.

Two ways, one for each place training happens:

- a command whose runs train in worker processes (``ridership reproduce``) lets the signal
  raise :class:`Stopped` in its main thread (:func:`signals_raise`): the worker pool then
  kills its workers (``ridership.engine.workers``), whose runs in flight are dropped;
- a command that trains in its own process (``ridership chorales train``) must never unwind
  through the backend's compiled code (JAX calls back into Python there, and an exception
  raised inside such a callback can crash the interpreter). There :class:`StopFlag` only
  notes the signal; a Keras callback (:meth:`StopFlag.callback`) reads the note after each
  training step and ends ``fit``, and the command calls :meth:`StopFlag.check` between
  steps of its own, which raises :class:`Stopped` in plain Python.

``ridership.cli.main`` turns :class:`Stopped` into its one line and the exit code 128 + the
signal's number, as a shell reports a process ended by that signal.
"""

from __future__ import annotations

import contextlib
import signal
import threading

#: The signals that stop a command.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """The command was asked to stop by ``signum`` (a ``KeyboardInterrupt``, so code that lets Ctrl-C
    through lets this through too)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum, frame):
    raise Stopped(signum)


@contextlib.contextmanager
def _handlers(handler):
    """``handler`` for SIGINT and SIGTERM during the block (in the main thread only; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def signals_raise():
    """A context manager: SIGINT and SIGTERM raise :class:`Stopped` in the main thread during the block."""
    return _handlers(_raise)


class StopFlag:
    """Notes SIGINT and SIGTERM instead of raising, for training that must stop between steps.

    Example:
        >>> flag = StopFlag()
        >>> with flag:
        ...     flag.check()        # nothing asked to stop: returns
        >>> flag.signum is None
        True
    """

    def __init__(self):
        self.signum: int | None = None

    def _note(self, signum, frame):
        self.signum = signum

    def __enter__(self) -> "StopFlag":
        self._context = _handlers(self._note)
        self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)

    def check(self) -> None:
        """Raise :class:`Stopped` if a signal came: call it between steps, outside the backend's code."""
        if self.signum is not None:
            raise Stopped(self.signum)

    def callback(self):
        """A Keras callback that ends ``fit`` after the training step during which a signal came."""
        import keras

        flag = self

        class StopOnSignal(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if flag.signum is not None:
                    self.model.stop_training = True

            def on_epoch_end(self, epoch, logs=None):
                self.on_train_batch_end(None)

        return StopOnSignal()
