"""Stochastic dual dynamic programming (SDDP) on the stage LPs, and policy simulation.

Stage-wise independent inflows: at stage t one row of the scenario table (``t % table
stages``) is drawn, jointly for all plants, with ``scenario_probability``. Hazard-decision:
each stage LP sees its own inflow. Each iteration runs ``forward_passes`` sampled forward
passes, then a backward pass that adds one averaged Benders cut per trial point to the stage
before: ``alpha_{t-1} >= sum_j p_j (Q_tj(v) + pi_tj . (v_out - v))`` where ``pi_tj`` is the
dual of stage t's water-balance rows (d cost / d start volume).

Lower bound: the expected first-stage objective (cost + alpha) over the first stage's
scenarios. Statistical upper bound: the mean total cost of ``ub_paths`` sampled forward
simulations with a 95% confidence half-width. Stopping rule (first that holds): the lower
bound lies inside the upper bound's confidence interval; the lower bound improved by less
than ``stall_tol`` (relative) over ``stall_window`` iterations; ``max_iterations``;
``time_limit`` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from orlearn.errors import ConfigError
from orlearn.problems.hydro.stage import StageLP, StageSolution
from orlearn.problems.hydro.system import HydroSystem

log = logging.getLogger("orlearn.hydro")


@dataclass
class SDDPConfig:
    """Options of :func:`train_sddp` (see the module docstring)."""

    stages: int = 126
    max_iterations: int = 500
    forward_passes: int = 1
    time_limit: float | None = None
    stall_window: int = 20
    stall_tol: float = 1e-4
    ub_every: int = 10
    ub_paths: int = 100
    seed: int = 0

    def validate(self) -> None:
        for name in ("stages", "max_iterations", "forward_passes", "stall_window", "ub_every",
                     "ub_paths"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.time_limit is not None and self.time_limit <= 0:
            raise ConfigError(f"time_limit must be > 0 seconds, got {self.time_limit}")
        if self.stall_tol < 0:
            raise ConfigError("stall_tol must be >= 0")


@dataclass
class SDDPResult:
    """A trained SDDP policy and its convergence log."""

    policy: SDDPPolicy
    history: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = ""
    seconds: float = 0.0

    @property
    def lower_bound(self) -> float:
        return float(self.history[-1]["lower_bound"]) if self.history else float("nan")


class SDDPPolicy:
    """One stage LP with cuts per stage; acts like any hydro policy in :func:`simulate`."""

    name = "sddp"

    def __init__(self, system: HydroSystem, stages: int) -> None:
        self.system = system
        self.stages = stages
        self.lps = [StageLP(system, cuts=True) for _ in range(stages)]

    def solve_stage(self, t: int, volume: np.ndarray, inflows: np.ndarray) -> StageSolution:
        """Stage ``t`` from ``volume`` given the inflow history ``inflows[: t + 1]``."""
        if t >= self.stages:
            raise ConfigError(f"the SDDP policy was trained on {self.stages} stages; stage {t} "
                              "is beyond them")
        return self.lps[t].solve(volume, inflows[t], stage=t)

    @property
    def n_cuts(self) -> int:
        return sum(lp.n_cuts for lp in self.lps)


def _forward(policy: SDDPPolicy, path: np.ndarray) -> tuple[float, list[np.ndarray]]:
    volume = policy.system.initial_volume
    total, trials = 0.0, []
    for t in range(policy.stages):
        sol = policy.lps[t].solve(volume, path[t], stage=t)
        total += sol.cost
        volume = sol.volume
        trials.append(volume)
    return total, trials


def _backward(policy: SDDPPolicy, trials: list[np.ndarray]) -> None:
    s = policy.system
    p = s.scenario_probability
    for t in range(policy.stages - 1, 0, -1):
        v = trials[t - 1]
        table = s.stage_inflows(t)
        values = np.empty(s.n_scenarios)
        duals = np.empty((s.n_scenarios, s.n_plants))
        for j in range(s.n_scenarios):
            sol = policy.lps[t].solve(v, table[j], stage=t)
            values[j] = sol.objective
            duals[j] = sol.water_dual
        slope = p @ duals
        policy.lps[t - 1].add_cut(float(p @ values - slope @ v), slope)


def _lower_bound(policy: SDDPPolicy) -> float:
    s = policy.system
    table = s.stage_inflows(0)
    values = [policy.lps[0].solve(s.initial_volume, table[j], stage=0).objective
              for j in range(s.n_scenarios)]
    return float(s.scenario_probability @ np.asarray(values))


def train_sddp(system: HydroSystem, config: SDDPConfig | None = None,
               progress: Callable[[dict[str, Any]], None] | None = None) -> SDDPResult:
    """Train SDDP cuts on ``config.stages`` stages; returns the policy and its bound log."""
    config = config or SDDPConfig()
    config.validate()
    rng = np.random.default_rng(config.seed)
    policy = SDDPPolicy(system, config.stages)
    history: list[dict[str, Any]] = []
    start = time.perf_counter()
    reason = "max_iterations"
    ub_mean = ub_half = float("nan")
    for it in range(1, config.max_iterations + 1):
        forward_costs = []
        for _ in range(config.forward_passes):
            path = system.sample_inflows(1, config.stages, seed=int(rng.integers(2**31)))[0]
            cost, trials = _forward(policy, path)
            forward_costs.append(cost)
            _backward(policy, trials)
        lb = _lower_bound(policy)
        record: dict[str, Any] = {"iteration": it, "lower_bound": lb,
                                  "forward_cost": float(np.mean(forward_costs)),
                                  "cuts": policy.n_cuts}
        if it % config.ub_every == 0:
            paths = system.sample_inflows(config.ub_paths, config.stages,
                                          seed=int(rng.integers(2**31)))
            costs = np.array([_forward(policy, path)[0] for path in paths])
            ub_mean = float(costs.mean())
            ub_half = float(1.96 * costs.std(ddof=1) / np.sqrt(len(costs))) if len(costs) > 1 \
                else 0.0
            record.update(upper_bound=ub_mean, upper_half_width=ub_half)
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        if progress is not None:
            progress(record)
        log.debug("sddp %s", record)
        if "upper_bound" in record and lb >= ub_mean - ub_half:
            reason = "lower bound inside the upper bound's 95% interval"
            break
        if it > config.stall_window:
            old = history[-1 - config.stall_window]["lower_bound"]
            if abs(lb - old) <= config.stall_tol * max(abs(lb), 1e-9):
                reason = f"lower bound stalled ({config.stall_window} iterations)"
                break
        if config.time_limit is not None and record["seconds"] >= config.time_limit:
            reason = "time limit"
            break
    return SDDPResult(policy=policy, history=history, stop_reason=reason,
                      seconds=time.perf_counter() - start)


class MyopicPolicy:
    """Each stage minimises its own cost (water has no future value)."""

    name = "myopic"

    def __init__(self, system: HydroSystem) -> None:
        self.system = system
        self.lp = StageLP(system)

    def solve_stage(self, t: int, volume: np.ndarray, inflows: np.ndarray) -> StageSolution:
        return self.lp.solve(volume, inflows[t], stage=t)


@dataclass
class Simulation:
    """Per-path results of :func:`simulate` (costs in system units, volumes in hm3)."""

    policy: str
    cost: np.ndarray          # [paths] total operating cost over the stages
    stage_cost: np.ndarray    # [paths, stages]
    penalty: np.ndarray       # [paths] target-miss penalties (TS-DDR), not in ``cost``
    volume: np.ndarray        # [paths, stages + 1, plants]
    thermal: np.ndarray       # [paths, stages] p.u.
    hydro: np.ndarray         # [paths, stages] p.u.
    deficit: np.ndarray       # [paths, stages] p.u.
    seconds: float

    def summary(self) -> dict[str, float]:
        n = len(self.cost)
        return {"mean": float(self.cost.mean()),
                "std": float(self.cost.std(ddof=1)) if n > 1 else 0.0,
                "stderr": float(self.cost.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0,
                "seconds": self.seconds}


def simulate(system: HydroSystem, policy: Any, inflows: np.ndarray) -> Simulation:
    """Run ``policy`` (an object with ``solve_stage(t, volume, inflow_history)``) on every
    inflow path ``[paths, stages, plants]`` from the system's initial volumes."""
    paths = np.asarray(inflows, dtype=np.float64)
    if paths.ndim != 3 or paths.shape[2] != system.n_plants:
        raise ConfigError(f"inflows: expected [paths, stages, {system.n_plants}], got "
                          f"{paths.shape}")
    n, T, h = paths.shape
    out = {k: np.zeros((n, T)) for k in ("stage_cost", "thermal", "hydro", "deficit")}
    penalty = np.zeros(n)
    volume = np.zeros((n, T + 1, h))
    start = time.perf_counter()
    for i in range(n):
        v = system.initial_volume.copy()
        volume[i, 0] = v
        for t in range(T):
            sol = policy.solve_stage(t, v, paths[i])
            out["stage_cost"][i, t] = sol.cost
            out["thermal"][i, t] = sol.thermal.sum()
            out["hydro"][i, t] = sol.hydro
            out["deficit"][i, t] = sol.deficit.sum()
            penalty[i] += sol.penalty
            v = sol.volume
            volume[i, t + 1] = v
    return Simulation(policy=getattr(policy, "name", type(policy).__name__),
                      cost=out["stage_cost"].sum(1), stage_cost=out["stage_cost"],
                      penalty=penalty, volume=volume, thermal=out["thermal"],
                      hydro=out["hydro"], deficit=out["deficit"],
                      seconds=time.perf_counter() - start)
