"""Lot-sizing MILP baselines: the perfect-information model is the environment's dynamics (replay
equals objective, brute force agrees, HiGHS and SCIP agree), its dual bound is below every
policy's cost, the rolling-horizon policy, the evaluation helper and bad inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from orlearn.errors import ConfigError, InvalidInstanceError
from orlearn.problems.lotsizing import (
    BatchLotSizingEnv,
    LotSizingSetting,
    action_mask,
    generate,
    simulate,
)
from orlearn.problems.lotsizing.milp import (
    RollingHorizonPolicy,
    build_model,
    evaluate_baselines,
    perfect_information,
    window_cut_bound,
)
from orlearn.solvers import PersistentLP, SolutionStatus, TerminationCondition, solve

REL = 1e-6


def tiny(**changes) -> LotSizingSetting:
    """2 machines x 2 items, 3 periods, built to exercise every rule: a binding cap on item 0,
    a setup loss >= the rate (machine 1 on item 1 makes nothing in a switch period), stock and
    a setup to start from, and machine 1 set to an item it cannot make."""
    fields = dict(
        production=[[9, 4], [0, 2]],
        setup_cost=[[3.0, 2.0], [1.0, 1.5]],
        setup_loss=[[2, 1], [1, 3]],
        holding_cost=[0.3, 0.2],
        lost_sales_cost=[2.0, 1.5],
        inventory_cap=[10, 100],
        demand_trials=[6, 4],
        demand_prob=[0.5, 0.5],
        initial_inventory=[4, 1],
        initial_setup=[1, 1],
        horizon=3,
    )
    fields.update(changes)
    return LotSizingSetting(**fields)


def plan_cost(setting: LotSizingSetting, actions: np.ndarray, demand: np.ndarray) -> float:
    """Cost of replaying one plan [T, M] on one scenario [T, N] through the environment."""
    return float(simulate(setting, lambda obs, t: actions[None, t], demand[None])[0])


def idle_policy(setting: LotSizingSetting):
    return lambda obs, t: np.zeros((obs.shape[0], setting.n_machines), dtype=np.int64)


def greedy_policy(setting: LotSizingSetting):
    """Each machine makes the item it can make with the fewest periods of cover, unless every
    such item has >= 2 periods of cover (then it idles)."""
    cover_need = 2.0
    mean = np.maximum(setting.mean_demand, 1e-9)

    def act(obs: np.ndarray, t: int) -> np.ndarray:
        cover = obs[:, : setting.n_items] / mean  # [B, N]
        out = np.zeros((obs.shape[0], setting.n_machines), dtype=np.int64)
        for m in range(setting.n_machines):
            can = setting.production[m] > 0
            c = np.where(can, cover, np.inf)
            best = c.argmin(axis=1)
            go = c[np.arange(len(best)), best] < cover_need
            out[:, m] = np.where(go, best + 1, 0)
        return out

    return act


def random_policy(setting: LotSizingSetting, seed: int):
    mask = action_mask(setting)
    rng = np.random.default_rng(seed)

    def act(obs: np.ndarray, t: int) -> np.ndarray:
        out = np.zeros((obs.shape[0], setting.n_machines), dtype=np.int64)
        for m in range(setting.n_machines):
            out[:, m] = rng.choice(np.flatnonzero(mask[m]), size=obs.shape[0])
        return out

    return act


def heuristic_costs(setting: LotSizingSetting, demand: np.ndarray) -> dict[str, float]:
    d = demand[None]
    return {"idle": float(simulate(setting, idle_policy(setting), d)[0]),
            "greedy": float(simulate(setting, greedy_policy(setting), d)[0]),
            "random": float(simulate(setting, random_policy(setting, 0), d)[0])}


# ------------------------------------------------------------------------------ exactness


def free_setup(**changes) -> LotSizingSetting:
    """One machine, one item, a free setup that loses 2 units, dear holding: dropping the setup
    while idle, or switching to the item it is already set to, would pay were it allowed."""
    fields = dict(
        production=[[9]], setup_cost=[[0.0]], setup_loss=[[2]], holding_cost=[1.5],
        lost_sales_cost=[2.0], inventory_cap=[20], demand_trials=[8], demand_prob=[0.9],
        initial_inventory=[0], initial_setup=[1], horizon=3)
    fields.update(changes)
    return LotSizingSetting(**fields)


@pytest.mark.parametrize("case", [
    lambda: (tiny(), [[7, 1], [2, 3], [6, 0]]),
    # no holding cost: keeping stock ties with selling it
    lambda: (tiny(holding_cost=[0.0, 0.0]), [[7, 1], [2, 3], [6, 0]]),
    lambda: (free_setup(), [[7], [0], [7]]),
    lambda: (free_setup(), [[9], [3], [7]]),
    # not set up, stock on hand: a switch without making anything would throw units away
    lambda: (free_setup(initial_setup=[0], initial_inventory=[10]), [[2], [0], [3]]),
])
def test_brute_force_over_all_plans_matches_the_milp(case) -> None:
    s, demand = case()
    demand = np.asarray(demand)
    allowed = [np.flatnonzero(row) for row in action_mask(s)]
    per_period = list(itertools.product(*allowed))  # every masked action of one period
    plans = np.array(list(itertools.product(per_period, repeat=s.horizon)))  # [K, T, M]
    costs = simulate(s, lambda obs, t: plans[:, t], np.repeat(demand[None], len(plans), 0))
    plan = perfect_information(s, demand, rel_gap=0)
    assert plan.termination == TerminationCondition.OPTIMAL
    assert plan.objective == pytest.approx(costs.min(), rel=REL)
    assert plan_cost(s, plan.actions, demand) == pytest.approx(plan.objective, rel=REL)
    # without the sales binaries the optimum value is the same (greedy sales are optimal)
    relaxed = solve(build_model(s, demand, exact_sales=False), rel_gap=0)
    assert relaxed.objective == pytest.approx(costs.min(), rel=REL)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_fixed_plan_leaves_the_model_no_freedom(seed: int) -> None:
    """With the actions fixed, every state variable is determined and equals the environment's
    trajectory: extreme points in random directions (min and max) all agree with it."""
    import pyomo.environ as pyo

    s = generate(3, 2, seed=seed, horizon=6, inventory_cap=25, holding_cost=0.0)
    demand = s.sample_demand(1, seed=seed)[0]
    plan = random_policy(s, seed)(np.zeros((s.horizon, 1)), 0)  # [T, M] masked codes
    env = BatchLotSizingEnv(s, 1, demand=demand[None])
    post = np.array([env.step(plan[t][None]).post_obs[0, : s.n_items]
                     for t in range(s.horizon)])  # [T, N] stock after production
    model = build_model(s, demand)
    for (m, i, t), var in model.u.items():
        var.fix(float(plan[t, m] == i + 1))
    model.cost.deactivate()
    rng = np.random.default_rng(seed)
    state = [*model.p.values(), *model.q.values(), *model.w.values(), *model.y.values(),
             *model.sw.values()]
    for sense in (pyo.minimize, pyo.maximize):
        weights = rng.random(len(state))
        probe = sum(float(c) * v for c, v in zip(weights, state, strict=True))
        model.probe = pyo.Objective(expr=probe, sense=sense)
        result = solve(model, rel_gap=0)
        assert result.status == SolutionStatus.OPTIMAL
        got = np.array([[model.p[i, t].value for i in range(s.n_items)]
                        for t in range(s.horizon)])
        np.testing.assert_allclose(got, post, atol=1e-6)
        sold = np.array([[model.q[i, t].value for i in range(s.n_items)]
                         for t in range(s.horizon)])
        np.testing.assert_allclose(sold, np.minimum(post, demand), atol=1e-6)
        model.del_component(model.probe)


@pytest.mark.parametrize("seed", [3, 4])
def test_replay_equals_objective_and_solvers_agree(seed: int) -> None:
    s = generate(4, 2, seed=seed, horizon=8)
    demand = s.sample_demand(1, seed=seed + 100)[0]
    plans = {solver: perfect_information(s, demand, solver=solver, rel_gap=0)
             for solver in ("highs", "scip")}
    for plan in plans.values():
        assert plan.termination == TerminationCondition.OPTIMAL
        assert plan.status == SolutionStatus.OPTIMAL
        assert plan.actions.shape == (s.horizon, s.n_machines)
        assert plan.bound == pytest.approx(plan.objective, rel=REL)
        assert plan.gap is not None and plan.gap <= REL
        assert plan_cost(s, plan.actions, demand) == pytest.approx(plan.objective, rel=REL)
    assert plans["highs"].objective == pytest.approx(plans["scip"].objective, rel=REL)


def test_bound_below_other_policies_at_optimum() -> None:
    s = generate(4, 2, seed=5, horizon=8)
    for demand in s.sample_demand(2, seed=7):
        plan = perfect_information(s, demand)
        for name, cost in heuristic_costs(s, demand).items():
            assert plan.bound <= cost * (1 + REL), name


def test_bound_valid_when_stopped_by_time_limit() -> None:
    s = generate(15, 5, seed=0, horizon=20)
    demand = s.sample_demand(1, seed=1)[0]
    plan = perfect_information(s, demand, time_limit=2.0)
    assert plan.termination in (TerminationCondition.TIME_LIMIT, TerminationCondition.OPTIMAL)
    assert plan.bound is not None and np.isfinite(plan.bound)
    assert plan.actions is not None
    assert plan.bound <= plan.objective * (1 + REL)
    # the incumbent follows the environment's rules even when the solve was cut short
    assert plan_cost(s, plan.actions, demand) == pytest.approx(plan.objective, rel=REL)
    for name, cost in heuristic_costs(s, demand).items():
        assert plan.bound <= cost * (1 + REL), name


def test_bound_never_negative_when_stopped_before_root() -> None:
    # costs are >= 0, so a solve cut off before its root LP reports 0, never a negative bound
    s = generate(20, 10, seed=0)
    demand = s.sample_demand(1, seed=1)[0]
    plan = perfect_information(s, demand, time_limit=0.05)
    assert plan.bound is not None and plan.bound >= 0.0
    for name, cost in heuristic_costs(s, demand).items():
        assert plan.bound <= cost * (1 + REL), name


# ------------------------------------------------------------------------------ window-cut bound


def time_shared(**changes) -> LotSizingSetting:
    """One machine for three items (2 units a period each, rate 6, cap 6): it must switch about
    every period or lose sales, which the MILP's LP relaxation does not see."""
    fields = dict(
        production=[[6, 6, 6]], setup_cost=[[5.0, 5.0, 5.0]], setup_loss=[[1, 1, 1]],
        holding_cost=[0.0, 0.0, 0.0], lost_sales_cost=[2.0, 2.0, 2.0],
        inventory_cap=[6, 6, 6], demand_trials=[2, 2, 2], demand_prob=[1.0, 1.0, 1.0],
        initial_inventory=[0, 0, 0], initial_setup=[0], horizon=8)
    fields.update(changes)
    return LotSizingSetting(**fields)


