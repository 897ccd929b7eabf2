"""Routing benchmarks: fixed seeded test sets, stored references, BQ vs exact and heuristics.

A generated test set is named like ``tsp100`` and defined by ``(problem, n, count, seed)``;
its instances are generated on the fly (so nothing large is stored). Tasks cover chunks of a
set (``start:stop``) so that an interrupted run loses at most one chunk per worker, and a BQ
task decodes its whole chunk as one batch.

References are computed once per chunk with the set's expert (LKH-3 through elkai for the
TSP, PyVRP's HGS with a stated time limit for the CVRP, the exact MILP for the KP) and stored
as JSON under ``benchmarks/routing/references/`` in a source checkout (committed with the
suite), else under ``results/routing/references/``. A rerun reads them instead of solving
again. The gap of a method on an instance is ``(cost - reference) / reference`` in % (for the
KP ``(reference - value) / reference``); the tables report the mean over instances.

Folder suites (``routing-tsplib``, ``routing-cvrplib``) take a folder of TSPLIB ``.tsp`` or
CVRPLIB ``.vrp`` files with an ``optima.csv`` (``name,optimum,source``) next to them or in
the parent folder; ``orlearn bench routing-tsplib --folder ../shared/data/tsplib/tsp``.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from orlearn.errors import ConfigError, InvalidInstanceError

EXPERT = {"tsp": ("lkh", {}), "cvrp": ("pyvrp", None), "kp": ("exact", {})}
"""Reference method per problem (the CVRP time limit is per set: 0.05 s per customer)."""

DEFAULT_TSPLIB = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "tsplib" / "tsp"
DEFAULT_CVRPLIB = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "cvrplib" / "X"


@dataclass(frozen=True)
class TestSet:
    """A seeded generated test set: ``count`` instances of ``problem`` at size ``n``."""

    problem: str
    n: int
    count: int
    chunk: int
    knn: int | None = None

    @property
    def name(self) -> str:
        return f"{self.problem}{self.n}"

    def reference_options(self) -> dict[str, Any]:
        options = EXPERT[self.problem][1]
        if options is None:
            return {"time_limit": round(0.05 * self.n, 3), "seed": 0}
        return dict(options)


#: The issue's test sets: TSP100 1,000; TSP200/500/1000 128 each; CVRP100 200;
#: CVRP200/500/1000 64 each; KP200 1,000. kNN windows of 100 nodes above 200 nodes.
TEST_SETS = {
    s.name: s
    for s in [
        TestSet("tsp", 100, 1000, 100),
        TestSet("tsp", 200, 128, 32),
        TestSet("tsp", 500, 128, 16, knn=100),
        TestSet("tsp", 1000, 128, 8, knn=100),
        TestSet("cvrp", 100, 200, 25),
        TestSet("cvrp", 200, 64, 16),
        TestSet("cvrp", 500, 64, 8, knn=100),
        TestSet("cvrp", 1000, 64, 4, knn=100),
        TestSet("kp", 200, 1000, 250),
    ]
}

TEST_SEED_OFFSET = 1_000_000
"""Test sets use seed ``TEST_SEED_OFFSET + suite seed``: never a training seed."""


def reference_dir() -> Path:
    """``benchmarks/routing/references`` of a source checkout, else ``results/...``."""
    repo = Path(__file__).resolve().parents[3] / "benchmarks"
    if repo.is_dir():
        return repo / "routing" / "references"
    return Path("results") / "routing" / "references"


# ----------------------------------------------------------------------------- instances


def set_instances(params: dict[str, Any]) -> list[Any]:
    """The instances ``start:stop`` of the generated test set described by ``params``."""
    from orlearn.problems.routing.instances import (
        CVRPInstance,
        KPInstance,
        TSPInstance,
        generate_cvrp_arrays,
        generate_kp_arrays,
        generate_tsp_coords,
    )

    problem, n, count, seed = params["problem"], params["n"], params["count"], params["seed"]
    start, stop = params["start"], params["stop"]
    names = [f"{problem}{n}-s{seed}-{i}" for i in range(start, stop)]
    if problem == "tsp":
        coords = generate_tsp_coords(n, count, seed)[start:stop]
        return [TSPInstance(c, name=nm) for c, nm in zip(coords, names, strict=True)]
    if problem == "cvrp":
        coords, demands, cap = generate_cvrp_arrays(n, count, seed)
        return [CVRPInstance(c, d, cap, name=nm) for c, d, nm in
                zip(coords[start:stop], demands[start:stop], names, strict=True)]
    if problem == "kp":
        values, weights, cap = generate_kp_arrays(n, count, seed)
        return [KPInstance(v, w, cap, name=nm) for v, w, nm in
                zip(values[start:stop], weights[start:stop], names, strict=True)]
    raise ConfigError(f"unknown routing problem {problem!r}")


def _stored_costs(path: Path, method: str, options: dict[str, Any]) -> list[float] | None:
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("method") == method and stored.get("options") == options:
            return [float(c) for c in stored["costs"]]
    return None


@contextlib.contextmanager
def _chunk_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock named after ``path`` (in the temp folder; POSIX ``flock``).

    Parallel workers on one machine then compute a chunk's reference once: the suites list
    every method of a chunk together, so two workers often start on one chunk at once; the
    second waits and reads the stored costs. Without ``fcntl`` (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "orlearn-locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"reference-{digest}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_references(params: dict[str, Any], instances: list[Any] | None = None) -> list[float]:
    """Reference costs of a chunk: read from the store, else computed once and stored
    (under a per-chunk lock, so parallel workers on one machine do not compute it twice)."""
    from orlearn._files import atomic_write
    from orlearn.problems.routing.baselines import solve

    folder = reference_dir() / f"{params['set']}-s{params['seed']}"
    path = folder / f"{params['start']:05d}-{params['stop']:05d}.json"
    method, options = params["reference_method"], params["reference_options"]
    costs = _stored_costs(path, method, options)
    if costs is not None:
        return costs
    with _chunk_lock(path):
        costs = _stored_costs(path, method, options)  # another worker may have stored it
        if costs is not None:
            return costs
        instances = instances if instances is not None else set_instances(params)
        started = time.perf_counter()
        costs = []
        for inst in instances:
            sol = solve(inst, method, **options)
            if not sol.feasible:
                raise InvalidInstanceError("reference", f"{method} failed on {inst.name}")
            costs.append(sol.objective)
        record = {"set": params["set"], "seed": params["seed"], "start": params["start"],
                  "stop": params["stop"], "method": method, "options": options,
                  "costs": costs, "seconds": time.perf_counter() - started}
        atomic_write(path, json.dumps(record).encode("utf-8"))
    return costs


# ----------------------------------------------------------------------------- tasks


def _bq_options(method: str, options: dict[str, Any]) -> dict[str, Any]:
    beam = 1 if method == "bq-greedy" else int(method.removeprefix("bq-beam"))
    return {"beam": beam, "knn": options.get("knn"), "checkpoint": options.get("checkpoint"),
            "device": options.get("device")}


def _run_bq(instances: list[Any], method: str, options: dict[str, Any]) -> tuple[list[Any], float]:
    """Decode a chunk as one batch; returns solutions and the total decoding time."""
    import torch

    from orlearn.problems.routing.bq import cached_policy, decode_cvrp, decode_kp, decode_tsp
    from orlearn.problems.routing.instances import CVRPInstance, KPInstance
    from orlearn.problems.routing.solution import make_solution

    torch.set_num_threads(int(options.get("threads", 1)))
    opts = _bq_options(method, options)
    first = instances[0]
    batch = int(options.get("batch_size", 64))
    if isinstance(first, KPInstance):
        model = cached_policy(opts["checkpoint"], "kp", opts["device"])
        start = time.perf_counter()
        decisions = decode_kp(model, np.stack([i.values for i in instances]),
                              np.stack([i.weights for i in instances]), first.capacity,
                              beam=opts["beam"], batch_size=batch)
        key = "items"
    elif isinstance(first, CVRPInstance):
        model = cached_policy(opts["checkpoint"], "cvrp", opts["device"])
        start = time.perf_counter()
        decisions = decode_cvrp(model, np.stack([i.coords for i in instances]),
                                np.stack([i.demands for i in instances]), first.capacity,
                                beam=opts["beam"], knn=opts["knn"], batch_size=batch)
        key = "routes"
    else:
        model = cached_policy(opts["checkpoint"], "tsp", opts["device"])
        start = time.perf_counter()
        decisions = list(decode_tsp(model, np.stack([i.coords for i in instances]),
                                    beam=opts["beam"], knn=opts["knn"], batch_size=batch))
        key = "tour"
    elapsed = time.perf_counter() - start
    each = elapsed / len(instances)
    info = {"beam": opts["beam"], "knn": opts["knn"]}
    return [make_solution(inst, "bq", **{key: d}, time=each, info=info)
            for inst, d in zip(instances, decisions, strict=True)], elapsed


def _run_method(instances: list[Any], method: str, options: dict[str, Any]
                ) -> tuple[list[Any], float]:
    from orlearn.problems.routing.baselines import solve

    if method.startswith("bq-"):
        return _run_bq(instances, method, options)
    solutions = [solve(inst, method, **options) for inst in instances]
    return solutions, float(sum(s.time for s in solutions))


def run_task(task: Any) -> Any:
    """Run one routing task: a chunk of a generated set, or one standard file."""
    from orlearn.bench import TaskOutcome

    params = dict(task.params)
    options = dict(task.options)
    if "file" in params:
        from orlearn.problems.routing.io import read_instance

        instance = read_instance(params["file"])
        if task.method.startswith("bq-") and getattr(instance, "n", 0) > 200:
            options.setdefault("knn", 100)
        solutions, elapsed = _run_method([instance], task.method, options)
        sol = solutions[0]
        return TaskOutcome(objective=sol.objective if sol.feasible else None,
                           feasible=sol.feasible, time=elapsed,
                           extra={"set": params.get("set"), "n": instance.n,
                                  "gaps": [_gap(sol.objective, task.reference, task.sense)],
                                  "instances": 1, "feasible_count": int(sol.feasible)})
    instances = set_instances(params)
    references = ensure_references(params, instances)
    if task.method.startswith("bq-") and params.get("knn"):
        options.setdefault("knn", params["knn"])
    solutions, elapsed = _run_method(instances, task.method, options)
    feasible = [s.feasible for s in solutions]
    objective = [s.objective for s in solutions]
    gaps = [_gap(o, r, task.sense) if f else None
            for o, r, f in zip(objective, references, feasible, strict=True)]
    ok = all(feasible)
    return TaskOutcome(
        objective=float(np.mean(objective)) if ok else None,
        feasible=ok,
        time=elapsed,
        reference=float(np.mean(references)),
        reference_kind="best-known",
        extra={"set": params["set"], "n": params["n"], "instances": len(instances),
               "feasible_count": int(sum(feasible)), "gaps": gaps,
               "reference_method": params["reference_method"]},
    )


def _gap(objective: float, reference: float | None, sense: str) -> float | None:
    """The harness's relative gap (:func:`orlearn.bench.tasks.gap`) in percent."""
    from orlearn.bench.tasks import gap

    relative = gap(objective, reference, sense)
    return None if relative is None else 100.0 * relative


