"""TS-DDR: a policy network proposes end-of-stage target volumes; the stage LPs price them.

At stage t the network reads the stage's position in the inflow year (sin, cos), its position
in the horizon, the start volumes (as fractions of each reservoir's range) and the inflows of
the last ``lags`` stages, the current one included (hazard-decision, as SDDP's stage LP), each
divided by the plant's mean inflow. It outputs ``u = sigmoid(raw)`` per plant (the linear
rule TS-LDR: ``raw`` clipped to [0, 1]) and the target volume is, by default ("release"
mode), ``v_in + k (inflow + upstream releases - u x max_turbine)`` clipped to the reservoir's
range, computed down the cascade: what an upstream plant actually releases (its ``u x
max_turbine``, less what its minimum volume holds back, plus what it spills above its
maximum) reaches the plant below; so the LP can reach every target. ("volume" mode,
``min + u (max - min)``, is the literal reading; on the Bolivian system its targets are mostly
out of reach within one stage, since a 138 hm3 reservoir moves at most 0.04 hm3 per one-hour
stage, and the penalty swamps the cost.)
Each stage LP adds ``v_out + s+ - s- = target`` with penalty ``target_penalty (s+ + s-)``.

Policies: an MLP (default), a linear rule (TS-LDR), or an LSTM (``recurrent=True``, the
paper's sequence model): an LSTM cell reads the same per-stage features and carries its state
from stage to stage, so the decision can depend on the whole history of volumes and inflows;
the rollout loss is then back-propagated through time as well as through the LP duals. A
recurrent policy must be rolled out stage by stage from stage 0 (as :func:`rollout_loss` and
:func:`~.sddp.simulate` do); asking for another order is an error, never a silent reset.

Loss: the mean over sampled inflow paths of the total LP objective of a rollout. Gradients
(envelope theorem): d objective_t / d target_t is the dual of the target rows and
d objective_t / d v_in_t the dual of the water-balance rows; the next start volume is the
target with a straight-through derivative (``v_in_{t+1} = target + (v_out - target)``
detached, exact whenever the target is met). PyTorch autograd chains these duals through the
network and the rollout.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from orlearn.errors import ConfigError
from orlearn.nn import MLP, seed_everything
from orlearn.problems.hydro.stage import StageLP, StageSolution
from orlearn.problems.hydro.system import HydroSystem

log = logging.getLogger("orlearn.hydro")


#: How the network's output u in [0, 1] becomes a target volume: ``"release"`` (default)
#: ``v_in + k (inflow + upstream releases - u max_turbine)``, clipped to the reservoir's range;
#: ``"volume"`` ``min + u (max - min)``.
MODES = ("release", "volume")


class TargetPolicy(nn.Module):
    """Maps stage features to target volumes (hm3) for every plant.

    Args:
        n_plants: plants of the system.
        hidden: hidden widths (empty with ``linear=True``: TS-LDR).
        lags: inflow stages read (the current one included).
        linear: a linear decision rule (TS-LDR: no squashing; clipped to [0, 1] with a
            straight-through derivative).
        mode: see :data:`MODES`.
        recurrent: an LSTM cell of width ``hidden[0]`` over the stages, then an MLP head on
            its output with the remaining widths ``hidden[1:]``; use :meth:`step`.
    """

    def __init__(self, n_plants: int, hidden: tuple[int, ...] = (64, 64), lags: int = 2,
                 linear: bool = False, mode: str = "release", recurrent: bool = False) -> None:
        super().__init__()
        self.n_plants = n_plants
        self.lags = lags
        self.linear = linear
        self.recurrent = recurrent
        if mode not in MODES:
            raise ConfigError(f"mode: choose one of {MODES}, got {mode!r}")
        if recurrent and linear:
            raise ConfigError("recurrent: a linear rule (TS-LDR) cannot be recurrent; choose "
                              "one of linear=True or recurrent=True")
        if recurrent and not hidden:
            raise ConfigError("hidden: a recurrent policy needs at least one width (the LSTM "
                              "state), e.g. hidden=(64, 64)")
        self.mode = mode
        in_dim = 3 + n_plants * (1 + lags)
        self.rnn: nn.LSTMCell | None = None
        if recurrent:
            self.rnn = nn.LSTMCell(in_dim, hidden[0])
            self.net = MLP(hidden[0], tuple(hidden[1:]), n_plants, activation="relu")
        else:
            self.net = MLP(in_dim, () if linear else hidden, n_plants, activation="relu")
        self.config = {"n_plants": n_plants, "hidden": list(hidden), "lags": lags,
                       "linear": linear, "mode": mode, "recurrent": recurrent}

    def forward(self, features: Tensor) -> Tensor:
        """The decision in [0, 1] per plant (TS-LDR: unsquashed, clipped straight-through).
        Feed-forward policies only; a recurrent one needs its state: :meth:`step`."""
        if self.rnn is not None:
            raise ConfigError("a recurrent TargetPolicy needs its state: call "
                              "step(features, state) stage by stage")
        raw = self.net(features)
        if self.linear:
            return raw + (raw.clamp(0.0, 1.0) - raw).detach()
        return torch.sigmoid(raw)

    def step(self, features: Tensor, state: tuple[Tensor, Tensor] | None = None
             ) -> tuple[Tensor, tuple[Tensor, Tensor] | None]:
        """One stage: ``(decision [B, H], next state)``; ``state`` None starts a rollout (zero
        LSTM state). A feed-forward policy ignores the state and returns None."""
        if self.rnn is None:
            return self(features), None
        h, c = self.rnn(features.float(), state)
        return torch.sigmoid(self.net(h)), (h, c)


def cascade_order(system: HydroSystem) -> list[int]:
    """Plants ordered so that every plant comes after all plants that feed it (turbined or
    spilled water); the system's validation guarantees the cascade has no cycle."""
    feeds: list[set[int]] = [set() for _ in range(system.n_plants)]
    for up in range(system.n_plants):
        for down in (system.downstream_turbine[up], system.downstream_spill[up]):
            if down >= 0:
                feeds[int(down)].add(up)
    order: list[int] = []
    placed: set[int] = set()
    while len(order) < system.n_plants:
        for i in range(system.n_plants):
            if i not in placed and feeds[i] <= placed:
                order.append(i)
                placed.add(i)
    return order


