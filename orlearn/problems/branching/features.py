"""The bipartite state of a branch-and-bound node (Gasse et al., NeurIPS 2019), from SCIP's LP.

At a node whose LP is solved, the LP is a bipartite graph: one node per LP column (variable),
one per LP row side (constraint), one edge per nonzero. Every row is written as ``a x <= b``:
a row with a finite right-hand side gives ``a x <= rhs``, a row with a finite left-hand side
gives ``-a x <= -lhs`` (a ranged or equality row gives both), as in the paper.

Variable features (19, :data:`VAR_FEATURES`): type one-hot (binary, integer, implied
integer, continuous), objective coefficient / ||c||, has a lower bound, has an upper bound,
LP value at the lower bound, at the upper bound, fractionality, basis status one-hot (lower,
basic, upper, zero), reduced cost / ||c||, age (LPs since the column last entered the LP,
divided by the number of LPs solved + 5), LP value, incumbent value, average value over the
incumbents found. Constraint features (5, :data:`CONS_FEATURES`): cosine with the objective,
bias (rhs / ||a||), tight at the LP solution, age, dual value / (||a|| ||c||). Edge feature
(1): coefficient / ||a||.

Values that have no scale (LP value, incumbent values) enter as ``sign(v) log(1 + |v|)``, so
an instance with big-M variables does not swamp the others; on binary variables this is a
monotone rescaling of [0, 1]. The GCNN standardises every feature with statistics fitted on its
training set (:class:`orlearn.problems.branching.model.GCNN`).

Only mainline PySCIPOpt calls are used: ``getLPColsData``, ``getLPRowsData``, ``getColRedCost``,
``getRowDualSol``, ``getRowLPActivity``, ``getSolVal``, ``getNSolsFound``,
``Column.getBasisStatus/getAge/getPrimsol/getLb/getUb``,
``Row.getCols/getVals/getNorm/getLhs/getRhs/getConstant/getAge``, ``Variable.getAvgSol``. Per
node, each is called once per column or row through ``map`` (a C-level loop); what does not
change between nodes is cached for the solve (:class:`_LPCache`).

The graph is returned as :class:`BipartiteState` (numpy) and turned into a PyTorch Geometric
:class:`BipartiteData`, whose batching offsets constraint indices, variable indices and the
candidate indices by the right node counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch_geometric.data import Data

from orlearn.errors import InvalidInstanceError

if TYPE_CHECKING:
    import pyscipopt

VAR_FEATURES: tuple[str, ...] = (
    "type_binary", "type_integer", "type_implied_integer", "type_continuous",
    "objective", "has_lb", "has_ub", "sol_at_lb", "sol_at_ub", "sol_frac",
    "basis_lower", "basis_basic", "basis_upper", "basis_zero",
    "reduced_cost", "age", "sol_value", "incumbent_value", "average_incumbent_value",
)
CONS_FEATURES: tuple[str, ...] = ("objective_cosine", "bias", "is_tight", "age", "dual_value")
EDGE_FEATURES: tuple[str, ...] = ("coefficient",)

_BASIS = {"lower": 0, "basic": 1, "upper": 2, "zero": 3}
_TYPES = {"BINARY": 0, "INTEGER": 1, "IMPLINT": 2, "CONTINUOUS": 3}


def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


@dataclass
class BipartiteState:
    """The LP of one node as a bipartite graph (numpy arrays, float32 features).

    Attributes:
        var_features: [n_vars, 19], rows in LP column order.
        cons_features: [n_cons, 5], one row per ``a x <= b`` side.
        edge_index: [2, n_edges] int64; row 0 constraint index, row 1 variable index.
        edge_features: [n_edges, 1].
        var_names: name of the variable of each column (transformed problem).
    """

    var_features: np.ndarray
    cons_features: np.ndarray
    edge_index: np.ndarray
    edge_features: np.ndarray
    var_names: tuple[str, ...] = ()

    @property
    def n_vars(self) -> int:
        return int(self.var_features.shape[0])

    @property
    def n_cons(self) -> int:
        return int(self.cons_features.shape[0])


def _read(getter: Any, items: list[Any]) -> np.ndarray:
    """``getter(item)`` of every item as float64: one C-level loop (``map``), no tuples."""
    return np.fromiter(map(getter, items), dtype=np.float64, count=len(items))


@dataclass
class _ColumnBlock:
    """Static data of one LP column list: per column its variable, type index, objective
    coefficient and name."""

    variables: list[Any]
    vtype: np.ndarray
    obj: np.ndarray
    names: tuple[str, ...]


@dataclass
class _RowBlock:
    """Static data of one LP row list: ``kept``, the rows with a positive norm and at least
    one LP column, in list order, and per kept row its LP column positions and coefficients
    (``statics``), norm, constant, objective cosine and number of LP nonzeros."""

    kept: list[Any]
    statics: list[tuple[np.ndarray, np.ndarray, float, float, float]]
    norm: np.ndarray
    const: np.ndarray
    cosine: np.ndarray
    sizes: np.ndarray


class _LPCache:
    """What does not change between the nodes of one solve, read once.

    * Per column: its variable, type index, objective coefficient and name.
    * Per row: column positions, coefficients, norm, constant and objective cosine (a row's
      coefficients do not change during the search; with cuts at the root only, every node
      after the root reuses them).
    * The incumbent's value and the average solution value of every column's variable,
      reused until SCIP finds another solution (``getNSolsFound``).
    * The edge list of the last row set with its finite sides, reused while the LP's rows
      and their finite sides stay the same.

    Keys are the SCIP columns and rows (PySCIPOpt hashes the pointer); a row key also holds
    its name and nonzero count, so a freed row whose memory is reused by another row is not
    mistaken for it. Keep one cache per solve.
    """

    def __init__(self) -> None:
        self.cols: dict[Any, tuple[Any, int, float, str]] = {}
        self.rows: dict[Any, tuple[np.ndarray, np.ndarray, float, float, float]] = {}
        self.obj_norm: float | None = None
        self.edges: tuple[_RowBlock, bytes, tuple[np.ndarray, np.ndarray]] | None = None
        # The last node's LP columns and rows with what was read for them: consecutive nodes
        # usually share the whole LP, and comparing the two lists (pointer by pointer) is
        # cheaper than one dictionary lookup per column and row.
        self.last_cols: list[Any] = []
        self.last_block: _ColumnBlock | None = None
        self.last_rows: list[Any] = []
        self.last_row_block: _RowBlock | None = None
        self.last_incumbent: tuple[int, _ColumnBlock, np.ndarray, np.ndarray] | None = None

    def columns(self, cols: list[Any]) -> _ColumnBlock:
        """Static data of ``cols`` (see :class:`_ColumnBlock`)."""
        if self.last_block is None or cols != self.last_cols:
            static = [self.column(col) for col in cols]
            self.last_cols = cols
            self.last_block = _ColumnBlock(
                variables=[entry[0] for entry in static],
                vtype=np.fromiter((entry[1] for entry in static), dtype=np.int64,
                                  count=len(static)),
                obj=np.fromiter((entry[2] for entry in static), dtype=np.float64,
                                count=len(static)),
                names=tuple(entry[3] for entry in static))
        return self.last_block

    def incumbent(self, model: pyscipopt.Model, block: _ColumnBlock
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Incumbent value and average solution value of every column's variable (zeros
        before the first solution)."""
        found = int(model.getNSolsFound())
        last = self.last_incumbent
        if last is not None and last[0] == found and last[1] is block:
            return last[2], last[3]
        n = len(block.variables)
        if model.getNSols() > 0:
            best = model.getBestSol()
            inc = np.fromiter(map(model.getSolVal, repeat(best, n), block.variables),
                              dtype=np.float64, count=n)
            avg_inc = _read(type(block.variables[0]).getAvgSol, block.variables)
        else:
            inc = avg_inc = np.zeros(n)
        self.last_incumbent = (found, block, inc, avg_inc)
        return inc, avg_inc

    def row_block(self, rows: list[Any], obj: np.ndarray) -> _RowBlock:
        """Static data of ``rows`` (see :class:`_RowBlock` and :meth:`row`)."""
        if self.last_row_block is None or rows != self.last_rows:
            entries = [self.row(row, obj) for row in rows]
            kept = [i for i, (_, entry) in enumerate(entries) if entry[2] > 0 and entry[0].size]
            statics = [entries[i][1] for i in kept]
            count = len(kept)
            self.last_rows = rows
            self.last_row_block = _RowBlock(
                kept=[rows[i] for i in kept], statics=statics,
                norm=np.fromiter((e[2] for e in statics), dtype=np.float64, count=count),
                const=np.fromiter((e[3] for e in statics), dtype=np.float64, count=count),
                cosine=np.fromiter((e[4] for e in statics), dtype=np.float64, count=count),
                sizes=np.fromiter((e[0].size for e in statics), dtype=np.int64, count=count))
        return self.last_row_block

    def column(self, col: Any) -> tuple[Any, int, float, str]:
        cached = self.cols.get(col)
        if cached is None:
            var = col.getVar()
            cached = (var, _TYPES.get(var.vtype(), 3), float(col.getObjCoeff()), var.name)
            self.cols[col] = cached
        return cached

    def row(self, row: Any, obj: np.ndarray) -> tuple[Any, tuple[np.ndarray, np.ndarray,
                                                                  float, float, float]]:
        key = (row, row.name, row.getNNonz())
        cached = self.rows.get(key)
        if cached is None:
            cols = np.fromiter((c.getLPPos() for c in row.getCols()), dtype=np.int64)
            vals = np.asarray(row.getVals(), dtype=np.float64)
            keep = cols >= 0
            cols, vals, norm = cols[keep], vals[keep], float(row.getNorm())
            cosine = float(vals @ obj[cols]) / (norm * self.obj_norm) if norm > 0 else 0.0
            cached = (cols, vals, norm, float(row.getConstant()), cosine)
            self.rows[key] = cached
        return key, cached


