"""PySCIPOpt helpers: models with explicit seeds and limits, reading MPS/LP files, results.

``pyscipopt`` is imported when a function needs it, so that importing :mod:`orlearn.solvers`
works without it; a missing package raises :class:`~orlearn.errors.SolverUnavailableError`.

Seeds (as in learn2branch): ``randomization/randomseedshift``, ``randomization/permutationseed``
and ``randomization/lpseed`` are all set to ``seed``, so two runs with the same seed, parameters
and instance follow the same path, and different seeds give independent runs.

Example::

    model = read_scip("data/milp/knapsack12.mps", seed=1, time_limit=10)
    model.optimize()
    print(scip_result(model))
"""

from __future__ import annotations

import math
import os
import time
from typing import TYPE_CHECKING, Any

from orlearn.errors import InvalidInstanceError
from orlearn.solvers._common import (
    captured_output,
    check_options,
    check_problem_path,
    first_error_line,
    require_package,
    scip_version,
)
from orlearn.solvers.result import SolutionStatus, SolveResult, TerminationCondition

if TYPE_CHECKING:
    import pyscipopt

_T = TerminationCondition

#: SCIP status string -> why SCIP stopped.
SCIP_TERMINATION: dict[str, TerminationCondition] = {
    "optimal": _T.OPTIMAL,
    "infeasible": _T.INFEASIBLE,
    "unbounded": _T.UNBOUNDED,
    "inforunbd": _T.INFEASIBLE_OR_UNBOUNDED,
    "timelimit": _T.TIME_LIMIT,
    "nodelimit": _T.NODE_LIMIT,
    "totalnodelimit": _T.NODE_LIMIT,
    "stallnodelimit": _T.NODE_LIMIT,
    "gaplimit": _T.GAP_LIMIT,
    "sollimit": _T.SOLUTION_LIMIT,
    "bestsollimit": _T.SOLUTION_LIMIT,
    "primallimit": _T.INTERRUPTED,
    "duallimit": _T.INTERRUPTED,
    "restartlimit": _T.INTERRUPTED,
    "userinterrupt": _T.INTERRUPTED,
    "terminate": _T.INTERRUPTED,
    "memlimit": _T.ERROR,
    "unknown": _T.UNKNOWN,
}


def scip_seed_params(seed: int = 0) -> dict[str, int]:
    """The SCIP parameters that fix its random choices, all set to ``seed`` (>= 0)."""
    check_options(seed=seed)
    return {
        "randomization/randomseedshift": int(seed),
        "randomization/permutationseed": int(seed),
        "randomization/lpseed": int(seed),
    }