# ----------------------------------------------------------------------------- suites


def _set_tasks(test_set: TestSet, methods: dict[str, dict[str, Any]], seed: int,
               count: int | None = None) -> list[Any]:
    from orlearn.bench import Task

    method, _ = EXPERT[test_set.problem]
    ref_options = test_set.reference_options()
    total = test_set.count if count is None else count
    tasks = []
    for start in range(0, total, test_set.chunk):
        stop = min(start + test_set.chunk, total)
        params = {"set": test_set.name, "problem": test_set.problem, "n": test_set.n,
                  "count": test_set.count, "seed": TEST_SEED_OFFSET + seed, "start": start,
                  "stop": stop, "knn": test_set.knn, "reference_method": method,
                  "reference_options": ref_options}
        for name, options in methods.items():
            tasks.append(Task("routing", f"{test_set.name}[{start}:{stop}]", name,
                              options=dict(options), params=params,
                              sense="max" if test_set.problem == "kp" else "min"))
    return tasks


BQ_METHODS = {"bq-greedy": {}, "bq-beam16": {}}


def _suite(name: str, description: str, tasks: list[Any]) -> Any:
    from orlearn.bench import Suite

    return Suite(name, tasks, description)


def tsp_suite(seed: int = 0) -> Any:
    """TSP100 (1,000), TSP200/500/1000 (128 each): BQ greedy / beam 16 vs LKH-3, OR-Tools,
    farthest insertion, nearest neighbour."""
    tasks = []
    for name in ("tsp100", "tsp200", "tsp500", "tsp1000"):
        methods = {**BQ_METHODS, "lkh": {}, "insertion": {}, "nearest": {}}
        if name in ("tsp100", "tsp200"):
            methods["ortools"] = {"time_limit": 1.0}
        tasks += _set_tasks(TEST_SETS[name], methods, seed)
    return _suite("routing-tsp", "TSP 100-1000: BQ vs LKH-3, OR-Tools, insertion", tasks)


