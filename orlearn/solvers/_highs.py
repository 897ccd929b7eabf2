"""highspy helpers shared by :mod:`orlearn.solvers.files` and :mod:`orlearn.solvers.lp`.

Private module. HiGHS quirks handled here:

* For an LP, ``time_limit`` is compared with the run clock of the ``Highs`` object, which
  accumulates over every ``run()`` of that object; for a MIP, with the MIP solver's own clock,
  which starts at 0 in every ``run()`` (HiGHS 1.15-1.16, measured). :func:`set_time_limit`
  re-bases the limit of an LP before each run and leaves a MIP's as given: re-basing a MIP's
  limit made each re-solve of one object allowed the sum of all its earlier run times plus the
  limit (the rolling-horizon MILPs' 10 s limits grew to minutes).
* HiGHS runs its parallel parts on one process-wide scheduler, created by the first ``run()``
  with that run's ``threads`` option; a later run asking for a different explicit thread count
  fails (``kError``, model status ``kNotset``). :func:`run_highs` then resets the scheduler and
  runs again. ``threads=None`` (HiGHS's 0, "automatic") always joins the existing scheduler.
* HiGHS stops a MIP at ``mip_rel_gap`` (default 1e-4) and labels that ``kOptimal``. When the
  caller set ``rel_gap`` and a positive gap remains, we report ``GAP_LIMIT`` (as SCIP does).
"""

from __future__ import annotations

import math
from typing import Any

from orlearn.solvers._common import GAP_EPS, require_package
from orlearn.solvers.result import SolutionStatus, SolveResult, TerminationCondition

_FEASIBLE_SOLUTION = 2  # HiGHS kSolutionStatusFeasible


def make_highs(
    *,
    time_limit: float | None = None,
    rel_gap: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    tee: bool = False,
) -> Any:
    """A fresh ``highspy.Highs`` with orlearn's options set (time in seconds, gap a fraction)."""
    highspy = require_package("highs")
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(tee))
    h.setOptionValue("log_to_console", bool(tee))
    h.setOptionValue("random_seed", int(seed))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    if rel_gap is not None:
        h.setOptionValue("mip_rel_gap", float(rel_gap))
    set_time_limit(h, time_limit)
    return h


def set_time_limit(h: Any, time_limit: float | None, mip: bool | None = None) -> None:
    """Limit the next ``h.run()`` to ``time_limit`` seconds (None: no limit).

    An LP's limit is offset by the object's run time already spent (HiGHS compares it with the
    cumulative clock); a MIP's is not (its solver's clock restarts every run). ``mip``: whether
    the model held by ``h`` has integer columns (None: look it up).
    """
    if time_limit is None:
        h.setOptionValue("time_limit", math.inf)
        return
    if mip is None:
        mip = is_mip(h)
    h.setOptionValue("time_limit", float(time_limit) + (0.0 if mip else float(h.getRunTime())))


def _option(h: Any, name: str) -> Any:
    value = h.getOptionValue(name)
    return value[-1] if isinstance(value, tuple) else value  # (status, value) in highspy 1.15


def run_highs(h: Any) -> Any:
    """``h.run()``, retried once on a fresh global scheduler if the thread count clashed."""
    highspy = require_package("highs")
    status = h.run()
    if (
        status == highspy.HighsStatus.kError
        and h.getModelStatus() == highspy.HighsModelStatus.kNotset
        and int(_option(h, "threads")) > 0
    ):
        highspy.Highs.resetGlobalScheduler(True)
        status = h.run()
    return status


def is_mip(h: Any) -> bool:
    """True when the model held by ``h`` has an integer or semi-continuous column."""
    highspy = require_package("highs")
    integrality = h.getLp().integrality_
    return any(t != highspy.HighsVarType.kContinuous for t in integrality)


