"""Inventory policies: heuristics with trainable levels, and neural policies (MLP, GNN).

Every policy is a ``torch.nn.Module`` called as ``policy(state, sim) -> orders [paths, nodes]``
(units requested by each node from its supplier, >= 0). Feasibility (never shipping more than
a supplier has) is enforced by the simulator's proportional allocation, so every policy here is
feasible by construction. Levels of the base-stock family are parameters too, so HDPO fits
them with the same pathwise gradients as the networks.

Neural inputs are scaled by the mean demand flowing through each node, and outputs are
``softplus(raw) x scale``, so a freshly initialised network orders about one period's demand.
Orders are not capped: an earlier hard cap (10 periods of mean demand) had a zero gradient
once reached, and a one-store backlog MLP trained at Adam step 0.01 got stuck there for good
(test cost 56% above the optimum); without it the holding cost's gradient pulls oversized
orders back (0.05% gap on the same run, benchmarks/RESULTS.md).

Orders are continuous quantities. When demand comes in whole units (Poisson), policies are
deployed with :class:`IntegerOrders` (orders rounded to whole units), while training stays
continuous: see :func:`orlearn.problems.inventory.hdpo.train`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor, nn

from orlearn.errors import ConfigError
from orlearn.nn import MLP
from orlearn.problems.inventory.network import InventoryNetwork
from orlearn.problems.inventory.simulator import SimState, Simulator


def lead_time_demand_quantile(network: InventoryNetwork, ratio: np.ndarray | None = None,
                              periods: np.ndarray | None = None) -> np.ndarray:
    """Per node, the ``ratio``-quantile of the demand of the stores below it over ``periods``
    periods, Normal approximation (the classic newsvendor base-stock level).

    ``periods``: per node [n] (default: lead time + 1), or per node and store [n, n] (e.g. the
    lead times on the path from a node down to each store, for echelon levels). Default
    ratio: p / (p + h) of the node's stores, averaged."""
    stores = network.stores
    mean = np.zeros(network.n_nodes)
    var = np.zeros(network.n_nodes)
    mean[stores] = network.demand.mean
    std = network.demand.std if network.demand.std is not None else np.sqrt(network.demand.mean)
    var[stores] = np.asarray(std) ** 2
    sub = network.subtree().astype(float)
    if ratio is None:
        p, h = network.underage[stores], network.holding[stores]
        store_ratio = np.zeros(network.n_nodes)
        store_ratio[stores] = p / (p + h)
        ratio = (sub @ store_ratio) / np.maximum(sub @ np.isin(np.arange(network.n_nodes),
                                                                stores), 1)
    if periods is None:
        periods = network.lead_time + 1
    periods = np.asarray(periods, dtype=float)
    weight = sub * (periods[:, None] if periods.ndim == 1 else periods)
    z = stats.norm.ppf(np.clip(ratio, 1e-6, 1 - 1e-6))
    return weight @ mean + z * np.sqrt(weight @ var)


class BaseStockPolicy(nn.Module):
    """Installation base-stock: order up to level S_n on each node's inventory position.

    ``orders = relu(S - position)``. Levels are trainable (``levels`` units per node).
    """

    def __init__(self, levels: np.ndarray | Tensor) -> None:
        super().__init__()
        self.levels = nn.Parameter(torch.as_tensor(np.asarray(levels), dtype=torch.float32))

    def forward(self, state: SimState, sim: Simulator) -> Tensor:
        return (self.levels.to(state.inventory) - state.position).clamp_min(0.0)

    @classmethod
    def newsvendor(cls, network: InventoryNetwork) -> BaseStockPolicy:
        return cls(lead_time_demand_quantile(network))


class NewsvendorPolicy(BaseStockPolicy):
    """Base-stock with fixed newsvendor levels (the (L+1)-period critical-ratio quantile);
    a heuristic, not trained."""

    def __init__(self, network: InventoryNetwork) -> None:
        super().__init__(lead_time_demand_quantile(network))
        self.levels.requires_grad_(False)


