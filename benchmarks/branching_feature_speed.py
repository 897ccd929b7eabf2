"""Cost of building the GCNN's bipartite state at a branch-and-bound node, per family.

    python benchmarks/branching_feature_speed.py --nodes 40 --size easy

For each of the four Gasse et al. families, test instance 0 of the generated distribution
(seed 0) is solved with pure pseudocost branching and the paper's settings; a branching rule
placed in front of it builds the state of each of the first ``nodes`` nodes whose LP is solved
with a solve-long cache (as :class:`orlearn.problems.branching.rules.GCNNBranchrule` does) and
lets pseudocost branch. It reports the CPU time (``time.process_time``, so another process on
the machine changes it little) per node of ``extract_state`` and of ``getLPColsData`` +
``getLPRowsData`` alone (the PySCIPOpt objects every node must fetch), the median over nodes
after the first (the first fills the cache), with the LP size.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pyscipopt

from orlearn.problems.branching.features import _LPCache, extract_state
from orlearn.problems.branching.instances import build_instance, instance_seed, write_instance
from orlearn.problems.branching.rules import _read_for_branching
from orlearn.solvers.scip import use_builtin_branching

FAMILIES = ("setcover", "cauctions", "facilities", "indset")


class _Timer(pyscipopt.Branchrule):
    def __init__(self, nodes: int) -> None:
        self.nodes = nodes
        self.cache = _LPCache()
        self.extract: list[float] = []
        self.fetch: list[float] = []
        self.size = (0, 0)

    def branchexeclp(self, allowaddcons: bool) -> dict[str, object]:
        model = self.model
        if len(self.extract) < self.nodes:
            start = time.process_time()
            cols, rows = model.getLPColsData(), model.getLPRowsData()
            middle = time.process_time()
            extract_state(model, self.cache)
            self.fetch.append(middle - start)
            self.extract.append(time.process_time() - middle)
            self.size = (len(cols), len(rows))
        else:
            model.interruptSolve()
        return {"result": pyscipopt.SCIP_RESULT.DIDNOTRUN}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=40)
    parser.add_argument("--size", default="easy")
    parser.add_argument("--families", default=",".join(FAMILIES))
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    print(f"# {platform.processor() or platform.machine()}, commit {commit}, size {args.size}")
    print("| family | LP columns x rows | nodes | extract_state (ms CPU) "
          "| the two list fetches alone (ms CPU) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for family in args.families.split(","):
            seed = instance_seed(family, args.size, "test", 0, 0)
            path = write_instance(build_instance(family, args.size, seed),
                                  Path(folder) / f"{family}.mps")
            model = _read_for_branching(path, seed=0, time_limit=3600)
            use_builtin_branching(model, "pscost", priority=10**6 - 1)
            rule = _Timer(args.nodes)
            model.includeBranchrule(rule, "timer", "feature timing", 10**6, -1, 1.0)
            model.optimize()
            later = rule.extract[1:] or rule.extract
            fetch = rule.fetch[1:] or rule.fetch
            print(f"| {family} | {rule.size[0]} x {rule.size[1]} | {len(rule.extract)} | "
                  f"{1000 * statistics.median(later):.1f} | "
                  f"{1000 * statistics.median(fetch):.1f} |", flush=True)


if __name__ == "__main__":
    main()