def scip_option_params(
    *,
    time_limit: float | None = None,
    rel_gap: float | None = None,
    threads: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """SCIP parameters for orlearn's common options (time in seconds, gap a fraction).

    ``rel_gap`` maps to ``limits/gap`` (SCIP divides by the smaller of |primal| and |dual|);
    ``threads`` to ``lp/threads`` and ``parallel/maxnthreads`` (the latter only matters for
    concurrent solves; SCIP's branch and bound itself is single-threaded).
    """
    time_limit = check_options(time_limit=time_limit, rel_gap=rel_gap, threads=threads, seed=seed)
    params: dict[str, Any] = dict(scip_seed_params(seed))
    if time_limit is not None:
        params["limits/time"] = float(time_limit)
    if rel_gap is not None:
        params["limits/gap"] = float(rel_gap)
    if threads is not None:
        params["lp/threads"] = int(threads)
        params["parallel/maxnthreads"] = int(threads)
    return params


def make_scip_model(
    seed: int = 0,
    time_limit: float | None = None,
    quiet: bool = True,
    *,
    rel_gap: float | None = None,
    threads: int | None = None,
    name: str = "orlearn",
) -> pyscipopt.Model:
    """An empty ``pyscipopt.Model`` with seeds, limits and output set.

    Args:
        seed: random seed (>= 0) for randomseedshift, permutationseed and lpseed.
        time_limit: limit in seconds on ``optimize()``, or None.
        quiet: hide SCIP's log (``hideOutput``).
        rel_gap: relative gap (fraction) at which SCIP stops, or None for SCIP's default (0).
        threads: LP threads, or None for SCIP's default.
        name: problem name.
    """
    params = scip_option_params(time_limit=time_limit, rel_gap=rel_gap, threads=threads, seed=seed)
    pyscipopt = require_package("scip")
    model = pyscipopt.Model(name)
    model.hideOutput(quiet)
    apply_params(model, params)
    return model


def apply_params(model: pyscipopt.Model, params: dict[str, Any]) -> None:
    """Set SCIP parameters on ``model``, skipping any this SCIP build does not know."""
    for key, value in params.items():
        try:
            model.setParam(key, value)
        except KeyError:
            continue


def read_scip(
    path: str | os.PathLike[str],
    seed: int = 0,
    time_limit: float | None = None,
    quiet: bool = True,
    *,
    rel_gap: float | None = None,
    threads: int | None = None,
) -> pyscipopt.Model:
    """Read an ``.mps``, ``.mps.gz``, ``.lp`` or ``.lp.gz`` file into a configured SCIP model.

    SCIP reads gzip-compressed files itself. Parse errors, which SCIP prints to the terminal, are
    captured (unless ``quiet=False``) and raised as a one-line error.

    Raises:
        InvalidInstanceError: (field ``"path"``) missing, unsupported or malformed file.
        SolverUnavailableError: pyscipopt is not installed.
        ConfigError: an invalid option.
    """
    name = check_problem_path(path)
    model = make_scip_model(seed, time_limit, quiet, rel_gap=rel_gap, threads=threads)
    if os.path.getsize(name) == 0:
        raise InvalidInstanceError("path", f"file is empty: {name}")
    with captured_output(enabled=quiet) as out:
        try:
            model.readProblem(name)
            error = None
        except Exception as exc:  # pyscipopt raises OSError for read errors
            error = exc
    if error is not None:
        detail = first_error_line(out[0] if out else "") or str(error)
        raise InvalidInstanceError(
            "path",
            f"SCIP cannot read {os.path.basename(name)}: {detail}",
            fix="check that the file is valid MPS or CPLEX LP",
        ) from None
    if model.getNVars() == 0:
        raise InvalidInstanceError(
            "path",
            f"{os.path.basename(name)} defines no variables",
            fix="check that the file is valid MPS or CPLEX LP",
        )
    return model


def _finite_or_inf(value: float, infinity: float) -> float:
    if value >= infinity:
        return math.inf
    if value <= -infinity:
        return -math.inf
    return float(value)


def scip_result(
    model: pyscipopt.Model,
    wall_time: float | None = None,
    *,
    with_values: bool = True,
) -> SolveResult:
    """Convert a ``pyscipopt.Model`` after ``optimize()`` into a :class:`SolveResult`.

    Args:
        model: the solved model.
        wall_time: seconds to report; default SCIP's own solving time.
        with_values: fill ``values`` (variable name -> value of the best solution).

    ``extra`` holds ``nodes``, ``lp_iterations``, ``solutions``, ``scip_status``,
    ``solving_time`` (seconds), ``num_vars``, ``num_conss`` and ``pyscipopt_version``.
    """
    pyscipopt = require_package("scip")
    raw = str(model.getStatus())
    termination = SCIP_TERMINATION.get(raw, TerminationCondition.UNKNOWN)
    n_sols = int(model.getNSols())
    infinity = float(model.infinity())
    sense = "max" if model.getObjectiveSense() == "maximize" else "min"

    if termination == TerminationCondition.OPTIMAL:
        status = SolutionStatus.OPTIMAL
    elif termination == TerminationCondition.INFEASIBLE:
        status = SolutionStatus.INFEASIBLE
    elif termination in (
        TerminationCondition.UNBOUNDED,
        TerminationCondition.INFEASIBLE_OR_UNBOUNDED,
    ):
        status = SolutionStatus.NO_SOLUTION
    else:
        status = SolutionStatus.FEASIBLE if n_sols > 0 else SolutionStatus.NO_SOLUTION
    if status == SolutionStatus.OPTIMAL and n_sols == 0:  # cannot happen, but be safe
        status = SolutionStatus.NO_SOLUTION

    objective: float | None = None
    bound: float | None = None
    values: dict[str, float] = {}
    if status in (SolutionStatus.OPTIMAL, SolutionStatus.FEASIBLE):
        objective = _finite_or_inf(float(model.getObjVal()), infinity)
        if with_values:
            best = model.getBestSol()
            values = {var.name: float(model.getSolVal(best, var)) for var in model.getVars()}
    if termination == TerminationCondition.UNBOUNDED:
        bound = math.inf if sense == "max" else -math.inf
    elif termination not in (
        TerminationCondition.INFEASIBLE,
        TerminationCondition.INFEASIBLE_OR_UNBOUNDED,
        TerminationCondition.ERROR,
    ):
        try:
            bound = _finite_or_inf(float(model.getDualbound()), infinity)
        except Exception:
            bound = None
    if termination == TerminationCondition.OPTIMAL and objective is not None:
        # SCIP's bound equals the objective up to its tolerances; report the closed gap exactly.
        if bound is None or abs(bound - objective) <= 1e-9 * max(1.0, abs(objective)):
            bound = objective

    extra: dict[str, Any] = {
        "nodes": int(model.getNNodes()),
        "lp_iterations": int(model.getNLPIterations()),
        "solutions": n_sols,
        "scip_status": raw,
        "solving_time": float(model.getSolvingTime()),
        "num_vars": int(model.getNVars()),
        "num_conss": int(model.getNConss()),
        "pyscipopt_version": getattr(pyscipopt, "__version__", ""),
    }
    return SolveResult(
        termination=termination,
        status=status,
        objective=objective,
        bound=bound,
        wall_time=float(model.getSolvingTime()) if wall_time is None else float(wall_time),
        solver="scip",
        solver_version=scip_version() or "",
        values=values,
        sense=sense,
        message=raw,
        extra=extra,
    )


def solve_scip(
    model: pyscipopt.Model, *, tee: bool = False, with_values: bool = True
) -> SolveResult:
    """``model.optimize()`` with SCIP's output captured unless ``tee``; return the result."""
    start = time.perf_counter()
    if tee:
        model.hideOutput(False)
    with captured_output(enabled=not tee):
        model.optimize()
    wall = time.perf_counter() - start
    return scip_result(model, wall, with_values=with_values)


#: SCIP settings of Gasse et al. (2019) for branching experiments: cutting planes at the root
#: only (``separating/maxrounds`` 0 away from the root) and no restarts; presolve and heuristics
#: stay at their defaults.
BRANCHING_EXPERIMENT_PARAMS: dict[str, Any] = {
    "separating/maxrounds": 0,
    "presolving/maxrestarts": 0,
}

#: SCIP's own variable selection rules that :func:`use_builtin_branching` can put first.
BUILTIN_BRANCHING = ("relpscost", "pscost", "fullstrong", "mostinf", "leastinf", "random")


def use_builtin_branching(model: pyscipopt.Model, rule: str, priority: int = 999_999) -> None:
    """Make SCIP's branching rule ``rule`` the one SCIP calls first (default ``relpscost``)."""
    if rule not in BUILTIN_BRANCHING:
        raise InvalidInstanceError("rule", f"unknown SCIP branching rule {rule!r}",
                                   fix=f"use one of {', '.join(BUILTIN_BRANCHING)}")
    if rule != "relpscost":
        model.setParam(f"branching/{rule}/priority", int(priority))


def strong_branching_scores(
    model: pyscipopt.Model, candidates: list[Any], itlim: int = 2**31 - 1
) -> tuple[list[float], int]:
    """Full strong-branching scores of LP candidates, leaving SCIP's state unchanged.

    Call inside ``branchexeclp``. Each candidate is branched down and up on the LP
    (``getVarStrongbranch(..., idempotent=True)``: no bound changes, no statistics updates, so
    the tree is what the calling rule makes of it); the gains over the node LP value are
    combined by SCIP's ``getBranchScoreMultiple`` (the product rule). A child whose LP is
    infeasible gets the gain of the largest finite gain plus one at this node, so a candidate
    that prunes a child ranks above every candidate that prunes none.

    Returns:
        ``(scores, n_lp_iterations)``.
    """
    lp_obj = float(model.getLPObjVal())
    iterations = int(model.getNStrongbranchLPIterations())
    gains: list[tuple[float | None, float | None]] = []
    model.startStrongbranch()
    try:
        for var in candidates:
            down, up, _dvalid, _uvalid, downinf, upinf, _dc, _uc, lperror = (
                model.getVarStrongbranch(var, itlim, idempotent=True)
            )
            if lperror:
                gains.append((0.0, 0.0))
                continue
            gain_down = None if downinf else max(float(down) - lp_obj, 0.0)
            gain_up = None if upinf else max(float(up) - lp_obj, 0.0)
            gains.append((gain_down, gain_up))
    finally:
        model.endStrongbranch()
    finite = [g for pair in gains for g in pair if g is not None]
    big = (max(finite) if finite else 0.0) + 1.0
    scores = [
        float(model.getBranchScoreMultiple(var, [big if d is None else d, big if u is None else u]))
        for var, (d, u) in zip(candidates, gains, strict=True)
    ]
    return scores, int(model.getNStrongbranchLPIterations()) - iterations


__all__ = [
    "BRANCHING_EXPERIMENT_PARAMS",
    "BUILTIN_BRANCHING",
    "SCIP_TERMINATION",
    "apply_params",
    "make_scip_model",
    "read_scip",
    "scip_option_params",
    "scip_result",
    "scip_seed_params",
    "solve_scip",
    "strong_branching_scores",
    "use_builtin_branching",
]
