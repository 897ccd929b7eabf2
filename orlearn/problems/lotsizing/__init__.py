"""Stochastic multi-item, multi-machine lot-sizing (the PDPPO study).

>>> from orlearn.problems.lotsizing import configuration, BatchLotSizingEnv, simulate
>>> setting = configuration("15x5", seed=0)
>>> demand = setting.sample_demand(100, seed=1)        # held-out scenarios [100, T, N]
>>> costs = simulate(setting, lambda obs, t: 0 * obs[:, setting.n_items:].astype(int), demand)
"""

from orlearn.problems.lotsizing.env import (
    BatchLotSizingEnv,
    LotSizingEnv,
    action_mask,
    decide,
    realise,
    simulate,
)
from orlearn.problems.lotsizing.settings import (
    CONFIGURATIONS,
    LotSizingSetting,
    configuration,
    generate,
)

__all__ = [
    "CONFIGURATIONS",
    "BatchLotSizingEnv",
    "LotSizingEnv",
    "LotSizingSetting",
    "action_mask",
    "configuration",
    "decide",
    "generate",
    "realise",
    "simulate",
]
