"""Small self-made MILP families with exact references computed independently of any MILP solver.

These instances exercise the solver bridge and the benchmark harness before (and beside) the
problem modules:

* ``knapsack``: 0/1 knapsack, integer values and weights in [1, 100], capacity half the total
  weight; reference by dynamic programming over capacities (maximisation).
* ``assignment``: n x n linear assignment, integer costs in [1, 100]; reference by the
  Hungarian algorithm (``scipy.optimize.linear_sum_assignment``).
* ``ufl``: uncapacitated facility location, facilities and customers uniform in the unit square,
  assignment cost = 100 x distance x demand, fixed opening costs; reference by enumerating every
  subset of open facilities (so keep facilities <= 16).
* a file: ``instance`` may also be a path to an MPS/LP file (reference given by the task).

Every instance is a seeded generator output; ``make_model`` turns it into a Pyomo model solved
through :func:`orlearn.solvers.solve` with HiGHS or SCIP.
"""

from __future__ import annotations

import gzip
import itertools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from orlearn.bench.runner import TaskOutcome
from orlearn.bench.tasks import Suite, Task
from orlearn.errors import ConfigError, InvalidInstanceError

FAMILIES = ("knapsack", "assignment", "ufl")
METHODS = ("highs", "scip")


@dataclass(frozen=True)
class MilpInstance:
    """A generated instance: its family, parameters, numeric data and objective sense."""

    family: str
    params: dict[str, Any]
    data: dict[str, np.ndarray]
    sense: str

    @property
    def name(self) -> str:
        size = "x".join(str(self.params[k]) for k in ("n", "m") if k in self.params)
        return f"{self.family}-{size}-s{self.params['seed']}"


