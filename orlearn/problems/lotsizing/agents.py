"""PPO and PDPPO (Post-Decision PPO, Felizardo et al.) for the stochastic lot-sizing system.

Both agents share one actor: an :class:`orlearn.nn.MLP` on the normalised observation (stock
per item divided by ``inventory_cap``, then the setup code of every machine one-hot over the
``N + 1`` codes) that outputs, per machine, logits over the ``N + 1`` codes (0 = idle,
``i + 1`` = item ``i``). Codes a machine cannot make are masked out with
:func:`~orlearn.problems.lotsizing.env.action_mask`, so sampled and greedy actions are always
makeable or idle. The policy is a factorised categorical over machines: the log-probability and
the entropy of a joint action are the sums over machines.

* **PPO** has one critic ``V(s)``.
* **PDPPO** adds a critic ``V^x(s^x)`` of the post-decision state (stock after production and
  before demand, new setups: :attr:`Step.post_obs`). See :func:`pdppo_targets` for the returns
  and the advantage.

Returns are discounted Monte-Carlo returns (the paper's choice, gamma 0.9), not GAE: inside a
rollout ``R_t = r_t + gamma R_{t+1}``; at the end of an episode (the horizon, which ends the
finite-horizon problem that :func:`simulate` scores) the return is 0; where a rollout cuts an
episode, ``R`` is bootstrapped with the critic ``V(s)`` of the next observation.

Rewards are multiplied by ``reward_scale`` (by default ``(1 - gamma) / c0``, where ``c0`` is
the expected lost-sales cost per period of never producing, ``sum_i mean_demand_i *
lost_sales_cost_i``), so that the discounted return of the idle policy is about -1 and the
critics fit numbers of order 1; reported costs are always unscaled. Advantages are then
normalised per update (mean 0, std 1).

Defaults are the paper's hyperparameters: clip 0.2, 40 epochs per update, an update every 400
transitions (``rollout_steps`` counts transitions over all ``n_envs`` parallel copies), actor
learning rate 5.5e-4, critics 1e-3, gamma 0.9, Adam, 1M steps. Unlike the public code, all
layers are trained (the public code only optimises the actor's last linear layer). Chosen here,
not taken from the paper: MLPs with two hidden layers of 64 and tanh, entropy bonus 0.001,
critic-loss weight 0.5, gradient-norm clip 0.5, advantage normalisation, the reward scale, one
torch thread on CPU. The policy sees stock and setups only (not the period), as the env's
observation.

The entropy bonus multiplies the entropy *summed over machines* (10 machines: up to 30 nats),
so its weight must be small: with 0.01 (the common PPO default, used here until 2026-12-02) the
policy stayed close to uniform for 1M steps on 20x10 (sampled training episodes cost 19-20k
against 21.5k untrained, greedy held-out cost 4.5-5.5k); with 0.001 PPO reaches 1,825 after
200k steps, with 0 2,045 (20x10, seed 0, 100 held-out scenarios; benchmarks/RESULTS.md).

>>> from orlearn.problems.lotsizing import configuration, simulate
>>> from orlearn.problems.lotsizing.agents import AgentConfig, train_agent
>>> setting = configuration("15x5")
>>> config = AgentConfig(total_steps=100_000)
>>> result = train_agent(setting, "pdppo", config, seed=0)  # doctest: +SKIP
>>> test = setting.sample_demand(100, seed=20_000)
>>> costs = simulate(setting, result.agent.act, test)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F
from tqdm import tqdm

from orlearn.errors import CheckpointError, ConfigError
from orlearn.nn import MLP, get_device, load_checkpoint, save_checkpoint, seed_everything
from orlearn.nn import torch_generator as make_generator
from orlearn.problems.lotsizing.env import BatchLotSizingEnv, action_mask, simulate
from orlearn.problems.lotsizing.settings import LotSizingSetting

AGENTS = ("ppo", "pdppo")
ADVANTAGES = ("q_max", "paper")
EVAL_POLICIES = ("greedy", "sample")

#: Offsets added to the training seed for the demand of the evaluation (model selection)
#: scenarios and of the held-out test scenarios; the training demand uses the seed itself.
EVAL_SEED_OFFSET = 10_000
TEST_SEED_OFFSET = 20_000


@dataclass
class AgentConfig:
    """Training options of :func:`train_agent` (steps are environment transitions).

    Attributes:
        total_steps: transitions to collect in all (over the ``n_envs`` copies).
        n_envs: parallel copies of the system stepped together.
        rollout_steps: transitions per update (over all copies; ``rollout_steps // n_envs``
            periods per copy). The paper updates every 400 steps.
        epochs: optimisation passes over each rollout (paper: 40).
        minibatch_size: transitions per gradient step (None: the whole rollout, as the paper).
        clip: PPO ratio clip (paper: 0.2).
        gamma: discount per period (paper: 0.9).
        lr_actor / lr_critic: Adam learning rates (paper: 5.5e-4 and 1e-3; both critics use
            ``lr_critic``).
        value_coef: weight of each critic's MSE loss.
        entropy_coef: weight of the entropy bonus (entropy summed over machines).
        max_grad_norm: gradient-norm clip, applied to the actor and to each critic separately.
        hidden / activation: hidden widths and activation of the actor and critic MLPs.
        reward_scale: factor on rewards for learning (None: ``(1 - gamma) / c0``, see the
            module docstring); costs reported in the history are unscaled.
        normalize_advantages: standardise the advantages of each update.
        advantage: PDPPO only: ``"q_max"`` (default) or ``"paper"``; see :func:`pdppo_targets`.
        eval_every: steps between greedy evaluations on the fixed scenarios.
        eval_scenarios: number of evaluation scenarios drawn when ``eval_demand`` is not given
            (demand seed ``seed + EVAL_SEED_OFFSET``).
        eval_policy: ``"greedy"`` (argmax per machine, the default) or ``"sample"`` (the
            stochastic policy, with a generator re-seeded with ``seed`` at every evaluation,
            so evaluations are repeatable). The best weights are selected on this score. A
            greedy policy can be much worse than the stochastic one it comes from (it can get
            stuck, e.g. idling in a state it never leaves).
        threads: torch intra-op threads while training on CPU (restored afterwards; None:
            leave torch's setting). One thread is fastest for these small networks, and much
            faster than two on a busy 2-core machine.
    """

    total_steps: int = 1_000_000
    n_envs: int = 8
    rollout_steps: int = 400
    epochs: int = 40
    minibatch_size: int | None = None
    clip: float = 0.2
    gamma: float = 0.9
    lr_actor: float = 5.5e-4
    lr_critic: float = 1e-3
    value_coef: float = 0.5
    entropy_coef: float = 0.001
    max_grad_norm: float | None = 0.5
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    reward_scale: float | None = None
    normalize_advantages: bool = True
    advantage: str = "q_max"
    eval_every: int = 10_000
    eval_scenarios: int = 50
    eval_policy: str = "greedy"
    threads: int | None = 1

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` on an option out of range."""
        for name in ("total_steps", "n_envs", "rollout_steps", "epochs", "eval_every",
                     "eval_scenarios"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if self.rollout_steps < self.n_envs:
            raise ConfigError(f"rollout_steps ({self.rollout_steps}) must be at least n_envs "
                              f"({self.n_envs}): each update takes one period of every copy")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be >= 1 or None, got {self.threads}")
        if self.minibatch_size is not None and self.minibatch_size < 1:
            raise ConfigError(f"minibatch_size must be >= 1 or None, got {self.minibatch_size}")
        if not 0 < self.clip < 1:
            raise ConfigError(f"clip must be in (0, 1), got {self.clip}")
        if not 0 <= self.gamma <= 1:
            raise ConfigError(f"gamma must be in [0, 1], got {self.gamma}")
        for name in ("lr_actor", "lr_critic"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.value_coef < 0 or self.entropy_coef < 0:
            raise ConfigError("value_coef and entropy_coef must be >= 0")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ConfigError(f"max_grad_norm must be positive or None, got "
                              f"{self.max_grad_norm}")
        if self.reward_scale is not None and not self.reward_scale > 0:
            raise ConfigError(f"reward_scale must be positive or None, got {self.reward_scale}")
        if self.eval_policy not in EVAL_POLICIES:
            raise ConfigError(f"eval_policy must be one of {EVAL_POLICIES}, got "
                              f"{self.eval_policy!r}")
        if self.advantage not in ADVANTAGES:
            raise ConfigError(f"advantage must be one of {ADVANTAGES}, got {self.advantage!r}")


# ----------------------------------------------------------------------------- returns


def discounted_returns(rewards: Tensor, dones: Tensor, last_value: Tensor,
                       gamma: float) -> Tensor:
    """Discounted Monte-Carlo returns of a rollout, bootstrapped where it cuts an episode.

    Args:
        rewards: [T, B] rewards of the T periods of B copies.
        dones: [T, B] True where the period ended the episode (the return after it is 0).
        last_value: [B] value of the observation after the last period (used where the last
            period did not end the episode).
        gamma: discount per period.

    Returns:
        [T, B] ``R_t = r_t + gamma * (1 - done_t) * R_{t+1}``, with ``R_T = last_value``.
    """
    rewards = torch.as_tensor(rewards, dtype=torch.float32)
    keep = 1.0 - torch.as_tensor(dones, dtype=torch.float32, device=rewards.device)
    out = torch.empty_like(rewards)
    running = torch.as_tensor(last_value, dtype=torch.float32, device=rewards.device)
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + gamma * keep[t] * running
        out[t] = running
    return out


def pdppo_targets(rewards: Tensor, post_rewards: Tensor, dones: Tensor, last_value: Tensor,
                  values: Tensor, post_values: Tensor, gamma: float, mode: str = "q_max"
                  ) -> tuple[Tensor, Tensor, Tensor]:
    """PDPPO returns of both critics and the advantage (a pure function; shapes [T, B]).

    With ``r_t`` the reward and ``r^x_t`` the post-decision reward (minus the setup cost, paid
    at the decision), ``V(s_t)`` = ``values`` and ``V^x(s^x_t)`` = ``post_values``:

    * pre-decision return ``R_t = r_t + gamma R_{t+1}`` (see :func:`discounted_returns`),
      the target of ``V``; it estimates ``Q(s_t, a_t)``;
    * post-decision return ``R^x_t = (r_t - r^x_t) + gamma R_{t+1}`` (lost-sales and holding
      cost of period t, then the future): the value of the post-decision state, which
      excludes the decision's own setup cost; the target of ``V^x``. Note ``R_t = r^x_t +
      R^x_t``;
    * advantage, ``mode="q_max"`` (default): two estimates of ``Q(s_t, a_t)``, the Monte-Carlo
      return ``R_t`` and the post-decision critic's ``r^x_t + V^x(s^x_t)``, take the larger
      and subtract the same baseline ``V(s_t)``::

          A_t = max(R_t, r^x_t + V^x(s^x_t)) - V(s_t)

      Both terms are on the scale of a pre-decision action value (setup cost included);
    * ``mode="paper"``: the paper's formula ``A_t = max(R_t - V(s_t), R^x_t - V^x(s^x_t))``
      (each return minus its own critic; equal to ``R_t - min(V(s_t), r^x_t +
      V^x(s^x_t))``).

    Args:
        rewards, post_rewards, dones: [T, B] per period.
        last_value: [B] ``V`` of the observation after the last period.
        values, post_values: [T, B] critic values at collection time.
        gamma: discount per period.
        mode: ``"q_max"`` or ``"paper"``.

    Returns:
        ``(returns R, post_returns R^x, advantages A)``, each [T, B].
    """
    if mode not in ADVANTAGES:
        raise ConfigError(f"advantage mode must be one of {ADVANTAGES}, got {mode!r}")
    rewards = torch.as_tensor(rewards, dtype=torch.float32)
    post_rewards = torch.as_tensor(post_rewards, dtype=torch.float32, device=rewards.device)
    values = torch.as_tensor(values, dtype=torch.float32, device=rewards.device)
    post_values = torch.as_tensor(post_values, dtype=torch.float32, device=rewards.device)
    returns = discounted_returns(rewards, dones, last_value, gamma)
    post_returns = returns - post_rewards  # = (r_t - r^x_t) + gamma R_{t+1}
    if mode == "q_max":
        advantages = torch.maximum(returns, post_rewards + post_values) - values
    else:
        advantages = torch.maximum(returns - values, post_returns - post_values)
    return returns, post_returns, advantages


def default_reward_scale(setting: LotSizingSetting, gamma: float) -> float:
    """``max(1 - gamma, 0.01) / c0`` (1 / cost unit), with ``c0`` the expected lost-sales cost
    per period of never producing; makes the discounted return of the idle policy about -1."""
    c0 = float(setting.mean_demand @ setting.lost_sales_cost)
    if c0 <= 0:
        c0 = float(setting.setup_cost.mean()) or 1.0
    return max(1.0 - gamma, 1e-2) / c0


# ----------------------------------------------------------------------------- networks


class LotSizingActorCritic(nn.Module):
    """The actor and the critic(s) of one setting (three :class:`orlearn.nn.MLP`).

    Args:
        n_items, n_machines: the setting's N and M.
        inventory_cap: [N] units, used to normalise stock.
        action_mask: [M][N + 1] allowed codes per machine.
        hidden, activation: MLP shape of the actor and of each critic.
        post_critic: add the post-decision critic ``V^x`` (PDPPO).

    Shapes: observations ``[..., N + M]`` (stock, setup codes) as the env returns them;
    ``logits -> [..., M, N + 1]`` (masked codes at the dtype's minimum), ``value`` and
    ``post_value -> [...]`` (scaled reward units).
    """

    def __init__(self, n_items: int, n_machines: int, inventory_cap: list[int],
                 action_mask: list[list[bool]], hidden: tuple[int, ...] | list[int] = (64, 64),
                 activation: str = "tanh", post_critic: bool = False) -> None:
        super().__init__()
        self.n_items, self.n_machines = int(n_items), int(n_machines)
        self.hidden = [int(h) for h in hidden]
        self.activation = activation
        self.has_post_critic = bool(post_critic)
        cap = torch.as_tensor(np.asarray(inventory_cap, dtype=np.float32))
        mask = torch.as_tensor(np.asarray(action_mask, dtype=bool))
        if cap.shape != (self.n_items,) or mask.shape != (self.n_machines, self.n_items + 1):
            raise ConfigError("inventory_cap must be [N] and action_mask [M, N + 1]")
        self.register_buffer("inventory_cap", cap.clamp_min(1.0), persistent=False)
        self.register_buffer("action_mask", mask, persistent=False)
        in_dim = self.n_items + self.n_machines * (self.n_items + 1)
        self.actor = MLP(in_dim, self.hidden, self.n_machines * (self.n_items + 1), activation)
        self.critic = MLP(in_dim, self.hidden, 1, activation)
        self.post_critic = MLP(in_dim, self.hidden, 1, activation) if post_critic else None

    @classmethod
    def for_setting(cls, setting: LotSizingSetting, hidden: tuple[int, ...] = (64, 64),
                    activation: str = "tanh", post_critic: bool = False
                    ) -> LotSizingActorCritic:
        """Build the networks of ``setting``."""
        return cls(setting.n_items, setting.n_machines, setting.inventory_cap.tolist(),
                   action_mask(setting).tolist(), hidden, activation, post_critic)

    def encode(self, obs: Tensor) -> Tensor:
        """[..., N + M] raw observations -> [..., N + M (N + 1)] network inputs."""
        n = self.n_items
        stock = obs[..., :n] / self.inventory_cap
        setup = obs[..., n:].round().long().clamp(0, n)
        return torch.cat([stock, F.one_hot(setup, n + 1).flatten(-2).to(stock.dtype)], dim=-1)

    def logits(self, x: Tensor) -> Tensor:
        """Masked logits [..., M, N + 1] from encoded inputs ``x``."""
        raw = self.actor(x).unflatten(-1, (self.n_machines, self.n_items + 1))
        return raw.masked_fill(~self.action_mask, torch.finfo(raw.dtype).min)

    def value(self, x: Tensor) -> Tensor:
        """``V(s)`` [...] from encoded inputs."""
        return self.critic(x).squeeze(-1)

    def post_value(self, x: Tensor) -> Tensor:
        """``V^x(s^x)`` [...] from encoded post-decision states."""
        if self.post_critic is None:
            raise ConfigError("this model has no post-decision critic (PPO)")
        return self.post_critic(x).squeeze(-1)

    def architecture(self) -> dict[str, Any]:
        """``{"class", "kwargs"}`` to rebuild this module (see :func:`orlearn.nn.load`)."""
        return {"class": type(self).__name__, "kwargs": {
            "n_items": self.n_items, "n_machines": self.n_machines,
            "inventory_cap": self.inventory_cap.cpu().round().long().tolist(),
            "action_mask": self.action_mask.cpu().tolist(), "hidden": list(self.hidden),
            "activation": self.activation, "post_critic": self.has_post_critic}}


def log_prob_entropy(logits: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
    """Joint log-probability and entropy of a factorised categorical (sums over machines).

    ``logits [..., M, K]`` (masked), ``actions [..., M]`` -> ``([...], [...])``.
    """
    logp = torch.log_softmax(logits, dim=-1)
    chosen = logp.gather(-1, actions.unsqueeze(-1)).squeeze(-1).sum(-1)
    entropy = -(logp.exp() * logp).sum(-1).sum(-1)
    return chosen, entropy


class Agent:
    """A trained (or untrained) lot-sizing policy: ``act(obs, t) -> actions``.

    ``act`` is greedy (argmax of the masked logits) by default; ``sample=True`` draws from the
    policy (with ``generator`` when given). It accepts the env's observations ``[B, N + M]``
    (or one ``[N + M]``) and returns integer codes ``[B, M]`` (or ``[M]``), so
    ``simulate(setting, agent.act, demand)`` scores it.
    """

    def __init__(self, setting: LotSizingSetting, model: LotSizingActorCritic,
                 device: str | torch.device = "cpu", name: str = "ppo") -> None:
        self.setting = setting
        self.model = model
        self.device = get_device(device)
        self.model.to(self.device)
        self.name = name

    @torch.no_grad()
    def act(self, obs: np.ndarray, t: int = 0, *, sample: bool = False,
            generator: torch.Generator | None = None) -> np.ndarray:
        """Codes per machine for observations ``obs`` at period ``t`` (``t`` is unused: the
        policy sees stock and setups only)."""
        single = np.ndim(obs) == 1
        x = torch.as_tensor(np.atleast_2d(obs), dtype=torch.float32, device=self.device)
        logits = self.model.logits(self.model.encode(x))
        if sample:
            probs = torch.softmax(logits, -1).flatten(0, -2)
            actions = torch.multinomial(probs, 1, generator=generator).view(logits.shape[:-1])
        else:
            actions = logits.argmax(-1)
        out = actions.cpu().numpy().astype(np.int64)
        return out[0] if single else out

    __call__ = act

    def save(self, path: str | Path, config: dict[str, Any] | None = None,
             metadata: dict[str, Any] | None = None) -> Path:
        """Save the networks and the setting as an :mod:`orlearn.nn` checkpoint (stem)."""
        document = {"architecture": self.model.architecture(), "agent": self.name,
                    "setting": self.setting.name, "setting_data": self.setting.to_dict(),
                    **(config or {})}
        return save_checkpoint(path, self.model, document, metadata=metadata)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> Agent:
        """Rebuild an agent (networks and setting) from a checkpoint written by :meth:`save`."""
        state, config = load_checkpoint(path)
        if "setting_data" not in config or "architecture" not in config:
            raise CheckpointError(f"{path} is not a lot-sizing agent checkpoint "
                                  "(no setting_data / architecture)")
        setting = LotSizingSetting.from_dict(config["setting_data"])
        try:
            model = LotSizingActorCritic(**config["architecture"]["kwargs"])
            model.load_state_dict(state)
        except (TypeError, RuntimeError, ConfigError) as exc:
            raise CheckpointError(f"{path} does not rebuild a lot-sizing agent: {exc}") from None
        model.eval()
        return cls(setting, model, device, config.get("agent", "ppo"))


@dataclass
class TrainResult:
    """What :func:`train_agent` returns.

    Attributes:
        agent: the agent with the best-on-evaluation weights.
        history: one dict per update: ``steps`` (transitions so far), ``train_cost`` (mean
            total cost of the training episodes completed during the update's rollout,
            sampled actions; None if none completed), ``eval_cost`` (mean total cost of the
            greedy policy on the evaluation scenarios, at evaluation points, else None),
            ``policy_loss``, ``value_loss``, ``post_value_loss``, ``entropy``. The first entry
            (``steps`` 0) holds the untrained policy's evaluation. ``eval_cost`` is greedy
            unless ``config.eval_policy == "sample"``.
        best_eval_cost / best_steps: the best evaluation cost (per episode, unscaled) and when.
        seconds: wall time of the training.
        checkpoint: stem of the best checkpoint (None without ``checkpoint_dir``).
        config: the hyperparameters used.
    """

    agent: Agent
    history: list[dict[str, Any]] = field(default_factory=list)
    best_eval_cost: float = math.inf
    best_steps: int = 0
    seconds: float = 0.0
    checkpoint: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> list[tuple[int, float]]:
        """``(steps, value)`` pairs of one history column where it is not None."""
        return [(row["steps"], row[name]) for row in self.history if row.get(name) is not None]


# ----------------------------------------------------------------------------- training


@contextlib.contextmanager
def _torch_threads(threads: int | None, device: torch.device) -> Iterator[None]:
    """Run with ``threads`` torch intra-op threads on CPU, then restore the previous number."""
    if threads is None or device.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _minibatches(n: int, size: int | None, generator: torch.Generator) -> list[Tensor]:
    if size is None or size >= n:
        return [torch.arange(n)]
    order = torch.randperm(n, generator=generator)
    return list(order.split(size))


def train_agent(setting: LotSizingSetting, agent: str = "ppo", config: AgentConfig | None = None,
                seed: int = 0, device: str | torch.device = "auto", progress: bool = True,
                checkpoint_dir: str | Path | None = None, eval_demand: np.ndarray | None = None,
                ) -> TrainResult:
    """Train a PPO or PDPPO agent on ``setting`` with ``n_envs`` parallel copies.

    Args:
        setting: the lot-sizing system.
        agent: ``"ppo"`` or ``"pdppo"``.
        config: hyperparameters (default: the paper's, 1M steps).
        seed: initial weights, training demand (env seed ``seed``), action sampling and the
            default evaluation scenarios (demand seed ``seed + EVAL_SEED_OFFSET``). The same
            seed gives the same history on the same machine and device.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        progress: show a tqdm bar (stderr).
        checkpoint_dir: when given, ``best.*`` (best evaluation so far) and ``last.*`` are
            written there as :mod:`orlearn.nn` checkpoints.
        eval_demand: [S, T, N] fixed evaluation scenarios (default: ``config.eval_scenarios``
            drawn with ``seed + EVAL_SEED_OFFSET``); the greedy policy (or the sampled one, see
            ``config.eval_policy``) is scored on them by
            :func:`simulate` at the start, every ``eval_every`` steps and at the end, and the
            best weights are kept.

    Returns:
        A :class:`TrainResult`; its agent holds the best-on-evaluation weights.
    """
    config = AgentConfig() if config is None else config
    config.validate()
    if agent not in AGENTS:
        raise ConfigError(f"unknown agent {agent!r}; choose one of {', '.join(AGENTS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
    seed = int(seed)
    dev = get_device(device)
    eval_seed = None
    if eval_demand is None:
        eval_seed = seed + EVAL_SEED_OFFSET
        eval_demand = setting.sample_demand(config.eval_scenarios, eval_seed)
    eval_demand = np.asarray(eval_demand)
    out_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    with _torch_threads(config.threads, dev):
        return _train(setting, agent, config, seed, dev, progress, out_dir, eval_demand,
                      eval_seed)


def _train(setting: LotSizingSetting, agent: str, config: AgentConfig, seed: int,
           dev: torch.device, progress: bool, out_dir: Path | None, eval_demand: np.ndarray,
           eval_seed: int | None) -> TrainResult:
    post = agent == "pdppo"
    seed_everything(seed)
    model = LotSizingActorCritic.for_setting(setting, config.hidden, config.activation, post)
    model.to(dev)
    policy = Agent(setting, model, dev, agent)
    sampler = make_generator(seed, dev)
    shuffler = make_generator(seed + 1)
    critics = [model.critic] + ([model.post_critic] if model.post_critic is not None else [])
    optimizer = torch.optim.Adam([
        {"params": model.actor.parameters(), "lr": config.lr_actor},
        {"params": [p for c in critics for p in c.parameters()], "lr": config.lr_critic},
    ])
    scale = (config.reward_scale if config.reward_scale is not None
             else default_reward_scale(setting, config.gamma))
    hyper = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()}
    ckpt_config = {"hyperparameters": {**hyper, "reward_scale_used": scale}, "seed": seed,
                   "training": {"eval_scenarios": int(eval_demand.shape[0]),
                                "eval_demand_seed": eval_seed,  # None: given by the caller
                                "train_demand_seed": seed}}

    env = BatchLotSizingEnv(setting, config.n_envs, seed=seed)
    obs = env.reset()
    episode_cost = np.zeros(config.n_envs)
    n, m = setting.n_items, setting.n_machines
    per_env = max(1, config.rollout_steps // config.n_envs)

    def evaluate() -> float:
        model.eval()
        if config.eval_policy == "greedy":
            cost = float(simulate(setting, policy.act, eval_demand).mean())
        else:
            generator = make_generator(seed, dev)
            cost = float(simulate(setting, lambda obs, t: policy.act(
                obs, t, sample=True, generator=generator), eval_demand).mean())
        model.train()
        return cost

    start = time.perf_counter()
    result = TrainResult(agent=policy, config=hyper)
    best_state = copy.deepcopy(model.state_dict())
    first = evaluate()
    result.best_eval_cost, result.best_steps = first, 0
    result.history.append({"steps": 0, "train_cost": None, "eval_cost": first})
    if out_dir is not None:
        result.checkpoint = policy.save(out_dir / "best", ckpt_config, {
            "evaluation": {"value": first, "steps": 0, "mode": "min"}})

    steps, next_eval = 0, config.eval_every
    bar = tqdm(total=config.total_steps, desc=f"{agent} {setting.name}", disable=not progress,
               unit="step", dynamic_ncols=True, leave=False)
    try:
        while steps < config.total_steps:
            periods = min(per_env, math.ceil((config.total_steps - steps) / config.n_envs))
            obs_buf = np.empty((periods, config.n_envs, n + m), dtype=np.float32)
            post_buf = np.empty_like(obs_buf)
            act_buf = np.empty((periods, config.n_envs, m), dtype=np.int64)
            logp_buf = torch.empty((periods, config.n_envs))
            rew_buf = np.empty((periods, config.n_envs))
            post_rew_buf = np.empty((periods, config.n_envs))
            done_buf = np.empty((periods, config.n_envs), dtype=bool)
            finished: list[float] = []
            for k in range(periods):
                with torch.no_grad():
                    x = model.encode(torch.as_tensor(obs, device=dev))
                    logits = model.logits(x)
                    probs = torch.softmax(logits, -1).flatten(0, -2)
                    actions = torch.multinomial(probs, 1, generator=sampler).view(
                        logits.shape[:-1])
                    logp_buf[k] = log_prob_entropy(logits, actions)[0].cpu()
                a = actions.cpu().numpy()
                step = env.step(a)
                obs_buf[k], act_buf[k], post_buf[k] = obs, a, step.post_obs
                rew_buf[k], post_rew_buf[k], done_buf[k] = step.reward, step.post_reward, step.done
                episode_cost -= step.reward
                if step.done.any():
                    finished.extend(episode_cost[step.done].tolist())
                    episode_cost[step.done] = 0.0
                obs = step.obs
            steps += periods * config.n_envs

            # ---- targets (scaled rewards; critics at collection time)
            with torch.no_grad():
                flat_obs = torch.as_tensor(obs_buf.reshape(-1, n + m), device=dev)
                flat_post = torch.as_tensor(post_buf.reshape(-1, n + m), device=dev)
                x_all = model.encode(flat_obs)
                xp_all = model.encode(flat_post)
                values = model.value(x_all).view(periods, -1)
                last_value = model.value(model.encode(torch.as_tensor(obs, device=dev)))
                rewards = torch.as_tensor(rew_buf * scale, dtype=torch.float32, device=dev)
                dones = torch.as_tensor(done_buf, device=dev)
                if post:
                    post_values = model.post_value(xp_all).view(periods, -1)
                    post_rewards = torch.as_tensor(post_rew_buf * scale, dtype=torch.float32,
                                                   device=dev)
                    returns, post_returns, adv = pdppo_targets(
                        rewards, post_rewards, dones, last_value, values, post_values,
                        config.gamma, config.advantage)
                    post_returns = post_returns.flatten()
                else:
                    returns = discounted_returns(rewards, dones, last_value, config.gamma)
                    adv = returns - values
                returns, adv = returns.flatten(), adv.flatten()
                if config.normalize_advantages and adv.numel() > 1:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            actions_all = torch.as_tensor(act_buf.reshape(-1, m), device=dev)
            old_logp = logp_buf.flatten().to(dev)

            # ---- K epochs of clipped PPO
            stats = {"policy_loss": 0.0, "value_loss": 0.0, "post_value_loss": 0.0,
                     "entropy": 0.0}
            n_grad = 0
            for _ in range(config.epochs):
                for idx in _minibatches(returns.numel(), config.minibatch_size, shuffler):
                    idx = idx.to(dev)
                    x = x_all[idx]
                    logp, entropy = log_prob_entropy(model.logits(x), actions_all[idx])
                    ratio = torch.exp(logp - old_logp[idx])
                    a_i = adv[idx]
                    policy_loss = -torch.minimum(
                        ratio * a_i, ratio.clamp(1 - config.clip, 1 + config.clip) * a_i).mean()
                    value_loss = F.mse_loss(model.value(x), returns[idx])
                    loss = (policy_loss + config.value_coef * value_loss
                            - config.entropy_coef * entropy.mean())
                    post_loss = torch.zeros(())
                    if post:
                        post_loss = F.mse_loss(model.post_value(xp_all[idx]), post_returns[idx])
                        loss = loss + config.value_coef * post_loss
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if config.max_grad_norm is not None:
                        nn.utils.clip_grad_norm_(model.actor.parameters(), config.max_grad_norm)
                        for critic in critics:
                            nn.utils.clip_grad_norm_(critic.parameters(), config.max_grad_norm)
                    optimizer.step()
                    stats["policy_loss"] += policy_loss.item()
                    stats["value_loss"] += value_loss.item()
                    stats["post_value_loss"] += post_loss.item()
                    stats["entropy"] += entropy.mean().item()
                    n_grad += 1

            row: dict[str, Any] = {
                "steps": steps,
                "train_cost": float(np.mean(finished)) if finished else None,
                "eval_cost": None,
                **{k: v / max(n_grad, 1) for k, v in stats.items()},
            }
            if not post:
                row.pop("post_value_loss")
            if steps >= next_eval or steps >= config.total_steps:
                next_eval = (steps // config.eval_every + 1) * config.eval_every
                cost = evaluate()
                row["eval_cost"] = cost
                if cost < result.best_eval_cost:
                    result.best_eval_cost, result.best_steps = cost, steps
                    best_state = copy.deepcopy(model.state_dict())
                    if out_dir is not None:
                        result.checkpoint = policy.save(out_dir / "best", ckpt_config, {
                            "evaluation": {"value": cost, "steps": steps, "mode": "min"}})
            result.history.append(row)
            bar.update(periods * config.n_envs)
            if finished:
                bar.set_postfix(train=f"{row['train_cost']:.1f}",
                                best_eval=f"{result.best_eval_cost:.1f}", refresh=False)
    finally:
        bar.close()

    if out_dir is not None:
        policy.save(out_dir / "last", ckpt_config, {
            "evaluation": {"value": result.history[-1]["eval_cost"], "steps": steps,
                           "mode": "min"}})
    model.load_state_dict(best_state)
    model.eval()
    result.seconds = time.perf_counter() - start
    return result


__all__ = [
    "AGENTS",
    "Agent",
    "AgentConfig",
    "LotSizingActorCritic",
    "TrainResult",
    "default_reward_scale",
    "discounted_returns",
    "log_prob_entropy",
    "pdppo_targets",
    "train_agent",
]
