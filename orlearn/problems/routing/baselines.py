"""Classical baselines for the routing problems: LKH-3, PyVRP, OR-Tools, exact MILPs, heuristics.

Expert labellers (kept stable, the neural policy relies on them):

* :func:`lkh_tour` — LKH-3 (through elkai) on a TSP or ATSP;
* :func:`pyvrp_routes` — PyVRP's hybrid genetic search on a CVRP;
* :func:`kp_exact` — the optimal knapsack through a MILP (:func:`orlearn.solvers.solve`).

Other baselines: :func:`ortools_tour` / :func:`ortools_routes` (OR-Tools routing, cheapest-arc
start and guided local search), :func:`nearest_neighbour_tour`, :func:`insertion_tour`
(farthest / nearest / cheapest insertion), :func:`nearest_neighbour_routes`,
:func:`savings_routes` (Clarke-Wright), :func:`kp_greedy`, and the exact :func:`milp_tour`
(subtour-elimination cuts added in a loop) and :func:`milp_routes` (two-index CVRP with
lifted MTZ load variables) for small instances. Every MILP is a Pyomo model solved through
:mod:`orlearn.solvers`.

:func:`solve` is the single entry point: ``solve(instance, "lkh")`` returns a
:class:`~orlearn.problems.routing.solution.Solution` whose objective and feasibility are
computed by the instance's own checker. :data:`METHODS` lists the methods per problem.

Float (``EXACT_2D``) distances are scaled by ``10**6`` and rounded to integers for the solvers
that need integers (LKH, PyVRP, OR-Tools); integer (TSPLIB) distances are passed exactly. The
returned objective is always recomputed on the instance's own (float) distances.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from orlearn.errors import ConfigError
from orlearn.problems.routing.instances import CVRPInstance, KPInstance, TSPInstance
from orlearn.problems.routing.solution import Solution, make_solution, problem_name
from orlearn.solvers import SolveError, SolveResult, TerminationCondition
from orlearn.solvers import solve as solve_model

SCALE = 1_000_000
"""Factor applied to float distances (and non-integer demands) before rounding to integers."""

LKH_MAX_DISTANCE = 5_000_000
"""Largest integer distance handed to LKH; larger matrices are scaled down (lossy).