class _Features:
    """Builds the policy's inputs from volumes and inflow histories (numpy or torch)."""

    def __init__(self, system: HydroSystem, horizon: int, lags: int) -> None:
        self.system = system
        self.horizon = horizon
        self.lags = lags
        self.low = torch.as_tensor(system.min_volume, dtype=torch.float32)
        self.high = torch.as_tensor(system.max_volume, dtype=torch.float32)
        span = system.max_volume - system.min_volume
        self.span = torch.as_tensor(np.where(span > 0, span, 1.0), dtype=torch.float32)
        mean = system.inflows.mean(axis=(0, 1))
        self.inflow_scale = torch.as_tensor(np.where(mean > 0, mean, 1.0), dtype=torch.float32)
        self.max_turbine = torch.as_tensor(system.max_turbine, dtype=torch.float32)
        self.down_turbine = [int(d) for d in system.downstream_turbine]
        self.down_spill = [int(d) for d in system.downstream_spill]
        self.order = cascade_order(system)

    def __call__(self, t: int, volume: Tensor, inflows: Tensor) -> Tensor:
        """volume [B, H]; inflows [B, >= t + 1, H] -> features [B, 3 + H (1 + lags)]."""
        b = volume.shape[0]
        phase = 2 * np.pi * t / self.system.table_stages
        stage = torch.tensor([np.sin(phase), np.cos(phase), t / self.horizon],
                             dtype=torch.float32).expand(b, 3)
        frac = (volume.float() - self.low) / self.span
        lagged = []
        for lag in range(self.lags):
            past = inflows[:, t - lag] if t - lag >= 0 else inflows[:, 0] * 0.0
            lagged.append(past.float() / self.inflow_scale)
        return torch.cat([stage, frac, *lagged], dim=1)

    def targets(self, u: Tensor, mode: str, volume: Tensor, inflow: Tensor) -> Tensor:
        """Target volumes [B, H] (hm3) from decisions ``u`` [B, H]."""
        if mode == "volume":
            return (self.low + u * (self.high - self.low)).double()
        k = self.system.water_coef
        # float64: float32 targets miss by ~1e-7 of a reservoir, which the penalty prices
        u, volume = u.double(), volume.double()
        release = u * self.max_turbine.double()
        arriving = inflow.double().clone()
        targets = torch.empty_like(volume)
        for i in self.order:  # upstream plants first
            wanted = volume[:, i] + k * (arriving[:, i] - release[:, i])
            # a plain clip (derivative 0 where clipped; a straight-through clip sent
            # wrong-signed gradients downstream)
            low, high = float(self.system.min_volume[i]), float(self.system.max_volume[i])
            targets[:, i] = wanted.clamp(low, high)
            short = torch.relu(low - wanted) / k   # release cut to keep min volume
            excess = torch.relu(wanted - high) / k  # spilled above max volume
            down_t, down_s = self.down_turbine[i], self.down_spill[i]
            if down_t >= 0:
                arriving[:, down_t] = arriving[:, down_t] + release[:, i] - short
            if down_s >= 0:
                arriving[:, down_s] = arriving[:, down_s] + excess
        return targets