def cvrp_suite(seed: int = 0) -> Any:
    """CVRP100 (200), CVRP200/500/1000 (64 each): BQ vs PyVRP (0.05 s per customer, the
    reference), OR-Tools, savings and nearest neighbour."""
    tasks = []
    for name in ("cvrp100", "cvrp200", "cvrp500", "cvrp1000"):
        methods = {**BQ_METHODS, "savings": {}, "nearest": {}}
        if name == "cvrp100":
            methods["ortools"] = {"time_limit": 1.0}
        tasks += _set_tasks(TEST_SETS[name], methods, seed)
    return _suite("routing-cvrp", "CVRP 100-1000: BQ vs PyVRP (reference), OR-Tools, savings",
                  tasks)


def kp_suite(seed: int = 0) -> Any:
    """KP200 (1,000 instances): BQ greedy / beam 16 vs the exact MILP and the ratio greedy."""
    tasks = _set_tasks(TEST_SETS["kp200"], {**BQ_METHODS, "greedy": {}}, seed)
    return _suite("routing-kp", "knapsack 200 items: BQ vs exact MILP and ratio greedy", tasks)


CPU_CUT = {"tsp100": 200, "tsp200": 32, "tsp500": 16, "tsp1000": 8, "cvrp100": 50,
           "cvrp200": 16, "kp200": 250}
