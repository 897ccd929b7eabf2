"""A persistent LP/MILP on highspy for hot loops: build once, change data, re-solve warm.

Stage problems in SDDP, TS-DDR or rolling-horizon planning differ from one solve to the next only
in right-hand sides, bounds and costs. :class:`PersistentLP` keeps one ``highspy.Highs`` model
alive, changes those numbers in place (vectorised) and re-solves from the previous simplex basis,
which is one to two orders of magnitude faster than rebuilding the model (see
``benchmarks/lp_speed.py``). "Pyomo builds the model once; highspy re-solves"::

    lp = PersistentLP.from_pyomo(stage_model)
    for inflow in scenarios:
        lp.set_rhs(lp.rows(stage_model.balance), inflow)
        res = lp.solve()
        water_value = res.row_duals[lp.row("balance[1]")]

Dual convention (for minimisation *and* maximisation): ``row_duals[i]`` is the derivative of the
optimal objective with respect to row ``i``'s active bound (its right-hand side), and
``reduced_costs[j]`` the derivative with respect to column ``j``'s active bound; both are zero
for inactive bounds. So for ``min`` a binding ``>=`` row has a dual >= 0 and a binding ``<=``
row a dual <= 0; for ``max`` the signs flip. This is HiGHS's own convention (checked against
finite differences in ``tests/solvers``), so no conversion is applied. Units: objective units per
unit of the row's (column's) quantity.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from orlearn.errors import ConfigError, InvalidInstanceError
from orlearn.solvers._common import check_options, require_package
from orlearn.solvers._highs import (
    highs_objective_and_bound,
    highs_outcome,
    run_highs,
    set_time_limit,
)
from orlearn.solvers.result import SolutionStatus, SolveError, SolveResult, TerminationCondition

_FEASIBLE_SOLUTION = 2  # HiGHS kSolutionStatusFeasible
#: LP algorithms of :class:`PersistentLP` (HiGHS's ``solver`` option).
LP_METHODS = ("simplex", "ipm")
_DUAL_SIGN = 1.0  # HiGHS duals are already d(objective)/d(bound) for both senses


@dataclass
class LPResult:
    """The outcome of one :meth:`PersistentLP.solve`.

    Attributes:
        termination: why HiGHS stopped.
        status: what kind of solution is held.
        objective: optimal (or incumbent) objective in the model's sense and units, or None.
        bound: dual bound (the objective for an optimal LP; HiGHS's MIP bound for a MILP).
        x: column values (length ``num_cols``), or None without a solution.
        row_duals: d(objective)/d(row's active bound), one per row; None for a MILP or without
            a dual solution.
        reduced_costs: d(objective)/d(column's active bound), one per column; None as above.
        row_activity: row values ``A @ x``, or None without a solution.
        iterations: simplex iterations of this solve.
        nodes: branch-and-bound nodes (MILP), else 0.
        wall_time: seconds spent in ``Highs.run()``.
        message: HiGHS's model status text.
    """

    termination: TerminationCondition
    status: SolutionStatus
    objective: float | None = None
    bound: float | None = None
    x: np.ndarray | None = None
    row_duals: np.ndarray | None = None
    reduced_costs: np.ndarray | None = None
    row_activity: np.ndarray | None = None
    iterations: int = 0
    nodes: int = 0
    wall_time: float = 0.0
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        """True when a primal solution (optimal or feasible) is available."""
        return self.status in (SolutionStatus.OPTIMAL, SolutionStatus.FEASIBLE)

    def raise_for_status(self) -> LPResult:
        """Return ``self`` if a solution is held, else raise :class:`SolveError`."""
        if not self.has_solution:
            raise SolveError(
                f"highs found no solution: termination={self.termination.value} ({self.message})"
            )
        return self


def _check_sense(sense: object) -> str:
    if sense in ("min", "minimize", "max", "maximize"):
        return "max" if str(sense).startswith("max") else "min"
    raise ConfigError(f"sense: must be 'min' or 'max', got {sense!r}")


def _key_name(key: Any) -> str:
    """Name of a column/row key: a string, or a Pyomo component (its ``.name``)."""
    if isinstance(key, str):
        return key
    name = getattr(key, "name", None)
    if isinstance(name, str):
        return name
    raise ConfigError(f"expected an index, a name or a Pyomo component, got {key!r}")


def _is_indexed_component(key: Any) -> bool:
    is_indexed = getattr(key, "is_indexed", None)
    return callable(is_indexed) and bool(is_indexed()) and hasattr(key, "values")


class PersistentLP:
    """An LP/MILP held in one ``highspy.Highs`` model, modified in place and re-solved warm.

    Args:
        sense: ``"min"`` or ``"max"``.
        time_limit: seconds per :meth:`solve` (each solve gets the full limit), or None.
        threads: HiGHS threads, or None (default) for HiGHS's automatic choice. HiGHS's simplex
            is serial, so LPs do not gain from threads; an explicit count that differs from the
            process-wide HiGHS scheduler's makes it be rebuilt (see ``orlearn.solvers._highs``).
        seed: HiGHS ``random_seed``.
        verbose: print HiGHS's log.
        rel_gap: relative MIP gap (fraction) at which to stop, or None (HiGHS default 1e-4).
        lp_method: LP algorithm, ``"simplex"``, ``"ipm"`` (interior point with crossover, so
            duals and a basis still come back) or None (HiGHS chooses; dual simplex for most
            LPs). Interior point pays off on large, degenerate LPs solved once (the
            lot-sizing window-cut bound: 33 s where the simplex took over 200 s); warm re-solves
            after small changes are the simplex's strength. A MILP's node LPs always use the
            simplex.

    Columns and rows are addressed by integer index, by name (``lp.col("x[3]")``) or, for a
    model built with :meth:`from_pyomo`, by Pyomo component (``lp.rows(model.balance)``).

    Raises:
        SolverUnavailableError: highspy is not installed.
        ConfigError: an invalid option.
    """

    def __init__(
        self,
        sense: str = "min",
        time_limit: float | None = None,
        threads: int | None = None,
        seed: int = 0,
        verbose: bool = False,
        *,
        rel_gap: float | None = None,
        lp_method: str | None = None,
    ) -> None:
        self._highspy = require_package("highs")
        if lp_method is not None and lp_method not in LP_METHODS:
            raise ConfigError(f"lp_method: must be one of {', '.join(LP_METHODS)} or None "
                              f"(HiGHS chooses), got {lp_method!r}")
        self._time_limit = check_options(
            time_limit=time_limit, rel_gap=rel_gap, threads=threads, seed=seed
        )
        self._sense = _check_sense(sense)
        self._rel_gap = rel_gap
        h = self._highspy.Highs()
        h.setOptionValue("output_flag", bool(verbose))
        h.setOptionValue("log_to_console", bool(verbose))
        h.setOptionValue("random_seed", int(seed))
        if threads is not None:
            h.setOptionValue("threads", int(threads))
        if rel_gap is not None:
            h.setOptionValue("mip_rel_gap", float(rel_gap))
        if lp_method is not None:
            h.setOptionValue("solver", lp_method)
        set_time_limit(h, None)
        self._h = h
        self._apply_sense()
        self._col_lb = np.zeros(0)
        self._col_ub = np.zeros(0)
        self._cost = np.zeros(0)
        self._integer = np.zeros(0, dtype=bool)
        self._row_lb = np.zeros(0)
        self._row_ub = np.zeros(0)
        self._col_names: list[str | None] = []
        self._row_names: list[str | None] = []
        self._col_index: dict[str, int] = {}
        self._row_index: dict[str, int] = {}
        self._offset = 0.0

    # ------------------------------------------------------------------ properties

    @property
    def highs(self) -> Any:
        """The underlying ``highspy.Highs`` (for options and queries orlearn does not wrap)."""
        return self._h

    @property
    def num_cols(self) -> int:
        """Number of columns (variables)."""
        return int(self._col_lb.shape[0])

    @property
    def num_rows(self) -> int:
        """Number of rows (constraints)."""
        return int(self._row_lb.shape[0])

    @property
    def sense(self) -> str:
        """``"min"`` or ``"max"``."""
        return self._sense

    @property
    def is_mip(self) -> bool:
        """True when some column is integer."""
        return bool(self._integer.any())

    @property
    def time_limit(self) -> float | None:
        """Seconds allowed per :meth:`solve`, or None."""
        return self._time_limit

    @time_limit.setter
    def time_limit(self, value: float | None) -> None:
        self._time_limit = check_options(time_limit=value)
        set_time_limit(self._h, self._time_limit, self.is_mip)

    @property
    def col_names(self) -> list[str]:
        """Column names (``c<j>`` for unnamed columns)."""
        return [n if n is not None else f"c{j}" for j, n in enumerate(self._col_names)]

    @property
    def row_names(self) -> list[str]:
        """Row names (``r<i>`` for unnamed rows)."""
        return [n if n is not None else f"r{i}" for i, n in enumerate(self._row_names)]

    def _apply_sense(self) -> None:
        obj_sense = self._highspy.ObjSense
        self._h.changeObjectiveSense(
            obj_sense.kMaximize if self._sense == "max" else obj_sense.kMinimize
        )

    def set_sense(self, sense: str) -> None:
        """Change the optimisation sense to ``"min"`` or ``"max"``."""
        self._sense = _check_sense(sense)
        self._apply_sense()

    # ------------------------------------------------------------------ lookups

    def col(self, key: Any) -> int:
        """Index of one column given its name (``"x[3]"``) or Pyomo variable (``m.x[3]``)."""
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            return int(self._check_range(np.asarray([key]), self.num_cols, "column")[0])
        name = _key_name(key)
        try:
            return self._col_index[name]
        except KeyError:
            raise ConfigError(f"unknown column {name!r}{self._examples(self._col_index)}") from None

    def row(self, key: Any) -> int:
        """Index of one row given its name (``"balance[2]"``) or Pyomo constraint."""
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            return int(self._check_range(np.asarray([key]), self.num_rows, "row")[0])
        name = _key_name(key)
        try:
            return self._row_index[name]
        except KeyError:
            raise ConfigError(f"unknown row {name!r}{self._examples(self._row_index)}") from None

    def cols(self, keys: Any) -> np.ndarray:
        """Column indices for an index, a name, an array/sequence/boolean mask of them, a slice,
        an indexed Pyomo Var (``m.x``) or its name (``"x"``: all ``x[...]`` columns)."""
        return self._indices(keys, self.num_cols, self.col, "column")

    def rows(self, keys: Any) -> np.ndarray:
        """Row indices for an index, a name, an array/sequence/boolean mask of them, a slice,
        an indexed Pyomo Constraint (``m.balance``) or its name (``"balance"``)."""
        return self._indices(keys, self.num_rows, self.row, "row")

    @staticmethod
    def _examples(index: dict[str, int]) -> str:
        if not index:
            return " (this model has no names)"
        names = list(index)[:3]
        return f" (known names look like {', '.join(names)})"

    @staticmethod
    def _check_range(idx: np.ndarray, n: int, what: str) -> np.ndarray:
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = idx[(idx < 0) | (idx >= n)][0]
            raise ConfigError(f"{what} index {int(bad)} out of range [0, {n})")
        return idx.astype(np.int32, copy=False)

    def _indices(self, keys: Any, n: int, one: Any, what: str) -> np.ndarray:
        if isinstance(keys, slice):
            return np.arange(n, dtype=np.int32)[keys]
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu":
            return self._check_range(keys.ravel(), n, what)
        if isinstance(keys, np.ndarray) and keys.dtype == bool:
            if keys.shape != (n,):
                raise ConfigError(f"{what} mask: expected shape ({n},), got {keys.shape}")
            return np.flatnonzero(keys).astype(np.int32)
        if isinstance(keys, numbers.Integral) and not isinstance(keys, bool):
            return self._check_range(np.asarray([keys]), n, what)
        if isinstance(keys, str):
            index = self._col_index if what == "column" else self._row_index
            if keys not in index:  # the name of an indexed component: all its members
                prefix = keys + "["
                members = [i for name, i in index.items() if name.startswith(prefix)]
                if members:
                    return np.asarray(members, dtype=np.int32)
            return np.asarray([one(keys)], dtype=np.int32)
        if _is_indexed_component(keys):
            return np.asarray([one(k) for k in keys.values()], dtype=np.int32)
        if hasattr(keys, "is_indexed"):  # a Pyomo VarData / ConstraintData
            return np.asarray([one(keys)], dtype=np.int32)
        items = list(keys)
        if all(isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in items):
            return self._check_range(np.asarray(items, dtype=np.int64), n, what)
        return np.asarray([one(k) for k in items], dtype=np.int32)

    @staticmethod
    def _values(values: Any, n: int, what: str) -> np.ndarray:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        arr = arr.ravel()
        if arr.shape[0] != n:
            raise ConfigError(f"{what}: expected {n} values, got {arr.shape[0]}")
        if np.isnan(arr).any():
            raise ConfigError(f"{what}: contains NaN")
        return arr

    def _register(
        self, names: Sequence[Any] | None, n: int, store: list[str | None], index: dict[str, int]
    ) -> None:
        start = len(store)
        if names is None:
            store.extend([None] * n)
            return
        names = [_key_name(k) for k in names]
        if len(names) != n:
            raise ConfigError(f"names: expected {n} names, got {len(names)}")
        for k, name in enumerate(names):
            if name in index:
                raise ConfigError(f"names: duplicate name {name!r}")
            index[name] = start + k
        store.extend(names)

    def _check_ok(self, status: Any, what: str) -> None:
        if status == self._highspy.HighsStatus.kError:
            raise ConfigError(f"{what}: HiGHS rejected the change (check indices and bounds)")

    # ------------------------------------------------------------------ building

    def add_vars(
        self,
        n: int | None = None,
        lb: Any = 0.0,
        ub: Any = math.inf,
        cost: Any = 0.0,
        names: Sequence[Any] | None = None,
        integer: Any = False,
    ) -> np.ndarray:
        """Add columns; return their indices.

        Args:
            n: number of columns; inferred from the arrays or ``names`` when None.
            lb, ub: bounds (scalars or arrays; ``±inf`` for none). Default ``[0, inf)``.
            cost: objective coefficients (objective units per unit of the column).
            names: optional unique names.
            integer: True (or a boolean array) for integer columns.
        """
        if n is None:
            sizes = [np.size(a) for a in (lb, ub, cost, integer) if np.ndim(a) > 0]
            if names is not None:
                sizes.append(len(names))
            if not sizes:
                raise ConfigError("n: give the number of columns or arrays of bounds/costs")
            n = int(max(sizes))
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ConfigError(f"n: must be a non-negative integer, got {n!r}")
        n = int(n)
        lb_arr = self._values(lb, n, "lb")
        ub_arr = self._values(ub, n, "ub")
        cost_arr = self._values(cost, n, "cost")
        if np.isinf(cost_arr).any():
            raise ConfigError("cost: must be finite")
        int_arr = np.broadcast_to(np.asarray(integer, dtype=bool), (n,)).copy()
        start = self.num_cols
        self._register(names, n, self._col_names, self._col_index)
        idx = np.arange(start, start + n, dtype=np.int32)
        if n == 0:
            return idx
        self._check_ok(self._h.addVars(n, lb_arr, ub_arr), "add_vars")
        self._h.changeColsCost(n, idx, cost_arr)
        if int_arr.any():
            self._h.changeColsIntegrality(n, idx, int_arr.astype(np.uint8))
        self._col_lb = np.concatenate([self._col_lb, lb_arr])
        self._col_ub = np.concatenate([self._col_ub, ub_arr])
        self._cost = np.concatenate([self._cost, cost_arr])
        self._integer = np.concatenate([self._integer, int_arr])
        return idx

    def _to_csr(self, A: Any) -> sp.csr_array:
        if sp.issparse(A):
            mat = sp.csr_array(A, dtype=np.float64)
        elif isinstance(A, np.ndarray):
            if A.ndim != 2:
                raise ConfigError(f"A: expected a 2-D array, got {A.ndim} dimension(s)")
            mat = sp.csr_array(A.astype(np.float64))
        elif isinstance(A, Iterable) and not isinstance(A, str):
            rows = list(A)
            is_pairs = bool(rows) and all(
                isinstance(r, tuple | list) and len(r) == 2 and np.ndim(r[0]) == 1 for r in rows
            )
            if not is_pairs:
                try:
                    dense = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)
                except (TypeError, ValueError):
                    raise ConfigError(
                        "A: expected a scipy sparse matrix, a 2-D array or one "
                        "(column indices, values) pair per row"
                    ) from None
                mat = sp.csr_array(dense)
            else:
                indptr = [0]
                indices: list[np.ndarray] = []
                data: list[np.ndarray] = []
                for cols, vals in rows:
                    c = self.cols(cols)
                    indices.append(c)
                    data.append(self._values(vals, c.shape[0], "A values"))
                    indptr.append(indptr[-1] + c.shape[0])
                mat = sp.csr_array(
                    (np.concatenate(data), np.concatenate(indices), np.asarray(indptr)),
                    shape=(len(rows), self.num_cols),
                )
        else:
            raise ConfigError(
                "A: expected a scipy sparse matrix, a 2-D array or one "
                "(column indices, values) pair per row"
            )
        if mat.shape[1] > self.num_cols:
            raise ConfigError(
                f"A: has {mat.shape[1]} columns but the model has {self.num_cols}; add_vars first"
            )
        if mat.nnz and not np.isfinite(mat.data).all():
            raise ConfigError("A: coefficients must be finite")
        mat.sum_duplicates()
        return mat

    def add_rows(
        self,
        lower: Any,
        upper: Any,
        A: Any,
        names: Sequence[Any] | None = None,
    ) -> np.ndarray:
        """Add rows ``lower <= A @ x <= upper``; return their indices.

        Args:
            lower, upper: row bounds (scalars or arrays; ``-inf`` / ``inf`` for none). Equal
                bounds make an equality row.
            A: the rows' coefficients: a scipy sparse matrix or dense 2-D array with one row per
                new row (and at most ``num_cols`` columns), or a sequence of
                ``(column indices or names, values)`` pairs, one per row.
            names: optional unique row names.
        """
        mat = self._to_csr(A)
        m = int(mat.shape[0])
        lo = self._values(lower, m, "lower")
        up = self._values(upper, m, "upper")
        self._register(names, m, self._row_names, self._row_index)
        start = self.num_rows
        if m:
            status = self._h.addRows(
                m,
                lo,
                up,
                int(mat.nnz),
                mat.indptr[:-1].astype(np.int32),
                mat.indices.astype(np.int32),
                mat.data.astype(np.float64),
            )
            self._check_ok(status, "add_rows")
            self._row_lb = np.concatenate([self._row_lb, lo])
            self._row_ub = np.concatenate([self._row_ub, up])
        return np.arange(start, start + m, dtype=np.int32)

    def add_row(
        self, lower: float, upper: float, cols: Any, values: Any, name: str | None = None
    ) -> int:
        """Add one row ``lower <= sum(values * x[cols]) <= upper``; return its index."""
        return int(
            self.add_rows([lower], [upper], [(cols, values)], None if name is None else [name])[0]
        )

    # ------------------------------------------------------------------ changing data

    def set_row_bounds(self, rows: Any, lower: Any = None, upper: Any = None) -> None:
        """Set the bounds of ``rows`` (vectorised); None keeps the current value."""
        idx = self.rows(rows)
        n = idx.shape[0]
        lo = self._row_lb[idx] if lower is None else self._values(lower, n, "lower")
        up = self._row_ub[idx] if upper is None else self._values(upper, n, "upper")
        if n:
            self._check_ok(self._h.changeRowsBounds(n, idx, lo, up), "set_row_bounds")
            self._row_lb[idx] = lo
            self._row_ub[idx] = up

    def set_rhs(self, rows: Any, rhs: Any) -> None:
        """Move the finite bound(s) of ``rows`` to ``rhs``.

        Equality rows get ``lower = upper = rhs``, ``<=`` rows ``upper = rhs`` and ``>=`` rows
        ``lower = rhs``. Ranged and free rows are rejected (use :meth:`set_row_bounds`).
        """
        idx = self.rows(rows)
        vals = self._values(rhs, idx.shape[0], "rhs")
        lo = self._row_lb[idx].copy()
        up = self._row_ub[idx].copy()
        eq = lo == up
        le = ~eq & np.isinf(lo) & np.isfinite(up)
        ge = ~eq & np.isfinite(lo) & np.isinf(up)
        if not (eq | le | ge).all():
            bad = int(idx[~(eq | le | ge)][0])
            raise ConfigError(
                f"rows: row {self.row_names[bad]!r} is ranged or free; use set_row_bounds"
            )
        lo[eq | ge] = vals[eq | ge]
        up[eq | le] = vals[eq | le]
        self.set_row_bounds(idx, lo, up)

    def set_col_bounds(self, cols: Any, lb: Any = None, ub: Any = None) -> None:
        """Set the bounds of ``cols`` (vectorised); None keeps the current value."""
        idx = self.cols(cols)
        n = idx.shape[0]
        lo = self._col_lb[idx] if lb is None else self._values(lb, n, "lb")
        up = self._col_ub[idx] if ub is None else self._values(ub, n, "ub")
        if n:
            self._check_ok(self._h.changeColsBounds(n, idx, lo, up), "set_col_bounds")
            self._col_lb[idx] = lo
            self._col_ub[idx] = up

    def set_objective(self, cols: Any, costs: Any) -> None:
        """Set the objective coefficients of ``cols`` (vectorised; others unchanged)."""
        idx = self.cols(cols)
        c = self._values(costs, idx.shape[0], "costs")
        if np.isinf(c).any():
            raise ConfigError("costs: must be finite")
        if idx.shape[0]:
            self._check_ok(self._h.changeColsCost(idx.shape[0], idx, c), "set_objective")
            self._cost[idx] = c

    def set_objective_offset(self, offset: float) -> None:
        """Set the objective's constant term (objective units)."""
        if not math.isfinite(offset):
            raise ConfigError("offset: must be finite")
        self._offset = float(offset)
        self._h.changeObjectiveOffset(self._offset)

    def set_coefficient(self, row: Any, col: Any, value: Any) -> None:
        """Set matrix entries ``A[row, col] = value`` (arrays broadcast; 0 removes the entry)."""
        r = self.rows(row)
        c = self.cols(col)
        r, c = np.broadcast_arrays(r, c)
        v = self._values(value, r.shape[0], "value")
        if not np.isfinite(v).all():
            raise ConfigError("value: must be finite")
        for i, j, a in zip(r.tolist(), c.tolist(), v.tolist(), strict=True):
            self._check_ok(self._h.changeCoeff(i, j, a), "set_coefficient")

    def set_integrality(self, cols: Any, integer: Any = True) -> None:
        """Mark ``cols`` integer (True) or continuous (False)."""
        idx = self.cols(cols)
        flags = np.broadcast_to(np.asarray(integer, dtype=bool), idx.shape).copy()
        if idx.shape[0]:
            self._h.changeColsIntegrality(idx.shape[0], idx, flags.astype(np.uint8))
            self._integer[idx] = flags

    # ------------------------------------------------------------------ queries

    def row_bounds(self, rows: Any = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """Current (lower, upper) bounds of ``rows`` (copies)."""
        idx = self.rows(rows)
        return self._row_lb[idx].copy(), self._row_ub[idx].copy()

    def col_bounds(self, cols: Any = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """Current (lb, ub) bounds of ``cols`` (copies)."""
        idx = self.cols(cols)
        return self._col_lb[idx].copy(), self._col_ub[idx].copy()

    def costs(self, cols: Any = slice(None)) -> np.ndarray:
        """Current objective coefficients of ``cols`` (a copy)."""
        return self._cost[self.cols(cols)].copy()

    def values(self, result: LPResult) -> dict[str, float]:
        """Column name -> value of ``result.x`` (empty without a solution)."""
        if result.x is None:
            return {}
        return dict(zip(self.col_names, result.x.tolist(), strict=True))

    # ------------------------------------------------------------------ solving

    def solve(self, warm_start: bool = True) -> LPResult:
        """Solve the current model; return an :class:`LPResult` (never raises on outcomes).

        Args:
            warm_start: start from the previous basis (HiGHS keeps it across changes of
                bounds, costs and added rows); False clears it first (a cold solve).
        """
        h = self._h
        if not warm_start:
            h.clearSolver()
        if self._time_limit is not None:
            set_time_limit(h, self._time_limit, self.is_mip)
        start = time.perf_counter()
        run_highs(h)
        wall = time.perf_counter() - start
        mip = self.is_mip
        termination, status, message = highs_outcome(
            h, mip=mip, rel_gap_given=self._rel_gap is not None
        )
        objective, bound = highs_objective_and_bound(h, termination, status, mip=mip)
        info = h.getInfo()
        result = LPResult(
            termination=termination,
            status=status,
            objective=objective,
            bound=bound,
            iterations=max(int(info.simplex_iteration_count), 0),
            nodes=max(int(info.mip_node_count), 0) if mip else 0,
            wall_time=wall,
            message=message,
        )
        if result.has_solution:
            sol = h.getSolution()
            result.x = np.asarray(sol.col_value, dtype=np.float64)
            result.row_activity = np.asarray(sol.row_value, dtype=np.float64)
            if not mip and info.dual_solution_status == _FEASIBLE_SOLUTION:
                result.row_duals = _DUAL_SIGN * np.asarray(sol.row_dual, dtype=np.float64)
                result.reduced_costs = _DUAL_SIGN * np.asarray(sol.col_dual, dtype=np.float64)
        return result

    def to_solve_result(self, result: LPResult) -> SolveResult:
        """Wrap an :class:`LPResult` as a :class:`SolveResult` (values keyed by column name)."""
        from orlearn.solvers._common import highs_version

        return SolveResult(
            termination=result.termination,
            status=result.status,
            objective=result.objective,
            bound=result.bound,
            wall_time=result.wall_time,
            solver="highs",
            solver_version=highs_version() or "",
            values=self.values(result),
            sense=self._sense,
            message=result.message,
            extra={"simplex_iterations": result.iterations, "nodes": result.nodes},
        )

    def write(self, path: str) -> None:
        """Write the model to ``path`` (``.mps`` or ``.lp``, HiGHS chooses by extension)."""
        h = self._h
        for j, name in enumerate(self.col_names):
            h.passColName(j, name)
        for i, name in enumerate(self.row_names):
            h.passRowName(i, name)
        if h.writeModel(str(path)) == self._highspy.HighsStatus.kError:
            raise InvalidInstanceError("path", f"HiGHS could not write {path}")

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_arrays(
        cls,
        c: Any,
        A: Any,
        row_lb: Any,
        row_ub: Any,
        col_lb: Any = 0.0,
        col_ub: Any = math.inf,
        sense: str = "min",
        *,
        integer: Any = False,
        col_names: Sequence[str] | None = None,
        row_names: Sequence[str] | None = None,
        offset: float = 0.0,
        **options: Any,
    ) -> PersistentLP:
        """Build ``sense c @ x  s.t.  row_lb <= A @ x <= row_ub, col_lb <= x <= col_ub``.

        ``A`` is a scipy sparse matrix or dense 2-D array (rows x columns); bounds may be
        scalars. ``options`` go to the constructor (time_limit, threads, seed, verbose, rel_gap).
        """
        lp = cls(sense=sense, **options)
        c_arr = np.asarray(c, dtype=np.float64).ravel()
        if not (sp.issparse(A) or np.ndim(A) == 2):
            raise ConfigError("A: expected a 2-D array or scipy sparse matrix")
        shape = A.shape if sp.issparse(A) else np.shape(A)
        if shape[1] != c_arr.shape[0]:
            raise ConfigError(f"A: has {shape[1]} columns but c has {c_arr.shape[0]} entries")
        lp.add_vars(c_arr.shape[0], col_lb, col_ub, c_arr, names=col_names, integer=integer)
        lp.add_rows(row_lb, row_ub, A, names=row_names)
        if offset:
            lp.set_objective_offset(offset)
        return lp

    @classmethod
    def from_pyomo(cls, model: Any, **options: Any) -> PersistentLP:
        """Build once from a linear Pyomo model, with names mapped to columns and rows.

        Uses Pyomo's standard-form compiler (``compile_standard_form`` with ``mixed_form``):
        each constraint becomes one row (ranged constraints keep both bounds) named as Pyomo
        prints it (``"balance[2]"``), each variable that appears in the model one column
        (``"x[3]"``). Constant terms are moved into the row bounds and fixed variables are
        folded in as constants at build time. The objective sense and constant are kept.

        A row is Pyomo's ``con.body`` as Pyomo orients it: ``a >= b`` is stored as
        ``b - a <= 0``, and ``s[t] == s[t-1] + inflow[t] - r[t]`` as
        ``s[t] - s[t-1] + r[t] == inflow[t]`` once the constant moves right. Row bounds, and
        hence the meaning of :meth:`set_rhs` and of the duals' sign, follow that orientation;
        :meth:`row_bounds` shows it.

        Raises:
            InvalidInstanceError: nonlinear model or more than one active objective.
        """
        import pyomo.environ as pyo
        from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

        try:
            info = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            raise InvalidInstanceError(
                "model",
                f"cannot compile the Pyomo model to a linear form: {first}",
                fix="PersistentLP takes linear (MI)LP models",
            ) from exc
        if len(info.objectives) > 1:
            raise InvalidInstanceError(
                "model", f"has {len(info.objectives)} active objectives", fix="keep one"
            )
        sense = "min"
        n = len(info.columns)
        costs = np.zeros(n)
        offset = 0.0
        if info.objectives:
            sense = "max" if info.objectives[0].sense == pyo.maximize else "min"
            costs = np.asarray(sp.csr_array(info.c)[[0], :].toarray()).ravel()
            offset = float(np.asarray(info.c_offset, dtype=np.float64).ravel()[0])
        lb = np.array([-math.inf if v.lb is None else float(v.lb) for v in info.columns])
        ub = np.array([math.inf if v.ub is None else float(v.ub) for v in info.columns])
        integer = np.array([bool(v.is_integer() or v.is_binary()) for v in info.columns])
        lp = cls(sense=sense, **options)
        lp.add_vars(n, lb, ub, costs, names=[v.name for v in info.columns], integer=integer)

        A = sp.csr_array(info.A) if info.A is not None else sp.csr_array((0, n))
        rhs = np.asarray(info.rhs, dtype=np.float64).ravel()
        order: list[int] = []  # first matrix row of each constraint
        lower: dict[int, float] = {}
        upper: dict[int, float] = {}
        names: list[str] = []
        seen: dict[int, int] = {}
        for k, (con, sign) in enumerate(info.rows):
            key = id(con)
            if key not in seen:
                seen[key] = len(order)
                order.append(k)
                names.append(con.name)
                lower[seen[key]] = -math.inf
                upper[seen[key]] = math.inf
            pos = seen[key]
            if sign >= 0:
                upper[pos] = float(rhs[k])
            if sign <= 0:
                lower[pos] = float(rhs[k])
        if order:
            lp.add_rows(
                [lower[i] for i in range(len(order))],
                [upper[i] for i in range(len(order))],
                A[order, :],
                names=names,
            )
        if offset:
            lp.set_objective_offset(offset)
        return lp