def extract_state(model: pyscipopt.Model, cache: _LPCache | None = None) -> BipartiteState:
    """Build the bipartite state of the current node; call it where the node LP is solved.

    Args:
        model: a SCIP model inside a branching callback (``branchexeclp``) or any callback
            where the node LP is solved to optimality.
        cache: a :class:`_LPCache` kept across the nodes of one solve (faster); None reads
            everything afresh.
    """
    cols = model.getLPColsData()
    rows = model.getLPRowsData()
    n_cols = len(cols)
    if n_cols == 0:
        raise InvalidInstanceError("model", "the node LP has no columns", fix="call at a node "
                                   "whose LP is solved, e.g. in branchexeclp")
    cache = cache if cache is not None else _LPCache()
    n_lps = float(model.getNLPs())
    inf = float(model.infinity())

    block = cache.columns(cols)
    vtype, obj = block.vtype, block.obj
    column = type(cols[0])
    lb, ub, sol = _read(column.getLb, cols), _read(column.getUb, cols), _read(column.getPrimsol,
                                                                             cols)
    redcost, age = _read(model.getColRedCost, cols), _read(column.getAge, cols)
    basis = np.fromiter(map(_BASIS.get, map(column.getBasisStatus, cols), repeat(3)),
                        dtype=np.int64, count=n_cols)
    inc, avg_inc = cache.incumbent(model, block)
    obj_norm = float(np.linalg.norm(obj))
    obj_norm = obj_norm if obj_norm > 0 else 1.0
    if cache.obj_norm != obj_norm:  # first call (or a changed objective): cosines are stale
        cache.rows.clear()
        cache.edges = None
        cache.last_rows, cache.last_row_block = [], None
        cache.obj_norm = obj_norm
    has_lb = lb > -inf
    has_ub = ub < inf
    frac = np.where(vtype < 3, sol - np.floor(sol), 0.0)
    frac = np.where(np.minimum(frac, 1 - frac) < 1e-6, 0.0, frac)
    var_feats = np.zeros((n_cols, len(VAR_FEATURES)), dtype=np.float32)
    var_feats[np.arange(n_cols), vtype] = 1.0
    var_feats[:, 4] = obj / obj_norm
    var_feats[:, 5] = has_lb
    var_feats[:, 6] = has_ub
    var_feats[:, 7] = has_lb & (np.abs(sol - lb) <= 1e-6)
    var_feats[:, 8] = has_ub & (np.abs(sol - ub) <= 1e-6)
    var_feats[:, 9] = frac
    var_feats[np.arange(n_cols), 10 + basis] = 1.0
    var_feats[:, 14] = redcost / obj_norm
    var_feats[:, 15] = age / (n_lps + 5.0)
    var_feats[:, 16] = _signed_log(sol)
    var_feats[:, 17] = _signed_log(inc)
    var_feats[:, 18] = _signed_log(avg_inc)

    cons_feats, edge_index, edge_feats = _constraint_part(model, rows, obj, cache, inf, n_lps)
    return BipartiteState(var_feats, cons_feats, edge_index, edge_feats, block.names)


