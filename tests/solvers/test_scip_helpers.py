"""orlearn.solvers.scip: seeded models, reading files, converting results."""

from __future__ import annotations

import math
import re

import pytest

from orlearn.errors import ConfigError, InvalidInstanceError
from orlearn.solvers import SolutionStatus, TerminationCondition
from orlearn.solvers.scip import (
    make_scip_model,
    read_scip,
    scip_result,
    scip_seed_params,
    solve_scip,
)

T = TerminationCondition


def test_make_scip_model_sets_seeds_and_limits():
    model = make_scip_model(seed=11, time_limit=3.5, rel_gap=0.02, threads=1)
    assert model.getParam("randomization/randomseedshift") == 11
    assert model.getParam("randomization/permutationseed") == 11
    assert model.getParam("randomization/lpseed") == 11
    assert model.getParam("limits/time") == pytest.approx(3.5)
    assert model.getParam("limits/gap") == pytest.approx(0.02)
    assert scip_seed_params(2) == {
        "randomization/randomseedshift": 2,
        "randomization/permutationseed": 2,
        "randomization/lpseed": 2,
    }
    with pytest.raises(ConfigError, match="seed"):
        make_scip_model(seed=-3)


def test_scip_result_of_a_direct_model():
    model = make_scip_model(seed=1)
    x = model.addVar("x", vtype="I", lb=0, ub=10)
    y = model.addVar("y", vtype="C", lb=0, ub=4)
    model.addCons(2 * x + 3 * y <= 17)
    model.setObjective(3 * x + 2 * y, sense="maximize")
    result = solve_scip(model)
    assert result.termination == T.OPTIMAL
    assert result.status == SolutionStatus.OPTIMAL
    assert result.sense == "max"
    assert result.objective == pytest.approx(3 * 8 + 2 * (1 / 3))
    assert result.bound == result.objective
    assert result.values["x"] == pytest.approx(8)
    assert result.extra["nodes"] >= 0
    assert result.solver == "scip" and result.solver_version.startswith(
        str(model.getMajorVersion())
    )


def test_scip_result_infeasible_and_unbounded():
    model = make_scip_model()
    x = model.addVar("x", vtype="I", lb=0, ub=3)
    model.addCons(x >= 5)
    result = solve_scip(model)
    assert result.termination == T.INFEASIBLE
    assert result.status == SolutionStatus.INFEASIBLE
    assert result.objective is None and result.bound is None

    model = make_scip_model()
    x = model.addVar("x", lb=0, ub=None)
    model.setObjective(x, sense="maximize")
    result = solve_scip(model)
    assert result.termination in (T.UNBOUNDED, T.INFEASIBLE_OR_UNBOUNDED)
    assert result.status == SolutionStatus.NO_SOLUTION
    if result.termination == T.UNBOUNDED:
        assert result.bound == math.inf


def test_scip_result_after_own_optimize(tmp_path):
    path = tmp_path / "tiny.lp"
    path.write_text("minimize\n obj: x + y\nsubject to\n c1: x + 2 y >= 4\nbounds\n x <= 3\nend\n")
    model = read_scip(path, seed=0)
    model.optimize()
    result = scip_result(model)
    assert result.objective == pytest.approx(2.0)  # y = 2
    assert result.wall_time >= 0


def test_read_scip_errors(tmp_path):
    with pytest.raises(InvalidInstanceError, match="not found"):
        read_scip(tmp_path / "nope.mps")
    bad = tmp_path / "bad.mps"
    bad.write_text("this is not MPS\n")
    with pytest.raises(InvalidInstanceError, match=re.escape("SCIP cannot read bad.mps")):
        read_scip(bad)
