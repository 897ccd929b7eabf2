"""Capped base-stock under integer demand: continuous vs rounded orders, and a grid over
integer (level, cap) pairs (the check behind the lost-sales section of RESULTS.md).

Run: OMP_NUM_THREADS=1 python benchmarks/inventory_capped_integer.py [--p 4 --lead 4]

Trains the policy as the inventory-lost-sales suite does (seed 0), tests it with continuous
and rounded orders on the suite's test paths (seed 10000), then scores every integer pair of
a grid around the trained levels on separate paths.
"""

from __future__ import annotations

import argparse
import math

import torch

from orlearn.nn.training import seed_everything
from orlearn.problems.inventory.bench import _paper_options
from orlearn.problems.inventory.hdpo import HDPOConfig, evaluate, train
from orlearn.problems.inventory.policies import CappedBaseStockPolicy, make_policy
from orlearn.problems.inventory.settings import get_setting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--p", type=float, default=4.0)
    parser.add_argument("--lead", type=int, default=4)
    parser.add_argument("--test-paths", type=int, default=4096)
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = get_setting("one_store_lost", p=args.p, lead=args.lead)
    seed_everything(0)
    result = train(net, make_policy("capped_base_stock", net),
                   HDPOConfig(seed=0, **_paper_options("capped_base_stock")), progress=False)
    level, cap = float(result.policy.levels.detach()[0]), float(result.policy.caps.detach()[0])
    print(f"trained level {level:.3f}, cap {cap:.3f}")
    for integer in (False, True):
        mean, se = evaluate(net, result.policy, n_paths=args.test_paths, seed=10_000,
                            integer_orders=integer)
        print(f"test, {'rounded' if integer else 'continuous'} orders: {mean:.4f} +- {se:.4f}")
    scores = []
    for s in range(math.floor(level) - 3, math.floor(level) + 4):
        for c in range(max(1, math.floor(cap) - 1), math.floor(cap) + 3):
            mean, _ = evaluate(net, CappedBaseStockPolicy([float(s)], [float(c)]),
                               n_paths=2048, periods=2000, warmup=500, seed=777)
            scores.append((mean, s, c))
    for mean, s, c in sorted(scores)[:5]:
        print(f"integer level {s}, cap {c}: {mean:.4f} (seed 777, 2,048 x 2,000 periods)")


if __name__ == "__main__":
    main()
