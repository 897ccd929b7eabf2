"""The HDPO paper's benchmark settings as :class:`InventoryNetwork` builders.

Costs per unit per period, demand per store per period. Sources: REFERENCES.md (HDPO, Alvo,
Russo, Kanoria et al.) and the public HDPO configuration files; conventions chosen here are
stated in each docstring.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from orlearn.errors import ConfigError
from orlearn.problems.inventory.network import DemandModel, InventoryNetwork, single_store

LOST_SALES_P = (4.0, 9.0, 19.0, 39.0)
LOST_SALES_L = (1, 2, 3, 4)
BACKLOG_L = (1, 4, 7, 10, 15, 20)


def one_store_lost(p: float = 9.0, lead: int = 1) -> InventoryNetwork:
    """One store, lost sales, Poisson(5) demand, h = 1 (Zipkin 2008's cases: p in 4/9/19/39,
    lead time 1..4)."""
    return single_store(5.0, None, 1.0, p, lead, demand="poisson", lost_sales=True,
                        name=f"one_store_lost_p{p:g}_L{lead}")


def one_store_backlog(lead: int = 1, p: float = 9.0) -> InventoryNetwork:
    """One store, backlog, Normal(5, 1.6) demand clipped at 0, h = 1, p = 9."""
    return single_store(5.0, 1.6, 1.0, p, lead, demand="normal", lost_sales=False,
                        name=f"one_store_backlog_L{lead}")


def serial(lead: int = 4, p: float = 9.0) -> InventoryNetwork:
    """Four stages in series with backlog at the store: Normal(5, 2) demand; installation
    holding costs 0.1, 0.2, 0.5, 1.0 and lead times 2, 4, 3, ``lead`` from the top stage
    (node 0) to the store (node 3); p = 9."""
    return InventoryNetwork(
        name=f"serial_L{lead}",
        parent=np.array([-1, 0, 1, 2]),
        lead_time=np.array([2, 4, 3, lead]),
        holding=np.array([0.1, 0.2, 0.5, 1.0]),
        underage=np.array([0.0, 0.0, 0.0, p]),
        demand=DemandModel("normal", np.array([5.0]), np.array([2.0])),
        lost_sales=False,
        node_names=("stage4", "stage3", "stage2", "store"),
    )


def one_warehouse_lost(n_stores: int = 10, seed: int = 0) -> InventoryNetwork:
    """One warehouse (h 0.3, lead time 3, supplied externally) and ``n_stores`` stores with
    lost sales; store parameters drawn with ``seed``: mean demand U[2.5, 7.5], coefficient of
    variation U[0.25, 0.5], pairwise correlation 0.5 (Normal, clipped at 0), h U[0.7, 1.3],
    p U[6.3, 11.7], lead time uniform in {2, 3}."""
    if n_stores < 1:
        raise ConfigError(f"n_stores must be at least 1 (got {n_stores})")
    rng = np.random.default_rng(seed)
    mean = rng.uniform(2.5, 7.5, n_stores)
    cv = rng.uniform(0.25, 0.5, n_stores)
    h = rng.uniform(0.7, 1.3, n_stores)
    p = rng.uniform(6.3, 11.7, n_stores)
    lead = rng.integers(2, 4, n_stores)
    return InventoryNetwork(
        name=f"one_warehouse_lost_{n_stores}s_seed{seed}",
        parent=np.array([-1] + [0] * n_stores),
        lead_time=np.concatenate([[3], lead]),
        holding=np.concatenate([[0.3], h]),
        underage=np.concatenate([[0.0], p]),
        demand=DemandModel("normal", mean, mean * cv, correlation=0.5),
        lost_sales=True,
        node_names=("warehouse", *(f"store{k}" for k in range(n_stores))),
    )


def transshipment(n_stores: int = 3, seed: int = 0, lead: int = 2, p: float = 4.0
                  ) -> InventoryNetwork:
    """A transshipment center (holds no stock, ships all it receives; lead time ``lead`` from
    the external supplier) and ``n_stores`` stores one period away with backlog; store demand
    Normal with means U[2.5, 7.5] and cv U[0.16, 0.32], pairwise correlation 0.5, h = 1,
    p = ``p``. Parameters drawn with ``seed``."""
    if n_stores < 1:
        raise ConfigError(f"n_stores must be at least 1 (got {n_stores})")
    rng = np.random.default_rng(seed)
    mean = rng.uniform(2.5, 7.5, n_stores)
    cv = rng.uniform(0.16, 0.32, n_stores)
    return InventoryNetwork(
        name=f"transshipment_{n_stores}s_seed{seed}",
        parent=np.array([-1] + [0] * n_stores),
        lead_time=np.concatenate([[lead], np.ones(n_stores, dtype=int)]),
        holding=np.concatenate([[0.0], np.ones(n_stores)]),
        underage=np.concatenate([[0.0], np.full(n_stores, p)]),
        demand=DemandModel("normal", mean, mean * cv, correlation=0.5),
        lost_sales=False,
        holds_stock=np.array([False] + [True] * n_stores),
        node_names=("center", *(f"store{k}" for k in range(n_stores))),
    )


SETTINGS = {
    "one_store_lost": one_store_lost,
    "one_store_backlog": one_store_backlog,
    "serial": serial,
    "one_warehouse_lost": one_warehouse_lost,
    "transshipment": transshipment,
}


def get_setting(name: str, **kwargs: Any) -> InventoryNetwork:
    """Build a named setting (``kwargs`` go to its builder)."""
    try:
        builder = SETTINGS[name]
    except KeyError:
        raise ConfigError(
            f"unknown inventory setting {name!r}; choose one of {', '.join(SETTINGS)}"
        ) from None
    try:
        return builder(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"setting {name}: {exc}") from None
