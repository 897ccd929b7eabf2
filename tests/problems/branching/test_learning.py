"""Bipartite features, batching, the GCNN branching rule inside SCIP, strong-branching samples,
imitation training and the benchmark report."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from orlearn.errors import CheckpointError, ConfigError, InvalidInstanceError
from orlearn.problems.branching.features import (
    CONS_FEATURES,
    VAR_FEATURES,
    BipartiteState,
    _LPCache,
    extract_state,
    lp_candidates,
    to_data,
)
from orlearn.problems.branching.instances import build_instance, write_instance
from orlearn.problems.branching.model import GCNN, build_model, load_policy
from orlearn.problems.branching.rules import sample_episode, solve_with
from orlearn.solvers.scip import make_scip_model

pyscipopt = pytest.importorskip("pyscipopt")

SMALL_SETCOVER = {"n_rows": 250, "n_cols": 500, "density": 0.05}


class _Capture(pyscipopt.Branchrule):
    """Record the state and candidates at the first branching call, then let SCIP branch."""

    def __init__(self) -> None:
        self.state: BipartiteState | None = None
        self.positions: np.ndarray | None = None
        self.lp: dict[str, object] = {}

    def branchexeclp(self, allowaddcons: bool) -> dict[str, object]:
        if self.state is None:
            model = self.model
            self.state = extract_state(model)
            cands, self.positions = lp_candidates(model)
            self.lp = {
                "cols": [(c.getVar().name, c.getPrimsol()) for c in model.getLPColsData()],
                "cands": [v.name for v in cands],
                "rows": [(r.getLhs(), r.getRhs(), model.getRowLPActivity(r), r.getNorm())
                         for r in model.getLPRowsData()],
            }
        return {"result": pyscipopt.SCIP_RESULT.DIDNOTRUN}


def _hand_made() -> tuple[object, _Capture]:
    """max 5a + 4b + 3c + 2d (as min of the negation) s.t. a ranged row and a <= row; no
    presolve, cuts or heuristics, so the root LP is the formulation itself."""
    model = make_scip_model(seed=0)
    model.setPresolve(pyscipopt.SCIP_PARAMSETTING.OFF)
    model.setSeparating(pyscipopt.SCIP_PARAMSETTING.OFF)
    model.setHeuristics(pyscipopt.SCIP_PARAMSETTING.OFF)
    model.setParam("propagating/maxroundsroot", 0)
    a, b, c, d = (model.addVar(n, vtype="B") for n in "abcd")
    model.setObjective(-(5 * a + 4 * b + 3 * c + 2 * d), "minimize")
    model.addCons(2 * a + 3 * b + 1 * c + 4 * d <= 4.5, name="knap")
    model.addCons(pyscipopt.quicksum([a, b, c]) >= 1, name="cover")
    model.addCons(pyscipopt.quicksum([a, c, d]) <= 2, name="pack")
    capture = _Capture()
    model.includeBranchrule(capture, "capture", "test", 10**6, -1, 1.0)
    return model, capture


@pytest.fixture(scope="module")
def captured() -> _Capture:
    model, capture = _hand_made()
    model.optimize()
    assert capture.state is not None, "the hand-made MILP must need branching"
    return capture


def test_feature_shapes_and_one_hots(captured: _Capture) -> None:
    state = captured.state
    assert state.var_features.shape == (4, len(VAR_FEATURES)) == (4, 19)
    # knap (<=), cover (>=, flipped), pack (<=): one side each
    assert state.cons_features.shape == (3, len(CONS_FEATURES)) == (3, 5)
    assert state.edge_index.shape == (2, 10) and state.edge_features.shape == (10, 1)
    np.testing.assert_array_equal(state.var_features[:, 0:4].sum(1), 1)  # type one-hot
    np.testing.assert_array_equal(state.var_features[:, 0], 1)  # all binary
    np.testing.assert_array_equal(state.var_features[:, 10:14].sum(1), 1)  # basis one-hot
    obj = np.array([-5, -4, -3, -2]) / math.sqrt(25 + 16 + 9 + 4)
    names = list(state.var_names)
    order = [names.index(n) for n in ("t_a", "t_b", "t_c", "t_d")] if names[0].startswith(
        "t_") else [names.index(n) for n in "abcd"]
    np.testing.assert_allclose(state.var_features[order, 4], obj, rtol=1e-5)


def test_feature_values_follow_the_lp(captured: _Capture) -> None:
    state = captured.state
    sols = np.array([s for _, s in captured.lp["cols"]])
    frac = sols - np.floor(sols)
    np.testing.assert_allclose(state.var_features[:, 9], np.where(frac > 1e-6, frac, 0),
                               atol=1e-6)
    at_lb = np.abs(sols) < 1e-6
    np.testing.assert_array_equal(state.var_features[:, 7].astype(bool), at_lb)
    # candidates: exactly the fractional columns
    assert set(captured.positions.tolist()) == set(np.flatnonzero(frac > 1e-6).tolist())
    # edges: coefficient / row norm, the >= row enters negated
    for k, (lhs, rhs, activity, norm) in enumerate(captured.lp["rows"]):
        del lhs, rhs, activity
        mask = state.edge_index[0] == k
        np.testing.assert_allclose(np.linalg.norm(state.edge_features[mask, 0]), 1.0,
                                   rtol=1e-5)
        assert norm > 0
    cover = state.edge_features[state.edge_index[0] == 1, 0]
    np.testing.assert_allclose(cover, -1 / math.sqrt(3), rtol=1e-5)
    # bias: rhs / norm (cover: -1 / sqrt 3 after flipping); tightness matches the activity
    np.testing.assert_allclose(state.cons_features[:, 1],
                               [4.5 / math.sqrt(30), -1 / math.sqrt(3), 2 / math.sqrt(3)],
                               rtol=1e-5)
    knap_activity = captured.lp["rows"][0][2]
    assert state.cons_features[0, 2] == float(abs(knap_activity - 4.5) < 1e-6)


def test_batching_offsets_both_node_sets_and_candidates() -> None:
    rng = np.random.default_rng(0)

    def random_state(n_vars: int, n_cons: int, n_edges: int) -> BipartiteState:
        edges = np.stack([rng.integers(0, n_cons, n_edges), rng.integers(0, n_vars, n_edges)])
        return BipartiteState(rng.normal(size=(n_vars, 19)).astype(np.float32),
                              rng.normal(size=(n_cons, 5)).astype(np.float32), edges,
                              rng.normal(size=(n_edges, 1)).astype(np.float32))

    graphs = [to_data(random_state(6, 4, 10), np.array([1, 5]), np.array([0.1, 0.3])),
              to_data(random_state(9, 3, 12), np.array([0, 2, 8]), np.array([1.0, 2.0, 0.0]))]
    batch = Batch.from_data_list(graphs)
    assert batch.var_x.shape == (15, 19) and batch.cons_x.shape == (7, 5)
    np.testing.assert_array_equal(batch.candidates.numpy(), [1, 5, 6, 8, 14])
    np.testing.assert_array_equal(batch.edge_index[:, 10:].numpy(),
                                  graphs[1].edge_index.numpy() + np.array([[4], [6]]))
    np.testing.assert_array_equal(batch.n_candidates.numpy(), [2, 3])
    torch.manual_seed(0)
    net = GCNN().eval()
    with torch.no_grad():
        together = net.score(batch)
        apart = torch.cat([net.score(g) for g in graphs])
    torch.testing.assert_close(together, apart, atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # the solver's shortcut: candidates only, same logits
        torch.testing.assert_close(net.candidate_logits(batch), together[batch.candidates],
                                   atol=1e-5, rtol=1e-5)


def test_to_data_rejects_out_of_range_candidates() -> None:
    state = BipartiteState(np.zeros((3, 19), np.float32), np.zeros((1, 5), np.float32),
                           np.zeros((2, 0), np.int64), np.zeros((0, 1), np.float32))
    with pytest.raises(InvalidInstanceError, match="candidates"):
        to_data(state, np.array([3]))


@pytest.fixture(scope="module")
def small_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("branching") / "setcover_small.mps"
    return write_instance(build_instance("setcover", SMALL_SETCOVER, seed=3), path)


def test_gcnn_rule_reaches_scip_default_optimum(small_instance: Path) -> None:
    torch.manual_seed(0)
    policy = GCNN().eval()  # untrained: the optimum must not depend on the branching choices
    default = solve_with(small_instance, "relpscost", seed=0, time_limit=120)
    learned = solve_with(small_instance, "gcnn", seed=0, time_limit=120, policy=policy)
    pscost = solve_with(small_instance, "pscost", seed=0, time_limit=120)
    assert default.status == learned.status == pscost.status == "optimal"
    assert learned.objective == pytest.approx(default.objective, abs=1e-6)
    assert pscost.objective == pytest.approx(default.objective, abs=1e-6)
    assert learned.extra["calls"] >= 1 and learned.extra["feature_time"] > 0


class _CompareCached(pyscipopt.Branchrule):
    """At every node, extract the state with a cache kept over the solve and afresh."""

    def __init__(self) -> None:
        self.cache = _LPCache()
        self.nodes = 0
        self.mismatches: list[str] = []

    def branchexeclp(self, allowaddcons: bool) -> dict[str, object]:
        cached = extract_state(self.model, self.cache)
        fresh = extract_state(self.model)
        self.nodes += 1
        for field in ("var_features", "cons_features", "edge_index", "edge_features"):
            if not np.array_equal(getattr(cached, field), getattr(fresh, field)):
                self.mismatches.append(f"node {self.nodes}: {field}")
        if cached.var_names != fresh.var_names:
            self.mismatches.append(f"node {self.nodes}: var_names")
        return {"result": pyscipopt.SCIP_RESULT.DIDNOTRUN}


def test_cached_extraction_equals_fresh_extraction_at_every_node(tmp_path: Path) -> None:
    """The solve-long cache (static columns and rows, the reused edge list) changes nothing."""
    from orlearn.problems.branching.rules import _read_for_branching
    from orlearn.solvers.scip import use_builtin_branching

    path = write_instance(build_instance(
        "setcover", {"n_rows": 500, "n_cols": 1000, "density": 0.05}, seed=1),
        tmp_path / "setcover.mps")
    model = _read_for_branching(path, seed=0, time_limit=60)
    use_builtin_branching(model, "pscost", priority=10**6 - 1)  # more nodes than relpscost
    model.setParam("limits/nodes", 40)
    rule = _CompareCached()
    model.includeBranchrule(rule, "compare", "test", 10**6, -1, 1.0)
    model.optimize()
    assert rule.nodes >= 5
    assert rule.mismatches == []


def test_time_limit_is_an_outcome(tmp_path: Path) -> None:
    path = write_instance(build_instance("setcover", "easy", seed=1), tmp_path / "sc.mps")
    record = solve_with(path, "relpscost", time_limit=0.5)
    assert record.status == "timelimit" and record.time <= 5


def test_bad_inputs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mps"
    bad.write_text("NAME broken\nROWS\n N obj\nCOLUMNS\n x obj\n")
    with pytest.raises(InvalidInstanceError, match="path"):
        solve_with(bad, "relpscost")
    lp = make_scip_model()
    x = lp.addVar("x", lb=0, ub=1)
    lp.setObjective(x)
    pure_lp = write_instance(lp, tmp_path / "lp.mps")
    with pytest.raises(InvalidInstanceError, match="integer"):
        solve_with(pure_lp, "relpscost")
    with pytest.raises(ConfigError):
        solve_with(pure_lp, "nosuchrule")
    with pytest.raises(ConfigError, match="policy"):
        write_instance(build_instance("setcover", "tiny", seed=0), tmp_path / "t.mps")
        solve_with(tmp_path / "t.mps", "gcnn")


def test_checkpoint_with_other_feature_sizes_is_refused(tmp_path: Path) -> None:
    from orlearn.nn import save_checkpoint

    other = GCNN(var_dim=12)
    save_checkpoint(tmp_path / "other", other, {"architecture": other.architecture()})
    with pytest.raises(CheckpointError, match="feature sizes"):
        load_policy(str(tmp_path / "other"))
    with pytest.raises(CheckpointError, match="not a branching GCNN"):
        build_model({"architecture": {"class": "AttentionEncoder"}})
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_policy(str(tmp_path / "missing"))
    with pytest.raises(CheckpointError, match="features"):
        GCNN().score(to_data(BipartiteState(np.zeros((2, 18), np.float32),
                                            np.zeros((1, 5), np.float32),
                                            np.zeros((2, 0), np.int64),
                                            np.zeros((0, 1), np.float32)), np.array([0])))


def test_samples_collection_training_and_accuracy(small_instance: Path, tmp_path: Path) -> None:
    from orlearn.problems.branching.data import collect_samples, load_sample, sample_files
    from orlearn.problems.branching.train import TrainConfig, accuracy, train_gcnn

    samples, info = sample_episode(small_instance, seed=0, query_prob=1.0, time_limit=60,
                                   max_samples=5)
    assert 1 <= len(samples) <= 5 and info["samples"] == len(samples)
    arrays = samples[0].arrays
    assert arrays["scores"].shape == arrays["candidates"].shape
    assert (arrays["scores"] >= 0).all()
    files = [small_instance]
    first = collect_samples(files, tmp_path / "train", 12, query_prob=0.5, time_limit=30,
                            max_per_episode=4, seed=0, progress=False)
    assert first["samples"] >= 12
    again = collect_samples(files, tmp_path / "train", 12, query_prob=0.5, seed=0,
                            progress=False)
    assert again["new_episodes"] == 0 and again["samples"] == first["samples"]
    collect_samples(files, tmp_path / "valid", 4, query_prob=0.5, max_per_episode=4, seed=1,
                    progress=False)
    from orlearn.problems.branching.data import sample_instances

    assert set(sample_instances(sample_files(tmp_path / "train"))) == {small_instance.name}
    data = load_sample(sample_files(tmp_path / "train")[0])
    assert data.var_x.shape[1] == 19 and data.candidate_scores.shape == data.candidates.shape
    _model, summary = train_gcnn([tmp_path / "train"], [tmp_path / "valid"], tmp_path / "run",
                                TrainConfig(epochs=2, batch_size=4), progress=False)
    assert set(summary["valid"]) == {"loss", "top1", "top3", "top5", "top10"}
    assert 0 <= summary["valid"]["top1"] <= summary["valid"]["top3"] <= summary["valid"][
        "top10"] <= 1
    reloaded, config = load_policy(str(tmp_path / "run" / "best"))
    assert config["metadata"]["validation"]["top1"] == summary["valid"]["top1"]
    from orlearn.problems.branching.data import SampleDataset

    again_acc = accuracy(reloaded, SampleDataset(sample_files(tmp_path / "valid")))
    assert again_acc["top1"] == pytest.approx(summary["valid"]["top1"])


def test_topk_counts_ties_and_padding() -> None:
    from orlearn.problems.branching.train import topk_hits

    inf = -torch.inf
    logits = torch.tensor([[3.0, 2.0, 1.0], [0.0, 5.0, inf]])
    scores = torch.tensor([[1.0, 5.0, 5.0], [2.0, 1.0, inf]])
    hits = topk_hits(logits, scores, ks=(1, 2, 3))
    assert hits[1].tolist() == [False, False]
    assert hits[2].tolist() == [True, True]
    assert hits[3].tolist() == [True, True]


def test_shifted_geomean_and_report() -> None:
    from orlearn.problems.branching.bench import report, shifted_geomean

    assert shifted_geomean([0, 0]) == pytest.approx(0)
    assert shifted_geomean([1, 7]) == pytest.approx(math.sqrt(2 * 8) - 1)
    records = []
    for method, times in (("gcnn", [1.0, 4.0]), ("relpscost", [2.0, 3.0])):
        for i, t in enumerate(times):
            records.append({"method": method, "status": "ok", "instance": f"i{i}", "seed": 0,
                            "time": t, "params": {"index": i},
                            "extra": {"family": "setcover", "size": "easy", "nodes": 10 * t,
                                      "scip_status": "optimal"}})
    markdown, table = report(records)
    assert "setcover" in markdown
    wins = dict(zip(table["method"], table["wins"], strict=True))
    assert wins == {"gcnn": 1, "relpscost": 1}
    assert table.set_index("method").loc["gcnn", "time_sgm"] == pytest.approx(
        shifted_geomean([1, 4]))


def test_report_pairs_gcnn_with_each_rule_on_the_same_runs() -> None:
    """Geometric mean of paired (x + 1) ratios; nodes only where both solved; se by instance."""
    import pandas as pd

    from orlearn.problems.branching.bench import clustered_se, report, solve_comparison

    # (instance, seed): gcnn (time, nodes, solved), pscost (time, nodes, solved)
    runs = {("a", 0): ((1.0, 3, True), (3.0, 7, True)),
            ("a", 1): ((3.0, 1, True), (1.0, 3, True)),
            ("b", 0): ((7.0, 15, True), (1.0, 1, True)),
            ("b", 1): ((9.0, 50, False), (4.0, 9, True))}  # gcnn stopped on its limit
    records = [{"method": method, "status": "ok", "instance": inst, "seed": seed,
                "time": run[0], "params": {"index": 0},
                "extra": {"family": "setcover", "size": "easy", "nodes": run[1],
                          "scip_status": "optimal" if run[2] else "timelimit"}}
               for (inst, seed), pair in runs.items()
               for method, run in zip(("gcnn", "pscost"), pair, strict=True)]
    markdown, _ = report(records)
    assert "gcnn vs" in markdown
    frame = pd.DataFrame([{"family": "setcover", "size": "easy", "instance": r["instance"],
                           "seed": r["seed"], "method": r["method"], "time": r["time"],
                           "nodes": r["extra"]["nodes"],
                           "solved": r["extra"]["scip_status"] == "optimal"}
                          for r in records])
    (entry,) = solve_comparison(frame)
    assert entry["baseline"] == "pscost" and entry["pairs"] == 4 and entry["instances"] == 2
    time_logs = [math.log(2 / 4), math.log(4 / 2), math.log(8 / 2), math.log(10 / 5)]
    assert entry["time"] == pytest.approx(math.exp(np.mean(time_logs)))
    se = clustered_se(time_logs, ["a", "a", "b", "b"])
    assert entry["time_ci"] == pytest.approx((math.exp(np.mean(time_logs) - 1.96 * se),
                                              math.exp(np.mean(time_logs) + 1.96 * se)))
    node_logs = [math.log(4 / 8), math.log(2 / 4), math.log(16 / 2)]  # not the stopped run
    assert entry["node_pairs"] == 3
    assert entry["nodes"] == pytest.approx(math.exp(np.mean(node_logs)))
    assert f"{entry['nodes']:.2f}" in markdown


def test_sampling_instances_solved_at_the_root_is_an_error(tmp_path: Path) -> None:
    from orlearn.problems.branching.data import collect_samples

    path = write_instance(build_instance("vertexcover", "tiny", seed=0), tmp_path / "vc.mps")
    with pytest.raises(InvalidInstanceError, match="without branching"):
        collect_samples([path], tmp_path / "s", 5, time_limit=10, progress=False)
    for bad, field in (({"n_samples": 0}, "n_samples \\(--samples\\): must be >= 1, got 0"),
                       ({"n_samples": 5, "workers": 0}, "workers: must be >= 1, got 0")):
        with pytest.raises(ConfigError, match=field):
            collect_samples([path], tmp_path / "s", **bad)


def test_report_of_imitation_tasks() -> None:
    from orlearn.problems.branching.bench import report

    records = [{"method": "imitation", "status": "ok", "extra": {
        "eval": "indset", "train": train, "test": {"top1": t, "top3": t, "top5": t, "top10": t}}}
        for train, t in ((["setcover"], 0.2), (["setcover", "gisp"], 0.4))]
    markdown, table = report(records)
    assert "held-out families" in markdown and "setcover+gisp" in markdown
    assert table["top1"].tolist() == [0.2, 0.4]
    assert "paired" not in markdown  # records without per-sample hits: no comparison


def test_imitation_report_pairs_the_models_on_the_same_samples() -> None:
    """Seeds are averaged per sample; the difference's se is clustered by instance."""
    from orlearn.problems.branching.bench import clustered_se, report

    instances = ["a", "a", "b", "b"]
    runs = {("setcover",): [[1, 0, 0, 0], [1, 1, 0, 0]],
            ("setcover", "gisp"): [[1, 1, 1, 0], [1, 1, 1, 1]]}
    records = [{"method": "imitation", "status": "ok", "seed": seed, "extra": {
        "eval": "indset", "train": list(train), "top1_hits": hits, "test_instances": instances,
        "test": {k: sum(hits) / 4 for k in ("top1", "top3", "top5", "top10")}}}
        for train, seed_hits in runs.items() for seed, hits in enumerate(seed_hits)]
    markdown, table = report(records)
    assert table["seeds"].tolist() == [2, 2]
    assert table["top1"].tolist() == pytest.approx([0.375, 0.875])
    assert "paired" in markdown and "+50.0" in markdown
    # per-sample differences (seed means): 0, 0.5, 1, 0.5 -> clusters a: -0.5+0, b: +0.5+0
    diff = [0.0, 0.5, 1.0, 0.5]
    assert clustered_se(diff, instances) == pytest.approx(math.sqrt(2 * 0.5) / 4)
    # one cluster per sample is the usual standard error
    assert clustered_se(diff, list("wxyz")) == pytest.approx(
        float(np.std(diff, ddof=1)) / 2)


def test_train_command_on_a_folder_takes_the_optimiser_options(small_instance: Path,
                                                                tmp_path: Path) -> None:
    """`orlearn train branching --folder`: samples, trains, and records --lr/--decay-patience."""
    import json
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "dist"
    for split in ("train", "valid"):
        (folder / split).mkdir(parents=True)
        shutil.copy(small_instance, folder / split / small_instance.name)
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "orlearn.cli", "train", "branching", "--folder", str(folder),
         "--samples", "6", "--valid-samples", "3", "--query-prob", "0.5", "--epochs", "1",
         "--lr", "0.0005", "--decay-patience", "1", "--workdir", str(tmp_path / "work"),
         "--out", str(out), "--no-progress"],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "trained 1 epochs on 6 samples" in result.stdout
    document = json.loads((out / "best.json").read_text())
    training = document["training"]
    assert "logical cores" in document["metadata"]["hardware"]
    assert training["lr"] == 0.0005 and training["decay_patience"] == 1
    assert training["n_train_samples"] == 6 and training["folders"] == [str(folder)]
