"""The hydro benchmark suites, their task runner, and ``orlearn train hydro``."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from orlearn.bench import get_suite
from orlearn.errors import ConfigError
from orlearn.problems.hydro import bench
from orlearn.problems.hydro.io import generate_system
from orlearn.problems.hydro.sddp import MyopicPolicy, simulate
from orlearn.problems.hydro.stage import deterministic_lp


@pytest.fixture(scope="module")
def suite():
    return bench.quick_suite()


def test_quick_suite_has_every_method(suite) -> None:
    assert suite.name == "hydro-quick"
    assert sorted(t.method for t in suite.tasks) == sorted(bench.METHODS)
    assert len(bench.METHODS) == 6
    for task in suite.tasks:
        assert task.problem == "hydro" and task.params["system"] == "synthetic"
        assert task.options["score_stages"] == 12 and task.options["score_paths"] == 50
        json.dumps(task.to_dict())  # tasks travel to workers as JSON
    assert [t.task_id for t in get_suite("hydro-quick").tasks] == [t.task_id for t in
                                                                    suite.tasks]


def test_myopic_and_wait_and_see_tasks(suite) -> None:
    tasks = {t.method: t for t in suite.tasks}
    bound = bench.run_task(tasks["wait_and_see"])
    assert bound.objective == bound.reference and bound.reference_kind == "bound"
    assert bound.feasible
    myopic = bench.run_task(tasks["myopic"])
    assert myopic.reference == pytest.approx(bound.reference, rel=1e-12)  # the same paths
    assert myopic.objective >= myopic.reference
    assert myopic.extra["penalty"] == 0.0 and myopic.extra["eval_paths"] == 50
    # the task's numbers, recomputed by hand on the documented paths
    system = generate_system(n_plants=3, n_buses=4, n_thermal=4, stages=12, scenarios=5, seed=0)
    paths = system.sample_inflows(50, 12, seed=bench.EVAL_SEED + tasks["myopic"].seed)
    assert bound.objective == pytest.approx(
        np.mean([deterministic_lp(system, p)[0] for p in paths]), rel=1e-9)
    assert myopic.objective == pytest.approx(
        simulate(system, MyopicPolicy(system), paths).cost.mean(), rel=1e-9)


def test_unknown_method_and_system(suite) -> None:
    task = replace(suite.tasks[0], method="oracle",
                   options={"score_stages": 2, "score_paths": 1})
    with pytest.raises(ConfigError):
        bench.run_task(task)
    with pytest.raises(ConfigError):
        bench.make_system({"system": "atlantis"})


def test_train_hydro_command(tmp_path: Path) -> None:
    # a subprocess: `orlearn train <problem>` is registered from sys.argv at start-up, so
    # typer's CliRunner on orlearn.cli.app would not see the hydro command
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "orlearn.cli", "train", "hydro", "--system", "synthetic",
         "--iterations", "5", "--stages", "12", "--score-stages", "12", "--score-paths", "5",
         "--out", str(out), "--no-progress"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (out / "best.safetensors").exists() and (out / "best.json").exists()
    record = json.loads((out / "ts-ddr-result.json").read_text())
    assert record["config"]["iterations"] == 5 and record["config"]["stages"] == 12
    assert set(record["results"]) == {"ts-ddr", "myopic"}
    for row in record["results"].values():
        assert row["mean"] >= record["wait_and_see"] - 1e-6
    assert "wait-and-see bound" in result.stdout


def test_train_hydro_command_rejects_bad_options(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orlearn.cli", "train", "hydro", "--method", "oracle",
         "--out", str(tmp_path / "x")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 2
    assert "orlearn: error:" in result.stderr and "--method" in result.stderr
