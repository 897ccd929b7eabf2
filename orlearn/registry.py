"""The one table that maps names to problems, suites and CLI commands.

The CLI and the benchmark harness read this registry and have no per-problem code paths. Entries
are ``"module:attribute"`` strings, imported only when used, so that ``orlearn --help`` stays fast
and benchmark workers (local processes or Ray) can resolve them in a fresh interpreter.

A problem module adds itself by adding lines here:

* ``PROBLEMS[name]``: the task runner, ``run_task(task: Task) -> TaskOutcome``.
* ``SUITES[name]``: a :class:`SuiteSpec` whose factory ``make(seed: int) -> Suite`` builds the
  tasks; ``quick=True`` puts its tasks in the ``quick`` demo suite.
* ``COMMANDS[group][problem]``: a ``typer.Typer`` app or a function added under
  ``orlearn <group> <problem>`` (groups: ``train``, ``generate``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from orlearn.errors import ConfigError


@dataclass(frozen=True)
class SuiteSpec:
    """A named benchmark suite: where its factory lives, what it is, whether it joins ``quick``."""

    name: str
    factory: str
    description: str
    quick: bool = False


PROBLEMS: dict[str, str] = {
    "milp": "orlearn.problems.milp:run_task",
    "selftest": "orlearn.bench.selftest:run_task",
    "inventory": "orlearn.problems.inventory.bench:run_task",
    "lotsizing": "orlearn.problems.lotsizing.bench:run_task",
    "hydro": "orlearn.problems.hydro.bench:run_task",
    "branching": "orlearn.problems.branching.bench:run_task",
    "routing": "orlearn.problems.routing.bench:run_task",
}

#: Optional problem-specific report: ``report(records) -> (markdown, DataFrame)`` over the
#: latest records of the problem's tasks; written next to the generic summary.
REPORTS: dict[str, str] = {
    "branching": "orlearn.problems.branching.bench:report",
    "routing": "orlearn.problems.routing.bench:report",
}

SUITES: dict[str, SuiteSpec] = {
    spec.name: spec
    for spec in [
        SuiteSpec(
            "milp-quick",
            "orlearn.problems.milp:quick_suite",
            "small self-made MILPs (knapsack, assignment, facility location) with HiGHS and SCIP",
            quick=True,
        ),
        SuiteSpec(
            "milp-medium",
            "orlearn.problems.milp:medium_suite",
            "larger generated MILPs (knapsack 200-1000 items, facility location 14x60)",
        ),
        SuiteSpec(
            "inventory-quick",
            "orlearn.problems.inventory.bench:quick_suite",
            "inventory (HDPO): one store, backlog and lost sales, briefly trained",
            quick=True,
        ),
        SuiteSpec(
            "inventory-paper",
            "orlearn.problems.inventory.bench:paper_suite",
            "inventory (HDPO) paper tables: one store backlog/lost sales, serial, transshipment",
        ),
        SuiteSpec(
            "inventory-lost-sales",
            "orlearn.problems.inventory.bench:lost_sales_suite",
            "inventory (HDPO): one store, lost sales, 16 (p, L) cases vs the optimum",
        ),
        SuiteSpec(
            "inventory-backlog",
            "orlearn.problems.inventory.bench:backlog_suite",
            "inventory (HDPO): one store, backlog, 6 lead times vs the closed form",
        ),
        SuiteSpec(
            "inventory-networks",
            "orlearn.problems.inventory.bench:network_suite",
            "inventory (HDPO): serial 4 stages and transshipment 3 stores",
        ),
        SuiteSpec(
            "inventory-networks-large",
            "orlearn.problems.inventory.bench:large_network_suite",
            "inventory (HDPO): transshipment 5/10 stores, two warehouses x 10 stores",
        ),
        SuiteSpec(
            "inventory-warehouse",
            "orlearn.problems.inventory.bench:warehouse_suite",
            "inventory (HDPO): GNN vs MLP at 128/1,024/8,192 training paths, one warehouse",
        ),
        SuiteSpec(
            "inventory-warehouse-small",
            "orlearn.problems.inventory.bench:warehouse_small_suite",
            "inventory (HDPO): the warehouse data-efficiency sweep cut to 2 CPU cores",
        ),
        SuiteSpec(
            "lotsizing-quick",
            "orlearn.problems.lotsizing.bench:quick_suite",
            "lot-sizing: PPO and PDPPO briefly trained vs perfect-information and "
            "rolling-horizon MILPs",
            quick=True,
        ),
        SuiteSpec(
            "lotsizing-paper",
            "orlearn.problems.lotsizing.bench:paper_suite",
            "lot-sizing (PDPPO study): 4 configurations, 5 seeds, 1M steps, MILP baselines",
        ),
        SuiteSpec(
            "lotsizing-short",
            "orlearn.problems.lotsizing.bench:short_suite",
            "lot-sizing (PDPPO study) cut to 2 cores: 300k steps per run, same seeds and "
            "baselines",
        ),
        SuiteSpec(
            "hydro-quick",
            "orlearn.problems.hydro.bench:quick_suite",
            "hydro: synthetic 3-plant cascade; SDDP, TS-DDR, TS-LDR, myopic, wait-and-see",
            quick=True,
        ),
        SuiteSpec(
            "hydro-bolivia",
            "orlearn.problems.hydro.bench:bolivia_suite",
            "hydro (TS-DDR study): Bolivian system, SDDP vs TS-DDR vs TS-LDR vs myopic vs "
            "the wait-and-see bound on 100 paths",
        ),
        SuiteSpec(
            "branching-quick",
            "orlearn.problems.branching.bench:quick_suite",
            "branching: small set cover, shipped GCNN vs relpscost and pscost",
            quick=True,
        ),
        SuiteSpec(
            "branching-gasse",
            "orlearn.problems.branching.bench:gasse_suite",
            "branching: Gasse et al. protocol, four families, easy+medium, 20 x 5 seeds",
        ),
        SuiteSpec(
            "branching-easy",
            "orlearn.problems.branching.bench:easy_suite",
            "branching: four families at easy size, 10 instances, 1 seed (2-core cut)",
        ),
        SuiteSpec(
            "branching-mixed",
            "orlearn.problems.branching.bench:mixed_suite",
            "branching: imitation accuracy, single vs mixed-distribution training",
        ),
        SuiteSpec(
            "routing-quick",
            "orlearn.problems.routing.bench:quick_suite",
            "routing: shipped BQ policies, greedy, on 16 TSP100, 8 CVRP100, 32 KP200",
            quick=True,
        ),
        SuiteSpec(
            "routing-tsp",
            "orlearn.problems.routing.bench:tsp_suite",
            "routing: TSP100 (1,000), TSP200/500/1000 (128): BQ greedy/beam 16 vs LKH-3, "
            "OR-Tools, insertion",
        ),
        SuiteSpec(
            "routing-cvrp",
            "orlearn.problems.routing.bench:cvrp_suite",
            "routing: CVRP100 (200), CVRP200/500/1000 (64): BQ vs PyVRP, OR-Tools, savings",
        ),
        SuiteSpec(
            "routing-kp",
            "orlearn.problems.routing.bench:kp_suite",
            "routing: KP200 (1,000): BQ greedy/beam 16 vs the exact MILP and the ratio greedy",
        ),
        SuiteSpec(
            "routing-cpu",
            "orlearn.problems.routing.bench:cpu_suite",
            "routing: the leading chunks of routing-tsp/-cvrp/-kp (2-core cut, shared "
            "references)",
        ),
        SuiteSpec(
            "routing-tsplib",
            "orlearn.problems.routing.bench:tsplib_suite",
            "routing: TSPLIB files (--folder, default ../shared/data/tsplib/tsp) vs optima",
        ),
        SuiteSpec(
            "routing-cvrplib",
            "orlearn.problems.routing.bench:cvrplib_suite",
            "routing: CVRPLIB files (--folder, default ../shared/data/cvrplib/X) vs best-known",
        ),
        SuiteSpec(
            "selftest",
            "orlearn.bench.selftest:selftest_suite",
            "synthetic tasks that test the harness (one fails on purpose)",
        ),
    ]
}

COMMANDS: dict[str, dict[str, str]] = {
    "train": {
        "inventory": "orlearn.problems.inventory.bench:train_command",
        "lotsizing": "orlearn.problems.lotsizing.bench:train_command",
        "hydro": "orlearn.problems.hydro.bench:train_command",
        "branching": "orlearn.problems.branching.bench:train_command",
        "routing": "orlearn.problems.routing.cli:train_command",
    },
    "generate": {
        "milp": "orlearn.problems.milp:generate_command",
        "branching": "orlearn.problems.branching.bench:generate_command",
        "routing": "orlearn.problems.routing.cli:generate_command",
    },
}


def resolve(target: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise ConfigError(f"registry entry {target!r} must look like 'package.module:attribute'")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise ConfigError(f"registry entry {target!r}: {module_name} has no {attribute!r}") from exc


def problem_runner(problem: str) -> Any:
    """The task runner registered for ``problem``."""
    try:
        target = PROBLEMS[problem]
    except KeyError:
        known = ", ".join(sorted(PROBLEMS))
        raise ConfigError(f"unknown problem {problem!r}; known problems: {known}") from None
    return resolve(target)
