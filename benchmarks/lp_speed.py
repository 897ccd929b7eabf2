"""How much faster is a warm persistent highspy LP than rebuilding the model in Pyomo?

    python benchmarks/lp_speed.py --rows 200 --cols 300 --resolves 1000 --rebuilds 50 --seed 0

Builds a random feasible, bounded LP (``min c @ x`` over ``0 <= x <= 10`` with ``rows`` sparse
rows, half ``<=`` and half ``>=``, all satisfied by a hidden point ``x0``), draws ``resolves``
right-hand-side vectors (each keeps ``x0`` feasible) and times

(a) :class:`orlearn.solvers.PersistentLP`: built once, ``set_rhs`` + warm ``solve`` per vector;
(a') the same object solved cold (``warm_start=False``: basis cleared, model kept);
(b) rebuilding the model in Pyomo and solving it with ``orlearn.solvers.solve`` (HiGHS) per
    vector — on the first ``rebuilds`` vectors only, extrapolated per solve.

All use one HiGHS thread. The objectives of (a), (a') and (b) are checked to agree on the
vectors they share. Times are wall-clock seconds (``time.perf_counter``).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pyomo
import pyomo.environ as pyo
import scipy.sparse as sp

from orlearn.solvers import PersistentLP, TerminationCondition, available_solvers, solve


def random_lp(rows: int, cols: int, seed: int) -> dict[str, np.ndarray]:
    """A random sparse LP and ``rows`` x ``resolves``-ready data (see module docstring)."""
    rng = np.random.default_rng(seed)
    density = min(1.0, 12.0 / cols)  # ~12 nonzeros per row
    A = sp.random(
        rows,
        cols,
        density=density,
        random_state=rng,
        format="csr",
        data_rvs=lambda k: rng.uniform(-1.0, 1.0, k),
    )
    x0 = rng.uniform(0.0, 10.0, cols)
    return {
        "A": A,
        "x0": x0,
        "activity": A @ x0,
        "c": rng.uniform(-1.0, 1.0, cols),
        "is_le": np.arange(rows) % 2 == 0,  # even rows <=, odd rows >=
    }


def rhs_vectors(lp: dict[str, np.ndarray], n: int, seed: int) -> np.ndarray:
    """``n`` right-hand sides, each leaving ``x0`` feasible (slack 0.1 to 2 per row)."""
    rng = np.random.default_rng(seed + 1)
    slack = rng.uniform(0.1, 2.0, (n, lp["A"].shape[0]))
    return np.where(lp["is_le"], lp["activity"] + slack, lp["activity"] - slack)


def build_persistent(lp: dict[str, np.ndarray], rhs: np.ndarray) -> PersistentLP:
    is_le = lp["is_le"]
    lower = np.where(is_le, -np.inf, rhs)
    upper = np.where(is_le, rhs, np.inf)
    return PersistentLP.from_arrays(lp["c"], lp["A"], lower, upper, 0.0, 10.0, threads=1)


def build_pyomo(lp: dict[str, np.ndarray], rhs: np.ndarray) -> pyo.ConcreteModel:
    A = lp["A"]
    cols = A.shape[1]
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(cols), bounds=(0.0, 10.0))

    def row_rule(m: pyo.ConcreteModel, i: int) -> object:
        start, end = A.indptr[i], A.indptr[i + 1]
        entries = zip(A.indices[start:end], A.data[start:end], strict=True)
        body = pyo.quicksum(float(a) * m.x[int(j)] for j, a in entries)
        return body <= float(rhs[i]) if lp["is_le"][i] else body >= float(rhs[i])

    m.row = pyo.Constraint(range(A.shape[0]), rule=row_rule)
    m.cost = pyo.Objective(expr=pyo.quicksum(float(lp["c"][j]) * m.x[j] for j in range(cols)))
    return m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--cols", type=int, default=300)
    parser.add_argument("--resolves", type=int, default=1000, help="re-solves of PersistentLP")
    parser.add_argument("--rebuilds", type=int, default=50, help="Pyomo rebuilds (extrapolated)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rebuilds = min(args.rebuilds, args.resolves)

    lp = random_lp(args.rows, args.cols, args.seed)
    rhs = rhs_vectors(lp, args.resolves, args.seed)
    versions = available_solvers()
    print(
        f"LP: {args.rows} rows x {args.cols} cols, {lp['A'].nnz} nonzeros, seed {args.seed}; "
        f"HiGHS {versions['highs']}, Pyomo {pyomo.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs"
    )

    # (a) persistent, warm
    start = time.perf_counter()
    persistent = build_persistent(lp, rhs[0])
    build_time = time.perf_counter() - start
    rows = np.arange(args.rows)
    warm_obj = np.empty(args.resolves)
    iterations = 0
    start = time.perf_counter()
    for k in range(args.resolves):
        persistent.set_rhs(rows, rhs[k])
        result = persistent.solve()
        if result.termination != TerminationCondition.OPTIMAL:
            raise SystemExit(f"persistent solve {k}: {result.termination.value}")
        warm_obj[k] = result.objective
        iterations += result.iterations
    warm_time = (time.perf_counter() - start) / args.resolves

    # (a') persistent, cold (basis cleared before each solve)
    cold_obj = np.empty(rebuilds)
    start = time.perf_counter()
    for k in range(rebuilds):
        persistent.set_rhs(rows, rhs[k])
        cold_obj[k] = persistent.solve(warm_start=False).objective
    cold_time = (time.perf_counter() - start) / rebuilds

    # (b) Pyomo rebuild + orlearn.solvers.solve, on the first `rebuilds` vectors
    pyomo_obj = np.empty(rebuilds)
    solver_time = 0.0
    start = time.perf_counter()
    for k in range(rebuilds):
        result = solve(build_pyomo(lp, rhs[k]), solver="highs", threads=1)
        if result.termination != TerminationCondition.OPTIMAL:
            raise SystemExit(f"pyomo solve {k}: {result.termination.value}")
        pyomo_obj[k] = result.objective
        solver_time += result.wall_time
    pyomo_time = (time.perf_counter() - start) / rebuilds
    solver_time /= rebuilds

    diff_pyomo = np.max(np.abs(warm_obj[:rebuilds] - pyomo_obj) / np.maximum(1, np.abs(pyomo_obj)))
    diff_cold = np.max(np.abs(warm_obj[:rebuilds] - cold_obj) / np.maximum(1, np.abs(cold_obj)))
    print(
        f"(a)  PersistentLP warm : {1e3 * warm_time:8.3f} ms/solve over {args.resolves} "
        f"re-solves ({iterations / args.resolves:.1f} simplex iterations/solve; "
        f"built once in {1e3 * build_time:.1f} ms)"
    )
    print(
        f"(a') PersistentLP cold : {1e3 * cold_time:8.3f} ms/solve over {rebuilds} solves "
        f"(basis cleared, model kept)"
    )
    print(
        f"(b)  Pyomo rebuild+solve: {1e3 * pyomo_time:8.3f} ms/solve over {rebuilds} rebuilds "
        f"({1e3 * solver_time:.3f} ms in solve(), the rest building the Pyomo model); "
        f"extrapolated to {args.resolves} solves: {pyomo_time * args.resolves:.1f} s vs "
        f"{warm_time * args.resolves:.2f} s"
    )
    print(
        f"speed-up of (a) over (b): {pyomo_time / warm_time:.1f}x; "
        f"of (a) over (a'): {cold_time / warm_time:.1f}x"
    )
    print(
        f"objectives agree: max relative difference (a) vs (b) {diff_pyomo:.2e}, "
        f"(a) vs (a') {diff_cold:.2e} on the first {rebuilds} right-hand sides"
    )
    if max(diff_pyomo, diff_cold) > 1e-6:
        raise SystemExit("objectives disagree")


if __name__ == "__main__":
    main()
