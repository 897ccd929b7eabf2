"""Classical routing baselines: every method feasible, exact methods equal brute force."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from orlearn.errors import ConfigError
from orlearn.problems.routing import baselines as B
from orlearn.problems.routing.instances import (
    CVRPInstance,
    KPInstance,
    TSPInstance,
    generate_cvrp,
    generate_kp,
    generate_tsp,
)
from orlearn.problems.routing.solution import Solution, make_solution, problem_name

FAST = {"pyvrp": {"time_limit": 0.3}, "ortools": {"time_limit": 0.3}}


def random_atsp(n: int, seed: int) -> TSPInstance:
    d = np.random.default_rng(seed).random((n, n))
    np.fill_diagonal(d, 0.0)
    return TSPInstance(None, distances=d, name=f"atsp{n}-s{seed}")


def brute_tsp(inst: TSPInstance) -> float:
    d = inst.distance_matrix()
    best = math.inf
    for perm in itertools.permutations(range(1, inst.n)):
        tour = (0, *perm)
        best = min(best, sum(d[tour[k], tour[(k + 1) % inst.n]] for k in range(inst.n)))
    return best


def brute_cvrp(inst: CVRPInstance) -> float:
    """Set-partitioning DP over customer subsets, each route an optimal brute-force path."""
    d, q, n = inst.distance_matrix(), inst.demands, inst.n
    route = {}
    for mask in range(1, 1 << n):
        members = [i + 1 for i in range(n) if mask >> i & 1]
        if q[members].sum() > inst.capacity:
            continue
        route[mask] = min(
            d[0, p[0]] + sum(d[p[k], p[k + 1]] for k in range(len(p) - 1)) + d[p[-1], 0]
            for p in itertools.permutations(members)
        )
    best = {0: 0.0}
    for mask in range(1, 1 << n):
        low = mask & -mask
        cands = [route[s] + best[mask ^ s] for s in route if s & low and s & mask == s
                 and (mask ^ s) in best]
        if cands:
            best[mask] = min(cands)
    return best[(1 << n) - 1]


@pytest.fixture(scope="module")
def instances() -> dict[str, object]:
    return {
        "tsp": generate_tsp(10, 1),
        "atsp": random_atsp(9, 2),
        "cvrp": generate_cvrp(7, 3),
        "kp": generate_kp(20, 4),
    }


def _cases() -> list[tuple[str, str]]:
    return [(p, m) for p, methods in B.METHODS.items() for m in methods if m != "bq"]


@pytest.mark.parametrize(("problem", "method"), _cases())
def test_every_method_is_feasible(instances, problem, method):
    inst = instances[problem]
    assert problem_name(inst) == problem
    sol = B.solve(inst, method, **FAST.get(method, {}))
    assert isinstance(sol, Solution)
    assert sol.feasible, sol.info
    assert sol.method == method and sol.problem == problem
    assert math.isfinite(sol.objective) and sol.time >= 0
    assert "options" in sol.info
    json.dumps(sol.to_dict())


def test_default_methods(instances):
    assert B.solve(instances["tsp"]).method == "lkh"
    assert B.solve(instances["atsp"]).method == "lkh"
    assert B.solve(instances["kp"]).method == "exact"
    sol = B.solve(instances["cvrp"], time_limit=0.2)
    assert sol.method == "pyvrp" and sol.feasible
    assert sol.info["options"]["time_limit"] == 0.2


# ------------------------------------------------------------------------------ TSP


@pytest.mark.parametrize("inst", [generate_tsp(7, 5), random_atsp(7, 6)], ids=["tsp", "atsp"])
def test_milp_and_lkh_equal_brute_force_on_7_cities(inst):
    opt = brute_tsp(inst)
    sol = B.solve(inst, "milp")
    assert sol.info["optimal"] and sol.objective == pytest.approx(opt, rel=1e-9, abs=1e-9)
    assert inst.tour_cost(B.lkh_tour(inst)) == pytest.approx(opt, abs=1e-5)


def test_lkh_reaches_milp_optimum_on_12_cities():
    inst = generate_tsp(12, 7)
    exact = B.solve(inst, "milp", time_limit=60)
    assert exact.info["optimal"]
    assert exact.info["bound"] == pytest.approx(exact.objective, rel=1e-6)
    tour = B.lkh_tour(inst)
    assert inst.tour_cost(tour) == pytest.approx(exact.objective, abs=1e-5)


def test_lkh_tour_format_and_determinism():
    inst = generate_tsp(30, 8)
    tour = B.lkh_tour(inst, runs=2, seed=3, max_trials=10)
    assert tour.dtype == np.int64 and tour[0] == 0 and len(tour) == 30
    assert np.array_equal(np.sort(tour), np.arange(30))
    assert np.array_equal(tour, B.lkh_tour(inst, runs=2, seed=3, max_trials=10))
    # integer TSPLIB distances are passed exactly (no scaling)
    euc = TSPInstance(np.asarray(inst.coords) * 1000, edge_weight_type="EUC_2D")
    euc_tour, info = B._lkh(euc)
    assert info["scale"] == 1.0 and info["lkh_cost"] == euc.tour_cost(euc_tour)


def test_insertion_matches_naive_cheapest_insertion():
    inst = generate_tsp(15, 9)
    d = inst.distance_matrix()
    tour = [0]
    rest = set(range(1, 15))
    while rest:
        nxt = [tour[(p + 1) % len(tour)] for p in range(len(tour))]
        _, k, p = min(
            (d[tour[p], k] + d[k, nxt[p]] - d[tour[p], nxt[p]], k, p)
            for k in sorted(rest) for p in range(len(tour))
        )
        tour.insert(p + 1, k)
        rest.discard(k)
    assert inst.tour_cost(B.insertion_tour(inst, "cheapest")) == pytest.approx(
        inst.tour_cost(np.array(tour))
    )
    nn = B.nearest_neighbour_tour(inst, start=4)
    assert nn[0] == 4 and inst.is_feasible(nn)


# ------------------------------------------------------------------------------ CVRP


def test_cvrp_milp_equals_brute_force():
    inst = generate_cvrp(6, 10, capacity=15)
    sol = B.solve(inst, "milp")
    assert sol.info["optimal"]
    assert sol.objective == pytest.approx(brute_cvrp(inst), rel=1e-9)


def test_cvrp_milp_zero_demand_and_asymmetric():
    rng = np.random.default_rng(11)
    d = rng.random((7, 7)) + 0.1
    np.fill_diagonal(d, 0.0)
    demands = np.array([0, 4, 0, 6, 5, 0, 3])
    inst = CVRPInstance(None, demands, 10, distances=d)
    sol = B.solve(inst, "milp")
    assert sol.feasible and sol.info["optimal"]
    assert sol.objective == pytest.approx(brute_cvrp(inst), rel=1e-9)
    for method in ("savings", "nearest", "pyvrp", "ortools"):
        other = B.solve(inst, method, **FAST.get(method, {}))
        assert other.feasible and other.objective >= sol.objective - 1e-6


def test_heuristics_never_beat_the_cvrp_milp(instances):
    inst = instances["cvrp"]
    exact = B.solve(inst, "milp")
    assert exact.info["optimal"]
    for method in ("pyvrp", "ortools", "savings", "nearest"):
        sol = B.solve(inst, method, **FAST.get(method, {}))
        assert sol.objective >= exact.objective - 1e-6
    routes = B.pyvrp_routes(inst, time_limit=0.3, seed=1)
    assert all(r.dtype == np.int64 and r.min() >= 1 for r in routes)
    assert inst.routes_cost(routes) == pytest.approx(exact.objective, abs=1e-5)


def test_pyvrp_respects_fleet_size():
    base = generate_cvrp(12, 12)
    k = math.ceil(base.demands.sum() / base.capacity)
    inst = CVRPInstance(base.coords, base.demands, base.capacity, n_vehicles=k + 1)
    routes = B.pyvrp_routes(inst, time_limit=0.3, seed=0, max_iterations=2000)
    assert inst.is_feasible(routes) and len(routes) <= k + 1
    again = B.pyvrp_routes(inst, time_limit=5.0, seed=0, max_iterations=200)
    assert inst.routes_cost(again) == inst.routes_cost(
        B.pyvrp_routes(inst, time_limit=5.0, seed=0, max_iterations=200)
    )


# ------------------------------------------------------------------------------ KP


def test_kp_exact_equals_brute_force():
    inst = generate_kp(12, 13, capacity=3.0)
    bits = (np.arange(1 << 12)[:, None] >> np.arange(12)) & 1
    fits = bits @ inst.weights <= inst.capacity
    best = float((bits @ inst.values)[fits].max())
    items = B.kp_exact(inst)
    assert inst.total_value(items) == pytest.approx(best, abs=1e-6)
    assert inst.total_value(B.kp_greedy(inst)) <= best + 1e-12


# ------------------------------------------------------------------------------ Solution


def test_gap_and_infeasible_solution():
    inst = generate_tsp(8, 14)
    opt = brute_tsp(inst)
    known = TSPInstance(inst.coords, optimum=opt)
    assert B.solve(known, "milp").gap == pytest.approx(0.0, abs=1e-7)
    nn = B.solve(known, "nearest")
    assert nn.gap == pytest.approx((nn.objective - opt) / opt * 100)
    assert B.solve(inst, "lkh").gap is None
    bad = make_solution(known, "broken", tour=[0, 1, 2], time=0.0)
    assert not bad.feasible and math.isnan(bad.objective) and bad.gap is None
    assert "infeasible" in bad.info
    assert json.loads(json.dumps(bad.to_dict()))["objective"] is None

    kp = generate_kp(12, 15)
    exact = B.solve(kp, "exact")
    kp_known = KPInstance(kp.values, kp.weights, kp.capacity, optimum=exact.objective)
    greedy = B.solve(kp_known, "greedy")
    assert greedy.sense == "max" and greedy.gap >= -1e-9
    assert greedy.gap == pytest.approx((exact.objective - greedy.objective)
                                       / exact.objective * 100)


def test_plot_writes_png(instances, tmp_path):
    # Solution.plot draws on a matplotlib Figure (Agg canvas): no pyplot, no display needed
    for problem in ("tsp", "atsp", "cvrp", "kp"):
        sol = B.solve(instances[problem], "nearest" if problem != "kp" else "greedy")
        path = tmp_path / f"{problem}.png"
        ax = sol.plot(path=path)
        assert path.stat().st_size > 1000
        assert sol.method in ax.get_title()


# ------------------------------------------------------------------------------ errors


def test_config_errors(instances):
    with pytest.raises(ConfigError, match="valid methods"):
        B.solve(instances["tsp"], "simulated-annealing")
    with pytest.raises(ConfigError, match="lkh"):
        B.solve(instances["tsp"], "pyvrp")
    with pytest.raises(ConfigError, match="greedy"):
        B.solve(instances["kp"], "lkh")
    with pytest.raises(ConfigError, match="options"):
        B.solve(instances["tsp"], "nearest", time_limit=1.0)
    with pytest.raises(ConfigError, match="force=True"):
        B.solve(generate_tsp(B.MILP_TSP_MAX_N + 1, 0), "milp")
    with pytest.raises(ConfigError, match="force=True"):
        B.milp_routes(generate_cvrp(B.MILP_CVRP_MAX_N + 1, 0))
    with pytest.raises(ConfigError):
        B.insertion_tour(instances["tsp"], kind="random")
