"""Benchmark harness: suites of (instance x method x seed) tasks compared with references.

>>> from orlearn.bench import get_suite, benchmark
>>> suite = get_suite("milp-quick", seed=0)           # doctest: +SKIP
>>> tasks, summary = benchmark(suite, out_dir="results")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orlearn.bench.partial import PartialResults, run_units, task_partials
from orlearn.bench.report import print_summary, summarize, task_table, write_reports
from orlearn.bench.runner import EXECUTORS, RunSummary, TaskOutcome, execute_task, run_suite
from orlearn.bench.store import ResultStore
from orlearn.bench.tasks import Suite, Task, gap, load_suite_file
from orlearn.errors import ConfigError

QUICK = "quick"


def list_suites() -> dict[str, str]:
    """Registered suite names -> descriptions (``quick`` included)."""
    from orlearn.registry import SUITES

    quick_parts = ", ".join(name for name, spec in SUITES.items() if spec.quick)
    out = {QUICK: f"the demo: every module's quick tasks ({quick_parts})"}
    out.update({name: spec.description for name, spec in SUITES.items()})
    return out


def get_suite(name: str, seed: int = 0, folder: str | Path | None = None) -> Suite:
    """Build a registered suite (or read a ``.toml`` suite file) with instance seed ``seed``.

    ``folder``: the data folder of suites that read files (e.g. ``routing-tsplib``).
    """
    from orlearn.registry import SUITES, resolve

    if name.endswith(".toml") or Path(name).is_file():
        return load_suite_file(name)
    if name == QUICK:
        tasks: list[Task] = []
        for spec in SUITES.values():
            if spec.quick:
                tasks.extend(resolve(spec.factory)(seed=seed).tasks)
        return Suite(QUICK, tasks, list_suites()[QUICK])
    if name not in SUITES:
        known = ", ".join(list_suites())
        raise ConfigError(f"unknown suite {name!r}; known suites: {known} (or a .toml file)")
    factory = resolve(SUITES[name].factory)
    if folder is not None:
        import inspect

        if "folder" not in inspect.signature(factory).parameters:
            raise ConfigError(f"suite {name!r} does not read a data folder; drop --folder")
        suite = factory(seed=seed, folder=str(folder))
    else:
        suite = factory(seed=seed)
    if not isinstance(suite, Suite):
        raise ConfigError(f"suite factory of {name!r} returned {type(suite).__name__}, not Suite")
    return suite


def benchmark(
    suite: Suite | str,
    out_dir: str | Path = "results",
    *,
    seed: int = 0,
    show: bool = True,
    **run_options: Any,
) -> tuple[Any, Any]:
    """Run a suite (resuming from stored results), write reports, return (tasks, summary).

    ``run_options`` go to :func:`run_suite` (executor, workers, retry_failed, progress, ...).
    """
    if isinstance(suite, str):
        suite = get_suite(suite, seed=seed)
    result = run_suite(suite, out_dir, **run_options)
    tasks, summary = write_reports(suite, result.out_dir)
    if show:
        print_summary(summary, f"{suite.name} ({len(tasks)}/{len(suite)} tasks)")
    return tasks, summary


__all__ = [
    "EXECUTORS",
    "PartialResults",
    "ResultStore",
    "RunSummary",
    "Suite",
    "Task",
    "TaskOutcome",
    "benchmark",
    "execute_task",
    "gap",
    "get_suite",
    "list_suites",
    "load_suite_file",
    "print_summary",
    "run_suite",
    "run_units",
    "summarize",
    "task_partials",
    "task_table",
    "write_reports",
]
