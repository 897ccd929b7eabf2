"""Inventory networks: nodes on a supply tree, their costs and lead times, and store demand.

A network is a directed acyclic graph of supply edges. Each node has one primary supplier:
its ``parent`` node, or the external supplier (``parent = -1``, unlimited stock); optional
``extra_edges`` add more suppliers to a node (multi-sourcing, e.g. stores served by two
warehouses). Edge k < n_nodes is node k's primary edge; extra edges follow in the given order.
Nodes that supply no one are *stores*:
they face demand, pay holding cost ``h`` per unit left on hand and underage cost ``p`` per unit
short (lost sale or backorder) at the end of each period. Upstream nodes (warehouses, echelons)
pay holding cost on what is left on hand after shipping. A node with ``holds_stock=False`` is a
transshipment center: it must ship everything on hand every period.

Lead times are in periods, from a node's supplier to the node (>= 1). With
``lead_time_range`` they vary across sample paths (HDPO's "vary across samples"): each path
draws its own lead time per node, uniformly in the node's range, and keeps it for its whole
horizon. Costs are per unit per period. Demand is per store per period (units).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from orlearn.errors import InvalidInstanceError

DEMAND_KINDS = ("normal", "poisson", "array")


def _array(name: str, values: Any, dtype: Any = float) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError):
        raise InvalidInstanceError(name, f"cannot read {values!r} as numbers") from None
    if out.ndim != 1:
        raise InvalidInstanceError(name, f"must be a list of numbers, got shape {out.shape}")
    return out


@dataclass(frozen=True)
class DemandModel:
    """Demand at the stores (in store order).

    Attributes:
        kind: ``"normal"`` (clipped at 0, optionally correlated across stores), ``"poisson"``,
            or ``"array"`` (given sample paths, ``data`` of shape [paths, stores, periods]).
        mean: mean demand per store per period (units).
        std: standard deviation per store (normal only).
        correlation: pairwise correlation between stores (normal only), in [0, 1).
        data: the given paths for ``kind="array"``.
        clip: clip Normal demand at 0 (True, the default); HDPO's transshipment setting
            leaves it unclipped (a negative draw acts as a return).
    """

    kind: str
    mean: np.ndarray
    std: np.ndarray | None = None
    correlation: float = 0.0
    data: np.ndarray | None = field(default=None, repr=False)
    clip: bool = True

    def __post_init__(self) -> None:
        if self.kind not in DEMAND_KINDS:
            raise InvalidInstanceError(
                "demand.kind", f"unknown demand model {self.kind!r}",
                f"use one of {', '.join(DEMAND_KINDS)}",
            )
        mean = _array("demand.mean", self.mean)
        object.__setattr__(self, "mean", mean)
        if not np.all(np.isfinite(mean)) or np.any(mean < 0):
            raise InvalidInstanceError("demand.mean", "must be finite and non-negative")
        if self.kind == "normal":
            if self.std is None:
                raise InvalidInstanceError("demand.std", "normal demand needs a std per store")
            std = _array("demand.std", self.std)
            if std.shape != mean.shape:
                raise InvalidInstanceError(
                    "demand.std", f"has {std.size} entries for {mean.size} stores",
                    "give one std per store",
                )
            if not np.all(np.isfinite(std)) or np.any(std < 0):
                raise InvalidInstanceError("demand.std", "must be finite and non-negative")
            object.__setattr__(self, "std", std)
            if not 0.0 <= self.correlation < 1.0 or math.isnan(self.correlation):
                raise InvalidInstanceError("demand.correlation", "must be in [0, 1)")
        if self.kind == "array":
            if self.data is None:
                raise InvalidInstanceError("demand.data", "array demand needs data")
            data = np.asarray(self.data, dtype=float)
            if data.ndim != 3 or data.shape[1] != mean.size:
                raise InvalidInstanceError(
                    "demand.data",
                    f"expected shape [paths, {mean.size} stores, periods], got {data.shape}",
                )
            if not np.all(np.isfinite(data)) or np.any(data < 0):
                raise InvalidInstanceError("demand.data", "has NaNs, infinities or negatives")
            object.__setattr__(self, "data", data)

    @property
    def n_stores(self) -> int:
        return int(self.mean.size)

    @property
    def integer_valued(self) -> bool:
        """Demand comes in whole units: Poisson, or given paths that are all integers."""
        if self.kind == "poisson":
            return True
        return self.kind == "array" and bool(np.all(np.asarray(self.data) % 1 == 0))

    def sample(self, n_paths: int, periods: int, generator: torch.Generator,
               device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
               ) -> torch.Tensor:
        """Demand paths of shape [n_paths, stores, periods], drawn with ``generator`` (CPU)."""
        s = self.n_stores
        if self.kind == "poisson":
            rates = torch.as_tensor(self.mean, dtype=torch.float64).view(1, s, 1)
            out = torch.poisson(rates.expand(n_paths, s, periods).contiguous(), generator=generator)
        elif self.kind == "normal":
            assert self.std is not None
            corr = np.full((s, s), self.correlation) + (1 - self.correlation) * np.eye(s)
            cov = corr * np.outer(self.std, self.std)
            chol = torch.as_tensor(np.linalg.cholesky(cov + 1e-12 * np.eye(s)), dtype=torch.float64)
            z = torch.randn(n_paths, periods, s, generator=generator, dtype=torch.float64)
            out = (z @ chol.T + torch.as_tensor(self.mean)).permute(0, 2, 1)
            if self.clip:
                out = out.clamp_min(0.0)
        else:
            assert self.data is not None
            if self.data.shape[2] < periods:
                raise InvalidInstanceError(
                    "demand.data", f"holds {self.data.shape[2]} periods, {periods} needed"
                )
            idx = torch.randint(self.data.shape[0], (n_paths,), generator=generator)
            out = torch.as_tensor(self.data)[idx, :, :periods]
        return out.to(device=device, dtype=dtype)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "mean": self.mean.tolist()}
        if self.std is not None:
            out["std"] = self.std.tolist()
        if self.correlation:
            out["correlation"] = self.correlation
        if self.data is not None:
            out["data"] = self.data.tolist()
        if not self.clip:
            out["clip"] = False
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemandModel:
        known = {"kind", "mean", "std", "correlation", "data", "clip"}
        unknown = set(data) - known
        if unknown:
            raise InvalidInstanceError("demand", f"unknown fields {sorted(unknown)}",
                                       f"known fields: {sorted(known)}")
        return cls(**data)


@dataclass(frozen=True)
class InventoryNetwork:
    """A validated inventory network (see the module docstring for units and conventions).

    Attributes:
        name: a label.
        parent: supplier of each node (``-1``: the external supplier).
        lead_time: periods from the supplier to each node (>= 1).
        holding: holding cost per unit on hand per period, per node (>= 0).
        underage: cost per unit short per period, per node (stores > 0; upstream nodes 0).
        demand: the stores' demand, in the order of the store nodes.
        lost_sales: unmet demand is lost (True) or backlogged (False).
        holds_stock: per node; False for a transshipment center (ships all it has).
        node_names: labels of the nodes.
        extra_edges: optional [K, 3] integer rows ``(supplier, node, lead_time)``: further
            supply edges besides each node's ``parent`` (multi-sourcing).
        lead_time_range: optional [n_nodes, 2] integers ``(low, high)``, inclusive: per-path
            lead times of each node's primary edge (uniform in the range, fixed along a path);
            ``lead_time`` must lie in it and serves as the nominal value (heuristic levels).
            Extra edges keep their fixed lead times.
    """

    name: str
    parent: np.ndarray
    lead_time: np.ndarray
    holding: np.ndarray
    underage: np.ndarray
    demand: DemandModel
    lost_sales: bool = True
    holds_stock: np.ndarray | None = None
    node_names: tuple[str, ...] = ()
    extra_edges: np.ndarray | None = None
    lead_time_range: np.ndarray | None = None

    def __post_init__(self) -> None:
        parent = _array("parent", self.parent, dtype=float)
        n = parent.size
        if n == 0:
            raise InvalidInstanceError("parent", "the network has no nodes")
        if np.any(parent != np.round(parent)):
            raise InvalidInstanceError("parent", "node indices must be integers")
        parent = parent.astype(int)
        bad = np.flatnonzero((parent < -1) | (parent >= n) | (parent == np.arange(n)))
        if bad.size:
            k = int(bad[0])
            raise InvalidInstanceError(
                "parent", f"node {k} has supplier {parent[k]}, which is not a node",
                f"use -1 (external supplier) or a node index in 0..{n - 1}",
            )
        for start in range(n):  # a supply chain must end at the external supplier
            seen, node = set(), start
            while node != -1:
                if node in seen:
                    raise InvalidInstanceError(
                        "parent", f"the supply chain of node {start} has a cycle",
                        "each node's chain of suppliers must reach -1",
                    )
                seen.add(node)
                node = int(parent[node])
        object.__setattr__(self, "parent", parent)
        lead = _array("lead_time", self.lead_time, dtype=float)
        if lead.size != n or np.any(lead < 1) or np.any(lead != np.round(lead)):
            raise InvalidInstanceError(
                "lead_time", f"needs {n} integers >= 1 (one per node), got {lead.tolist()}"
            )
        object.__setattr__(self, "lead_time", lead.astype(int))
        if self.lead_time_range is not None:
            ranges = np.asarray(self.lead_time_range, dtype=float)
            if ranges.shape != (n, 2) or np.any(ranges != np.round(ranges)):
                raise InvalidInstanceError(
                    "lead_time_range", f"needs {n} integer rows (low, high), got shape "
                    f"{ranges.shape}")
            ranges = ranges.astype(int)
            bad = np.flatnonzero((ranges[:, 0] < 1) | (ranges[:, 0] > ranges[:, 1])
                                 | (self.lead_time < ranges[:, 0])
                                 | (self.lead_time > ranges[:, 1]))
            if bad.size:
                k = int(bad[0])
                raise InvalidInstanceError(
                    "lead_time_range", f"node {k}: range {ranges[k].tolist()} with nominal "
                    f"lead time {self.lead_time[k]}",
                    "use 1 <= low <= lead_time <= high")
            object.__setattr__(self, "lead_time_range", ranges)
        extra = np.zeros((0, 3), dtype=int) if self.extra_edges is None else np.asarray(
            self.extra_edges, dtype=float)
        if extra.size == 0:
            extra = np.zeros((0, 3), dtype=int)
        if extra.ndim != 2 or extra.shape[1] != 3 or np.any(extra != np.round(extra)):
            raise InvalidInstanceError(
                "extra_edges", "must be integer rows (supplier, node, lead_time)")
        extra = extra.astype(int)
        for sup, node, lead_e in extra:
            if not (0 <= sup < n and 0 <= node < n and sup != node):
                raise InvalidInstanceError(
                    "extra_edges", f"edge ({sup}, {node}) joins nodes that do not exist",
                    f"use node indices in 0..{n - 1}")
            if lead_e < 1:
                raise InvalidInstanceError("extra_edges", f"edge ({sup}, {node}) has lead "
                                           f"time {lead_e}; lead times are >= 1")
            if sup == parent[node] or np.sum((extra[:, 0] == sup) & (extra[:, 1] == node)) > 1:
                raise InvalidInstanceError("extra_edges", f"edge ({sup}, {node}) is given twice")
        object.__setattr__(self, "extra_edges", extra)
        self._check_acyclic(n)
        for name in ("holding", "underage"):
            values = _array(name, getattr(self, name))
            if values.size != n:
                raise InvalidInstanceError(name, f"has {values.size} entries for {n} nodes")
            if not np.all(np.isfinite(values)) or np.any(values < 0):
                raise InvalidInstanceError(name, "costs must be finite and non-negative")
            object.__setattr__(self, name, values)
        holds = np.ones(n, dtype=bool) if self.holds_stock is None else np.asarray(
            self.holds_stock, dtype=bool)
        if holds.shape != (n,):
            raise InvalidInstanceError("holds_stock", f"needs {n} booleans")
        object.__setattr__(self, "holds_stock", holds)
        stores = self.stores
        if self.demand.n_stores != stores.size:
            raise InvalidInstanceError(
                "demand", f"describes {self.demand.n_stores} stores, the network has "
                f"{stores.size} (nodes {stores.tolist()})", "give one demand entry per store",
            )
        if np.any(self.underage[stores] <= 0):
            raise InvalidInstanceError("underage", "every store needs an underage cost > 0")
        if np.any(~holds[stores]):
            raise InvalidInstanceError("holds_stock", "stores must hold stock")
        names = tuple(self.node_names) or tuple(
            f"store{k}" if k in set(stores.tolist()) else f"node{k}" for k in range(n))
        if len(names) != n:
            raise InvalidInstanceError("node_names", f"needs {n} names")
        object.__setattr__(self, "node_names", names)

    # --- structure -------------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return int(self.parent.size)

    @property
    def edges(self) -> np.ndarray:
        """All supply edges as [E, 3] rows (supplier or -1, node, lead time); edge k < n_nodes
        is node k's primary edge."""
        primary = np.stack([self.parent, np.arange(self.n_nodes), self.lead_time], axis=1)
        return np.concatenate([primary, self.extra_edges], axis=0)

    @property
    def n_edges(self) -> int:
        return int(self.n_nodes + len(self.extra_edges))

    @property
    def varying_lead_times(self) -> bool:
        """Lead times differ across sample paths (some node has a range wider than one)."""
        ranges = self.lead_time_range
        return ranges is not None and bool(np.any(ranges[:, 1] > ranges[:, 0]))

    @property
    def max_lead_time(self) -> int:
        """Longest lead time of any edge on any path (the simulator's pipeline width)."""
        longest = int(self.edges[:, 2].max())
        if self.lead_time_range is not None:
            longest = max(longest, int(self.lead_time_range[:, 1].max()))
        return longest

    def _check_acyclic(self, n: int) -> None:
        indegree = np.zeros(n, dtype=int)
        edges = [(int(a), int(b)) for a, b, _ in self.edges if a >= 0]
        for _, b in edges:
            indegree[b] += 1
        ready = [v for v in range(n) if indegree[v] == 0]
        visited = 0
        while ready:
            v = ready.pop()
            visited += 1
            for a, b in edges:
                if a == v:
                    indegree[b] -= 1
                    if indegree[b] == 0:
                        ready.append(b)
        if visited < n:
            raise InvalidInstanceError("extra_edges", "the supply edges form a cycle",
                                       "supply must flow one way, from suppliers to stores")

    @property
    def children(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in range(self.n_nodes)]
        for sup, node, _ in self.edges:
            if sup >= 0:
                out[sup].append(int(node))
        return out

    @property
    def stores(self) -> np.ndarray:
        """Indices of the store nodes (they supply no one), in increasing order."""
        has_child = np.zeros(self.n_nodes, dtype=bool)
        sources = self.edges[:, 0]
        has_child[sources[sources >= 0]] = True
        return np.flatnonzero(~has_child)

    @property
    def n_stores(self) -> int:
        return int(self.stores.size)

    def subtree(self) -> np.ndarray:
        """Boolean matrix M[n, m]: node m is n itself or supplied (directly or not) by n."""
        n = self.n_nodes
        out = np.eye(n, dtype=bool)
        children = self.children
        for node in range(n):
            stack = list(children[node])
            while stack:
                m = stack.pop()
                if not out[node, m]:
                    out[node, m] = True
                    stack.extend(children[m])
        return out

    def node_mean_demand(self) -> np.ndarray:
        """Mean demand flowing through each node per period: the sum over the stores it
        reaches (an upper bound when stores have several suppliers)."""
        per_store = np.zeros(self.n_nodes)
        per_store[self.stores] = self.demand.mean
        return self.subtree().astype(float) @ per_store

    def depth(self) -> int:
        """Number of nodes on the longest supply chain (1 for a single store)."""
        longest = np.ones(self.n_nodes, dtype=int)
        for _ in range(self.n_nodes):
            for sup, node, _ in self.edges:
                if sup >= 0:
                    longest[node] = max(longest[node], longest[sup] + 1)
        return int(longest.max())

    def with_(self, **changes: Any) -> InventoryNetwork:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # --- files -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "parent": self.parent.tolist(),
            "lead_time": self.lead_time.tolist(),
            "holding": self.holding.tolist(),
            "underage": self.underage.tolist(),
            "lost_sales": self.lost_sales,
            "holds_stock": np.asarray(self.holds_stock).tolist(),
            "node_names": list(self.node_names),
            "demand": self.demand.to_dict(),
            **({"extra_edges": self.extra_edges.tolist()} if len(self.extra_edges) else {}),
            **({"lead_time_range": self.lead_time_range.tolist()}
               if self.lead_time_range is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InventoryNetwork:
        data = dict(data)
        required = {"parent", "lead_time", "holding", "underage", "demand"}
        missing = required - set(data)
        if missing:
            raise InvalidInstanceError(str(sorted(missing)[0]), "is missing from the network",
                                       f"required fields: {sorted(required)}")
        known = required | {"name", "lost_sales", "holds_stock", "node_names", "extra_edges",
                            "lead_time_range"}
        unknown = set(data) - known
        if unknown:
            raise InvalidInstanceError(str(sorted(unknown)[0]), "is not a network field",
                                       f"known fields: {sorted(known)}")
        demand = data.pop("demand")
        if not isinstance(demand, dict):
            raise InvalidInstanceError("demand", "must be a mapping with kind, mean, ...")
        data["node_names"] = tuple(data.get("node_names", ()))
        return cls(name=data.pop("name", "network"), demand=DemandModel.from_dict(demand), **data)

    def save(self, path: str | Path) -> Path:
        """Write the network as JSON (``.json``) or YAML (``.yml``/``.yaml``)."""
        path = Path(path)
        if path.suffix in (".yml", ".yaml"):
            import yaml

            path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        else:
            path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> InventoryNetwork:
        """Read a network from JSON or YAML."""
        path = Path(path)
        if not path.exists():
            raise InvalidInstanceError("path", f"file not found: {path}")
        text = path.read_text()
        try:
            if path.suffix in (".yml", ".yaml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except Exception as exc:
            raise InvalidInstanceError("path", f"{path} is not valid JSON/YAML: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidInstanceError("path", f"{path} must hold a mapping of network fields")
        return cls.from_dict(data)


def single_store(mean: float | Sequence[float], std: float | None, h: float, p: float, lead: int,
                 *, demand: str = "normal", lost_sales: bool = True, name: str = "one_store",
                 lead_range: tuple[int, int] | None = None) -> InventoryNetwork:
    """One store supplied by an external supplier; ``lead_range=(low, high)`` makes its lead
    time vary across sample paths (``lead`` is then the nominal value, inside the range)."""
    mean_arr = np.atleast_1d(np.asarray(mean, dtype=float))
    std_arr = None if std is None else np.atleast_1d(np.asarray(std, dtype=float))
    return InventoryNetwork(
        name=name, parent=np.array([-1]), lead_time=np.array([lead]), holding=np.array([h]),
        underage=np.array([p]), demand=DemandModel(demand, mean_arr, std_arr),
        lost_sales=lost_sales, node_names=("store",),
        lead_time_range=None if lead_range is None else np.array([lead_range]),
    )
