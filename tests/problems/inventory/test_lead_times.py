"""Lead times that vary across sample paths (HDPO's "vary across samples")."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from orlearn.errors import InvalidInstanceError
from orlearn.problems.inventory import (
    HDPOConfig,
    InventoryNetwork,
    SimState,
    Simulator,
    evaluate,
    make_policy,
    single_store,
    train,
)
from orlearn.problems.inventory.settings import one_store_lost


def order(quantity: float):
    def policy(state: SimState, sim: Simulator) -> torch.Tensor:
        return torch.full((state.inventory.shape[0], 1), quantity, dtype=state.inventory.dtype)
    return policy


def test_each_path_receives_its_order_after_its_own_lead_time() -> None:
    net = single_store(5.0, 1.0, h=1.0, p=9.0, lead=2, lost_sales=False, lead_range=(1, 3))
    sim = Simulator(net, dtype=torch.float64)
    assert sim.width == 3 and net.varying_lead_times
    state = SimState(torch.zeros(3, 1, 3, dtype=torch.float64))
    demand = torch.zeros(3, 1, 4, dtype=torch.float64)
    leads = torch.tensor([[1], [2], [3]])
    rollout = sim.rollout(order(4.0), demand, state=state, record=True, lead_times=leads)
    on_hand = torch.stack([s[:, 0, 0] for s in rollout.states], dim=1)
    # an order placed at t is on hand at the start of t + L; one order of 4 per period
    assert on_hand.tolist() == [[0, 4, 8, 12], [0, 0, 4, 8], [0, 0, 0, 4]]
    # holding cost on what is left after (zero) demand, period by period
    assert rollout.cost.tolist() == [[0, 4, 8, 12], [0, 0, 4, 8], [0, 0, 0, 4]]


def test_initial_pipeline_follows_each_paths_lead_time() -> None:
    net = single_store(5.0, 1.0, h=1.0, p=9.0, lead=2, lost_sales=False, lead_range=(1, 4))
    sim = Simulator(net, dtype=torch.float64)
    state = sim.initial_state(2, torch.Generator().manual_seed(0),
                              lead_times=torch.tensor([[1], [4]]))
    assert state.inventory[0, 0, 1:].tolist() == [0.0, 0.0, 0.0]
    assert state.inventory[1, 0, 1:].tolist() == [5.0, 5.0, 5.0]


def test_sampled_lead_times_are_seeded_and_cover_the_range() -> None:
    sim = Simulator(one_store_lost(9, 2, lead_range=(1, 4)))
    a, b = sim.sample_lead_times(2000, seed=3), sim.sample_lead_times(2000, seed=3)
    assert a is not None and torch.equal(a, b)
    assert a.shape == (2000, 1) and set(a.unique().tolist()) == {1, 2, 3, 4}
    assert not torch.equal(a, sim.sample_lead_times(2000, seed=4))
    assert Simulator(one_store_lost(9, 2)).sample_lead_times(10, seed=0) is None


def test_hdpo_trains_mlp_and_gnn_with_varying_lead_times() -> None:
    net = one_store_lost(9, 2, lead_range=(1, 3))
    for name in ("mlp", "gnn", "base_stock"):
        torch.manual_seed(0)
        policy = make_policy(name, net)
        config = HDPOConfig(epochs=2, train_paths=256, batch_paths=128, dev_paths=128,
                            dev_periods=60, patience=None, seed=0)
        result = train(net, policy, config, progress=False)
        cost, _ = evaluate(net, result.policy, n_paths=128, periods=300, warmup=100)
        assert 5.0 < cost < 12.0, name
    mlp = make_policy("mlp", net)
    assert mlp.net.in_dim == 3 + 1  # pipeline width 3 plus the path's lead time
    state = Simulator(net).initial_state(4, lead_times=torch.tensor([[1], [1], [3], [3]]))
    orders = mlp(state, Simulator(net))
    assert orders.shape == (4, 1) and not torch.allclose(orders[0], orders[2])


def test_network_file_round_trip_keeps_the_range(tmp_path) -> None:
    net = one_store_lost(4, 2, lead_range=(2, 3))
    again = InventoryNetwork.load(net.save(tmp_path / "n.json"))
    assert again.lead_time_range.tolist() == [[2, 3]]


def test_bad_lead_time_ranges_and_arrays() -> None:
    with pytest.raises(InvalidInstanceError, match="^lead_time_range.*nominal"):
        single_store(5.0, 1.0, 1.0, 9.0, lead=5, lead_range=(1, 3))
    with pytest.raises(InvalidInstanceError, match="^lead_time_range.*rows"):
        one_store_lost(9, 2).with_(lead_time_range=np.array([1, 3]))
    with pytest.raises(InvalidInstanceError, match="^lead_time_range"):
        single_store(5.0, 1.0, 1.0, 9.0, lead=1, lead_range=(0, 2))
    sim = Simulator(one_store_lost(9, 2))
    demand = sim.sample_demand(2, 5, seed=0)
    with pytest.raises(InvalidInstanceError, match="^lead_times.*shape"):
        sim.rollout(order(1.0), demand, lead_times=torch.tensor([[1, 2]]))
    with pytest.raises(InvalidInstanceError, match="^lead_times.*max_lead_time"):
        sim.rollout(order(1.0), demand, lead_times=torch.tensor([[1], [7]]))
    with pytest.raises(InvalidInstanceError, match="^lead_times.*whole"):
        sim.rollout(order(1.0), demand, lead_times=torch.tensor([[1.5], [2.0]]))
    longer = Simulator(one_store_lost(9, 2), max_lead_time=7)
    assert longer.rollout(order(1.0), demand, lead_times=torch.tensor([[1], [7]])).cost.shape \
        == (2, 5)
