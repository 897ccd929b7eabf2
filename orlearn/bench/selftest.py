"""A synthetic problem that exercises the benchmark harness itself (``orlearn bench selftest``).

Each task's ``params`` say what it does: ``value`` (the reference), ``noise`` (relative noise
of the objective, drawn from the task's seed), ``sleep`` (seconds to wait, to test interrupts)
``fail`` (raise an error, to test failure recording), ``bound`` (a reference computed at
run time, replacing the task's) and ``units`` / ``fail_at_unit`` (the objective is a sum of
``units`` unit values stored as partial results; a first attempt raises at unit
``fail_at_unit``, to test resuming inside a task). No solver is involved.
"""

from __future__ import annotations

import time

import numpy as np

from orlearn.bench.partial import run_units, task_partials
from orlearn.bench.runner import TaskOutcome
from orlearn.bench.tasks import Suite, Task


def run_task(task: Task) -> TaskOutcome:
    """Return value x (1 + noise x |N(0,1)|) after sleeping; raise if asked to fail."""
    start = time.perf_counter()
    params = task.params
    if params.get("sleep"):
        time.sleep(float(params["sleep"]))
    if params.get("fail"):
        raise RuntimeError(f"selftest task {task.instance} failed on purpose")
    rng = np.random.default_rng(task.seed)
    value = float(params.get("value", 1.0))
    objective = value * (1 + float(params.get("noise", 0.01)) * abs(rng.standard_normal()))
    extra: dict[str, object] = {"pid_note": "selftest"}
    if params.get("units"):
        count = int(params["units"])
        first_attempt = not task_partials(task).load()

        def unit(k: int) -> float:
            if k == params.get("fail_at_unit") and first_attempt:
                raise RuntimeError(f"selftest task {task.instance} stopped at unit {k}")
            return objective / count

        values, resumed = run_units(task, count, unit)
        objective = float(sum(values))
        extra.update(resumed_units=resumed)
    bound = params.get("bound")
    return TaskOutcome(objective=objective, feasible=True, time=time.perf_counter() - start,
                       extra=extra,
                       reference=None if bound is None else float(bound),
                       reference_kind=None if bound is None else "bound")


def make_suite(n: int = 6, seed: int = 0, sleep: float = 0.0, fail_every: int = 0,
               name: str = "selftest") -> Suite:
    """``n`` synthetic tasks over two methods; every ``fail_every``-th task fails."""
    tasks = []
    for k in range(n):
        tasks.append(
            Task(
                problem="selftest",
                instance=f"synthetic-{k}",
                method="noisy" if k % 2 else "exact-ish",
                seed=seed + k,
                reference=10.0 + k,
                reference_kind="optimal",
                params={"value": 10.0 + k, "noise": 0.01 if k % 2 else 0.0, "sleep": sleep,
                        "fail": bool(fail_every and (k + 1) % fail_every == 0)},
            )
        )
    return Suite(name, tasks, "synthetic tasks that test the harness")


def selftest_suite(seed: int = 0) -> Suite:
    """Registered factory: 8 instant tasks, one of which fails on purpose."""
    return make_suite(n=8, seed=seed, fail_every=8)
