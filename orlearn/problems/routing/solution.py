"""The result of one routing / knapsack solve: :class:`Solution` and :func:`make_solution`.

A :class:`Solution` holds the decision (a TSP tour, CVRP routes or KP items), its objective and
feasibility as computed by the instance's own checker (never trusted from the solver), the wall
time and free-form ``info`` (solver status, bound, beam width...). :func:`make_solution` builds
one from a decision; an infeasible or missing decision gives ``feasible=False`` and
``objective=nan`` instead of an exception, so that a benchmark loop never dies on one instance.

Example::

    from orlearn.problems.routing.instances import generate_tsp
    from orlearn.problems.routing.solution import make_solution

    inst = generate_tsp(10, seed=0)
    sol = make_solution(inst, "identity", tour=range(10), time=0.0)
    sol.objective, sol.feasible, sol.gap  # gap is None: no known optimum
    sol.plot(path="tour.png")
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from orlearn.errors import InvalidInstanceError
from orlearn.problems.routing.instances import CVRPInstance, KPInstance, TSPInstance

PROBLEMS = ("tsp", "atsp", "cvrp", "kp")
"""Problem names: symmetric TSP, asymmetric TSP, CVRP, 0/1 knapsack."""


def problem_name(instance: Any) -> str:
    """``"tsp"`` / ``"atsp"`` (by the symmetry of the distances), ``"cvrp"`` or ``"kp"``."""
    if isinstance(instance, TSPInstance):
        return "tsp" if instance.symmetric else "atsp"
    if isinstance(instance, CVRPInstance):
        return "cvrp"
    if isinstance(instance, KPInstance):
        return "kp"
    raise InvalidInstanceError(
        "instance",
        f"expected a TSPInstance, CVRPInstance or KPInstance, got {type(instance).__name__}",
    )


@dataclass(frozen=True, eq=False)
class Solution:
    """One solution of a routing or knapsack instance.

    Attributes:
        problem: ``"tsp"``, ``"atsp"``, ``"cvrp"`` or ``"kp"``.
        instance: the instance solved.
        method: the method's name (``"lkh"``, ``"pyvrp"``, ``"bq"``...).
        tour: TSP/ATSP tour, a permutation of ``0..n-1`` (None otherwise).
        routes: CVRP routes, arrays of customer indices ``1..n`` without the depot.
        items: KP chosen item indices.
        objective: tour length, total distance or total value; ``nan`` when infeasible.
        feasible: whether the instance's checker accepted the decision.
        time: wall-clock seconds of the solve.
        info: free-form details (solver status, bound, time limit, beam width...).
    """

    problem: str
    instance: Any
    method: str
    tour: np.ndarray | None = None
    routes: list[np.ndarray] | None = None
    items: np.ndarray | None = None
    objective: float = math.nan
    feasible: bool = False
    time: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def sense(self) -> str:
        """``"max"`` for the knapsack, ``"min"`` for the routing problems."""
        return "max" if self.problem == "kp" else "min"

    @property
    def gap(self) -> float | None:
        """Percent gap to ``instance.optimum`` (>= 0 when the optimum is exact), else None.

        ``(obj - opt) / opt * 100`` for the minimisation problems, ``(opt - obj) / opt * 100``
        for the knapsack; None when the optimum is unknown or zero, or the solution infeasible.
        """
        opt = getattr(self.instance, "optimum", None)
        if opt is None or not self.feasible or not math.isfinite(self.objective):
            return None
        opt = float(opt)
        if opt == 0.0:
            return None
        diff = self.objective - opt if self.sense == "min" else opt - self.objective
        return diff / abs(opt) * 100.0

    # -------------------------------------------------------------------------- export

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary: plain lists, floats, strings (``nan`` becomes None)."""
        return {
            "problem": self.problem,
            "instance": getattr(self.instance, "name", ""),
            "n": int(self.instance.n),
            "method": self.method,
            "objective": _jsonable(self.objective),
            "feasible": bool(self.feasible),
            "gap": _jsonable(self.gap),
            "sense": self.sense,
            "time": float(self.time),
            "tour": None if self.tour is None else _jsonable(self.tour),
            "routes": None if self.routes is None else [_jsonable(r) for r in self.routes],
            "items": None if self.items is None else _jsonable(self.items),
            "info": _jsonable(self.info),
        }

    # -------------------------------------------------------------------------- plot

    def plot(self, ax: Any = None, path: str | Path | None = None) -> Any:
        """Draw the solution with matplotlib and return the axes.

        TSP: the closed tour over the cities; CVRP: each route in its own colour from and to the
        depot (a black square); KP: value against weight, chosen items highlighted. The title
        gives the method, the objective and the gap. Works without a display: with ``ax=None``
        a :class:`matplotlib.figure.Figure` is created directly (no pyplot state). ``path``
        saves the figure as a PNG.
        """
        if ax is None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(6.0, 6.0) if self.problem != "kp" else (7.0, 5.0))
            ax = fig.add_subplot()
        if self.problem == "kp":
            self._plot_kp(ax)
        else:
            self._plot_routing(ax)
        title = f"{self.instance.name or self.problem} | {self.method}: "
        title += "infeasible" if not self.feasible else f"{self.objective:.6g}"
        if self.gap is not None:
            title += f" (gap {self.gap:.3g}%)"
        ax.set_title(title, fontsize=10)
        if path is not None:
            ax.figure.savefig(str(path), dpi=100, bbox_inches="tight")
        return ax

    def _positions(self) -> tuple[np.ndarray, bool]:
        """Node coordinates, or a classical-MDS layout of the distances (second item True)."""
        coords = self.instance.coords
        if coords is not None:  # display coordinates of an EXPLICIT instance included
            return np.asarray(coords), False
        d = np.asarray(self.instance.distance_matrix(), dtype=np.float64)
        d = 0.5 * (d + d.T)
        n = len(d)
        j = np.eye(n) - 1.0 / n
        b = -0.5 * j @ (d**2) @ j
        vals, vecs = np.linalg.eigh(b)
        top = np.argsort(vals)[::-1][:2]
        return vecs[:, top] * np.sqrt(np.maximum(vals[top], 0.0)), True

    def _plot_routing(self, ax: Any) -> None:
        pos, mds = self._positions()
        if self.problem in ("tsp", "atsp"):
            ax.scatter(pos[:, 0], pos[:, 1], s=14, c="tab:blue", zorder=3)
            if self.tour is not None and self.feasible:
                closed = np.concatenate([self.tour, self.tour[:1]])
                ax.plot(pos[closed, 0], pos[closed, 1], "-", color="tab:gray", lw=1.2)
                ax.scatter(*pos[self.tour[0]], s=50, c="tab:red", zorder=4)
        else:
            from matplotlib import colormaps

            cmap = colormaps["tab10"]
            ax.scatter(pos[1:, 0], pos[1:, 1], s=14, c="tab:blue", zorder=3)
            for k, route in enumerate(self.routes or []):
                path = np.concatenate([[0], np.asarray(route, dtype=np.int64), [0]])
                ax.plot(pos[path, 0], pos[path, 1], "-", color=cmap(k % 10), lw=1.2)
            ax.scatter(*pos[0], s=80, c="black", marker="s", zorder=4)
        ax.set_aspect("equal", adjustable="datalim")
        if mds:
            ax.set_xlabel("MDS layout of the distance matrix")

    def _plot_kp(self, ax: Any) -> None:
        inst = self.instance
        chosen = np.zeros(inst.n, dtype=bool)
        if self.items is not None:
            chosen[np.asarray(self.items, dtype=np.int64)] = True
        ax.scatter(inst.weights[~chosen], inst.values[~chosen], s=14, c="lightgray",
                   label="not taken")
        ax.scatter(inst.weights[chosen], inst.values[chosen], s=18, c="tab:orange",
                   label=f"taken ({int(chosen.sum())}, weight "
                   f"{inst.weights[chosen].sum():.4g}/{inst.capacity:.4g})")
        ax.set_xlabel("weight")
        ax.set_ylabel("value")
        ax.legend(loc="best", fontsize=8)


