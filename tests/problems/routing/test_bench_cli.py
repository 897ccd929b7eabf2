"""Routing from the command line and the benchmark harness: solve, generate, train, suites."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from orlearn.bench import Task, get_suite
from orlearn.errors import ConfigError, InvalidInstanceError
from orlearn.problems.routing import bench
from orlearn.problems.routing.experts import generate_dataset
from orlearn.problems.routing.instances import TSPInstance
from orlearn.problems.routing.io import read_tour, read_vrplib_solution, write_tsplib
from orlearn.problems.routing.train import BQTrainConfig, train_bq

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "data" / "routing"


def orlearn(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orlearn.cli", *args], capture_output=True,
                          text=True)


@pytest.fixture(scope="module")
def tiny_tsp_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A one-epoch TSP-10 BQ policy (a toy: only its plumbing is under test)."""
    root = tmp_path_factory.mktemp("bq")
    data = generate_dataset("tsp", 10, 8, root / "train", seed=0, chunk_size=4, workers=1,
                            progress=False)
    valid = generate_dataset("tsp", 10, 4, root / "valid", seed=1, chunk_size=4, workers=1,
                             progress=False)
    config = BQTrainConfig(problem="tsp", data=str(data), valid_data=str(valid), n_valid=4,
                           dim=16, layers=1, heads=2, ff_dim=32, batch_size=8, epochs=1,
                           steps_per_epoch=2, device="cpu")
    train_bq(config, root / "run", progress=False)
    return str(root / "run" / "best")


# ----------------------------------------------------------------------------- orlearn solve


