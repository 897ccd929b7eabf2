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
``getRowDualSol``, ``getRowLPActivity``, ``Column.getBasisStatus/getAge/getPrimsol/getLb/getUb``,
``Row.getCols/getVals/getNorm/getLhs/getRhs/getConstant/getAge``, ``Variable.getAvgSol``.

The graph is returned as :class:`BipartiteState` (numpy) and turned into a PyTorch Geometric
:class:`BipartiteData`, whose batching offsets constraint indices, variable indices and the
candidate indices by the right node counts.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class _RowCache:
    """Row structures (column positions, coefficients, norms) keyed by row identity.

    A row's coefficients do not change during the search, so they are read once per row; with
    cuts at the root only, every node after the root reuses them. The key is the SCIP row
    (PySCIPOpt hashes the pointer) with its name and nonzero count, so a freed row whose memory
    is reused by another row is not mistaken for it.
    """

    def __init__(self) -> None:
        self.rows: dict[Any, tuple[np.ndarray, np.ndarray, float]] = {}

    def get(self, row: Any) -> tuple[np.ndarray, np.ndarray, float]:
        key = (row, row.name, row.getNNonz())
        cached = self.rows.get(key)
        if cached is None:
            cols = np.fromiter((c.getLPPos() for c in row.getCols()), dtype=np.int64)
            vals = np.asarray(row.getVals(), dtype=np.float64)
            keep = cols >= 0
            cached = (cols[keep], vals[keep], float(row.getNorm()))
            self.rows[key] = cached
        return cached


def extract_state(model: pyscipopt.Model, cache: _RowCache | None = None) -> BipartiteState:
    """Build the bipartite state of the current node; call it where the node LP is solved.

    Args:
        model: a SCIP model inside a branching callback (``branchexeclp``) or any callback
            where the node LP is solved to optimality.
        cache: a :class:`_RowCache` kept across the nodes of one solve (faster); None reads
            every row afresh.
    """
    cols = model.getLPColsData()
    rows = model.getLPRowsData()
    n_cols = len(cols)
    if n_cols == 0:
        raise InvalidInstanceError("model", "the node LP has no columns", fix="call at a node "
                                   "whose LP is solved, e.g. in branchexeclp")
    n_lps = float(model.getNLPs())
    inf = float(model.infinity())
    best = model.getBestSol() if model.getNSols() > 0 else None

    obj = np.empty(n_cols)
    lb = np.empty(n_cols)
    ub = np.empty(n_cols)
    sol = np.empty(n_cols)
    redcost = np.empty(n_cols)
    age = np.empty(n_cols)
    inc = np.zeros(n_cols)
    avg_inc = np.zeros(n_cols)
    vtype = np.empty(n_cols, dtype=np.int64)
    basis = np.empty(n_cols, dtype=np.int64)
    names = []
    for i, col in enumerate(cols):
        var = col.getVar()
        obj[i] = col.getObjCoeff()
        lb[i] = col.getLb()
        ub[i] = col.getUb()
        sol[i] = col.getPrimsol()
        redcost[i] = model.getColRedCost(col)
        age[i] = col.getAge()
        vtype[i] = _TYPES.get(var.vtype(), 3)
        basis[i] = _BASIS.get(col.getBasisStatus(), 3)
        names.append(var.name)
        if best is not None:
            inc[i] = model.getSolVal(best, var)
            avg_inc[i] = var.getAvgSol()
    obj_norm = float(np.linalg.norm(obj))
    obj_norm = obj_norm if obj_norm > 0 else 1.0
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

    cache = cache if cache is not None else _RowCache()
    cons_rows: list[list[float]] = []
    edge_cons: list[np.ndarray] = []
    edge_vars: list[np.ndarray] = []
    edge_vals: list[np.ndarray] = []
    for row in rows:
        row_cols, row_vals, norm = cache.get(row)
        if norm <= 0 or row_cols.size == 0:
            continue
        const = row.getConstant()
        activity = model.getRowLPActivity(row)
        dual = model.getRowDualSol(row)
        row_age = row.getAge() / (n_lps + 5.0)
        cosine = float(row_vals @ obj[row_cols]) / (norm * obj_norm)
        for sign, side in ((1.0, row.getRhs()), (-1.0, row.getLhs())):
            if abs(side) >= inf:
                continue
            bound = side - const
            tight = abs(activity - side) <= 1e-6 * max(1.0, abs(side))
            cons_rows.append([
                sign * cosine, sign * bound / norm, float(tight), row_age,
                sign * dual / (norm * obj_norm),
            ])
            k = len(cons_rows) - 1
            edge_cons.append(np.full(row_cols.size, k, dtype=np.int64))
            edge_vars.append(row_cols)
            edge_vals.append(sign * row_vals / norm)
    if cons_rows:
        cons_feats = np.asarray(cons_rows, dtype=np.float32)
        edge_index = np.stack([np.concatenate(edge_cons), np.concatenate(edge_vars)])
        edge_feats = np.concatenate(edge_vals).astype(np.float32)[:, None]
    else:
        cons_feats = np.zeros((0, len(CONS_FEATURES)), dtype=np.float32)
        edge_index = np.zeros((2, 0), dtype=np.int64)
        edge_feats = np.zeros((0, 1), dtype=np.float32)
    return BipartiteState(var_feats, cons_feats, edge_index, edge_feats, tuple(names))


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
