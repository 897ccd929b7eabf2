"""Hydrothermal benchmark suites (``orlearn bench hydro-quick|hydro-bolivia``) and the
``orlearn train hydro`` command.

Every method of a suite is scored on the same out-of-sample inflow paths (stage-wise
independent draws from the scenario table, seed ``EVAL_SEED + seed``, never used in training)
over the scored stages, from the same initial volumes; the reference of each task is the mean
perfect-foresight (wait-and-see) cost on those paths, a lower bound.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from orlearn.errors import ConfigError
from orlearn.problems.hydro.system import HydroSystem

if TYPE_CHECKING:
    from orlearn.bench import Suite, TaskOutcome

EVAL_SEED = 20_000
METHODS = ("sddp", "ts-ddr", "ts-ddr-lstm", "ts-ldr", "myopic", "wait_and_see")
#: The learned methods and the policy each trains.
LEARNED = {"ts-ddr": {}, "ts-ddr-lstm": {"recurrent": True}, "ts-ldr": {"linear": True}}


def make_system(params: dict[str, Any]) -> HydroSystem:
    """``{"system": "bolivia", "folder": None | path}``, ``{"system": "synthetic", ...
    generate_system arguments}``, or ``{"system": "file", "path": system JSON}``."""
    from orlearn.problems.hydro.io import bolivia, generate_system, load_powermodels

    params = dict(params)
    kind = params.pop("system", "synthetic")
    if kind == "bolivia":
        return bolivia(params.pop("folder", None), **params)
    if kind == "synthetic":
        return generate_system(**params)
    if kind == "powermodels":
        return load_powermodels(params.pop("folder"), **params)
    if kind == "file":
        return HydroSystem.load(params["path"])
    raise ConfigError(f"system: unknown kind {kind!r}; use bolivia, synthetic, powermodels or "
                      "file")


def _wait_and_see(system: HydroSystem, paths: np.ndarray) -> tuple[float, float]:
    from orlearn.problems.hydro.stage import deterministic_lp

    start = time.perf_counter()
    costs = np.array([deterministic_lp(system, p)[0] for p in paths])
    return float(costs.mean()), time.perf_counter() - start


def run_task(task: Any) -> TaskOutcome:
    """Train (SDDP / TS-DDR with an MLP or an LSTM / TS-LDR) or build (myopic) a policy,
    simulate it on the shared out-of-sample paths; ``wait_and_see`` reports the bound itself."""
    from orlearn.bench import TaskOutcome
    from orlearn.problems.hydro.sddp import MyopicPolicy, SDDPConfig, simulate, train_sddp
    from orlearn.problems.hydro.tsddr import TSDDRConfig, train_tsddr

    system = make_system(task.params)
    options = dict(task.options)
    stages = int(options.pop("score_stages", 96))
    n_eval = int(options.pop("score_paths", 100))
    paths = system.sample_inflows(n_eval, stages, seed=EVAL_SEED + task.seed)
    bound, bound_time = _wait_and_see(system, paths)
    extra: dict[str, Any] = {"wait_and_see": bound, "wait_and_see_seconds": bound_time,
                             "stages": stages, "eval_paths": n_eval, "notes": list(system.notes)}
    train_time = 0.0
    method = task.method
    if method == "wait_and_see":
        return TaskOutcome(objective=bound, feasible=True, time=bound_time, extra=extra,
                           reference=bound, reference_kind="bound")
    if method == "sddp":
        config = SDDPConfig(seed=task.seed, **options)
        result = train_sddp(system, config)
        policy: Any = result.policy
        train_time = result.seconds
        extra.update(iterations=len(result.history), lower_bound=result.lower_bound,
                     stop_reason=result.stop_reason, cuts=result.policy.n_cuts,
                     train_stages=config.stages,
                     history=list(result.history))
    elif method in LEARNED:
        if "hidden" in options:
            options["hidden"] = tuple(options["hidden"])
        config = TSDDRConfig(seed=task.seed, **LEARNED[method], **options)
        tresult = train_tsddr(system, config)
        policy = tresult.policy
        train_time = tresult.seconds
        extra.update(iterations=config.iterations, best_eval=tresult.best_eval,
                     history=[h for h in tresult.history if "eval_cost" in h])
    elif method == "myopic":
        policy = MyopicPolicy(system)
    else:
        raise ConfigError(f"method: unknown hydro method {method!r}; choose from {METHODS}")
    sim = simulate(system, policy, paths)
    summary = sim.summary()
    extra.update(train_seconds=train_time, simulate_seconds=sim.seconds, std=summary["std"],
                 stderr=summary["stderr"], penalty=float(sim.penalty.mean()),
                 deficit=float(sim.deficit.sum(1).mean()))
    return TaskOutcome(objective=summary["mean"], feasible=True,
                       time=train_time + sim.seconds, extra=extra, reference=bound,
                       reference_kind="bound")


def _tasks(params: dict[str, Any], label: str, options: dict[str, dict[str, Any]],
           seed: int) -> list[Any]:
    from orlearn.bench import Task

    return [Task(problem="hydro", instance=label, method=method, options=options[method],
                 seed=seed, params=params) for method in METHODS]


def quick_suite(seed: int = 0) -> Suite:
    """A synthetic 3-plant cascade on a 4-bus network, 12 scored daily stages (SDDP trains on
    18), every method on 50 out-of-sample paths: well under a minute on 2 cores."""
    from orlearn.bench import Suite

    common = {"score_stages": 12, "score_paths": 50}
    learn = {**common, "stages": 12, "iterations": 200, "batch_paths": 8, "lr": 3e-3,
             "eval_every": 20}
    options = {
        # SDDP trains on 18 stages and is scored on the first 12, as on Bolivia (126 / 96)
        "sddp": {**common, "stages": 18, "max_iterations": 60, "ub_every": 10,
                 "ub_paths": 50},
        "ts-ddr": learn,
        "ts-ddr-lstm": learn,
        "ts-ldr": learn,
        "myopic": dict(common),
        "wait_and_see": dict(common),
    }
    params = {"system": "synthetic", "n_plants": 3, "n_buses": 4, "n_thermal": 4,
              "stages": 12, "scenarios": 5, "seed": 0}
    tasks = _tasks(params, "synthetic-3h", options, seed)
    return Suite("hydro-quick", tasks, "hydro: synthetic 3-plant cascade, every method")


def bolivia_suite(seed: int = 0) -> Suite:
    """The Bolivian system (TS-DDR study): SDDP trained on 126 stages to its stopping rule,
    TS-DDR (MLP and LSTM) / TS-LDR trained on 96, myopic, and the wait-and-see bound, on the
    same 100 out-of-sample paths of 96 stages."""
    from orlearn.bench import Suite

    common = {"score_stages": 96, "score_paths": 100}
    learn = {**common, "stages": 96, "iterations": 300, "batch_paths": 8, "lr": 3e-3,
             "eval_every": 25, "eval_paths": 16}
    options = {
        "sddp": {**common, "stages": 126, "max_iterations": 500, "ub_every": 10,
                 "ub_paths": 100, "stall_window": 20, "stall_tol": 1e-4},
        "ts-ddr": learn,
        "ts-ddr-lstm": learn,
        "ts-ldr": learn,
        "myopic": dict(common),
        "wait_and_see": dict(common),
    }
    tasks = _tasks({"system": "bolivia"}, "bolivia", options, seed)
    return Suite("hydro-bolivia", tasks, "hydro: Bolivian system, SDDP vs TS-DDR vs TS-LDR")


def train_command(
    system: Annotated[str, typer.Option(help="bolivia, synthetic, a HydroPowerModels case "
                                             "folder, or a system JSON file.")] = "synthetic",
    method: Annotated[str, typer.Option(help="ts-ddr (MLP), ts-ddr-lstm, ts-ldr or "
                                             "sddp.")] = "ts-ddr",
    iterations: Annotated[int, typer.Option(help="Training iterations (SDDP: at most).")] = 300,
    stages: Annotated[int, typer.Option(help="Training stages (SDDP: trains on this many, "
                                             "scored on --score-stages).")] = 96,
    score_stages: Annotated[int, typer.Option(help="Stages of the final out-of-sample "
                                                   "score.")] = 96,
    score_paths: Annotated[int, typer.Option(help="Out-of-sample inflow paths.")] = 100,
    batch_paths: Annotated[int, typer.Option(help="TS-DDR: paths per gradient step.")] = 8,
    lr: Annotated[float, typer.Option(help="TS-DDR: Adam step.")] = 3e-3,
    seed: Annotated[int, typer.Option(help="Weights and sampling seed.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder of the checkpoint (TS-DDR) and the "
                                           "result JSON.")] = Path("runs/hydro"),
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Train TS-DDR / TS-LDR (or SDDP) on a hydrothermal system, then score it and the
    myopic policy on out-of-sample inflow paths against the wait-and-see bound."""
    import sys

    from orlearn.problems.hydro.sddp import MyopicPolicy, SDDPConfig, simulate, train_sddp
    from orlearn.problems.hydro.tsddr import TSDDRConfig, train_tsddr

    if method not in (*LEARNED, "sddp"):
        raise ConfigError(f"--method must be ts-ddr, ts-ddr-lstm, ts-ldr or sddp, got "
                          f"{method!r}")
    if score_paths < 1 or score_stages < 1:
        raise ConfigError("--score-paths and --score-stages must be >= 1")
    path = Path(system)
    if system in ("bolivia", "synthetic"):
        hs = make_system({"system": system})
    elif path.is_dir():
        hs = make_system({"system": "powermodels", "folder": str(path)})
    elif path.is_file():
        hs = make_system({"system": "file", "path": str(path)})
    else:
        raise ConfigError(f"--system: {system!r} is neither bolivia, synthetic, a case folder "
                          "nor a system JSON file")
    out.mkdir(parents=True, exist_ok=True)
    typer.echo(hs.summary())
    if method == "sddp":
        sconfig = SDDPConfig(stages=stages, max_iterations=iterations, seed=seed)
        sresult = train_sddp(hs, sconfig)
        policy: Any = sresult.policy
        seconds = sresult.seconds
        typer.echo(f"sddp: {len(sresult.history)} iterations in {seconds:.1f} s, lower bound "
                   f"{sresult.lower_bound:.1f} ({sresult.stop_reason})")
        config_dict: dict[str, Any] = asdict(sconfig)
    else:
        tconfig = TSDDRConfig(stages=stages, iterations=iterations, batch_paths=batch_paths,
                              lr=lr, seed=seed, **LEARNED[method])
        tresult = train_tsddr(hs, tconfig, progress=progress, checkpoint=out / "best")
        policy = tresult.policy
        seconds = tresult.seconds
        typer.echo(f"{method}: {iterations} iterations in {seconds:.1f} s; best validation "
                   f"cost {tresult.best_eval:.1f}; weights in {out / 'best.safetensors'}")
        config_dict = asdict(tconfig)
    paths = hs.sample_inflows(score_paths, score_stages, seed=EVAL_SEED + seed)
    bound, _ = _wait_and_see(hs, paths)
    rows = {}
    for name, pol in ((method, policy), ("myopic", MyopicPolicy(hs))):
        summary = simulate(hs, pol, paths).summary()
        rows[name] = summary
        typer.echo(f"{name:8s} mean cost {summary['mean']:.1f} +- {summary['stderr']:.1f} "
                   f"({100 * (summary['mean'] / bound - 1):.2f}% above the wait-and-see bound "
                   f"{bound:.1f})")
    record = {"command": " ".join(["orlearn", *sys.argv[1:]]), "system": hs.name,
              "notes": list(hs.notes), "config": config_dict, "train_seconds": seconds,
              "wait_and_see": bound, "results": rows}
    (out / f"{method}-result.json").write_text(json.dumps(record, indent=2))