class CappedBaseStockPolicy(nn.Module):
    """Capped base-stock (Xin 2021): ``min(relu(S - position), cap)``; both trainable."""

    def __init__(self, levels: np.ndarray | Tensor, caps: np.ndarray | Tensor) -> None:
        super().__init__()
        self.levels = nn.Parameter(torch.as_tensor(np.asarray(levels), dtype=torch.float32))
        self.caps = nn.Parameter(torch.as_tensor(np.asarray(caps), dtype=torch.float32))

    def forward(self, state: SimState, sim: Simulator) -> Tensor:
        order = (self.levels.to(state.inventory) - state.position).clamp_min(0.0)
        return torch.minimum(order, self.caps.to(state.inventory).clamp_min(0.0))

    @classmethod
    def newsvendor(cls, network: InventoryNetwork) -> CappedBaseStockPolicy:
        return cls(lead_time_demand_quantile(network), 2.0 * network.node_mean_demand())


class EchelonStockPolicy(nn.Module):
    """Echelon base-stock: node n orders up to S_n on its *echelon* position (its own position
    plus that of every node it supplies, directly or not). Optimal for serial systems with
    backlog (Clark and Scarf 1960) when levels are right; levels are trainable."""

    def __init__(self, levels: np.ndarray | Tensor) -> None:
        super().__init__()
        self.levels = nn.Parameter(torch.as_tensor(np.asarray(levels), dtype=torch.float32))

    def forward(self, state: SimState, sim: Simulator) -> Tensor:
        echelon = state.position @ sim.subtree.T.to(state.inventory)
        return (self.levels.to(state.inventory) - echelon).clamp_min(0.0)

    @classmethod
    def newsvendor(cls, network: InventoryNetwork) -> EchelonStockPolicy:
        """Start each node's echelon level at the newsvendor quantile of the demand of the
        stores below it over the lead times from the node down to each store (plus one
        period). Levels must start high enough for upstream nodes to order at all: a level
        below the echelon position orders nothing and gets no gradient."""
        sub = network.subtree().astype(float)  # sub[n, m] = 1: m is n or below it
        # lead times of the nodes on the path from n down to s, both included
        path_lead = (sub * network.lead_time[None, :]) @ sub
        return cls(lead_time_demand_quantile(network, periods=path_lead + 1.0))


def _scaled_order(raw: Tensor, scale: Tensor) -> Tensor:
    """``softplus(raw) x scale``: a non-negative order, ``scale`` units per unit of output."""
    return nn.functional.softplus(raw) * scale


class IntegerOrders(nn.Module):
    """Deploys ``policy`` with orders rounded to whole units (``round(policy(state, sim))``).

    With integer demand (Poisson) the optimal policy is integer-valued on an integer lattice of
    states. A smooth network trained by HDPO on continuous orders approximates that staircase
    with a smooth curve and leaves the lattice; rounding its orders at deployment puts the
    system back on the lattice and recovers most of the loss (one store, lost sales, p = 4,
    L = 1: 0.38% -> 0.05% above the optimum on the same trained MLP). Training with rounded
    orders and straight-through gradients was worse (0.67%), so rounding is applied only here,
    at evaluation and model selection. Rounding has no gradient: do not train through it.
    """

    def __init__(self, policy: nn.Module) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, state: SimState, sim: Simulator) -> Tensor:
        return torch.round(self.policy(state, sim))


def _inventory_features(state: SimState, sim: Simulator) -> Tensor:
    """[paths, nodes, width] inventory scaled by each node's mean demand per period."""
    scale = sim.node_mean.clamp_min(1e-6).view(1, -1, 1)
    return state.inventory / scale


def _edge_lead_times(state: SimState, sim: Simulator) -> Tensor:
    """[paths, edges] lead time of every supply edge on every path (periods, as floats)."""
    paths = state.inventory.shape[0]
    if state.lead_times is None:
        return sim.edge_lead.to(state.inventory.dtype).expand(paths, -1)
    return state.lead_times.to(state.inventory.dtype)