def changed(s: LotSizingSetting, **fields) -> LotSizingSetting:
    return LotSizingSetting.from_dict({**s.to_dict(), **fields})


def root_relaxation(s: LotSizingSetting, demand: np.ndarray) -> float:
    lp = PersistentLP.from_pyomo(build_model(s, demand))
    lp.set_integrality(np.arange(lp.num_cols), False)
    return lp.solve().objective


@pytest.mark.parametrize("case", [
    lambda: (tiny(), np.array([[7, 1], [2, 3], [6, 0]])),
    lambda: (tiny(inventory_cap=[5, 2]), np.array([[7, 1], [2, 3], [6, 0]])),
    lambda: (free_setup(initial_setup=[0], initial_inventory=[10]), np.array([[2], [0], [3]])),
    lambda: (time_shared(), time_shared().sample_demand(1, 0)[0]),
    lambda: (generate(4, 2, seed=2, horizon=10), generate(4, 2, seed=2, horizon=10)
             .sample_demand(1, 2)[0]),
    lambda: (changed(generate(3, 2, seed=1, horizon=12), inventory_cap=[12, 12, 12]),
             generate(3, 2, seed=1, horizon=12).sample_demand(1, 4)[0]),
])
def test_window_cut_bound_below_the_optimum_and_every_policy(case) -> None:
    s, demand = case()
    cut = window_cut_bound(s, demand)
    plan = perfect_information(s, demand, rel_gap=0, time_limit=60)
    assert plan.termination == TerminationCondition.OPTIMAL
    assert cut.termination == TerminationCondition.OPTIMAL
    assert 0.0 <= cut.bound <= plan.objective * (1 + REL) + 1e-9
    for name, cost in heuristic_costs(s, demand).items():
        assert cut.bound <= cost * (1 + REL) + 1e-9, name


