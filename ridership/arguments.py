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


def _at_least(minimum: int, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def positive(text: str) -> int:
    """A whole number of at least 1 (``--seeds``, ``--jobs``, ``--epochs``...).

    Args:
        text: the option's value as typed.
    """
    return _at_least(1, text)


def seed(text: str) -> int:
    """A seed: a whole number of at least 0 (``--seed``).

    Args:
        text: the option's value as typed.
    """
    return _at_least(0, text)


def chosen(only: str | None, choices, what: str, example: str) -> list[str]:
    """The names a comma-separated ``--only`` picks from ``choices``, in the order of ``choices``.

    Args:
        only: the option's value (``None``: every choice).
        choices: the names allowed, in the order the tables use.
        what: what a name names, in the plural (``"experiment"`` gives "experiment(s)").
        example: names to suggest when ``only`` names none.

    Raises ``RidershipError`` in one line for no name or an unknown one.

    Example:

    >>> chosen("lstm, univar", ["univar", "deep", "lstm"], "experiment", "univar,lstm")
    ['univar', 'lstm']
    """
    from .errors import RidershipError

    choices = list(choices)
    if only is None:
        return choices
    names = [n.strip() for n in only.split(",") if n.strip()]
    if not names:
        raise RidershipError(f"--only {only!r} names no {what}; give names such as {example} "
                             f"(choose from {', '.join(choices)}), or leave --only out to run them all.")
    unknown = [n for n in names if n not in choices]
    if unknown:
        raise RidershipError(f"Unknown {what}(s) {', '.join(unknown)}; choose from {', '.join(choices)}.")
    return [n for n in choices if n in names]


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