def generate(family: str, n: int, seed: int = 0, m: int | None = None) -> MilpInstance:
    """Generate an instance of ``family`` with ``n`` items / rows / facilities (``m`` customers)."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown MILP family {family!r}; choose one of {', '.join(FAMILIES)}")
    if n < 1:
        raise ConfigError(f"n must be at least 1 (got {n})")
    rng = np.random.default_rng(seed)
    params: dict[str, Any] = {"n": n, "seed": seed}
    if family == "knapsack":
        values = rng.integers(1, 101, size=n)
        weights = rng.integers(1, 101, size=n)
        capacity = np.array(int(weights.sum()) // 2)
        data = {"values": values, "weights": weights, "capacity": capacity}
        return MilpInstance(family, params, data, "max")
    if family == "assignment":
        data = {"cost": rng.integers(1, 101, size=(n, n))}
        return MilpInstance(family, params, data, "min")
    if n > 16:
        raise ConfigError(f"ufl enumerates facility subsets: n <= 16 facilities (got {n})")
    m = m or 3 * n
    params["m"] = m
    facilities = rng.random((n, 2))
    customers = rng.random((m, 2))
    demand = rng.integers(1, 11, size=m)
    distance = np.linalg.norm(customers[:, None, :] - facilities[None, :, :], axis=2)
    data = {
        "fixed": np.round(rng.uniform(20, 60, size=n), 2),
        "cost": np.round(100 * distance * demand[:, None], 2),  # (customers, facilities)
    }
    return MilpInstance(family, params, data, "min")


def reference_value(instance: MilpInstance) -> float:
    """The optimal objective, computed without a MILP solver."""
    d = instance.data
    if instance.family == "knapsack":
        capacity = int(d["capacity"])
        best = np.zeros(capacity + 1)
        for value, weight in zip(d["values"], d["weights"], strict=True):
            if weight <= capacity:
                best[weight:] = np.maximum(best[weight:], best[: capacity + 1 - weight] + value)
        return float(best[capacity])
    if instance.family == "assignment":
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(d["cost"])
        return float(d["cost"][rows, cols].sum())
    fixed, cost = d["fixed"], d["cost"]
    n = len(fixed)
    best_value = np.inf
    for size in range(1, n + 1):
        for subset in itertools.combinations(range(n), size):
            idx = list(subset)
            value = fixed[idx].sum() + cost[:, idx].min(axis=1).sum()
            best_value = min(best_value, value)
    return float(best_value)


def make_model(instance: MilpInstance) -> Any:
    """The instance as a Pyomo ConcreteModel (variables ``x``; ``y`` = open facilities)."""
    import pyomo.environ as pyo

    d = instance.data
    model = pyo.ConcreteModel(name=instance.name)
    if instance.family == "knapsack":
        items = range(len(d["values"]))
        model.x = pyo.Var(items, domain=pyo.Binary)
        model.obj = pyo.Objective(
            expr=sum(int(d["values"][i]) * model.x[i] for i in items), sense=pyo.maximize
        )
        model.capacity = pyo.Constraint(
            expr=sum(int(d["weights"][i]) * model.x[i] for i in items) <= int(d["capacity"])
        )
    elif instance.family == "assignment":
        n = d["cost"].shape[0]
        model.x = pyo.Var(range(n), range(n), domain=pyo.Binary)
        model.obj = pyo.Objective(
            expr=sum(int(d["cost"][i, j]) * model.x[i, j] for i in range(n) for j in range(n))
        )
        model.row = pyo.Constraint(range(n), rule=lambda mdl, i: sum(
            mdl.x[i, j] for j in range(n)) == 1)
        model.col = pyo.Constraint(range(n), rule=lambda mdl, j: sum(
            mdl.x[i, j] for i in range(n)) == 1)
    else:
        m, n = d["cost"].shape
        model.y = pyo.Var(range(n), domain=pyo.Binary)
        model.x = pyo.Var(range(m), range(n), bounds=(0, 1))
        model.obj = pyo.Objective(
            expr=sum(float(d["fixed"][j]) * model.y[j] for j in range(n))
            + sum(float(d["cost"][i, j]) * model.x[i, j] for i in range(m) for j in range(n))
        )
        model.serve = pyo.Constraint(range(m), rule=lambda mdl, i: sum(
            mdl.x[i, j] for j in range(n)) == 1)
        model.open = pyo.Constraint(range(m), range(n), rule=lambda mdl, i, j: mdl.x[i, j]
                                    <= mdl.y[j])
    return model


def check_solution(instance: MilpInstance, values: dict[str, float], tol: float = 1e-6
                   ) -> tuple[bool, float]:
    """Re-check a solver's solution against the instance: (feasible, recomputed objective)."""
    d = instance.data

    def val(name: str) -> float:
        return float(values.get(name, 0.0))

    if instance.family == "knapsack":
        x = np.array([round(val(f"x[{i}]")) for i in range(len(d["values"]))])
        feasible = bool(np.all((x == 0) | (x == 1)) and x @ d["weights"] <= d["capacity"])
        return feasible, float(x @ d["values"])
    if instance.family == "assignment":
        n = d["cost"].shape[0]
        x = np.array([[round(val(f"x[{i},{j}]")) for j in range(n)] for i in range(n)])
        feasible = bool(np.all(x.sum(0) == 1) and np.all(x.sum(1) == 1))
        return feasible, float((x * d["cost"]).sum())
    m, n = d["cost"].shape
    y = np.array([round(val(f"y[{j}]")) for j in range(n)])
    x = np.array([[val(f"x[{i},{j}]") for j in range(n)] for i in range(m)])
    feasible = bool(
        np.all(np.abs(x.sum(1) - 1) <= 1e-5) and np.all(x <= y[None, :] + tol) and np.all(x >= -tol)
    )
    return feasible, float(d["fixed"] @ y + (x * d["cost"]).sum())


def run_task(task: Task) -> TaskOutcome:
    """Benchmark runner of problem ``milp``: solve a generated instance or an MPS/LP file."""
    from orlearn.solvers import solve, solve_file

    if task.method not in METHODS:
        raise ConfigError(f"unknown method {task.method!r} for milp; choose {', '.join(METHODS)}")
    options = {k: v for k, v in task.options.items() if k in ("time_limit", "rel_gap", "threads")}
    if task.params:
        instance = generate(**task.params)
        result = solve(make_model(instance), solver=task.method, seed=task.seed, **options)
        feasible, objective = (
            check_solution(instance, result.values) if result.has_solution else (False, None)
        )
        tolerance = 1e-4 * (1 + abs(objective or 0.0))
        reported = result.objective
        if feasible and reported is not None and abs(objective - reported) > tolerance:
            raise InvalidInstanceError(
                "objective",
                f"solver reported {result.objective} but the solution costs {objective}",
            )
    else:
        result = solve_file(task.instance, solver=task.method, seed=task.seed, **options)
        feasible, objective = result.has_solution, result.objective
    return TaskOutcome(
        objective=objective,
        feasible=feasible,
        time=result.wall_time,
        extra={
            "termination": result.termination.value,
            "bound": result.bound,
            "solver_gap": result.gap,
            "solver_version": result.solver_version,
            **{k: v for k, v in result.extra.items() if isinstance(v, int | float | str)},
        },
    )


