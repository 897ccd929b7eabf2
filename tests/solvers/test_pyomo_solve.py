"""orlearn.solvers.solve on Pyomo models, with HiGHS and SCIP."""

from __future__ import annotations

import json
import math

import pyomo.environ as pyo
import pytest

from orlearn.errors import InvalidInstanceError
from orlearn.solvers import (
    SolutionStatus,
    SolveError,
    TerminationCondition,
    available_solvers,
    solve,
)

T = TerminationCondition
S = SolutionStatus


@pytest.mark.parametrize("seed", [3, 8])
def test_knapsack_matches_brute_force(lib, solver, seed):
    w, v, cap = lib.knapsack_data(n=10, seed=seed)
    m = lib.knapsack_model(w, v, cap)
    result = solve(m, solver=solver)
    assert result.termination == T.OPTIMAL
    assert result.status == S.OPTIMAL
    assert result.has_solution
    assert result.objective == pytest.approx(lib.knapsack_brute_force(w, v, cap))
    assert result.bound == pytest.approx(result.objective)
    assert result.gap == pytest.approx(0.0, abs=1e-9)
    assert result.sense == "max"
    assert result.solver == solver
    assert result.solver_version == available_solvers()[solver]
    chosen = [round(result.values[f"take[{i}]"]) for i in range(len(w))]
    assert sum(c * wi for c, wi in zip(chosen, w, strict=True)) <= cap
    assert sum(c * vi for c, vi in zip(chosen, v, strict=True)) == pytest.approx(result.objective)
    # load_solutions=True wrote the incumbent into the model
    assert [round(m.take[i].value) for i in range(len(w))] == chosen
    assert result.wall_time > 0


def test_facility_location_solvers_agree(lib):
    m = lib.facility_model()
    expected = lib.facility_brute_force(m._fixed, m._cost)
    results = {s: solve(lib.facility_model(), solver=s) for s in ("highs", "scip")}
    for result in results.values():
        assert result.termination == T.OPTIMAL
        assert result.objective == pytest.approx(expected)
        assert result.sense == "min"
        assert "assign[0,0]" in result.values
        assert result.extra["nodes"] >= 0


def test_lp_optimum_values_and_bound(lib, solver):
    m = lib.small_lp()
    result = solve(m, solver=solver, threads=1, seed=5)
    assert result.termination == T.OPTIMAL
    assert result.objective == pytest.approx(36.0)
    assert result.bound == result.objective  # an optimal LP's bound is its objective
    assert result.values["x"] == pytest.approx(2.0)
    assert result.values["y"] == pytest.approx(6.0)
    assert pyo.value(m.o) == pytest.approx(36.0)


@pytest.mark.parametrize("name", ["infeasible_milp", "infeasible_lp"])
def test_infeasible_is_a_status(lib, solver, name):
    m = getattr(lib, name)()
    result = solve(m, solver=solver)
    assert result.termination == T.INFEASIBLE
    assert result.status == S.INFEASIBLE
    assert not result.has_solution
    assert result.objective is None
    assert result.bound is None
    assert result.values == {}
    assert all(v.value is None for v in m.component_data_objects(pyo.Var))
    with pytest.raises(SolveError, match="infeasible"):
        result.raise_for_status()


@pytest.mark.parametrize("name", ["unbounded_lp", "unbounded_milp"])
def test_unbounded_is_a_status(lib, solver, name):
    result = solve(getattr(lib, name)(), solver=solver)
    assert result.termination in (T.UNBOUNDED, T.INFEASIBLE_OR_UNBOUNDED)
    assert result.status == S.NO_SOLUTION
    assert result.objective is None
    if result.termination == T.UNBOUNDED:
        assert result.bound == math.inf  # maximisation
    json.dumps(result.to_dict())


def test_time_limit_is_honoured_and_reported(lib, solver):
    result = solve(lib.market_split(), solver=solver, time_limit=1)
    assert result.termination == T.TIME_LIMIT
    assert result.wall_time < 1 + 2.0
    if result.objective is not None:
        assert result.status == S.FEASIBLE
        assert result.values
        assert result.bound is not None and result.bound <= result.objective + 1e-9
    else:
        assert result.status == S.NO_SOLUTION


def test_load_solutions_false_leaves_model_untouched(lib, solver):
    m = lib.small_lp()
    result = solve(m, solver=solver, load_solutions=False)
    assert result.objective == pytest.approx(36.0)
    assert result.values["y"] == pytest.approx(6.0)
    assert m.x.value is None and m.y.value is None


def test_rel_gap_stop_is_consistent(lib, solver):
    result = solve(lib.facility_model(6, 12, seed=2), solver=solver, rel_gap=0.5)
    assert result.termination in (T.OPTIMAL, T.GAP_LIMIT)
    assert result.has_solution
    if result.termination == T.GAP_LIMIT:
        assert result.status == S.FEASIBLE
        assert result.gap is not None and result.gap <= 0.5 + 1e-9


def test_same_seed_same_result(lib, solver):
    w, v, cap = lib.knapsack_data(n=10, seed=4)
    first = solve(lib.knapsack_model(w, v, cap), solver=solver, seed=7)
    second = solve(lib.knapsack_model(w, v, cap), solver=solver, seed=7)
    assert first.objective == second.objective
    assert first.values == second.values


def _nonlinear_model() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 2))
    m.y = pyo.Var(bounds=(0, 2))
    m.c = pyo.Constraint(expr=m.x * m.y + m.x**3 >= 1)
    m.o = pyo.Objective(expr=m.x + m.y)
    return m


def test_nonlinear_model_is_rejected_by_highs():
    with pytest.raises(InvalidInstanceError) as info:
        solve(_nonlinear_model(), solver="highs")
    assert info.value.field == "model"
    assert "\n" not in str(info.value)


def test_scip_accepts_polynomial_models():
    result = solve(_nonlinear_model(), solver="scip", time_limit=20)
    assert result.termination == T.OPTIMAL
    assert result.objective == pytest.approx(1.0, abs=1e-5)  # x = 1, y = 0


def test_two_objectives_are_rejected(lib):
    m = lib.small_lp()
    m.o2 = pyo.Objective(expr=m.x)
    with pytest.raises(InvalidInstanceError, match="2 active objectives"):
        solve(m)
