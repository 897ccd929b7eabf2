"""Run a suite's tasks locally (in-process or a process pool) or on Ray, storing as they finish.

Each finished task is appended to ``<out>/<suite>/results.jsonl`` and flushed, so an interrupted
run loses nothing and a re-run resumes with the tasks not yet done. A long task made of units
(scenarios, instances) keeps its finished units in ``<out>/<suite>/partial/`` (see
:mod:`orlearn.bench.partial`) and resumes from them. A task that raises is stored as
``status="failed"`` with its error; the run goes on.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import socket
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orlearn.bench.partial import PartialResults, partial_folder, partial_path
from orlearn.bench.store import ResultStore
from orlearn.bench.tasks import Suite, Task, gap
from orlearn.errors import ConfigError

logger = logging.getLogger("orlearn.bench")

EXECUTORS = ("process", "serial", "ray")


@dataclass
class TaskOutcome:
    """What a problem's task runner returns.

    Attributes:
        objective: the method's objective value in the problem's units (None if none found).
        feasible: whether the returned solution passed the problem's own feasibility check.
        time: seconds the method itself took (solve or inference time, set-up excluded).
        extra: anything else worth keeping (bounds, node counts, ...); JSON-serialisable.
        reference, reference_kind: a reference the task computed itself (e.g. a bound on the
            same sampled scenarios), replacing the task's own for the gap; None keeps it.
    """

    objective: float | None
    feasible: bool
    time: float
    extra: dict[str, Any] = field(default_factory=dict)
    reference: float | None = None
    reference_kind: str | None = None


def execute_task(task_data: dict[str, Any], suite_name: str = "",
                 partial_dir: str | None = None) -> dict[str, Any]:
    """Run one task (given as a dict) and return its result record. Never raises.

    This is the function that process-pool and Ray workers run; it resolves the problem's
    runner through the registry in the worker's own interpreter. ``partial_dir``: the folder of
    the task's partial results (:mod:`orlearn.bench.partial`; None: kept in memory only);
    they are deleted once the task finishes ok.
    """
    from orlearn import __version__
    from orlearn.registry import problem_runner

    task = Task.from_dict(task_data)
    record: dict[str, Any] = {
        "task_id": task.task_id,
        "suite": suite_name,
        **task.to_dict(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "orlearn_version": __version__,
    }
    start = time.perf_counter()
    try:
        runner = problem_runner(task.problem)
        with partial_folder(partial_dir):
            outcome = runner(task)
        if isinstance(outcome, dict):
            outcome = TaskOutcome(**outcome)
        objective = None if outcome.objective is None else float(outcome.objective)
        reference = task.reference
        if outcome.reference is not None:
            reference = float(outcome.reference)
            record.update(reference=reference,
                          reference_kind=outcome.reference_kind or task.reference_kind)
        record.update(
            status="ok",
            objective=objective,
            feasible=bool(outcome.feasible),
            time=float(outcome.time),
            gap=gap(objective, reference, task.sense) if outcome.feasible else None,
            extra=outcome.extra,
            error=None,
        )
        if partial_dir is not None:
            PartialResults(partial_path(partial_dir, task)).clear()
    except Exception as exc:  # recorded, the run goes on
        record.update(
            status="failed",
            objective=None,
            feasible=False,
            time=None,
            gap=None,
            extra={},
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=20),
        )
    record["wall_time"] = time.perf_counter() - start
    record["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return record


@dataclass
class RunSummary:
    """What a call of :func:`run_suite` did."""

    suite: str
    out_dir: Path
    total: int
    skipped: int
    ran: int
    failed: int
    interrupted: bool = False


def run_suite(
    suite: Suite,
    out_dir: str | Path = "results",
    *,
    executor: str = "process",
    workers: int | None = None,
    retry_failed: bool = True,
    progress: bool = True,
    ray_address: str | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> RunSummary:
    """Run every task of ``suite`` not already done in ``<out_dir>/<suite.name>/results.jsonl``.

    Args:
        suite: the tasks.
        out_dir: root folder of results; this suite's records go to ``out_dir/suite.name/``.
        executor: ``"process"`` (local process pool, the default), ``"serial"`` (in this
            process) or ``"ray"`` (a Ray cluster: ``ray_address`` or ``RAY_ADDRESS``, else a
            local Ray instance with ``workers`` CPUs).
        workers: parallel workers (default: the number of CPU cores, at most the tasks to run).
        retry_failed: run again the tasks whose latest record failed.
        progress: show a progress bar.
        on_record: called with each record as it is stored.

    Returns a :class:`RunSummary`. ``KeyboardInterrupt`` stops the run after storing every
    finished task; the summary then has ``interrupted=True``.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be at least 1 (got {workers})")
    folder = Path(out_dir) / suite.name
    store = ResultStore(folder / "results.jsonl")
    done = store.done_ids(retry_failed=retry_failed)
    pending = [t for t in suite.tasks if t.task_id not in done]
    summary = RunSummary(
        suite=suite.name, out_dir=folder, total=len(suite.tasks),
        skipped=len(suite.tasks) - len(pending), ran=0, failed=0,
    )
    if not pending:
        logger.info("suite %s: all %d tasks already done", suite.name, summary.total)
        return summary
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(pending)))
    payloads = [t.to_dict() for t in pending]
    partial_dir = str(folder / "partial")
    if executor == "serial" or (executor == "process" and n_workers == 1):
        stream = (execute_task(p, suite.name, partial_dir) for p in payloads)
    elif executor == "process":
        stream = _process_stream(payloads, suite.name, n_workers, partial_dir)
    else:
        stream = _ray_stream(payloads, suite.name, n_workers, ray_address, partial_dir)

    bar = _progress_bar(len(pending), suite.name, progress)
    try:
        for record in stream:
            store.append(record)
            summary.ran += 1
            summary.failed += record["status"] == "failed"
            if on_record is not None:
                on_record(record)
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(_postfix(record))
    except KeyboardInterrupt:
        summary.interrupted = True
        logger.warning(
            "interrupted: %d finished tasks are stored in %s; run again to resume",
            summary.ran, store.path,
        )
    finally:
        if bar is not None:
            bar.close()
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return summary


