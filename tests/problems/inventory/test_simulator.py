"""Simulator accounting on hand-computed cases, gradient flow, feasibility, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from orlearn.errors import ConfigError, InvalidInstanceError
from orlearn.problems.inventory import (
    BaseStockPolicy,
    DemandModel,
    InventoryNetwork,
    SimState,
    Simulator,
    make_policy,
    single_store,
)


def fixed(orders: list[float]):
    """A policy that always requests the given orders."""
    def policy(state: SimState, sim: Simulator) -> torch.Tensor:
        return torch.tensor(orders, dtype=state.inventory.dtype).expand(
            state.inventory.shape[0], -1)
    return policy


def one_warehouse(n_stores: int = 2, lost: bool = True) -> InventoryNetwork:
    return InventoryNetwork(
        name="wh", parent=np.array([-1] + [0] * n_stores),
        lead_time=np.array([2] + [1] * n_stores), holding=np.array([0.5] + [1.0] * n_stores),
        underage=np.array([0.0] + [4.0] * n_stores),
        demand=DemandModel("normal", np.full(n_stores, 5.0), np.full(n_stores, 1.0)),
        lost_sales=lost,
    )


def test_single_store_lost_sales_by_hand() -> None:
    net = single_store(5.0, None, h=1.0, p=4.0, lead=2, demand="poisson", lost_sales=True)
    sim = Simulator(net, dtype=torch.float64)
    # on hand 3, arriving next period 4; order 6 every period (lead 2)
    state = SimState(torch.tensor([[[3.0, 4.0]]], dtype=torch.float64))
    demand = torch.tensor([[[5.0, 2.0, 8.0]]], dtype=torch.float64)
    rollout = sim.rollout(fixed([6.0]), demand, state=state, record=True)
    # t0: 3 on hand, demand 5: short 2 -> cost 8; left 0; +4 arrives -> 4; order 6 in slot 1
    # t1: 4 on hand, demand 2: left 2 -> cost 2; +6 arrives -> 8
    # t2: 8 on hand, demand 8: cost 0
    assert rollout.cost[0].tolist() == [8.0, 2.0, 0.0]
    assert rollout.states[1][0, 0].tolist() == [4.0, 6.0]
    assert rollout.states[2][0, 0].tolist() == [8.0, 6.0]


def test_single_store_backlog_keeps_negative_stock_and_lead_one_arrives_next_period() -> None:
    net = single_store(5.0, 1.0, h=1.0, p=9.0, lead=1, lost_sales=False)
    sim = Simulator(net, dtype=torch.float64)
    state = SimState(torch.tensor([[[2.0]]], dtype=torch.float64))
    demand = torch.tensor([[[5.0, 1.0]]], dtype=torch.float64)
    rollout = sim.rollout(fixed([4.0]), demand, state=state, record=True)
    # t0: 2 on hand, demand 5 -> -3 (cost 27); order 4 arrives at the end -> 1
    # t1: 1 on hand, demand 1 -> 0 (cost 0)
    assert rollout.cost[0].tolist() == [27.0, 0.0]
    assert rollout.states[1][0, 0, 0].item() == 1.0


def test_warehouse_allocation_is_proportional_and_never_exceeds_stock() -> None:
    net = one_warehouse(2)
    sim = Simulator(net, dtype=torch.float64)
    inv = torch.zeros(1, 3, 2, dtype=torch.float64)
    inv[0, 0, 0] = 6.0  # warehouse holds 6
    state = SimState(inv)
    # stores ask 6 and 3 (9 > 6): they get 4 and 2; the warehouse orders 10 (lead 2)
    nxt, cost, shipped = sim.step(state, torch.tensor([[10.0, 6.0, 3.0]], dtype=torch.float64),
                                  torch.tensor([[0.0, 0.0]], dtype=torch.float64))
    assert shipped[0].tolist() == [10.0, 4.0, 2.0]
    assert cost[0, 0].item() == 0.0  # nothing left in the warehouse
    assert nxt.inventory[0, :, 0].tolist() == [0.0, 4.0, 2.0]  # store lead time 1
    assert nxt.inventory[0, 0, 1].item() == 10.0  # warehouse order one slot away
    # requests below stock are served in full and the rest is charged holding cost
    nxt, cost, shipped = sim.step(state, torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64),
                                  torch.tensor([[0.0, 0.0]], dtype=torch.float64))
    assert shipped[0].tolist() == [0.0, 1.0, 2.0]
    assert cost[0, 0].item() == pytest.approx(0.5 * 3.0)


def test_transshipment_center_ships_everything() -> None:
    net = one_warehouse(2).with_(holds_stock=np.array([False, True, True]),
                                 holding=np.array([0.0, 1.0, 1.0]))
    sim = Simulator(net, dtype=torch.float64)
    inv = torch.zeros(1, 3, 2, dtype=torch.float64)
    inv[0, 0, 0] = 6.0
    _, _, shipped = sim.step(SimState(inv), torch.tensor([[1.0, 1.0, 2.0]], dtype=torch.float64),
                             torch.zeros(1, 2, dtype=torch.float64))
    assert shipped[0, 1:].tolist() == [2.0, 4.0]


@pytest.mark.parametrize("policy", ["base_stock", "capped_base_stock", "echelon_stock", "mlp",
                                    "mlp_softmax", "gnn"])
def test_policies_are_feasible_on_a_warehouse_network(policy: str) -> None:
    net = one_warehouse(3)
    sim = Simulator(net)
    pol = make_policy(policy, net)
    demand = sim.sample_demand(64, 20, seed=0)
    rollout = sim.rollout(pol, demand, record=True, generator=torch.Generator().manual_seed(0))
    for state, orders, shipped in zip(rollout.states, rollout.orders, rollout.shipped,
                                      strict=True):
        assert torch.all(orders >= 0)
        assert torch.all(shipped >= -1e-6)
        on_hand = state[:, 0, 0]
        assert torch.all(shipped[:, 1:].sum(1) <= on_hand + 1e-4)  # never ships more than stock
        assert torch.all(state[:, :, 0] >= -1e-5)  # lost sales: stock never negative


@pytest.mark.parametrize("policy", ["base_stock", "echelon_stock", "mlp", "mlp_softmax", "gnn"])
def test_gradients_flow_to_every_policy_parameter(policy: str) -> None:
    net = one_warehouse(2)
    sim = Simulator(net)
    pol = make_policy(policy, net)
    demand = sim.sample_demand(32, 15, seed=1)
    loss = sim.rollout(pol, demand, generator=torch.Generator().manual_seed(0)).loss()
    loss.backward()
    grads = [p.grad for p in pol.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_softmax_allocation_ships_shares_of_the_warehouse_stock() -> None:
    net = one_warehouse(3)
    sim = Simulator(net)
    pol = make_policy("mlp_softmax", net)
    last = pol.net.net[-1]
    assert last.out_features == net.n_edges + 1  # one keep logit
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0]))  # equal shares
    state = sim.initial_state(4, generator=torch.Generator().manual_seed(0))
    inventory = state.inventory.clone()
    inventory[:, 0, 0] = torch.tensor([8.0, 0.0, -1.0, 20.0])
    orders = pol(SimState(inventory, 0, state.past_demand), sim)
    expected = inventory[:, 0, 0].clamp_min(0.0) / 4  # 3 stores + keep, equal logits
    assert torch.allclose(orders[:, 1:], expected.unsqueeze(1).expand(4, 3))
    _, _, shipped = sim.step(SimState(inventory, 0, state.past_demand), orders,
                             torch.zeros(4, 3))
    assert torch.allclose(shipped[:, 1:], orders[:, 1:])  # never scaled down: feasible
    assert pol.config["allocation"] == "softmax"
    with pytest.raises(ConfigError, match="allocation"):
        make_policy("mlp", net, allocation="greedy")


def test_pathwise_gradient_matches_finite_differences() -> None:
    net = single_store(5.0, 1.6, h=1.0, p=9.0, lead=2, lost_sales=True)
    sim = Simulator(net, dtype=torch.float64)
    demand = sim.sample_demand(256, 30, seed=3).double()
    policy = BaseStockPolicy(np.array([15.3])).double()

    def loss_at(level: float) -> float:
        with torch.no_grad():
            policy.levels.fill_(level)
            return float(sim.rollout(policy, demand,
                                     generator=torch.Generator().manual_seed(1)).loss())

    policy.levels.data.fill_(15.3)
    loss = sim.rollout(policy, demand, generator=torch.Generator().manual_seed(1)).loss()
    loss.backward()
    eps = 1e-4
    fd = (loss_at(15.3 + eps) - loss_at(15.3 - eps)) / (2 * eps)
    assert policy.levels.grad.item() == pytest.approx(fd, rel=1e-3, abs=1e-6)


def test_gnn_runs_on_networks_of_any_size() -> None:
    pol = make_policy("gnn", one_warehouse(2))
    for n in (2, 5, 11):
        net = one_warehouse(n)
        sim = Simulator(net)
        orders = pol(sim.initial_state(8, torch.Generator().manual_seed(0)), sim)
        assert orders.shape == (8, n + 1)


def test_demand_sampling_is_seeded_and_correlated() -> None:
    model = DemandModel("normal", np.array([5.0, 5.0]), np.array([2.0, 2.0]), correlation=0.5)
    a = model.sample(20000, 3, torch.Generator().manual_seed(0))
    b = model.sample(20000, 3, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    corr = np.corrcoef(a[:, 0, :].flatten().numpy(), a[:, 1, :].flatten().numpy())[0, 1]
    assert corr == pytest.approx(0.5, abs=0.03)
    assert torch.all(a >= 0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"holding": np.array([-1.0, 1.0, 1.0])}, "holding"),
        ({"lead_time": np.array([0, 1, 1])}, "lead_time"),
        ({"parent": np.array([-1, 0, 7])}, "parent"),
        ({"parent": np.array([2, 0, 1])}, "parent"),
        ({"underage": np.array([0.0, 0.0, 4.0])}, "underage"),
    ],
)
def test_bad_networks_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(InvalidInstanceError, match=f"^{field}"):
        one_warehouse(2).with_(**changes)


def test_bad_demand_is_refused() -> None:
    with pytest.raises(InvalidInstanceError, match="demand.data"):
        DemandModel("array", np.array([5.0]), data=np.full((4, 1, 10), np.nan))
    with pytest.raises(InvalidInstanceError, match="demand.data"):
        DemandModel("array", np.array([5.0, 5.0]), data=np.ones((4, 1, 10)))
    with pytest.raises(InvalidInstanceError, match="demand.std"):
        DemandModel("normal", np.array([5.0, 5.0]), np.array([1.0]))
    with pytest.raises(InvalidInstanceError, match="demand.mean"):
        DemandModel("poisson", np.array([-1.0]))
    with pytest.raises(InvalidInstanceError, match="^demand"):
        one_warehouse(2).with_(demand=DemandModel("poisson", np.array([5.0])))


def test_array_demand_is_replayed() -> None:
    data = np.arange(2 * 1 * 6, dtype=float).reshape(2, 1, 6)
    net = single_store(5.0, None, 1.0, 4.0, 1, demand="poisson").with_(
        demand=DemandModel("array", np.array([5.0]), data=data))
    demand = Simulator(net).sample_demand(5, 6, seed=0)
    assert demand.shape == (5, 1, 6)
    assert all(any(np.array_equal(row[0], d[0]) for d in data) for row in demand.numpy())


def test_network_file_round_trip(tmp_path) -> None:
    net = one_warehouse(3)
    for name in ("net.json", "net.yaml"):
        path = net.save(tmp_path / name)
        again = InventoryNetwork.load(path)
        assert again.to_dict() == net.to_dict()
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidInstanceError, match="^path"):
        InventoryNetwork.load(tmp_path / "bad.json")
    (tmp_path / "missing.json").write_text('{"parent": [-1]}')
    with pytest.raises(InvalidInstanceError, match="missing"):
        InventoryNetwork.load(tmp_path / "missing.json")


def test_echelon_levels_start_near_the_clark_scarf_optimum() -> None:
    from orlearn.problems.inventory.settings import serial

    levels = make_policy("echelon_stock", serial(4)).levels.detach().numpy()
    optimum = np.array([83.2, 72.8, 49.0, 32.35])  # references.serial_echelon_optimum
    assert np.all(np.diff(levels) < 0)  # an echelon holds everything below it
    np.testing.assert_allclose(levels, optimum, rtol=0.06)
