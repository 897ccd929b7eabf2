"""The stage problem of hydrothermal dispatch as an LP, held in one persistent highspy model.

Per stage, with ``k = water_coef``:

- water balance per plant: ``v_out + k turbine + k spill - k (upstream turbine + upstream
  spill) = v_in + k inflow`` (right-hand side changes between solves);
- power balance per bus: thermal + production x turbine + deficit - flows out + flows in =
  load; DC flows ``flow = (angle_from - angle_to) / reactance`` within the line limits, the
  reference bus at angle 0;
- bounds: ``min_volume <= v_out <= max_volume``, turbined flow limits, spill and deficit >= 0;
- optional target rows (TS-DDR): ``v_out + s_plus - s_minus = target`` with penalty
  ``target_penalty x (s_plus + s_minus)``;
- optional future-cost variable ``alpha >= 0`` with Benders cuts ``alpha >= a + pi . v_out``
  (SDDP).

Objective: thermal cost + deficit cost + hydro cost + spill cost (+ penalty + alpha). Only
right-hand sides (``v_in``, inflows, targets) and added cuts change across stages and
scenarios, so one LP object serves a whole rollout, warm-started.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from orlearn.problems.hydro.system import HydroSystem
from orlearn.solvers import PersistentLP, SolveError


@dataclass(frozen=True)
class StageLayout:
    """Column and row blocks of the stage LP (Python slices)."""

    volume: slice
    turbine: slice
    spill: slice
    thermal: slice
    deficit: slice
    angle: slice
    flow: slice
    water: slice
    balance: slice
    flow_def: slice
    n_cols: int
    n_rows: int


def _blocks(sizes: list[tuple[str, int]]) -> dict[str, slice]:
    out, start = {}, 0
    for name, n in sizes:
        out[name] = slice(start, start + n)
        start += n
    return out


def stage_arrays(system: HydroSystem) -> tuple[StageLayout, np.ndarray, np.ndarray, np.ndarray,
                                                sp.csr_array, np.ndarray, np.ndarray]:
    """(layout, cost, col_lb, col_ub, A, row_lb, row_ub) of one stage LP without targets or
    cuts; the water rows' bounds are placeholders (``v_in + k inflow`` is set per solve)."""
    s = system
    h, g, b, n_lines = s.n_plants, s.n_thermal, s.n_buses, s.n_lines
    k = s.water_coef
    cols = _blocks([("volume", h), ("turbine", h), ("spill", h), ("thermal", g),
                    ("deficit", b), ("angle", b), ("flow", n_lines)])
    rows = _blocks([("water", h), ("balance", b), ("flow_def", n_lines)])
    n_cols = cols["flow"].stop
    n_rows = rows["flow_def"].stop
    layout = StageLayout(**cols, **rows, n_cols=n_cols, n_rows=n_rows)
    cost = np.zeros(n_cols)
    cost[layout.turbine] = s.hydro_cost * s.production
    cost[layout.spill] = s.spill_cost * k
    cost[layout.thermal] = s.thermal_cost
    cost[layout.deficit] = s.deficit_cost
    lb = np.zeros(n_cols)
    ub = np.full(n_cols, np.inf)
    lb[layout.volume], ub[layout.volume] = s.min_volume, s.max_volume
    lb[layout.turbine], ub[layout.turbine] = s.min_turbine, s.max_turbine
    ub[layout.thermal] = s.thermal_capacity
    lb[layout.angle], ub[layout.angle] = -np.inf, np.inf
    ref = layout.angle.start + int(s.ref_bus)
    lb[ref] = ub[ref] = 0.0
    lb[layout.flow], ub[layout.flow] = -s.line_limit, s.line_limit
    entries: list[tuple[int, int, float]] = []
    plants = np.arange(h)
    for i in plants:
        r = layout.water.start + i
        entries += [(r, layout.volume.start + i, 1.0), (r, layout.turbine.start + i, k),
                    (r, layout.spill.start + i, k)]
    for up in plants:
        for down, block in ((s.downstream_turbine[up], layout.turbine),
                            (s.downstream_spill[up], layout.spill)):
            if down >= 0:
                entries.append((layout.water.start + int(down), block.start + int(up), -k))
    for j in range(g):
        entries.append((layout.balance.start + int(s.thermal_bus[j]), layout.thermal.start + j,
                        1.0))
    for i in plants:
        entries.append((layout.balance.start + int(s.hydro_bus[i]), layout.turbine.start + i,
                        float(s.production[i])))
    for bus in range(b):
        entries.append((layout.balance.start + bus, layout.deficit.start + bus, 1.0))
    for line in range(n_lines):
        f, t = int(s.line_from[line]), int(s.line_to[line])
        col = layout.flow.start + line
        entries += [(layout.balance.start + f, col, -1.0), (layout.balance.start + t, col, 1.0)]
        r = layout.flow_def.start + line
        x = float(s.line_reactance[line])
        entries += [(r, col, 1.0), (r, layout.angle.start + f, -1.0 / x),
                    (r, layout.angle.start + t, 1.0 / x)]
    r_idx, c_idx, val = (np.array(v) for v in zip(*entries, strict=True))
    A = sp.csr_array((val.astype(np.float64), (r_idx.astype(np.int64), c_idx.astype(np.int64))),
                     shape=(n_rows, n_cols))
    row_lb = np.zeros(n_rows)
    row_lb[layout.balance] = s.bus_load
    row_ub = row_lb.copy()
    return layout, cost, lb, ub, A, row_lb, row_ub