def _postfix(record: dict[str, Any]) -> str:
    label = f"{record['problem']}/{record['method']}"
    if record["status"] == "failed":
        return f"{label} FAILED"
    g = record.get("gap")
    return f"{label} gap={'-' if g is None or not math.isfinite(g) else f'{100 * g:.2f}%'}"


def _progress_bar(total: int, name: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name, unit="task", dynamic_ncols=True)


def _worker_init() -> None:
    # One solver/torch thread per worker: parallelism comes from the pool.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def _process_stream(
    payloads: list[dict[str, Any]], suite_name: str, workers: int, partial_dir: str | None = None
) -> Iterator[dict[str, Any]]:
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init)
    futures: dict[Future[dict[str, Any]], dict[str, Any]] = {}
    queue = list(reversed(payloads))
    try:
        # Keep at most 2 tasks per worker in flight so an interrupt cancels little work.
        while queue or futures:
            while queue and len(futures) < 2 * workers:
                payload = queue.pop()
                future = pool.submit(execute_task, payload, suite_name, partial_dir)
                futures[future] = payload
            finished, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for future in finished:
                payload = futures.pop(future)
                try:
                    yield future.result()
                except Exception as exc:  # the worker died (e.g. killed, out of memory)
                    yield _crashed_record(payload, suite_name, exc)
    finally:
        for future in futures:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


def ray_session(workers: int, address: str | None) -> bool:
    """Connect to Ray (``address``, else ``RAY_ADDRESS``, else a local instance with
    ``workers`` CPUs) unless already connected; True when this call started the session
    (the caller then shuts it down)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "the Ray executor needs Ray: pip install 'orlearn[ray]' (or use --executor process)"
        ) from None
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(
            num_cpus=workers, include_dashboard=False, log_to_driver=False,
            configure_logging=False,
        )
    return True


def _ray_stream(
    payloads: list[dict[str, Any]], suite_name: str, workers: int, address: str | None,
    partial_dir: str | None = None,
) -> Iterator[dict[str, Any]]:
    started_here = ray_session(workers, address)
    import ray

    remote = ray.remote(num_cpus=1, max_retries=0)(_ray_execute)
    # partial results land on the worker's file system (the same one on a local cluster)
    refs = {remote.remote(p, suite_name, partial_dir): p for p in payloads}
    try:
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                payload = refs.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as exc:  # worker crash or Ray-side failure
                    yield _crashed_record(payload, suite_name, exc)
    finally:
        for ref in refs:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()


def _ray_execute(payload: dict[str, Any], suite_name: str,
                 partial_dir: str | None = None) -> dict[str, Any]:
    _worker_init()
    return execute_task(payload, suite_name, partial_dir)


def _crashed_record(payload: dict[str, Any], suite_name: str, exc: BaseException) -> dict[str, Any]:
    task = Task.from_dict(payload)
    return {
        "task_id": task.task_id,
        "suite": suite_name,
        **task.to_dict(),
        "status": "failed",
        "objective": None,
        "feasible": False,
        "time": None,
        "gap": None,
        "extra": {},
        "error": f"worker crashed: {type(exc).__name__}: {exc}",
        "wall_time": None,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