def _constraint_part(model: pyscipopt.Model, rows: list[Any], obj: np.ndarray, cache: _LPCache,
                     inf: float, n_lps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constraint features (one per finite row side) and the edges of the node's LP rows."""
    block = cache.row_block(rows, obj)
    if not block.kept:
        return (np.zeros((0, len(CONS_FEATURES)), dtype=np.float32),
                np.zeros((2, 0), dtype=np.int64), np.zeros((0, 1), dtype=np.float32))
    row = type(block.kept[0])
    rhs, lhs = _read(row.getRhs, block.kept), _read(row.getLhs, block.kept)
    act, dual = _read(model.getRowLPActivity, block.kept), _read(model.getRowDualSol,
                                                                  block.kept)
    row_age = _read(row.getAge, block.kept)
    norm, const, cosine = block.norm, block.const, block.cosine
    # Every row becomes ``a x <= rhs`` (sign +1) then ``-a x <= -lhs`` (sign -1), finite
    # sides only, in row order.
    side = np.stack([rhs, lhs], axis=1)  # [rows, 2]
    finite = np.abs(side) < inf
    sign = np.array([1.0, -1.0])
    row_of, side_of = np.nonzero(finite)
    s = sign[side_of]
    bound = side[row_of, side_of]
    tight = np.abs(act[row_of] - bound) <= 1e-6 * np.maximum(1.0, np.abs(bound))
    cons_feats = np.stack([
        s * cosine[row_of], s * (bound - const[row_of]) / norm[row_of], tight,
        row_age[row_of] / (n_lps + 5.0), s * dual[row_of] / (norm[row_of] * cache.obj_norm),
    ], axis=1).astype(np.float32)

    finite_key = finite.tobytes()
    if cache.edges is not None and cache.edges[0] is block and cache.edges[1] == finite_key:
        return cons_feats, cache.edges[2][0], cache.edges[2][1]
    statics = block.statics
    edge_cons = np.repeat(np.arange(row_of.size), block.sizes[row_of])
    edge_vars = np.concatenate([statics[r][0] for r in row_of])
    edge_vals = np.concatenate([sign_ * statics[r][1] / statics[r][2]
                                for r, sign_ in zip(row_of, s, strict=True)])
    edge_index = np.stack([edge_cons, edge_vars])
    edge_feats = edge_vals.astype(np.float32)[:, None]
    cache.edges = (block, finite_key, (edge_index, edge_feats))
    return cons_feats, edge_index, edge_feats


def lp_candidates(model: pyscipopt.Model) -> tuple[list[Any], np.ndarray]:
    """The branching candidates SCIP allows at this node and their LP column positions.

    Only the first ``npriolpcands`` of ``getLPBranchCands()`` may be branched on.
    """
    cands, *_rest = model.getLPBranchCands()
    n_prio = int(_rest[3])
    cands = list(cands[:n_prio])
    positions = np.fromiter((v.getCol().getLPPos() for v in cands), dtype=np.int64,
                            count=len(cands))
    return cands, positions


class BipartiteData(Data):
    """PyG data for one node state; batches the two node sets and the candidates correctly.

    Fields: ``cons_x`` [n_cons, 5], ``var_x`` [n_vars, 19], ``edge_index`` [2, E] (constraint,
    variable), ``edge_attr`` [E, 1], ``candidates`` [n_cands] (variable indices),
    ``n_candidates`` [1], ``candidate_scores`` [n_cands] (expert scores; optional). In a
    ``Batch``, ``edge_index`` rows are offset by the constraint and variable counts and
    ``candidates`` by the variable count; ``batch``-like vectors ``var_x_batch`` come from
    ``follow_batch=["var_x"]`` if needed.
    """

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if key == "edge_index":
            return torch.tensor([[self.cons_x.size(0)], [self.var_x.size(0)]])
        if key == "candidates":
            return self.var_x.size(0)
        return super().__inc__(key, value, *args, **kwargs)


def to_data(
    state: BipartiteState,
    candidates: np.ndarray,
    scores: np.ndarray | None = None,
) -> BipartiteData:
    """Wrap a state and its candidate positions (and expert scores) as :class:`BipartiteData`."""
    candidates = np.asarray(candidates, dtype=np.int64)
    if candidates.size and (candidates.min() < 0 or candidates.max() >= state.n_vars):
        raise InvalidInstanceError("candidates", f"indices must lie in [0, {state.n_vars})")
    data = BipartiteData(
        cons_x=torch.from_numpy(np.ascontiguousarray(state.cons_features)),
        var_x=torch.from_numpy(np.ascontiguousarray(state.var_features)),
        edge_index=torch.from_numpy(np.ascontiguousarray(state.edge_index)),
        edge_attr=torch.from_numpy(np.ascontiguousarray(state.edge_features)),
        candidates=torch.from_numpy(candidates),
        n_candidates=torch.tensor([candidates.size], dtype=torch.long),
        num_nodes=state.n_vars + state.n_cons,
    )
    if scores is not None:
        data.candidate_scores = torch.as_tensor(np.asarray(scores, dtype=np.float32))
    return data


__all__ = [
    "CONS_FEATURES",
    "EDGE_FEATURES",
    "VAR_FEATURES",
    "BipartiteData",
    "BipartiteState",
    "extract_state",
    "lp_candidates",
    "to_data",
]
