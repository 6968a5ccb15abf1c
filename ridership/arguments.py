"""The command line's argument checks, shared by ``ridership`` and ``ridership chorales``.

Each is an argparse ``type``: it returns the value or raises ``ArgumentTypeError``, which the
parser reports in one line with exit code 2.

Example:

>>> positive("3")
3
>>> path("results/run 1")
'results/run 1'
"""

from __future__ import annotations

import argparse


def positive(text: str) -> int:
    """A whole number of at least 1 (``--seeds``, ``--jobs``, ``--epochs``...).

    Args:
        text: the option's value as typed.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def path(text: str) -> str:
    """A path, never the empty string, which would quietly mean the current folder.

    Args:
        text: the option's value as typed.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return text