def default_target_penalty(system: HydroSystem) -> float:
    """Penalty per hm3 of target miss: twice an upper bound on the marginal value of water.

    One hm3 turbined along a cascade makes at most ``sum of production / k`` p.u., each worth
    at most the deficit cost; a larger penalty makes the LP meet any reachable target."""
    s = system
    chain = np.zeros(s.n_plants)
    for start in range(s.n_plants):
        node, total = start, 0.0
        while node >= 0:
            total += float(s.production[node])
            node = int(s.downstream_turbine[node])
        chain[start] = total
    return float(2.0 * s.deficit_cost * chain.max() / s.water_coef)


@dataclass
class StageSolution:
    """One solved stage (units of :class:`HydroSystem`)."""

    cost: float            # immediate operating cost (no penalty, no future cost)
    objective: float       # LP objective: cost + penalty + future cost
    penalty: float         # target-miss penalty
    future: float          # alpha (0 without cuts)
    volume: np.ndarray     # end-of-stage volumes [plants], hm3
    turbine: np.ndarray    # [plants] m3/s
    spill: np.ndarray      # [plants] m3/s
    thermal: np.ndarray    # [thermal] p.u.
    deficit: np.ndarray    # [buses] p.u.
    water_dual: np.ndarray  # d objective / d v_in [plants]
    target_dual: np.ndarray | None  # d objective / d target [plants], with targets only
    hydro: float = 0.0     # hydro generation, p.u.