def highs_outcome(
    h: Any, *, mip: bool, rel_gap_given: bool
) -> tuple[TerminationCondition, SolutionStatus, str]:
    """Map the HiGHS model status after ``run()`` to (termination, status, message)."""
    highspy = require_package("highs")
    ms = h.getModelStatus()
    info = h.getInfo()
    message = h.modelStatusToString(ms)
    has_primal = info.primal_solution_status == _FEASIBLE_SOLUTION
    S = highspy.HighsModelStatus
    T = TerminationCondition
    if ms in (S.kOptimal, S.kModelEmpty):
        if mip and rel_gap_given and info.mip_gap > GAP_EPS:
            return T.GAP_LIMIT, SolutionStatus.FEASIBLE, message
        return T.OPTIMAL, SolutionStatus.OPTIMAL, message
    if ms == S.kInfeasible:
        return T.INFEASIBLE, SolutionStatus.INFEASIBLE, message
    if ms == S.kUnbounded:
        return T.UNBOUNDED, SolutionStatus.NO_SOLUTION, message
    if ms == S.kUnboundedOrInfeasible:
        return T.INFEASIBLE_OR_UNBOUNDED, SolutionStatus.NO_SOLUTION, message
    limits = {
        S.kTimeLimit: T.TIME_LIMIT,
        S.kIterationLimit: T.ITERATION_LIMIT,
        S.kSolutionLimit: T.SOLUTION_LIMIT,
        S.kInterrupt: T.INTERRUPTED,
        S.kObjectiveBound: T.INTERRUPTED,
        S.kObjectiveTarget: T.INTERRUPTED,
    }
    if hasattr(S, "kHighsInterrupt"):
        limits[S.kHighsInterrupt] = T.INTERRUPTED
    if ms in limits:
        status = SolutionStatus.FEASIBLE if has_primal else SolutionStatus.NO_SOLUTION
        return limits[ms], status, message
    if ms == S.kUnknown:
        status = SolutionStatus.FEASIBLE if has_primal else SolutionStatus.NO_SOLUTION
        return T.UNKNOWN, status, message
    return T.ERROR, SolutionStatus.NO_SOLUTION, message


def highs_objective_and_bound(
    h: Any, termination: TerminationCondition, status: SolutionStatus, *, mip: bool
) -> tuple[float | None, float | None]:
    """Incumbent objective and dual bound (model sense and units) after ``run()``."""
    info = h.getInfo()
    has_solution = status in (SolutionStatus.OPTIMAL, SolutionStatus.FEASIBLE)
    objective = float(info.objective_function_value) if has_solution else None
    if termination in (
        TerminationCondition.INFEASIBLE,
        TerminationCondition.INFEASIBLE_OR_UNBOUNDED,
        TerminationCondition.ERROR,
    ):
        return objective, None
    if termination == TerminationCondition.UNBOUNDED:
        return None, _unbounded_bound(h)
    if mip:
        bound = float(info.mip_dual_bound)
        return objective, None if math.isnan(bound) else bound
    if termination == TerminationCondition.OPTIMAL:
        return objective, objective
    return objective, None


def _unbounded_bound(h: Any) -> float:
    highspy = require_package("highs")
    sense = h.getObjectiveSense()
    if isinstance(sense, tuple):  # (status, sense) in some highspy versions
        sense = sense[-1]
    return math.inf if sense == highspy.ObjSense.kMaximize else -math.inf


def highs_sense(h: Any) -> str:
    """``"min"`` or ``"max"`` for the model held by ``h``."""
    return "max" if _unbounded_bound(h) > 0 else "min"


def highs_result(
    h: Any,
    *,
    wall_time: float,
    rel_gap_given: bool = False,
    with_values: bool = True,
) -> SolveResult:
    """Convert a ``highspy.Highs`` after ``run()`` into a :class:`SolveResult`.

    ``values`` are keyed by column name (``c<j>`` for unnamed columns); ``extra`` holds
    ``simplex_iterations``, ``ipm_iterations``, ``nodes`` (MIP only), ``mip_gap`` (MIP only),
    ``num_cols`` and ``num_rows``.
    """
    from orlearn.solvers._common import highs_version

    mip = is_mip(h)
    termination, status, message = highs_outcome(h, mip=mip, rel_gap_given=rel_gap_given)
    objective, bound = highs_objective_and_bound(h, termination, status, mip=mip)
    info = h.getInfo()
    values: dict[str, float] = {}
    if with_values and status in (SolutionStatus.OPTIMAL, SolutionStatus.FEASIBLE):
        lp = h.getLp()
        names = list(lp.col_names_)
        col_value = h.getSolution().col_value
        if len(names) != len(col_value):
            names = [f"c{j}" for j in range(len(col_value))]
        values = {name: float(v) for name, v in zip(names, col_value, strict=True)}
    extra: dict[str, Any] = {
        "simplex_iterations": int(info.simplex_iteration_count),
        "ipm_iterations": max(int(info.ipm_iteration_count), 0),
        "num_cols": int(h.getNumCol()),
        "num_rows": int(h.getNumRow()),
        "is_mip": mip,
    }
    if mip:
        extra["nodes"] = int(info.mip_node_count)
        extra["mip_gap"] = float(info.mip_gap)
    return SolveResult(
        termination=termination,
        status=status,
        objective=objective,
        bound=bound,
        wall_time=wall_time,
        solver="highs",
        solver_version=highs_version() or "",
        values=values,
        sense=highs_sense(h),
        message=message,
        extra=extra,
    )