def test_solve_tsplib_file_with_lkh_writes_tour_and_plot(tmp_path: Path) -> None:
    tour_file, png = tmp_path / "out.tour", tmp_path / "out.png"
    result = orlearn("solve", str(EXAMPLES / "orlearn30.tsp"), "--method", "lkh", "--out",
                     str(tour_file), "--plot", str(png), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["objective"] == pytest.approx(4150.0) and data["feasible"]
    assert data["gap"] == pytest.approx(0.0)
    assert sorted(read_tour(tour_file).tolist()) == list(range(30))
    assert png.stat().st_size > 1000


def test_solve_vrp_and_kp_files_print_cost_gap_time(tmp_path: Path) -> None:
    sol = tmp_path / "routes.sol"
    result = orlearn("solve", str(EXAMPLES / "orlearn-n11-k4.vrp"), "--method", "pyvrp",
                     "--time-limit", "0.5", "--out", str(sol))
    assert result.returncode == 0, result.stderr
    for needle in ("objective:", "gap:", "time:", "optimum 5191"):
        assert needle in result.stdout
    routes, cost = read_vrplib_solution(sol)
    assert sorted(np.concatenate(routes).tolist()) == list(range(1, 11)) and cost >= 5191
    result = orlearn("solve", str(EXAMPLES / "orlearn-kp50.json"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["objective"] == pytest.approx(1954.0)


def test_solve_with_a_bq_checkpoint(tiny_tsp_checkpoint: str, tmp_path: Path) -> None:
    path = write_tsplib(TSPInstance(np.random.default_rng(0).random((12, 2)), name="t12"),
                        tmp_path / "t12.tsp")
    result = orlearn("solve", str(path), "--method", "bq", "--beam", "3", "--checkpoint",
                     tiny_tsp_checkpoint, "--optimum", "3.0", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["feasible"] and data["method"] == "bq" and data["gap"] is not None


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("NAME: t\nTYPE: TSP\nDIMENSION: 5\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n"
         "1 0 0\n2 1 1\n", [], "NODE_COORD_SECTION"),
        ("NAME: t\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: XRAY1\nNODE_COORD_SECTION\n"
         "1 0 0\n2 1 1\n3 2 0\n", [], "EDGE_WEIGHT_TYPE"),
        ("NAME: t\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n"
         "1 0 0\n2 1 1\n3 2 0\n", ["--method", "pyvrp"], "unknown method"),
        ("NAME: t\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n"
         "1 0 0\n2 1 1\n3 2 0\n", ["--method", "bq", "--checkpoint", "routing-nothing"],
         "no checkpoint"),
    ],
)
def test_bad_routing_input_gives_one_line_error(tmp_path: Path, content: str, args: list[str],
                                                message: str) -> None:
    bad = tmp_path / "bad.tsp"
    bad.write_text(content)
    result = orlearn("solve", str(bad), *args)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("orlearn: error:"), result.stderr
    assert message in lines[0]


def test_generate_and_train_commands(tmp_path: Path) -> None:
    data, valid, run = tmp_path / "d", tmp_path / "v", tmp_path / "run"
    for folder, seed in ((data, "0"), (valid, "1")):
        result = orlearn("generate", "routing", "--problem", "kp", "--n", "20", "--count", "4",
                         "--seed", seed, "--out", str(folder), "--chunk-size", "2",
                         "--workers", "1", "--no-progress")
        assert result.returncode == 0, result.stderr
        assert len(list(folder.glob("chunk-*.npz"))) == 2
    result = orlearn("train", "routing", "--problem", "kp", "--data", str(data),
                     "--valid-data", str(valid), "--n-valid", "4", "--dim", "16", "--layers",
                     "1", "--heads", "2", "--ff-dim", "32", "--batch-size", "4", "--epochs",
                     "1", "--steps-per-epoch", "2", "--device", "cpu", "--out", str(run),
                     "--no-progress")
    assert result.returncode == 0, result.stderr
    assert (run / "best.safetensors").exists()
    config = json.loads((run / "best.json").read_text())
    assert config["training"]["command"].startswith("orlearn train routing")


# ----------------------------------------------------------------------------- benchmarks


def _tiny_params(problem: str, n: int, count: int, start: int, stop: int) -> dict:
    method, options = bench.EXPERT[problem]
    return {"set": f"{problem}{n}", "problem": problem, "n": n, "count": count, "seed": 7,
            "start": start, "stop": stop, "knn": None, "reference_method": method,
            "reference_options": options if options is not None
            else {"time_limit": 0.2, "seed": 0}}


def test_set_tasks_store_references_once_and_score_methods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_tsp_checkpoint: str
) -> None:
    monkeypatch.setattr(bench, "reference_dir", lambda: tmp_path / "refs")
    params = _tiny_params("tsp", 10, 6, 0, 3)
    records = []
    for method, options in (("lkh", {}), ("insertion", {}),
                            ("bq-greedy", {"checkpoint": tiny_tsp_checkpoint})):
        task = Task("routing", "tsp10[0:3]", method, options=options, params=params)
        outcome = bench.run_task(task)
        assert outcome.feasible and len(outcome.extra["gaps"]) == 3
        records.append({"status": "ok", "method": method, "time": outcome.time,
                        "extra": outcome.extra})
        if method == "lkh":
            assert max(abs(g) for g in outcome.extra["gaps"]) < 1e-9  # LKH is the reference
        else:
            assert min(outcome.extra["gaps"]) >= -1e-9
    stored = list((tmp_path / "refs" / "tsp10-s7").glob("*.json"))
    assert len(stored) == 1
    mtime = stored[0].stat().st_mtime_ns
    bench.run_task(Task("routing", "tsp10[0:3]", "nearest", params=params))
    assert stored[0].stat().st_mtime_ns == mtime  # read, not recomputed
    text, table = bench.report(records)
    assert "mean gap" in text and set(table["method"]) == {"lkh", "insertion", "bq-greedy"}


def test_parallel_workers_compute_a_chunk_reference_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers starting on one chunk: the second waits for the first's stored costs."""
    from orlearn.problems.routing import baselines

    monkeypatch.setattr(bench, "reference_dir", lambda: tmp_path / "refs")
    real_solve = baselines.solve
    calls = []

    def slow_solve(instance, method, **options):
        calls.append(instance.name)
        time.sleep(0.05)
        return real_solve(instance, method, **options)

    monkeypatch.setattr(baselines, "solve", slow_solve)
    params = _tiny_params("tsp", 10, 6, 0, 3)
    with ThreadPoolExecutor(2) as pool:  # flock: two open files conflict even in one process
        first, second = pool.map(bench.ensure_references, [params, params])
    assert first == second and len(first) == 3
    assert sorted(calls) == sorted(f"tsp10-s7-{i}" for i in range(3))  # once each, not twice
    assert [p.name for p in (tmp_path / "refs" / "tsp10-s7").iterdir()] == ["00000-00003.json"]


@pytest.mark.parametrize(("problem", "n", "method"), [("cvrp", 8, "savings"),
                                                      ("kp", 20, "greedy")])
def test_cvrp_and_kp_sets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problem: str,
                          n: int, method: str) -> None:
    monkeypatch.setattr(bench, "reference_dir", lambda: tmp_path / "refs")
    params = _tiny_params(problem, n, 4, 0, 2)
    task = Task("routing", f"{problem}{n}[0:2]", method, params=params,
                sense="max" if problem == "kp" else "min")
    outcome = bench.run_task(task)
    assert outcome.feasible and outcome.extra["feasible_count"] == 2
    assert min(outcome.extra["gaps"]) >= -1e-6  # nobody beats the exact / HGS reference here