LKH stores ``PRECISION * d`` (PRECISION = 100) in C ints, and its ATSP transformation uses
``M = INT_MAX / 2 / PRECISION`` (about 1.07e7) as "infinity", so distances must stay well below.
"""

MILP_TSP_MAX_N = 50
"""Largest TSP/ATSP :func:`milp_tour` accepts without ``force=True``."""

MILP_CVRP_MAX_N = 12
"""Largest CVRP (customers) :func:`milp_routes` accepts without ``force=True``."""

MILP_REL_GAP = 1e-9
"""Relative MIP gap asked of the exact MILPs (in effect 0)."""

METHODS: dict[str, tuple[str, ...]] = {
    "tsp": (
        "lkh", "ortools", "nearest", "insertion", "farthest-insertion", "nearest-insertion",
        "cheapest-insertion", "milp", "exact", "bq",
    ),
    "atsp": (
        "lkh", "ortools", "nearest", "insertion", "farthest-insertion", "nearest-insertion",
        "cheapest-insertion", "milp", "exact", "bq",
    ),
    "cvrp": ("pyvrp", "ortools", "nearest", "savings", "milp", "exact", "bq"),
    "kp": ("exact", "milp", "greedy", "bq"),
}
"""Problem -> methods :func:`solve` accepts (``exact`` is the MILP everywhere)."""

DEFAULT_METHOD: dict[str, str] = {"tsp": "lkh", "atsp": "lkh", "cvrp": "pyvrp", "kp": "exact"}
"""Problem -> the method :func:`solve` uses when none is given."""

Info = dict[str, Any]


# ------------------------------------------------------------------------------ helpers


def _is_integral(a: np.ndarray) -> bool:
    return bool(np.array_equal(a, np.round(a)))


def _integer_distances(
    d: np.ndarray, *, max_value: float | None = None
) -> tuple[np.ndarray, float]:
    """``(rint(d * scale) as int64, scale)``: scale 1 for integer distances, else ``SCALE``."""
    d = np.asarray(d, dtype=np.float64)
    scale = 1.0 if _is_integral(d) else float(SCALE)
    top = float(d.max()) if d.size else 0.0
    if max_value is not None and top * scale > max_value:
        scale = max_value / top
    return np.rint(d * scale).astype(np.int64), scale


def _integer_demands(instance: CVRPInstance) -> tuple[np.ndarray, int, float]:
    """Integer demands and capacity; non-integer ones are scaled by 1000, demands rounded up
    and the capacity down, so that an integer-feasible route is feasible in the original."""
    q = np.asarray(instance.demands, dtype=np.float64)
    cap = float(instance.capacity)
    if _is_integral(q) and float(cap).is_integer():
        return q.astype(np.int64), int(cap), 1.0
    scale = 1000.0
    return (np.ceil(q * scale - 1e-9).astype(np.int64), math.floor(cap * scale + 1e-9),
            scale)


def _rotate(tour: np.ndarray, start: int = 0) -> np.ndarray:
    tour = np.asarray(tour, dtype=np.int64)
    k = int(np.flatnonzero(tour == start)[0])
    return np.roll(tour, -k)


def _check_limit(instance: Any, limit: int, force: bool, what: str) -> None:
    if instance.n > limit and not force:
        raise ConfigError(
            f"{what} is meant for small instances (n <= {limit}), got n = {instance.n}; "
            "use a heuristic method, or pass force=True to try anyway"
        )


def _check_time_limit(time_limit: float | None, *, required: bool = False) -> None:
    if time_limit is None:
        if required:
            raise ConfigError("time_limit must be a positive number of seconds, got None")
        return
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not (
        time_limit > 0 and math.isfinite(time_limit)
    ):
        raise ConfigError(f"time_limit must be a positive number of seconds, got {time_limit!r}")


def _result_info(result: SolveResult) -> Info:
    return {
        "termination": result.termination.value,
        "status": result.status.value,
        "solver": result.solver,
        "solver_objective": result.objective,
        "bound": result.bound,
        "mip_gap": result.gap,
        "solver_time": result.wall_time,
    }


def _proven_optimal(result: SolveResult) -> bool:
    if result.termination == TerminationCondition.OPTIMAL:
        return True
    return result.has_solution and result.gap is not None and result.gap <= 1e-6


# ------------------------------------------------------------------------------ LKH (TSP)


def _lkh(
    instance: TSPInstance,
    *,
    runs: int = 1,
    seed: int = 0,
    max_trials: int | None = None,
    time_limit: float | None = None,
) -> tuple[np.ndarray, Info]:
    import elkai._elkai as lkh  # elkai's wrappers hide SEED / MAX_TRIALS: call LKH directly

    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)) or runs < 1:
        raise ConfigError(f"runs must be a positive integer, got {runs!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if max_trials is not None and (not isinstance(max_trials, (int, np.integer))
                                   or max_trials < 1):
        raise ConfigError(f"max_trials must be a positive integer or None, got {max_trials!r}")
    _check_time_limit(time_limit)
    d, scale = _integer_distances(instance.distance_matrix(), max_value=LKH_MAX_DISTANCE)
    n = len(d)
    kind = "TSP" if np.array_equal(d, d.T) else "ATSP"
    params = f"PROBLEM_FILE = :stdin:\nRUNS = {int(runs)}\nSEED = {int(seed) + 1}\n"
    if max_trials is not None:
        params += f"MAX_TRIALS = {int(max_trials)}\n"
    if time_limit is not None:
        params += f"TIME_LIMIT = {float(time_limit)}\n"
    body = "\n".join(" ".join(map(str, row)) for row in d.tolist())
    problem = (
        f"TYPE : {kind}\nDIMENSION : {n}\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
        f"EDGE_WEIGHT_FORMAT : FULL_MATRIX\nEDGE_WEIGHT_SECTION\n{body}\nEOF\n"
    )
    raw = np.asarray(lkh.solve_problem(params, problem), dtype=np.int64) - 1  # 1-based
    if len(raw) == n + 1 and raw[0] == raw[-1]:  # a closing repeat of the start city
        raw = raw[:-1]
    tour = _rotate(raw, 0)
    instance.check_tour(tour)
    cost = int(d[tour, np.roll(tour, -1)].sum())
    return tour, {"lkh_type": kind, "scale": scale, "lkh_cost": cost, "runs": int(runs)}


def lkh_tour(
    instance: TSPInstance,
    *,
    runs: int = 1,
    seed: int = 0,
    max_trials: int | None = None,
    time_limit: float | None = None,
) -> np.ndarray:
    """A TSP/ATSP tour by LKH-3 (elkai 2's embedded LKH), starting at city 0.

    LKH works on integers: float (``EXACT_2D``) distances are multiplied by ``10**6`` and
    rounded; integer (TSPLIB) distances are passed exactly (matrices with entries above
    :data:`LKH_MAX_DISTANCE` are scaled down). Symmetric matrices are solved as ``TSP``,
    others as ``ATSP`` (LKH's 2n-node transformation).

    Args:
        instance: the TSP (symmetric or not).
        runs: LKH ``RUNS`` (independent restarts; the best tour is kept).
        seed: random seed. elkai's public API does not expose one, so LKH is called through
            elkai's ``_elkai.solve_problem`` with ``SEED = seed + 1`` (LKH treats 0 as "seed
            from the clock"; its default is 1, i.e. ``seed=0`` here). Deterministic given seed.
        max_trials: LKH ``MAX_TRIALS`` per run (default: n).
        time_limit: LKH ``TIME_LIMIT`` in seconds (None: no limit).

    Returns:
        A 0-based permutation of the cities (int64) with ``tour[0] == 0``; elkai's closing
        repeat of the first city is dropped.
    """
    return _lkh(instance, runs=runs, seed=seed, max_trials=max_trials, time_limit=time_limit)[0]


# ------------------------------------------------------------------------------ PyVRP (CVRP)


def _pyvrp(
    instance: CVRPInstance,
    *,
    time_limit: float = 1.0,
    seed: int = 0,
    max_iterations: int | None = None,
) -> tuple[list[np.ndarray], Info]:
    import pyvrp
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

    _check_time_limit(time_limit, required=True)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    d, scale = _integer_distances(instance.distance_matrix())
    q, cap, q_scale = _integer_demands(instance)
    coords = instance.coords if instance.coords is not None else np.zeros((len(d), 2))
    locations = [pyvrp.Location(x=float(x), y=float(y)) for x, y in coords]
    clients = [pyvrp.Client(location=i, delivery=[int(q[i])]) for i in range(1, len(d))]
    fleet = instance.n_vehicles if instance.n_vehicles is not None else instance.n
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=[pyvrp.Depot(location=0)],
        vehicle_types=[pyvrp.VehicleType(num_available=int(fleet), capacity=[cap])],
        distance_matrices=[d],
        duration_matrices=[np.zeros_like(d)],
    )
    stop: Any = MaxRuntime(float(time_limit))
    if max_iterations is not None:
        stop = MultipleCriteria([MaxIterations(int(max_iterations)), stop])
    # PyVRP caps its load penalty at max_penalty (1e5) per unit: too low against distances
    # scaled by 1e6, so raise the cap with the distance scale
    penalty = pyvrp.PenaltyParams(max_penalty=max(1e5, 100.0 * float(d.max())))
    result = pyvrp.solve(data, stop, seed=int(seed), collect_stats=False, display=False,
                         params=pyvrp.SolveParams(penalty=penalty))
    routes = []
    for route in result.best.routes():
        # activities: depot, clients..., depot; client idx k is our customer k + 1
        visits = [a.idx + 1 for a in route if a.is_client()]
        if visits:
            routes.append(np.asarray(visits, dtype=np.int64))
    info = {
        "pyvrp_cost": float(result.cost()),
        "pyvrp_feasible": bool(result.is_feasible()),
        "iterations": int(result.num_iterations),
        "runtime": float(result.runtime),
        "scale": scale,
        "demand_scale": q_scale,
    }
    return routes, info


def pyvrp_routes(
    instance: CVRPInstance,
    *,
    time_limit: float = 1.0,
    seed: int = 0,
    max_iterations: int | None = None,
) -> list[np.ndarray]:
    """CVRP routes by PyVRP's hybrid genetic search (HGS-CVRP).

    Float distances are scaled by ``10**6`` and rounded (PyVRP needs integers); non-integer
    demands are scaled by 1000 (rounded up, the capacity down). The fleet is
    ``instance.n_vehicles`` when set, else up to ``n`` vehicles.

    Args:
        instance: the CVRP.
        time_limit: search time in seconds.
        seed: PyVRP's random seed. Runs stopped by ``time_limit`` alone depend on how many
            iterations the machine does in that time; pass ``max_iterations`` as well for
            bit-for-bit reproducibility (the search stops at whichever comes first).
        max_iterations: optional iteration limit.

    Returns:
        The routes as arrays of customer indices ``1..n`` (depot 0 left out), one per used
        vehicle. PyVRP's best solution is returned even if infeasible (too small a fleet):
        check it with ``instance.is_feasible``.
    """
    return _pyvrp(instance, time_limit=time_limit, seed=seed, max_iterations=max_iterations)[0]


# ------------------------------------------------------------------------------ OR-Tools


def _ortools_search(
    d: np.ndarray,
    n_vehicles: int,
    time_limit: float,
    demands: np.ndarray | None = None,
    capacity: int | None = None,
) -> tuple[list[list[int]] | None, Info]:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    manager = pywrapcp.RoutingIndexManager(len(d), int(n_vehicles), 0)
    routing = pywrapcp.RoutingModel(manager)
    transit = routing.RegisterTransitMatrix(d.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    if demands is not None:
        unary = routing.RegisterUnaryTransitVector([int(v) for v in demands])
        routing.AddDimensionWithVehicleCapacity(
            unary, 0, [int(capacity)] * int(n_vehicles), True, "Capacity"
        )
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromNanoseconds(max(1, round(float(time_limit) * 1e9)))
    solution = routing.SolveWithParameters(params)
    info: Info = {"ortools_status": int(routing.status())}
    if solution is None:
        return None, info
    info["ortools_cost"] = int(solution.ObjectiveValue())
    paths = []
    for v in range(int(n_vehicles)):
        index = routing.Start(v)
        path = []
        while not routing.IsEnd(index):
            path.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        paths.append(path)
    return paths, info


def _ortools_tsp(
    instance: TSPInstance, *, time_limit: float = 1.0, seed: int = 0
) -> tuple[np.ndarray | None, Info]:
    _check_time_limit(time_limit, required=True)
    d, scale = _integer_distances(instance.distance_matrix())
    paths, info = _ortools_search(d, 1, time_limit)
    info["scale"] = scale
    if paths is None:
        return None, info
    return _rotate(np.asarray(paths[0], dtype=np.int64), 0), info


def _ortools_cvrp(
    instance: CVRPInstance, *, time_limit: float = 1.0, seed: int = 0
) -> tuple[list[np.ndarray] | None, Info]:
    _check_time_limit(time_limit, required=True)
    d, scale = _integer_distances(instance.distance_matrix())
    q, cap, q_scale = _integer_demands(instance)
    fleet = instance.n_vehicles if instance.n_vehicles is not None else instance.n
    paths, info = _ortools_search(d, fleet, time_limit, q, cap)
    info.update(scale=scale, demand_scale=q_scale)
    if paths is None:
        return None, info
    routes = [np.asarray(p[1:], dtype=np.int64) for p in paths if len(p) > 1]  # drop depot
    return routes, info


def ortools_tour(
    instance: TSPInstance, *, time_limit: float = 1.0, seed: int = 0
) -> np.ndarray:
    """A TSP/ATSP tour by OR-Tools routing: cheapest-arc start, then guided local search.

    Distances are scaled to integers like :func:`lkh_tour`. ``seed`` is accepted for a uniform
    API but unused: OR-Tools' routing search has no random seed (it is deterministic, but a
    time-limited run depends on the machine's speed). Raises :class:`SolveError` if no tour is
    found within ``time_limit`` seconds.
    """
    tour, info = _ortools_tsp(instance, time_limit=time_limit, seed=seed)
    if tour is None:
        raise SolveError(f"OR-Tools found no tour in {time_limit} s (status {info})")
    return tour


def ortools_routes(
    instance: CVRPInstance, *, time_limit: float = 1.0, seed: int = 0
) -> list[np.ndarray]:
    """CVRP routes by OR-Tools routing (capacity dimension, cheapest arc + guided local search).

    Fleet: ``instance.n_vehicles`` or ``n``. ``seed`` is unused (see :func:`ortools_tour`).
    Raises :class:`SolveError` if no solution is found within ``time_limit`` seconds.
    """
    routes, info = _ortools_cvrp(instance, time_limit=time_limit, seed=seed)
    if routes is None:
        raise SolveError(f"OR-Tools found no routes in {time_limit} s (status {info})")
    return routes


# ------------------------------------------------------------------------------ TSP heuristics


def nearest_neighbour_tour(instance: TSPInstance, start: int = 0) -> np.ndarray:
    """Nearest-neighbour tour from ``start`` (O(n^2)); follows d(i, j) on an ATSP."""
    d = instance.distance_matrix()
    n = len(d)
    if not isinstance(start, (int, np.integer)) or not 0 <= start < n:
        raise ConfigError(f"start must be a city index in 0..{n - 1}, got {start!r}")
    visited = np.zeros(n, dtype=bool)
    tour = np.empty(n, dtype=np.int64)
    cur = int(start)
    for k in range(n):
        tour[k] = cur
        visited[cur] = True
        if k == n - 1:
            break
        cur = int(np.argmin(np.where(visited, np.inf, d[cur])))
    return tour


INSERTION_KINDS = ("farthest", "nearest", "cheapest")


def insertion_tour(instance: TSPInstance, kind: str = "farthest") -> np.ndarray:
    """Insertion heuristic from city 0: ``farthest``, ``nearest`` or ``cheapest`` insertion.

    Farthest/nearest pick the city farthest from / nearest to the partial tour (the distance to
    the tour is the smallest distance to any tour city, both directions on an ATSP) and insert
    it where it adds the least length; cheapest inserts the (city, position) that adds the
    least length. O(n^2) numpy (cheapest: amortised, best positions kept up to date).
    """
    if kind not in INSERTION_KINDS:
        raise ConfigError(f"unknown insertion kind {kind!r}; use one of {INSERTION_KINDS}")
    d = np.asarray(instance.distance_matrix(), dtype=np.float64)
    n = len(d)
    succ = np.zeros(n, dtype=np.int64)  # succ[0] = 0: the one-city tour
    nodes = [0]
    remaining = np.ones(n, dtype=bool)
    remaining[0] = False
    if kind == "cheapest":
        best_cost = d[0, :] + d[:, 0]
        best_a = np.zeros(n, dtype=np.int64)
        for _ in range(n - 1):
            cand = np.flatnonzero(remaining)
            k = int(cand[np.argmin(best_cost[cand])])
            a = int(best_a[k])
            b = int(succ[a])
            succ[a], succ[k] = k, b
            nodes.append(k)
            remaining[k] = False
            cand = np.flatnonzero(remaining)
            if not len(cand):
                break
            stale = best_a[cand] == a  # their best edge (a, b) is gone
            fresh = cand[~stale]
            c1 = d[a, fresh] + d[fresh, k] - d[a, k]
            c2 = d[k, fresh] + d[fresh, b] - d[k, b]
            better1 = c1 < best_cost[fresh]
            best_cost[fresh[better1]] = c1[better1]
            best_a[fresh[better1]] = a
            better2 = c2 < best_cost[fresh]
            best_cost[fresh[better2]] = c2[better2]
            best_a[fresh[better2]] = k
            stale_idx = cand[stale]
            if len(stale_idx):
                tour_a = np.asarray(nodes, dtype=np.int64)
                tour_b = succ[tour_a]
                costs = (
                    d[np.ix_(tour_a, stale_idx)]
                    + d[np.ix_(stale_idx, tour_b)].T
                    - d[tour_a, tour_b][:, None]
                )
                pos = np.argmin(costs, axis=0)
                best_cost[stale_idx] = costs[pos, np.arange(len(stale_idx))]
                best_a[stale_idx] = tour_a[pos]
    else:
        to_tour = np.minimum(d[0, :], d[:, 0])
        for _ in range(n - 1):
            cand = np.flatnonzero(remaining)
            pick = np.argmax(to_tour[cand]) if kind == "farthest" else np.argmin(to_tour[cand])
            k = int(cand[pick])
            tour_a = np.asarray(nodes, dtype=np.int64)
            tour_b = succ[tour_a]
            a = int(tour_a[np.argmin(d[tour_a, k] + d[k, tour_b] - d[tour_a, tour_b])])
            succ[a], succ[k] = k, succ[a]
            nodes.append(k)
            remaining[k] = False
            to_tour = np.minimum(to_tour, np.minimum(d[k, :], d[:, k]))
    tour = np.empty(n, dtype=np.int64)
    cur = 0
    for i in range(n):
        tour[i] = cur
        cur = int(succ[cur])
    return tour


# ------------------------------------------------------------------------------ CVRP heuristics


def nearest_neighbour_routes(instance: CVRPInstance) -> list[np.ndarray]:
    """Nearest-neighbour CVRP: go to the nearest unvisited customer that fits, else back to the
    depot and start a new route (ignores ``n_vehicles``)."""
    d = instance.distance_matrix()
    q = instance.demands
    cap = instance.capacity
    unvisited = np.ones(len(d), dtype=bool)
    unvisited[0] = False
    routes: list[np.ndarray] = []
    route: list[int] = []
    cur, load = 0, 0.0
    while unvisited.any():
        fits = unvisited & (q <= cap - load + 1e-9)
        if not fits.any():
            routes.append(np.asarray(route, dtype=np.int64))
            route, cur, load = [], 0, 0.0
            continue
        j = int(np.argmin(np.where(fits, d[cur], np.inf)))
        route.append(j)
        load += float(q[j])
        unvisited[j] = False
        cur = j
    if route:
        routes.append(np.asarray(route, dtype=np.int64))
    return routes


def savings_routes(instance: CVRPInstance) -> list[np.ndarray]:
    """Clarke-Wright parallel savings (ignores ``n_vehicles``).

    Starts from one route per customer and merges routes in decreasing order of the saving
    ``d(i, 0) + d(0, j) - d(i, j)`` (positive savings only) when the merged load fits. On a
    symmetric instance routes may be reversed to bring ``i`` and ``j`` to the joined ends; on
    an asymmetric one a route ending at ``i`` is joined to a route starting at ``j``.
    """
    d = np.asarray(instance.distance_matrix(), dtype=np.float64)
    q = instance.demands
    cap = instance.capacity
    n = instance.n
    sym = bool(np.array_equal(d, d.T))
    cust = np.arange(1, n + 1)
    sav = d[cust, 0][:, None] + d[0, cust][None, :] - d[np.ix_(cust, cust)]
    mask = np.triu(np.ones((n, n), dtype=bool), 1) if sym else ~np.eye(n, dtype=bool)
    mask &= sav > 1e-12
    ii, jj = np.nonzero(mask)
    order = np.argsort(-sav[ii, jj], kind="stable")
    routes: dict[int, list[int]] = {int(c): [int(c)] for c in cust}
    load = {int(c): float(q[c]) for c in cust}
    route_of = np.arange(n + 1)
    for t in order:
        i, j = int(ii[t] + 1), int(jj[t] + 1)
        ri, rj = int(route_of[i]), int(route_of[j])
        if ri == rj or load[ri] + load[rj] > cap + 1e-9:
            continue
        r1, r2 = routes[ri], routes[rj]
        if sym:
            if i not in (r1[0], r1[-1]) or j not in (r2[0], r2[-1]):
                continue
            if r1[-1] != i:
                r1.reverse()
            if r2[0] != j:
                r2.reverse()
        elif r1[-1] != i or r2[0] != j:
            continue
        r1.extend(r2)
        load[ri] += load.pop(rj)
        del routes[rj]
        route_of[r2] = ri
    return [np.asarray(r, dtype=np.int64) for r in routes.values()]


# ------------------------------------------------------------------------------ KP


def kp_greedy(instance: KPInstance) -> np.ndarray:
    """Greedy knapsack: items by decreasing value/weight, each taken if it still fits."""
    w = instance.weights
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(w > 0, instance.values / np.where(w > 0, w, 1.0), np.inf)
    order = np.argsort(-ratio, kind="stable")
    chosen, used = [], 0.0
    for i in order:
        if used + w[i] <= instance.capacity:
            chosen.append(int(i))
            used += float(w[i])
    return np.sort(np.asarray(chosen, dtype=np.int64))


def _kp_milp(
    instance: KPInstance,
    *,
    solver: str = "highs",
    time_limit: float | None = None,
    seed: int = 0,
) -> tuple[np.ndarray | None, Info]:
    import pyomo.environ as pyo

    _check_time_limit(time_limit)
    v, w, cap = instance.values, instance.weights, instance.capacity
    usable = [int(i) for i in np.flatnonzero(w <= cap)]
    info: Info = {}
    limit = cap
    for attempt in range(4):  # re-solve if the solver's tolerance let the weight exceed cap
        m = pyo.ConcreteModel()
        m.x = pyo.Var(usable, domain=pyo.Binary)
        m.weight = pyo.Constraint(expr=sum(float(w[i]) * m.x[i] for i in usable) <= limit)
        m.value = pyo.Objective(
            expr=sum(float(v[i]) * m.x[i] for i in usable), sense=pyo.maximize
        )
        result = solve_model(m, solver=solver, time_limit=time_limit, rel_gap=MILP_REL_GAP,
                             seed=seed)
        info = _result_info(result)
        info["optimal"] = _proven_optimal(result)
        if not result.has_solution:
            return None, info
        items = np.asarray([i for i in usable if (m.x[i].value or 0.0) > 0.5], dtype=np.int64)
        weight = float(w[items].sum())
        if weight <= cap * (1 + 1e-9):
            info["resolves"] = attempt
            return items, info
        limit = cap - (weight - cap) - 1e-9 * max(1.0, cap)
    return items, info


def kp_exact(
    instance: KPInstance, *, solver: str = "highs", time_limit: float | None = None
) -> np.ndarray:
    """Optimal knapsack item indices (sorted) by a binary MILP through :mod:`orlearn.solvers`.

    ``max v.x  s.t.  w.x <= capacity, x binary`` with a relative gap of ``1e-9`` (in effect
    exact; the solver's absolute gap tolerance, 1e-6 for HiGHS, still applies). Items heavier
    than the capacity are left out of the model. With a ``time_limit`` the incumbent is
    returned if the limit is hit; :class:`SolveError` if there is none.
    """
    items, info = _kp_milp(instance, solver=solver, time_limit=time_limit)
    if items is None:
        raise SolveError(f"the knapsack MILP found no solution ({info['termination']})")
    return items


# ------------------------------------------------------------------------------ exact TSP


def _walk_components(n: int, step: Callable[[int, np.ndarray], int]) -> list[list[int]]:
    """Cycles of a degree-2 solution: from each unseen node follow ``step(node, seen)``."""
    seen = np.zeros(n, dtype=bool)
    comps = []
    for s in range(n):
        if seen[s]:
            continue
        comp, cur = [], s
        while not seen[cur]:
            seen[cur] = True
            comp.append(cur)
            cur = step(cur, seen)
        comps.append(comp)
    return comps


def _components_sym(n: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    adj: list[list[int]] = [[] for _ in range(n)]
    for i, j in edges:
        adj[i].append(j)
        adj[j].append(i)
    return _walk_components(n, lambda cur, seen: next((k for k in adj[cur] if not seen[k]), cur))


def _components_dir(succ: np.ndarray) -> list[list[int]]:
    return _walk_components(len(succ), lambda cur, seen: int(succ[cur]))


def _milp_tsp(
    instance: TSPInstance,
    *,
    solver: str = "highs",
    time_limit: float | None = 60.0,
    force: bool = False,
    seed: int = 0,
) -> tuple[np.ndarray, Info]:
    """Exact TSP/ATSP: assignment/degree model plus DFJ subtour cuts added until one cycle."""
    import pyomo.environ as pyo

    _check_limit(instance, MILP_TSP_MAX_N, force, "milp on a TSP")
    _check_time_limit(time_limit)
    d = instance.distance_matrix()
    n = instance.n
    sym = instance.symmetric
    m = pyo.ConcreteModel()
    if sym:
        arcs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    else:
        arcs = [(i, j) for i in range(n) for j in range(n) if i != j]
    m.x = pyo.Var(arcs, domain=pyo.Binary)
    m.length = pyo.Objective(expr=sum(float(d[i, j]) * m.x[i, j] for i, j in arcs))
    if sym:
        m.degree = pyo.Constraint(
            range(n),
            rule=lambda m, k: sum(m.x[i, j] for i, j in arcs if k in (i, j)) == 2,
        )
    else:
        m.out = pyo.Constraint(range(n), rule=lambda m, k: sum(m.x[k, j] for j in range(n)
                                                                if j != k) == 1)
        m.inn = pyo.Constraint(range(n), rule=lambda m, k: sum(m.x[i, k] for i in range(n)
                                                                if i != k) == 1)
    m.cuts = pyo.ConstraintList()
    start = time.perf_counter()
    rounds, n_cuts = 0, 0
    comps: list[list[int]] = []
    result: SolveResult | None = None
    best_bound = None
    while True:
        remaining = None
        if time_limit is not None:
            remaining = time_limit - (time.perf_counter() - start)
            if remaining <= 0.01:
                break
        result = solve_model(m, solver=solver, time_limit=remaining, rel_gap=MILP_REL_GAP,
                             seed=seed)
        rounds += 1
        if result.bound is not None and math.isfinite(result.bound):
            best_bound = result.bound if best_bound is None else max(best_bound, result.bound)
        if not result.has_solution:
            comps = []
            break
        chosen = [a for a in arcs if (m.x[a].value or 0.0) > 0.5]
        if sym:
            comps = _components_sym(n, chosen)
        else:
            succ = np.zeros(n, dtype=np.int64)
            for i, j in chosen:
                succ[i] = j
            comps = _components_dir(succ)
        if len(comps) == 1:
            break
        for comp in comps:
            inside = set(comp)
            m.cuts.add(sum(m.x[a] for a in arcs if a[0] in inside and a[1] in inside)
                       <= len(comp) - 1)
            n_cuts += 1
    info: Info = _result_info(result) if result is not None else {"termination": "time_limit"}
    info.update(rounds=rounds, cuts=n_cuts, bound=best_bound)
    if len(comps) == 1:
        tour = _rotate(np.asarray(comps[0], dtype=np.int64), 0)
        info["optimal"] = result is not None and _proven_optimal(result)
    elif comps:  # out of time with subtours: chain them into one (feasible, not optimal)
        tour = _rotate(np.concatenate([np.asarray(c) for c in comps]).astype(np.int64), 0)
        info.update(optimal=False, fallback="subtours chained")
    else:  # no MILP solution at all
        tour = nearest_neighbour_tour(instance)
        info.update(optimal=False, fallback="nearest neighbour")
    return tour, info


def milp_tour(
    instance: TSPInstance,
    *,
    solver: str = "highs",
    time_limit: float | None = 60.0,
    force: bool = False,
) -> np.ndarray:
    """An optimal TSP/ATSP tour by a MILP with iterative subtour elimination (DFJ cuts).

    Symmetric: one binary per edge and degree 2; asymmetric: one per arc and in/out degree 1.
    After each solve the cycles of the solution are found and, if there are several, one cut
    ``sum(x inside S) <= |S| - 1`` per cycle is added and the model re-solved. ``time_limit``
    covers all rounds; if it runs out, the best tour known is returned (cycles chained, or the
    nearest-neighbour tour) — see ``solve(instance, "milp").info`` for ``optimal`` and
    ``bound``. Meant for ``n <= MILP_TSP_MAX_N`` (50): larger raise :class:`ConfigError`
    unless ``force=True``.
    """
    return _milp_tsp(instance, solver=solver, time_limit=time_limit, force=force)[0]


# ------------------------------------------------------------------------------ exact CVRP


def _milp_cvrp(
    instance: CVRPInstance,
    *,
    solver: str = "highs",
    time_limit: float | None = 60.0,
    force: bool = False,
    seed: int = 0,
) -> tuple[list[np.ndarray] | None, Info]:
    """Two-index CVRP with lifted MTZ loads (Desrochers-Laporte / Kara et al.)."""
    import pyomo.environ as pyo

    _check_limit(instance, MILP_CVRP_MAX_N, force, "milp on a CVRP")
    _check_time_limit(time_limit)
    d = instance.distance_matrix()
    q = instance.demands
    cap = float(instance.capacity)
    n = instance.n
    nodes = range(n + 1)
    cust = range(1, n + 1)
    arcs = [
        (i, j) for i in nodes for j in nodes
        if i != j and not (i and j and q[i] + q[j] > cap + 1e-9)
    ]
    arc_set = set(arcs)
    fleet = instance.n_vehicles if instance.n_vehicles is not None else n
    min_routes = max(1, math.ceil(float(q.sum()) / cap - 1e-9))
    m = pyo.ConcreteModel()
    m.x = pyo.Var(arcs, domain=pyo.Binary)
    m.u = pyo.Var(cust, bounds=lambda m, i: (float(q[i]), cap))
    m.length = pyo.Objective(expr=sum(float(d[i, j]) * m.x[i, j] for i, j in arcs))
    out_arcs: dict[int, list[tuple[int, int]]] = {i: [] for i in nodes}
    in_arcs: dict[int, list[tuple[int, int]]] = {i: [] for i in nodes}
    for a in arcs:
        out_arcs[a[0]].append(a)
        in_arcs[a[1]].append(a)
    m.out = pyo.Constraint(cust, rule=lambda m, i: sum(m.x[a] for a in out_arcs[i]) == 1)
    m.inn = pyo.Constraint(cust, rule=lambda m, j: sum(m.x[a] for a in in_arcs[j]) == 1)
    m.depot_balance = pyo.Constraint(
        expr=sum(m.x[a] for a in out_arcs[0]) == sum(m.x[a] for a in in_arcs[0])
    )
    m.fleet = pyo.Constraint(
        expr=pyo.inequality(min_routes, sum(m.x[a] for a in out_arcs[0]), min(fleet, n))
    )
    cust_arcs = [(i, j) for i, j in arcs if i and j]

    def _mtz(m: Any, i: int, j: int) -> Any:
        expr = m.u[i] - m.u[j] + cap * m.x[i, j]
        if (j, i) in arc_set:
            expr = expr + (cap - float(q[i]) - float(q[j])) * m.x[j, i]
        return expr <= cap - float(q[j])

    m.mtz_load = pyo.Constraint(cust_arcs, rule=_mtz)
    if (q[1:] <= 0).any():  # zero demands do not break subtours in the load constraints
        m.pos = pyo.Var(cust, bounds=(1, n))
        m.mtz_order = pyo.Constraint(
            cust_arcs, rule=lambda m, i, j: m.pos[j] >= m.pos[i] + 1 - n * (1 - m.x[i, j])
        )
    result = solve_model(m, solver=solver, time_limit=time_limit, rel_gap=MILP_REL_GAP,
                         seed=seed)
    info = _result_info(result)
    info["optimal"] = _proven_optimal(result)
    if not result.has_solution:
        return None, info
    succ = {i: j for i, j in arcs if i and (m.x[i, j].value or 0.0) > 0.5}
    routes = []
    for _, first in (a for a in out_arcs[0] if (m.x[a].value or 0.0) > 0.5):
        route, cur = [], first
        while cur != 0 and len(route) <= n:
            route.append(cur)
            cur = succ.get(cur, 0)
        routes.append(np.asarray(route, dtype=np.int64))
    return routes, info


def milp_routes(
    instance: CVRPInstance,
    *,
    solver: str = "highs",
    time_limit: float | None = 60.0,
    force: bool = False,
) -> list[np.ndarray]:
    """Optimal CVRP routes by a two-index MILP (for ``n <= MILP_CVRP_MAX_N`` = 12 customers).

    Binary arcs ``x[i, j]`` (customer pairs whose demands exceed the capacity left out), in and
    out degree 1 at each customer, between ``ceil(sum q / Q)`` and the fleet size routes, and
    the lifted MTZ load constraints ``u_i - u_j + Q x_ij + (Q - q_i - q_j) x_ji <= Q - q_j``
    (valid for asymmetric distances; MTZ order variables are added when a customer has zero
    demand). Larger instances raise :class:`ConfigError` unless ``force=True``; no solution
    within ``time_limit`` raises :class:`SolveError`.
    """
    routes, info = _milp_cvrp(instance, solver=solver, time_limit=time_limit, force=force)
    if routes is None:
        raise SolveError(f"the CVRP MILP found no solution ({info['termination']})")
    return routes


# ------------------------------------------------------------------------------ entry point


def _plain(fn: Callable[..., Any]) -> Callable[..., tuple[Any, Info]]:
    """Wrap a heuristic returning a decision into one returning ``(decision, {})``."""

    def run(instance: Any, **options: Any) -> tuple[Any, Info]:
        return fn(instance, **options), {}

    run.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    return run


def _insertion(kind: str) -> Callable[..., tuple[Any, Info]]:
    def run(instance: TSPInstance) -> tuple[Any, Info]:
        return insertion_tour(instance, kind), {"kind": kind}

    return run


def _insertion_any(instance: TSPInstance, kind: str = "farthest") -> tuple[Any, Info]:
    return insertion_tour(instance, kind), {"kind": kind}


_TSP_RUNNERS: dict[str, Callable[..., tuple[Any, Info]]] = {
    "lkh": _lkh,
    "ortools": _ortools_tsp,
    "nearest": _plain(nearest_neighbour_tour),
    "insertion": _insertion_any,
    "farthest-insertion": _insertion("farthest"),
    "nearest-insertion": _insertion("nearest"),
    "cheapest-insertion": _insertion("cheapest"),
    "milp": _milp_tsp,
    "exact": _milp_tsp,
}
_RUNNERS: dict[str, dict[str, Callable[..., tuple[Any, Info]]]] = {
    "tsp": _TSP_RUNNERS,
    "atsp": _TSP_RUNNERS,
    "cvrp": {
        "pyvrp": _pyvrp,
        "ortools": _ortools_cvrp,
        "nearest": _plain(nearest_neighbour_routes),
        "savings": _plain(savings_routes),
        "milp": _milp_cvrp,
        "exact": _milp_cvrp,
    },
    "kp": {"exact": _kp_milp, "milp": _kp_milp, "greedy": _plain(kp_greedy)},
}
_DECISION = {"tsp": "tour", "atsp": "tour", "cvrp": "routes", "kp": "items"}


def solve(instance: Any, method: str | None = None, **options: Any) -> Solution:
    """Solve ``instance`` with ``method`` and return a checked :class:`Solution`.

    Args:
        instance: a :class:`TSPInstance` (``"tsp"`` if symmetric, else ``"atsp"``), a
            :class:`CVRPInstance` or a :class:`KPInstance`.
        method: one of ``METHODS[problem]``; None picks ``DEFAULT_METHOD[problem]`` (LKH for
            the TSP, PyVRP for the CVRP, the exact MILP for the KP). ``"bq"`` hands over to
            ``orlearn.problems.routing.bq.solve_bq(instance, **options)``.
        **options: keyword options of the method (``time_limit``, ``seed``, ``runs``,
            ``solver``, ``force``, ``kind``...); unknown ones raise :class:`ConfigError`.

    Returns:
        A :class:`Solution` timed with ``time.perf_counter`` around the whole call; ``info``
        holds the options used and what the method reports (solver status, bound...). A method
        that ends without a decision (e.g. a MILP out of time) gives ``feasible=False``.
    """
    problem = problem_name(instance)
    if method is None:
        method = DEFAULT_METHOD[problem]
    if not isinstance(method, str) or method not in METHODS[problem]:
        raise ConfigError(
            f"unknown method {method!r} for a {problem} instance; valid methods: "
            + ", ".join(METHODS[problem])
        )
    if method == "bq":
        try:
            from orlearn.problems.routing.bq import solve_bq
        except ImportError as exc:
            raise ConfigError(f"method 'bq' is not available: {exc}") from exc
        return solve_bq(instance, **options)
    runner = _RUNNERS[problem][method]
    sig = inspect.signature(runner)
    names = [p for p in list(sig.parameters)[1:]]
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ConfigError(
            f"method {method!r} takes no option(s) {', '.join(unknown)}; its options: "
            + (", ".join(names) if names else "none")
        )
    bound = sig.bind(instance, **options)
    bound.apply_defaults()
    used = {k: v for k, v in bound.arguments.items() if k != next(iter(sig.parameters))}
    start = time.perf_counter()
    decision, info = runner(instance, **options)
    elapsed = time.perf_counter() - start
    info = {"options": used, **info}
    return make_solution(instance, method, **{_DECISION[problem]: decision}, time=elapsed,
                         info=info)


__all__ = [
    "DEFAULT_METHOD",
    "INSERTION_KINDS",
    "LKH_MAX_DISTANCE",
    "METHODS",
    "MILP_CVRP_MAX_N",
    "MILP_TSP_MAX_N",
    "SCALE",
    "insertion_tour",
    "kp_exact",
    "kp_greedy",
    "lkh_tour",
    "milp_routes",
    "milp_tour",
    "nearest_neighbour_routes",
    "nearest_neighbour_tour",
    "ortools_routes",
    "ortools_tour",
    "pyvrp_routes",
    "savings_routes",
    "solve",
]
