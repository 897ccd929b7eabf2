"""A batched, differentiable inventory simulator in PyTorch (HDPO's order of events).

State per sample path: ``inventory[b, n, k]``: ``k = 0`` is node n's on-hand stock at the start
of the period; ``k >= 1`` is stock in transit to n arriving at the end of period ``t + k - 1``
... i.e. added to on-hand ``k`` periods from now. Each period:

1. the policy observes the state and requests an order for every node (units, >= 0);
2. each supplier node ships what its children request, scaled down proportionally when the
   requests exceed its on-hand stock (a transshipment center, ``holds_stock=False``, ships all it
   has in proportion to the requests): shipments never exceed stock, by construction;
3. demand hits the stores' on-hand stock: cost ``p * (d - I)+ + h * (I - d)+``; lost sales
   clip the stock at 0, backlog keeps it negative; upstream nodes pay ``h`` on the stock left
   after shipping;
4. the pipeline moves one period; a shipment with lead time L enters slot ``L - 1``, so with
   ``L = 1`` it is on hand at the start of the next period.

Every operation is differentiable almost everywhere (pathwise gradients through clipping), so
the mean cost over sample paths can be back-propagated to a policy's parameters (HDPO).
Reported cost: mean cost per period per store, after a warm-up.

Lead times may differ across sample paths (``SimState.lead_times``, [paths, edges]): drawn
from the network's ``lead_time_range`` by :meth:`Simulator.sample_lead_times`, or given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from orlearn.errors import InvalidInstanceError
from orlearn.problems.inventory.network import InventoryNetwork

Policy = Callable[["SimState", "Simulator"], Tensor]


@dataclass
class SimState:
    """State of a batch of sample paths at the start of a period.

    Attributes:
        inventory: [paths, nodes, width]: on-hand (slot 0) and pipeline (slots 1..).
        period: index of the current period.
        past_demand: [paths, stores, k] the last k demands (oldest first), k may be 0.
        lead_times: [paths, edges] per-path lead times (integers, fixed along each path), or
            None: the network's own.
    """

    inventory: Tensor
    period: int = 0
    past_demand: Tensor | None = None
    lead_times: Tensor | None = None

    @property
    def on_hand(self) -> Tensor:
        return self.inventory[..., 0]

    @property
    def position(self) -> Tensor:
        """Inventory position per node: on-hand plus everything in transit to it."""
        return self.inventory.sum(-1)


@dataclass
class Rollout:
    """Costs of a simulation.

    Attributes:
        cost: [paths, periods] total network cost per period.
        warmup: periods excluded from the reported figure.
        n_stores: stores in the network.
        states / orders / shipped / demand: per-period trajectories when recorded.
    """

    cost: Tensor
    warmup: int
    n_stores: int
    states: list[Tensor] = field(default_factory=list)
    orders: list[Tensor] = field(default_factory=list)
    shipped: list[Tensor] = field(default_factory=list)
    demand: Tensor | None = None

    def loss(self) -> Tensor:
        """Mean cost per period per store over all periods and paths (a differentiable scalar)."""
        return self.cost.mean() / self.n_stores

    def per_period_per_store(self) -> float:
        """Reported cost: mean per period per store after the warm-up."""
        return float(self.cost[:, self.warmup:].mean().item() / self.n_stores)

    def per_path(self) -> np.ndarray:
        """Per-path mean cost per period per store after the warm-up."""
        return (self.cost[:, self.warmup:].mean(1) / self.n_stores).detach().cpu().numpy()


class Simulator:
    """Simulates an :class:`InventoryNetwork` over many sample paths at once.

    Args:
        network: the network.
        device: torch device of all tensors.
        dtype: floating dtype (float32 by default; float64 for exactness checks).
        max_lead_time: pipeline width to allow for (default: the network's longest lead time,
            ranges included); raise it to pass longer per-path lead times of your own.
    """

    def __init__(self, network: InventoryNetwork, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32, max_lead_time: int | None = None) -> None:
        self.network = network
        self.device = torch.device(device)
        self.dtype = dtype
        kw = {"device": self.device, "dtype": dtype}
        n = network.n_nodes
        self.n_nodes = n
        self.stores = torch.as_tensor(network.stores, device=self.device)
        self.n_stores = int(self.stores.numel())
        self.is_store = torch.zeros(n, dtype=torch.bool, device=self.device)
        self.is_store[self.stores] = True
        self.parent = torch.as_tensor(network.parent, device=self.device)
        edges = torch.as_tensor(network.edges, device=self.device)
        self.n_edges = int(edges.shape[0])
        self.edge_src, self.edge_dst, self.edge_lead = edges[:, 0], edges[:, 1], edges[:, 2]
        self.edge_internal = self.edge_src >= 0  # supplied by a node, not the outside
        self.edge_supplier = self.edge_src.clamp_min(0)
        indegree = torch.zeros(n, **kw).index_add(
            0, self.edge_dst, torch.ones(self.n_edges, **kw))
        self.edge_share = 1.0 / indegree[self.edge_dst]  # node order split over its edges
        self.holding = torch.as_tensor(network.holding, **kw)
        self.underage = torch.as_tensor(network.underage, **kw)
        self.holds_stock = torch.as_tensor(network.holds_stock, device=self.device)
        self.lead_time = torch.as_tensor(network.lead_time, device=self.device)
        self.width = max(network.max_lead_time, int(max_lead_time or 0))
        self.node_mean = torch.as_tensor(network.node_mean_demand(), **kw)
        self.subtree = torch.as_tensor(network.subtree(), **kw)  # [n, m]
        # where each edge's shipment lands in the flattened [nodes x width] pipeline
        self._landing = self.edge_dst * self.width + self.edge_lead - 1

    # --- states and demand -----------------------------------------------------------------
    def initial_state(self, n_paths: int, generator: torch.Generator | None = None,
                      past_periods: int = 0, lead_times: Tensor | None = None) -> SimState:
        """Start with U[0, 1] x (mean demand x lead time) on hand at each node, pipeline empty
        but for one period of mean demand per slot (the warm-up washes the choice out).
        ``lead_times`` [paths, edges]: per-path lead times (see :meth:`check_lead_times`)."""
        u = torch.rand(n_paths, self.n_nodes, generator=generator, dtype=torch.float64)
        u = u.to(self.device, self.dtype)
        if lead_times is None:
            lead = self.lead_time.to(self.dtype).expand(n_paths, -1)
        else:
            lead_times = self.check_lead_times(lead_times, n_paths)
            lead = lead_times[:, :self.n_nodes].to(self.dtype)
        inv = torch.zeros(n_paths, self.n_nodes, self.width, device=self.device, dtype=self.dtype)
        inv[..., 0] = u * self.node_mean * lead
        if self.width > 1:
            slots = torch.arange(1, self.width, device=self.device, dtype=self.dtype)
            in_transit = slots.view(1, 1, -1) < lead.unsqueeze(-1)
            inv[..., 1:] = self.node_mean.view(1, -1, 1) * in_transit
        past = torch.zeros(n_paths, self.n_stores, past_periods, device=self.device,
                           dtype=self.dtype)
        return SimState(inv, 0, past if past_periods else None, lead_times)

    def check_lead_times(self, lead_times: Tensor, n_paths: int) -> Tensor:
        """Validate per-path lead times: integers in [1, width], shape [paths, edges]."""
        lead_times = torch.as_tensor(lead_times, device=self.device)
        if lead_times.shape != (n_paths, self.n_edges):
            raise InvalidInstanceError(
                "lead_times", f"expected shape [{n_paths}, {self.n_edges}] (one per path and "
                f"supply edge), got {list(lead_times.shape)}")
        if lead_times.is_floating_point():
            if not torch.equal(lead_times, lead_times.round()):
                raise InvalidInstanceError("lead_times", "must be whole periods")
            lead_times = lead_times.long()
        if lead_times.numel() and (lead_times.min() < 1 or lead_times.max() > self.width):
            raise InvalidInstanceError(
                "lead_times", f"must lie in [1, {self.width}]",
                "pass max_lead_time= to the Simulator for longer lead times")
        return lead_times.long()

    def sample_lead_times(self, n_paths: int, seed: int) -> Tensor | None:
        """Per-path lead times [paths, edges] drawn from the network's ``lead_time_range``
        (uniform integers per node, fixed along each path; extra edges keep theirs), or None
        when lead times do not vary."""
        if not self.network.varying_lead_times:
            return None
        ranges = torch.as_tensor(self.network.lead_time_range)
        generator = torch.Generator().manual_seed(int(seed) + 7_654_321)
        u = torch.rand(n_paths, self.n_nodes, generator=generator, dtype=torch.float64)
        span = (ranges[:, 1] - ranges[:, 0] + 1).to(torch.float64)
        primary = ranges[:, 0] + (u * span).floor().long().clamp_max(span.long() - 1)
        extra = torch.as_tensor(self.network.extra_edges[:, 2]).expand(n_paths, -1)
        return torch.cat([primary, extra], dim=1).to(self.device)

    def sample_demand(self, n_paths: int, periods: int, seed: int) -> Tensor:
        """Demand [paths, stores, periods] drawn from the network's model with ``seed``."""
        generator = torch.Generator().manual_seed(int(seed))
        return self.network.demand.sample(n_paths, periods, generator, self.device, self.dtype)

    # --- one period ------------------------------------------------------------------------
    def step(self, state: SimState, orders: Tensor, demand: Tensor) -> tuple[SimState, Tensor,
                                                                             Tensor]:
        """Advance one period. ``orders`` are per supply edge [paths, edges], or per node
        [paths, nodes] (split evenly over a node's edges; the same thing on a tree).

        Returns (next state, cost per node [paths, nodes], shipped per edge [paths, edges]).
        """
        inv = state.inventory
        paths = inv.shape[0]
        if orders.shape == (paths, self.n_nodes) and self.n_edges != self.n_nodes:
            orders = orders[:, self.edge_dst] * self.edge_share
        if orders.shape != (paths, self.n_edges):
            raise InvalidInstanceError(
                "orders", f"expected shape [{paths}, {self.n_edges}] (one per supply edge), "
                f"got {list(orders.shape)}")
        orders = orders.clamp_min(0.0)
        on_hand = inv[..., 0]
        internal, supplier = self.edge_internal, self.edge_supplier
        # 2. shipments from supplier nodes, feasible by construction
        requested = torch.zeros_like(on_hand).index_add(
            1, supplier[internal], orders[:, internal])
        available = on_hand.clamp_min(0.0)
        ratio = available / requested.clamp_min(1e-9)
        scale = torch.where(self.holds_stock, ratio.clamp(max=1.0), ratio)
        scale = torch.where(requested > 1e-9, scale, torch.ones_like(scale))
        shipped = torch.where(internal, orders * scale[:, supplier], orders)
        outflow = torch.zeros_like(on_hand).index_add(1, supplier[internal], shipped[:, internal])
        # 3. demand at the stores, holding upstream
        post = on_hand - outflow
        store_post = on_hand[:, self.stores] - demand
        cost = self.holding * post.clamp_min(0.0)
        store_cost = (self.underage[self.stores] * (-store_post).clamp_min(0.0)
                      + self.holding[self.stores] * store_post.clamp_min(0.0))
        cost = cost.index_copy(1, self.stores, store_cost)
        if self.network.lost_sales:
            store_post = store_post.clamp_min(0.0)
        post = post.index_copy(1, self.stores, store_post)
        # 4. pipeline moves; new shipments land in their slot
        if self.width > 1:
            head = post + inv[..., 1]
            nxt = torch.cat([head.unsqueeze(-1), inv[..., 2:],
                             torch.zeros_like(inv[..., :1])], dim=-1)
        else:
            nxt = post.unsqueeze(-1)
        arrivals = torch.zeros(paths, self.n_nodes * self.width, device=inv.device,
                               dtype=inv.dtype)
        if state.lead_times is None:
            arrivals = arrivals.index_add(1, self._landing, shipped)
        else:  # per-path lead times: each path's shipment lands in its own slot
            landing = self.edge_dst * self.width + state.lead_times - 1
            arrivals = arrivals.scatter_add(1, landing, shipped)
        nxt = nxt + arrivals.view(paths, self.n_nodes, self.width)
        past = state.past_demand
        if past is not None and past.shape[-1] > 0:
            past = torch.cat([past[..., 1:], demand.unsqueeze(-1)], dim=-1)
        return SimState(nxt, state.period + 1, past, state.lead_times), cost, shipped

    # --- whole horizon ---------------------------------------------------------------------
    def rollout(self, policy: Policy, demand: Tensor, *, warmup: int = 0,
                state: SimState | None = None, generator: torch.Generator | None = None,
                record: bool = False, past_periods: int = 0,
                lead_times: Tensor | None = None) -> Rollout:
        """Simulate ``policy`` on ``demand`` [paths, stores, periods] from ``state`` (default:
        :meth:`initial_state`), with per-path ``lead_times`` [paths, edges] when given."""
        paths, stores, periods = demand.shape
        if stores != self.n_stores:
            raise InvalidInstanceError(
                "demand", f"has {stores} stores, the network has {self.n_stores}")
        if not 0 <= warmup < periods:
            raise InvalidInstanceError("warmup", f"must be in [0, {periods}), got {warmup}")
        if state is None:
            state = self.initial_state(paths, generator, past_periods, lead_times)
        elif lead_times is not None:
            state = SimState(state.inventory, state.period, state.past_demand,
                             self.check_lead_times(lead_times, paths))
        costs = []
        out = Rollout(cost=torch.empty(0), warmup=warmup, n_stores=self.n_stores)
        for t in range(periods):
            orders = policy(state, self)
            if record:
                out.states.append(state.inventory.detach().clone())
            state, cost, shipped = self.step(state, orders, demand[:, :, t])
            costs.append(cost.sum(1))
            if record:
                out.orders.append(orders.detach().clone())
                out.shipped.append(shipped.detach().clone())
        out.cost = torch.stack(costs, dim=1)
        if record:
            out.demand = demand.detach()
        return out

    def evaluate(self, policy: Policy, n_paths: int, periods: int, warmup: int, seed: int,
                 chunk: int | None = None) -> tuple[float, float]:
        """Mean and standard error of the cost per period per store, without gradients.

        Demand, lead times (when they vary) and initial states come from ``seed``; ``chunk``
        splits the paths to save memory.
        """
        per_path: list[np.ndarray] = []
        chunk = chunk or n_paths
        with torch.no_grad():
            for start in range(0, n_paths, chunk):
                size = min(chunk, n_paths - start)
                demand = self.sample_demand(size, periods, seed + 7919 * start)
                gen = torch.Generator().manual_seed(seed + 104729 + start)
                lead_times = self.sample_lead_times(size, seed + 7919 * start)
                per_path.append(self.rollout(policy, demand, warmup=warmup, generator=gen,
                                             lead_times=lead_times).per_path())
        values = np.concatenate(per_path)
        return float(values.mean()), float(values.std(ddof=1) / np.sqrt(max(values.size, 1)))
