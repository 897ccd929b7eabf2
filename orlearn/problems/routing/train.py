"""Imitation training of BQ policies with sub-path augmentation.

Every training example is one step of an expert solution: the remaining sub-problem at that
step (the BQ-MDP state) and the expert's next action. A batch draws instances at random and
one sub-problem size for the whole batch (so no padding is needed for TSP and CVRP):

* TSP: a random size ``k`` in ``[4, n + 1]`` tokens; the expert tour is rotated to a random start
  and direction (any rotation or reflection of an optimal tour is optimal), the first
  ``n - k + 2`` cities are taken as visited, and the label is the next city.
* CVRP: the expert's routes are put in a random order, each in a random direction (again
  optimal), a random number of customers in ``[1, n]`` is left to serve, and the label is
  the next customer together with "direct" or "via the depot".
* KP: a random subset of the optimal packing is taken as already packed; the label is the
  uniform distribution over the optimal items still to pack (every one of them is an
  optimal next action).

Validation decodes held-out instances greedily and reports the mean gap to the expert in %.
Training goes through :func:`orlearn.nn.fit` (progress bar, best/last checkpoints, resume).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from orlearn.errors import ConfigError
from orlearn.problems.routing.bq import (
    BQPolicy,
    cvrp_tokens,
    decode_cvrp,
    decode_kp,
    decode_tsp,
    kp_tokens,
    load_policy,
    routes_length,
    tour_lengths,
    tsp_tokens,
)
from orlearn.problems.routing.experts import load_dataset

logger = logging.getLogger(__name__)


@dataclass
class BQTrainConfig:
    """Hyper-parameters of a BQ imitation run (the paper's values in brackets).

    Attributes:
        problem: ``"tsp"``, ``"cvrp"`` or ``"kp"``.
        data: labelled training folder (:func:`orlearn.problems.routing.experts.generate_dataset`).
        valid_data: labelled validation folder (other seed).
        n_train: use at most this many training instances (None: all).
        n_valid: validation instances decoded greedily after every epoch.
        dim, layers, heads, ff_dim: encoder shape [192, 9, 12, 512].
        batch_size: sub-problems per step [1024].
        lr: Adam learning rate [7.5e-4]; ``lr_decay`` multiplies it after every epoch.
        epochs, steps_per_epoch: training length (an epoch here is ``steps_per_epoch`` batches).
        seed: seeds the model initialisation and the batch sampling.
        device: ``"cpu"``, ``"cuda"`` or None (CUDA when available).
        patience: early stopping on the validation gap (None: off).
        init: start from the weights of this checkpoint (a file stem such as
            ``runs/routing/best`` or a shipped name such as ``routing-tsp100``) instead of a
            random initialisation, i.e. fine-tune it. Its problem must be ``problem``; the
            encoder shape (dim, layers, heads, ff_dim) is taken from it and overrides the
            fields above. Optimiser state and the learning-rate schedule start afresh.
    """

    problem: str = "tsp"
    data: str = ""
    valid_data: str = ""
    n_train: int | None = None
    n_valid: int = 128
    dim: int = 128
    layers: int = 6
    heads: int = 8
    ff_dim: int = 512
    batch_size: int = 128
    lr: float = 5e-4
    lr_decay: float = 0.98
    epochs: int = 50
    steps_per_epoch: int = 200
    seed: int = 0
    device: str | None = None
    patience: int | None = None
    init: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.problem not in ("tsp", "cvrp", "kp"):
            raise ConfigError(f"problem must be tsp, cvrp or kp, got {self.problem!r}")
        for name in ("n_valid", "dim", "layers", "heads", "ff_dim", "batch_size", "epochs",
                     "steps_per_epoch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not 0 < self.lr < 1:
            raise ConfigError(f"lr must be in (0, 1), got {self.lr!r}")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}")


# ----------------------------------------------------------------------------- batch samplers


class TSPSampler:
    """Random TSP sub-problems with their expert next city (label: remaining token 0)."""

    def __init__(self, data: dict[str, Any], device: torch.device, rng: np.random.Generator):
        self.coords = torch.as_tensor(data["coords"], dtype=torch.float32, device=device)
        self.tours = torch.as_tensor(data["tours"].astype(np.int64), device=device)
        self.rng = rng
        self.device = device

    def loss(self, model: BQPolicy, batch_size: int) -> Tensor:
        m, n = self.tours.shape
        rng = self.rng
        idx = torch.as_tensor(rng.integers(0, m, batch_size), device=self.device)
        # tokens: origin + (k - 2) remaining + destination; k = n + 1 is the first step,
        # where the origin is also the destination.
        k = int(rng.integers(4, n + 2))
        j = n - k + 2  # cities visited so far
        rot = torch.as_tensor(rng.integers(0, n, batch_size), device=self.device)[:, None]
        forward = torch.as_tensor(rng.random(batch_size) < 0.5, device=self.device)[:, None]
        ar = torch.arange(n, device=self.device)[None]
        pos = torch.where(forward, (rot + ar) % n, (rot - ar) % n)
        tour = torch.gather(self.tours[idx], 1, pos)
        order = torch.cat([tour[:, j - 1 : j], tour[:, j:], tour[:, :1]], dim=1)
        xy = torch.gather(self.coords[idx], 1, order[..., None].expand(-1, -1, 2))
        logits = model(tsp_tokens(xy))[:, 1:-1, 0]
        return F.cross_entropy(logits, torch.zeros(batch_size, dtype=torch.long,
                                                   device=self.device))


class CVRPSampler:
    """Random CVRP sub-problems with the expert's next (customer, direct|via depot)."""

    def __init__(self, data: dict[str, Any], device: torch.device, rng: np.random.Generator):
        self.coords = data["coords"].astype(np.float32)
        self.demands = (data["demands"] / data["capacity"]).astype(np.float32)
        self.sequence = data["sequence"].astype(np.int64)
        self.via = data["via_depot"].astype(bool)
        self.rng = rng
        self.device = device

    def _augment(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        seq, via = self.sequence[i], self.via[i]
        routes = np.split(seq, np.flatnonzero(via)[1:])
        order = self.rng.permutation(len(routes))
        flips = self.rng.random(len(routes)) < 0.5
        routes = [routes[r][::-1] if flips[r] else routes[r] for r in order]
        new_via = np.zeros(len(seq), dtype=bool)
        new_via[np.cumsum([0] + [len(r) for r in routes[:-1]])] = True
        return np.concatenate(routes), new_via

    def loss(self, model: BQPolicy, batch_size: int) -> Tensor:
        m, n = self.sequence.shape
        rng = self.rng
        r = int(rng.integers(1, n + 1))  # customers left to serve
        done = n - r
        nodes = np.zeros((batch_size, r + 2), dtype=np.int64)
        remaining_cap = np.ones(batch_size, dtype=np.float32)
        labels = np.zeros(batch_size, dtype=np.int64)
        idx = rng.integers(0, m, batch_size)
        for b, i in enumerate(idx):
            seq, via = self._augment(int(i))
            if done > 0:
                start = int(np.flatnonzero(via[:done])[-1])
                remaining_cap[b] = 1.0 - self.demands[i, seq[start:done]].sum()
                nodes[b, 0] = seq[done - 1]
                labels[b] = int(via[done])  # token 0 of the customers, action 0/1
            nodes[b, 1:-1] = seq[done:]
        coords = torch.as_tensor(self.coords[idx[:, None], nodes], device=self.device)
        dem = self.demands[idx[:, None], nodes]
        dem[:, 0] = 0.0
        dem_t = torch.as_tensor(dem, device=self.device)
        cap = torch.as_tensor(remaining_cap, device=self.device)
        logits = model(cvrp_tokens(coords, dem_t, cap))[:, 1:-1, :]
        valid = torch.stack([dem_t[:, 1:-1] <= cap[:, None] + 1e-6,
                             torch.full_like(dem_t[:, 1:-1], done > 0, dtype=torch.bool)], -1)
        flat = logits.reshape(batch_size, -1).masked_fill(~valid.reshape(batch_size, -1), -1e9)
        return F.cross_entropy(flat, torch.as_tensor(labels, device=self.device))


class KPSampler:
    """Random partial packings of an optimal set; soft label over the optimal items left."""

    def __init__(self, data: dict[str, Any], device: torch.device, rng: np.random.Generator):
        self.values = torch.as_tensor(data["values"], dtype=torch.float32, device=device)
        self.weights = torch.as_tensor(data["weights"], dtype=torch.float32, device=device)
        self.chosen = torch.as_tensor(data["chosen"], dtype=torch.bool, device=device)
        self.capacity = float(data["capacity"])
        self.rng = rng
        self.device = device

    def loss(self, model: BQPolicy, batch_size: int) -> Tensor:
        m, n = self.chosen.shape
        rng = self.rng
        idx = torch.as_tensor(rng.integers(0, m, batch_size), device=self.device)
        chosen = self.chosen[idx]
        size = chosen.sum(1)
        packed_count = torch.as_tensor(rng.random(batch_size), device=self.device,
                                       dtype=torch.float32).mul(size).floor().long()
        priority = torch.as_tensor(rng.random((batch_size, n)), device=self.device,
                                   dtype=torch.float32).masked_fill(~chosen, 2.0)
        rank = priority.argsort(1).argsort(1)
        packed = rank < packed_count[:, None]
        present = ~packed
        values, weights = self.values[idx], self.weights[idx]
        cap = self.capacity - (weights * packed).sum(1)
        logits = model(kp_tokens(values, weights, cap, present.float()), packed)[..., 0]
        fits = present & (weights <= cap[:, None] + 1e-6)
        target = (chosen & present).float()
        target = target / target.sum(1, keepdim=True).clamp_min(1.0)
        logp = torch.log_softmax(logits.masked_fill(~fits, -1e9), dim=1)
        return -(target * logp.masked_fill(~fits, 0.0)).sum(1).mean()


SAMPLERS = {"tsp": TSPSampler, "cvrp": CVRPSampler, "kp": KPSampler}


# ----------------------------------------------------------------------------- validation


def greedy_gaps(model: BQPolicy, data: dict[str, Any], problem: str, *, beam: int = 1,
                knn: int | None = None) -> np.ndarray:
    """Per-instance gap (%) of the policy's decoding to the expert's solutions in ``data``."""
    model.eval()
    if problem == "tsp":
        tours = decode_tsp(model, data["coords"], beam=beam, knn=knn)
        costs = tour_lengths(data["coords"], tours)
        return (costs / data["costs"] - 1.0) * 100.0
    if problem == "cvrp":
        all_routes = decode_cvrp(model, data["coords"], data["demands"], data["capacity"],
                                 beam=beam, knn=knn)
        costs = np.array([routes_length(data["coords"][i], routes)
                          for i, routes in enumerate(all_routes)])
        return (costs / data["costs"] - 1.0) * 100.0
    items = decode_kp(model, data["values"], data["weights"], data["capacity"], beam=beam)
    values = np.array([data["values"][i][it].astype(np.float64).sum()
                       for i, it in enumerate(items)])
    return (1.0 - values / data["costs"]) * 100.0


# ----------------------------------------------------------------------------- training


def train_bq(
    config: BQTrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    command: str = "",
) -> tuple[BQPolicy, dict[str, Any]]:
    """Train a BQ policy by imitation; best and last checkpoints go to ``out_dir``.

    Returns the model (best validation weights) and a summary with the validation gap.
    """
    from orlearn.nn.checkpoint import machine_description
    from orlearn.nn.training import fit, get_device, seed_everything

    device = get_device(config.device)
    rng = seed_everything(config.seed)
    train = load_dataset(config.data, config.n_train)
    valid = load_dataset(config.valid_data, config.n_valid)
    for name, ds in (("data", train), ("valid_data", valid)):
        if ds["manifest"]["problem"] != config.problem:
            raise ConfigError(
                f"{name} {getattr(config, name)} holds {ds['manifest']['problem']} data, "
                f"not {config.problem}"
            )
    if config.init:
        model = load_policy(config.init, config.problem, device=device)
        model.train()
        shape = model.architecture()["kwargs"]
        config = replace(config, **{k: shape[k] for k in ("dim", "layers", "heads", "ff_dim")})
    else:
        model = BQPolicy(config.problem, config.dim, config.layers, config.heads,
                         config.ff_dim).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=config.lr_decay)
    sampler = SAMPLERS[config.problem](train, device, rng)

    def train_epoch(epoch: int) -> float:
        total = 0.0
        for _ in range(config.steps_per_epoch):
            loss = sampler.loss(model, config.batch_size)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += loss.item()
        return total / config.steps_per_epoch

    def validate(epoch: int) -> float:
        return float(greedy_gaps(model, valid, config.problem).mean())

    run_config = {
        "architecture": model.architecture(),
        "training": {
            **{k: v for k, v in asdict(config).items() if k not in ("epochs", "device")},
            "command": command,
            "expert": train["manifest"].get("expert"),
            "train_instances": len(train["costs"]),
            "instance_size": train["manifest"]["n"],
        },
    }
    started = time.perf_counter()
    history = fit(model, optimizer, train_epoch, validate, epochs=config.epochs,
                  patience=config.patience, scheduler=scheduler, checkpoint_dir=out_dir,
                  resume=resume, config=run_config, generators={"batches": rng},
                  restore_best=True, progress=progress, desc=f"BQ {config.problem}")
    gaps = history.column("val") if history.epochs_done else []
    summary = {
        "best_validation_gap": float(min(gaps)) if gaps else None,
        "epochs": history.epochs_done,
        "seconds": time.perf_counter() - started,
        "device": str(device),
        "hardware": machine_description(),
    }
    (Path(out_dir) / "summary.json").write_text(json.dumps(summary, indent=2))
    return model, summary


__all__ = [
    "SAMPLERS",
    "BQTrainConfig",
    "CVRPSampler",
    "KPSampler",
    "TSPSampler",
    "greedy_gaps",
    "train_bq",
]
