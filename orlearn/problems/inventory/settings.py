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


def _lead_label(lead: int, lead_range: tuple[int, int] | None) -> str:
    return f"L{lead}" if lead_range is None else f"L{lead_range[0]}-{lead_range[1]}"


def one_store_lost(p: float = 9.0, lead: int = 1,
                   lead_range: tuple[int, int] | None = None) -> InventoryNetwork:
    """One store, lost sales, Poisson(5) demand, h = 1 (Zipkin 2008's cases: p in 4/9/19/39,
    lead time 1..4). ``lead_range=(low, high)``: lead times vary across sample paths, uniform
    in the range (``lead`` must lie in it)."""
    return single_store(5.0, None, 1.0, p, lead, demand="poisson", lost_sales=True,
                        name=f"one_store_lost_p{p:g}_{_lead_label(lead, lead_range)}",
                        lead_range=None if lead_range is None else tuple(lead_range))


def one_store_backlog(lead: int = 1, p: float = 9.0,
                      lead_range: tuple[int, int] | None = None) -> InventoryNetwork:
    """One store, backlog, Normal(5, 1.6) demand clipped at 0, h = 1, p = 9 (``lead_range``:
    per-path lead times, as in :func:`one_store_lost`)."""
    return single_store(5.0, 1.6, 1.0, p, lead, demand="normal", lost_sales=False,
                        name=f"one_store_backlog_{_lead_label(lead, lead_range)}",
                        lead_range=None if lead_range is None else tuple(lead_range))


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


def _store_params(n_stores: int, seed: int | None) -> dict[str, np.ndarray]:
    """Per-store parameters: HDPO's own draws (``seed=None``, reproducing the paper's
    instances) or fresh draws from the same distributions with ``seed``."""
    from orlearn.problems.inventory.references import hdpo_store_params

    if n_stores < 1:
        raise ConfigError(f"n_stores must be at least 1 (got {n_stores})")
    if seed is None:
        return hdpo_store_params(n_stores)
    rng = np.random.default_rng(seed)
    mean = rng.uniform(2.5, 7.5, n_stores).round(3)
    return {
        "mean": mean,
        "std": (mean * rng.uniform(0.25, 0.5, n_stores)).round(3),
        "holding": rng.uniform(0.7, 1.3, n_stores),
        "underage": rng.uniform(6.3, 11.7, n_stores),
        "lead": rng.integers(2, 4, n_stores),
    }


def one_warehouse_lost(n_stores: int = 10, seed: int | None = None) -> InventoryNetwork:
    """One warehouse (h 0.3, lead time 3, empty at the start) and ``n_stores`` stores with lost
    sales. Store parameters: mean demand U[2.5, 7.5], coefficient of variation U[0.25, 0.5],
    pairwise correlation 0.5 (Normal, clipped at 0), h U[0.7, 1.3], p U[6.3, 11.7], lead time
    in {2, 3}; ``seed=None`` takes HDPO's own draws (the paper's instances)."""
    params = _store_params(n_stores, seed)
    label = "hdpo" if seed is None else f"seed{seed}"
    return InventoryNetwork(
        name=f"one_warehouse_lost_{n_stores}s_{label}",
        parent=np.array([-1] + [0] * n_stores),
        lead_time=np.concatenate([[3], params["lead"]]),
        holding=np.concatenate([[0.3], params["holding"]]),
        underage=np.concatenate([[0.0], params["underage"]]),
        demand=DemandModel("normal", params["mean"], params["std"], correlation=0.5),
        lost_sales=True,
        node_names=("warehouse", *(f"store{k}" for k in range(n_stores))),
    )


def transshipment(n_stores: int = 3, seed: int | None = None, lead: int = 2, p: float = 4.0,
                  center_lead: int = 3, correlation: float = 0.5) -> InventoryNetwork:
    """A transshipment center (holds no stock: ships all it receives in proportion to the
    stores' requests; lead time ``center_lead`` from the external supplier) and ``n_stores``
    stores with backlog, lead time ``lead`` from the center, h = 1, p = ``p``. Demand Normal,
    not clipped (as in HDPO), means U[2.5, 7.5], cv U[0.25, 0.5], pairwise ``correlation``;
    ``seed=None`` takes HDPO's own draws. 3 stores: lower bound 5.754
    (:func:`orlearn.problems.inventory.references.newsvendor_lower_bound`)."""
    params = _store_params(n_stores, seed)
    label = "hdpo" if seed is None else f"seed{seed}"
    return InventoryNetwork(
        name=f"transshipment_{n_stores}s_{label}",
        parent=np.array([-1] + [0] * n_stores),
        lead_time=np.concatenate([[center_lead], np.full(n_stores, lead)]),
        holding=np.concatenate([[0.0], np.ones(n_stores)]),
        underage=np.concatenate([[0.0], np.full(n_stores, p)]),
        demand=DemandModel("normal", params["mean"], params["std"], correlation=correlation,
                           clip=False),
        lost_sales=False,
        holds_stock=np.array([False] + [True] * n_stores),
        node_names=("center", *(f"store{k}" for k in range(n_stores))),
    )


#: HDPO's warehouse-store connections for 2 warehouses and 10 stores (rows: warehouses).
HDPO_ADJACENCY_2x10 = np.array([
    [0, 0, 1, 1, 1, 0, 1, 1, 1, 0],
    [1, 1, 1, 1, 1, 1, 0, 1, 1, 1],
])


def many_warehouses(n_stores: int = 10, adjacency: np.ndarray | None = None,
                    seed: int | None = None) -> InventoryNetwork:
    """Two warehouses (h 0.3 and 0.35, lead time 3) serving ``n_stores`` lost-sales stores
    through an adjacency matrix (rows: warehouses; a store may have both as suppliers:
    multi-sourcing). Store parameters as in :func:`one_warehouse_lost`; the default adjacency
    is HDPO's 2 x 10 one. A store's lead time is the same from either warehouse."""
    adjacency = HDPO_ADJACENCY_2x10 if adjacency is None else np.asarray(adjacency)
    if adjacency.shape != (2, n_stores):
        raise ConfigError(f"adjacency must have shape (2, {n_stores}), got {adjacency.shape}")
    if np.any(adjacency.sum(0) == 0):
        raise ConfigError("every store needs at least one warehouse in the adjacency matrix")
    params = _store_params(n_stores, seed)
    parent = [-1, -1]
    extra = []
    for k in range(n_stores):
        sources = np.flatnonzero(adjacency[:, k])
        parent.append(int(sources[0]))
        extra += [(int(w), 2 + k, int(params["lead"][k])) for w in sources[1:]]
    label = "hdpo" if seed is None else f"seed{seed}"
    return InventoryNetwork(
        name=f"many_warehouses_2w_{n_stores}s_{label}",
        parent=np.array(parent),
        lead_time=np.concatenate([[3, 3], params["lead"]]),
        holding=np.concatenate([[0.3, 0.35], params["holding"]]),
        underage=np.concatenate([[0.0, 0.0], params["underage"]]),
        demand=DemandModel("normal", params["mean"], params["std"], correlation=0.5),
        lost_sales=True,
        node_names=("warehouse0", "warehouse1", *(f"store{k}" for k in range(n_stores))),
        extra_edges=np.array(extra, dtype=int).reshape(-1, 3),
    )


SETTINGS = {
    "one_store_lost": one_store_lost,
    "one_store_backlog": one_store_backlog,
    "serial": serial,
    "one_warehouse_lost": one_warehouse_lost,
    "transshipment": transshipment,
    "many_warehouses": many_warehouses,
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
