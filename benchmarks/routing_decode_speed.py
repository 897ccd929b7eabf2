"""BQ decoding throughput of the shipped checkpoints, per problem and beam width.

    python benchmarks/routing_decode_speed.py --threads 1

Decodes fixed seeded instances (TSP100, CVRP100, KP200; seed 7, not a test set) with the
shipped ``routing-*`` checkpoint on the CPU with ``--threads`` torch threads and reports
instances per second (wall time of one ``decode_*`` call over the batch, after one warm-up
call on two instances). The last column is a fingerprint of the solutions (the sum of the
tour lengths, route lengths or packed values), so that two commits can be checked to decode
the same solutions: run the script with ``PYTHONPATH`` pointing at each checkout.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import time
from pathlib import Path

import torch

import orlearn
from orlearn.problems.routing.bq import (
    decode_cvrp,
    decode_kp,
    decode_tsp,
    load_policy,
    routes_length,
    tour_lengths,
)
from orlearn.problems.routing.instances import (
    generate_cvrp_arrays,
    generate_kp_arrays,
    generate_tsp_coords,
)


def _commit() -> str:
    root = Path(orlearn.__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes" if dirty else "")


def _decode(problem: str, model: torch.nn.Module, count: int, beam: int) -> tuple[float, float]:
    """Seconds to decode ``count`` seeded instances, and the solutions' fingerprint."""
    if problem == "tsp":
        xy = generate_tsp_coords(100, count, seed=7)
        decode_tsp(model, xy[:2], beam=beam)
        start = time.perf_counter()
        tours = decode_tsp(model, xy, beam=beam)
        secs = time.perf_counter() - start
        return secs, float(sum(tour_lengths(xy[i], t) for i, t in enumerate(tours)))
    if problem == "cvrp":
        xy, dem, cap = generate_cvrp_arrays(100, count, seed=7)
        decode_cvrp(model, xy[:2], dem[:2], cap, beam=beam)
        start = time.perf_counter()
        routes = decode_cvrp(model, xy, dem, cap, beam=beam)
        secs = time.perf_counter() - start
        return secs, float(sum(routes_length(xy[i], r) for i, r in enumerate(routes)))
    val, wt, cap = generate_kp_arrays(200, count, seed=7)
    decode_kp(model, val[:2], wt[:2], cap, beam=beam)
    start = time.perf_counter()
    items = decode_kp(model, val, wt, cap, beam=beam)
    secs = time.perf_counter() - start
    return secs, float(sum(val[i][it].sum() for i, it in enumerate(items)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--count", type=int, default=64, help="instances per problem")
    parser.add_argument("--beam", type=int, action="append",
                        help="beam widths (repeatable; default 1 and 16)")
    parser.add_argument("--problem", action="append", choices=("tsp", "cvrp", "kp"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    beams = args.beam or [1, 16]
    problems = args.problem or ["tsp", "cvrp", "kp"]
    print(f"orlearn at {_commit()}, torch {torch.__version__}, {args.threads} thread(s), "
          f"{platform.processor() or platform.machine()}")
    print("| problem | beam | instances | seconds | instances / s | fingerprint |")
    print("|---|---|---|---|---|---|")
    for problem in problems:
        model = load_policy(None, problem, device="cpu")
        for beam in beams:
            count = max(args.count // beam, 4) if beam > 1 else args.count
            secs, print_value = _decode(problem, model, count, beam)
            print(f"| {problem} | {beam} | {count} | {secs:.2f} | {count / secs:.2f} | "
                  f"{print_value:.6f} |", flush=True)


if __name__ == "__main__":
    main()