def test_size_bands_of_file_suite_reports() -> None:
    assert [bench.size_band(n) for n in (5, 100, 101, 200, 201, 500, 501, 1001)] == [
        "n<=100", "n<=100", "n101-200", "n101-200", "n201-500", "n201-500", "n>500", "n>500"]
    records = [{"status": "ok", "method": "lkh", "time": 1.0, "params": {"file": f"f{n}"},
                "extra": {"set": "s", "n": n, "gaps": [gap], "instances": 1,
                          "feasible_count": 1}}
               for n, gap in ((600, 3.0), (50, 1.0), (70, 2.0))]
    _, table = bench.report(records)
    assert list(table["set"]) == ["s", "s n<=100", "s n>500"]
    assert list(table["mean_gap_pct"]) == pytest.approx([2.0, 1.5, 3.0])
    assert list(table["instances"]) == [3, 2, 1]


def test_registered_suites_have_the_issue_sizes() -> None:
    suite = get_suite("routing-tsp")
    counts: dict[str, int] = {}
    for task in suite.tasks:
        if task.method == "lkh":
            counts[task.params["set"]] = counts.get(task.params["set"], 0) + (
                task.params["stop"] - task.params["start"])
    assert counts == {"tsp100": 1000, "tsp200": 128, "tsp500": 128, "tsp1000": 128}
    cvrp = get_suite("routing-cvrp")
    assert {t.params["set"] for t in cvrp.tasks} == {"cvrp100", "cvrp200", "cvrp500",
                                                     "cvrp1000"}
    kp = get_suite("routing-kp")
    assert sum(t.params["stop"] - t.params["start"] for t in kp.tasks
               if t.method == "greedy") == 1000
    assert all(t.sense == "max" for t in kp.tasks)
    # test sets never reuse a training seed
    assert all(t.params["seed"] >= bench.TEST_SEED_OFFSET for t in suite.tasks)


def test_file_suite_reads_a_folder_with_optima(tmp_path: Path) -> None:
    folder = tmp_path / "tsplib"
    folder.mkdir()
    (folder / "orlearn30.tsp").write_text((EXAMPLES / "orlearn30.tsp").read_text())
    (folder / "optima.csv").write_text("name,optimum,source\norlearn30,4150,test\n")
    suite = get_suite("routing-tsplib", folder=folder)
    assert {t.method for t in suite.tasks} == {"bq-greedy", "bq-beam16", "lkh", "insertion"}
    lkh = next(t for t in suite.tasks if t.method == "lkh")
    outcome = bench.run_task(lkh)
    assert outcome.objective == pytest.approx(4150.0) and outcome.feasible
    record = {"status": "ok", "method": "lkh", "time": outcome.time,
              "params": lkh.params, "extra": outcome.extra}
    text, table = bench.report([record])
    # a file suite's report has the all-files row, then the file's size band (30 nodes)
    assert list(table["set"]) == ["routing-tsplib", "routing-tsplib n<=100"]
    assert "routing-tsplib n<=100" in text
    fixed = (EXAMPLES / "orlearn30.tsp").read_text().replace(
        "NODE_COORD_SECTION", "FIXED_EDGES_SECTION\n1 2\n-1\nNODE_COORD_SECTION")
    (folder / "fixed30.tsp").write_text(fixed)
    (folder / "optima.csv").write_text(
        "name,optimum,source\norlearn30,4150,test\nfixed30,4000,test\n")
    with pytest.warns(UserWarning, match=r"skipped 1 file\(s\) the reader rejects "
                                         r"\(unsupported or malformed\): fixed30.tsp "
                                         r"\(FIXED_EDGES_SECTION: "):
        again = get_suite("routing-tsplib", folder=folder)
    assert [t.task_id for t in again.tasks] == [t.task_id for t in suite.tasks]
    assert "skipped 1" in again.description
    # a truncated file is skipped too, and the warning says why (the reader's message)
    lines = (EXAMPLES / "orlearn30.tsp").read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if line.startswith("NODE_COORD_SECTION")) + 5
    (folder / "cut30.tsp").write_text("\n".join(lines[:cut]) + "\n")
    (folder / "optima.csv").write_text(
        "name,optimum,source\norlearn30,4150,test\nfixed30,4000,test\ncut30,4000,test\n")
    with pytest.warns(UserWarning, match=r"skipped 2 file\(s\).*cut30.tsp \(NODE_COORD_SECTION"):
        again = get_suite("routing-tsplib", folder=folder)
    assert [t.task_id for t in again.tasks] == [t.task_id for t in suite.tasks]
    with pytest.raises(InvalidInstanceError, match="optima.csv"):
        (folder / "optima.csv").unlink()
        get_suite("routing-tsplib", folder=folder)
    with pytest.raises(ConfigError, match="folder"):
        get_suite("routing-kp", folder=folder)
