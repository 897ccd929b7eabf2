"""Fill the ``window_bound`` tasks of a lot-sizing suite scenario by scenario, round-robin
over the configurations, so that a run stopped early covers every configuration.

Run: python benchmarks/lotsizing_window_bounds.py lotsizing-short --out results [--only 20x10]

Each scenario's unit is computed by the task's own code
(:func:`orlearn.problems.lotsizing.bench.window_bound_unit`) and stored in the task's partial
results (``<out>/<suite>/partial/<task_id>.jsonl``), exactly as ``orlearn bench`` would store
it; units already there are skipped. ``orlearn bench <suite> --only window_bound`` afterwards
reads them back and writes the finished records.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from orlearn.bench import PartialResults, get_suite
    from orlearn.bench.partial import partial_path
    from orlearn.problems.lotsizing.bench import task_scenarios, window_bound_unit

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suite")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--only", default=None, help="comma-separated configurations")
    args = parser.parse_args()
    suite = get_suite(args.suite)
    tasks = [t for t in suite.tasks if t.method == "window_bound"
             and (args.only is None or t.instance in args.only.split(","))]
    folder = args.out / suite.name / "partial"
    jobs = []
    for task in tasks:
        setting, demand = task_scenarios(task)
        store = PartialResults(partial_path(folder, task))
        jobs.append((task, setting, demand, store, set(store.load())))
    for k in range(max(len(d) for _, _, d, _, _ in jobs)):
        for task, setting, demand, store, done in jobs:
            if k >= len(demand) or str(k) in done:
                continue
            start = time.perf_counter()
            unit = store.put(str(k), window_bound_unit(setting, demand[k], dict(task.options)))
            bound = unit["bound"]
            print(f"{task.instance} scenario {k}: bound "
                  f"{'-' if np.isnan(bound) else f'{bound:.1f}'} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
