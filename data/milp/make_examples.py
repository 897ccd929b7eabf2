"""Regenerate the small example MILPs in this folder and verify their optima by enumeration.

    python data/milp/make_examples.py            # writes knapsack12.mps, facility6x12.mps.gz

* ``knapsack12.mps`` — 0/1 knapsack, 12 items (seed 12): maximise value subject to one
  capacity row. The optimum is checked against all 2^12 item subsets.
* ``facility6x12.mps.gz`` — capacitated facility location, 6 candidate sites and 12 customers
  (seed 6): minimise fixed opening costs plus transport costs, each customer's demand met in full
  (split deliveries allowed), site capacities respected. The optimum is checked by solving the
  transport LP for every one of the 2^6 sets of open sites (HiGHS via highspy).

The files are deterministic (Pyomo's MPS writer with symbolic labels; gzip with mtime 0).
"""

from __future__ import annotations

import gzip
import itertools
import math
from pathlib import Path

import numpy as np
import pyomo.environ as pyo

HERE = Path(__file__).resolve().parent


def knapsack_data(n: int = 12, seed: int = 12) -> tuple[np.ndarray, np.ndarray, int]:
    """(weights, values, capacity) of the example knapsack; integers, capacity ~45 % of total."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(5, 40, size=n)
    values = weights + rng.integers(0, 25, size=n)  # correlated: a less trivial instance
    capacity = int(0.45 * weights.sum())
    return weights, values, capacity


def knapsack_model(weights: np.ndarray, values: np.ndarray, capacity: int) -> pyo.ConcreteModel:
    """max sum v_i x_i  s.t.  sum w_i x_i <= capacity, x binary."""
    m = pyo.ConcreteModel(name="knapsack12")
    items = range(len(weights))
    m.take = pyo.Var(items, domain=pyo.Binary)
    m.capacity = pyo.Constraint(expr=sum(int(weights[i]) * m.take[i] for i in items) <= capacity)
    m.value = pyo.Objective(expr=sum(int(values[i]) * m.take[i] for i in items), sense=pyo.maximize)
    return m


def knapsack_brute_force(weights: np.ndarray, values: np.ndarray, capacity: int) -> int:
    """Best total value over all subsets (exact, 2^n subsets)."""
    n = len(weights)
    best = 0
    for mask in range(1 << n):
        chosen = [(mask >> i) & 1 for i in range(n)]
        if np.dot(chosen, weights) <= capacity:
            best = max(best, int(np.dot(chosen, values)))
    return best


def facility_data(
    n_sites: int = 6, n_customers: int = 12, seed: int = 6
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(fixed cost per site, capacity per site, demand per customer, unit transport cost)."""
    rng = np.random.default_rng(seed)
    sites = rng.uniform(0, 100, size=(n_sites, 2))
    customers = rng.uniform(0, 100, size=(n_customers, 2))
    demand = rng.integers(5, 30, size=n_customers)
    capacity = rng.integers(40, 110, size=n_sites)
    fixed = rng.integers(150, 400, size=n_sites)
    dist = np.linalg.norm(sites[:, None, :] - customers[None, :, :], axis=2)
    unit_cost = np.round(dist / 10.0, 1)  # cost per unit of demand shipped
    return fixed, capacity, demand, unit_cost


def facility_model(
    fixed: np.ndarray, capacity: np.ndarray, demand: np.ndarray, unit_cost: np.ndarray
) -> pyo.ConcreteModel:
    """Capacitated facility location with split deliveries (x = fraction of demand served)."""
    m = pyo.ConcreteModel(name="facility6x12")
    sites = range(len(fixed))
    customers = range(len(demand))
    m.open = pyo.Var(sites, domain=pyo.Binary)
    m.serve = pyo.Var(sites, customers, bounds=(0, 1))
    m.demand = pyo.Constraint(customers, rule=lambda m, j: sum(m.serve[i, j] for i in sites) == 1)
    m.capacity = pyo.Constraint(
        sites,
        rule=lambda m, i: (
            sum(int(demand[j]) * m.serve[i, j] for j in customers) <= int(capacity[i]) * m.open[i]
        ),
    )
    m.link = pyo.Constraint(sites, customers, rule=lambda m, i, j: m.serve[i, j] <= m.open[i])
    m.cost = pyo.Objective(
        expr=sum(int(fixed[i]) * m.open[i] for i in sites)
        + sum(
            round(float(unit_cost[i, j]) * int(demand[j]), 6) * m.serve[i, j]
            for i in sites
            for j in customers
        )
    )
    return m


def facility_brute_force(
    fixed: np.ndarray, capacity: np.ndarray, demand: np.ndarray, unit_cost: np.ndarray
) -> float:
    """Optimum by enumerating the open sites and solving each transport LP with highspy."""
    import highspy

    n_sites, n_customers = unit_cost.shape
    best = math.inf
    for open_mask in itertools.product([0, 1], repeat=n_sites):
        open_sites = [i for i in range(n_sites) if open_mask[i]]
        if sum(capacity[i] for i in open_sites) < demand.sum():
            continue
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        k = len(open_sites)
        n = k * n_customers  # variable (a, j) at a * n_customers + j
        h.addVars(n, np.zeros(n), np.ones(n))
        costs = np.array(
            [unit_cost[i, j] * demand[j] for i in open_sites for j in range(n_customers)]
        )
        h.changeColsCost(n, np.arange(n, dtype=np.int32), costs)
        for j in range(n_customers):
            idx = np.array([a * n_customers + j for a in range(k)], dtype=np.int32)
            h.addRow(1.0, 1.0, k, idx, np.ones(k))
        for a, i in enumerate(open_sites):
            idx = np.arange(a * n_customers, (a + 1) * n_customers, dtype=np.int32)
            h.addRow(-math.inf, float(capacity[i]), n_customers, idx, demand.astype(float))
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            value = h.getInfo().objective_function_value + sum(fixed[i] for i in open_sites)
            best = min(best, value)
    return best


def write_mps(model: pyo.ConcreteModel, path: Path) -> None:
    """Write ``model`` as MPS (symbolic labels); gzip it (mtime 0) if ``path`` ends in .gz."""
    plain = path.with_suffix("") if path.suffix == ".gz" else path
    model.write(str(plain), io_options={"symbolic_solver_labels": True})
    if path.suffix == ".gz":
        data = plain.read_bytes()
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        ):
            gz.write(data)
        plain.unlink()


def main() -> None:
    """Write both files and print their verified optima."""
    w, v, cap = knapsack_data()
    write_mps(knapsack_model(w, v, cap), HERE / "knapsack12.mps")
    print(f"knapsack12.mps: max value = {knapsack_brute_force(w, v, cap)}")
    f, c, d, u = facility_data()
    write_mps(facility_model(f, c, d, u), HERE / "facility6x12.mps.gz")
    print(f"facility6x12.mps.gz: min cost = {facility_brute_force(f, c, d, u):.6f}")


if __name__ == "__main__":
    main()
