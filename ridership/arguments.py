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
import os


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


def scheduler(text: str) -> str:
    """A Dask scheduler's address, ``tcp://HOST:PORT``, with Dask's ``distributed`` installed.

    Args:
        text: the option's value as typed (or ``$RIDERSHIP_SCHEDULER``'s).
    """
    from .engine.cluster import check_address, require_installed
    from .errors import RidershipError

    try:
        address = check_address(text)
        require_installed()
    except RidershipError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return address


def add_scheduler_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler tcp://HOST:PORT`` (default ``$RIDERSHIP_SCHEDULER``) to a command that trains runs.

    The command passes ``args.scheduler`` on (None: local processes) to its engine, which gives it
    to ``ridership.engine.workers.run_longest_first`` as ``cluster.executor_for(args.scheduler)``.

    Args:
        parser: the command's parser.
    """
    from .engine.cluster import SCHEDULER_ENV

    parser.add_argument("--scheduler", type=scheduler, default=os.environ.get(SCHEDULER_ENV) or None,
                        metavar="tcp://HOST:PORT",
                        help=f"train the runs on this Dask cluster's workers; results stay here "
                             f"(default: ${SCHEDULER_ENV}, else local processes; needs ridership[cluster])")
