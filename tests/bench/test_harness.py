"""The benchmark harness: tasks, store, executors, resume, failures, reports."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orlearn.bench import (
    ResultStore,
    Suite,
    Task,
    gap,
    get_suite,
    load_suite_file,
    run_suite,
    summarize,
    task_table,
    write_reports,
)
from orlearn.bench.selftest import make_suite
from orlearn.errors import ConfigError


def test_task_id_is_stable_and_depends_on_seed_and_options() -> None:
    a = Task("selftest", "x", "m", options={"t": 1}, seed=0)
    b = Task("selftest", "x", "m", options={"t": 1}, seed=0)
    assert a.task_id == b.task_id
    assert a.task_id != Task("selftest", "x", "m", options={"t": 1}, seed=1).task_id
    assert a.task_id != Task("selftest", "x", "m", options={"t": 2}, seed=0).task_id
    assert Task.from_dict(a.to_dict()) == a


def test_gap_sign_follows_sense() -> None:
    assert gap(110.0, 100.0, "min") == pytest.approx(0.10)
    assert gap(90.0, 100.0, "max") == pytest.approx(0.10)
    assert gap(100.0, 100.0, "max") == 0.0
    assert gap(None, 100.0) is None
    assert gap(1.0, 0.0) == math.inf


def test_bad_tasks_are_refused() -> None:
    with pytest.raises(ConfigError, match="reference_kind"):
        Task("selftest", "x", "m", reference_kind="guess")
    with pytest.raises(ConfigError, match="sense"):
        Task("selftest", "x", "m", sense="minimise")
    with pytest.raises(ConfigError, match="unknown fields"):
        Task.from_dict({"problem": "p", "instance": "i", "method": "m", "colour": 1})
    with pytest.raises(ConfigError, match="same task twice"):
        Suite("dup", [Task("selftest", "x", "m"), Task("selftest", "x", "m")])


def test_unknown_suite_and_executor() -> None:
    with pytest.raises(ConfigError, match="unknown suite"):
        get_suite("no-such-suite")
    with pytest.raises(ConfigError, match="unknown executor"):
        run_suite(make_suite(2), "unused", executor="threads")


def test_serial_run_records_failures_and_goes_on(tmp_path: Path) -> None:
    suite = make_suite(n=6, fail_every=3)
    summary = run_suite(suite, tmp_path, executor="serial", progress=False)
    assert (summary.ran, summary.failed, summary.skipped) == (6, 2, 0)
    records = ResultStore(tmp_path / suite.name / "results.jsonl").records()
    assert len(records) == 6
    failed = [r for r in records if r["status"] == "failed"]
    assert len(failed) == 2
    assert all("failed on purpose" in r["error"] for r in failed)
    ok = [r for r in records if r["status"] == "ok"]
    assert all(r["gap"] >= 0 for r in ok)
    # exact-ish tasks have no noise: zero gap
    assert all(r["gap"] == 0 for r in ok if r["method"] == "exact-ish")


def test_a_task_may_compute_its_own_reference(tmp_path: Path) -> None:
    task = Task(problem="selftest", instance="runtime-bound", method="exact-ish", seed=0,
                reference=None, params={"value": 12.0, "noise": 0.0, "bound": 10.0})
    run_suite(Suite("own-ref", [task]), tmp_path, executor="serial", progress=False)
    (record,) = ResultStore(tmp_path / "own-ref" / "results.jsonl").records()
    assert record["reference"] == 10.0 and record["reference_kind"] == "bound"
    assert record["gap"] == pytest.approx(0.2)


def test_resume_after_interrupt_keeps_finished_and_runs_the_rest(tmp_path: Path) -> None:
    suite = make_suite(n=7)
    seen: list[str] = []

    def interrupt_after_three(record: dict) -> None:
        seen.append(record["task_id"])
        if len(seen) == 3:
            raise KeyboardInterrupt

    first = run_suite(suite, tmp_path, executor="serial", progress=False,
                      on_record=interrupt_after_three)
    assert first.interrupted and first.ran == 3
    store = ResultStore(tmp_path / suite.name / "results.jsonl")
    assert set(store.latest()) == set(seen)
    second = run_suite(suite, tmp_path, executor="serial", progress=False)
    assert (second.ran, second.skipped) == (4, 3)
    assert len(store.records()) == 7  # nothing redone
    third = run_suite(suite, tmp_path, executor="serial", progress=False)
    assert third.ran == 0 and third.skipped == 7


def test_a_long_task_resumes_from_its_stored_units(tmp_path: Path) -> None:
    task = Task(problem="selftest", instance="units", method="exact-ish", reference=12.0,
                reference_kind="optimal",
                params={"value": 12.0, "noise": 0.0, "units": 4, "fail_at_unit": 2})
    suite = Suite("units", [task])
    first = run_suite(suite, tmp_path, executor="serial", progress=False)
    assert first.failed == 1
    partial = tmp_path / "units" / "partial" / f"{task.task_id}.jsonl"
    assert [json.loads(line)["key"] for line in partial.read_text().splitlines()] == ["0", "1"]
    second = run_suite(suite, tmp_path, executor="serial", progress=False)
    assert (second.ran, second.failed) == (1, 0)
    record = ResultStore(tmp_path / "units" / "results.jsonl").latest()[task.task_id]
    assert record["extra"]["resumed_units"] == 2 and record["objective"] == pytest.approx(12.0)
    assert not partial.exists()  # a finished task leaves no partial results
    # run directly (not in a suite), a task keeps nothing on disk
    from orlearn.bench.selftest import run_task

    with pytest.raises(RuntimeError, match="stopped at unit 2"):
        run_task(task)
    assert not partial.exists()


def test_failed_tasks_are_retried_unless_told_not_to(tmp_path: Path) -> None:
    suite = make_suite(n=4, fail_every=2)
    run_suite(suite, tmp_path, executor="serial", progress=False)
    again = run_suite(suite, tmp_path, executor="serial", progress=False, retry_failed=False)
    assert again.ran == 0
    retry = run_suite(suite, tmp_path, executor="serial", progress=False)
    assert retry.ran == 2 and retry.failed == 2


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    suite = make_suite(n=3)
    run_suite(suite, tmp_path, executor="serial", progress=False)
    path = tmp_path / suite.name / "results.jsonl"
    with path.open("a") as fh:
        fh.write('{"task_id": "abc", "stat')  # a crash in the middle of a write
    assert len(ResultStore(path).records()) == 3
    assert run_suite(suite, tmp_path, executor="serial", progress=False).ran == 0


def test_process_pool_matches_serial(tmp_path: Path) -> None:
    suite = make_suite(n=6, fail_every=5)
    run_suite(suite, tmp_path / "serial", executor="serial", progress=False)
    summary = run_suite(suite, tmp_path / "pool", executor="process", workers=2, progress=False)
    assert summary.ran == 6 and summary.failed == 1
    a = ResultStore(tmp_path / "serial" / suite.name / "results.jsonl").latest()
    b = ResultStore(tmp_path / "pool" / suite.name / "results.jsonl").latest()
    assert set(a) == set(b)
    for task_id in a:
        assert a[task_id]["status"] == b[task_id]["status"]
        assert a[task_id]["objective"] == b[task_id]["objective"]
    assert len({r["pid"] for r in b.values()} - {os.getpid()}) >= 1  # ran in workers


@pytest.mark.ray
def test_ray_executor_on_a_local_instance(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    suite = make_suite(n=5, fail_every=4)
    summary = run_suite(suite, tmp_path, executor="ray", workers=2, progress=False)
    assert summary.ran == 5 and summary.failed == 1
    records = ResultStore(tmp_path / suite.name / "results.jsonl").latest()
    assert len(records) == 5
    assert {r["status"] for r in records.values()} == {"ok", "failed"}
    # resume with Ray: only the failed task runs again
    again = run_suite(suite, tmp_path, executor="ray", workers=2, progress=False)
    assert (again.ran, again.skipped) == (1, 4)


def test_reports_written(tmp_path: Path) -> None:
    suite = make_suite(n=6, fail_every=6)
    run_suite(suite, tmp_path, executor="serial", progress=False)
    tasks, summary = write_reports(suite, tmp_path / suite.name)
    folder = tmp_path / suite.name
    for name in ("results.csv", "summary.csv", "summary.md", "gap.png", "time.png"):
        assert (folder / name).stat().st_size > 0, name
    assert len(tasks) == 6
    assert summary["tasks"].sum() == 6 and summary["failed"].sum() == 1
    noisy = summary.set_index("method").loc["noisy"]
    assert noisy["mean_gap_pct"] > 0 and noisy["max_gap_pct"] >= noisy["mean_gap_pct"]
    assert "| selftest | noisy |" in (folder / "summary.md").read_text()


def test_summary_of_partial_results(tmp_path: Path) -> None:
    suite = make_suite(n=4)
    store = ResultStore(tmp_path / "r.jsonl")
    assert summarize(task_table(suite, store)).empty


def test_toml_suite_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        '[suite]\nname = "mine"\n\n[[tasks]]\nproblem = "selftest"\ninstance = "a"\n'
        'method = "m"\nreference = 10.0\nreference_kind = "optimal"\nseeds = [0, 1, 2]\n'
        'params = { value = 10.0, noise = 0.0 }\n'
    )
    suite = load_suite_file(path)
    assert suite.name == "mine" and len(suite) == 3
    run_suite(suite, tmp_path / "out", executor="serial", progress=False)
    records = ResultStore(tmp_path / "out" / "mine" / "results.jsonl").records()
    assert [r["gap"] for r in records] == [0.0, 0.0, 0.0]
    bad = tmp_path / "bad.toml"
    bad.write_text("[[tasks]]\nproblem = 'x'\n")
    with pytest.raises(ConfigError, match="missing"):
        load_suite_file(bad)


def _orlearn(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orlearn.cli", *args], capture_output=True,
                          text=True, **kwargs)


def _selftest_suite_file(path: Path, methods: list[str], sleep: float = 0.0) -> Path:
    """A TOML suite named after ``path``'s stem: one selftest task per entry of ``methods``."""
    lines = [f'[suite]\nname = "{path.stem}"\n']
    for k, method in enumerate(methods):
        lines.append(
            f'[[tasks]]\nproblem = "selftest"\ninstance = "t{k}"\nmethod = "{method}"\n'
            f'reference = 1.0\nreference_kind = "optimal"\n'
            f'params = {{ value = 1.0, noise = 0.0, sleep = {sleep} }}\n'
        )
    path.write_text("\n".join(lines))
    return path


