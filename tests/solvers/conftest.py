"""Small Pyomo models with known outcomes, shared by the solver-bridge tests."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pyomo.environ as pyo
import pytest


def knapsack_data(n: int = 10, seed: int = 3) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer weights, values and a capacity of about 40 % of the total weight."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(3, 30, size=n)
    values = weights + rng.integers(0, 20, size=n)
    return weights, values, int(0.4 * weights.sum())


def knapsack_brute_force(weights: np.ndarray, values: np.ndarray, capacity: int) -> int:
    """Best value over all 2^n subsets."""
    best = 0
    for chosen in itertools.product([0, 1], repeat=len(weights)):
        if np.dot(chosen, weights) <= capacity:
            best = max(best, int(np.dot(chosen, values)))
    return best


def knapsack_model(weights: np.ndarray, values: np.ndarray, capacity: int) -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    items = range(len(weights))
    m.take = pyo.Var(items, domain=pyo.Binary)
    m.cap = pyo.Constraint(expr=sum(int(weights[i]) * m.take[i] for i in items) <= capacity)
    m.value = pyo.Objective(expr=sum(int(values[i]) * m.take[i] for i in items), sense=pyo.maximize)
    return m


def facility_model(n_sites: int = 4, n_customers: int = 6, seed: int = 1) -> pyo.ConcreteModel:
    """Uncapacitated facility location (single sourcing, binary assignment)."""
    rng = np.random.default_rng(seed)
    fixed = rng.integers(20, 60, size=n_sites)
    cost = rng.integers(1, 30, size=(n_sites, n_customers))
    m = pyo.ConcreteModel()
    m.I = pyo.RangeSet(0, n_sites - 1)
    m.J = pyo.RangeSet(0, n_customers - 1)
    m.open = pyo.Var(m.I, domain=pyo.Binary)
    m.assign = pyo.Var(m.I, m.J, domain=pyo.Binary)
    m.serve = pyo.Constraint(m.J, rule=lambda m, j: sum(m.assign[i, j] for i in m.I) == 1)
    m.link = pyo.Constraint(m.I, m.J, rule=lambda m, i, j: m.assign[i, j] <= m.open[i])
    m.cost = pyo.Objective(
        expr=sum(int(fixed[i]) * m.open[i] for i in m.I)
        + sum(int(cost[i, j]) * m.assign[i, j] for i in m.I for j in m.J)
    )
    m._fixed = fixed
    m._cost = cost
    return m


def facility_brute_force(fixed: np.ndarray, cost: np.ndarray) -> int:
    """Uncapacitated: each customer goes to its cheapest open site; enumerate open sets."""
    best = None
    for mask in itertools.product([0, 1], repeat=len(fixed)):
        open_sites = [i for i, o in enumerate(mask) if o]
        if not open_sites:
            continue
        total = int(sum(fixed[open_sites]) + cost[open_sites, :].min(axis=0).sum())
        best = total if best is None else min(best, total)
    assert best is not None
    return best


def infeasible_milp() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var([0, 1], domain=pyo.Integers, bounds=(0, 3))
    m.c1 = pyo.Constraint(expr=m.x[0] + m.x[1] >= 7)
    m.o = pyo.Objective(expr=m.x[0] + 2 * m.x[1])
    return m


def infeasible_lp() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 1))
    m.y = pyo.Var(bounds=(0, 1))
    m.c1 = pyo.Constraint(expr=m.x + m.y >= 3)
    m.o = pyo.Objective(expr=m.x - m.y)
    return m


def unbounded_lp() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(domain=pyo.NonNegativeReals)
    m.y = pyo.Var(domain=pyo.NonNegativeReals)
    m.c1 = pyo.Constraint(expr=m.x - m.y <= 2)
    m.o = pyo.Objective(expr=m.x + m.y, sense=pyo.maximize)
    return m


def unbounded_milp() -> pyo.ConcreteModel:
    m = unbounded_lp()
    m.z = pyo.Var(domain=pyo.Binary)
    m.c2 = pyo.Constraint(expr=m.x + m.z >= 1)
    return m


def market_split(m_rows: int = 4, seed: int = 0) -> pyo.ConcreteModel:
    """A Cornuéjols–Dawande market split instance (n = 10 (m - 1) binaries): hard for B&B.

    min total slack s.t. sum_j a_ij x_j + s+_i - s-_i = floor(sum_j a_ij / 2).
    """
    n = 10 * (m_rows - 1)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 100, size=(m_rows, n))
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(n), domain=pyo.Binary)
    m.s = pyo.Var(range(m_rows), [0, 1], domain=pyo.NonNegativeReals)
    m.split = pyo.Constraint(
        range(m_rows),
        rule=lambda m, i: (
            sum(int(a[i, j]) * m.x[j] for j in range(n)) + m.s[i, 0] - m.s[i, 1]
            == int(a[i].sum() // 2)
        ),
    )
    m.o = pyo.Objective(expr=sum(m.s[i, k] for i in range(m_rows) for k in (0, 1)))
    return m


def small_lp() -> pyo.ConcreteModel:
    """A production LP with a unique optimum: max 3x + 5y."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 4))
    m.y = pyo.Var(bounds=(0, None))
    m.labour = pyo.Constraint(expr=2 * m.y <= 12)
    m.machine = pyo.Constraint(expr=3 * m.x + 2 * m.y <= 18)
    m.o = pyo.Objective(expr=3 * m.x + 5 * m.y, sense=pyo.maximize)
    return m  # optimum x=2, y=6, objective 36


@pytest.fixture(params=["highs", "scip"])
def solver(request: pytest.FixtureRequest) -> str:
    """Each test using this fixture runs once per solver."""
    return request.param


@pytest.fixture
def lib() -> SimpleNamespace:
    """The model builders and brute-force references of this module, as attributes."""
    return SimpleNamespace(
        knapsack_data=knapsack_data,
        knapsack_brute_force=knapsack_brute_force,
        knapsack_model=knapsack_model,
        facility_model=facility_model,
        facility_brute_force=facility_brute_force,
        infeasible_milp=infeasible_milp,
        infeasible_lp=infeasible_lp,
        unbounded_lp=unbounded_lp,
        unbounded_milp=unbounded_milp,
        market_split=market_split,
        small_lp=small_lp,
    )