class _StageObjective(torch.autograd.Function):
    """Attaches LP duals as the gradient of a stage objective computed outside autograd."""

    @staticmethod
    def forward(ctx: Any, volume: Tensor, target: Tensor, objective: Tensor,
                water_dual: Tensor, target_dual: Tensor) -> Tensor:
        ctx.save_for_backward(water_dual, target_dual)
        return objective.clone()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        water_dual, target_dual = ctx.saved_tensors
        g = grad.unsqueeze(1)
        return g * water_dual, g * target_dual, None, None, None


def stage_objective(lp: StageLP, t: int, volume: Tensor, target: Tensor,
                    inflow: np.ndarray) -> tuple[Tensor, Tensor, list[StageSolution]]:
    """Solve stage ``t`` for a batch: start volumes and targets [B, H] (tensors with
    gradients), inflows [B, H]. Returns (objective [B] carrying the dual gradients, the next
    start volumes [B, H] with the straight-through derivative, the LP solutions)."""
    v = volume.detach().double().numpy()
    tg = target.detach().double().numpy()
    sols = [lp.solve(v[i], inflow[i], tg[i], stage=t) for i in range(v.shape[0])]
    dtype = target.dtype
    objective = torch.tensor([s.objective for s in sols], dtype=dtype)
    water = torch.tensor(np.stack([s.water_dual for s in sols]), dtype=volume.dtype)
    tdual = torch.tensor(np.stack([s.target_dual for s in sols]), dtype=dtype)
    out = _StageObjective.apply(volume, target, objective, water, tdual)
    realised = torch.tensor(np.stack([s.volume for s in sols]), dtype=dtype)
    next_volume = target + (realised - target).detach()
    return out, next_volume, sols


