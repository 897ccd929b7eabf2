"""Lot-sizing dynamics: a vectorised numpy environment and a Gymnasium wrapper.

One period, for a batch of B systems (see :mod:`orlearn.problems.lotsizing.settings`):

1. *Decision* (:func:`decide`). Action per machine: 0 = idle, ``i + 1`` = make item ``i``.
   An idle machine keeps its setup; so does a machine told to make an item it cannot make
   (``production == 0``): that choice is treated as idle (policies mask it, see
   :func:`action_mask`). A machine switched to a new item pays ``setup_cost`` and loses
   ``setup_loss`` units of its output (never below 0). Output is added to stock, capped at
   ``inventory_cap``. The result is the **post-decision state** (stock after production,
   before demand, and the new setups); the setup cost is the **post-decision reward**.
2. *Demand* (:func:`realise`). Sales = min(stock, demand); the rest is lost at
   ``lost_sales_cost`` per unit; what is left pays ``holding_cost``.

Reward = -(setup + lost sales + holding) cost; ``post_reward`` = -setup cost.
Observation (flat float32): stock per item, then the setup code per machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from orlearn.errors import InvalidInstanceError
from orlearn.problems.lotsizing.settings import LotSizingSetting


@dataclass
class Decision:
    """The post-decision state of a batch and the decision's cost."""

    stock: np.ndarray  # [B, N] on hand after production, before demand
    setup: np.ndarray  # [B, M] item codes after the decision
    setup_cost: np.ndarray  # [B]
    produced: np.ndarray  # [B, N] units added (after setup losses, before the cap)


@dataclass
class Outcome:
    """What demand did to a post-decision state."""

    stock: np.ndarray  # [B, N] on hand at the end of the period
    lost: np.ndarray  # [B, N] units of unmet demand
    lost_cost: np.ndarray  # [B]
    holding_cost: np.ndarray  # [B]


def check_actions(setting: LotSizingSetting, actions: Any, batch: int) -> np.ndarray:
    """[B, M] integer actions in 0..N, or an :class:`InvalidInstanceError` naming the fault."""
    try:
        a = np.asarray(actions)
    except (TypeError, ValueError):
        raise InvalidInstanceError("action", f"cannot read {actions!r} as integers") from None
    m, n = setting.n_machines, setting.n_items
    if a.shape == (m,) and batch == 1:
        a = a[None]
    if a.shape != (batch, m):
        raise InvalidInstanceError("action", f"expected shape [{batch}, {m}] (one code per "
                                   f"machine), got {list(a.shape)}")
    if not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise InvalidInstanceError("action", "codes must be integers 0 (idle) .. "
                                       f"{n} (item N)")
        a = a.astype(np.int64)
    if a.min(initial=0) < 0 or a.max(initial=0) > n:
        raise InvalidInstanceError("action", f"codes must lie in 0 (idle) .. {n}, got "
                                   f"{int(a.min())} .. {int(a.max())}")
    return a.astype(np.int64, copy=False)


def action_mask(setting: LotSizingSetting) -> np.ndarray:
    """[M, N + 1] booleans: which codes each machine may choose (idle, and items it makes)."""
    return np.concatenate([np.ones((setting.n_machines, 1), dtype=bool),
                           setting.production > 0], axis=1)


def decide(setting: LotSizingSetting, stock: np.ndarray, setup: np.ndarray,
           actions: np.ndarray) -> Decision:
    """Apply per-machine actions [B, M] to stock [B, N] and setups [B, M]."""
    m_idx = np.arange(setting.n_machines)
    item = np.clip(actions - 1, 0, None)  # [B, M]
    rate = setting.production[m_idx, item]  # [B, M]
    working = (actions > 0) & (rate > 0)
    switched = working & (setup != actions)
    output = np.where(working, rate - np.where(switched, setting.setup_loss[m_idx, item], 0), 0)
    output = np.clip(output, 0, None)
    cost = np.where(switched, setting.setup_cost[m_idx, item], 0.0).sum(axis=1)
    produced = np.zeros(stock.shape, dtype=np.int64)
    rows = np.broadcast_to(np.arange(stock.shape[0])[:, None], item.shape)
    np.add.at(produced, (rows, item), output)
    new_stock = np.minimum(stock + produced, setting.inventory_cap)
    new_setup = np.where(working, actions, setup)
    return Decision(new_stock, new_setup, cost, produced)


def realise(setting: LotSizingSetting, stock: np.ndarray, demand: np.ndarray) -> Outcome:
    """Serve demand [B, N] from post-decision stock [B, N]."""
    sales = np.minimum(stock, demand)
    lost = demand - sales
    left = stock - sales
    return Outcome(left, lost, lost @ setting.lost_sales_cost, left @ setting.holding_cost)


def observe(stock: np.ndarray, setup: np.ndarray) -> np.ndarray:
    """Flat float32 observations [B, N + M]: stock per item, then setup code per machine."""
    return np.concatenate([stock, setup], axis=1).astype(np.float32)


@dataclass
class Step:
    """One vectorised step's results (arrays over the batch)."""

    obs: np.ndarray  # [B, N + M] next observation (the reset one where an episode ended)
    reward: np.ndarray  # [B] -(setup + lost + holding)
    post_reward: np.ndarray  # [B] -setup
    post_obs: np.ndarray  # [B, N + M] post-decision state (stock before demand, new setups)
    done: np.ndarray  # [B] the episode reached the horizon (then auto-reset)
    lost: np.ndarray  # [B, N] units lost this period
    final_obs: np.ndarray | None = None  # [B, N + M] last observation where done


