"""Shared plumbing of the solver bridge: solver names, option checks, imports, output capture.

Private module: the public names are re-exported by :mod:`orlearn.solvers`.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import math
import numbers
import os
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

from orlearn.errors import ConfigError, SolverUnavailableError

#: Names accepted by ``solver=`` arguments, in order of preference.
SOLVERS: tuple[str, ...] = ("highs", "scip")

#: The pip package that provides each solver.
SOLVER_PACKAGES: dict[str, str] = {"highs": "highspy", "scip": "pyscipopt"}

#: Relative gap below which a MIP is called optimal when the solver stopped on a user ``rel_gap``.
GAP_EPS = 1e-9


def check_solver_name(solver: object) -> str:
    """Return ``solver`` lower-cased if it is a known solver name, else raise ConfigError."""
    if not isinstance(solver, str) or solver.lower() not in SOLVERS:
        raise ConfigError(
            f"solver: unknown solver {solver!r}; valid names are {', '.join(SOLVERS)}"
        )
    return solver.lower()


def require_package(solver: str) -> ModuleType:
    """Import and return the Python package of ``solver``.

    Raises:
        SolverUnavailableError: the package is not installed (the message names it).
    """
    package = SOLVER_PACKAGES[solver]
    try:
        module = importlib.import_module(package)
    except ImportError as exc:
        raise SolverUnavailableError(
            f"solver {solver!r} needs the Python package {package!r}, which cannot be imported "
            f"({exc}); install it with: pip install {package}"
        ) from None
    if solver == "highs":
        _silence_highs_banner(module)
    return module


_HIGHS_BANNER_DONE = False


def _silence_highs_banner(highspy: ModuleType) -> None:
    """Swallow the copyright banner HiGHS (>= 1.16) writes to stdout at the first ``Highs()``
    of a process, whatever ``output_flag`` says; it would corrupt ``--json`` output."""
    global _HIGHS_BANNER_DONE
    if _HIGHS_BANNER_DONE:
        return
    _HIGHS_BANNER_DONE = True
    with captured_output():
        highspy.Highs()


def check_options(
    *,
    time_limit: float | None = None,
    rel_gap: float | None = None,
    threads: int | None = None,
    seed: int | None = 0,
) -> float | None:
    """Validate the common solve options; return ``time_limit`` (``inf`` becomes None).

    Args:
        time_limit: wall-clock limit in seconds, > 0, or None for no limit.
        rel_gap: relative MIP gap at which to stop (a fraction, 0.01 = 1 %), >= 0, or None.
        threads: number of threads, >= 1, or None for the solver's default.
        seed: random seed, an integer >= 0.

    Raises:
        ConfigError: naming the first invalid argument.
    """
    if time_limit is not None:
        if (
            isinstance(time_limit, bool)
            or not isinstance(time_limit, numbers.Real)
            or math.isnan(time_limit)
            or time_limit <= 0
        ):
            raise ConfigError(
                f"time_limit: must be a positive number of seconds or None, got {time_limit!r}"
            )
        if math.isinf(time_limit):
            time_limit = None
        else:
            time_limit = float(time_limit)
    if rel_gap is not None and (
        isinstance(rel_gap, bool)
        or not isinstance(rel_gap, numbers.Real)
        or math.isnan(rel_gap)
        or rel_gap < 0
    ):
        raise ConfigError(
            f"rel_gap: must be a non-negative fraction (0.01 = 1 %) or None, got {rel_gap!r}"
        )
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1
    ):
        raise ConfigError(f"threads: must be an integer >= 1 or None, got {threads!r}")
    if seed is not None and (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or seed < 0
        or seed > 2**31 - 1
    ):
        raise ConfigError(f"seed: must be an integer in [0, 2**31 - 1], got {seed!r}")
    return time_limit


def highs_version() -> str | None:
    """Version of the HiGHS library behind highspy (``"1.15.1"``), or None if not importable."""
    try:
        highspy = importlib.import_module("highspy")
    except ImportError:
        return None
    try:
        return (
            f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}."
            f"{highspy.HIGHS_VERSION_PATCH}"
        )
    except AttributeError:  # older highspy
        return str(highspy.Highs().version())


def scip_version() -> str | None:
    """Version of the SCIP library behind pyscipopt (``"10.0.0"``), or None if not importable."""
    try:
        pyscipopt = importlib.import_module("pyscipopt")
    except ImportError:
        return None
    model = pyscipopt.Model()
    try:
        return f"{model.getMajorVersion()}.{model.getMinorVersion()}.{model.getTechVersion()}"
    except AttributeError:  # older pyscipopt
        return str(model.version())


def available_solvers() -> dict[str, str | None]:
    """Map each solver name in :data:`SOLVERS` to its library version, or None if missing."""
    return {"highs": highs_version(), "scip": scip_version()}


def _flush_c_stdio() -> None:
    """Flush the C library's stdio buffers (SCIP and HiGHS print through them)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def captured_output(enabled: bool = True) -> Iterator[list[str]]:
    """Redirect the process-level stdout and stderr (file descriptors 1 and 2) to a buffer.

    Solvers print parse errors straight to the file descriptors, bypassing ``sys.stdout``.
    Yields a list that holds, after the block, the captured text as its only element. With
    ``enabled=False`` nothing is redirected and the list stays empty.
    """
    sink: list[str] = []
    if not enabled:
        yield sink
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    _flush_c_stdio()
    saved: list[tuple[int, int]] = []
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        try:
            for fd in (1, 2):
                try:
                    saved.append((fd, os.dup(fd)))
                except OSError:
                    continue
                os.dup2(tmp.fileno(), fd)
            yield sink
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            _flush_c_stdio()
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)
            tmp.seek(0)
            sink.append(tmp.read().decode("utf-8", errors="replace"))


def first_error_line(text: str) -> str:
    """The most informative single line of a solver's error output (for one-line messages)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower() and "function call" not in line.lower():
            return line
    return lines[0] if lines else ""


#: File name endings accepted by :func:`check_problem_path`, mapped to the file format.
PROBLEM_SUFFIXES: dict[str, str] = {
    ".mps": "mps",
    ".mps.gz": "mps",
    ".lp": "lp",
    ".lp.gz": "lp",
}


def problem_suffix(path: str | os.PathLike[str]) -> str | None:
    """The recognised ending of ``path`` (``".mps.gz"``, ``".lp"``, ...), or None."""
    name = os.fspath(path).lower()
    for suffix in sorted(PROBLEM_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return None


def check_problem_path(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as a string if it names a readable ``.mps(.gz)`` or ``.lp(.gz)`` file.

    Raises:
        InvalidInstanceError: (field ``"path"``) the file is missing, not a regular file, or its
            ending is not one of :data:`PROBLEM_SUFFIXES`.
    """
    from orlearn.errors import InvalidInstanceError

    try:
        name = os.fspath(path)
    except TypeError:
        raise InvalidInstanceError(
            "path", f"expected a file path, got {type(path).__name__}"
        ) from None
    if problem_suffix(name) is None:
        raise InvalidInstanceError(
            "path",
            f"unsupported file type {os.path.basename(name)!r}",
            fix=f"use one of {', '.join(PROBLEM_SUFFIXES)}",
        )
    if not os.path.exists(name):
        raise InvalidInstanceError("path", f"file not found: {name}", fix="check the path")
    if not os.path.isfile(name):
        raise InvalidInstanceError("path", f"not a regular file: {name}")
    if not os.access(name, os.R_OK):
        raise InvalidInstanceError("path", f"file is not readable: {name}")
    return name
