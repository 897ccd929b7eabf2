"""Expert labels for imitation: near-optimal solutions of generated instances, in chunks.

A labelled dataset is a folder of ``chunk-00000.npz`` files, each holding ``chunk_size``
instances generated from ``(seed, chunk index)`` and their expert solutions:

* TSP: ``coords [c, n, 2]``, ``tours [c, n]`` (LKH-3 through elkai), ``costs [c]``;
* CVRP: ``coords [c, n+1, 2]``, ``demands [c, n+1]``, ``capacity``, ``sequence [c, n]``
  (customers in visiting order), ``via_depot [c, n]`` (True where a new route starts) and
  ``costs`` (PyVRP's HGS with a time limit per instance);
* KP: ``values, weights [c, n]``, ``capacity``, ``chosen [c, n]`` (an optimal packing, MILP
  through :mod:`orlearn.solvers`), ``costs`` (total values).

Chunks are labelled in parallel (a process pool, or Ray through the benchmark executor's
connection) and written atomically as they finish, so an interrupted run keeps every finished
chunk and a rerun labels only the missing ones. ``manifest.json`` records the parameters; a
rerun with other parameters into the same folder is refused.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from orlearn._files import atomic_write
from orlearn.errors import ConfigError, InvalidInstanceError

logger = logging.getLogger(__name__)

EXPERTS = {"tsp": "lkh", "cvrp": "pyvrp", "kp": "exact"}


def chunk_seed(seed: int, chunk: int) -> int:
    """The generator seed of chunk ``chunk`` of a dataset with seed ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(chunk)]).generate_state(1)[0])


def label_chunk(
    problem: str, n: int, count: int, seed: int, time_limit: float = 1.0
) -> dict[str, np.ndarray]:
    """Generate ``count`` instances of size ``n`` from ``seed`` and solve them with the expert."""
    from orlearn.problems.routing import baselines
    from orlearn.problems.routing.instances import (
        CVRPInstance,
        KPInstance,
        TSPInstance,
        generate_cvrp_arrays,
        generate_kp_arrays,
        generate_tsp_coords,
    )

    if problem == "tsp":
        coords = generate_tsp_coords(n, count, seed)
        tours = np.zeros((count, n), dtype=np.int16 if n < 2**15 else np.int32)
        costs = np.zeros(count)
        for i in range(count):
            inst = TSPInstance(coords[i])
            tour = baselines.lkh_tour(inst, seed=seed)
            tours[i] = tour
            costs[i] = inst.tour_cost(tour)
        return {"coords": coords.astype(np.float32), "tours": tours, "costs": costs}
    if problem == "cvrp":
        coords, demands, capacity = generate_cvrp_arrays(n, count, seed)
        sequence = np.zeros((count, n), dtype=np.int16)
        via = np.zeros((count, n), dtype=bool)
        costs = np.zeros(count)
        for i in range(count):
            inst = CVRPInstance(coords[i], demands[i], capacity)
            routes = baselines.pyvrp_routes(inst, time_limit=time_limit, seed=seed)
            costs[i] = inst.routes_cost(routes)
            sequence[i] = np.concatenate(routes)
            via[i, np.cumsum([0] + [len(r) for r in routes[:-1]])] = True
        return {"coords": coords.astype(np.float32), "demands": demands.astype(np.float32),
                "capacity": np.float32(capacity), "sequence": sequence, "via_depot": via,
                "costs": costs}
    if problem == "kp":
        values, weights, capacity = generate_kp_arrays(n, count, seed)
        chosen = np.zeros((count, n), dtype=bool)
        costs = np.zeros(count)
        for i in range(count):
            inst = KPInstance(values[i], weights[i], capacity)
            items = baselines.kp_exact(inst)
            chosen[i, items] = True
            costs[i] = inst.total_value(items)
        return {"values": values.astype(np.float32), "weights": weights.astype(np.float32),
                "capacity": np.float32(capacity), "chosen": chosen, "costs": costs}
    raise ConfigError(f"problem must be tsp, cvrp or kp, got {problem!r}")


def _label_job(job: tuple[str, int, int, int, float, str]) -> str:
    problem, n, count, seed, time_limit, path = job
    arrays = label_chunk(problem, n, count, seed, time_limit)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write(Path(path), buffer.getvalue())
    return path


def _check_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    path = folder / "manifest.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old != manifest:
            diff = {k: (old.get(k), v) for k, v in manifest.items() if old.get(k) != v}
            raise ConfigError(
                f"{folder} holds a dataset with other parameters {diff}; "
                "use another folder or the same parameters"
            )
    else:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest, indent=2))


