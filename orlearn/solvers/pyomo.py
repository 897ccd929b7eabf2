"""Solve a Pyomo model with HiGHS or SCIP and get a solver-independent :class:`SolveResult`.

Uses Pyomo's new solver interfaces (``pyomo.contrib.solver``, Pyomo >= 6.9): ``highs`` (on
highspy) and ``scip_direct`` (on pyscipopt). They report a termination condition apart from a
solution status, like orlearn, and can be told not to raise or load anything when there is no
solution. The raw solver status (HiGHS model status, SCIP status string) is read as well, so
that the same solve reports the same termination here, in :func:`orlearn.solvers.solve_file`
and in :class:`orlearn.solvers.PersistentLP` (for instance SCIP's ``gaplimit`` is
``GAP_LIMIT``, which Pyomo folds into "optimal").

Example::

    import pyomo.environ as pyo
    from orlearn.solvers import solve

    m = pyo.ConcreteModel()
    m.x = pyo.Var([1, 2], domain=pyo.Binary)
    m.c = pyo.Constraint(expr=2 * m.x[1] + 3 * m.x[2] <= 4)
    m.o = pyo.Objective(expr=3 * m.x[1] + 4 * m.x[2], sense=pyo.maximize)
    result = solve(m, solver="scip", time_limit=10)
    print(result.objective, result.values["x[2]"])
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from orlearn.errors import InvalidInstanceError
from orlearn.solvers._common import (
    SOLVERS,
    available_solvers,
    check_options,
    check_solver_name,
    highs_version,
    require_package,
    scip_version,
)
from orlearn.solvers._highs import highs_outcome, is_mip
from orlearn.solvers.result import SolutionStatus, SolveResult, TerminationCondition
from orlearn.solvers.scip import SCIP_TERMINATION, scip_seed_params

if TYPE_CHECKING:
    from pyomo.core.base.block import BlockData

#: orlearn solver name -> name in ``pyomo.contrib.solver.common.factory.SolverFactory``.
PYOMO_INTERFACES: dict[str, str] = {"highs": "highs", "scip": "scip_direct"}

_T = TerminationCondition
#: Pyomo (contrib) termination condition name -> orlearn termination.
_PYOMO_TERMINATION: dict[str, TerminationCondition] = {
    "convergenceCriteriaSatisfied": _T.OPTIMAL,
    "emptyModel": _T.OPTIMAL,
    "maxTimeLimit": _T.TIME_LIMIT,
    "iterationLimit": _T.ITERATION_LIMIT,
    "objectiveLimit": _T.INTERRUPTED,
    "interrupted": _T.INTERRUPTED,
    "unbounded": _T.UNBOUNDED,
    "provenInfeasible": _T.INFEASIBLE,
    "locallyInfeasible": _T.INFEASIBLE,
    "infeasibleOrUnbounded": _T.INFEASIBLE_OR_UNBOUNDED,
    "minStepLength": _T.ERROR,
    "error": _T.ERROR,
    "licensingProblems": _T.ERROR,
    "unknown": _T.UNKNOWN,
}
_NO_BOUND = (_T.INFEASIBLE, _T.INFEASIBLE_OR_UNBOUNDED, _T.ERROR)


def _active_objectives(model: Any) -> list[Any]:
    import pyomo.environ as pyo

    return list(model.component_data_objects(pyo.Objective, active=True, descend_into=True))


def _raw_termination(solver: str, opt: Any, *, rel_gap_given: bool) -> TerminationCondition | None:
    """The termination read from the solver object under Pyomo's interface, if reachable."""
    raw = getattr(opt, "_solver_model", None)
    if raw is None:
        return None
    try:
        if solver == "highs":
            termination, _, _ = highs_outcome(raw, mip=is_mip(raw), rel_gap_given=rel_gap_given)
            return termination
        return SCIP_TERMINATION.get(str(raw.getStatus()))
    except Exception:  # a Pyomo version with a different internal layout
        return None


