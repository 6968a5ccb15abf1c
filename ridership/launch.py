"""The ``ridership reproduce`` command's Keras backend, chosen before the package loads Keras.

Keras fixes its backend when it is first imported, and importing the package imports
Keras. Left alone, the command would start on Keras' configured backend (TensorFlow by
default: about 3 s and 600 MB to load) only to restart itself on JAX. Kept free of heavy
imports: it runs at the top of ``ridership/__init__.py``.
"""

from __future__ import annotations

import importlib.util
import os
import sys

#: ``ridership reproduce --backend`` choices; ``auto`` is JAX when installed, else Keras' configured one.
BACKENDS = ("auto", "tensorflow", "jax")


def fastest_backend() -> str | None:
    """JAX when it is installed: it trains these small recurrent models several times faster on a CPU."""
    return "jax" if importlib.util.find_spec("jax") else None


def command_args(orig_argv: list[str]) -> list[str] | None:
    """The arguments after the program when ``orig_argv`` starts the ``ridership`` command, else None.

    The command starts as the console script (``.../ridership ARGS``) or as ``python -m
    ridership ARGS``; ``orig_argv`` is the interpreter's own command line (``sys.orig_argv``).
    """
    i = 1
    while i < len(orig_argv):
        arg = orig_argv[i]
        if arg == "-m":
            return orig_argv[i + 2:] if orig_argv[i + 1:i + 2] == ["ridership"] else None
        if arg in ("-X", "-W"):  # options that take the next argument as their value
            i += 2
            continue
        if arg == "-c":
            return None
        if not arg.startswith("-"):  # the first non-option is the script
            return orig_argv[i + 1:] if os.path.basename(arg) == "ridership" else None
        i += 1
    return None


def reproduce_backend(args: list[str]) -> str | None:
    """The backend ``ridership reproduce`` will run on, read from its arguments; None if not that command.

    Mirrors ``--backend`` (default ``auto``: JAX when installed). Anything unexpected gives
    None, and the command then restarts itself on the right backend as before.
    """
    if not args or args[0] != "reproduce":
        return None
    choice = "auto"
    for i, arg in enumerate(args[1:], start=1):
        if arg == "--backend" and i + 1 < len(args):
            choice = args[i + 1]
        elif arg.startswith("--backend="):
            choice = arg.split("=", 1)[1]
    if choice == "auto":
        return fastest_backend()
    return choice if choice in BACKENDS else None


def choose_command_backend() -> None:
    """Set ``KERAS_BACKEND`` for ``ridership reproduce`` when nothing has chosen one yet."""
    if "keras" in sys.modules or "KERAS_BACKEND" in os.environ:
        return
    args = command_args(getattr(sys, "orig_argv", []))
    backend = reproduce_backend(args) if args is not None else None
    if backend:
        os.environ["KERAS_BACKEND"] = backend
