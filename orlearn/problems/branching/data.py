"""Strong-branching imitation data: parallel, resumable collection, and a PyG dataset.

:func:`collect_samples` runs *episodes*: episode ``k`` solves instance ``files[k % n]``
(files in a seeded order) with pseudocost exploration and records strong-branching samples
at random nodes (:func:`orlearn.problems.branching.rules.sample_episode`). Episodes run in a
process pool (``workers``; SCIP holds the GIL) or on Ray through the benchmark executor's
cluster when ``ray_address`` is given. Every finished episode writes its samples as
``episode_KKKKKK/sample_JJJ.npz`` and then a marker ``episode_KKKKKK.json``; a rerun skips
marked episodes and discards unmarked (interrupted) ones, so an interrupted collection keeps
everything it finished and continues to the requested count.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import torch

from orlearn.errors import ConfigError, InvalidInstanceError
from orlearn.problems.branching.features import BipartiteData, BipartiteState, to_data

SAMPLE_KEYS = ("var_x", "cons_x", "edge_index", "edge_attr", "candidates", "scores")


def _episode_seed(seed: int, episode: int) -> int:
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0]) % 2**31


def _run_episode(args: tuple[str, int, int, float, float | None, int | None, str]
                 ) -> dict[str, Any]:
    path, episode, seed, query_prob, time_limit, max_samples, out_dir = args
    from orlearn.problems.branching.rules import sample_episode

    samples, info = sample_episode(path, seed, query_prob, time_limit, max_samples)
    folder = Path(out_dir) / f"episode_{episode:06d}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for j, sample in enumerate(samples):
        np.savez_compressed(folder / f"sample_{j:03d}.npz", **sample.arrays,
                            node=np.int64(sample.node))
    info.update(episode=episode, instance=str(path), seed=seed)
    marker = Path(out_dir) / f"episode_{episode:06d}.json"
    marker.write_text(json.dumps(info))
    return info


def _finished(out_dir: Path) -> dict[int, dict[str, Any]]:
    done: dict[int, dict[str, Any]] = {}
    for marker in out_dir.glob("episode_*.json"):
        try:
            info = json.loads(marker.read_text())
            done[int(info["episode"])] = info
        except (ValueError, KeyError):
            marker.unlink()
    for folder in out_dir.glob("episode_*"):
        if folder.is_dir() and int(folder.name.split("_")[1]) not in done:
            shutil.rmtree(folder)  # interrupted episode
    return done


def collect_samples(
    files: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    n_samples: int,
    *,
    query_prob: float = 0.05,
    time_limit: float | None = 120.0,
    max_per_episode: int | None = None,
    workers: int = 1,
    seed: int = 0,
    progress: bool = True,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Collect at least ``n_samples`` strong-branching samples from ``files`` into ``out_dir``.

    Returns ``{"samples", "episodes", "new_episodes"}``. Stops launching episodes once the
    count is reached (running episodes finish and are kept).
    """
    files = [str(f) for f in files]
    if not files:
        raise InvalidInstanceError("files", "no instance files to sample from",
                                   fix="generate a distribution first (orlearn generate "
                                   "branching)")
    for field, value in (("n_samples (--samples)", n_samples), ("workers", workers)):
        if value < 1:
            raise ConfigError(f"{field}: must be >= 1, got {value}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done = _finished(out)
    total = sum(int(info["samples"]) for info in done.values())
    order = np.random.default_rng(seed).permutation(len(files))
    episode = max(done, default=-1) + 1
    new = 0
    empty = 0  # consecutive episodes without a sample (instances solved without branching)
    max_empty = max(10, 3 * workers)

    def job(k: int) -> tuple[str, int, int, float, float | None, int | None, str]:
        return (files[order[k % len(files)]], k, _episode_seed(seed, k), query_prob,
                time_limit, max_per_episode, str(out))

    from tqdm import tqdm

    backend = (_RayEpisodes(workers, ray_address) if ray_address is not None
               else _ProcessEpisodes(workers))
    bar = tqdm(total=n_samples, initial=min(total, n_samples), desc="samples",
               disable=not progress)
    running: list[Any] = []
    try:
        # launch while short of samples; episodes already running finish and are kept
        while total < n_samples or running:
            while total < n_samples and len(running) < workers:
                running.append(backend.submit(job(episode)))
                episode += 1
            finished, running = backend.wait(running)
            for info in finished:
                total += int(info["samples"])
                new += 1
                empty = 0 if info["samples"] else empty + 1
                bar.update(min(int(info["samples"]), max(0, n_samples - bar.n)))
            if empty >= max_empty:
                raise InvalidInstanceError(
                    "files", f"{empty} episodes in a row recorded no sample: the instances "
                    f"(e.g. {Path(files[0]).name}) are solved without branching",
                    fix="use larger or harder instances, or a higher query_prob")
    finally:
        bar.close()
        backend.close(running)
    return {"samples": total, "episodes": len(_finished(out)), "new_episodes": new}


class _ProcessEpisodes:
    """Episodes in a local process pool (SCIP holds the GIL)."""

    def __init__(self, workers: int) -> None:
        self.pool = ProcessPoolExecutor(max_workers=workers)

    def submit(self, job: tuple[Any, ...]) -> Any:
        return self.pool.submit(_run_episode, job)

    def wait(self, running: list[Any]) -> tuple[list[dict[str, Any]], list[Any]]:
        finished, rest = wait(running, return_when=FIRST_COMPLETED)
        return [future.result() for future in finished], list(rest)

    def close(self, running: list[Any]) -> None:
        for future in running:
            future.cancel()
        self.pool.shutdown(wait=True)


class _RayEpisodes:
    """Episodes as Ray tasks, on the cluster the benchmark executor uses (``"local"``: a
    local Ray instance)."""

    def __init__(self, workers: int, address: str) -> None:
        from orlearn.bench.runner import ray_session

        self.started = ray_session(workers, None if address == "local" else address)
        import ray

        self.ray = ray
        self.remote = ray.remote(num_cpus=1, max_retries=0)(_run_episode)

    def submit(self, job: tuple[Any, ...]) -> Any:
        return self.remote.remote(job)

    def wait(self, running: list[Any]) -> tuple[list[dict[str, Any]], list[Any]]:
        ready, rest = self.ray.wait(running, num_returns=1)
        return [self.ray.get(ref) for ref in ready], list(rest)

    def close(self, running: list[Any]) -> None:
        for ref in running:
            self.ray.cancel(ref, force=True)
        if self.started:
            self.ray.shutdown()


def sample_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Sample files of finished episodes in ``folder``, in a fixed order."""
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInstanceError("samples", f"no sample folder {root}",
                                   fix="collect samples first (orlearn train branching does)")
    files: list[Path] = []
    for marker in sorted(root.glob("episode_*.json")):
        files.extend(sorted((root / marker.stem).glob("sample_*.npz")))
    return files


def sample_instances(files: Sequence[str | os.PathLike[str]]) -> list[str]:
    """The instance (file name) each sample of :func:`sample_files` was recorded on, read from
    its episode's marker, for statistics clustered by instance: the samples of one
    branch-and-bound tree are not independent. A sample whose marker cannot be read counts
    its episode as its instance."""
    names: dict[Path, str] = {}
    out = []
    for f in files:
        marker = Path(f).parent.with_suffix(".json")
        if marker not in names:
            try:
                names[marker] = Path(json.loads(marker.read_text())["instance"]).name
            except (OSError, ValueError, KeyError):
                names[marker] = marker.stem
        out.append(names[marker])
    return out


def load_sample(path: str | os.PathLike[str]) -> BipartiteData:
    """Read one ``.npz`` sample as :class:`BipartiteData` with ``candidate_scores``."""
    try:
        with np.load(path) as raw:
            arrays = {key: raw[key] for key in SAMPLE_KEYS}
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidInstanceError("samples", f"unreadable sample {path}: {exc}") from None
    state = BipartiteState(arrays["var_x"], arrays["cons_x"], arrays["edge_index"],
                           arrays["edge_attr"])
    return to_data(state, arrays["candidates"], arrays["scores"])


class SampleDataset(torch.utils.data.Dataset):
    """Samples read from ``.npz`` files (kept in memory after the first read if ``cache``)."""

    def __init__(self, files: Sequence[str | os.PathLike[str]], cache: bool = True) -> None:
        self.files = [Path(f) for f in files]
        self.cache: dict[int, BipartiteData] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> BipartiteData:
        if self.cache is not None and index in self.cache:
            return self.cache[index]
        data = load_sample(self.files[index])
        if self.cache is not None:
            self.cache[index] = data
        return data


__all__ = ["SampleDataset", "collect_samples", "load_sample", "sample_files",
           "sample_instances"]