def _raw_extra(solver: str, opt: Any, results: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {"interface": f"pyomo.contrib.solver:{PYOMO_INTERFACES[solver]}"}
    timing = getattr(results, "timing_info", None)
    if timing is not None and getattr(timing, "wall_time", None) is not None:
        extra["pyomo_wall_time"] = float(timing.wall_time)
    raw = getattr(opt, "_solver_model", None)
    try:
        if solver == "highs" and raw is not None:
            info = raw.getInfo()
            extra["simplex_iterations"] = int(info.simplex_iteration_count)
            if is_mip(raw):
                extra["nodes"] = int(info.mip_node_count)
            extra["raw_status"] = raw.modelStatusToString(raw.getModelStatus())
        elif solver == "scip" and raw is not None:
            extra["nodes"] = int(raw.getNNodes())
            extra["lp_iterations"] = int(raw.getNLPIterations())
            extra["raw_status"] = str(raw.getStatus())
    except Exception:
        pass
    return extra


def _pyomo_solve(
    opt: Any,
    model: Any,
    tee: bool,
    time_limit: float | None,
    rel_gap: float | None,
    threads: int | None,
    solver_options: dict[str, Any],
) -> Any:
    return opt.solve(
        model,
        tee=bool(tee),
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        time_limit=time_limit,
        rel_gap=rel_gap,
        threads=threads,
        solver_options=solver_options,
    )


def _highs_thread_clash(opt: Any) -> bool:
    """True if Pyomo's HiGHS run was refused (model status never set): a threads clash."""
    raw = getattr(opt, "_solver_model", None)
    if raw is None:
        return False
    highspy = require_package("highs")
    try:
        return bool(raw.getModelStatus() == highspy.HighsModelStatus.kNotset)
    except Exception:
        return False


def solve(
    model: BlockData,
    solver: str = "highs",
    time_limit: float | None = None,
    rel_gap: float | None = None,
    threads: int | None = None,
    tee: bool = False,
    seed: int = 0,
    load_solutions: bool = True,
) -> SolveResult:
    """Solve a linear (MI)LP Pyomo model.

    Args:
        model: a Pyomo ``ConcreteModel`` (or block) with linear constraints and at most one
            active objective (SCIP also accepts polynomial, i.e. MINLP, expressions).
        solver: ``"highs"`` or ``"scip"`` (see :data:`SOLVERS`).
        time_limit: wall-clock limit on the solver in seconds, > 0, or None for none. Reaching
            it gives ``termination=TIME_LIMIT`` and ``status=FEASIBLE`` if an incumbent exists.
        rel_gap: relative MIP gap (fraction, 0.01 = 1 %) at which to stop, or None for the
            solver's default (HiGHS 1e-4, SCIP 0). A stop with a positive gap left is reported
            as ``GAP_LIMIT`` / ``FEASIBLE``.
        threads: solver threads (>= 1), or None for the solver's default.
        tee: print the solver's log.
        seed: random seed (HiGHS ``random_seed``; SCIP ``randomization/randomseedshift``,
            ``permutationseed`` and ``lpseed``).
        load_solutions: write the incumbent into the model's variables (``var.value``) when
            there is one; the model is left untouched otherwise.

    Returns:
        A :class:`SolveResult`. ``objective`` and ``bound`` are in the model's units and sense,
        ``wall_time`` in seconds (Pyomo's model hand-over included), ``values`` maps variable
        names as Pyomo prints them (``"y"``, ``"x[1]"``, ``"flow[a,b]"``) to values. Infeasible,
        unbounded and limited solves are statuses, never exceptions.

    Raises:
        ConfigError: unknown solver name or invalid option (the message names it).
        SolverUnavailableError: the solver's Python package is missing (message names it).
        InvalidInstanceError: (field ``"model"``) more than one active objective, or a model the
            solver's interface cannot take (nonlinear terms for HiGHS).
    """
    solver = check_solver_name(solver)
    require_package(solver)
    time_limit = check_options(time_limit=time_limit, rel_gap=rel_gap, threads=threads, seed=seed)
    from pyomo.contrib.solver.common.factory import SolverFactory

    objectives = _active_objectives(model)
    if len(objectives) > 1:
        raise InvalidInstanceError(
            "model",
            f"has {len(objectives)} active objectives",
            fix="deactivate all but one",
        )
    import pyomo.environ as pyo

    sense = "max" if objectives and objectives[0].sense == pyo.maximize else "min"
    solver_options: dict[str, Any] = (
        {"random_seed": int(seed)} if solver == "highs" else dict(scip_seed_params(seed))
    )
    opt = SolverFactory(PYOMO_INTERFACES[solver])
    start = time.perf_counter()
    try:
        results = _pyomo_solve(opt, model, tee, time_limit, rel_gap, threads, solver_options)
        if solver == "highs" and threads is not None and _highs_thread_clash(opt):
            # HiGHS's process-wide scheduler was built for another thread count: rebuild it
            require_package("highs").Highs.resetGlobalScheduler(True)
            opt = SolverFactory(PYOMO_INTERFACES[solver])
            results = _pyomo_solve(opt, model, tee, time_limit, rel_gap, threads, solver_options)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise InvalidInstanceError(
            "model",
            f"{solver} could not take the Pyomo model: {type(exc).__name__}: {first}",
            fix="pass a linear or mixed-integer linear model with at most one active objective",
        ) from exc
    wall_time = time.perf_counter() - start

    termination = _raw_termination(solver, opt, rel_gap_given=rel_gap is not None)
    if termination is None:
        name = getattr(results.termination_condition, "name", str(results.termination_condition))
        termination = _PYOMO_TERMINATION.get(name, TerminationCondition.UNKNOWN)
    pyomo_status = getattr(results.solution_status, "name", str(results.solution_status))
    has_solution = pyomo_status in ("optimal", "feasible") and termination not in (
        _T.INFEASIBLE,
        _T.INFEASIBLE_OR_UNBOUNDED,
        _T.UNBOUNDED,
    )
    if termination == _T.INFEASIBLE:
        status = SolutionStatus.INFEASIBLE
    elif has_solution and termination == _T.OPTIMAL:
        status = SolutionStatus.OPTIMAL
    elif has_solution:
        status = SolutionStatus.FEASIBLE
    else:
        status = SolutionStatus.NO_SOLUTION

    objective: float | None = None
    values: dict[str, float] = {}
    if has_solution:
        if results.incumbent_objective is not None:
            objective = float(results.incumbent_objective)
        loader = results.solution_loader
        # Pyomo >= 6.10 names it get_vars; earlier versions get_primals
        get_vars = getattr(loader, "get_vars", None) or loader.get_primals
        primals = get_vars()
        values = {var.name: float(val) for var, val in primals.items() if val is not None}
        if load_solutions:
            loader.load_vars()
    bound: float | None
    if termination in _NO_BOUND:
        bound = None
    elif termination == _T.UNBOUNDED:
        bound = math.inf if sense == "max" else -math.inf
    else:
        raw_bound = results.objective_bound
        bound = None if raw_bound is None else float(raw_bound)
    if termination == _T.OPTIMAL and objective is not None:
        if bound is None or abs(bound - objective) <= 1e-9 * max(1.0, abs(objective)):
            bound = objective

    version = highs_version() if solver == "highs" else scip_version()
    return SolveResult(
        termination=termination,
        status=status,
        objective=objective,
        bound=bound,
        wall_time=wall_time,
        solver=solver,
        solver_version=version or "",
        values=values,
        sense=sense,
        message=str(getattr(results.termination_condition, "name", "")),
        extra=_raw_extra(solver, opt, results),
    )


__all__ = ["PYOMO_INTERFACES", "SOLVERS", "available_solvers", "solve"]