def make_solution(
    instance: Any,
    method: str,
    *,
    tour: Any = None,
    routes: Any = None,
    items: Any = None,
    time: float,
    info: dict[str, Any] | None = None,
) -> Solution:
    """A :class:`Solution` whose objective and feasibility come from the instance's checker.

    Pass the decision that fits the instance (``tour`` for a TSP, ``routes`` for a CVRP,
    ``items`` for a KP). A missing or infeasible decision gives ``feasible=False`` and
    ``objective=nan``, and the checker's message under ``info["infeasible"]``.
    """
    problem = problem_name(instance)
    info = dict(info or {})
    objective = math.nan
    feasible = False
    try:
        if problem in ("tsp", "atsp"):
            if tour is None:
                raise InvalidInstanceError("tour", "no tour was given")
            tour = instance.check_tour(np.asarray(tour).reshape(-1))
            objective = instance.tour_cost(tour)
        elif problem == "cvrp":
            if routes is None:
                raise InvalidInstanceError("routes", "no routes were given")
            routes = [np.asarray(r, dtype=np.int64).reshape(-1) for r in routes]
            routes = [r for r in routes if len(r)]
            objective = instance.routes_cost(routes)
        else:
            if items is None:
                raise InvalidInstanceError("items", "no items were given")
            items = np.sort(instance.check_items(items))
            objective = instance.total_value(items)
        feasible = True
    except (InvalidInstanceError, TypeError, ValueError) as exc:
        info["infeasible"] = str(exc)
        objective = math.nan
    return Solution(
        problem=problem,
        instance=instance,
        method=method,
        tour=_as_int_array(tour),
        routes=None if routes is None else [_as_int_array(r) for r in routes],
        items=_as_int_array(items),
        objective=float(objective),
        feasible=feasible,
        time=float(time),
        info=info,
    )


def _as_int_array(x: Any) -> np.ndarray | None:
    if x is None:
        return None
    try:
        return np.asarray(x, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        return np.asarray(x, dtype=object).reshape(-1)


def _jsonable(x: Any) -> Any:
    """Numpy scalars/arrays, enums, dataclass-like results and NaN to plain JSON values."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, enum.Enum):
        return _jsonable(x.value)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "to_dict"):
        return _jsonable(x.to_dict())
    return str(x)


__all__ = ["PROBLEMS", "Solution", "make_solution", "problem_name"]
