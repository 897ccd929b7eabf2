"""Inventory networks with HDPO (hindsight differentiable policy optimization).

>>> from orlearn.problems.inventory import settings, make_policy, train, evaluate, HDPOConfig
>>> net = settings.one_store_lost(p=9, lead=2)                   # doctest: +SKIP
>>> result = train(net, make_policy("mlp", net), HDPOConfig(epochs=50))  # doctest: +SKIP
>>> evaluate(net, result.policy)                                  # doctest: +SKIP
"""

from orlearn.problems.inventory.hdpo import HDPOConfig, TrainResult, evaluate, train
from orlearn.problems.inventory.network import DemandModel, InventoryNetwork, single_store
from orlearn.problems.inventory.policies import (
    POLICIES,
    BaseStockPolicy,
    CappedBaseStockPolicy,
    EchelonStockPolicy,
    GNNPolicy,
    MLPPolicy,
    NewsvendorPolicy,
    make_policy,
)
from orlearn.problems.inventory.simulator import Rollout, SimState, Simulator

__all__ = [
    "POLICIES",
    "BaseStockPolicy",
    "CappedBaseStockPolicy",
    "DemandModel",
    "EchelonStockPolicy",
    "GNNPolicy",
    "HDPOConfig",
    "InventoryNetwork",
    "MLPPolicy",
    "NewsvendorPolicy",
    "Rollout",
    "SimState",
    "Simulator",
    "TrainResult",
    "evaluate",
    "make_policy",
    "single_store",
    "train",
]
