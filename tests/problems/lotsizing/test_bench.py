"""Lot-sizing benchmark tasks: every method scored on the same held-out scenarios."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from orlearn.bench import PartialResults, ResultStore, Suite, Task, get_suite, run_suite
from orlearn.bench.partial import partial_path
from orlearn.errors import ConfigError
from orlearn.problems.lotsizing.bench import run_task

PARAMS = {"items": 3, "machines": 2, "setting_seed": 1, "horizon": 6, "scenarios": 3}


def test_methods_share_scenarios_and_respect_the_bound() -> None:
    pi = run_task(Task("lotsizing", "tiny", "perfect_information",
                       options={"time_limit": 20.0}, params=PARAMS))
    assert pi.reference_kind == "bound" and pi.extra["replay_matches"]
    bounds = np.array(pi.extra["bounds"])
    rolling = run_task(Task("lotsizing", "tiny", "rolling_horizon",
                            options={"lookahead": 2, "time_limit": 5.0}, params=PARAMS))
    agent = run_task(Task("lotsizing", "tiny", "pdppo", seed=0,
                          options={"total_steps": 400, "eval_every": 200, "eval_scenarios": 2},
                          params=PARAMS))
    window = run_task(Task("lotsizing", "tiny", "window_bound", params=PARAMS))
    cut_bounds = np.array(window.extra["bounds"])
    assert window.reference_kind == "bound" and window.extra["unsolved"] == 0
    assert window.reference == pytest.approx(cut_bounds.mean())
    for outcome in (pi, rolling, agent):
        costs = np.array(outcome.extra["costs"])
        assert costs.shape == (3,) and np.all(costs >= bounds - 1e-6)  # same scenarios
        assert np.all(costs >= cut_bounds - 1e-6)
        assert outcome.objective == pytest.approx(costs.mean())
    curve = agent.extra["curve"]
    assert curve[0][0] == 0 and curve[-1][0] == 400
    # a baseline on the first scenarios only: the same scenarios, a prefix
    first = run_task(Task("lotsizing", "tiny", "rolling_horizon",
                          options={"lookahead": 2, "time_limit": 5.0, "first_scenarios": 2},
                          params=PARAMS))
    assert first.extra["scenarios"] == 2
    np.testing.assert_allclose(first.extra["costs"], rolling.extra["costs"][:2])
    for bad in (0, 4, 1.5, True):
        with pytest.raises(ConfigError, match="first_scenarios"):
            run_task(Task("lotsizing", "tiny", "rolling_horizon",
                          options={"first_scenarios": bad}, params=PARAMS))


def test_milp_baselines_resume_from_finished_scenarios(tmp_path: Path) -> None:
    task = Task("lotsizing", "tiny", "rolling_horizon", options={"lookahead": 2,
                                                                "time_limit": 5.0},
                params=PARAMS)
    suite = Suite("ls-resume", [task])
    run_suite(suite, tmp_path / "full", executor="serial", progress=False)
    (full,) = ResultStore(tmp_path / "full" / "ls-resume" / "results.jsonl").records()
    assert full["status"] == "ok" and full["extra"]["resumed_scenarios"] == 0
    assert full["extra"]["max_solve_seconds"] > 0
    assert not list((tmp_path / "full" / "ls-resume" / "partial").glob("*"))
    # a run stopped after scenario 0: its stored unit is used, the others are computed
    partial = PartialResults(partial_path(tmp_path / "cut" / "ls-resume" / "partial", task))
    partial.put("0", {"cost": 1e6, "seconds": 1.0, "solves": 0, "limited": 0,
                      "no_solution": 0})
    run_suite(suite, tmp_path / "cut", executor="serial", progress=False)
    (cut,) = ResultStore(tmp_path / "cut" / "ls-resume" / "results.jsonl").records()
    assert cut["extra"]["resumed_scenarios"] == 1
    assert cut["extra"]["costs"][0] == 1e6
    np.testing.assert_allclose(cut["extra"]["costs"][1:], full["extra"]["costs"][1:])


def test_suites_and_unknown_method() -> None:
    quick = get_suite("lotsizing-quick")
    assert {t.method for t in quick.tasks} == {"ppo", "pdppo", "perfect_information",
                                               "rolling_horizon", "window_bound"}
    paper = get_suite("lotsizing-paper")
    assert len(paper) == 4 * (3 * 5 + 3)
    assert {t.method for t in paper.tasks} == {"ppo", "pdppo", "pdppo-paper",
                                               "perfect_information", "rolling_horizon",
                                               "window_bound"}
    # the window-cut bound covers the perfect-information MILP's scenarios
    assert {t.options.get("first_scenarios") for t in paper.tasks
            if t.method in ("window_bound", "perfect_information")} == {20}
    assert {t.params["scenarios"] for t in paper.tasks} == {100}
    assert {t.options.get("first_scenarios") for t in paper.tasks
            if t.method == "rolling_horizon"} == {10}
    short = get_suite("lotsizing-short")
    assert [(t.instance, t.method, t.seed) for t in short.tasks] == [
        (t.instance, t.method, t.seed) for t in paper.tasks]
    assert {t.options.get("total_steps") for t in short.tasks if t.method == "pdppo"} == {
        300_000}
    # pdppo-paper trains PDPPO with the paper's advantage formula
    paper_agent = run_task(Task("lotsizing", "tiny", "pdppo-paper", seed=0,
                                options={"total_steps": 200, "eval_every": 200,
                                         "eval_scenarios": 2}, params=PARAMS))
    assert np.array(paper_agent.extra["costs"]).shape == (3,)
    with pytest.raises(ConfigError, match="unknown lot-sizing method"):
        run_task(Task("lotsizing", "tiny", "greedy", params=PARAMS))