"""Instances per set in ``routing-cpu``: whole leading chunks of the full sets, so that the
two suites share their stored references."""


def cpu_suite(seed: int = 0) -> Any:
    """The 2-core cut of routing-tsp/-cvrp/-kp: the first chunks of each set (see CPU_CUT),
    same methods, same references."""
    tasks = []
    full = {t.task_id: t for s in (tsp_suite(seed), cvrp_suite(seed), kp_suite(seed))
            for t in s.tasks}
    for task in full.values():
        limit = CPU_CUT.get(task.params["set"])
        if limit is not None and task.params["stop"] <= limit:
            tasks.append(task)
    return _suite("routing-cpu", "routing-tsp/-cvrp/-kp cut to a 2-core CPU: "
                  + ", ".join(f"{k} {v}" for k, v in CPU_CUT.items()), tasks)


def quick_suite(seed: int = 0) -> Any:
    """A slice of each set for the demo: 16 TSP100, 8 CVRP100, 32 KP200 with BQ greedy."""
    tasks = []
    for name, count, extra in (("tsp100", 16, {"insertion": {}}),
                               ("cvrp100", 8, {"savings": {}}),
                               ("kp200", 32, {"greedy": {}})):
        base = TEST_SETS[name]
        small = TestSet(base.problem, base.n, base.count, count, base.knn)
        tasks += _set_tasks(small, {"bq-greedy": {}, **extra}, seed, count=count)
    return _suite("routing-quick", "routing: BQ greedy on 16 TSP100, 8 CVRP100, 32 KP200", tasks)


def _read_optima(folder: Path) -> dict[str, float]:
    from orlearn.problems.routing.io import load_optima

    for candidate in (folder / "optima.csv", folder.parent / "optima.csv"):
        if candidate.exists():
            return load_optima(candidate)
    raise InvalidInstanceError("folder", f"no optima.csv in {folder} or its parent",
                               "add a CSV with columns name,optimum,source")


def _file_suite(name: str, folder: str | os.PathLike[str] | None, default: Path,
                pattern: str, methods: dict[str, dict[str, Any]], max_n: int,
                coords_only: bool) -> Any:
    from orlearn.bench import Task
    from orlearn.problems.routing.io import read_instance

    root = Path(folder) if folder is not None else default
    if not root.is_dir():
        raise InvalidInstanceError("folder", f"{root} is not a folder",
                                   "pass --folder with TSPLIB/CVRPLIB files")
    optima = _read_optima(root)
    tasks = []
    skipped = []
    for path in sorted(root.glob(pattern)):
        stem = path.name.split(".")[0]
        if stem not in optima:
            continue
        try:
            inst = read_instance(path)
        except InvalidInstanceError as err:  # another problem (FIXED_EDGES_SECTION) or malformed
            skipped.append(f"{path.name} ({err})")
            continue
        if inst.n > max_n or (coords_only and (inst.coords is None
                                               or inst.edge_weight_type == "EXPLICIT")):
            continue
        kind = "cvrp" if pattern.endswith(".vrp") else "tsp"
        for method, options in methods.items():
            tasks.append(Task("routing", str(path.resolve()), method, options=dict(options),
                              reference=optima[stem], reference_kind="best-known",
                              params={"file": str(path.resolve()), "set": f"{name}",
                                      "problem": kind}))
    if not tasks:
        raise InvalidInstanceError("folder", f"no {pattern} files with known optima in {root}")
    description = f"{pattern} files of {root} against their known optima"
    if skipped:
        note = (f"skipped {len(skipped)} file(s) the reader rejects (unsupported or malformed): "
                f"{'; '.join(skipped)}")
        warnings.warn(f"{name}: {note}", stacklevel=3)
        description += f"; {note}"
    return _suite(name, description, tasks)