def _suite(name: str, description: str, specs: list[dict[str, Any]], seed: int,
           options: dict[str, Any]) -> Suite:
    tasks: list[Task] = []
    for spec in specs:
        instance = generate(**{**spec, "seed": seed + spec.get("seed", 0)})
        reference = reference_value(instance)
        for method in METHODS:
            tasks.append(
                Task(
                    problem="milp",
                    instance=instance.name,
                    method=method,
                    options=options,
                    seed=seed,
                    reference=reference,
                    reference_kind="optimal",
                    sense=instance.sense,
                    params=instance.params | {"family": instance.family},
                )
            )
    return Suite(name, tasks, description)


def quick_suite(seed: int = 0) -> Suite:
    """Seven small MILPs (knapsack 40, assignment 20, UFL 8x24) x {HiGHS, SCIP}: seconds."""
    specs = [
        *({"family": "knapsack", "n": 40, "seed": k} for k in range(3)),
        *({"family": "assignment", "n": 20, "seed": k} for k in range(2)),
        *({"family": "ufl", "n": 8, "seed": k} for k in range(2)),
    ]
    return _suite("milp-quick", "small self-made MILPs, HiGHS vs SCIP", specs, seed,
                  {"time_limit": 60})


def medium_suite(seed: int = 0) -> Suite:
    """Larger generated MILPs: knapsack 200/1000, assignment 60, UFL 14x60; 5 instances each."""
    specs = [
        *({"family": "knapsack", "n": n, "seed": k} for n in (200, 1000) for k in range(5)),
        *({"family": "assignment", "n": 60, "seed": k} for k in range(5)),
        *({"family": "ufl", "n": 14, "m": 60, "seed": k} for k in range(5)),
    ]
    return _suite("milp-medium", "larger generated MILPs, HiGHS vs SCIP", specs, seed,
                  {"time_limit": 120})


def write_instance(instance: MilpInstance, path: str | Path) -> Path:
    """Write the instance as MPS (``.mps`` or ``.mps.gz``) or LP (``.lp``) through Pyomo."""
    path = Path(path)
    model = make_model(instance)
    suffixes = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if suffixes not in (".mps", ".lp", ".mps.gz", ".lp.gz"):
        raise ConfigError(f"{path}: write .mps, .lp, .mps.gz or .lp.gz")
    plain = path.with_suffix("") if path.suffix == ".gz" else path
    model.write(str(plain), io_options={"symbolic_solver_labels": True})
    if path.suffix == ".gz":
        with plain.open("rb") as src, gzip.open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
        plain.unlink()
    return path


def generate_command(
    family: str = "knapsack",
    size: int = 40,
    count: int = 5,
    seed: int = 0,
    out: Path = Path("data/generated/milp"),
    fmt: str = "mps",
) -> None:
    """Write COUNT seeded instances of FAMILY as MPS/LP files, with their optima in optima.json."""
    if count < 1:
        raise ConfigError(f"--count must be at least 1 (got {count})")
    if fmt not in ("mps", "lp", "mps.gz", "lp.gz"):
        raise ConfigError(f"--fmt must be mps, lp, mps.gz or lp.gz (got {fmt!r})")
    out.mkdir(parents=True, exist_ok=True)
    optima_path = out / "optima.json"
    optima = json.loads(optima_path.read_text()) if optima_path.exists() else {}
    for k in range(count):
        instance = generate(family, size, seed=seed + k)
        path = write_instance(instance, out / f"{instance.name}.{fmt}")
        optima[path.name] = {"objective": reference_value(instance), "sense": instance.sense}
        print(path)
    optima_path.write_text(json.dumps(optima, indent=2, sort_keys=True) + "\n")