def test_window_cuts_charge_for_time_sharing() -> None:
    s = time_shared()
    demand = s.sample_demand(1, 0)[0]
    cut = window_cut_bound(s, demand)
    optimum = perfect_information(s, demand, rel_gap=0).objective
    root = root_relaxation(s, demand)
    # root 7.0, cut bound 21.0, optimum 60.0 (the root lets the machine make 2 of each item
    # a period with a third of a setup on each and no switch)
    assert cut.cuts > 0
    assert root == pytest.approx(7.0, abs=1e-6)
    assert cut.bound == pytest.approx(21.0, abs=1e-6)
    assert optimum == pytest.approx(60.0, rel=REL)
    # no window's demand exceeds a large cap: no cuts
    assert window_cut_bound(changed(s, inventory_cap=[100, 100, 100]), demand).cuts == 0


def test_window_cut_bound_bad_inputs() -> None:
    s = time_shared()
    demand = s.sample_demand(1, 0)[0]
    for bad in ((), (0.0,), (-5.0, 10.0), "big", (True,)):
        with pytest.raises(ConfigError, match="excess"):
            window_cut_bound(s, demand, excess=bad)
    with pytest.raises(InvalidInstanceError, match="demand"):
        window_cut_bound(s, demand[:5])
    with pytest.raises(ConfigError, match="time_limit"):
        window_cut_bound(s, demand, time_limit=-1)