def tsplib_suite(seed: int = 0, folder: str | None = None) -> Any:
    """TSPLIB files with coordinates (<= 1,002 nodes) vs their optima: BQ, LKH-3, insertion."""
    return _file_suite("routing-tsplib", folder, DEFAULT_TSPLIB, "*.tsp",
                       {**BQ_METHODS, "lkh": {}, "insertion": {}}, 1002, True)


def cvrplib_suite(seed: int = 0, folder: str | None = None) -> Any:
    """CVRPLIB X instances vs best-known: BQ greedy / beam 16, PyVRP (10 s), savings."""
    return _file_suite("routing-cvrplib", folder, DEFAULT_CVRPLIB, "*.vrp",
                       {**BQ_METHODS, "pyvrp": {"time_limit": 10.0}, "savings": {}}, 1001, True)


# ----------------------------------------------------------------------------- report


SIZE_BANDS = (100, 200, 500)
"""Upper node counts of the size bands a file suite's report adds below its all-files rows."""


def size_band(n: int) -> str:
    """The report's size band of an ``n``-node instance: ``n<=100``, ``n101-200``, ..."""
    i = bisect.bisect_left(SIZE_BANDS, n)
    if i == len(SIZE_BANDS):
        return f"n>{SIZE_BANDS[-1]}"
    return f"n<={SIZE_BANDS[0]}" if i == 0 else f"n{SIZE_BANDS[i - 1] + 1}-{SIZE_BANDS[i]}"


def report(records: list[dict[str, Any]]) -> tuple[str, Any]:
    """Per set and method: instances, feasible, mean gap %, time per instance, instances/s.

    File suites (``routing-tsplib``, ``routing-cvrplib``) get one row per method over all
    files, then one per size band (:func:`size_band`) with the files of that size.
    """
    import pandas as pd

    from orlearn.bench.report import markdown_table

    rows = []
    for r in records:
        if r.get("status") != "ok":
            continue
        extra = r.get("extra") or {}
        gaps = [g for g in extra.get("gaps", []) if g is not None]
        row = {"set": extra.get("set"), "method": r["method"],
               "instances": extra.get("instances", 0),
               "feasible": extra.get("feasible_count", 0),
               "gap_sum": float(np.sum(gaps)) if gaps else 0.0, "gap_n": len(gaps),
               "time": r["time"]}
        rows.append(row)
        if "file" in (r.get("params") or {}) and extra.get("n") is not None:
            n = int(extra["n"])
            rows.append({**row, "set": f"{row['set']} {size_band(n)}",
                         "order": bisect.bisect_left(SIZE_BANDS, n) + 1})
    if not rows:
        return "", None
    rows.sort(key=lambda row: row.get("order", 0))  # all-files rows, then band by band
    frame = pd.DataFrame(rows)
    table = frame.groupby(["set", "method"], sort=False).agg(
        instances=("instances", "sum"), feasible=("feasible", "sum"),
        gap_sum=("gap_sum", "sum"), gap_n=("gap_n", "sum"), time=("time", "sum")).reset_index()
    table["mean_gap_pct"] = table["gap_sum"] / table["gap_n"].clip(lower=1)
    table["time_per_instance"] = table["time"] / table["instances"].clip(lower=1)
    cells = [[str(row.set), str(row.method), str(row.instances), str(row.feasible),
              f"{row.mean_gap_pct:.2f}", f"{row.time_per_instance:.3f}",
              f"{row.instances / max(row.time, 1e-9):.1f}"]
             for row in table.itertuples(index=False)]
    header = ["set", "method", "instances", "feasible", "mean gap (%)", "s / instance",
              "instances / s"]
    text = markdown_table(header, cells, "Routing: mean gap to the reference")
    return text, table.drop(columns=["gap_sum", "gap_n"])


__all__ = [
    "TEST_SETS",
    "TestSet",
    "cpu_suite",
    "cvrp_suite",
    "cvrplib_suite",
    "ensure_references",
    "kp_suite",
    "quick_suite",
    "report",
    "run_task",
    "set_instances",
    "size_band",
    "tsp_suite",
    "tsplib_suite",
]