def generate_dataset(
    problem: str,
    n: int,
    count: int,
    folder: str | os.PathLike[str],
    *,
    seed: int = 0,
    chunk_size: int = 100,
    workers: int = 2,
    time_limit: float = 1.0,
    executor: str = "process",
    ray_address: str | None = None,
    progress: bool = True,
) -> Path:
    """Label ``count`` instances of ``problem`` at size ``n`` into ``folder`` (resumable).

    Args:
        problem: ``"tsp"``, ``"cvrp"`` or ``"kp"``.
        n: cities / customers / items.
        count: instances (rounded up to whole chunks).
        folder: output folder (created).
        seed: dataset seed; chunk ``k`` uses :func:`chunk_seed` ``(seed, k)``.
        chunk_size: instances per file.
        workers: parallel labelling processes (or Ray CPUs for a local Ray).
        time_limit: seconds per CVRP instance for PyVRP (unused for TSP and KP).
        executor: ``"process"`` or ``"ray"``.
        ray_address: the Ray cluster to use (None: ``RAY_ADDRESS`` or a local instance).
    """
    if problem not in EXPERTS:
        raise ConfigError(f"problem must be one of {sorted(EXPERTS)}, got {problem!r}")
    for name, value in (("n", n), ("count", count), ("chunk_size", chunk_size),
                        ("workers", workers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if executor not in ("process", "ray"):
        raise ConfigError(f"executor must be 'process' or 'ray', got {executor!r}")
    root = Path(folder)
    manifest = {"problem": problem, "n": n, "seed": seed, "chunk_size": chunk_size,
                "expert": EXPERTS[problem], "time_limit": time_limit if problem == "cvrp"
                else None}
    _check_manifest(root, manifest)
    n_chunks = -(-count // chunk_size)
    jobs = [
        (problem, n, chunk_size, chunk_seed(seed, k), float(time_limit),
         str(root / f"chunk-{k:05d}.npz"))
        for k in range(n_chunks)
        if not (root / f"chunk-{k:05d}.npz").exists()
    ]
    if not jobs:
        return root
    bar = tqdm(total=n_chunks, initial=n_chunks - len(jobs), desc=f"label {problem}{n}",
               disable=not progress, unit="chunk")
    try:
        if executor == "ray":
            _run_ray(jobs, workers, ray_address, bar.update)
        elif workers == 1:
            for job in jobs:
                _label_job(job)
                bar.update()
        else:
            _run_pool(jobs, workers, bar.update)
    finally:
        bar.close()
    return root


def _run_pool(jobs: list[tuple[Any, ...]], workers: int, done: Callable[[], Any]) -> None:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending = {pool.submit(_label_job, job) for job in jobs}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()
                    done()
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _run_ray(jobs: list[tuple[Any, ...]], workers: int, address: str | None,
             done: Callable[[], Any]) -> None:
    from orlearn.bench.runner import ray_session

    started = ray_session(workers, address)
    import ray

    remote = ray.remote(num_cpus=1, max_retries=0)(_label_job)
    running = [remote.remote(job) for job in jobs]
    try:
        while running:
            ready, running = ray.wait(running, num_returns=1)
            ray.get(ready[0])
            done()
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def load_dataset(folder: str | os.PathLike[str], limit: int | None = None) -> dict[str, Any]:
    """Concatenate the chunks of a labelled folder (at most ``limit`` instances)."""
    root = Path(folder)
    manifest_path = root / "manifest.json"
    if not manifest_path.exists():
        raise InvalidInstanceError(
            "folder", f"{root} is not a labelled dataset (no manifest.json)",
            "create it with `orlearn generate routing`",
        )
    manifest = json.loads(manifest_path.read_text())
    files = sorted(root.glob("chunk-[0-9][0-9][0-9][0-9][0-9].npz"))
    if not files:
        raise InvalidInstanceError("folder", f"{root} has no labelled chunks yet")
    parts: dict[str, list[np.ndarray]] = {}
    scalars: dict[str, float] = {}
    total = 0
    for path in files:
        with np.load(path) as data:
            for key in data.files:
                if data[key].ndim == 0:
                    scalars[key] = float(data[key])
                else:
                    parts.setdefault(key, []).append(data[key])
            total += len(data["costs"])
        if limit is not None and total >= limit:
            break
    out: dict[str, Any] = {k: np.concatenate(v)[:limit] for k, v in parts.items()}
    out.update(scalars)
    out["manifest"] = manifest
    return out


__all__ = ["EXPERTS", "chunk_seed", "generate_dataset", "label_chunk", "load_dataset"]