# ------------------------------------------------------------------------------ rolling horizon


def test_rolling_horizon_feasible_bounded_and_deterministic() -> None:
    s = generate(4, 2, seed=2, horizon=6)
    demand = s.sample_demand(3, seed=4)
    seen: list[np.ndarray] = []
    policy = RollingHorizonPolicy(s, lookahead=3)

    def recording(obs: np.ndarray, t: int) -> np.ndarray:
        actions = policy(obs, t)
        seen.append(actions)
        return actions

    costs = simulate(s, recording, demand)
    mask = action_mask(s)
    for actions in seen:
        assert actions.shape == (3, s.n_machines)
        assert mask[np.arange(s.n_machines), actions].all()
    assert np.isfinite(costs).all()
    for k in range(len(demand)):
        bound = perfect_information(s, demand[k]).bound
        assert costs[k] >= bound * (1 - REL)
    assert policy.stats.decisions == 3 * s.horizon
    assert policy.stats.no_solution == 0
    again = simulate(s, RollingHorizonPolicy(s, lookahead=3), demand)
    np.testing.assert_array_equal(costs, again)


def test_rolling_horizon_with_full_lookahead_and_known_demand_is_optimal() -> None:
    s = generate(4, 2, seed=6, horizon=6, demand_prob=1.0)  # demand = 20 every period
    s = LotSizingSetting(**{**s.to_dict(), "demand_prob": [1.0, 0.0, 1.0, 0.0]})
    demand = s.sample_demand(1, seed=0)
    assert (demand == s.mean_demand).all()
    policy = RollingHorizonPolicy(s, lookahead=s.horizon, rel_gap=0)
    cost = simulate(s, policy, demand)[0]
    plan = perfect_information(s, demand[0], rel_gap=0)
    assert cost == pytest.approx(plan.objective, rel=REL)


