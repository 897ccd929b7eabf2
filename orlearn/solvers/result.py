"""Solver-independent result of an LP/MILP solve.

Modeled after ``pyomo.contrib.solver``: *why the solver stopped* (:class:`TerminationCondition`)
is kept apart from *what solution it holds* (:class:`SolutionStatus`). A time-limited MILP
solve, for instance, has ``termination=TIME_LIMIT`` and ``status=FEASIBLE`` when an incumbent
was found. Infeasibility is a status, not an exception; call :meth:`SolveResult.raise_for_status`
to turn a missing solution into an error.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

from orlearn.errors import OrlearnError


class TerminationCondition(enum.Enum):
    """Why the solver stopped."""

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"
    NODE_LIMIT = "node_limit"
    SOLUTION_LIMIT = "solution_limit"
    GAP_LIMIT = "gap_limit"  # stopped on rel_gap, incumbent within the requested gap
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    INTERRUPTED = "interrupted"
    ERROR = "error"
    UNKNOWN = "unknown"


class SolutionStatus(enum.Enum):
    """What kind of solution the result holds."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"  # the model is proven infeasible: no solution exists
    NO_SOLUTION = "no_solution"  # no solution is known (limit hit, unbounded, error)


class SolveError(OrlearnError):
    """Raised by :meth:`SolveResult.raise_for_status` when no usable solution is available."""


@dataclass
class SolveResult:
    """The outcome of one solve.

    Attributes:
        termination: why the solver stopped.
        status: what kind of solution is held.
        objective: incumbent objective value in the model's own sense and units, or None.
        bound: best proven dual bound (lower bound when minimizing), or None.
        wall_time: seconds spent in the solver call (model hand-over included).
        solver: solver name (``"highs"`` or ``"scip"``).
        solver_version: version string of the solver library.
        values: variable name -> value of the incumbent (empty when there is none).
        sense: ``"min"`` or ``"max"``.
        message: free text from the solver, if any.
        extra: solver-specific figures (node count, iterations, ...).
    """

    termination: TerminationCondition
    status: SolutionStatus
    objective: float | None = None
    bound: float | None = None
    wall_time: float = 0.0
    solver: str = ""
    solver_version: str = ""
    values: dict[str, float] = field(default_factory=dict)
    sense: str = "min"
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        """True when an incumbent (optimal or feasible) is available."""
        return self.status in (SolutionStatus.OPTIMAL, SolutionStatus.FEASIBLE)

    @property
    def gap(self) -> float | None:
        """Relative gap |objective - bound| / max(|objective|, 1e-10); None if either is unknown.

        Follows the convention of HiGHS and Gurobi (gap relative to the incumbent); 0 when both are
        equal, ``inf`` when the bound is infinite.
        """
        if self.objective is None or self.bound is None:
            return None
        if not (math.isfinite(self.objective) and math.isfinite(self.bound)):
            return math.inf
        diff = abs(self.objective - self.bound)
        if diff <= 1e-12:
            return 0.0
        return diff / max(abs(self.objective), 1e-10)

    def raise_for_status(self) -> SolveResult:
        """Return ``self`` if a solution is held, else raise :class:`SolveError`."""
        if not self.has_solution:
            raise SolveError(
                f"{self.solver} found no solution: termination={self.termination.value}"
                + (f" ({self.message})" if self.message else "")
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (without the variable values)."""
        return {
            "termination": self.termination.value,
            "status": self.status.value,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "wall_time": self.wall_time,
            "solver": self.solver,
            "solver_version": self.solver_version,
            "sense": self.sense,
            "message": self.message,
            "extra": self.extra,
        }

    def __str__(self) -> str:
        obj = "-" if self.objective is None else f"{self.objective:.10g}"
        bnd = "-" if self.bound is None else f"{self.bound:.10g}"
        gap = "-" if self.gap is None else f"{100 * self.gap:.4g}%"
        return (
            f"{self.solver} {self.solver_version}: termination={self.termination.value} "
            f"status={self.status.value} objective={obj} bound={bnd} gap={gap} "
            f"time={self.wall_time:.3f}s"
        )
