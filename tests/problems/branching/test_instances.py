"""Seeded MILP instance distributions: sizes, structure, solvability, files and labels."""

from __future__ import annotations

import csv
import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from orlearn.errors import ConfigError, InvalidInstanceError
from orlearn.problems.branching import instances as inst
from orlearn.solvers.scip import make_scip_model, read_scip, solve_scip

TINY_COUNTS = {
    # family: (variables, constraints); None where the count is random
    "setcover": (120, 60),
    "cauctions": (60, None),
    "facilities": (8 + 15 * 8, 15 + 8 + 1 + 15 * 8),
    "indset": (40, None),
    "vertexcover": (40, 4 * 5 // 2 + 4 * (40 - 5)),
    "gisp": (None, None),
}


def _mps_body(model, path: Path) -> list[str]:
    """MPS lines of ``model`` without the ones naming the problem (the name holds the seed)."""
    inst.write_instance(model, path)
    name = model.getProbName()
    return [line for line in path.read_text().splitlines() if name not in line]


@pytest.mark.parametrize("family", inst.FAMILIES)
def test_tiny_instances_build_and_solve(family: str) -> None:
    model = inst.build_instance(family, "tiny", seed=3)
    assert model.getProbName() == f"{family}-tiny-3"
    n_vars, n_conss = TINY_COUNTS[family]
    if n_vars is not None:
        assert model.getNVars() == n_vars
    if n_conss is not None:
        assert model.getNConss() == n_conss
    inst.check_integer_program(model)
    model.setParam("limits/time", 30.0)
    result = solve_scip(model, with_values=False)
    assert result.extra["scip_status"] == "optimal"
    assert result.objective is not None and math.isfinite(result.objective)


@pytest.mark.parametrize("family", inst.FAMILIES)
def test_generators_are_seeded(family: str, tmp_path: Path) -> None:
    first = _mps_body(inst.build_instance(family, "tiny", seed=5), tmp_path / "a.mps")
    again = _mps_body(inst.build_instance(family, "tiny", seed=5), tmp_path / "b.mps")
    other = _mps_body(inst.build_instance(family, "tiny", seed=6), tmp_path / "c.mps")
    assert first == again
    assert first != other
    full_a = (tmp_path / "a.mps").read_text()
    inst.write_instance(inst.build_instance(family, "tiny", seed=5), tmp_path / "d.mps")
    assert (tmp_path / "d.mps").read_text() == full_a


def test_setcover_nonzero_structure() -> None:
    model = inst.build_instance("setcover", "tiny", seed=1)
    col_count = dict.fromkeys((v.name for v in model.getVars()), 0)
    nnz = 0
    for cons in model.getConss():
        row = model.getValsLinear(cons)
        assert len(row) >= 2
        assert all(coef == 1.0 for coef in row.values())
        assert model.getRhs(cons) >= model.infinity() and model.getLhs(cons) == 1.0
        for name in row:
            col_count[name] += 1
        nnz += len(row)
    assert min(col_count.values()) >= 1
    assert nnz == round(60 * 120 * 0.1)
    costs = [v.getObj() for v in model.getVars()]
    assert all(c == int(c) and 1 <= c <= 100 for c in costs)


def test_graphs_and_clique_partition() -> None:
    rng = np.random.default_rng(0)
    edges = inst.barabasi_albert_edges(60, 4, rng)
    assert len(edges) == 10 + 4 * (60 - 5)
    pairs = {tuple(e) for e in edges.tolist()}
    assert len(pairs) == len(edges) and all(u < v for u, v in pairs)
    cliques = inst.greedy_clique_partition(60, edges)
    covered = [(a, b) for c in cliques for i, a in enumerate(c) for b in c[i + 1 :]]
    assert sorted(covered) == sorted(pairs)  # every edge in exactly one clique
    assert max(len(c) for c in cliques) >= 3
    er = inst.erdos_renyi_edges(30, 0.5, np.random.default_rng(1))
    assert 0 < len(er) < 30 * 29 // 2 and np.all(er[:, 0] < er[:, 1])


def test_easy_sizes_build() -> None:
    setcover = inst.build_instance("setcover", "easy", seed=0)
    assert (setcover.getNVars(), setcover.getNConss()) == (1000, 500)
    facilities = inst.build_instance("facilities", "easy", seed=0)
    assert facilities.getNVars() == 100 + 100 * 100
    assert facilities.getNConss() == 100 + 100 + 1 + 100 * 100


def test_custom_size_dict() -> None:
    model = inst.build_instance("vertexcover", {"n_nodes": 12, "affinity": 2}, seed=4)
    assert model.getProbName() == "vertexcover-custom-4"
    assert (model.getNVars(), model.getNConss()) == (12, 3 + 2 * (12 - 3))


@pytest.mark.parametrize("suffix", [".mps", ".lp", ".mps.gz"])
def test_write_and_read_back(suffix: str, tmp_path: Path) -> None:
    model = inst.build_instance("cauctions", "tiny", seed=2)
    path = inst.write_instance(model, tmp_path / "sub" / f"auction{suffix}")
    assert path.is_file() and list(path.parent.iterdir()) == [path]
    if suffix.endswith(".gz"):
        assert gzip.decompress(path.read_bytes()).startswith(b"*")
    back = read_scip(path, time_limit=30)
    assert (back.getNVars(), back.getNConss()) == (model.getNVars(), model.getNConss())
    original = solve_scip(model, with_values=False)
    again = solve_scip(back, with_values=False)
    assert again.objective == pytest.approx(original.objective)  # maximisation kept


def test_write_rejects_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(InvalidInstanceError) as err:
        inst.write_instance(inst.build_instance("gisp", "tiny"), tmp_path / "x.txt")
    assert err.value.field == "path"


def test_instance_seed() -> None:
    seeds = {
        inst.instance_seed("indset", "tiny", split, i, 0)
        for split in inst.SPLITS
        for i in range(50)
    }
    assert len(seeds) == 150 and all(0 <= s < 2**31 for s in seeds)
    assert inst.instance_seed("indset", "tiny", "train", 3) == inst.instance_seed(
        "indset", "tiny", "train", 3, 0
    )
    assert inst.instance_seed("indset", "tiny", "train", 3, 1) != inst.instance_seed(
        "indset", "tiny", "train", 3, 0
    )


def test_generate_distribution_and_resume(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    dist = inst.generate_distribution(
        "indset", "tiny", out, n_train=3, n_valid=1, n_test=2, seed=7
    )
    assert dist.name == "indset_tiny"
    assert dist.counts == {"train": 3, "valid": 1, "test": 2}
    assert dist.files("valid") == (out / "valid" / "indset_tiny_0000.mps",)
    assert all(p.is_file() for split in inst.SPLITS for p in dist.files(split))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["family"] == "indset" and manifest["size"] == "tiny"
    assert manifest["params"] == inst.SIZES["indset"]["tiny"] and manifest["seed"] == 7
    assert manifest["counts"] == {"train": 3, "valid": 1, "test": 2}
    assert manifest["files"]["test"] == ["test/indset_tiny_0000.mps", "test/indset_tiny_0001.mps"]
    seeds = [s for split in inst.SPLITS for s in manifest["instance_seeds"][split]]
    assert len(set(seeds)) == len(seeds) == 6
    first = out / "train" / "indset_tiny_0000.mps"
    assert f"indset-tiny-{manifest['instance_seeds']['train'][0]}" in first.read_text()

    stamps = {p: p.stat().st_mtime_ns for split in inst.SPLITS for p in dist.files(split)}
    text = first.read_text()
    first.unlink()
    again = inst.generate_distribution(
        "indset", "tiny", out, n_train=4, n_valid=1, n_test=2, seed=7
    )
    assert again.counts["train"] == 4
    assert first.read_text() == text  # rebuilt identically
    for path, stamp in stamps.items():
        if path != first:
            assert path.stat().st_mtime_ns == stamp  # not rewritten

    read = inst.Distribution.from_folder(out)
    assert read == again
    (out / "manifest.json").unlink()
    by_folder = inst.Distribution.from_folder(out)  # train/valid/test subfolders
    assert by_folder.name == "dist" and by_folder.splits == again.splits
    inst.generate_distribution("indset", "tiny", out, n_train=1, n_valid=0, n_test=0, seed=7)
    with pytest.raises(ConfigError):
        inst.generate_distribution("indset", "tiny", out, n_train=1, seed=8)
    with pytest.raises(ConfigError):
        inst.generate_distribution("indset", "tiny", tmp_path / "bad", n_train=-1)


def test_from_folder_manifest_only(tmp_path: Path) -> None:
    for seed, name in enumerate(("a", "b", "c")):
        model = inst.build_instance("gisp", "tiny", seed=seed)
        inst.write_instance(model, tmp_path / f"{name}.mps")
    files = {"train": ["a.mps", "b.mps"], "valid": [], "test": ["c.mps"]}
    (tmp_path / "manifest.json").write_text(
        json.dumps({"family": "gisp", "size": "tiny", "files": files})
    )
    dist = inst.Distribution.from_folder(tmp_path)
    assert dist.name == "gisp_tiny"
    assert dist.files("train") == (tmp_path / "a.mps", tmp_path / "b.mps")
    assert dist.files("test") == (tmp_path / "c.mps",)


def test_from_folder_mixed_files(tmp_path: Path) -> None:
    model = inst.build_instance("setcover", "tiny")
    names = [f"m{i}.mps" for i in range(6)] + ["l0.lp", "l1.lp"]
    for name in names:
        inst.write_instance(model, tmp_path / name)
    inst.write_instance(model, tmp_path / "deep" / "z.mps.gz")
    inst.write_instance(model, tmp_path / "deep" / "z.lp.gz")
    (tmp_path / "notes.txt").write_text("not an instance")
    (tmp_path / ".hidden.mps").write_text("ignored")
    dist = inst.Distribution.from_folder(tmp_path, valid_fraction=0.2, test_fraction=0.3, seed=1)
    assert dist.counts == {"train": 5, "valid": 2, "test": 3}
    every = [p for split in inst.SPLITS for p in dist.files(split)]
    assert len(set(every)) == 10
    assert {p.name for p in every} >= {"z.mps.gz", "z.lp.gz", "l0.lp"}
    assert all(list(dist.files(s)) == sorted(dist.files(s)) for s in inst.SPLITS)
    same = inst.Distribution.from_folder(tmp_path, valid_fraction=0.2, test_fraction=0.3, seed=1)
    assert same == dist
    other = inst.Distribution.from_folder(tmp_path, valid_fraction=0.2, test_fraction=0.3, seed=2)
    assert other.counts == dist.counts
    with pytest.raises(ConfigError):
        dist.files("validation")
    with pytest.raises(ConfigError):
        inst.Distribution.from_folder(tmp_path, valid_fraction=0.6, test_fraction=0.6)


def test_from_folder_empty(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(InvalidInstanceError) as err:
        inst.Distribution.from_folder(tmp_path)
    assert err.value.field == "path" and err.value.fix
    with pytest.raises(InvalidInstanceError):
        inst.Distribution.from_folder(tmp_path / "missing")


def test_check_integer_program_rejects_lp() -> None:
    model = make_scip_model(name="lp")
    x = model.addVar("x", vtype="C", lb=0, ub=1, obj=1.0)
    y = model.addVar("y", vtype="C", lb=0, ub=1, obj=2.0)
    model.addCons(x + y >= 1, name="c")
    with pytest.raises(InvalidInstanceError, match="no integer variables") as err:
        inst.check_integer_program(model)
    assert err.value.field in ("path", "variables")
    inst.check_integer_program(inst.build_instance("facilities", "tiny"))


def test_hardness_label() -> None:
    assert inst.hardness_label(5.0, "optimal", 600.0) == "easy"
    assert inst.hardness_label(150.0, "optimal", 600.0) == "medium"
    assert inst.hardness_label(1500.0, "optimal", 3600.0) == "hard"
    assert inst.hardness_label(600.0, "timelimit", 600.0) == ">limit"
    assert inst.hardness_label(3600.0, "timelimit", 3600.0) == "hard"
    assert inst.hardness_label(1.5, "optimal", 10.0, scale=0.001) == "hard"
    assert inst.hardness_label(0.5, "optimal", 10.0, scale=0.001) == "medium"
    assert inst.hardness_label(0.05, "optimal", 10.0, scale=0.001) == "easy"


def test_label_hardness_writes_and_resumes(tmp_path: Path, monkeypatch) -> None:
    files = [
        inst.write_instance(inst.build_instance(f, "tiny", seed=1), tmp_path / f"{f}.mps")
        for f in ("setcover", "indset")
    ]
    out_csv = tmp_path / "labels" / "hardness.csv"
    rows = inst.label_hardness(files[:1], time_limit=30, scale=1e-6, out_csv=out_csv)
    assert len(rows) == 1 and rows[0]["status"] == "optimal"
    rows = inst.label_hardness(files, time_limit=30, scale=1e-6, out_csv=out_csv)
    assert [r["file"] for r in rows] == [str(f) for f in files]
    for row in rows:
        assert row["status"] == "optimal" and row["nodes"] >= 1
        assert row["label"] == inst.hardness_label(row["time"], "optimal", 30, scale=1e-6)
    with open(out_csv, newline="") as fh:
        stored = list(csv.DictReader(fh))
    assert [r["file"] for r in stored] == [str(f) for f in files]
    assert list(stored[0]) == ["file", "status", "time", "nodes", "objective", "label"]

    def no_solve(*args, **kwargs):
        raise AssertionError("a labelled file was solved again")

    monkeypatch.setattr(inst, "solve_scip", no_solve)
    again = inst.label_hardness(files, time_limit=30, scale=1e-6, out_csv=out_csv)
    assert [(r["file"], r["label"]) for r in again] == [(r["file"], r["label"]) for r in rows]
    assert again[1]["objective"] == pytest.approx(rows[1]["objective"])


def test_label_hardness_time_limit(tmp_path: Path) -> None:
    path = inst.write_instance(inst.build_instance("gisp", "easy", seed=0), tmp_path / "g.mps")
    (row,) = inst.label_hardness([path], time_limit=0.2, thresholds=(0.01, 0.1))
    assert row["status"] == "timelimit" and row["label"] == "hard"
    (row,) = inst.label_hardness([path], time_limit=0.2, thresholds=(0.1, 1.0))
    assert row["status"] == "timelimit" and row["label"] == ">limit"


def test_bad_options() -> None:
    with pytest.raises(ConfigError):
        inst.build_instance("knapsack", "tiny")
    with pytest.raises(ConfigError):
        inst.build_instance("setcover", "huge")
    with pytest.raises(ConfigError):
        inst.build_instance("setcover", {"n_rows": 10, "colums": 20})
    with pytest.raises(ConfigError):
        inst.build_instance("indset", {"n_nodes": -3})
    with pytest.raises(ConfigError):
        inst.build_instance("setcover", "tiny", seed=-1)
    with pytest.raises(ConfigError):
        inst.generate_distribution("nope", "tiny")
    with pytest.raises(ConfigError):
        inst.label_hardness([], thresholds=(10.0, 1.0))
