"""Routing: BQ-NCO policies for the TSP, CVRP and knapsack, with exact and heuristic baselines.

Three lines from Python::

    from orlearn.problems.routing import read_instance, solve
    solution = solve(read_instance("berlin52.tsp"), method="bq", beam=16)
    print(solution.objective, solution.gap, solution.time)

* :mod:`.instances` — TSP/ATSP, CVRP and KP dataclasses, seeded generators, costs, checks.
* :mod:`.io` — TSPLIB ``.tsp/.atsp/.tour``, VRPLIB ``.vrp/.sol``, KP JSON.
* :mod:`.bq` — the BQ-MDP reduced states, the attention policy, greedy / beam / kNN decoding.
* :mod:`.experts` and :mod:`.train` — expert labels (LKH-3, PyVRP, exact MILP) and imitation.
* :mod:`.baselines` — ``solve(instance, method=...)``: LKH-3, PyVRP, OR-Tools, insertion,
  nearest neighbour, savings, MILP through :mod:`orlearn.solvers`, and ``"bq"``.
* :mod:`.bench` — the ``routing-*`` benchmark suites.
"""

from __future__ import annotations

from orlearn.problems.routing.baselines import DEFAULT_METHOD, METHODS, solve
from orlearn.problems.routing.instances import (
    CVRPInstance,
    KPInstance,
    TSPInstance,
    generate_cvrp,
    generate_kp,
    generate_tsp,
)
from orlearn.problems.routing.io import read_instance, write_instance, write_solution
from orlearn.problems.routing.solution import Solution

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "CVRPInstance",
    "KPInstance",
    "Solution",
    "TSPInstance",
    "generate_cvrp",
    "generate_kp",
    "generate_tsp",
    "read_instance",
    "solve",
    "write_instance",
    "write_solution",
]
