"""Lot-sizing settings and step semantics on hand-computed cases, the post-decision split, and
bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from orlearn.errors import ConfigError, InvalidInstanceError
from orlearn.problems.lotsizing import (
    CONFIGURATIONS,
    BatchLotSizingEnv,
    LotSizingEnv,
    LotSizingSetting,
    action_mask,
    configuration,
    generate,
    simulate,
)


def tiny(**changes) -> LotSizingSetting:
    """2 machines x 3 items; machine 1 cannot make item 0."""
    fields = dict(
        production=[[10, 5, 0], [0, 8, 6]],
        setup_cost=[[20.0, 15.0, 30.0], [25.0, 18.0, 16.0]],
        setup_loss=[[2, 1, 3], [1, 3, 2]],
        holding_cost=[0.01, 0.02, 0.01],
        lost_sales_cost=[1.1, 0.1, 1.1],
        inventory_cap=[12, 100, 100],
        demand_trials=[20, 20, 20],
        demand_prob=[0.4, 0.4, 0.4],
        initial_inventory=[5, 0, 1],
        initial_setup=[1, 0],
        horizon=3,
    )
    fields.update(changes)
    return LotSizingSetting(**fields)


def test_one_period_by_hand() -> None:
    s = tiny()
    demand = np.array([[[4, 3, 9], [0, 0, 0], [0, 0, 0]]])
    env = BatchLotSizingEnv(s, 1, demand=demand)
    # machine 0 stays on item 0 (code 1): no setup, makes 10, stock 5 + 10 = 15 capped at 12;
    # machine 1 switches to item 2 (code 3): setup 16, makes 6 - 2 = 4, stock 1 + 4 = 5
    step = env.step([[1, 3]])
    assert step.post_obs.tolist() == [[12, 0, 5, 1, 3]]
    assert step.post_reward.tolist() == [-16.0]
    # demand 4, 3, 9: left 8, 0, 0; lost 0, 3, 4 -> lost cost 0.3 + 4.4, holding 0.08
    assert step.lost.tolist() == [[0, 3, 4]]
    assert step.obs.tolist() == [[8, 0, 0, 1, 3]]
    assert step.reward[0] == pytest.approx(-(16 + 0.3 + 4.4 + 0.08))
    assert not step.done[0]


def test_idle_keeps_setup_and_unmakeable_item_is_idle() -> None:
    s = tiny()
    demand = np.zeros((1, 3, 3), dtype=int)
    env = BatchLotSizingEnv(s, 1, demand=demand)
    env.step([[2, 0]])  # machine 0 switches to item 1: cost 15, makes 5 - 1 = 4
    step = env.step([[0, 1]])  # machine 0 idle keeps code 2; machine 1 cannot make item 0
    assert step.post_reward[0] == 0.0
    assert step.obs.tolist() == [[5, 4, 1, 2, 0]]
    step = env.step([[2, 0]])  # back on item 1, already set: no setup cost, full 5 units
    assert step.post_reward[0] == 0.0 and step.final_obs.tolist() == [[5, 9, 1, 2, 0]]
    assert step.done[0] and step.obs.tolist() == [[5, 0, 1, 1, 0]]  # auto-reset


def test_setup_loss_never_makes_output_negative() -> None:
    s = tiny(production=[[1, 5, 0], [0, 8, 6]], setup_loss=[[3, 1, 3], [1, 3, 2]],
             initial_setup=[0, 0])
    env = BatchLotSizingEnv(s, 1, demand=np.zeros((1, 3, 3), dtype=int))
    step = env.step([[1, 0]])
    assert step.post_obs[0, 0] == 5  # 1 - 3 units lost: 0 made, stock unchanged
    assert step.post_reward[0] == -20.0


def test_post_decision_split_adds_up() -> None:
    s = configuration("15x5", seed=3)
    env = BatchLotSizingEnv(s, 64, seed=1)
    rng = np.random.default_rng(0)
    mask = action_mask(s)
    for _ in range(10):
        actions = np.stack([rng.choice(np.flatnonzero(mask[m]), size=64)
                            for m in range(s.n_machines)], axis=1)
        before = env.stock.copy()
        step = env.step(actions)
        post_stock = step.post_obs[:, :s.n_items]
        assert np.all(post_stock >= before) and np.all(post_stock <= s.inventory_cap)
        # the rest of the reward is lost-sales plus holding cost, both >= 0
        rest = step.reward - step.post_reward
        holding = step.obs[:, :s.n_items] @ s.holding_cost
        lost = step.lost @ s.lost_sales_cost
        np.testing.assert_allclose(rest, -(holding + lost), rtol=1e-6, atol=1e-9)
        assert np.all(step.post_reward <= 0)


def test_gym_env_matches_batch_env() -> None:
    s = configuration("15x5", seed=0)
    env = LotSizingEnv(s)
    obs, info = env.reset(seed=5)
    assert env.observation_space.contains(obs) and info["action_mask"].shape == (5, 16)
    env.action_space.seed(0)
    total, actions, demands = 0.0, [], []
    for t in range(s.horizon):
        action = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(action)
        assert reward == pytest.approx(
            -(info["setup_cost"] + info["lost_cost"] + info["holding_cost"]))
        assert info["post_reward"] == -info["setup_cost"]
        total += reward
        actions.append(action)
        demands.append(info["demand"])
        assert truncated == (t == s.horizon - 1) and not terminated
    # the same actions on the same demand in the batch env: the same total
    replay = BatchLotSizingEnv(s, 1, demand=np.array(demands)[None])
    replayed = sum(float(replay.step(a[None]).reward[0]) for a in actions)
    assert replayed == pytest.approx(total)


def test_simulate_scores_fixed_scenarios_reproducibly() -> None:
    s = configuration("15x5", seed=0)
    demand = s.sample_demand(8, seed=2)
    assert demand.shape == (8, 100, 15)
    np.testing.assert_array_equal(demand, s.sample_demand(8, seed=2))

    def idle(obs: np.ndarray, t: int) -> np.ndarray:
        return np.zeros((obs.shape[0], s.n_machines), dtype=int)

    costs = simulate(s, idle, demand)
    expected = (demand @ s.lost_sales_cost).sum(axis=1)  # all demand lost (empty start)
    np.testing.assert_allclose(costs, expected)


def test_generator_follows_the_study_and_round_trips(tmp_path) -> None:
    for name, (items, machines) in CONFIGURATIONS.items():
        s = configuration(name, seed=1)
        assert (s.n_items, s.n_machines) == (items, machines)
        assert s.production.max() <= 40 and s.setup_cost.min() >= 15 and s.setup_cost.max() <= 30
        assert set(np.unique(s.setup_loss)) <= {1, 2, 3}
        assert (s.production > 0).any(axis=0).all() and (s.production > 0).any(axis=1).all()
        assert set(np.unique(s.lost_sales_cost)) <= {0.1, 1.1}
    s = generate(20, 10, seed=4)
    zero_share = (s.production == 0).mean()
    assert 0.25 < zero_share < 0.55
    path = s.save(tmp_path / "s.json")
    loaded = LotSizingSetting.load(path)
    assert loaded == s
    assert configuration("20x10", seed=7) == configuration("20x10", seed=7)
    with pytest.raises(ConfigError, match="configuration .9x9.*--setting-file"):
        configuration("9x9")


@pytest.mark.parametrize("changes, field", [
    ({"production": [[10, 5.5, 0], [0, 8, 6]]}, "production"),
    ({"production": [[10, -5, 0], [0, 8, 6]]}, "production"),
    ({"production": [[0, 0, 0], [0, 8, 6]]}, "production"),
    ({"setup_cost": [[20.0, 15.0], [25.0, 18.0]]}, "setup_cost"),
    ({"holding_cost": [0.01, float("nan"), 0.01]}, "holding_cost"),
    ({"demand_prob": [0.4, 1.4, 0.4]}, "demand_prob"),
    ({"initial_setup": [4, 0]}, "initial_setup"),
    ({"initial_inventory": [50, 0, 0]}, "initial_inventory"),
    ({"horizon": 0}, "horizon"),
])
def test_bad_settings_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(InvalidInstanceError, match=f"^{field}:"):
        tiny(**changes)


def test_bad_actions_and_files(tmp_path) -> None:
    env = BatchLotSizingEnv(tiny(), 2, seed=0)
    for bad in ([[1, 3]], [[1, 4], [0, 0]], [[-1, 0], [0, 0]], [[0.5, 0], [0, 0]]):
        with pytest.raises(InvalidInstanceError, match="^action:"):
            env.step(bad)
    gym_env = LotSizingEnv(tiny())
    gym_env.reset(seed=0)
    with pytest.raises(InvalidInstanceError, match="^action:"):
        gym_env.step([0, 7])
    with pytest.raises(InvalidInstanceError, match="^demand:"):
        BatchLotSizingEnv(tiny(), 2, demand=np.zeros((2, 2, 3)))
    (tmp_path / "x.json").write_text('{"production": [[1]], "colour": 3}')
    with pytest.raises(InvalidInstanceError, match="^colour:"):
        LotSizingSetting.load(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("not json")
    with pytest.raises(InvalidInstanceError, match="^path:"):
        LotSizingSetting.load(tmp_path / "y.json")
