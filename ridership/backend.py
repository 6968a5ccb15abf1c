"""Which Keras backend runs: chosen once, before Keras is imported, in a documented order.

1. the command line's ``--backend`` (``ridership reproduce --backend tensorflow``);
2. else the ``KERAS_BACKEND`` environment variable, Keras' own setting;
3. else JAX when it is installed: it trains these small models several times faster on a CPU
   (``benchmarks/speed.py``);
4. else Keras' configured default (TensorFlow).

Keras fixes its backend when it is first imported, so :func:`choose_backend` must run before
that: the ``ridership`` command calls it before any command runs, and each notebook in its
first cell. ``import ridership`` does not call it (importing the package changes nothing in
the process). A process that imported Keras first keeps Keras' choice. To switch in a
notebook, set ``KERAS_BACKEND`` before Jupyter (or the kernel) starts.

TensorFlow's documented settings get quiet defaults here too, which a value of yours overrides:
``TF_CPP_MIN_LOG_LEVEL=2`` (no informational lines) and, when TensorFlow is not the backend (it
then only reads data, as ``tf.data``), ``TF_ENABLE_ONEDNN_OPTS=0``: TensorFlow prints its oneDNN
notice before its logging starts, which no log level hides, and oneDNN's kernels compute
nothing of ours there. On the TensorFlow backend they stay on (they are TensorFlow's faster
CPU kernels); ``ridership reproduce``'s workers then drop the notice themselves
(``ridership.engine.runtime.import_tensorflow_quietly``). On TensorFlow,
training several models in one process makes TensorFlow warn that it traces its training
step again for each; that one warning is filtered from its Python logger.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys

from .errors import RidershipError

#: ``--backend`` choices; ``auto`` follows steps 2 to 4 above.
BACKENDS = ("auto", "jax", "tensorflow")
QUIET_TENSORFLOW = {"TF_CPP_MIN_LOG_LEVEL": "2"}
#: Only where TensorFlow serves data and runs no model.
DATA_ONLY_TENSORFLOW = {"TF_ENABLE_ONEDNN_OPTS": "0"}
_DEFAULTED: set[str] = set()  # the data-only settings set here, not by the user


class _NoRetracingNotes(logging.Filter):
    """Drops TensorFlow's note that a new model's training step was traced again (expected here)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def choose_backend(requested: str | None = None) -> str:
    """Set the backend Keras will load, following the documented order; return its name.

    Args:
        requested: ``"jax"``, ``"tensorflow"``, or ``None``/``"auto"`` for the default order.

    Raises ``RidershipError`` when Keras is already loaded on another backend than ``requested``.

    Example:

    >>> import ridership
    >>> ridership.choose_backend() in ("jax", "tensorflow")   # the one Keras runs on in this process
    True
    """
    for name, value in QUIET_TENSORFLOW.items():
        os.environ.setdefault(name, value)
    tensorflow_log = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NoRetracingNotes) for f in tensorflow_log.filters):
        tensorflow_log.addFilter(_NoRetracingNotes())
    if requested not in (None, *BACKENDS):
        raise RidershipError(f"Unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}.")
    requested = None if requested == "auto" else requested
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if requested and requested != current:
            raise RidershipError(f"Keras is already running on {current} in this process; start a new one with "
                                 f"KERAS_BACKEND={requested} to use {requested}.")
        return current
    if requested:
        os.environ["KERAS_BACKEND"] = requested
    elif not os.environ.get("KERAS_BACKEND") and importlib.util.find_spec("jax"):
        os.environ["KERAS_BACKEND"] = "jax"
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")  # unset: Keras' configured default
    if backend != "tensorflow" and "tensorflow" not in sys.modules:
        for name, value in DATA_ONLY_TENSORFLOW.items():
            if name not in os.environ:
                os.environ[name] = value
                _DEFAULTED.add(name)
    return backend


def checked_backend(requested: str | None = None) -> str:
    """:func:`choose_backend`, then a check that the backend is one ridership trains on and is installed.

    Every command that loads Keras calls it once, before Keras is imported, so an unknown or
    uninstalled ``KERAS_BACKEND`` ends in one line (``RidershipError``) instead of Keras' traceback.

    Args:
        requested: ``--backend``'s value (``"jax"``, ``"tensorflow"``, ``"auto"`` or None).
    """
    backend = choose_backend(requested)
    asked = f"--backend {requested}" if requested not in (None, "auto") else f"KERAS_BACKEND={backend}"
    supported = [name for name in BACKENDS if name != "auto"]
    if backend not in supported:
        raise RidershipError(f"{asked} is not a backend ridership trains on: set KERAS_BACKEND to "
                             f"{' or '.join(supported)}, or unset it (JAX when installed, else TensorFlow).")
    if importlib.util.find_spec(backend) is None:
        other = next(name for name in supported if name != backend)
        raise RidershipError(f"{asked} asks for {backend}, which is not installed: pip install {backend}, "
                             f"or use {other} (KERAS_BACKEND={other}).")
    return backend


def environment_for(backend: str) -> dict:
    """The settings a new process on ``backend`` needs beyond this one's: on TensorFlow, the
    data-only defaults this module set here taken back (``None``: unset)."""
    return {name: None for name in _DEFAULTED} if backend == "tensorflow" else {}
