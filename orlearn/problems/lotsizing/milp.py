"""MILP baselines for lot-sizing: the perfect-information bound and a rolling-horizon policy.

Both rest on one Pyomo model (:func:`build_model`) that is *exactly* the environment's
dynamics (:mod:`orlearn.problems.lotsizing.env`) over a window of ``L`` periods with a known
demand path ``d[t, i]``:

* :func:`perfect_information` — the MILP that knows one demand scenario in advance. Its optimum
  is the best cost any policy could reach on that scenario; its dual bound is a valid lower bound
  on the cost of every policy (anticipative or not) on that scenario, also when the solve stops
  on a time limit. Its incumbent's actions replay through :func:`~.env.simulate` to the MILP's
  objective.
* :class:`RollingHorizonPolicy` — a practitioner's baseline: each period, solve the
  expected-demand MILP over the next ``lookahead`` periods from the current state and apply the
  first period's decision. The model is built once per window length and re-solved through
  :class:`orlearn.solvers.PersistentLP`, changing only the bounds that hold the initial stock and
  setups.
* :func:`evaluate_baselines` — both (plus the replay of the perfect-information plans) on the
  same held-out scenarios [S, T, N], so that a benchmark can report gaps.

Units: stock, demand, sales, waste in product units; costs in the setting's cost units; times
in seconds.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from orlearn.errors import ConfigError, InvalidInstanceError
from orlearn.problems.lotsizing.env import simulate
from orlearn.problems.lotsizing.settings import LotSizingSetting
from orlearn.solvers import SOLVERS, PersistentLP, SolutionStatus, TerminationCondition, solve
from orlearn.solvers._common import check_options

_ON = 0.5  # a binary read from a solution is 1 above this


# ------------------------------------------------------------------------------ checks


def _check_solver(solver: object) -> str:
    if not isinstance(solver, str) or solver.lower() not in SOLVERS:
        raise ConfigError(f"solver: unknown solver {solver!r}; valid names are "
                          f"{', '.join(SOLVERS)}")
    return solver.lower()


def _check_lookahead(lookahead: object) -> int:
    if (isinstance(lookahead, bool) or not isinstance(lookahead, numbers.Integral)
            or lookahead < 1):
        raise ConfigError(f"lookahead: must be an integer >= 1 (periods), got {lookahead!r}")
    return int(lookahead)


def check_demand(setting: LotSizingSetting, demand: Any, scenarios: bool = False
                 ) -> np.ndarray:
    """Demand as a float array [T, N] (or [S, T, N] with ``scenarios``), T = the horizon.

    Raises:
        InvalidInstanceError: (field ``"demand"``) unreadable, wrong shape, NaN/infinite or
            negative entries.
    """
    try:
        d = np.asarray(demand, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInstanceError("demand", f"cannot read {demand!r} as numbers") from None
    shape: tuple[int, ...] = (setting.horizon, setting.n_items)
    what = "one row per period, one column per item"
    if scenarios:
        if d.ndim != 3 or d.shape[0] < 1:
            raise InvalidInstanceError("demand", f"expected shape [S, {shape[0]}, {shape[1]}] "
                                       f"(scenarios, periods, items), got {list(d.shape)}")
        shape = (d.shape[0], *shape)
        what = "one [periods, items] matrix per scenario"
    if d.shape != shape:
        raise InvalidInstanceError("demand", f"expected shape {list(shape)}, got "
                                   f"{list(d.shape)}", what)
    if not np.all(np.isfinite(d)):
        raise InvalidInstanceError("demand", "contains NaN or infinite values")
    if np.any(d < 0):
        raise InvalidInstanceError("demand", f"must be >= 0, got min {d.min():g}")
    return d


# ------------------------------------------------------------------------------ the model


def makeable_pairs(setting: LotSizingSetting) -> list[tuple[int, int]]:
    """(machine, item) pairs with a positive production rate, machine-major."""
    m_idx, i_idx = np.nonzero(setting.production > 0)
    return [(int(m), int(i)) for m, i in zip(m_idx, i_idx, strict=True)]


def pair_index(setting: LotSizingSetting) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """``(by_machine, by_item)``: the items each machine makes and the machines making each
    item, from :func:`makeable_pairs` (lists in increasing order)."""
    by_machine: dict[int, list[int]] = {mm: [] for mm in range(setting.n_machines)}
    by_item: dict[int, list[int]] = {i: [] for i in range(setting.n_items)}
    for mm, i in makeable_pairs(setting):
        by_machine[mm].append(i)
        by_item[i].append(mm)
    return by_machine, by_item


def _cost_objective(setting: LotSizingSetting, d: np.ndarray, model: Any) -> Any:
    """The environment's cost summed over the window, on ``model``'s ``sw``, ``p`` and ``q``:
    ``sum setup_cost * sw + sum lost_sales_cost * (d - q) + holding_cost * (p - q)``."""
    import pyomo.environ as pyo

    sw, p, q = model.sw, model.p, model.q
    return pyo.Objective(
        expr=sum(float(setting.setup_cost[mm, i]) * sw[mm, i, t] for (mm, i, t) in sw.keys())
        + sum(float(setting.lost_sales_cost[i]) * (float(d[t, i]) - q[i, t])
              + float(setting.holding_cost[i]) * (p[i, t] - q[i, t]) for (i, t) in q.keys()),
        sense=pyo.minimize)


def setup_indicator(setting: LotSizingSetting, setup: np.ndarray) -> np.ndarray:
    """[..., M, N] 0/1: machine set to item ``i`` (setup codes [..., M]; 0 = none).

    A setup on an item the machine cannot make is shown as no setup: both make any production
    a switch, so they are the same state for costs and dynamics.
    """
    setup = np.asarray(setup, dtype=np.int64)
    one_hot = setup[..., None] == np.arange(1, setting.n_items + 1)
    return (one_hot & (setting.production > 0)).astype(float)


def build_model(setting: LotSizingSetting, demand: np.ndarray, *,
                initial_stock: np.ndarray | None = None,
                initial_setup: np.ndarray | None = None,
                exact_sales: bool = True) -> Any:
    """The lot-sizing MILP over ``L = len(demand)`` periods with known demand [L, N].

    Sets: periods ``t < L``, items ``i``, machines ``m``, makeable pairs ``(m, i)`` with
    ``P[m, i] = production[m, i] > 0``. ``Lo[m, i] = min(setup_loss, P)`` (output never
    negative). Initial state: ``s0[i]`` (stock) and ``y0[m, i]`` (0/1 setup) are *columns whose
    bounds are fixed* to the initial values, so a persistent model can move them
    (:meth:`PersistentLP.set_col_bounds`).

    Variables (all in units or 0/1):

    * ``u[m,i,t]`` binary: machine ``m`` makes item ``i`` in ``t`` (makeable pairs only);
    * ``y[m,i,t]`` in [0, 1]: ``m`` is set to ``i`` after ``t`` (integral given ``u``);
    * ``sw[m,i,t]`` in [0, 1]: ``m`` switches to ``i`` in ``t``, ``= u * (1 - y[t-1])``;
    * ``w[i,t]`` in [0, W_i], ``W_i = sum_m P[m, i]``: units wasted at the cap;
      ``z[i,t]`` binary: the cap binds;
    * ``p[i,t]`` in [0, cap_i]: stock after production (the post-decision stock);
    * ``q[i,t]`` in [0, d[t,i]]: sales; ``v[i,t]`` binary: demand (not stock) limits sales.

    Constraints (``y[.,-1] = y0``, end stock ``s[i,t] = p[i,t] - q[i,t]``, ``s[i,-1] = s0``):

    * one item per machine and period ``sum_i u <= 1``; one setup ``sum_i y <= 1``;
    * making sets up: ``u <= y``; a setup appears only by making it:
      ``y[t] <= y[t-1] + u[t]``; idle keeps the setup: ``y[t] >= y[t-1] - sum_i' u[m,i',t]``;
    * switch: ``sw >= u - y[t-1]``, ``sw <= u``, ``sw <= 1 - y[t-1]``;
    * balance: ``p = s[t-1] + sum_m (P u - Lo sw) - w``; the cap wastes only the excess:
      ``w <= W z``, ``p >= cap z`` (so ``p = min(s[t-1] + made, cap)`` exactly);
    * sales ``q <= p`` and ``q <= d``; with ``exact_sales`` also ``q >= d v`` and
      ``q >= p - cap v`` (so ``q = min(p, d)`` exactly, as in the environment; ``v`` only
      where ``0 < d < cap``, ``q >= p`` where ``d >= cap``). Without them the optimal value
      is the same (for a fixed production plan, selling greedily is optimal), but a solution
      may hold back sales (a tie, or a non-optimal incumbent); its replay then costs no more.

    Objective (minimised): ``sum setup_cost * sw + sum lost_sales_cost * (d - q)
    + sum holding_cost * (p - q)``, i.e. setup + lost-sales + holding cost, the environment's
    per-period cost summed over the window. Integer production follows from integral ``u``.

    Args:
        setting: the system.
        demand: [L, N] demand per period and item (units; fractional is fine, e.g. the mean).
        initial_stock: [N] units on hand before the first period (default: the setting's).
        initial_setup: [M] setup codes before the first period (default: the setting's).
        exact_sales: add the binaries that force greedy sales (see above).

    Returns:
        A Pyomo ``ConcreteModel`` with the components named above and ``model.cost``.
    """
    import pyomo.environ as pyo

    d = np.asarray(demand, dtype=float)
    n, m_count = setting.n_items, setting.n_machines
    if d.ndim != 2 or d.shape[1] != n or d.shape[0] < 1:
        raise InvalidInstanceError("demand", f"expected shape [periods, {n}], got "
                                   f"{list(d.shape)}")
    periods = d.shape[0]
    stock0 = setting.initial_inventory if initial_stock is None else np.asarray(initial_stock)
    setup0 = setting.initial_setup if initial_setup is None else np.asarray(initial_setup)
    y_init = setup_indicator(setting, setup0)
    prod = setting.production.astype(float)
    loss = np.minimum(setting.setup_loss, setting.production).astype(float)
    cap = setting.inventory_cap.astype(float)
    waste_max = prod.sum(axis=0)
    pairs = makeable_pairs(setting)
    by_machine, by_item = pair_index(setting)
    T = range(periods)
    items = range(n)
    machines = range(m_count)
    pt = [(mm, i, t) for (mm, i) in pairs for t in T]
    it = [(i, t) for i in items for t in T]
    mt = [(mm, t) for mm in machines for t in T]

    model = pyo.ConcreteModel(name="lotsizing")
    model.s0 = pyo.Var(items, bounds=lambda _, i: (float(stock0[i]), float(stock0[i])))
    model.y0 = pyo.Var(pairs, bounds=lambda _, mm, i: (y_init[mm, i], y_init[mm, i]))
    model.u = pyo.Var(pt, domain=pyo.Binary)
    model.y = pyo.Var(pt, bounds=(0.0, 1.0))
    model.sw = pyo.Var(pt, bounds=(0.0, 1.0))
    model.w = pyo.Var(it, bounds=lambda _, i, t: (0.0, float(waste_max[i])))
    model.p = pyo.Var(it, bounds=lambda _, i, t: (0.0, float(cap[i])))
    model.q = pyo.Var(it, bounds=lambda _, i, t: (0.0, float(d[t, i])))
    capped = [(i, t) for (i, t) in it if waste_max[i] > 0]
    model.z = pyo.Var(capped, domain=pyo.Binary)

    u, y, sw, w, p, q, z = model.u, model.y, model.sw, model.w, model.p, model.q, model.z

    def prev_y(mm: int, i: int, t: int) -> Any:
        return model.y0[mm, i] if t == 0 else y[mm, i, t - 1]

    def made(mm: int, t: int) -> Any:
        return sum(u[mm, i, t] for i in by_machine[mm])

    model.one_item = pyo.Constraint(
        [(mm, t) for (mm, t) in mt if len(by_machine[mm]) > 1],
        rule=lambda _, mm, t: made(mm, t) <= 1)
    model.one_setup = pyo.Constraint(
        [(mm, t) for (mm, t) in mt if len(by_machine[mm]) > 1],
        rule=lambda _, mm, t: sum(y[mm, i, t] for i in by_machine[mm]) <= 1)
    model.set_by_making = pyo.Constraint(pt, rule=lambda _, mm, i, t: u[mm, i, t] <= y[mm, i, t])
    model.set_only_by_making = pyo.Constraint(
        pt, rule=lambda _, mm, i, t: y[mm, i, t] <= prev_y(mm, i, t) + u[mm, i, t])
    model.idle_keeps = pyo.Constraint(
        pt, rule=lambda _, mm, i, t: y[mm, i, t] >= prev_y(mm, i, t) - made(mm, t))
    model.switch_on = pyo.Constraint(
        pt, rule=lambda _, mm, i, t: sw[mm, i, t] >= u[mm, i, t] - prev_y(mm, i, t))
    model.switch_makes = pyo.Constraint(
        pt, rule=lambda _, mm, i, t: sw[mm, i, t] <= u[mm, i, t])
    model.switch_new = pyo.Constraint(
        pt, rule=lambda _, mm, i, t: sw[mm, i, t] <= 1 - prev_y(mm, i, t))

    def balance(_: Any, i: int, t: int) -> Any:
        before = model.s0[i] if t == 0 else p[i, t - 1] - q[i, t - 1]
        output = sum(prod[mm, i] * u[mm, i, t] - loss[mm, i] * sw[mm, i, t]
                     for mm in by_item[i])
        return p[i, t] == before + output - w[i, t]

    model.balance = pyo.Constraint(it, rule=balance)
    model.waste_at_cap = pyo.Constraint(
        capped, rule=lambda _, i, t: w[i, t] <= float(waste_max[i]) * z[i, t])
    model.cap_binds = pyo.Constraint(
        capped, rule=lambda _, i, t: p[i, t] >= float(cap[i]) * z[i, t])
    model.sell_on_hand = pyo.Constraint(it, rule=lambda _, i, t: q[i, t] <= p[i, t])
    if exact_sales:
        all_sold = [(i, t) for (i, t) in it if d[t, i] >= cap[i]]
        split = [(i, t) for (i, t) in it if 0 < d[t, i] < cap[i]]
        model.sell_all = pyo.Constraint(all_sold, rule=lambda _, i, t: q[i, t] >= p[i, t])
        model.v = pyo.Var(split, domain=pyo.Binary)
        model.sell_demand = pyo.Constraint(
            split, rule=lambda _, i, t: q[i, t] >= float(d[t, i]) * model.v[i, t])
        model.sell_stock = pyo.Constraint(
            split, rule=lambda _, i, t: q[i, t] >= p[i, t] - float(cap[i]) * model.v[i, t])

    model.cost = _cost_objective(setting, d, model)
    model._pairs = pairs
    model._periods = periods
    return model


def _actions_from(values: dict[tuple[int, int, int], float], pairs: list[tuple[int, int]],
                  periods: int, n_machines: int) -> np.ndarray:
    """[periods, M] item codes from ``u`` values keyed (machine, item, period)."""
    actions = np.zeros((periods, n_machines), dtype=np.int64)
    for (mm, i) in pairs:
        for t in range(periods):
            if values[mm, i, t] > _ON:
                actions[t, mm] = i + 1
    return actions


# ------------------------------------------------------------------------------ perfect info


@dataclass
class MILPPlan:
    """The perfect-information MILP's answer on one demand scenario.

    Attributes:
        actions: [T, M] item codes of the incumbent (0 = idle), to replay in the environment;
            None when the solver found no solution.
        objective: incumbent total cost (setup + lost sales + holding), or None.
        bound: the solver's dual bound, clamped at 0 (costs are never negative): a lower
            bound on the total cost of any policy on this scenario (None if the solver gave
            none).
        gap: relative gap (objective - bound) / objective, or None.
        termination: why the solver stopped.
        status: what kind of solution is held.
        seconds: solver wall time (s); ``build_seconds``: Pyomo model building time (s).
        solver: ``"highs"`` or ``"scip"``.
    """

    actions: np.ndarray | None
    objective: float | None
    bound: float | None
    gap: float | None
    termination: TerminationCondition
    status: SolutionStatus
    seconds: float
    build_seconds: float = 0.0
    solver: str = "highs"


def perfect_information(setting: LotSizingSetting, demand: Any, solver: str = "highs",
                        time_limit: float | None = None, rel_gap: float | None = None,
                        threads: int | None = None, seed: int = 0) -> MILPPlan:
    """Solve the lot-sizing MILP of :func:`build_model` with one known demand scenario.

    Args:
        setting: the system (its initial stock and setups, horizon T).
        demand: [T, N] demand per period and item (units, >= 0; whole units as sampled).
        solver: ``"highs"`` or ``"scip"``.
        time_limit: seconds for the solver, or None. The bound stays valid when it is hit.
        rel_gap: relative gap at which to stop (fraction), or None for the solver's default
            (HiGHS 1e-4, SCIP 0).
        threads, seed: solver threads and random seed.

    Returns:
        A :class:`MILPPlan`; replaying ``plan.actions`` with :func:`~.env.simulate` on this
        scenario costs ``plan.objective`` (the model is the environment's dynamics).

    Raises:
        InvalidInstanceError: (``"demand"``) wrong shape, negative or NaN.
        ConfigError: unknown solver or invalid solver option.
    """
    solver = _check_solver(solver)
    time_limit = check_options(time_limit=time_limit, rel_gap=rel_gap, threads=threads,
                               seed=seed)
    d = check_demand(setting, demand)
    start = time.perf_counter()
    model = build_model(setting, d)
    build_seconds = time.perf_counter() - start
    result = solve(model, solver=solver, time_limit=time_limit, rel_gap=rel_gap,
                   threads=threads, seed=seed)
    actions = None
    if result.has_solution:
        values = {key: float(var.value or 0.0) for key, var in model.u.items()}
        actions = _actions_from(values, model._pairs, setting.horizon, setting.n_machines)
    # Every cost term is >= 0 (the setting validates it), so 0 is a valid bound too. A solve
    # stopped before its root LP can report a very negative dual bound (-36,616 was seen on
    # 20x10); the clamp keeps such a bound from being reported as meaningful.
    if result.bound is not None and result.bound < 0.0:
        result = replace(result, bound=0.0)
    return MILPPlan(actions=actions, objective=result.objective, bound=result.bound,
                    gap=result.gap, termination=result.termination, status=result.status,
                    seconds=result.wall_time, build_seconds=build_seconds, solver=solver)


# ------------------------------------------------------------------------------ cut bound

#: Default ``excess`` of :func:`window_cut_bound` (units of demand above the cap).
WINDOW_EXCESS = (1.0, 25.0, 50.0, 100.0, 200.0, 400.0)


@dataclass
class WindowCutBound:
    """The window-cut LP bound on one demand scenario (see :func:`window_cut_bound`).

    Attributes:
        bound: the LP optimum, a lower bound on the cost of any policy on the scenario; None
            when the LP was not solved to optimality (a stopped LP gives no valid bound).
        termination: why HiGHS stopped.
        cuts: window cuts in the LP.
        seconds: HiGHS wall time (s); ``build_seconds``: building the model (s).
    """

    bound: float | None
    termination: TerminationCondition
    cuts: int
    seconds: float
    build_seconds: float


def window_cut_bound(setting: LotSizingSetting, demand: Any,
                     excess: tuple[float, ...] = WINDOW_EXCESS,
                     time_limit: float | None = None, threads: int | None = 1,
                     seed: int = 0) -> WindowCutBound:
    """A lower bound on every policy's cost on one known demand scenario: an LP, no B&B.

    The perfect-information MILP's own LP relaxation is useless here (bounds of 0-80 against
    policy costs of 1,000+): a machine can hold a fractional mix of setups and make a little
    of every item every period without a switch. This LP adds *window cuts* that charge for it.
    For item ``i`` and a window ``W = [a, b]`` of periods, call ``Y_W`` the number of machines
    set to ``i`` before ``a`` plus the switches to ``i`` inside ``W``. With ``Y_W = 0`` no
    machine can make ``i`` in ``W`` (making needs the setup, kept from before ``a`` or made by a
    switch), so at most the stock on hand before ``a`` (``<= cap_i``) is sold and at least
    ``D_W - cap_i`` units of the window's demand ``D_W`` are lost. As ``Y_W`` is a
    non-negative integer in every plan,

        ``lost_i(W) + (D_W - cap_i) * Y_W >= D_W - cap_i``

    is valid for every plan. Summed over the machines, the setups before ``a`` are at most one
    per machine, so items beyond the machine count must pay switches in every long window, or
    lose the demand. One cut per item, start ``a`` and each value ``e`` of ``excess``: the
    shortest window from ``a`` whose demand reaches ``cap_i + e``.

    The rest is a relaxation of :func:`build_model` (each change only enlarges the plans'
    set): binaries are continuous in [0, 1]; output beyond the cap may be thrown away
    (free disposal instead of waste exactly at the cap); a setup rises only by a switch,
    ``y[t] <= y[t-1] + sw[t]`` with ``sw <= u`` (valid, and tighter than ``y <= y[t-1] + u``);
    sales are at most demand and stock. The cuts are stated through running sums of lost
    units and switches per item, so each has a few nonzeros. On the study's 20x10 setting
    (first held-out scenario) the bound is 674.5 (the MILP's root bound: 71.8; the
    rolling-horizon policy: about 1,230); the LP has about 59k rows and 50k columns, and
    HiGHS's interior point solves it in about 70 s on one loaded core (its dual simplex did
    not finish a smaller variant in 200 s).

    Args:
        setting: the system (initial stock and setups, horizon T).
        demand: [T, N] demand per period and item (units, >= 0).
        excess: units above the cap that define the windows (each > 0; more windows, a tighter
            bound and a larger LP).
        time_limit: seconds for the LP, or None.
        threads, seed: HiGHS threads and random seed.

    Raises:
        InvalidInstanceError: (``"demand"``) wrong shape, negative or NaN.
        ConfigError: an empty or non-positive ``excess``, an invalid solver option.
    """
    import pyomo.environ as pyo

    time_limit = check_options(time_limit=time_limit, threads=threads, seed=seed)
    if (not isinstance(excess, (tuple, list)) or not excess
            or any(isinstance(e, bool) or not isinstance(e, numbers.Real) or not e > 0
                   for e in excess)):
        raise ConfigError(f"excess: must be a non-empty list of positive units, got "
                          f"{excess!r}")
    d = check_demand(setting, demand)
    start = time.perf_counter()
    n, m_count, periods = setting.n_items, setting.n_machines, setting.horizon
    prod = setting.production.astype(float)
    loss = np.minimum(setting.setup_loss, setting.production).astype(float)
    cap = setting.inventory_cap.astype(float)
    y_init = setup_indicator(setting, setting.initial_setup)
    pairs = makeable_pairs(setting)
    by_machine, by_item = pair_index(setting)
    T = range(periods)
    pt = [(mm, i, t) for (mm, i) in pairs for t in T]
    it = [(i, t) for i in range(n) for t in T]

    model = pyo.ConcreteModel(name="lotsizing_window_cuts")
    model.u = pyo.Var(pt, bounds=(0.0, 1.0))
    model.y = pyo.Var(pt, bounds=(0.0, 1.0))
    model.sw = pyo.Var(pt, bounds=(0.0, 1.0))
    model.p = pyo.Var(it, bounds=lambda _, i, t: (0.0, float(cap[i])))
    model.q = pyo.Var(it, bounds=lambda _, i, t: (0.0, float(d[t, i])))
    model.lost = pyo.Var(it)  # running sum of lost units of item i up to t
    model.switches = pyo.Var(it)  # running sum of switches to item i up to t
    model.setups = pyo.Var(it)  # machines set to item i after t
    u, y, sw, p, q = model.u, model.y, model.sw, model.p, model.q

    def prev_y(mm: int, i: int, t: int) -> Any:
        return float(y_init[mm, i]) if t == 0 else y[mm, i, t - 1]

    model.one_setup = pyo.Constraint(
        [(mm, t) for mm in range(m_count) for t in T if len(by_machine[mm]) > 1],
        rule=lambda _, mm, t: sum(y[mm, i, t] for i in by_machine[mm]) <= 1)
    model.set_to_make = pyo.Constraint(pt, rule=lambda _, mm, i, t: u[mm, i, t] <= y[mm, i, t])
    model.set_by_switch = pyo.Constraint(
        pt, rule=lambda _, mm, i, t: y[mm, i, t] <= prev_y(mm, i, t) + sw[mm, i, t])
    model.switch_makes = pyo.Constraint(pt, rule=lambda _, mm, i, t: sw[mm, i, t] <= u[mm, i, t])

    def balance(_: Any, i: int, t: int) -> Any:
        before = float(setting.initial_inventory[i]) if t == 0 else p[i, t - 1] - q[i, t - 1]
        return p[i, t] <= before + sum(prod[mm, i] * u[mm, i, t] - loss[mm, i] * sw[mm, i, t]
                                       for mm in by_item[i])

    model.balance = pyo.Constraint(it, rule=balance)
    model.sell_on_hand = pyo.Constraint(it, rule=lambda _, i, t: q[i, t] <= p[i, t])
    model.lost_sum = pyo.Constraint(it, rule=lambda _, i, t: model.lost[i, t] == (
        model.lost[i, t - 1] if t else 0.0) + float(d[t, i]) - q[i, t])
    model.switch_sum = pyo.Constraint(it, rule=lambda _, i, t: model.switches[i, t] == (
        model.switches[i, t - 1] if t else 0.0) + sum(sw[mm, i, t] for mm in by_item[i]))
    model.setup_sum = pyo.Constraint(it, rule=lambda _, i, t: model.setups[i, t] == sum(
        y[mm, i, t] for mm in by_item[i]))
    model.window = pyo.ConstraintList()
    for i in range(n):
        cum = np.concatenate([[0.0], np.cumsum(d[:, i])])
        set_before = float(sum(y_init[mm, i] for mm in by_item[i]))
        for a in T:
            ends = sorted({int(np.searchsorted(cum, cum[a] + cap[i] + e)) - 1 for e in excess}
                          - {periods})
            for b in ends:
                short = float(cum[b + 1] - cum[a] - cap[i])  # D_W - cap_i > 0
                lost = model.lost[i, b] - (model.lost[i, a - 1] if a else 0.0)
                credit = ((model.setups[i, a - 1] if a else set_before) + model.switches[i, b]
                          - (model.switches[i, a - 1] if a else 0.0))
                model.window.add(lost + short * credit >= short)
    model.cost = _cost_objective(setting, d, model)
    lp = PersistentLP.from_pyomo(model, time_limit=time_limit, threads=threads, seed=seed,
                                 lp_method="ipm")
    build_seconds = time.perf_counter() - start
    result = lp.solve()
    optimal = result.termination == TerminationCondition.OPTIMAL
    return WindowCutBound(bound=max(float(result.objective), 0.0) if optimal else None,
                          termination=result.termination, cuts=len(model.window),
                          seconds=result.wall_time, build_seconds=build_seconds)


# ------------------------------------------------------------------------------ rolling horizon


@dataclass
class _Window:
    """A cached model for one window length."""

    model: Any
    lp: PersistentLP | None  # HiGHS persistent model (None for SCIP)
    stock_cols: np.ndarray  # [N] columns of s0
    setup_cols: np.ndarray  # [pairs] columns of y0
    first_cols: np.ndarray  # [pairs] columns of u[., ., 0]


@dataclass
class RollingStats:
    """Counters of a :class:`RollingHorizonPolicy` (seconds are wall time)."""

    decisions: int = 0  # rows decided
    solves: int = 0  # MILPs solved (rows not found in the cache)
    solve_seconds: float = 0.0
    build_seconds: float = 0.0
    no_solution: int = 0  # solves without an incumbent (the rows went idle)
    limited: int = 0  # solves stopped by the time limit with an incumbent
    max_solve_seconds: float = 0.0  # the longest solve (HiGHS can overrun its time limit)
    terminations: dict[str, int] = field(default_factory=dict)


class RollingHorizonPolicy:
    """Rolling-horizon MILP on expected demand: a practitioner's baseline.

    At period ``t``, for each row of the observation, solve the model of :func:`build_model`
    over periods ``t .. min(t + lookahead, T) - 1`` with demand ``setting.mean_demand`` in every
    period (fractional units; an expected-value plan), starting from the row's stock and setups,
    and return the first period's decision. One model is built per window length (the full
    window, and the shorter ones of the last ``lookahead - 1`` periods, lazily) and re-solved
    with only the bounds of the initial-stock and initial-setup columns changed. Identical
    (window, state) pairs are solved once (the policy is deterministic).

    Args:
        setting: the system.
        lookahead: window length in periods (>= 1).
        solver: ``"highs"`` (a :class:`PersistentLP`) or ``"scip"`` (the cached Pyomo model's
            bounds changed and re-solved with :func:`orlearn.solvers.solve`; slower).
        time_limit: seconds per window solve, or None. A solve that stops without an incumbent
            leaves the row idle (counted in ``stats.no_solution``).
        rel_gap: relative gap per window solve (fraction), or None for the solver's default.
        threads, seed: solver threads and random seed.
        exact_sales: passed to :func:`build_model`.

    Call: ``policy(obs [B, N + M], t) -> actions [B, M]`` (``obs`` as from the environment:
    stock per item, rounded and clipped to [0, cap], then setup code per machine).

    Cost: one MILP per distinct (window, state), at most ``time_limit`` each; with lookahead 5
    and the 10 s default, 100 periods take up to about 17 min per scenario (HiGHS solves many
    15x5 and 25x10 windows only to the limit; 20x10 ones took about 3 s). Solves that stop on
    the time limit make the policy depend on the machine's speed; ``stats`` counts them and
    records the longest solve.

    Raises:
        ConfigError: lookahead < 1, unknown solver, invalid option.
    """

    def __init__(self, setting: LotSizingSetting, lookahead: int = 5, solver: str = "highs",
                 time_limit: float | None = 10.0, rel_gap: float | None = 0.01,
                 threads: int | None = 1, seed: int = 0, exact_sales: bool = True) -> None:
        self.setting = setting
        self.lookahead = _check_lookahead(lookahead)
        self.solver = _check_solver(solver)
        self.time_limit = check_options(time_limit=time_limit, rel_gap=rel_gap,
                                        threads=threads, seed=seed)
        self.rel_gap = rel_gap
        self.threads = threads
        self.seed = seed
        self.exact_sales = bool(exact_sales)
        self.pairs = makeable_pairs(setting)
        self._pair_m = np.array([mm for mm, _ in self.pairs], dtype=np.int64)
        self._pair_i = np.array([i for _, i in self.pairs], dtype=np.int64)
        self._windows: dict[int, _Window] = {}
        self._cache: dict[tuple[int, bytes], np.ndarray] = {}
        self.stats = RollingStats()

    def _window(self, length: int) -> _Window:
        if length in self._windows:
            return self._windows[length]
        start = time.perf_counter()
        s = self.setting
        demand = np.tile(s.mean_demand.astype(float), (length, 1))
        model = build_model(s, demand, exact_sales=self.exact_sales)
        lp = None
        stock_cols = setup_cols = first_cols = np.zeros(0, dtype=np.int32)
        if self.solver == "highs":
            lp = PersistentLP.from_pyomo(model, time_limit=self.time_limit,
                                         rel_gap=self.rel_gap, threads=self.threads,
                                         seed=self.seed)
            stock_cols = np.array([lp.col(model.s0[i]) for i in range(s.n_items)],
                                  dtype=np.int32)
            setup_cols = np.array([lp.col(model.y0[pair]) for pair in self.pairs],
                                  dtype=np.int32)
            first_cols = np.array([lp.col(model.u[(*pair, 0)]) for pair in self.pairs],
                                  dtype=np.int32)
        window = _Window(model, lp, stock_cols, setup_cols, first_cols)
        self._windows[length] = window
        self.stats.build_seconds += time.perf_counter() - start
        return window

    def _count(self, termination: TerminationCondition, has_solution: bool) -> None:
        st = self.stats
        st.solves += 1
        st.terminations[termination.value] = st.terminations.get(termination.value, 0) + 1
        if not has_solution:
            st.no_solution += 1
        elif termination == TerminationCondition.TIME_LIMIT:
            st.limited += 1

    def _solve_row(self, window: _Window, stock: np.ndarray, setup: np.ndarray) -> np.ndarray:
        """[M] first-period action of the window MILP from (stock [N], setup codes [M])."""
        y0 = setup_indicator(self.setting, setup)[self._pair_m, self._pair_i]
        action = np.zeros(self.setting.n_machines, dtype=np.int64)
        start = time.perf_counter()
        if window.lp is not None:
            lp = window.lp
            lp.set_col_bounds(window.stock_cols, stock, stock)
            lp.set_col_bounds(window.setup_cols, y0, y0)
            res = lp.solve(warm_start=False)  # cold: the answer depends on the state only
            self._count(res.termination, res.has_solution)
            if res.has_solution and res.x is not None:
                on = res.x[window.first_cols] > _ON
                action[self._pair_m[on]] = self._pair_i[on] + 1
        else:
            model = window.model
            for i in range(self.setting.n_items):
                model.s0[i].setlb(float(stock[i]))
                model.s0[i].setub(float(stock[i]))
            for k, pair in enumerate(self.pairs):
                model.y0[pair].setlb(float(y0[k]))
                model.y0[pair].setub(float(y0[k]))
            result = solve(model, solver=self.solver, time_limit=self.time_limit,
                           rel_gap=self.rel_gap, threads=self.threads, seed=self.seed)
            self._count(result.termination, result.has_solution)
            if result.has_solution:
                for mm, i in self.pairs:
                    if float(model.u[mm, i, 0].value or 0.0) > _ON:
                        action[mm] = i + 1
        took = time.perf_counter() - start
        self.stats.solve_seconds += took
        self.stats.max_solve_seconds = max(self.stats.max_solve_seconds, took)
        return action

    def __call__(self, obs: Any, t: int) -> np.ndarray:
        """Actions [B, M] (item codes) for observations [B, N + M] at period ``t``."""
        s = self.setting
        n, m_count = s.n_items, s.n_machines
        x = np.asarray(obs, dtype=float)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != n + m_count:
            raise InvalidInstanceError("obs", f"expected shape [B, {n + m_count}] (stock per "
                                       f"item, then setup per machine), got {list(x.shape)}")
        if not isinstance(t, numbers.Integral) or not 0 <= t < s.horizon:
            raise ConfigError(f"t: must be a period in 0 .. {s.horizon - 1}, got {t!r}")
        length = min(self.lookahead, s.horizon - int(t))
        window = self._window(length)
        stock = np.clip(np.rint(x[:, :n]), 0, s.inventory_cap)
        setup = np.rint(x[:, n:]).astype(np.int64)
        if np.any(setup < 0) or np.any(setup > n):
            raise InvalidInstanceError("obs", f"setup codes must lie in 0 (none) .. {n}")
        out = np.zeros((x.shape[0], m_count), dtype=np.int64)
        for b in range(x.shape[0]):
            key = (length, stock[b].tobytes() + setup[b].tobytes())
            if key not in self._cache:
                self._cache[key] = self._solve_row(window, stock[b], setup[b])
            out[b] = self._cache[key]
        self.stats.decisions += x.shape[0]
        return out


# ------------------------------------------------------------------------------ evaluation


def evaluate_baselines(setting: LotSizingSetting, demand: Any, solver: str = "highs",
                       time_limit: float | None = 60.0, rel_gap: float | None = None,
                       threads: int | None = None, seed: int = 0,
                       rolling_lookahead: int | None = 5,
                       rolling_time_limit: float | None = 10.0,
                       rolling_rel_gap: float | None = 0.01) -> dict[str, Any]:
    """Perfect-information and rolling-horizon baselines on the same scenarios [S, T, N].

    Args:
        setting: the system.
        demand: [S, T, N] demand scenarios (units), e.g. ``setting.sample_demand(S, seed)``.
        solver, time_limit, rel_gap, threads, seed: for each perfect-information MILP (time
            limit in seconds per scenario).
        rolling_lookahead: window of the rolling-horizon policy (periods), or None to skip it.
        rolling_time_limit, rolling_rel_gap: per window solve of the rolling-horizon policy.

    Returns:
        A dict of arrays over scenarios [S] (costs in the setting's units):
        ``pi_bound`` (dual bound: no policy costs less on that scenario), ``pi_objective``
        (incumbent), ``pi_gap``, ``pi_seconds`` (solver time), ``pi_replay`` (the incumbent's
        actions replayed through :func:`~.env.simulate`, equal to ``pi_objective``),
        ``pi_termination`` (strings); NaN where the solver gave no value. With a rolling policy
        also ``rolling_cost`` [S] (simulated), ``rolling_seconds`` (total wall time) and
        ``rolling_stats`` (a :class:`RollingStats`).

    Raises:
        InvalidInstanceError: (``"demand"``) wrong shape, negative or NaN.
        ConfigError: unknown solver, lookahead < 1, invalid option.
    """
    solver = _check_solver(solver)
    if rolling_lookahead is not None:
        _check_lookahead(rolling_lookahead)
    d = check_demand(setting, demand, scenarios=True)
    count = d.shape[0]

    def nan_if_none(value: float | None) -> float:
        return math.nan if value is None else float(value)

    plans = [perfect_information(setting, d[k], solver=solver, time_limit=time_limit,
                                 rel_gap=rel_gap, threads=threads, seed=seed)
             for k in range(count)]
    out: dict[str, Any] = {
        "pi_bound": np.array([nan_if_none(p.bound) for p in plans]),
        "pi_objective": np.array([nan_if_none(p.objective) for p in plans]),
        "pi_gap": np.array([nan_if_none(p.gap) for p in plans]),
        "pi_seconds": np.array([p.seconds for p in plans]),
        "pi_termination": np.array([p.termination.value for p in plans]),
    }
    has_plan = np.array([p.actions is not None for p in plans])
    replay = np.full(count, math.nan)
    if has_plan.any():
        idle = np.zeros((setting.horizon, setting.n_machines), dtype=np.int64)
        actions = np.stack([idle if p.actions is None else p.actions for p in plans])
        replay = simulate(setting, lambda obs, t: actions[:, t], d)
        replay[~has_plan] = math.nan
    out["pi_replay"] = replay
    if rolling_lookahead is not None:
        policy = RollingHorizonPolicy(setting, rolling_lookahead, solver=solver,
                                      time_limit=rolling_time_limit, rel_gap=rolling_rel_gap,
                                      threads=threads, seed=seed)
        start = time.perf_counter()
        out["rolling_cost"] = simulate(setting, policy, d)
        out["rolling_seconds"] = time.perf_counter() - start
        out["rolling_stats"] = policy.stats
    return out


__all__ = [
    "WINDOW_EXCESS",
    "MILPPlan",
    "RollingHorizonPolicy",
    "RollingStats",
    "WindowCutBound",
    "build_model",
    "check_demand",
    "evaluate_baselines",
    "makeable_pairs",
    "pair_index",
    "perfect_information",
    "setup_indicator",
    "window_cut_bound",
]