class StageLP:
    """The stage LP of ``system`` on a persistent highspy model.

    Args:
        system: the hydrothermal system.
        targets: add target rows with slacks (TS-DDR).
        target_penalty: cost per hm3 of target miss (default :func:`default_target_penalty`).
        cuts: add the future-cost variable ``alpha`` for Benders cuts (SDDP).
    """

    def __init__(self, system: HydroSystem, *, targets: bool = False,
                 target_penalty: float | None = None, cuts: bool = False) -> None:
        self.system = system
        layout, cost, lb, ub, A, row_lb, row_ub = stage_arrays(system)
        self.layout = layout
        self.lp = PersistentLP.from_arrays(cost, A, row_lb, row_ub, lb, ub)
        h = system.n_plants
        self._water_rows = np.arange(layout.water.start, layout.water.stop, dtype=np.int32)
        self._volume_cols = np.arange(layout.volume.start, layout.volume.stop, dtype=np.int32)
        self.has_targets = targets
        self.target_penalty = 0.0
        if targets:
            self.target_penalty = float(default_target_penalty(system) if target_penalty is None
                                        else target_penalty)
            if self.target_penalty <= 0:
                raise SolveError("target_penalty must be > 0")
            slacks = self.lp.add_vars(2 * h, 0.0, np.inf, self.target_penalty)
            self._slack_cols = slacks
            rows = sp.lil_array((h, self.lp.num_cols))
            for i in range(h):
                rows[i, layout.volume.start + i] = 1.0
                rows[i, slacks[i]] = 1.0
                rows[i, slacks[h + i]] = -1.0
            self._target_rows = self.lp.add_rows(system.initial_volume, system.initial_volume,
                                                 rows.tocsr())
        self.has_cuts = cuts
        self.n_cuts = 0
        if cuts:
            self._alpha = int(self.lp.add_vars(1, 0.0, np.inf, 1.0)[0])

    def add_cut(self, intercept: float, slope: np.ndarray) -> None:
        """Add ``alpha >= intercept + slope . v_out`` (needs ``cuts=True``)."""
        if not self.has_cuts:
            raise SolveError("this stage LP was built without a future-cost variable")
        cols = np.r_[self._alpha, self._volume_cols]
        vals = np.r_[1.0, -np.asarray(slope, dtype=np.float64)]
        self.lp.add_row(float(intercept), np.inf, cols, vals)
        self.n_cuts += 1

    def solve(self, volume: np.ndarray, inflow: np.ndarray, target: np.ndarray | None = None,
              *, stage: int | None = None) -> StageSolution:
        """Solve the stage from start volumes ``volume`` (hm3) with ``inflow`` (m3/s).

        Raises:
            SolveError: the LP is infeasible or fails (reported with the stage, never skipped).
        """
        s = self.system
        rhs = np.asarray(volume, dtype=np.float64) + s.water_coef * np.asarray(inflow, float)
        self.lp.set_row_bounds(self._water_rows, rhs, rhs)
        if self.has_targets:
            if target is None:
                raise SolveError("this stage LP needs a target volume per plant")
            t = np.asarray(target, dtype=np.float64)
            self.lp.set_row_bounds(self._target_rows, t, t)
        result = self.lp.solve()
        if result.termination.value == "optimal" and result.row_duals is None:
            # HiGHS occasionally ends a warm re-solve optimal without a dual solution
            # (seen once in 10^5 Bolivian solves): solve again from scratch
            result = self.lp.solve(warm_start=False)
        if result.termination.value != "optimal" or result.x is None \
                or result.row_duals is None:
            where = f"stage {stage}" if stage is not None else "a stage"
            detail = "" if result.row_duals is not None or result.x is None else ", no duals"
            raise SolveError(f"the stage LP of {where} ended {result.termination.value} "
                             f"({result.message}{detail}); start volumes "
                             f"{np.round(volume, 4).tolist()}")
        x = result.x
        lay = self.layout
        penalty = 0.0
        target_dual = None
        if self.has_targets:
            penalty = self.target_penalty * float(x[self._slack_cols].sum())
            target_dual = result.row_duals[self._target_rows]
        future = float(x[self._alpha]) if self.has_cuts else 0.0
        objective = float(result.objective)
        sol = StageSolution(
            cost=objective - penalty - future, objective=objective, penalty=penalty,
            future=future, volume=x[lay.volume].copy(), turbine=x[lay.turbine].copy(),
            spill=x[lay.spill].copy(), thermal=x[lay.thermal].copy(),
            deficit=x[lay.deficit].copy(), water_dual=result.row_duals[self._water_rows].copy(),
            target_dual=None if target_dual is None else target_dual.copy(),
            hydro=float(s.production @ x[lay.turbine]))
        return sol


def deterministic_lp(system: HydroSystem, inflows: np.ndarray,
                     initial_volume: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Perfect-foresight (wait-and-see) LP over one inflow path ``[stages, plants]``.

    Returns (total operating cost, end-of-stage volumes ``[stages, plants]``). No value is
    put on the water left at the end, so for each path it is a lower bound on the cost of any
    non-anticipative policy over the same stages.
    """
    s = system
    path = np.asarray(inflows, dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != s.n_plants:
        raise SolveError(f"inflows: expected [stages, {s.n_plants}], got {path.shape}")
    T = path.shape[0]
    v0 = s.initial_volume if initial_volume is None else np.asarray(initial_volume, float)
    layout, cost, lb, ub, A, row_lb, row_ub = stage_arrays(s)
    n, m = layout.n_cols, layout.n_rows
    big = sp.kron(sp.identity(T, format="csr"), A, format="lil")
    for t in range(1, T):
        for i in range(s.n_plants):
            big[t * m + layout.water.start + i, (t - 1) * n + layout.volume.start + i] = -1.0
    lo = np.tile(row_lb, T)
    hi = np.tile(row_ub, T)
    for t in range(T):
        water = t * m + np.arange(layout.water.start, layout.water.stop)
        rhs = s.water_coef * path[t] + (v0 if t == 0 else 0.0)
        lo[water] = rhs
        hi[water] = rhs
    lp = PersistentLP.from_arrays(np.tile(cost, T), big.tocsr(), lo, hi, np.tile(lb, T),
                                  np.tile(ub, T))
    result = lp.solve()
    if result.termination.value != "optimal" or result.x is None:
        raise SolveError(f"the deterministic LP ended {result.termination.value} "
                         f"({result.message})")
    volumes = result.x.reshape(T, n)[:, layout.volume]
    return float(result.objective), volumes