def test_rolling_horizon_with_scip_matches_highs() -> None:
    s = tiny()
    obs = np.array([[4, 1, 1, 1], [10, 0, 0, 2]], dtype=np.float32)
    highs = RollingHorizonPolicy(s, lookahead=2, rel_gap=0)(obs, 0)
    scip = RollingHorizonPolicy(s, lookahead=2, solver="scip", rel_gap=0)(obs, 0)
    # the same optimal first decision (the tiny model has a unique optimum here)
    np.testing.assert_array_equal(highs, scip)


def test_evaluate_baselines_on_shared_scenarios() -> None:
    s = generate(4, 2, seed=8, horizon=6)
    demand = s.sample_demand(2, seed=9)
    out = evaluate_baselines(s, demand, time_limit=20, rolling_lookahead=2)
    for key in ("pi_bound", "pi_objective", "pi_gap", "pi_seconds", "pi_replay",
                "rolling_cost"):
        assert out[key].shape == (2,), key
    np.testing.assert_allclose(out["pi_replay"], out["pi_objective"], rtol=REL)
    assert (out["pi_bound"] <= out["pi_objective"] * (1 + REL)).all()
    assert (out["rolling_cost"] >= out["pi_bound"] * (1 - REL)).all()
    np.testing.assert_array_equal(out["rolling_cost"],
                                  simulate(s, RollingHorizonPolicy(s, lookahead=2), demand))
    skipped = evaluate_baselines(s, demand, rolling_lookahead=None)
    assert "rolling_cost" not in skipped


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("bad", [
    np.zeros((2, 2)),  # too few periods
    np.zeros((3, 3)),  # too many items
    np.zeros((1, 3, 2)),  # a scenario axis
    np.array([[1, 2], [-1, 0], [0, 0]]),
    np.array([[1, 2], [np.nan, 0], [0, 0]]),
    "lots",
])
def test_bad_demand(bad) -> None:
    with pytest.raises(InvalidInstanceError) as info:
        perfect_information(tiny(), bad)
    assert info.value.field == "demand"


@pytest.mark.parametrize("bad", [np.zeros((3, 2)), np.zeros((2, 2, 2)),
                                 -np.ones((2, 3, 2)), np.full((1, 3, 2), np.inf)])
def test_bad_demand_scenarios(bad) -> None:
    with pytest.raises(InvalidInstanceError) as info:
        evaluate_baselines(tiny(), bad, rolling_lookahead=None)
    assert info.value.field == "demand"


def test_bad_options() -> None:
    s = tiny()
    demand = np.zeros((3, 2))
    for lookahead in (0, -2, 1.5, True):
        with pytest.raises(ConfigError, match="lookahead"):
            RollingHorizonPolicy(s, lookahead=lookahead)
    with pytest.raises(ConfigError, match="lookahead"):
        evaluate_baselines(s, demand[None], rolling_lookahead=0)
    with pytest.raises(ConfigError, match="solver"):
        perfect_information(s, demand, solver="gurobi")
    with pytest.raises(ConfigError, match="solver"):
        RollingHorizonPolicy(s, solver="cplex")
    with pytest.raises(ConfigError, match="solver"):
        evaluate_baselines(s, demand[None], solver="glpk")
    with pytest.raises(ConfigError, match="time_limit"):
        RollingHorizonPolicy(s, time_limit=-1)
    with pytest.raises(InvalidInstanceError) as info:
        RollingHorizonPolicy(s)(np.zeros((2, 3)), 0)
    assert info.value.field == "obs"
    with pytest.raises(ConfigError, match="t:"):
        RollingHorizonPolicy(s)(np.zeros((1, 4)), 3)
