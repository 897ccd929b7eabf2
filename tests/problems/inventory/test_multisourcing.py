"""Networks where a node has several suppliers (HDPO's many-warehouses setting)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from orlearn.errors import InvalidInstanceError
from orlearn.problems.inventory import (
    DemandModel,
    InventoryNetwork,
    SimState,
    Simulator,
    make_policy,
)
from orlearn.problems.inventory.settings import many_warehouses


def two_warehouses() -> InventoryNetwork:
    # warehouses 0 and 1; store 2 served by both (lead 1 from 0, lead 2 from 1), store 3 by 1
    return InventoryNetwork(
        name="w2", parent=np.array([-1, -1, 0, 1]), lead_time=np.array([2, 2, 1, 1]),
        holding=np.array([0.2, 0.3, 1.0, 1.0]), underage=np.array([0.0, 0.0, 5.0, 5.0]),
        demand=DemandModel("normal", np.array([4.0, 6.0]), np.array([1.0, 1.0])),
        extra_edges=np.array([[1, 2, 2]]),
    )


def test_edges_stores_and_reach() -> None:
    net = two_warehouses()
    assert net.n_edges == 5
    assert net.stores.tolist() == [2, 3]
    assert net.edges[4].tolist() == [1, 2, 2]
    assert net.node_mean_demand().tolist() == [4.0, 10.0, 4.0, 6.0]
    assert net.subtree()[1].tolist() == [False, True, True, True]


def test_per_edge_orders_allocation_and_lead_times() -> None:
    net = two_warehouses()
    sim = Simulator(net, dtype=torch.float64)
    inv = torch.zeros(1, 4, 2, dtype=torch.float64)
    inv[0, 0, 0], inv[0, 1, 0] = 3.0, 4.0
    # edges: 0<-ext, 1<-ext, 2<-0 (L1), 3<-1 (L1), 2<-1 (L2)
    orders = torch.tensor([[0.0, 0.0, 5.0, 4.0, 4.0]], dtype=torch.float64)
    nxt, _, shipped = sim.step(SimState(inv), orders, torch.zeros(1, 2, dtype=torch.float64))
    # warehouse 0 has 3 for a request of 5; warehouse 1 has 4 for requests of 4 + 4
    assert shipped[0].tolist() == [0.0, 0.0, 3.0, 2.0, 2.0]
    assert nxt.inventory[0, 2].tolist() == [3.0, 2.0]  # lead 1 on hand, lead 2 in transit
    assert nxt.inventory[0, 3].tolist() == [2.0, 0.0]


def test_node_orders_are_split_over_supply_edges() -> None:
    net = two_warehouses()
    sim = Simulator(net, dtype=torch.float64)
    inv = torch.zeros(1, 4, 2, dtype=torch.float64)
    inv[0, :2, 0] = 100.0
    _, _, shipped = sim.step(SimState(inv), torch.tensor([[0, 0, 6.0, 2.0]], dtype=torch.float64),
                             torch.zeros(1, 2, dtype=torch.float64))
    assert shipped[0].tolist() == [0.0, 0.0, 3.0, 2.0, 3.0]


@pytest.mark.parametrize("policy", ["base_stock", "echelon_stock", "mlp", "mlp_softmax", "gnn"])
def test_policies_run_feasibly_on_hdpo_many_warehouses(policy: str) -> None:
    net = many_warehouses()
    assert net.n_nodes == 12 and net.n_edges == 12 + 5
    sim = Simulator(net)
    pol = make_policy(policy, net)
    demand = sim.sample_demand(32, 12, seed=0)
    rollout = sim.rollout(pol, demand, record=True, generator=torch.Generator().manual_seed(0))
    internal = sim.edge_internal
    for state, shipped in zip(rollout.states, rollout.shipped, strict=True):
        out = torch.zeros(32, 12).index_add(1, sim.edge_src[internal], shipped[:, internal])
        assert torch.all(out[:, :2] <= state[:, :2, 0] + 1e-4)
    loss = rollout.loss()
    if any(p.requires_grad for p in pol.parameters()):
        rollout2 = sim.rollout(pol, demand, generator=torch.Generator().manual_seed(0))
        rollout2.loss().backward()
    assert torch.isfinite(loss)


def test_bad_extra_edges() -> None:
    base = two_warehouses()
    with pytest.raises(InvalidInstanceError, match="^extra_edges.*cycle"):
        base.with_(extra_edges=np.array([[3, 1, 1]]))
    with pytest.raises(InvalidInstanceError, match="^extra_edges.*twice"):
        base.with_(extra_edges=np.array([[0, 2, 1]]))
    with pytest.raises(InvalidInstanceError, match="^extra_edges.*do not exist"):
        base.with_(extra_edges=np.array([[1, 9, 1]]))
    with pytest.raises(InvalidInstanceError, match="^extra_edges.*lead"):
        base.with_(extra_edges=np.array([[1, 2, 0]]))
    again = InventoryNetwork.from_dict(base.to_dict())
    assert again.edges.tolist() == base.edges.tolist()
