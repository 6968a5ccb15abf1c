"""Which of the runs a command asks for are done, damaged, of another kind, or still to do.

Every command that trains runs into a results folder (``ridership reproduce``,
``ridership chorales train``, and any later one) plans the same way:

1. :func:`claim` refuses a folder that holds another command's results, naming that command:
   one folder holds one kind of results, so no command rewrites another's tables;
2. :func:`plan_runs` checks each run asked for (``ridership.engine.runs.check_run``) against
   the kind this command would train: a sound run of that kind is *done*, a damaged one is
   trained again, one of another kind is refused unless ``force`` (:meth:`Plan.refuse_other_kinds`),
   a missing one is *to do*;
3. the command trains :attr:`Plan.todo`, in this process or in workers
   (``ridership.engine.workers.run_longest_first``, which accepts any
   ``concurrent.futures.Executor``), and writes each record last with
   :func:`record_result`, which stamps the command that owns it.

Example:
    >>> plan = plan_runs("no-such-folder", [Wanted("lstm-seed42", {"mode": "quick"})])
    >>> [run.rid for run in plan.todo]
    ['lstm-seed42']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import RidershipError
from .runs import RUNS_DIR, check_run, describe

#: For records written before they named their command: a field only that command's records hold.
_OWNED_BY_FIELD = {"experiment": "reproduce", "history": "chorales train"}


@dataclass(frozen=True)
class Wanted:
    """A run a command asks for: its id (``lstm-seed42``), its kind, and what its trainer needs (``job``)."""

    rid: str
    kind: dict
    job: Any = None


@dataclass
class Plan:
    """What :func:`plan_runs` found, run by run, in the order asked."""

    out: Path
    done: list[tuple[Wanted, dict]] = field(default_factory=list)  # with each one's record
    damaged: list[tuple[Wanted, str]] = field(default_factory=list)  # with what is wrong; also in todo
    other: list[tuple[Wanted, str]] = field(default_factory=list)  # with what kind it is
    todo: list[Wanted] = field(default_factory=list)

    def report(self, log: Callable[[str], None], done_line: Callable[[Wanted, dict], str]) -> None:
        """One line per run found done (``done_line`` says it) and per damaged run."""
        for wanted, record in self.done:
            log(done_line(wanted, record))
        for wanted, problem in self.damaged:
            log(f"{wanted.rid:24} damaged: {problem}; training it again")

    def refuse_other_kinds(self, asked: dict) -> None:
        """Raise one line when runs of another kind stand where runs of kind ``asked`` would go."""
        if not self.other:
            return
        problems = [problem for _, problem in self.other]
        more = f" and {len(problems) - 2} more" if len(problems) > 2 else ""
        raise RidershipError(
            f"{self.out} holds runs of another kind ({'; '.join(problems[:2])}{more}), and this is a "
            f"{describe(asked)} run. Choose another --out, or add --force to replace them.")


def plan_runs(out, wanted: list[Wanted], fields: dict | None = None, force: bool = False) -> Plan:
    """Sort the runs ``wanted`` into done, damaged, other kinds and to do, from what ``out`` holds.

    Args:
        out: the results folder.
        wanted: the runs asked for, each with the kind this command would train.
        fields: what a record of this command must hold besides the common fields (name -> type).
        force: train again runs already done, and replace runs of another kind.
    """
    plan = Plan(Path(out))
    for run in wanted:
        check = check_run(plan.out, run.rid, run.kind, fields)
        if check.status == "ok" and not force:
            plan.done.append((run, check.record))
            continue
        if check.status == "other-kind" and not force:
            plan.other.append((run, check.problem))
            continue
        if check.status == "damaged":
            plan.damaged.append((run, check.problem))
        plan.todo.append(run)
    return plan


def owner(record: dict) -> str | None:
    """The command that wrote a run record (``"reproduce"``, ``"chorales train"``), or None if unknown."""
    if isinstance(record.get("command"), str):
        return record["command"]
    return next((command for name, command in _OWNED_BY_FIELD.items() if name in record), None)


def folder_owner(out) -> str | None:
    """The command whose run records ``out`` holds, or None (no records, or none it can read)."""
    for path in sorted((Path(out) / RUNS_DIR).glob("[!.]*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        found = owner(record) if isinstance(record, dict) else None
        if found:
            return found
    return None


def claim(out, command: str, option: str = "--out") -> None:
    """Refuse ``out`` in one line when it holds the results of a command other than ``command``.

    Args:
        out: the results folder (it may not exist yet).
        command: this command, as typed after ``ridership`` (``"chorales train"``).
        option: the option that named the folder, for the advice.
    """
    found = folder_owner(out)
    if found and found != command:
        fix = (f"choose another {option}" if option == "--out" else
               f"give {option} a folder that `ridership {command}` wrote")
        raise RidershipError(f"{out} holds the results of `ridership {found}`; `ridership {command}` keeps its "
                             f"own in another folder: {fix}.")


def record_result(command: str, result: dict) -> dict:
    """``result`` stamped with the command that owns it, as a run record holds it."""
    return {"command": command, **result}
