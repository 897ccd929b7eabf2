"""solve_file / read_problem on .mps, .mps.gz, .lp and .lp.gz files."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import highspy
import pyscipopt
import pytest

from orlearn.errors import InvalidInstanceError
from orlearn.solvers import (
    SolutionStatus,
    TerminationCondition,
    read_problem,
    solve,
    solve_file,
)

T = TerminationCondition


def highs_option(h: highspy.Highs, name: str) -> object:
    value = h.getOptionValue(name)
    return value[-1] if isinstance(value, tuple) else value  # (status, value) in highspy 1.15


def gzip_copy(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    with open(path, "rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


@pytest.fixture
def knapsack_files(lib, tmp_path) -> tuple[dict[str, Path], float]:
    """The same knapsack written as .mps, .mps.gz, .lp, .lp.gz; and its brute-force optimum."""
    w, v, cap = lib.knapsack_data(n=10, seed=5)
    m = lib.knapsack_model(w, v, cap)
    files = {}
    for ext in ("mps", "lp"):
        path = tmp_path / f"knapsack.{ext}"
        m.write(str(path), io_options={"symbolic_solver_labels": True})
        files[ext] = path
        files[ext + ".gz"] = gzip_copy(path)
    return files, lib.knapsack_brute_force(w, v, cap)


@pytest.mark.parametrize("ext", ["mps", "mps.gz", "lp", "lp.gz"])
def test_formats_and_solvers_agree(knapsack_files, ext):
    files, optimum = knapsack_files
    results = [solve_file(files[ext], solver=s) for s in ("highs", "scip")]
    for result in results:
        assert result.termination == T.OPTIMAL
        assert result.status == SolutionStatus.OPTIMAL
        assert result.objective == pytest.approx(optimum)
        assert result.sense == "max"
        assert result.values  # names as written by Pyomo: take(0), ...
        assert result.extra["nodes"] >= 0
        assert result.extra["read_time"] >= 0
    assert results[0].extra["simplex_iterations"] >= 0
    assert results[1].extra["lp_iterations"] >= 0
    assert results[0].values.keys() == results[1].values.keys()


def test_file_matches_pyomo_solve(lib, tmp_path):
    m = lib.facility_model()
    path = tmp_path / "facility.mps"
    m.write(str(path), io_options={"symbolic_solver_labels": True})
    expected = solve(m).objective
    for s in ("highs", "scip"):
        assert solve_file(str(path), solver=s, threads=1, seed=2).objective == pytest.approx(
            expected
        )


def test_read_problem_returns_configured_solver_objects(knapsack_files):
    files, _ = knapsack_files
    h = read_problem(files["mps.gz"], "highs", time_limit=5, rel_gap=0.01, seed=4)
    assert isinstance(h, highspy.Highs)
    assert h.getNumCol() == 10
    assert highs_option(h, "random_seed") == 4
    assert highs_option(h, "mip_rel_gap") == pytest.approx(0.01)
    model = read_problem(files["lp"], "scip", time_limit=5, seed=3, threads=2)
    assert isinstance(model, pyscipopt.Model)
    assert model.getNVars() == 10
    assert model.getParam("randomization/randomseedshift") == 3
    assert model.getParam("randomization/permutationseed") == 3
    assert model.getParam("limits/time") == pytest.approx(5)


def test_file_time_limit(lib, tmp_path, solver):
    path = tmp_path / "market_split.mps"
    lib.market_split().write(str(path), io_options={"symbolic_solver_labels": True})
    result = solve_file(path, solver=solver, time_limit=0.5)
    assert result.termination == T.TIME_LIMIT
    assert result.wall_time < 0.5 + 2.0
    assert result.status == (
        SolutionStatus.FEASIBLE if result.objective is not None else SolutionStatus.NO_SOLUTION
    )


def test_infeasible_file(lib, tmp_path, solver):
    path = tmp_path / "infeasible.lp"
    lib.infeasible_milp().write(str(path), io_options={"symbolic_solver_labels": True})
    result = solve_file(path, solver=solver)
    assert result.termination == T.INFEASIBLE
    assert result.status == SolutionStatus.INFEASIBLE
    assert result.objective is None and result.values == {}


BAD_FILES = {
    "missing": ("missing.mps", None, "not found"),
    "wrong extension": ("model.txt", "NAME x\n", "unsupported file type"),
    "no extension": ("model", "NAME x\n", "unsupported file type"),
    "empty": ("empty.mps", "", "empty"),
    "malformed mps": ("bad.mps", "NAME bad\nROWS\n garbage here\nCOLUMNS\n x y z\nENDATA\n", ""),
    "malformed lp": ("bad.lp", "maximize\n obj: 3 x +\nsubject to\n c1: x <= <= 4\nend\n", ""),
    "text, no model": ("hello.lp", "hello world\n", ""),
    "bad gzip": ("bad.mps.gz", b"\x1f\x8b\x08\x00garbage", ""),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_one_line_errors(tmp_path, capfd, solver, case):
    name, content, fragment = BAD_FILES[case]
    path = tmp_path / name
    if content is not None:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    with pytest.raises(InvalidInstanceError) as info:
        solve_file(path, solver=solver)
    error = info.value
    assert error.field == "path"
    assert fragment in str(error)
    assert "\n" not in str(error)
    assert error.__cause__ is None or isinstance(error.__cause__, InvalidInstanceError)
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # the solvers' own parse messages are not leaked


def test_tee_false_is_silent(knapsack_files, capfd, solver):
    files, _ = knapsack_files
    solve_file(files["mps"], solver=solver)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_tee_true_shows_the_log(knapsack_files, capfd, solver):
    files, _ = knapsack_files
    solve_file(files["mps"], solver=solver, tee=True)
    out, err = capfd.readouterr()
    assert len(out + err) > 0
