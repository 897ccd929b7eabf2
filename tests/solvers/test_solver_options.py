"""Option validation, solver names and missing solver packages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orlearn.errors import ConfigError, OrlearnError, SolverUnavailableError
from orlearn.solvers import SOLVERS, PersistentLP, available_solvers, solve, solve_file

KNAPSACK = Path(__file__).resolve().parents[2] / "data" / "milp" / "knapsack12.mps"


def test_solver_names():
    assert SOLVERS == ("highs", "scip")
    versions = available_solvers()
    assert set(versions) == set(SOLVERS)
    assert all(isinstance(v, str) and v[0].isdigit() for v in versions.values())


@pytest.mark.parametrize("call", ["solve", "solve_file"])
def test_unknown_solver_lists_valid_names(lib, call):
    with pytest.raises(ConfigError) as info:
        if call == "solve":
            solve(lib.small_lp(), solver="gurobi")
        else:
            solve_file(KNAPSACK, solver="gurobi")
    message = str(info.value)
    assert "gurobi" in message and "highs" in message and "scip" in message


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("time_limit", -1.0),
        ("time_limit", 0),
        ("time_limit", float("nan")),
        ("time_limit", "10"),
        ("rel_gap", -0.1),
        ("threads", 0),
        ("threads", 1.5),
        ("seed", -1),
    ],
)
@pytest.mark.parametrize("call", ["solve", "solve_file"])
def test_bad_option_names_the_argument(lib, call, option, value):
    with pytest.raises(ConfigError, match=option):
        if call == "solve":
            solve(lib.small_lp(), **{option: value})
        else:
            solve_file(KNAPSACK, solver="scip", **{option: value})


def test_infinite_time_limit_means_none(lib):
    assert solve(lib.small_lp(), time_limit=float("inf")).objective == pytest.approx(36.0)


def test_persistent_lp_bad_options():
    with pytest.raises(ConfigError, match="time_limit"):
        PersistentLP(time_limit=-2)
    with pytest.raises(ConfigError, match="sense"):
        PersistentLP(sense="maximise-ish")
    with pytest.raises(ConfigError, match="threads"):
        PersistentLP(threads=0)


@pytest.mark.parametrize(("solver", "package"), [("highs", "highspy"), ("scip", "pyscipopt")])
def test_missing_package_raises_at_the_start(lib, monkeypatch, solver, package):
    monkeypatch.setitem(sys.modules, package, None)  # makes `import package` fail
    m = lib.small_lp()
    with pytest.raises(SolverUnavailableError) as info:
        solve(m, solver=solver)
    assert package in str(info.value)
    assert f"pip install {package}" in str(info.value)
    assert isinstance(info.value, OrlearnError)
    assert m.x.value is None
    with pytest.raises(SolverUnavailableError, match=package):
        solve_file(KNAPSACK, solver=solver)
    assert available_solvers()[solver] is None
    other = "scip" if solver == "highs" else "highs"
    assert available_solvers()[other] is not None


def test_missing_highspy_for_persistent_lp(monkeypatch):
    monkeypatch.setitem(sys.modules, "highspy", None)
    with pytest.raises(SolverUnavailableError, match="highspy"):
        PersistentLP()


MIXED_THREADS = """
import numpy as np
import pyomo.environ as pyo
from orlearn.solvers import PersistentLP, solve, solve_file

m = pyo.ConcreteModel()
m.x = pyo.Var(bounds=(0, 4))
m.c = pyo.Constraint(expr=2 * m.x <= 6)
m.o = pyo.Objective(expr=m.x, sense=pyo.maximize)
lp = PersistentLP(threads=1)
lp.add_vars(1, ub=4.0, cost=1.0)
lp.set_sense("max")
for threads in (1, 2, None, 1):
    assert solve(m, threads=threads).objective == 3.0, threads
    assert solve_file(PATH, threads=threads).objective == 215.0, threads
    assert lp.solve().objective == 4.0, threads
print("ok")
"""


def test_mixed_highs_thread_counts_in_one_process():
    # HiGHS builds one process-wide scheduler at the first run; a later explicit, different
    # thread count is refused by HiGHS unless the scheduler is rebuilt (orlearn does that).
    # A fresh process makes the first thread count deterministic.
    root = Path(__file__).resolve().parents[2]
    code = f"PATH = {str(KNAPSACK)!r}\n" + MIXED_THREADS
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
