"""The orlearn command line: info, solve, bench quick, generate, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "milp"


def orlearn(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orlearn.cli", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_info_lists_versions_devices_and_solvers() -> None:
    result = orlearn("info")
    assert result.returncode == 0, result.stderr
    for needle in ("orlearn", "torch", "devices", "solver highs", "solver scip"):
        assert needle in result.stdout


@pytest.mark.parametrize("solver", ["highs", "scip"])
@pytest.mark.parametrize(("name", "optimum"), [("knapsack12.mps", 215.0),
                                                ("facility6x12.mps.gz", 1226.1)])
def test_solve_example_files_with_both_solvers(solver: str, name: str, optimum: float) -> None:
    result = orlearn("solve", str(EXAMPLES / name), "--solver", solver, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["termination"] == "optimal" and data["solver"] == solver
    assert data["objective"] == pytest.approx(optimum, rel=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["solve", "missing.mps"], "file not found"),
        (["solve", str(EXAMPLES / "knapsack12.mps"), "--solver", "cplex"], "unknown solver"),
        (["solve", str(EXAMPLES / "knapsack12.mps"), "--time-limit", "-5"], "time_limit"),
        (["solve", str(ROOT / "README.md")], "unsupported file type"),
        (["bench", "nonexistent"], "unknown suite"),
        (["generate", "milp", "--family", "tsp"], "unknown MILP family"),
    ],
)
def test_bad_input_gives_one_line_error(args: list[str], message: str) -> None:
    result = orlearn(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("orlearn: error:"), result.stderr
    assert message in lines[0]


@pytest.mark.parametrize(("args", "message"), [(["no-such-command"], "No such command"),
                                                (["bench", "--no-such-option"], "No such option")])
def test_usage_errors_print_usage_not_a_traceback(args: list[str], message: str) -> None:
    result = orlearn(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_malformed_mps_is_refused_by_both_solvers(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mps"
    bad.write_text("NAME broken\nROWS\n this is not mps\n")
    for solver in ("highs", "scip"):
        result = orlearn("solve", str(bad), "--solver", solver)
        assert result.returncode == 2
        assert result.stderr.startswith("orlearn: error: path:"), result.stderr


def test_quick_suite_prints_its_table(tmp_path: Path) -> None:
    result = orlearn("bench", "quick", "--out", str(tmp_path), "--workers", "2", "--no-progress")
    assert result.returncode == 0, result.stderr
    from orlearn.bench import get_suite

    n_tasks = len(get_suite("quick").tasks)
    assert f"quick ({n_tasks}/{n_tasks} tasks" in result.stdout
    summary = (tmp_path / "quick" / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("problem,method,tasks,ok,failed,feasible,mean_gap_pct")
    rows = [json.loads(line) for line in (tmp_path / "quick" / "results.jsonl").open()]
    assert len(rows) == n_tasks and all(r["status"] == "ok" and r["feasible"] for r in rows)
    milp = [r for r in rows if r["problem"] == "milp"]
    assert len(milp) == 14
    assert all(abs(r["gap"]) < 1e-6 for r in milp)  # exact solvers reach the exact references
    # the quick inventory tasks are heuristics/short trainings: close to, never below, the optimum
    assert all(-0.01 < r["gap"] < 0.2 for r in rows if r["problem"] == "inventory")
    # hydro: every policy costs at least the wait-and-see bound on the same paths
    assert all(r["gap"] >= -1e-9 for r in rows if r["problem"] == "hydro")
    # branching: every rule (the shipped GCNN included) proves the same optimum per instance
    branching = [r for r in rows if r["problem"] == "branching"]
    assert branching and all(r["extra"]["scip_status"] == "optimal" for r in branching)
    for instance in {r["instance"] for r in branching}:
        values = [r["objective"] for r in branching if r["instance"] == instance]
        assert max(values) - min(values) < 1e-6
    assert "Branching: 1-shifted geometric means" in result.stdout


def test_generate_then_solve_matches_recorded_optima(tmp_path: Path) -> None:
    result = orlearn("generate", "milp", "--family", "ufl", "--size", "6", "--count", "2",
                     "--out", str(tmp_path), "--fmt", "mps.gz")
    assert result.returncode == 0, result.stderr
    optima = json.loads((tmp_path / "optima.json").read_text())
    assert len(optima) == 2
    for name, entry in optima.items():
        solved = orlearn("solve", str(tmp_path / name), "--solver", "scip", "--json")
        assert json.loads(solved.stdout)["objective"] == pytest.approx(entry["objective"],
                                                                       rel=1e-7)


def test_generate_branching_writes_splits_and_labels(tmp_path: Path) -> None:
    out = tmp_path / "sc"
    result = orlearn("generate", "branching", "--family", "setcover", "--size", "tiny",
                     "--n-train", "2", "--n-valid", "1", "--n-test", "2", "--out", str(out),
                     "--label", "--label-time-limit", "30", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert len(list((out / "train").glob("*.mps"))) == 2
    assert len(list((out / "test").glob("*.mps"))) == 2
    rows = (out / "hardness.csv").read_text().splitlines()
    assert len(rows) == 3 and "easy" in rows[1]
    bad = orlearn("generate", "branching", "--family", "nosuch", "--out", str(tmp_path / "x"))
    assert bad.returncode != 0 and "nosuch" in (bad.stderr + bad.stdout)