class BatchLotSizingEnv:
    """B independent copies of a setting stepped together (numpy; auto-reset at the horizon).

    Demand is drawn from ``seed`` unless ``demand`` [B, T, N] is given (replayed, e.g. the
    held-out scenarios shared with the MILP baselines).
    """

    def __init__(self, setting: LotSizingSetting, n_envs: int = 1, seed: int = 0,
                 demand: np.ndarray | None = None) -> None:
        self.setting = setting
        self.n_envs = int(n_envs)
        self.rng = np.random.default_rng(seed)
        if demand is not None:
            demand = np.asarray(demand)
            shape = (self.n_envs, setting.horizon, setting.n_items)
            if demand.shape != shape:
                raise InvalidInstanceError("demand", f"expected shape {list(shape)}, got "
                                           f"{list(demand.shape)}")
            if np.any(demand < 0) or not np.all(np.isfinite(demand)):
                raise InvalidInstanceError("demand", "must be finite and >= 0")
        self.demand = demand
        self.mask = action_mask(setting)
        self.reset()

    @property
    def obs_dim(self) -> int:
        return self.setting.n_items + self.setting.n_machines

    def reset(self) -> np.ndarray:
        s = self.setting
        self.stock = np.tile(s.initial_inventory, (self.n_envs, 1))
        self.setup = np.tile(s.initial_setup, (self.n_envs, 1))
        self.t = 0
        return observe(self.stock, self.setup)

    def _demand(self) -> np.ndarray:
        if self.demand is not None:
            return self.demand[:, self.t]
        s = self.setting
        return self.rng.binomial(s.demand_trials, s.demand_prob,
                                 size=(self.n_envs, s.n_items)).astype(np.int64)

    def step(self, actions: Any) -> Step:
        a = check_actions(self.setting, actions, self.n_envs)
        decision = decide(self.setting, self.stock, self.setup, a)
        outcome = realise(self.setting, decision.stock, self._demand())
        self.stock, self.setup = outcome.stock, decision.setup
        self.t += 1
        reward = -(decision.setup_cost + outcome.lost_cost + outcome.holding_cost)
        done = np.full(self.n_envs, self.t >= self.setting.horizon)
        obs = observe(self.stock, self.setup)
        final = None
        if done.all():
            final = obs
            obs = self.reset()
        return Step(obs, reward, -decision.setup_cost, observe(decision.stock, decision.setup),
                    done, outcome.lost, final)


def simulate(setting: LotSizingSetting, policy: Any, demand: np.ndarray) -> np.ndarray:
    """Total cost per scenario of ``policy`` over demand scenarios [S, T, N].

    ``policy(obs [S, N + M], t) -> actions [S, M]`` (a baseline or a trained agent's
    ``act``); every method is scored this way on the same scenarios.
    """
    demand = np.asarray(demand)
    env = BatchLotSizingEnv(setting, demand.shape[0], demand=demand)
    obs = env.reset()
    total = np.zeros(demand.shape[0])
    for t in range(setting.horizon):
        step = env.step(policy(obs, t))
        total -= step.reward
        obs = step.obs
    return total


class LotSizingEnv(gym.Env):
    """A Gymnasium environment for one system (MultiDiscrete actions, flat Box observations).

    ``reset(seed=...)`` seeds the demand; ``step`` returns ``info`` with ``post_decision_state``,
    ``post_reward`` (-setup cost), ``setup_cost``, ``lost_cost``, ``holding_cost``, ``demand``
    and ``action_mask``. Episodes end (``truncated``) at the horizon.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, setting: LotSizingSetting) -> None:
        self.setting = setting
        n, m = setting.n_items, setting.n_machines
        self.action_space = spaces.MultiDiscrete(np.full(m, n + 1))
        high = np.concatenate([setting.inventory_cap, np.full(m, n)]).astype(np.float32)
        self.observation_space = spaces.Box(0.0, high, dtype=np.float32)
        self._rng = np.random.default_rng()
        self._mask = action_mask(setting)
        self._reset_state()

    def _reset_state(self) -> None:
        self.stock = self.setting.initial_inventory[None].copy()
        self.setup = self.setting.initial_setup[None].copy()
        self.t = 0

    def action_masks(self) -> np.ndarray:
        """[M, N + 1] booleans of allowed codes per machine."""
        return self._mask.copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None
              ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._reset_state()
        return observe(self.stock, self.setup)[0], {"action_mask": self.action_masks()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        s = self.setting
        a = check_actions(s, action, 1)
        decision = decide(s, self.stock, self.setup, a)
        demand = self._rng.binomial(s.demand_trials, s.demand_prob).astype(np.int64)[None]
        outcome = realise(s, decision.stock, demand)
        self.stock, self.setup = outcome.stock, decision.setup
        self.t += 1
        cost = decision.setup_cost[0] + outcome.lost_cost[0] + outcome.holding_cost[0]
        info = {
            "post_decision_state": observe(decision.stock, decision.setup)[0],
            "post_reward": -float(decision.setup_cost[0]),
            "setup_cost": float(decision.setup_cost[0]),
            "lost_cost": float(outcome.lost_cost[0]),
            "holding_cost": float(outcome.holding_cost[0]),
            "demand": demand[0],
            "action_mask": self.action_masks(),
        }
        truncated = self.t >= s.horizon
        return observe(self.stock, self.setup)[0], -float(cost), False, truncated, info
