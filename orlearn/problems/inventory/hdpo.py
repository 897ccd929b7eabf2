"""HDPO: hindsight differentiable policy optimization (Alvo, Russo, Kanoria et al.).

The policy is rolled out on sampled demand paths through the differentiable simulator; the
loss is the mean cost per period per store; its gradient is exact for each path (pathwise,
back-propagation through the whole horizon) and Adam follows it. A REINFORCE (score-function)
estimator on the same policy, made stochastic with a Gaussian of learnable width, is available
to show the variance gap.

Defaults follow the paper: train horizon 50 periods (the first 30 not reported), a dev set of
paths drawn with another seed for model selection, test horizon 5,000 periods (3,000 warm-up)
on yet another seed.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from orlearn.errors import ConfigError
from orlearn.nn import fit, get_device, seed_everything
from orlearn.problems.inventory.network import InventoryNetwork
from orlearn.problems.inventory.policies import IntegerOrders
from orlearn.problems.inventory.simulator import SimState, Simulator

logger = logging.getLogger("orlearn.inventory")

ESTIMATORS = ("pathwise", "reinforce")


@dataclass
class HDPOConfig:
    """Training options (periods are simulation periods; costs per period per store).

    Attributes:
        epochs: epochs; each ends with a dev evaluation (model selection, early stopping).
        passes_per_epoch: passes over the training paths per epoch (raise it when the training
            set is small, so that dev evaluations do not dominate the run time).
        train_paths: number of training demand paths (the data-efficiency knob).
        batch_paths: paths per gradient step.
        micro_batch_paths: paths simulated and back-propagated at a time within a step (the
            gradient is the same; chunks of about 16k node rows stay in cache: a 50-store GNN
            step ran 2.3x faster in chunks of 256 paths than in one piece of 1,024, while a
            serial MLP ran 3x slower in chunks of 256 than of 2,048). ``None`` (default):
            ``16384 // (nodes + 1)`` paths, at least 64. The REINFORCE estimator always uses
            the whole batch (its baseline is the batch mean).
        periods / warmup: training horizon and the periods left out of reported figures.
        dev_paths / dev_periods / dev_warmup: model-selection set, drawn with another seed.
        lr: Adam learning rate (None: 0.05 for base-stock-type levels, 3e-3 for networks).
        grad_clip: max gradient norm (None: no clipping).
        patience: early stopping on the dev cost, in epochs (None: never).
        stop_at: stop once the dev cost is at or below this value (time-to-target runs).
        estimator: ``"pathwise"`` (HDPO) or ``"reinforce"``.
        schedule: ``"cosine"`` (step size decays to 1% over ``epochs``) or ``"constant"``.
        loss_after_warmup: count only the periods after ``warmup`` in the training loss
            (gradients still flow through the warm-up periods' states).
        integer_orders: select the best-on-dev weights with orders rounded to whole units
            (:class:`~orlearn.problems.inventory.policies.IntegerOrders`), the way the policy
            is deployed when demand is integer; training itself stays continuous. ``None``
            (default): on when the network's demand is integer-valued (Poisson).
        seed: seed of initial weights, training paths and dev paths.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``.
    """

    epochs: int = 100
    passes_per_epoch: int = 1
    train_paths: int = 8192
    batch_paths: int = 1024
    micro_batch_paths: int | None = None
    periods: int = 50
    warmup: int = 30
    dev_paths: int = 4096
    dev_periods: int = 100
    dev_warmup: int = 30
    lr: float | None = None
    grad_clip: float | None = 10.0
    patience: int | None = 30
    stop_at: float | None = None
    estimator: str = "pathwise"
    schedule: str = "cosine"
    loss_after_warmup: bool = False
    integer_orders: bool | None = None
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        for name in ("epochs", "passes_per_epoch", "train_paths", "batch_paths", "periods",
                     "dev_paths", "dev_periods"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1 (got {getattr(self, name)})")
        if not 0 <= self.warmup < self.periods or not 0 <= self.dev_warmup < self.dev_periods:
            raise ConfigError("warm-up periods must be >= 0 and below the horizon")
        if self.estimator not in ESTIMATORS:
            raise ConfigError(f"estimator must be one of {ESTIMATORS} (got {self.estimator!r})")
        if self.schedule not in ("cosine", "constant"):
            raise ConfigError(f"schedule must be 'cosine' or 'constant' (got {self.schedule!r})")
        if self.micro_batch_paths is not None and self.micro_batch_paths < 1:
            raise ConfigError(f"micro_batch_paths must be at least 1 or None (got "
                              f"{self.micro_batch_paths})")
        if self.lr is not None and not self.lr > 0:
            raise ConfigError(f"lr must be positive (got {self.lr})")


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained policy (best dev weights), its dev cost,
    the per-epoch history and the wall time in seconds."""

    policy: nn.Module
    dev_cost: float
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)


