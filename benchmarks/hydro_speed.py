"""Stage-LP re-solves per second on the Bolivian system (TS-DDR's and SDDP's hot loop).

Usage: python benchmarks/hydro_speed.py [--folder shared/data/hydro/bolivia] [--solves 5000]

Re-solves one persistent stage LP (highspy, warm) over sampled (stage, scenario) inflows and
random start volumes, with and without target rows, and reports solves per second.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from orlearn.problems.hydro.io import bolivia
from orlearn.problems.hydro.stage import StageLP


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folder", default=None)
    parser.add_argument("--solves", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    system = bolivia(args.folder)
    rng = np.random.default_rng(args.seed)
    stages = rng.integers(0, system.table_stages, args.solves)
    scen = rng.integers(0, system.n_scenarios, args.solves)
    low, high = system.min_volume, system.max_volume
    volumes = low + rng.uniform(0, 1, (args.solves, system.n_plants)) * (high - low)
    for label, targets in (("stage LP", False), ("stage LP with target rows", True)):
        lp = StageLP(system, targets=targets)
        start = time.perf_counter()
        for i in range(args.solves):
            inflow = system.inflows[stages[i], scen[i]]
            target = volumes[i] if targets else None
            lp.solve(volumes[i], inflow, target)
        seconds = time.perf_counter() - start
        print(f"{label}: {args.solves} re-solves in {seconds:.2f} s = "
              f"{args.solves / seconds:,.0f} per second ({lp.lp.num_rows} rows, "
              f"{lp.lp.num_cols} columns)")
    print(f"machine: {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}")


if __name__ == "__main__":
    main()
