"""Read and solve MPS / LP files (``.mps``, ``.mps.gz``, ``.lp``, ``.lp.gz``) with HiGHS or SCIP.

Both HiGHS (via highspy) and SCIP (via pyscipopt) read gzip-compressed files natively in the
versions orlearn supports; if a HiGHS build cannot, the file is decompressed to a temporary file
and read again. Solver output (including the parse errors both solvers print straight to the
terminal) is captured unless ``tee=True``; a missing, unsupported or malformed file raises
:class:`~orlearn.errors.InvalidInstanceError` with ``field="path"`` and a one-line message.

Example::

    result = solve_file("data/milp/knapsack12.mps", solver="scip", time_limit=10)
    print(result.objective, result.extra["nodes"])
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import Iterator
from typing import Any

from orlearn.errors import InvalidInstanceError
from orlearn.solvers._common import (
    PROBLEM_SUFFIXES,
    captured_output,
    check_options,
    check_problem_path,
    check_solver_name,
    first_error_line,
    problem_suffix,
    require_package,
)
from orlearn.solvers._highs import highs_result, make_highs, run_highs, set_time_limit
from orlearn.solvers.result import SolveResult
from orlearn.solvers.scip import read_scip, solve_scip


@contextlib.contextmanager
def decompressed(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a path to the uncompressed content of ``path`` (a temp file for ``*.gz``).

    Raises:
        InvalidInstanceError: the ``.gz`` file is not valid gzip data.
    """
    name = os.fspath(path)
    suffix = problem_suffix(name) or ""
    if not suffix.endswith(".gz"):
        yield name
        return
    with tempfile.TemporaryDirectory(prefix="orlearn-") as tmp:
        target = os.path.join(tmp, "problem" + suffix[: -len(".gz")])
        try:
            with gzip.open(name, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidInstanceError(
                "path",
                f"cannot decompress {os.path.basename(name)}: {exc}",
                fix="check that the file is gzip-compressed",
            ) from None
        yield target


def _highs_read(h: Any, name: str, quiet: bool) -> tuple[bool, str]:
    """``h.readModel(name)``; return (ok, captured error text)."""
    highspy = require_package("highs")
    with captured_output(enabled=quiet) as out:
        if quiet:
            h.setOptionValue("output_flag", True)  # so that the parse error can be reported
            h.setOptionValue("log_to_console", True)
        try:
            status = h.readModel(name)
        finally:
            if quiet:
                h.setOptionValue("output_flag", False)
                h.setOptionValue("log_to_console", False)
    return status != highspy.HighsStatus.kError, out[0] if out else ""


def read_highs(
    path: str | os.PathLike[str],
    *,
    time_limit: float | None = None,
    rel_gap: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    tee: bool = False,
) -> Any:
    """Read a problem file into a configured ``highspy.Highs`` (not yet solved).

    Args:
        path: ``.mps``, ``.mps.gz``, ``.lp`` or ``.lp.gz`` file.
        time_limit: seconds for the next ``run()``, or None.
        rel_gap: relative MIP gap (fraction) at which to stop, or None (HiGHS default 1e-4).
        threads: HiGHS threads, or None for its default.
        seed: HiGHS ``random_seed``.
        tee: show HiGHS's log.

    Raises:
        InvalidInstanceError: (field ``"path"``) missing, unsupported or malformed file.
        SolverUnavailableError: highspy is not installed.
    """
    require_package("highs")
    time_limit = check_options(time_limit=time_limit, rel_gap=rel_gap, threads=threads, seed=seed)
    name = check_problem_path(path)
    if os.path.getsize(name) == 0:
        raise InvalidInstanceError("path", f"file is empty: {name}")
    h = make_highs(time_limit=time_limit, rel_gap=rel_gap, threads=threads, seed=seed, tee=tee)
    ok, log = _highs_read(h, name, quiet=not tee)
    if not ok and name.lower().endswith(".gz"):
        with decompressed(name) as plain:
            ok, log = _highs_read(h, plain, quiet=not tee)
    if not ok:
        detail = first_error_line(log) or "parse error"
        raise InvalidInstanceError(
            "path",
            f"HiGHS cannot read {os.path.basename(name)}: {detail}",
            fix="check that the file is valid MPS or CPLEX LP",
        )
    if h.getNumCol() == 0:
        raise InvalidInstanceError(
            "path",
            f"{os.path.basename(name)} defines no variables",
            fix="check that the file is valid MPS or CPLEX LP",
        )
    set_time_limit(h, time_limit)
    return h


def read_problem(
    path: str | os.PathLike[str],
    solver: str = "highs",
    *,
    time_limit: float | None = None,
    rel_gap: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    tee: bool = False,
) -> Any:
    """Read a problem file into a configured solver object: ``highspy.Highs`` or
    ``pyscipopt.Model`` (see :func:`read_highs` and :func:`orlearn.solvers.scip.read_scip`)."""
    solver = check_solver_name(solver)
    require_package(solver)
    if solver == "highs":
        return read_highs(
            path, time_limit=time_limit, rel_gap=rel_gap, threads=threads, seed=seed, tee=tee
        )
    return read_scip(path, seed, time_limit, not tee, rel_gap=rel_gap, threads=threads)


def solve_file(
    path: str | os.PathLike[str],
    solver: str = "highs",
    time_limit: float | None = None,
    rel_gap: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    tee: bool = False,
    *,
    with_values: bool = True,
) -> SolveResult:
    """Solve the LP/MILP in an MPS or LP file.

    Args:
        path: ``.mps``, ``.mps.gz``, ``.lp`` or ``.lp.gz`` file.
        solver: ``"highs"`` or ``"scip"``.
        time_limit: wall-clock limit on the solve in seconds (reading excluded), or None.
        rel_gap: relative MIP gap (fraction, 0.01 = 1 %) at which to stop, or None for the
            solver's default (HiGHS 1e-4, SCIP 0).
        threads: solver threads (>= 1), or None for the default.
        seed: random seed (HiGHS ``random_seed``; SCIP randomseedshift/permutationseed/lpseed).
        tee: print the solver's log.
        with_values: fill ``values`` (column name -> value).

    Returns:
        A :class:`SolveResult`; ``wall_time`` covers reading and solving (seconds), ``extra``
        holds ``read_time`` and node / iteration counts (``nodes``, ``simplex_iterations`` for
        HiGHS, ``lp_iterations`` for SCIP).

    Raises:
        ConfigError: unknown solver or invalid option.
        SolverUnavailableError: the solver's package is not installed.
        InvalidInstanceError: (field ``"path"``) missing, unsupported or malformed file.
    """
    solver = check_solver_name(solver)
    require_package(solver)
    check_options(time_limit=time_limit, rel_gap=rel_gap, threads=threads, seed=seed)
    start = time.perf_counter()
    if solver == "highs":
        h = read_highs(
            path, time_limit=time_limit, rel_gap=rel_gap, threads=threads, seed=seed, tee=tee
        )
        read_time = time.perf_counter() - start
        with captured_output(enabled=not tee):
            run_highs(h)
        result = highs_result(
            h,
            wall_time=time.perf_counter() - start,
            rel_gap_given=rel_gap is not None,
            with_values=with_values,
        )
    else:
        model = read_scip(path, seed, time_limit, not tee, rel_gap=rel_gap, threads=threads)
        read_time = time.perf_counter() - start
        result = solve_scip(model, tee=tee, with_values=with_values)
        result.wall_time = time.perf_counter() - start
    result.extra["read_time"] = read_time
    result.extra["path"] = os.fspath(path)
    return result


__all__ = ["PROBLEM_SUFFIXES", "decompressed", "read_highs", "read_problem", "solve_file"]
