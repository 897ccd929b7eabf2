"""PersistentLP: build once, change data, re-solve warm; duals; names from Pyomo."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
import scipy.sparse as sp

from orlearn.errors import ConfigError, InvalidInstanceError
from orlearn.solvers import (
    LPResult,
    PersistentLP,
    SolutionStatus,
    SolveError,
    TerminationCondition,
    solve,
    solve_file,
)

T = TerminationCondition


def random_lp(m: int = 6, n: int = 8, seed: int = 1) -> dict[str, np.ndarray]:
    """A feasible, bounded LP with ranged rows and boxed columns."""
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.1, 1.0, (m, n))
    lo = rng.uniform(1.0, 2.0, m)
    return {
        "c": rng.uniform(1.0, 2.0, n),
        "A": A,
        "row_lb": lo,
        "row_ub": lo + rng.uniform(0.5, 3.0, m),
        "col_lb": np.zeros(n),
        "col_ub": rng.uniform(0.5, 2.0, n),
    }


def fresh(data: dict[str, np.ndarray], sense: str = "min") -> LPResult:
    return PersistentLP.from_arrays(**data, sense=sense).solve()


def test_from_arrays_dense_and_sparse_agree():
    data = random_lp()
    dense = PersistentLP.from_arrays(**data).solve()
    sparse = PersistentLP.from_arrays(**{**data, "A": sp.csr_matrix(data["A"])}).solve()
    assert dense.termination == T.OPTIMAL and dense.status == SolutionStatus.OPTIMAL
    assert dense.objective == pytest.approx(sparse.objective)
    assert dense.bound == dense.objective
    assert dense.x.shape == (8,) and dense.row_duals.shape == (6,)
    assert dense.row_activity == pytest.approx(data["A"] @ dense.x)
    assert dense.objective == pytest.approx(data["c"] @ dense.x)


@pytest.mark.parametrize("sense", ["min", "max"])
def test_changes_match_a_fresh_solve(sense):
    data = random_lp(seed=2)
    lp = PersistentLP.from_arrays(**data, sense=sense)
    lp.solve()
    rng = np.random.default_rng(0)
    for _ in range(5):
        rows = np.array([0, 3, 5])
        data["row_lb"][rows] = rng.uniform(0.5, 2.0, 3)
        data["row_ub"][rows] = data["row_lb"][rows] + rng.uniform(0.5, 3.0, 3)
        lp.set_row_bounds(rows, data["row_lb"][rows], data["row_ub"][rows])
        cols = np.array([1, 2])
        data["col_ub"][cols] = rng.uniform(0.5, 2.0, 2)
        lp.set_col_bounds(cols, ub=data["col_ub"][cols])
        data["c"][[4, 7]] = rng.uniform(0.5, 3.0, 2)
        lp.set_objective([4, 7], data["c"][[4, 7]])
        warm = lp.solve()
        cold = fresh(data, sense)
        assert warm.termination == cold.termination == T.OPTIMAL
        assert warm.objective == pytest.approx(cold.objective, rel=1e-9, abs=1e-9)
    lo, up = lp.row_bounds(rows)
    assert lo == pytest.approx(data["row_lb"][rows]) and up == pytest.approx(data["row_ub"][rows])
    assert lp.costs([4, 7]) == pytest.approx(data["c"][[4, 7]])


def test_set_coefficient_matches_a_fresh_solve():
    data = random_lp(seed=3)
    lp = PersistentLP.from_arrays(**data)
    lp.solve()
    lp.set_coefficient([0, 2], [1, 5], [0.05, 2.0])
    data["A"][0, 1] = 0.05
    data["A"][2, 5] = 2.0
    assert lp.solve().objective == pytest.approx(fresh(data).objective)


def test_added_rows_are_warm_started_cuts():
    data = random_lp(seed=4)
    lp = PersistentLP.from_arrays(**data, sense="max")
    first = lp.solve()
    # a cut that removes the current optimum: sum x <= 0.9 * sum x*
    cut = lp.add_row(-np.inf, 0.9 * first.x.sum(), np.arange(8), np.ones(8), name="cut")
    assert cut == 6 and lp.row("cut") == 6
    second = lp.solve()
    assert second.objective < first.objective
    data["A"] = np.vstack([data["A"], np.ones(8)])
    data["row_lb"] = np.append(data["row_lb"], -np.inf)
    data["row_ub"] = np.append(data["row_ub"], 0.9 * first.x.sum())
    assert second.objective == pytest.approx(fresh(data, "max").objective)


@pytest.mark.parametrize("sense", ["min", "max"])
def test_duals_are_derivatives_of_the_objective(sense):
    """row_duals[i] = d obj / d (row i's bound); reduced_costs[j] = d obj / d (col j's bound)."""
    data = random_lp(seed=1)
    lp = PersistentLP.from_arrays(**data, sense=sense)
    base = lp.solve()
    eps = 1e-5
    checked = 0
    for i in range(lp.num_rows):
        lo, up = lp.row_bounds([i])
        slopes = []
        for step in (eps, -eps):
            lp.set_row_bounds([i], lo + step, up + step)
            slopes.append((lp.solve().objective - base.objective) / step)
        lp.set_row_bounds([i], lo, up)
        if abs(slopes[0] - slopes[1]) < 1e-6:  # not degenerate at this point
            assert base.row_duals[i] == pytest.approx(slopes[0], abs=1e-5)
            checked += abs(slopes[0]) > 1e-3
    for j in range(lp.num_cols):
        lb, ub = lp.col_bounds([j])
        slopes = []
        for step in (eps, -eps):
            lp.set_col_bounds([j], lb + step, ub + step)
            slopes.append((lp.solve().objective - base.objective) / step)
        lp.set_col_bounds([j], lb, ub)
        if abs(slopes[0] - slopes[1]) < 1e-6:
            assert base.reduced_costs[j] == pytest.approx(slopes[0], abs=1e-5)
            checked += abs(slopes[0]) > 1e-3
    assert checked >= 3  # the test saw binding rows/columns, not only zeros
    assert lp.solve().objective == pytest.approx(base.objective)


@pytest.mark.parametrize("method", ["ipm", "simplex"])
def test_lp_methods_agree_with_the_default_and_give_duals(method):
    data = random_lp(seed=2)
    default = PersistentLP.from_arrays(**data).solve()
    chosen = PersistentLP.from_arrays(**data, lp_method=method)
    assert chosen.highs.getOptionValue("solver")[1] == method
    result = chosen.solve()
    assert result.objective == pytest.approx(default.objective, rel=1e-7)
    # interior point runs crossover: a basic solution with duals, as from the simplex, that
    # satisfy stationarity c = A^T y + reduced costs
    A = data["A"].toarray() if hasattr(data["A"], "toarray") else np.asarray(data["A"])
    assert result.row_duals is not None and result.reduced_costs is not None
    assert A.T @ result.row_duals + result.reduced_costs == pytest.approx(
        np.asarray(data["c"], dtype=float), abs=1e-7)


def test_dual_signs_on_a_hand_made_lp():
    # min x + 2y  s.t.  x + y >= 3 (binding), x <= 10;  x, y >= 0  -> x = 3, y = 0, obj 3
    lp = PersistentLP(sense="min")
    lp.add_vars(2, cost=[1.0, 2.0], names=["x", "y"])
    lp.add_rows([3.0, -np.inf], [np.inf, 10.0], [(["x", "y"], [1, 1]), (["x"], [1])])
    r = lp.solve()
    assert r.objective == pytest.approx(3.0)
    assert r.row_duals == pytest.approx([1.0, 0.0])  # raising the >= bound costs 1 per unit
    assert r.reduced_costs == pytest.approx([0.0, 1.0])  # forcing y up costs 2 - 1
    lp.set_sense("max")
    lp.set_objective(["x", "y"], [-1.0, -2.0])  # max -x - 2y: same optimum, signs flip
    r = lp.solve()
    assert r.objective == pytest.approx(-3.0)
    assert r.row_duals == pytest.approx([-1.0, 0.0])
    assert r.reduced_costs == pytest.approx([0.0, -1.0])


def test_set_rhs_moves_the_finite_bound():
    lp = PersistentLP()
    lp.add_vars(2, cost=[1.0, 1.0])
    lp.add_rows([2.0, -np.inf, 1.0], [2.0, 5.0, np.inf], np.array([[1, 1], [1, 0], [0, 1]]))
    lp.set_rhs([0, 1, 2], [4.0, 6.0, 2.0])
    lo, up = lp.row_bounds()
    assert lo == pytest.approx([4.0, -np.inf, 2.0])
    assert up == pytest.approx([4.0, 6.0, np.inf])
    lp.add_rows([0.0], [1.0], np.array([[1.0, 0.0]]))
    with pytest.raises(ConfigError, match="ranged"):
        lp.set_rhs([3], [0.5])


def test_infeasible_then_feasible_again():
    data = random_lp(seed=5)
    lp = PersistentLP.from_arrays(**data)
    ok = lp.solve()
    lp.set_row_bounds([0], [1e3], [1e3 + 1])  # out of reach with boxed columns
    bad = lp.solve()
    assert bad.termination == T.INFEASIBLE
    assert bad.status == SolutionStatus.INFEASIBLE
    assert bad.x is None and bad.row_duals is None and bad.objective is None
    with pytest.raises(SolveError):
        bad.raise_for_status()
    lp.set_row_bounds([0], data["row_lb"][[0]], data["row_ub"][[0]])
    assert lp.solve().objective == pytest.approx(ok.objective)


def test_unbounded_is_a_status():
    lp = PersistentLP(sense="max")
    lp.add_vars(2, lb=[0, -np.inf], cost=[1.0, 1.0])
    lp.add_rows([-np.inf], [1.0], np.array([[1.0, -1.0]]))
    result = lp.solve()
    assert result.termination in (T.UNBOUNDED, T.INFEASIBLE_OR_UNBOUNDED)
    assert result.status == SolutionStatus.NO_SOLUTION
    assert result.objective is None


def test_integer_columns_make_a_milp(lib):
    w, v, cap = lib.knapsack_data(n=10, seed=3)
    lp = PersistentLP(sense="max")
    lp.add_vars(len(w), lb=0, ub=1, cost=v, integer=True)
    lp.add_rows([-np.inf], [cap], np.atleast_2d(w))
    result = lp.solve()
    assert lp.is_mip
    assert result.objective == pytest.approx(lib.knapsack_brute_force(w, v, cap))
    assert result.row_duals is None and result.reduced_costs is None
    assert np.allclose(result.x, np.round(result.x))
    lp.set_integrality(np.arange(len(w)), False)  # LP relaxation: at least as good
    relaxed = lp.solve()
    assert relaxed.objective >= result.objective - 1e-9
    assert relaxed.row_duals is not None


def test_time_limit_applies_to_each_solve_not_cumulatively():
    # HiGHS compares time_limit with the Highs object's cumulative run time; PersistentLP
    # re-bases it, so many short solves never hit a per-solve limit.
    rng = np.random.default_rng(0)
    m, n = 120, 160
    A = sp.random(m, n, density=0.1, random_state=1, format="csr")
    x0 = rng.uniform(0, 1, n)
    lp = PersistentLP.from_arrays(
        -rng.uniform(0, 1, n), A, -np.inf, A @ x0 + 1.0, 0.0, 5.0, time_limit=0.05
    )
    total = 0.0  # each cold solve takes a few ms; their sum soon passes the 0.05 s limit
    for _ in range(100):
        lp.set_row_bounds(np.arange(m), upper=A @ x0 + rng.uniform(0.1, 1.0, m))
        result = lp.solve(warm_start=False)
        assert result.termination == T.OPTIMAL
        total += result.wall_time
        if total > 0.15:
            break
    assert lp.highs.getRunTime() > 0.05


def test_a_milp_time_limit_does_not_grow_with_earlier_solves(lib):
    # HiGHS's MIP clock restarts every run: a limit re-based on the object's cumulative run time
    # (right for LPs) let the k-th re-solve of one MILP run for about 2^k x the limit
    lp = PersistentLP.from_pyomo(lib.market_split(m_rows=6, seed=3), time_limit=0.2,
                                 rel_gap=0.0)
    for _ in range(5):
        result = lp.solve(warm_start=False)
        assert result.termination == T.TIME_LIMIT  # not solved in 0.2 s
        assert lp.highs.getOptionValue("time_limit")[-1] == pytest.approx(0.2)
        assert result.wall_time < 3.0  # the doubling limit would allow 3.2 s at the 5th
    assert lp.highs.getRunTime() > 0.8


def test_from_pyomo_maps_names_and_matches_pyomo():
    m = pyo.ConcreteModel()
    m.T = pyo.RangeSet(1, 4)
    m.release = pyo.Var(m.T, bounds=(0, 5))
    m.storage = pyo.Var(m.T, bounds=(0, 8))
    m.spill = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.inflow = pyo.Param(m.T, initialize={1: 3.0, 2: 1.0, 3: 4.0, 4: 2.0}, mutable=True)
    m.balance = pyo.Constraint(
        m.T,
        rule=lambda m, t: (
            m.storage[t]
            == (2.0 if t == 1 else m.storage[t - 1]) + m.inflow[t] - m.release[t] - m.spill[t]
        ),
    )
    m.demand = pyo.Constraint(m.T, rule=lambda m, t: m.release[t] >= 2.0)
    price = {1: 1.0, 2: 3.0, 3: 2.0, 4: 4.0}
    m.revenue = pyo.Objective(
        expr=sum(price[t] * m.release[t] for t in m.T) + 0.5 * m.storage[4] + 10.0,
        sense=pyo.maximize,
    )
    lp = PersistentLP.from_pyomo(m)
    assert lp.sense == "max"
    assert lp.num_rows == 8 and lp.num_cols == 12
    assert lp.col("release[3]") == lp.col(m.release[3])
    assert lp.row("balance[2]") == lp.row(m.balance[2])
    assert list(lp.rows(m.balance)) == [lp.row(f"balance[{t}]") for t in range(1, 5)]
    assert list(lp.cols(m.storage)) == [lp.col(f"storage[{t}]") for t in range(1, 5)]
    assert list(lp.rows("balance")) == list(lp.rows(m.balance))  # name of an indexed component
    mask = np.zeros(lp.num_cols, dtype=bool)
    mask[lp.cols(m.spill)] = True
    assert list(lp.cols(mask)) == sorted(lp.cols(m.spill))
    result = lp.solve()
    reference = solve(m)
    assert result.objective == pytest.approx(reference.objective)  # offset 10 included
    values = lp.values(result)
    assert values["release[1]"] == pytest.approx(reference.values["release[1]"])

    # a new inflow scenario: change the rows' bounds, compare with Pyomo re-solving
    lo, up = lp.row_bounds(m.balance)
    assert np.array_equal(lo, up)  # equality rows
    new_inflow = {1: 1.0, 2: 4.0, 3: 2.5, 4: 6.0}
    shift = np.array([new_inflow[t] - pyo.value(m.inflow[t]) for t in m.T])
    # Pyomo's body is storage[t] - (storage[t-1] + inflow[t] - ...) with the constant moved
    # to the bound, so the bound moves by the inflow change (sign as Pyomo orients the body).
    for t in m.T:
        m.inflow[t] = new_inflow[t]
    rebuilt = PersistentLP.from_pyomo(m)
    new_lo, _ = rebuilt.row_bounds(m.balance)
    assert np.abs(new_lo - lo) == pytest.approx(np.abs(shift))
    lp.set_rhs(m.balance, new_lo)
    warm = lp.solve()
    assert warm.termination == T.OPTIMAL
    assert warm.objective == pytest.approx(solve(m).objective)
    # balance[t] reads storage[t] - storage[t-1] + release[t] + spill[t] = inflow[t], so its
    # dual is the value (objective units) of one more unit of inflow in period t
    duals = warm.row_duals[lp.rows(m.balance)]
    assert np.all(duals >= -1e-9)
    # the optimal value is concave in the inflow (max LP): the dual is a supergradient, between
    # the right and the left derivative (equal to both where the optimum is not degenerate)
    slopes = []
    for step in (1e-3, -1e-3):
        lp.set_rhs("balance[2]", new_lo[1] + step)
        slopes.append((lp.solve().objective - warm.objective) / step)
    assert slopes[0] - 1e-6 <= duals[1] <= slopes[1] + 1e-6


def test_from_pyomo_ranged_rows_and_integers():
    m = pyo.ConcreteModel()
    m.x = pyo.Var([1, 2], domain=pyo.NonNegativeIntegers, bounds=(0, 10))
    m.y = pyo.Var(bounds=(-1, 1))
    m.rng = pyo.Constraint(expr=pyo.inequality(1.5, m.x[1] + m.x[2] + m.y, 7.5))
    m.o = pyo.Objective(expr=3 * m.x[1] + 2 * m.x[2] - m.y)
    lp = PersistentLP.from_pyomo(m)
    assert lp.is_mip and lp.num_rows == 1
    assert lp.row_bounds("rng")[0] == pytest.approx([1.5])
    assert lp.row_bounds("rng")[1] == pytest.approx([7.5])
    result = lp.solve()
    assert result.objective == pytest.approx(solve(m).objective)
    assert result.objective == pytest.approx(2 * 1 - 1)  # x2 = 1, y = 1 (x1 = 0)


def test_from_pyomo_rejects_nonlinear():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 1))
    m.c = pyo.Constraint(expr=m.x**2 <= 0.5)
    m.o = pyo.Objective(expr=m.x)
    with pytest.raises(InvalidInstanceError, match="linear"):
        PersistentLP.from_pyomo(m)


def test_bad_inputs_are_config_errors():
    lp = PersistentLP()
    lp.add_vars(3, names=["a", "b", "c"])
    with pytest.raises(ConfigError, match="unknown column 'z'"):
        lp.col("z")
    with pytest.raises(ConfigError, match="out of range"):
        lp.set_col_bounds([5], 0.0, 1.0)
    with pytest.raises(ConfigError, match="NaN"):
        lp.set_objective([0], [float("nan")])
    with pytest.raises(ConfigError, match="expected 2 values"):
        lp.set_col_bounds([0, 1], [0.0, 1.0, 2.0])
    with pytest.raises(ConfigError, match="duplicate"):
        lp.add_vars(1, names=["a"])
    with pytest.raises(ConfigError, match="columns"):
        lp.add_rows([0.0], [1.0], np.ones((1, 7)))
    with pytest.raises(ConfigError, match="lp_method: must be one of simplex, ipm"):
        PersistentLP(lp_method="barrier")


def test_write_and_read_back(tmp_path):
    data = random_lp(seed=6)
    lp = PersistentLP.from_arrays(**data, col_names=[f"x{j}" for j in range(8)])
    expected = lp.solve().objective
    path = tmp_path / "model.mps"
    lp.write(str(path))
    for solver in ("highs", "scip"):
        result = solve_file(path, solver=solver)
        assert result.objective == pytest.approx(expected)
        assert "x3" in result.values
    wrapped = lp.to_solve_result(lp.solve())
    assert wrapped.objective == pytest.approx(expected) and wrapped.values["x0"] >= 0


def test_time_limit_can_be_changed_and_removed():
    data = random_lp(seed=7)
    lp = PersistentLP.from_arrays(**data, time_limit=5.0)
    assert lp.time_limit == 5.0
    lp.time_limit = None
    assert lp.solve().termination == T.OPTIMAL
    with pytest.raises(ConfigError, match="time_limit"):
        lp.time_limit = 0
