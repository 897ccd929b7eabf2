"""The shipped example MILPs in data/milp: both solvers reach the documented optima."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from orlearn.solvers import TerminationCondition, solve_file

DATA = Path(__file__).resolve().parents[2] / "data" / "milp"

#: file -> (sense, optimal objective); the same numbers are in data/milp/README.md
OPTIMA = {
    "knapsack12.mps": ("max", 215.0),
    "facility6x12.mps.gz": ("min", 1226.1),
}


def load_make_examples():
    spec = importlib.util.spec_from_file_location("make_examples", DATA / "make_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(OPTIMA))
def test_example_optima(name, solver):
    sense, optimum = OPTIMA[name]
    result = solve_file(DATA / name, solver=solver, time_limit=30)
    assert result.termination == TerminationCondition.OPTIMAL
    assert result.sense == sense
    assert result.objective == pytest.approx(optimum, rel=1e-9)


def test_knapsack12_optimum_by_brute_force():
    make_examples = load_make_examples()
    weights, values, capacity = make_examples.knapsack_data()
    assert (
        make_examples.knapsack_brute_force(weights, values, capacity) == OPTIMA["knapsack12.mps"][1]
    )


def test_readme_states_the_optima():
    readme = (DATA / "README.md").read_text()
    for name, (_, optimum) in OPTIMA.items():
        row = next(line for line in readme.splitlines() if f"`{name}`" in line)
        assert re.search(rf"\*\*{re.escape(f'{optimum:g}')}\*\*", row), row