@dataclass
class TSDDRConfig:
    """Options of :func:`train_tsddr`."""

    stages: int = 96
    iterations: int = 300
    batch_paths: int = 8
    lr: float = 1e-3
    hidden: tuple[int, ...] = (64, 64)
    lags: int = 2
    linear: bool = False
    recurrent: bool = False
    mode: str = "release"
    target_penalty: float | None = None
    eval_every: int = 25
    eval_paths: int = 16
    seed: int = 0

    def validate(self) -> None:
        for name in ("stages", "iterations", "batch_paths", "lags", "eval_every", "eval_paths"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if self.mode not in MODES:
            raise ConfigError(f"mode: choose one of {MODES}, got {self.mode!r}")
        if self.linear and self.recurrent:
            raise ConfigError("linear and recurrent: choose one (TS-LDR is a linear rule, the "
                              "recurrent policy an LSTM)")


def policy_name(model: TargetPolicy) -> str:
    """``ts-ldr``, ``ts-ddr-lstm`` or ``ts-ddr``."""
    if model.linear:
        return "ts-ldr"
    return "ts-ddr-lstm" if model.recurrent else "ts-ddr"


class TSDDRPolicy:
    """A trained target network plus its stage LP; acts in :func:`~.sddp.simulate`."""

    def __init__(self, system: HydroSystem, model: TargetPolicy, horizon: int,
                 target_penalty: float | None = None, name: str = "ts-ddr") -> None:
        self.system = system
        self.model = model
        self.horizon = horizon
        self.name = name
        self.lp = StageLP(system, targets=True, target_penalty=target_penalty)
        self.features = _Features(system, horizon, model.lags)
        # recurrent policies: the LSTM state after stage ``_next_stage - 1`` of a rollout
        self._state: tuple[Tensor, Tensor] | None = None
        self._next_stage = 0
        self._batch = 0

    def targets(self, t: int, volume: np.ndarray, inflows: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            v = torch.as_tensor(volume, dtype=torch.float64)[None]
            q = torch.as_tensor(inflows, dtype=torch.float64)[None]
            return self.target(t, v, q)[0].double().numpy()

    def target(self, t: int, volume: Tensor, inflows: Tensor) -> Tensor:
        """Targets [B, H] for start volumes [B, H] and inflow histories [B, >= t + 1, H].

        A recurrent policy starts a new rollout at ``t = 0`` and must then be called for
        ``t = 1, 2, ...`` in order with the same batch size."""
        features = self.features(t, volume, inflows)
        if self.model.recurrent and t != 0 and (t != self._next_stage
                                                or volume.shape[0] != self._batch):
            raise ConfigError(
                f"stage {t}: a recurrent ({self.name}) policy is rolled out stage by stage "
                f"from stage 0 with one batch (next expected stage {self._next_stage}, "
                f"batch {self._batch}); start again at stage 0")
        # a feed-forward model ignores the state and returns None
        u, self._state = self.model.step(features, None if t == 0 else self._state)
        self._next_stage, self._batch = t + 1, int(volume.shape[0])
        return self.features.targets(u, self.model.mode, volume, inflows[:, t])

    def solve_stage(self, t: int, volume: np.ndarray, inflows: np.ndarray) -> StageSolution:
        return self.lp.solve(volume, inflows[t], self.targets(t, volume, inflows), stage=t)


@dataclass
class TSDDRResult:
    policy: TSDDRPolicy
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    best_eval: float = float("nan")
    config: TSDDRConfig | None = None


def rollout_loss(policy: TSDDRPolicy, paths: np.ndarray) -> tuple[Tensor, float, float]:
    """Mean total LP objective of a batch of rollouts (differentiable through the duals);
    also returns the mean operating cost and mean penalty (floats)."""
    s = policy.system
    n, T, _ = paths.shape
    inflows = torch.as_tensor(paths, dtype=torch.float64)
    volume = torch.as_tensor(np.tile(s.initial_volume, (n, 1)), dtype=torch.float64)
    total = torch.zeros(n, dtype=torch.float64)
    cost = penalty = 0.0
    for t in range(T):
        target = policy.target(t, volume, inflows)
        objective, volume, sols = stage_objective(policy.lp, t, volume, target, paths[:, t])
        total = total + objective
        cost += sum(x.cost for x in sols)
        penalty += sum(x.penalty for x in sols)
    return total.mean(), cost / n, penalty / n


def train_tsddr(system: HydroSystem, config: TSDDRConfig | None = None, *,
                progress: bool = False, checkpoint: str | Path | None = None) -> TSDDRResult:
    """Train a TS-DDR (``recurrent=True``: an LSTM; ``linear=True``: TS-LDR) policy by Adam on
    sampled paths.

    Every ``eval_every`` iterations the policy is scored on ``eval_paths`` fixed paths (seed
    ``seed + 1``, never trained on); the best-scoring weights are kept (and saved to
    ``checkpoint`` when given).
    """
    config = config or TSDDRConfig()
    config.validate()
    seed_everything(config.seed)
    model = TargetPolicy(system.n_plants, tuple(config.hidden), config.lags, config.linear,
                         config.mode, config.recurrent)
    policy = TSDDRPolicy(system, model, config.stages, config.target_penalty,
                         name=policy_name(model))
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    eval_paths = system.sample_inflows(config.eval_paths, config.stages, seed=config.seed + 1)
    history: list[dict[str, Any]] = []
    best, best_state = float("inf"), None
    start = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=config.iterations, desc=policy.name)
    for it in range(1, config.iterations + 1):
        paths = system.sample_inflows(config.batch_paths, config.stages,
                                      seed=int(rng.integers(2**31)))
        optimiser.zero_grad()
        loss, cost, penalty = rollout_loss(policy, paths)
        loss.backward()
        optimiser.step()
        record: dict[str, Any] = {"iteration": it, "loss": loss.item(), "cost": cost,
                                  "penalty": penalty}
        if it % config.eval_every == 0 or it == config.iterations:
            with torch.no_grad():
                _, eval_cost, eval_penalty = rollout_loss(policy, eval_paths)
            record.update(eval_cost=eval_cost, eval_penalty=eval_penalty)
            if eval_cost < best:
                best = eval_cost
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                if checkpoint is not None:
                    save_policy(policy, checkpoint, config, eval_cost)
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(cost=f"{cost:.0f}", best=f"{best:.0f}")
    if bar is not None:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return TSDDRResult(policy=policy, history=history, seconds=time.perf_counter() - start,
                       best_eval=best, config=config)


def save_policy(policy: TSDDRPolicy, path: str | Path, config: TSDDRConfig,
                eval_cost: float) -> Path:
    """Weights (safetensors) + JSON config through :mod:`orlearn.nn`."""
    from orlearn.nn import save_checkpoint

    return save_checkpoint(path, policy.model, {
        "architecture": {"class": "TargetPolicy", "kwargs": policy.model.config},
        "training": {**asdict(config), "system": policy.system.name},
    }, metadata={"validation": {"eval_cost": eval_cost}})


def load_policy(system: HydroSystem, path: str | Path) -> TSDDRPolicy:
    """Rebuild a :class:`TSDDRPolicy` saved by :func:`save_policy` for ``system``."""
    from orlearn.errors import CheckpointError
    from orlearn.nn import build_from_config, load_checkpoint

    _, config = load_checkpoint(path)
    model = build_from_config(config, TargetPolicy, source=str(path))
    if model.n_plants != system.n_plants:
        raise CheckpointError(f"{path} was trained for {model.n_plants} plants; the system has "
                              f"{system.n_plants}")
    load_checkpoint(path, model)
    training = config.get("training", {})
    return TSDDRPolicy(system, model, int(training.get("stages", 96)),
                       training.get("target_penalty"), name=policy_name(model))
