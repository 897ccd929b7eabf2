"""Benchmark tasks and suites.

A :class:`Task` is one (problem, instance, method, options, seed) run with a reference value
(an exact optimum, a best-known value or a bound). A :class:`Suite` is a named list of tasks.
Tasks are plain data (JSON-serialisable) so that they travel to process-pool and Ray workers.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from orlearn.errors import ConfigError

REFERENCE_KINDS = ("optimal", "best-known", "bound", "none")
SENSES = ("min", "max")


@dataclass(frozen=True)
class Task:
    """One benchmark run.

    Attributes:
        problem: registered problem name (see :mod:`orlearn.registry`).
        instance: instance identifier: a file path or a generator spec understood by the problem.
        method: the method to run (e.g. ``"highs"``, ``"bq-greedy"``, ``"sddp"``).
        options: method options (time limits in seconds, widths, ...); JSON-serialisable.
        seed: seed of the method's randomness.
        reference: the value the result is compared with, in the objective's units, or None.
        reference_kind: ``"optimal"``, ``"best-known"``, ``"bound"`` or ``"none"``.
        sense: ``"min"`` (costs) or ``"max"`` (profits): the sign of the gap.
        params: instance parameters (generator arguments) when ``instance`` is not a file.
    """

    problem: str
    instance: str
    method: str
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    reference: float | None = None
    reference_kind: str = "none"
    sense: str = "min"
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.reference_kind not in REFERENCE_KINDS:
            raise ConfigError(
                f"task reference_kind {self.reference_kind!r} must be one of {REFERENCE_KINDS}"
            )
        if self.sense not in SENSES:
            raise ConfigError(f"task sense {self.sense!r} must be 'min' or 'max'")
        if self.reference is not None and not math.isfinite(float(self.reference)):
            raise ConfigError(f"task reference {self.reference!r} must be a finite number")

    @property
    def task_id(self) -> str:
        """A stable identifier of (problem, instance, params, method, options, seed)."""
        key = json.dumps(
            [self.problem, self.instance, self.params, self.method, self.options, self.seed],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha1(key.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"task has unknown fields {sorted(unknown)}; known: {sorted(known)}")
        missing = {"problem", "instance", "method"} - set(data)
        if missing:
            raise ConfigError(f"task is missing the fields {sorted(missing)}")
        return cls(**data)


@dataclass
class Suite:
    """A named list of tasks."""

    name: str
    tasks: list[Task]
    description: str = ""

    def __post_init__(self) -> None:
        seen: dict[str, Task] = {}
        for task in self.tasks:
            if task.task_id in seen:
                raise ConfigError(
                    f"suite {self.name!r} holds the same task twice: {task.problem} "
                    f"{task.instance} {task.method} seed={task.seed}"
                )
            seen[task.task_id] = task

    def __len__(self) -> int:
        return len(self.tasks)

    def select(self, only: str | Sequence[str] | None = None,
               seeds: Sequence[int] | None = None) -> Suite:
        """The sub-suite of some tasks, in the suite's order (same name, same task ids).

        ``only``: method and/or instance names (a comma-separated string or a list); shell
        globs such as ``setcover-medium-test-*`` match several. A task is kept when its
        method matches one of the method names (or none was given) and its instance one of
        the instance names (or none was given). ``seeds``: keep only tasks with these run
        seeds (``Task.seed``: the SCIP seed of a branching solve, the agent seed of a training
        run; not the suite's instance seed).

        Raises:
            ConfigError: a name or pattern that matches no method or instance, or nothing
                left to run.
        """
        import fnmatch

        tasks = self.tasks
        if only is not None:
            wanted = [n.strip() for n in (only.split(",") if isinstance(only, str) else only)
                      if n.strip()]
            methods = sorted({t.method for t in tasks})
            instances = list(dict.fromkeys(t.instance for t in tasks))
            if not wanted:
                raise ConfigError("--only: give at least one method or instance name")
            method_names: set[str] = set()
            instance_names: set[str] = set()
            for name in wanted:
                hit_m = set(fnmatch.filter(methods, name))
                hit_i = set(fnmatch.filter(instances, name))
                if not hit_m and not hit_i:
                    raise ConfigError(
                        f"--only: {name!r} matches no method or instance of suite "
                        f"{self.name!r} (use its exact names or a glob like 'name-*'); its "
                        f"methods are {', '.join(methods)}")
                method_names |= hit_m
                instance_names |= hit_i
            tasks = [t for t in tasks
                     if (not method_names or t.method in method_names)
                     and (not instance_names or t.instance in instance_names)]
        if seeds is not None:
            keep = {int(s) for s in seeds}
            tasks = [t for t in tasks if t.seed in keep]
        if not tasks:
            run_seeds = sorted({t.seed for t in self.tasks})
            asked = " with ".join(
                part for part in (f"--only {only!r}" if only is not None else "",
                                  f"--only-seeds {sorted(seeds)}" if seeds is not None else "")
                if part)
            raise ConfigError(
                f"{asked} matches no task of suite {self.name!r} (a named method must run on "
                f"a named instance; the suite's run seeds are {run_seeds})")
        return Suite(self.name, list(tasks), self.description)


def gap(objective: float | None, reference: float | None, sense: str = "min") -> float | None:
    """Relative gap of ``objective`` to ``reference``: (cost - ref) / |ref| for minimisation,
    (ref - value) / |ref| for maximisation; positive means worse than the reference."""
    if objective is None or reference is None:
        return None
    if not (math.isfinite(objective) and math.isfinite(reference)):
        return None
    diff = objective - reference if sense == "min" else reference - objective
    denom = abs(reference)
    if denom < 1e-12:
        return 0.0 if abs(diff) < 1e-9 else math.inf
    return diff / denom


def load_suite_file(path: str | Path) -> Suite:
    """Read a suite from a TOML file.

    Format::

        [suite]
        name = "my-suite"
        description = "..."

        [[tasks]]
        problem = "milp"
        instance = "data/milp/knapsack12.mps"
        method = "highs"
        reference = 1234.0
        reference_kind = "optimal"
        sense = "max"
        options = { time_limit = 10 }
        seeds = [0, 1]          # optional: one task per seed

    Relative instance paths are resolved against the TOML file's folder when they exist there.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"suite file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"suite file {path} is not valid TOML: {exc}") from None
    meta = data.get("suite", {})
    raw_tasks = data.get("tasks", [])
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise ConfigError(f"suite file {path} has no [[tasks]] entries")
    tasks: list[Task] = []
    for raw in raw_tasks:
        raw = dict(raw)
        seeds = raw.pop("seeds", None)
        candidate = path.parent / str(raw.get("instance", ""))
        if raw.get("instance") and candidate.exists():
            raw["instance"] = str(candidate.resolve())
        for seed in seeds if seeds is not None else [raw.pop("seed", 0)]:
            tasks.append(Task.from_dict({**raw, "seed": int(seed)}))
    name = meta.get("name", path.stem)
    return Suite(name=name, tasks=tasks, description=meta.get("description", ""))
