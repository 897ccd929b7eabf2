"""Branching rules inside SCIP (PySCIPOpt ``Branchrule``) and one-instance solves.

* :class:`GCNNBranchrule` scores the node's LP candidates with a :class:`GCNN` and branches on
  the best; it records the time spent extracting features and running the network.
* :class:`SamplingBranchrule` explores with SCIP's pseudocost rule and, at a node with
  probability ``query_prob`` (0.05 in the paper), computes full strong-branching scores,
  records the node state as an imitation sample and branches on the strong-branching choice.
* :func:`solve_with` runs one instance with ``relpscost`` (SCIP's default), ``pscost``,
  ``fullstrong`` or ``gcnn``, with the paper's settings (cuts at the root only, no restarts,
  seeds set, a time limit), and returns solve time, nodes and status; a time-limit hit is a
  recorded outcome, not an error.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from orlearn.errors import ConfigError
from orlearn.problems.branching.features import _LPCache, extract_state, lp_candidates, to_data

if TYPE_CHECKING:
    import pyscipopt

    from orlearn.problems.branching.model import GCNN

METHODS = ("gcnn", "relpscost", "pscost", "fullstrong")
RULE_PRIORITY = 999_999  # above every SCIP rule (relpscost: 10000)


def _branchrule_base() -> type:
    from orlearn.solvers._common import require_package

    return require_package("scip").Branchrule


def _result(name: str) -> dict[str, Any]:
    from pyscipopt import SCIP_RESULT

    return {"result": getattr(SCIP_RESULT, name)}


class GCNNBranchrule(_branchrule_base()):  # type: ignore[misc]
    """Branch on the LP candidate with the highest GCNN logit.

    Attributes after a solve: ``calls``, ``feature_time`` and ``inference_time`` (seconds,
    totals over the calls).
    """

    def __init__(self, policy: GCNN, device: str | torch.device = "cpu") -> None:
        self.policy = policy.eval()
        self.device = torch.device(device)
        self.cache = _LPCache()
        self.calls = 0
        self.feature_time = 0.0
        self.inference_time = 0.0

    def branchexeclp(self, allowaddcons: bool) -> dict[str, Any]:
        model = self.model
        cands, positions = lp_candidates(model)
        if not cands:
            return _result("DIDNOTRUN")
        self.calls += 1
        if len(cands) == 1:
            model.branchVar(cands[0])
            return _result("BRANCHED")
        start = time.perf_counter()
        data = to_data(extract_state(model, self.cache), positions)
        middle = time.perf_counter()
        with torch.inference_mode():
            logits = self.policy.candidate_logits(data.to(self.device))
            best = int(torch.argmax(logits))
        self.feature_time += middle - start
        self.inference_time += time.perf_counter() - middle
        model.branchVar(cands[best])
        return _result("BRANCHED")


@dataclass
class NodeSample:
    """One imitation sample: the node state, the candidates and their strong-branching scores."""

    arrays: dict[str, np.ndarray]
    node: int


class SamplingBranchrule(_branchrule_base()):  # type: ignore[misc]
    """Pseudocost exploration with strong-branching samples at random nodes (Gasse et al.).

    SCIP's ``pscost`` rule must sit just below this rule's priority (``solve_with`` does it):
    returning DIDNOTRUN hands the node to it.
    """

    def __init__(self, rng: np.random.Generator, query_prob: float = 0.05,
                 max_samples: int | None = None) -> None:
        self.rng = rng
        self.query_prob = float(query_prob)
        self.max_samples = max_samples
        self.samples: list[NodeSample] = []
        self.cache = _LPCache()
        self.strong_branching_time = 0.0

    def branchexeclp(self, allowaddcons: bool) -> dict[str, Any]:
        from orlearn.solvers.scip import strong_branching_scores

        model = self.model
        if self.max_samples is not None and len(self.samples) >= self.max_samples:
            model.interruptSolve()
            return _result("DIDNOTRUN")
        if self.rng.random() >= self.query_prob:
            return _result("DIDNOTRUN")
        cands, positions = lp_candidates(model)
        if len(cands) < 2:
            return _result("DIDNOTRUN")
        state = extract_state(model, self.cache)
        start = time.perf_counter()
        scores, _ = strong_branching_scores(model, cands)
        self.strong_branching_time += time.perf_counter() - start
        self.samples.append(NodeSample({
            "var_x": state.var_features, "cons_x": state.cons_features,
            "edge_index": state.edge_index, "edge_attr": state.edge_features,
            "candidates": positions, "scores": np.asarray(scores, dtype=np.float32),
        }, node=int(model.getNNodes())))
        model.branchVar(cands[int(np.argmax(scores))])
        return _result("BRANCHED")


@dataclass
class SolveRecord:
    """Outcome of one solve: status (``optimal``, ``timelimit``, ...), time, nodes, bounds."""

    method: str
    status: str
    time: float
    nodes: int
    objective: float | None
    dual_bound: float | None
    gap: float | None
    extra: dict[str, Any] = field(default_factory=dict)


def _read_for_branching(path: str | os.PathLike[str], seed: int,
                        time_limit: float | None) -> pyscipopt.Model:
    """``path`` in SCIP with seeds, the time limit and the paper's settings; integer
    programs only."""
    from orlearn.problems.branching.instances import check_integer_program
    from orlearn.solvers.scip import BRANCHING_EXPERIMENT_PARAMS, apply_params, read_scip

    model = read_scip(path, seed=seed, time_limit=time_limit)
    check_integer_program(model)
    apply_params(model, BRANCHING_EXPERIMENT_PARAMS)
    return model


def configure(path: str | os.PathLike[str], method: str, seed: int = 0,
              time_limit: float | None = 600.0, policy: GCNN | None = None,
              node_limit: int | None = None) -> tuple[pyscipopt.Model, Any]:
    """Read ``path`` into SCIP with the paper's settings and ``method``'s branching rule."""
    from orlearn.solvers.scip import use_builtin_branching

    if method not in METHODS:
        raise ConfigError(f"branching method {method!r}: use one of {', '.join(METHODS)}")
    model = _read_for_branching(path, seed, time_limit)
    if node_limit is not None:
        model.setParam("limits/nodes", int(node_limit))
    rule = None
    if method == "gcnn":
        if policy is None:
            raise ConfigError("method 'gcnn' needs a policy (a GCNN or a checkpoint)")
        rule = GCNNBranchrule(policy)
        model.includeBranchrule(rule, "gcnn", "GCNN imitation of strong branching",
                                RULE_PRIORITY, -1, 1.0)
    else:
        use_builtin_branching(model, method)
    return model, rule


def solve_with(path: str | os.PathLike[str], method: str, seed: int = 0,
               time_limit: float | None = 600.0, policy: GCNN | None = None,
               node_limit: int | None = None) -> SolveRecord:
    """Solve one instance with ``method`` and return a :class:`SolveRecord`."""
    from orlearn.solvers.scip import solve_scip

    model, rule = configure(path, method, seed, time_limit, policy, node_limit)
    result = solve_scip(model, with_values=False)
    extra: dict[str, Any] = {"lp_iterations": result.extra["lp_iterations"],
                             "wall_time": result.wall_time}
    if rule is not None:
        extra.update(calls=rule.calls, feature_time=rule.feature_time,
                     inference_time=rule.inference_time)
    return SolveRecord(
        method=method, status=str(result.extra["scip_status"]),
        time=float(result.extra["solving_time"]), nodes=int(result.extra["nodes"]),
        objective=result.objective, dual_bound=result.bound, gap=result.gap, extra=extra,
    )


def sample_episode(path: str | os.PathLike[str], seed: int, query_prob: float = 0.05,
                   time_limit: float | None = 600.0, max_samples: int | None = None,
                   ) -> tuple[list[NodeSample], dict[str, Any]]:
    """Solve ``path`` with pseudocost exploration, recording strong-branching samples."""
    from orlearn.solvers.scip import solve_scip, use_builtin_branching

    if not 0.0 < query_prob <= 1.0:
        raise ConfigError(f"query_prob must lie in (0, 1], got {query_prob}")
    model = _read_for_branching(path, seed % 2**31, time_limit)
    use_builtin_branching(model, "pscost", priority=RULE_PRIORITY - 1)
    rule = SamplingBranchrule(np.random.default_rng(seed), query_prob, max_samples)
    model.includeBranchrule(rule, "sampler", "pseudocost exploration, strong-branching samples",
                            RULE_PRIORITY, -1, 1.0)
    result = solve_scip(model, with_values=False)
    info = {"status": result.extra["scip_status"], "nodes": result.extra["nodes"],
            "time": result.extra["solving_time"], "samples": len(rule.samples),
            "strong_branching_time": rule.strong_branching_time}
    return rule.samples, info


__all__ = [
    "METHODS",
    "GCNNBranchrule",
    "NodeSample",
    "SamplingBranchrule",
    "SolveRecord",
    "configure",
    "sample_episode",
    "solve_with",
]
