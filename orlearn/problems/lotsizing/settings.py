"""Stochastic multi-item, multi-machine lot-sizing settings (the PDPPO study's system).

``N`` items are made on ``M`` parallel machines over ``horizon`` periods. Each period every
machine is either idle or set to one item. A machine set to item ``i`` makes
``production[m, i]`` units (0: machine ``m`` cannot make item ``i``). Switching a machine to
another item costs ``setup_cost[m, i]`` and loses ``setup_loss[m, i]`` units of that period's
output; an idle machine keeps its setup. Demand per item and period is Binomial(n, q); what is
not on hand is lost at ``lost_sales_cost`` per unit; what is left on hand pays
``holding_cost`` per unit and period; on-hand inventory is capped at ``inventory_cap`` (output
beyond the cap is wasted).

Item codes, used for actions and setups alike: 0 = idle / no setup, ``i + 1`` = item ``i``.
Units are product units; costs are per unit (per period for holding).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from orlearn.errors import ConfigError, InvalidInstanceError

#: The four configurations of the PDPPO study (items x machines).
CONFIGURATIONS: dict[str, tuple[int, int]] = {
    "15x5": (15, 5), "20x10": (20, 10), "25x10": (25, 10), "25x15": (25, 15)}


def _matrix(name: str, value: Any, shape: tuple[int, ...], integer: bool = False,
            low: float = 0.0) -> np.ndarray:
    try:
        raw = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInstanceError(name, f"cannot read {value!r} as numbers") from None
    if raw.shape != shape:
        raise InvalidInstanceError(name, f"expected shape {list(shape)}, got {list(raw.shape)}",
                                   "one row per machine, one column per item" if len(shape) == 2
                                   else "one entry per item or machine")
    if not np.all(np.isfinite(raw)):
        raise InvalidInstanceError(name, "contains NaN or infinite values")
    if np.any(raw < low):
        raise InvalidInstanceError(name, f"must be >= {low:g}, got min {raw.min():g}")
    if integer:
        if not np.all(raw == np.round(raw)):
            raise InvalidInstanceError(name, "must hold whole units (integers)")
        return raw.astype(np.int64)
    return raw


@dataclass(frozen=True, eq=False)
class LotSizingSetting:
    """A validated lot-sizing system (arrays are numpy; see the module docstring for units).

    Attributes:
        production: [M, N] units per period of machine m set to item i (integers, 0 = cannot).
        setup_cost: [M, N] cost of switching machine m to item i.
        setup_loss: [M, N] units lost in the period of a switch (integers).
        holding_cost: [N] per unit left on hand at the end of a period.
        lost_sales_cost: [N] per unit of unmet demand.
        inventory_cap: [N] most units on hand (integers).
        demand_trials, demand_prob: [N] Binomial demand parameters per item and period.
        initial_inventory: [N] units on hand at the start (integers).
        initial_setup: [M] item code each machine starts set to (0 = none).
        horizon: periods per episode.
        name: a label.
    """

    production: np.ndarray
    setup_cost: np.ndarray
    setup_loss: np.ndarray
    holding_cost: np.ndarray
    lost_sales_cost: np.ndarray
    inventory_cap: np.ndarray
    demand_trials: np.ndarray
    demand_prob: np.ndarray
    initial_inventory: np.ndarray
    initial_setup: np.ndarray
    horizon: int = 100
    name: str = "lotsizing"
    seed: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        prod = np.asarray(self.production)
        if prod.ndim != 2 or prod.shape[0] < 1 or prod.shape[1] < 1:
            raise InvalidInstanceError("production", f"must be a [machines, items] matrix, got "
                                       f"shape {list(prod.shape)}")
        m, n = prod.shape
        set_ = object.__setattr__
        set_(self, "production", _matrix("production", prod, (m, n), integer=True))
        set_(self, "setup_cost", _matrix("setup_cost", self.setup_cost, (m, n)))
        set_(self, "setup_loss", _matrix("setup_loss", self.setup_loss, (m, n), integer=True))
        set_(self, "holding_cost", _matrix("holding_cost", self.holding_cost, (n,)))
        set_(self, "lost_sales_cost", _matrix("lost_sales_cost", self.lost_sales_cost, (n,)))
        set_(self, "inventory_cap", _matrix("inventory_cap", self.inventory_cap, (n,),
                                            integer=True))
        set_(self, "demand_trials", _matrix("demand_trials", self.demand_trials, (n,),
                                            integer=True))
        set_(self, "demand_prob", _matrix("demand_prob", self.demand_prob, (n,)))
        set_(self, "initial_inventory", _matrix("initial_inventory", self.initial_inventory,
                                                (n,), integer=True))
        set_(self, "initial_setup", _matrix("initial_setup", self.initial_setup, (m,),
                                            integer=True))
        if np.any(self.demand_prob > 1):
            raise InvalidInstanceError("demand_prob", "Binomial probabilities must be in [0, 1]")
        idle = np.flatnonzero((self.production == 0).all(axis=1))
        if idle.size:
            raise InvalidInstanceError("production", f"machine {int(idle[0])} can make no item",
                                       "give it a positive rate for at least one item")
        if np.any(self.initial_setup > n):
            raise InvalidInstanceError("initial_setup", f"item codes are 0 (none) .. {n}")
        if np.any(self.initial_inventory > self.inventory_cap):
            raise InvalidInstanceError("initial_inventory", "exceeds inventory_cap")
        if not isinstance(self.horizon, (int, np.integer)) or self.horizon < 1:
            raise InvalidInstanceError("horizon", f"must be a positive integer, got "
                                       f"{self.horizon!r}")
        set_(self, "horizon", int(self.horizon))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LotSizingSetting):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    @property
    def n_items(self) -> int:
        return int(self.production.shape[1])

    @property
    def n_machines(self) -> int:
        return int(self.production.shape[0])

    @property
    def mean_demand(self) -> np.ndarray:
        """[N] expected demand per item and period."""
        return self.demand_trials * self.demand_prob

    def sample_demand(self, n_scenarios: int, seed: int, periods: int | None = None
                      ) -> np.ndarray:
        """[scenarios, periods, N] integer demand drawn from ``seed``."""
        rng = np.random.default_rng(seed)
        periods = self.horizon if periods is None else periods
        return rng.binomial(self.demand_trials, self.demand_prob,
                            size=(n_scenarios, periods, self.n_items)).astype(np.int64)

    # --- files ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
               for k, v in asdict(self).items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LotSizingSetting:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInstanceError(unknown[0], "unknown field",
                                       f"known fields: {', '.join(sorted(known))}")
        missing = sorted(k for k in known - set(data) if k not in ("horizon", "name", "seed"))
        if missing:
            raise InvalidInstanceError(missing[0], "missing")
        return cls(**data)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> LotSizingSetting:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInstanceError("path", f"cannot read {path}: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidInstanceError("path", f"{path} must hold a JSON object")
        return cls.from_dict(data)


def generate(n_items: int, n_machines: int, seed: int = 0, *, horizon: int = 100,
             lost_sales_cost: float | tuple[float, ...] = (0.1, 1.1),
             holding_cost: float = 0.01, inventory_cap: int = 100,
             demand_trials: int = 20, demand_prob: float = 0.4,
             p_cannot: float = 0.4, name: str | None = None) -> LotSizingSetting:
    """A random setting with the PDPPO study's distributions.

    Production rates are 0 with probability ``p_cannot`` (the machine cannot make the item),
    else uniform on 1..40 units; setup costs uniform on 15..30; setup losses uniform on 1..3
    units; demand Binomial(20, 0.4) per item; holding 0.01; inventory cap 100; lost-sales cost
    per item drawn from ``lost_sales_cost`` (the study uses 0.1 and 1.1; a float fixes it).
    Every machine can make at least one item and every item is made by at least one machine
    (redrawn until so). Start: empty stock, no setups.
    """
    if n_items < 1 or n_machines < 1:
        raise ConfigError(f"need at least one item and one machine, got {n_items}x{n_machines}")
    if not 0 <= p_cannot < 1:
        raise ConfigError(f"p_cannot must be in [0, 1), got {p_cannot}")
    rng = np.random.default_rng(seed)
    while True:
        production = rng.integers(1, 41, size=(n_machines, n_items))
        production[rng.random((n_machines, n_items)) < p_cannot] = 0
        if (production > 0).any(axis=1).all() and (production > 0).any(axis=0).all():
            break
    costs = np.atleast_1d(np.asarray(lost_sales_cost, dtype=float))
    return LotSizingSetting(
        production=production,
        setup_cost=rng.integers(15, 31, size=(n_machines, n_items)).astype(float),
        setup_loss=rng.integers(1, 4, size=(n_machines, n_items)),
        holding_cost=np.full(n_items, float(holding_cost)),
        lost_sales_cost=rng.choice(costs, size=n_items),
        inventory_cap=np.full(n_items, int(inventory_cap)),
        demand_trials=np.full(n_items, int(demand_trials)),
        demand_prob=np.full(n_items, float(demand_prob)),
        initial_inventory=np.zeros(n_items, dtype=int),
        initial_setup=np.zeros(n_machines, dtype=int),
        horizon=horizon,
        name=name or f"lotsizing_{n_items}x{n_machines}_seed{seed}",
        seed=seed,
    )


def configuration(name: str, seed: int = 0, **options: Any) -> LotSizingSetting:
    """One of the study's configurations: ``"15x5"``, ``"20x10"``, ``"25x10"``, ``"25x15"``
    (items x machines), drawn with ``seed``."""
    if name not in CONFIGURATIONS:
        raise ConfigError(f"unknown lot-sizing configuration {name!r}; choose one of "
                          f"{', '.join(CONFIGURATIONS)} (or pass your own system as a setting "
                          f"JSON file: --setting-file in the CLI, LotSizingSetting.load in "
                          f"Python)")
    items, machines = CONFIGURATIONS[name]
    return generate(items, machines, seed, name=f"lotsizing_{name}", **options)