class _Stochastic(nn.Module):
    """Gaussian exploration around a deterministic policy, for REINFORCE."""

    def __init__(self, policy: nn.Module, init_std: float = 0.5) -> None:
        super().__init__()
        self.policy = policy
        self.log_std = nn.Parameter(torch.tensor(math.log(init_std)))
        self.log_prob: list[Tensor] = []

    def forward(self, state: SimState, sim: Simulator) -> Tensor:
        detached = SimState(state.inventory.detach(), state.period,
                            None if state.past_demand is None else state.past_demand.detach(),
                            state.lead_times)
        mean = self.policy(detached, sim)
        std = self.log_std.exp() * sim.node_mean.clamp_min(1e-6)
        dist = torch.distributions.Normal(mean, std)
        action = dist.sample()
        self.log_prob.append(dist.log_prob(action).sum(-1))
        return action.clamp_min(0.0).detach()


def resolve_integer_orders(network: InventoryNetwork, integer_orders: bool | None) -> bool:
    """``integer_orders`` as given, or (``None``) whether the network's demand is integer."""
    return network.demand.integer_valued if integer_orders is None else bool(integer_orders)


def deployed(policy: nn.Module, integer_orders: bool) -> nn.Module:
    """The policy as it is evaluated: wrapped in ``IntegerOrders`` when ``integer_orders``."""
    return IntegerOrders(policy) if integer_orders else policy


def default_lr(policy: nn.Module) -> float:
    """Adam step size: levels of base-stock-type policies move in units, networks slower."""
    n_params = sum(p.numel() for p in policy.parameters() if p.requires_grad)
    return 0.05 if n_params <= 64 else 3e-3


