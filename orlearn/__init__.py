"""orlearn: operations-research decision optimization, joining learned policies and exact solvers.

The public API is re-exported lazily so that ``import orlearn`` stays fast (PyTorch, Pyomo and
the solvers load on first use):

>>> import orlearn
>>> orlearn.solve_file("data/milp/knapsack12.mps", solver="highs").objective  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from orlearn.errors import (
    CheckpointError,
    ConfigError,
    InvalidInstanceError,
    OrlearnError,
    SolverUnavailableError,
)

__version__ = "0.1.0"

_LAZY = {
    "solve": "orlearn.solvers",
    "solve_file": "orlearn.solvers",
    "SolveResult": "orlearn.solvers",
    "TerminationCondition": "orlearn.solvers",
    "SolutionStatus": "orlearn.solvers",
    "PersistentLP": "orlearn.solvers",
    "available_solvers": "orlearn.solvers",
    "run_suite": "orlearn.bench",
    "get_suite": "orlearn.bench",
    "list_suites": "orlearn.bench",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'orlearn' has no attribute {name!r}")


def versions() -> dict[str, str | None]:
    """Versions of orlearn, Python, the platform and every library orlearn uses (None if absent)."""
    import platform
    from importlib import metadata

    out: dict[str, str | None] = {
        "orlearn": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for dist in (
        "numpy", "scipy", "pandas", "torch", "torch-geometric", "pyomo", "highspy",
        "pyscipopt", "safetensors", "typer", "rich", "matplotlib", "ray", "gymnasium",
        "elkai", "pyvrp", "vrplib", "ortools",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def show_versions() -> None:
    """Print the versions of orlearn and its dependencies (for bug reports)."""
    for name, version in versions().items():
        print(f"{name:>16}: {version if version is not None else 'not installed'}")


__all__ = [
    "CheckpointError",
    "ConfigError",
    "InvalidInstanceError",
    "OrlearnError",
    "SolverUnavailableError",
    "__version__",
    "show_versions",
    "versions",
    *_LAZY,
]
