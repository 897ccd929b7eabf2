"""Partial results of one long task, kept across an interrupted run.

A suite's record is written when its task finishes; a task made of many slow units (a MILP
policy simulated on ten demand scenarios for an hour) would lose all of them if the run were
stopped in the middle. Such a task runs its units through :func:`run_units`, which stores each
one as it finishes and skips those an earlier attempt stored:

>>> values, resumed = run_units(task, 10, slow_unit)     # doctest: +SKIP

:func:`orlearn.bench.run_suite` gives each task the file ``<out>/<suite>/partial/<task_id>.jsonl``
(the task id covers the problem, instance, parameters, method, options and seed) and deletes it
once the task's record is stored as finished; delete it by hand to recompute the units after a
code change. Outside a suite run (a task executed directly) nothing is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from orlearn.bench.tasks import Task

_FOLDER: ContextVar[Path | None] = ContextVar("orlearn_partial_folder", default=None)


class PartialResults:
    """Append-only ``key -> value`` units of one task (JSON lines, flushed and fsynced); with no
    path, an in-memory store that keeps nothing after the process."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)

    def load(self) -> dict[str, Any]:
        """The units stored so far (the latest value of a key wins; a torn last line, from a
        crash mid-write, is ignored)."""
        if self.path is None or not self.path.exists():
            return {}
        out: dict[str, Any] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and "key" in row:
                out[str(row["key"])] = row.get("value")
        return out

    def put(self, key: str, value: Any) -> Any:
        """Store one finished unit and return ``value``."""
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps({"key": str(key), "value": value}, allow_nan=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        return value

    def clear(self) -> None:
        """Delete the stored units."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def partial_path(folder: str | Path, task: Task) -> Path:
    """The file of ``task``'s partial results under ``folder``."""
    return Path(folder) / f"{task.task_id}.jsonl"


@contextmanager
def partial_folder(folder: str | Path | None) -> Iterator[None]:
    """Within this context, :func:`task_partials` stores under ``folder`` (None: nowhere)."""
    token = _FOLDER.set(None if folder is None else Path(folder))
    try:
        yield
    finally:
        _FOLDER.reset(token)


def task_partials(task: Task) -> PartialResults:
    """The partial-results store of ``task`` in the current suite run (in memory outside one)."""
    folder = _FOLDER.get()
    return PartialResults(None if folder is None else partial_path(folder, task))


def run_units(task: Task, count: int, unit: Callable[[int], Any]) -> tuple[list[Any], int]:
    """``unit(k)`` for k = 0 .. count - 1, each stored in ``task``'s partial results as it
    finishes; the units an earlier attempt stored are read back instead of run. Returns the
    values in order and how many were read back."""
    partial = task_partials(task)
    done = partial.load()
    resumed = sum(str(k) in done for k in range(count))
    values = [done[str(k)] if str(k) in done else partial.put(str(k), unit(k))
              for k in range(count)]
    return values, resumed