def test_cli_resumes_after_the_process_is_killed(tmp_path: Path) -> None:
    suite_file = _selftest_suite_file(tmp_path / "slow.toml", ["m"] * 8, sleep=0.4)
    out = tmp_path / "results"
    store = out / "slow" / "results.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "orlearn.cli", "bench", str(suite_file), "--out", str(out),
         "--executor", "serial", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if store.exists() and len(store.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = ResultStore(store).latest()
    assert 2 <= len(kept) < 8
    rerun = _orlearn("bench", str(suite_file), "--out", str(out), "--executor", "serial",
                     "--no-progress")
    assert rerun.returncode == 0, rerun.stderr
    assert f"reused {len(kept)}" in rerun.stdout
    records = ResultStore(store).records()
    assert len(records) == 8  # each task exactly once
    assert len({r["task_id"] for r in records}) == 8


def test_cli_bench_errors_are_one_line(tmp_path: Path) -> None:
    result = _orlearn("bench", "no-such-suite", "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("orlearn: error: unknown suite 'no-such-suite'")
    assert "Traceback" not in result.stderr
    listed = _orlearn("bench", "--list")
    assert listed.returncode == 0 and "quick" in listed.stdout and "milp-quick" in listed.stdout
    bad_exec = _orlearn("bench", "selftest", "--executor", "threads", "--out", str(tmp_path))
    assert bad_exec.returncode == 2 and "unknown executor" in bad_exec.stderr


def test_cli_bench_selftest_prints_table(tmp_path: Path) -> None:
    result = _orlearn("bench", "selftest", "--out", str(tmp_path), "--executor", "serial",
                      "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "selftest" in result.stdout and "failed 1" in result.stdout
    rows = [json.loads(line) for line in (tmp_path / "selftest" / "results.jsonl").open()]
    assert len(rows) == 8


def test_cli_bench_only_runs_the_chosen_tasks_then_the_rest(tmp_path: Path) -> None:
    suite_file = _selftest_suite_file(tmp_path / "two.toml", ["a", "a", "b"])
    out = tmp_path / "results"
    common = ("--out", str(out), "--executor", "serial", "--no-progress")
    first = _orlearn("bench", str(suite_file), "--only", "b", *common)
    assert first.returncode == 0, first.stderr
    records = ResultStore(out / "two" / "results.jsonl").records()
    assert [r["method"] for r in records] == ["b"]
    both = _orlearn("bench", str(suite_file), "--only", "a,t1", *common)  # method a on t1
    assert both.returncode == 0, both.stderr
    records = ResultStore(out / "two" / "results.jsonl").records()
    assert [(r["instance"], r["method"]) for r in records] == [("t2", "b"), ("t1", "a")]
    rest = _orlearn("bench", str(suite_file), *common)
    assert rest.returncode == 0 and "ran 1, reused 2" in rest.stdout
    for bad in ("zzz", "a,zzz"):  # a name that is neither a method nor an instance
        none = _orlearn("bench", str(suite_file), "--only", bad, *common)
        assert none.returncode == 2 and "'zzz' matches no method or instance" in none.stderr
    none = _orlearn("bench", str(suite_file), "--only", "b,t0", *common)  # b does not run on t0
    assert none.returncode == 2 and "matches no task" in none.stderr
    for bad_seeds in ("x", ","):
        none = _orlearn("bench", str(suite_file), "--only-seeds", bad_seeds, *common)
        assert none.returncode == 2 and "--only-seeds" in none.stderr


def test_suite_select_globs_and_run_seeds() -> None:
    tasks = [Task("selftest", f"{fam}-{i}", method, seed=s, params={"value": 1.0})
             for fam in ("sc", "ca") for i in range(3) for s in (0, 1) for method in ("x", "y")]
    suite = Suite("s", tasks)
    picked = suite.select("sc-*", seeds=[1])
    assert [(t.instance, t.method, t.seed) for t in picked.tasks] == [
        (f"sc-{i}", m, 1) for i in range(3) for m in ("x", "y")]
    assert picked.name == "s" and {t.task_id for t in picked.tasks} <= {t.task_id for t in tasks}
    assert [t.instance for t in suite.select(["y", "ca-[02]"]).tasks] == ["ca-0"] * 2 + ["ca-2"] * 2
    assert len(suite.select(seeds=[0])) == 12 and len(suite.select("x")) == 12
    with pytest.raises(ConfigError, match="'zz-\\*' matches no method or instance"):
        suite.select("zz-*")
    with pytest.raises(ConfigError, match="run seeds are \\[0, 1\\]"):
        suite.select("x", seeds=[7])
    with pytest.raises(ConfigError, match="at least one"):
        suite.select(" , ")
