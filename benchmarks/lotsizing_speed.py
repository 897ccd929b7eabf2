"""Vectorised lot-sizing environment throughput (item-periods per second).

Run: python benchmarks/lotsizing_speed.py [--envs 1024] [--periods 100]

Steps ``BatchLotSizingEnv`` with random masked actions on each configuration of the PDPPO
study; item-periods = copies x periods x items. The actions are drawn before timing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from orlearn.problems.lotsizing import CONFIGURATIONS, BatchLotSizingEnv, action_mask, configuration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", type=int, default=1024)
    parser.add_argument("--periods", type=int, default=100)
    args = parser.parse_args()
    print("| configuration | copies | item-periods per second | steps per second |")
    print("|---|---|---|---|")
    for name in CONFIGURATIONS:
        setting = configuration(name, seed=0)
        mask = action_mask(setting)
        rng = np.random.default_rng(0)
        actions = [np.stack([rng.choice(np.flatnonzero(mask[m]), size=args.envs)
                             for m in range(setting.n_machines)], axis=1)
                   for _ in range(args.periods)]
        env = BatchLotSizingEnv(setting, args.envs, seed=0)
        env.step(actions[0])
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        seconds = time.perf_counter() - start
        item_periods = args.envs * args.periods * setting.n_items / seconds
        print(f"| {name} | {args.envs} | {item_periods / 1e6:.2f} M | "
              f"{args.envs * args.periods / seconds / 1e3:.0f} k |", flush=True)


if __name__ == "__main__":
    main()