class MLPPolicy(nn.Module):
    """A vanilla MLP on the whole network's scaled inventory state (HDPO's "vanilla" policy).

    Input: every node's on-hand and pipeline (and optionally the last ``past_periods`` store
    demands), scaled by mean demand, and, when lead times vary across paths, each edge's lead
    time (divided by 4); output: one order per supply edge (per node on a tree),
    ``softplus(raw) x mean demand of the receiving node``.
    Its input size is tied to the network's size: retrain for another network.

    ``allocation`` says how a stock-holding node's on-hand is shared among the edges it
    supplies: ``"proportional"`` (the edges' outputs are requests, scaled down by the
    simulator when they exceed the on-hand) or ``"softmax"`` (HDPO's softmax allocation: one
    extra "keep" logit per such node; each edge ships its softmax share of the on-hand).
    """

    def __init__(self, network: InventoryNetwork, hidden: tuple[int, ...] = (32, 32, 32),
                 activation: str = "elu", past_periods: int = 0,
                 allocation: str = "proportional") -> None:
        super().__init__()
        if allocation not in ("proportional", "softmax"):
            raise ConfigError(f"unknown allocation {allocation!r}; choose proportional or "
                              "softmax")
        self.past_periods = past_periods
        self.allocation = allocation
        width = network.max_lead_time
        self.lead_input = network.varying_lead_times
        in_dim = (network.n_nodes * width + network.n_stores * past_periods
                  + (network.n_edges if self.lead_input else 0))
        edges = network.edges
        groups: list[int] = []
        if allocation == "softmax":
            groups = sorted({int(s) for s in edges[:, 0]
                             if s >= 0 and network.holds_stock[int(s)]})
        # membership [groups, edges + groups]: the edges a node supplies and its keep logit
        member = torch.zeros(len(groups), len(edges) + len(groups), dtype=torch.bool)
        for g, node in enumerate(groups):
            member[g, :len(edges)] = torch.as_tensor(edges[:, 0] == node)
            member[g, len(edges) + g] = True
        self.register_buffer("_member", member, persistent=False)
        self.register_buffer("_groups", torch.as_tensor(groups, dtype=torch.long),
                             persistent=False)
        self.net = MLP(in_dim, hidden, network.n_edges + len(groups), activation=activation)
        self.config = {"hidden": list(hidden), "activation": activation,
                       "past_periods": past_periods, "allocation": allocation}

    def forward(self, state: SimState, sim: Simulator) -> Tensor:
        x = _inventory_features(state, sim).flatten(1)
        if self.past_periods:
            assert state.past_demand is not None
            stores_mean = sim.node_mean[sim.stores].clamp_min(1e-6).view(1, -1, 1)
            x = torch.cat([x, (state.past_demand / stores_mean).flatten(1)], dim=1)
        if self.lead_input:
            x = torch.cat([x, _edge_lead_times(state, sim) / 4.0], dim=1)
        out = self.net(x)
        n_edges = sim.n_edges
        orders = _scaled_order(out[:, :n_edges], sim.node_mean[sim.edge_dst])
        if not len(self._groups):
            return orders
        # softmax over each stock-holding node's outgoing edges and its keep logit
        masked = out.unsqueeze(1).masked_fill(~self._member, float("-inf"))
        share = torch.softmax(masked, dim=-1)[..., :n_edges].sum(1)  # one group per edge
        allocated = self._member[:, :n_edges].any(0)
        on_hand = state.inventory[..., 0].clamp_min(0.0)
        shipped = share * on_hand[:, sim.edge_supplier]
        return torch.where(allocated, shipped, orders)