def train(network: InventoryNetwork, policy: nn.Module, config: HDPOConfig | None = None, *,
          checkpoint_dir: str | Path | None = None, resume: bool = False,
          progress: bool = True, command: str = "") -> TrainResult:
    """Fit ``policy`` to ``network`` by HDPO (or REINFORCE); returns the best-on-dev policy.

    The returned policy orders continuous quantities; with ``config.integer_orders`` (on by
    default for integer demand) its weights were chosen on rounded orders, so evaluate it the
    same way (:func:`evaluate` does so by default)."""
    config = config or HDPOConfig()
    config.validate()
    integer = resolve_integer_orders(network, config.integer_orders)
    device = get_device(None if config.device == "auto" else config.device)
    seed_everything(config.seed)
    sim = Simulator(network, device=device)
    policy = policy.to(device)
    trainable = [p for p in policy.parameters() if p.requires_grad]
    if not trainable:
        raise ConfigError(f"{type(policy).__name__} has no trainable parameters")
    model: nn.Module = _Stochastic(policy) if config.estimator == "reinforce" else policy
    lr = config.lr or default_lr(policy)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs,
                                                            eta_min=0.01 * lr)
                 if config.schedule == "cosine" else None)
    train_demand = sim.sample_demand(config.train_paths, config.periods, config.seed + 1)
    dev_demand = sim.sample_demand(config.dev_paths, config.dev_periods, config.seed + 2)
    # per-path lead times (None unless the network's lead times vary across paths)
    train_leads = sim.sample_lead_times(config.train_paths, config.seed + 1)
    dev_leads = sim.sample_lead_times(config.dev_paths, config.seed + 2)
    batch_gen = torch.Generator().manual_seed(config.seed + 3)
    init_gen = torch.Generator().manual_seed(config.seed + 4)
    dev_gen_seed = config.seed + 5

    micro_batch = config.micro_batch_paths or max(64, 16384 // (network.n_nodes + 1))

    def pathwise_step(demand: Tensor, leads: Tensor | None) -> float:
        """One HDPO gradient: back-propagated in chunks of ``micro_batch_paths`` paths (the
        paths are independent, so the summed chunk gradients are the batch's gradient)."""
        paths = demand.shape[0]
        chunk = micro_batch
        total = 0.0
        for begin in range(0, paths, chunk):
            part = demand[begin:begin + chunk]
            rollout = sim.rollout(model, part, warmup=config.warmup, generator=init_gen,
                                  lead_times=None if leads is None
                                  else leads[begin:begin + chunk])
            cost = rollout.cost[:, config.warmup:] if config.loss_after_warmup else rollout.cost
            loss = cost.mean() / sim.n_stores * (part.shape[0] / paths)
            loss.backward()
            total += float(loss.detach())
        return total

    def reinforce_step(demand: Tensor, leads: Tensor | None) -> float:
        assert isinstance(model, _Stochastic)
        rollout = sim.rollout(model, demand, warmup=config.warmup, generator=init_gen,
                              lead_times=leads)
        log_prob = torch.stack(model.log_prob, dim=1).sum(1)
        model.log_prob.clear()
        path_cost = rollout.cost.mean(1).detach() / sim.n_stores
        advantage = path_cost - path_cost.mean()
        (advantage * log_prob).mean().backward()
        return float(path_cost.mean())

    step = reinforce_step if config.estimator == "reinforce" else pathwise_step

    def train_epoch(epoch: int) -> float:
        losses = []
        for _ in range(config.passes_per_epoch):
            order = torch.randperm(config.train_paths, generator=batch_gen)
            for start in range(0, config.train_paths, config.batch_paths):
                idx = order[start:start + config.batch_paths].to(device)
                optimizer.zero_grad(set_to_none=True)
                losses.append(step(train_demand[idx],
                                   None if train_leads is None else train_leads[idx]))
                if config.grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
        return float(np.mean(losses))

    dev_policy = deployed(policy, integer)

    def validate(epoch: int) -> float:
        gen = torch.Generator().manual_seed(dev_gen_seed)
        chunk = 4 * micro_batch
        total = 0.0
        with torch.no_grad():
            for begin in range(0, config.dev_paths, chunk):
                part = dev_demand[begin:begin + chunk]
                rollout = sim.rollout(dev_policy, part, warmup=config.dev_warmup, generator=gen,
                                      lead_times=None if dev_leads is None
                                      else dev_leads[begin:begin + chunk])
                total += rollout.per_period_per_store() * part.shape[0]
        return total / config.dev_paths

    run_config = {
        "architecture": {"class": type(policy).__name__,
                         "kwargs": getattr(policy, "config", {})},
        "training": {"method": "hdpo", "network": network.name, "command": command,
                     **{k: v for k, v in asdict(config).items() if k not in ("epochs", "device")},
                     "lr": lr},
        "deployment": {"integer_orders": integer},
    }
    start = time.perf_counter()
    history = fit(
        model, optimizer, train_epoch, validate, epochs=config.epochs, mode="min",
        patience=config.patience, stop_at=config.stop_at, scheduler=scheduler,
        checkpoint_dir=checkpoint_dir, resume=resume, config=run_config, restore_best=True,
        progress=progress,
        desc=f"hdpo {network.name}", generators={"batch": batch_gen, "init": init_gen},
    )
    seconds = time.perf_counter() - start
    return TrainResult(policy=policy, dev_cost=float(history.best_value), seconds=seconds,
                       history=list(history.records), config=run_config)


def evaluate(network: InventoryNetwork, policy: nn.Module, *, n_paths: int = 4096,
             periods: int = 5000, warmup: int = 3000, seed: int = 12345,
             device: str = "auto", chunk: int | None = None,
             integer_orders: bool | None = None) -> tuple[float, float]:
    """Test cost (mean, standard error) per period per store on paths from ``seed``.

    ``integer_orders``: round orders to whole units (``None``: when demand is integer)."""
    sim = Simulator(network, device=get_device(None if device == "auto" else device))
    policy = deployed(policy.to(sim.device).eval(),
                      resolve_integer_orders(network, integer_orders))
    return sim.evaluate(policy, n_paths, periods, warmup, seed, chunk=chunk)


def gradient_variance(network: InventoryNetwork, policy: nn.Module, estimator: str, *,
                      n_batches: int = 20, batch_paths: int = 256, periods: int = 50,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance (over ``n_batches`` independent batches) of each parameter's gradient
    estimate by ``estimator`` (``"pathwise"`` or ``"reinforce"``), at the current parameters.

    Used to show the variance gap between HDPO's pathwise gradients and the score-function
    (REINFORCE) estimator on the same policy; the REINFORCE policy explores with a Gaussian of
    standard deviation 0.5 x mean demand.
    """
    if estimator not in ESTIMATORS:
        raise ConfigError(f"estimator must be one of {ESTIMATORS} (got {estimator!r})")
    sim = Simulator(network)
    model: nn.Module = _Stochastic(policy) if estimator == "reinforce" else policy
    params = [p for p in policy.parameters() if p.requires_grad]
    grads = []
    for k in range(n_batches):
        demand = sim.sample_demand(batch_paths, periods, seed + 1000 * k)
        gen = torch.Generator().manual_seed(seed + 1000 * k + 1)
        torch.manual_seed(seed + 1000 * k + 2)
        rollout = sim.rollout(model, demand, generator=gen,
                              lead_times=sim.sample_lead_times(batch_paths, seed + 1000 * k))
        if estimator == "reinforce":
            assert isinstance(model, _Stochastic)
            log_prob = torch.stack(model.log_prob, dim=1).sum(1)
            model.log_prob.clear()
            path_cost = rollout.cost.mean(1).detach() / sim.n_stores
            loss = ((path_cost - path_cost.mean()) * log_prob).mean()
        else:
            loss = rollout.loss()
        flat = torch.autograd.grad(loss, params)
        grads.append(torch.cat([g.flatten() for g in flat]).detach().numpy())
    stacked = np.stack(grads)
    return stacked.mean(0), stacked.var(0, ddof=1)
