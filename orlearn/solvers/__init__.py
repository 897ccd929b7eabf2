"""The shared LP/MILP bridge: Pyomo models, MPS/LP files and persistent highspy LPs.

* :func:`solve` — a Pyomo model with HiGHS or SCIP -> :class:`SolveResult`.
* :func:`solve_file` — an ``.mps(.gz)`` / ``.lp(.gz)`` file with HiGHS or SCIP.
* :class:`PersistentLP` — build once, change right-hand sides / bounds / costs, re-solve warm,
  read duals (:class:`LPResult`).
* :func:`available_solvers` — solver name -> library version (None when not installed).

Solver outcomes (infeasible, unbounded, time limit) are statuses, never exceptions; bad options
raise :class:`~orlearn.errors.ConfigError`, a missing solver package
:class:`~orlearn.errors.SolverUnavailableError`, bad models or files
:class:`~orlearn.errors.InvalidInstanceError`.
"""

from __future__ import annotations

from orlearn.solvers._common import SOLVERS, available_solvers
from orlearn.solvers.files import read_problem, solve_file
from orlearn.solvers.lp import LPResult, PersistentLP
from orlearn.solvers.pyomo import solve
from orlearn.solvers.result import SolutionStatus, SolveError, SolveResult, TerminationCondition

__all__ = [
    "SOLVERS",
    "LPResult",
    "PersistentLP",
    "SolutionStatus",
    "SolveError",
    "SolveResult",
    "TerminationCondition",
    "available_solvers",
    "read_problem",
    "solve",
    "solve_file",
]