class GNNPolicy(nn.Module):
    """A GNN on the supply graph (HDPO's GNN policy): works for any network without changing
    its architecture.

    Nodes: the network's nodes plus one external-supplier node. Node features (fixed size):
    scaled on-hand, total pipeline, log mean demand, the first ``slots`` pipeline slots,
    holding and underage cost, lead time, is-store, holds-stock (-1 for the supplier). Edges:
    supplier -> node, with the edge's lead time and the node's scaled inventory position (lead
    times are per path when they vary across paths). Node and edge
    encoders (MLPs), ``steps`` residual message-passing blocks
    (:class:`orlearn.nn.ResidualMessagePassing`, run on the graph shared by all sample paths),
    and an edge decoder (on the edge's embedding and those of its two end nodes) giving each
    node's order ``softplus(raw) x mean demand``. Proportional allocation at each supplier
    comes from the simulator.
    """

    def __init__(self, hidden: tuple[int, ...] = (32, 32), embed: int = 32, steps: int = 1,
                 slots: int = 4) -> None:
        super().__init__()
        from orlearn.nn import ResidualMessagePassing

        self.slots = slots
        self.node_in = 3 + slots + 5
        self.edge_in = 2
        self.node_encoder = MLP(self.node_in, hidden, embed, activation="relu")
        self.edge_encoder = MLP(self.edge_in, hidden, embed, activation="relu")
        self.blocks = nn.ModuleList(
            [ResidualMessagePassing(embed, embed, hidden=hidden) for _ in range(steps)])
        self.decoder = MLP(3 * embed, hidden, 1, activation="relu")
        self.config = {"hidden": list(hidden), "embed": embed, "steps": steps, "slots": slots}

    def forward(self, state: SimState, sim: Simulator) -> Tensor:
        paths, n, width = state.inventory.shape
        inv = _inventory_features(state, sim)
        pipe = inv[..., 1:]
        slots = torch.zeros(paths, n, self.slots, device=inv.device, dtype=inv.dtype)
        k = min(self.slots, max(width - 1, 0))
        if k:
            slots[..., :k] = pipe[..., :k]
        scale = sim.node_mean.clamp_min(1e-6)
        mean_h = sim.holding[sim.stores].mean().clamp_min(1e-6)
        edge_lead = _edge_lead_times(state, sim) / 4.0  # [paths, edges]
        fixed = torch.stack([sim.holding / mean_h, sim.underage / mean_h,
                             sim.is_store.to(inv.dtype), sim.holds_stock.to(inv.dtype)],
                            dim=-1).expand(paths, n, 4)
        static = torch.cat([fixed[..., :2], edge_lead[:, :n].unsqueeze(-1), fixed[..., 2:]],
                           dim=-1)
        nodes = torch.cat([inv[..., :1], pipe.sum(-1, keepdim=True),
                           torch.log1p(scale).expand(paths, n).unsqueeze(-1), slots, static],
                          dim=-1)
        # the external supplier: no stock figures, flagged by holds_stock = -1
        supplier = torch.zeros(paths, 1, self.node_in, device=inv.device, dtype=inv.dtype)
        supplier[..., -1] = -1.0
        x = torch.cat([nodes, supplier], dim=1)  # [paths, n + 1, features]
        # one graph shared by all paths: every supply edge, the outside supplier as node n
        src = torch.where(sim.edge_internal, sim.edge_src, torch.full_like(sim.edge_src, n))
        dst = sim.edge_dst
        edge_index = torch.stack([src, dst])
        edge_attr = torch.stack([edge_lead, (state.position / scale)[:, dst]], dim=-1)
        h = self.node_encoder(x)
        e = self.edge_encoder(edge_attr)
        for block in self.blocks:
            h, e = block(h, edge_index, e)
        raw = self.decoder.forward_concat([e, (h, src), (h, dst)]).squeeze(-1)
        return _scaled_order(raw, scale[dst])


POLICIES = ("base_stock", "capped_base_stock", "echelon_stock", "newsvendor", "mlp",
            "mlp_softmax", "gnn")


def make_policy(name: str, network: InventoryNetwork, **options: Any) -> nn.Module:
    """Build a policy by name for ``network`` (heuristic levels start at newsvendor values)."""
    if name == "base_stock":
        return BaseStockPolicy.newsvendor(network)
    if name == "capped_base_stock":
        return CappedBaseStockPolicy.newsvendor(network)
    if name == "echelon_stock":
        return EchelonStockPolicy.newsvendor(network)
    if name == "newsvendor":
        return NewsvendorPolicy(network)
    if name == "mlp":
        return MLPPolicy(network, **options)
    if name == "mlp_softmax":
        options.setdefault("allocation", "softmax")
        return MLPPolicy(network, **options)
    if name == "gnn":
        # HDPO's step counts: one for a warehouse-store network (depth 2), echelons + 1 for a
        # serial system (4 stages: 2 extra echelons, 3 steps): the depth minus one
        options.setdefault("steps", max(1, network.depth() - 1))
        return GNNPolicy(**options)
    raise ConfigError(f"unknown inventory policy {name!r}; choose one of {', '.join(POLICIES)}")
