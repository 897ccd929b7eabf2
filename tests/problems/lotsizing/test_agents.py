"""PPO / PDPPO for lot-sizing: masking, the PDPPO returns and advantage by hand, seeding,
learning on a small system, checkpoints, the CLI command and bad options."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from orlearn.errors import ConfigError
from orlearn.nn import load_checkpoint
from orlearn.problems.lotsizing import LotSizingSetting, action_mask, generate, simulate
from orlearn.problems.lotsizing.agents import (
    Agent,
    AgentConfig,
    LotSizingActorCritic,
    discounted_returns,
    log_prob_entropy,
    pdppo_targets,
    train_agent,
)

#: A few thousand steps of small updates: enough to learn the systems below.
FAST = dict(rollout_steps=200, epochs=10, eval_scenarios=20)


def one_machine_per_item() -> LotSizingSetting:
    """3 items, each made by its own machine (more than the mean demand of 8 per period);
    lost sales 1.1 per unit, setups 20: producing pays, idling costs about 528 per episode."""
    n = 3
    return LotSizingSetting(
        production=np.diag([14, 12, 16]), setup_cost=np.full((n, n), 20.0),
        setup_loss=np.ones((n, n), dtype=int), holding_cost=np.full(n, 0.01),
        lost_sales_cost=np.full(n, 1.1), inventory_cap=np.full(n, 40),
        demand_trials=np.full(n, 20), demand_prob=np.full(n, 0.4),
        initial_inventory=np.zeros(n, dtype=int), initial_setup=np.zeros(n, dtype=int),
        horizon=20, name="one_machine_per_item")


def test_masked_actions_are_always_valid() -> None:
    s = generate(4, 2, seed=0, horizon=20)
    mask = action_mask(s)
    assert not mask.all()  # some machine cannot make some item
    torch.manual_seed(0)
    model = LotSizingActorCritic.for_setting(s)
    with torch.no_grad():  # make the forbidden codes the most attractive ones before masking
        bias = model.actor.net[-1].bias.view(s.n_machines, s.n_items + 1)
        bias += torch.as_tensor(~mask, dtype=torch.float32) * 50.0
    agent = Agent(s, model)
    rng = np.random.default_rng(0)
    stock = rng.integers(0, s.inventory_cap + 1, size=(2000, s.n_items))
    setup = rng.integers(0, s.n_items + 1, size=(2000, s.n_machines))
    obs = np.concatenate([stock, setup], axis=1).astype(np.float32)
    generator = torch.Generator().manual_seed(0)
    for actions in (agent.act(obs), agent.act(obs, sample=True, generator=generator)):
        assert actions.shape == (2000, s.n_machines)
        assert mask[np.arange(s.n_machines), actions].all()
    assert agent.act(obs[0]).shape == (s.n_machines,)
    # the forbidden codes have probability 0 and the entropy is finite
    x = model.encode(torch.as_tensor(obs[:5]))
    logits = model.logits(x)
    assert torch.softmax(logits, -1)[:, torch.as_tensor(~mask)].max() == 0
    logp, entropy = log_prob_entropy(logits, torch.as_tensor(agent.act(obs[:5])))
    assert torch.isfinite(logp).all() and torch.isfinite(entropy).all()
    # a training rollout only ever sends valid actions (the env would treat others as idle)
    result = train_agent(s, "ppo", AgentConfig(total_steps=400, n_envs=4, rollout_steps=200,
                                               epochs=1, eval_scenarios=2), progress=False)
    assert result.history[-1]["steps"] == 400


def test_pdppo_returns_and_advantage_by_hand() -> None:
    gamma = 0.9
    rewards = torch.tensor([[-10.0], [-20.0], [-5.0]])  # r_t = -(setup + lost + holding)
    post_rewards = torch.tensor([[-8.0], [0.0], [-3.0]])  # r^x_t = -setup
    dones = torch.tensor([[False], [False], [True]])
    values = torch.tensor([[-30.0], [-25.0], [-4.0]])  # V(s_t)
    post_values = torch.tensor([[-25.0], [-22.0], [-3.0]])  # V^x(s^x_t)
    last = torch.tensor([-1000.0])  # ignored: the episode ended
    # R_2 = -5; R_1 = -20 + 0.9 * -5 = -24.5; R_0 = -10 + 0.9 * -24.5 = -32.05
    # R^x_t = (r_t - r^x_t) + 0.9 R_{t+1}: -2; -20 - 4.5 = -24.5; -2 - 22.05 = -24.05
    returns, post_returns, adv = pdppo_targets(rewards, post_rewards, dones, last, values,
                                               post_values, gamma)
    np.testing.assert_allclose(returns[:, 0], [-32.05, -24.5, -5.0], atol=1e-5)
    np.testing.assert_allclose(post_returns[:, 0], [-24.05, -24.5, -2.0], atol=1e-5)
    # q_max: A = max(R_t, r^x_t + V^x) - V: max(-32.05, -33) + 30; max(-24.5, -22) + 25;
    # max(-5, -6) + 4
    np.testing.assert_allclose(adv[:, 0], [-2.05, 3.0, -1.0], atol=1e-5)
    # paper: A = max(R - V, R^x - V^x): max(-2.05, 0.95); max(0.5, -2.5); max(-1, 1)
    _, _, paper = pdppo_targets(rewards, post_rewards, dones, last, values, post_values, gamma,
                                mode="paper")
    np.testing.assert_allclose(paper[:, 0], [0.95, 0.5, 1.0], atol=1e-5)
    # a rollout cut inside an episode is bootstrapped with V of the next observation, and
    # an episode end in the middle stops the sum
    cut = discounted_returns(torch.tensor([[-1.0, -1.0], [-2.0, -2.0]]),
                             torch.tensor([[False, True], [False, False]]),
                             torch.tensor([-10.0, -10.0]), 0.5)
    np.testing.assert_allclose(cut, [[-4.5, -1.0], [-7.0, -7.0]])
    with pytest.raises(ConfigError, match="advantage"):
        pdppo_targets(rewards, post_rewards, dones, last, values, post_values, gamma, "mean")


@pytest.mark.parametrize("eval_policy", ["greedy", "sample"])
def test_same_seed_same_history(eval_policy: str) -> None:
    s = generate(4, 2, seed=0, horizon=20)
    config = AgentConfig(total_steps=800, n_envs=4, eval_every=400, eval_policy=eval_policy,
                         **FAST)
    runs = [train_agent(s, "pdppo", config, seed=3, progress=False) for _ in range(2)]
    assert runs[0].history == runs[1].history
    other = train_agent(s, "pdppo", config, seed=4, progress=False)
    assert other.history != runs[0].history
    history = runs[0].history
    assert [row["steps"] for row in history] == [0, 200, 400, 600, 800]
    assert [row["eval_cost"] is not None for row in history] == [True, False, True, False, True]
    assert history[2]["train_cost"] > 0 and "post_value_loss" in history[1]
    assert runs[0].best_eval_cost == min(r["eval_cost"] for r in history if r["eval_cost"])


@pytest.mark.parametrize("agent", ["ppo", "pdppo"])
def test_training_lowers_the_greedy_cost(agent: str) -> None:
    s = one_machine_per_item()
    eval_demand = s.sample_demand(20, seed=1)
    config = AgentConfig(total_steps=2000, n_envs=4, eval_every=500, **FAST)
    result = train_agent(s, agent, config, seed=0, progress=False, eval_demand=eval_demand)
    untrained = result.history[0]["eval_cost"]
    idle = float((eval_demand @ s.lost_sales_cost).sum(axis=1).mean())
    assert untrained > 150  # the untrained greedy policy idles some machines
    trained = simulate(s, result.agent.act, eval_demand).mean()
    assert trained == pytest.approx(result.best_eval_cost)
    assert trained < 0.5 * untrained and trained < 0.25 * idle
    held_out = simulate(s, result.agent.act, s.sample_demand(50, seed=2)).mean()
    assert held_out < 0.25 * idle  # about 77: set up every machine once, then produce


def test_checkpoint_round_trip_restores_the_actions(tmp_path) -> None:
    s = generate(4, 2, seed=0, horizon=20)
    config = AgentConfig(total_steps=800, n_envs=4, eval_every=200, **FAST)
    result = train_agent(s, "pdppo", config, seed=1, progress=False, checkpoint_dir=tmp_path)
    assert result.checkpoint == tmp_path / "best"
    loaded = Agent.load(tmp_path / "best")
    assert loaded.setting == s and loaded.name == "pdppo"
    obs = np.concatenate([np.random.default_rng(0).integers(0, 100, size=(500, s.n_items)),
                          np.random.default_rng(1).integers(0, 5, size=(500, s.n_machines))],
                         axis=1).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs), result.agent.act(obs))
    demand = s.sample_demand(5, seed=9)
    np.testing.assert_allclose(simulate(s, loaded.act, demand),
                               simulate(s, result.agent.act, demand))
    _, document = load_checkpoint(tmp_path / "best")
    assert document["agent"] == "pdppo" and document["seed"] == 1
    assert document["setting"] == s.name and document["hyperparameters"]["clip"] == 0.2
    assert document["metadata"]["evaluation"]["value"] == pytest.approx(result.best_eval_cost)
    assert (tmp_path / "last.safetensors").is_file()


def test_train_command_runs_end_to_end(tmp_path) -> None:
    s = generate(4, 2, seed=0, horizon=20)
    path = s.save(tmp_path / "s.json")
    out = tmp_path / "run"
    cli = [sys.executable, "-m", "orlearn.cli", "train", "lotsizing"]
    result = subprocess.run(
        [*cli, "--setting-file", str(path), "--agent", "pdppo", "--steps", "80", "--n-envs",
         "4", "--eval-every", "40", "--test-scenarios", "10", "--seed", "2", "--out", str(out),
         "--device", "cpu", "--no-progress"],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "held-out greedy cost" in result.stdout and "sampled-policy" in result.stdout
    assert str(out / "best") in result.stdout
    assert (out / "best.safetensors").is_file() and (out / "best.json").is_file()
    assert Agent.load(out / "best").setting == s
    for bad, message in ((["--agent", "sac"], "unknown agent 'sac'"),
                         (["--steps", "0"], "--steps must be >= 1")):
        run = subprocess.run([*cli, "--setting-file", str(path), *bad], capture_output=True,
                             text=True)
        assert run.returncode == 2 and run.stderr.startswith("orlearn: error:"), run.stderr
        assert message in run.stderr


def test_bad_options_raise_config_errors() -> None:
    s = generate(4, 2, seed=0, horizon=20)
    with pytest.raises(ConfigError, match="unknown agent"):
        train_agent(s, "sac", AgentConfig(total_steps=10), progress=False)
    for bad in ({"total_steps": 0}, {"total_steps": -5}, {"n_envs": 0}, {"clip": 1.5},
                {"rollout_steps": 4, "n_envs": 8}, {"lr_actor": 0.0}, {"advantage": "mean"},
                {"eval_policy": "best"}):
        with pytest.raises(ConfigError):
            AgentConfig(**bad)
    with pytest.raises(ConfigError, match="seed"):
        train_agent(s, "ppo", AgentConfig(total_steps=10), seed=-1, progress=False)
