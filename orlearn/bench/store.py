"""Append-only JSONL store of task results.

Every finished task is written as one JSON line and flushed (and fsynced) at once, so that an
interrupted run keeps every result finished before it, and a re-run skips what is done.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from orlearn.errors import OrlearnError


class ResultStore:
    """A JSONL file of task records; the latest record of a task id wins."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and flush it to disk."""
        line = json.dumps(record, default=_json_default, allow_nan=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def records(self) -> list[dict[str, Any]]:
        """All records in file order. A truncated last line (a crash mid-write) is skipped."""
        if not self.path.exists():
            return []
        out: list[dict[str, Any]] = []
        with self.path.open(encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                if number == len(lines):
                    continue  # torn final write: the task will simply run again
                raise OrlearnError(
                    f"{self.path}:{number} is not valid JSON; delete that line or the file"
                ) from None
        return out

    def latest(self) -> dict[str, dict[str, Any]]:
        """task_id -> its latest record."""
        return {r["task_id"]: r for r in self.records() if "task_id" in r}

    def done_ids(self, retry_failed: bool = True) -> set[str]:
        """Ids of tasks that need not run again (finished ok, or failed if not retrying)."""
        return {
            task_id
            for task_id, record in self.latest().items()
            if record.get("status") == "ok" or not retry_failed
        }


def _json_default(value: Any) -> Any:
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, Path):
        return str(value)
    return str(value)
