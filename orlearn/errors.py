"""Errors raised by orlearn.

Every error a user can trigger derives from :class:`OrlearnError`, so that callers (and the
``orlearn`` CLI) can catch one type and print a one-line message. Solver *outcomes*
(infeasible, unbounded, time limit) are never errors: they are statuses on
:class:`orlearn.solvers.SolveResult`.
"""

from __future__ import annotations


class OrlearnError(Exception):
    """Base class of every error orlearn raises on purpose."""


class InvalidInstanceError(OrlearnError, ValueError):
    """An instance, setting or input file is malformed.

    The message names the offending ``field`` and, where one is known, the ``fix``.
    """

    def __init__(self, field: str, problem: str, fix: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        message = f"{field}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class ConfigError(OrlearnError, ValueError):
    """An option passed to a function or command is invalid (unknown name, bad range)."""


class SolverUnavailableError(OrlearnError, RuntimeError):
    """A requested solver is not installed; the message names the package to install."""


class CheckpointError(OrlearnError, RuntimeError):
    """A checkpoint is missing, corrupted, or does not match the model it is loaded into."""


__all__ = [
    "CheckpointError",
    "ConfigError",
    "InvalidInstanceError",
    "OrlearnError",
    "SolverUnavailableError",
]
