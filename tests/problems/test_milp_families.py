"""The self-made MILP families: independent references agree with brute force and solvers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from orlearn.bench import Task
from orlearn.errors import ConfigError
from orlearn.problems import milp


def test_knapsack_dp_matches_brute_force() -> None:
    for seed in range(5):
        inst = milp.generate("knapsack", 12, seed=seed)
        d = inst.data
        best = max(
            sum(int(d["values"][i]) for i in s)
            for r in range(13)
            for s in itertools.combinations(range(12), r)
            if sum(int(d["weights"][i]) for i in s) <= int(d["capacity"])
        )
        assert milp.reference_value(inst) == best


def test_assignment_reference_matches_brute_force() -> None:
    inst = milp.generate("assignment", 6, seed=3)
    cost = inst.data["cost"]
    best = min(sum(cost[i, p[i]] for i in range(6)) for p in itertools.permutations(range(6)))
    assert milp.reference_value(inst) == best


@pytest.mark.parametrize("family,n", [("knapsack", 30), ("assignment", 8), ("ufl", 6)])
@pytest.mark.parametrize("solver", ["highs", "scip"])
def test_solvers_reach_the_reference(family: str, n: int, solver: str) -> None:
    inst = milp.generate(family, n, seed=1)
    task = Task("milp", inst.name, solver, params=inst.params | {"family": family},
                reference=milp.reference_value(inst), reference_kind="optimal", sense=inst.sense)
    outcome = milp.run_task(task)
    assert outcome.feasible
    assert outcome.objective == pytest.approx(task.reference, rel=1e-7)


def test_check_solution_detects_infeasible_assignment() -> None:
    inst = milp.generate("assignment", 3, seed=0)
    values = {f"x[{i},{j}]": 1.0 for i in range(3) for j in range(3)}
    feasible, _ = milp.check_solution(inst, values)
    assert not feasible


def test_generator_is_seeded_and_validated() -> None:
    a = milp.generate("ufl", 5, seed=7)
    b = milp.generate("ufl", 5, seed=7)
    assert all(np.array_equal(a.data[k], b.data[k]) for k in a.data)
    with pytest.raises(ConfigError, match="family"):
        milp.generate("tsp", 5)
    with pytest.raises(ConfigError, match="n <= 16"):
        milp.generate("ufl", 20)
    with pytest.raises(ConfigError, match="at least 1"):
        milp.generate("knapsack", 0)
