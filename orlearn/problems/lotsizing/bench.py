"""Lot-sizing benchmark suites (``orlearn bench lotsizing-quick|lotsizing-paper``) and the
``orlearn train lotsizing`` command."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from orlearn.errors import ConfigError
from orlearn.problems.lotsizing.settings import LotSizingSetting

if TYPE_CHECKING:
    from orlearn.bench import Suite, Task, TaskOutcome


def train_command(
    setting: Annotated[str, typer.Option(help="A configuration of the PDPPO study: 15x5, 20x10, "
                                              "25x10 or 25x15 (items x machines).")] = "15x5",
    setting_seed: Annotated[int, typer.Option(help="Seed that draws the configuration.")] = 0,
    setting_file: Annotated[Path | None, typer.Option(help="A setting JSON file (from "
                                                           "LotSizingSetting.save) instead of "
                                                           "--setting.")] = None,
    agent: Annotated[str, typer.Option(help="ppo or pdppo.")] = "pdppo",
    steps: Annotated[int, typer.Option(help="Training transitions in all.")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Weights, training demand and sampling seed.")] = 0,
    n_envs: Annotated[int, typer.Option(help="Parallel copies of the system.")] = 8,
    eval_every: Annotated[int, typer.Option(help="Steps between greedy evaluations.")] = 10_000,
    test_scenarios: Annotated[int, typer.Option(help="Held-out scenarios of the final "
                                                     "score.")] = 100,
    out: Annotated[Path, typer.Option(help="Checkpoint folder (best.* and last.*).")] = Path(
        "runs/lotsizing"),
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    eval_policy: Annotated[str, typer.Option(help="Policy scored for model selection: greedy "
                                                  "(argmax) or sample.")] = "greedy",
    entropy_coef: Annotated[float | None, typer.Option(
        help="Weight of the entropy bonus (entropy summed over machines; default: "
             "AgentConfig's).")] = None,
    advantage: Annotated[str | None, typer.Option(
        help="PDPPO advantage: q_max or paper (see agents.pdppo_targets; default: "
             "AgentConfig's).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Train a PPO or PDPPO lot-sizing policy (the paper's hyperparameters), then score its
    greedy policy on held-out demand scenarios (seed SEED + 20000, never used in training or
    model selection). The best-on-evaluation weights are in OUT/best.safetensors."""
    import sys

    import numpy as np
    import torch

    from orlearn.problems.lotsizing.agents import (
        TEST_SEED_OFFSET,
        AgentConfig,
        _torch_threads,
        train_agent,
    )
    from orlearn.problems.lotsizing.env import simulate
    from orlearn.problems.lotsizing.settings import configuration

    if steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {steps}")
    if test_scenarios < 1:
        raise ConfigError(f"--test-scenarios must be >= 1, got {test_scenarios}")
    system = (LotSizingSetting.load(setting_file) if setting_file is not None
              else configuration(setting, seed=setting_seed))
    chosen = {name: value for name, value in (("entropy_coef", entropy_coef),
                                              ("advantage", advantage)) if value is not None}
    config = AgentConfig(total_steps=steps, n_envs=n_envs, eval_every=eval_every,
                         eval_policy=eval_policy, **chosen)
    result = train_agent(system, agent, config, seed=seed, device=device, progress=progress,
                         checkpoint_dir=out)
    demand = system.sample_demand(test_scenarios, seed=seed + TEST_SEED_OFFSET)
    generator = torch.Generator(result.agent.device).manual_seed(seed + TEST_SEED_OFFSET)
    with _torch_threads(config.threads, result.agent.device):
        costs = simulate(system, result.agent.act, demand)
        sampled = simulate(system, lambda obs, t: result.agent.act(
            obs, t, sample=True, generator=generator), demand)
    stderr = float(costs.std(ddof=1) / np.sqrt(len(costs))) if len(costs) > 1 else 0.0
    typer.echo(f"command: {' '.join(['orlearn', *sys.argv[1:]])}")
    typer.echo(f"{system.name} {agent}: trained {steps} steps in {result.seconds:.1f} s; "
               f"best evaluation cost {result.best_eval_cost:.2f} at step {result.best_steps}")
    typer.echo(f"held-out greedy cost: {costs.mean():.2f} +- {stderr:.2f} per episode "
               f"({test_scenarios} scenarios, {system.horizon} periods, demand seed "
               f"{seed + TEST_SEED_OFFSET})")
    typer.echo(f"held-out sampled-policy cost: {sampled.mean():.2f} per episode (same "
               f"scenarios)")
    typer.echo(f"checkpoint: {result.checkpoint}.safetensors (+ .json)")


# ------------------------------------------------------------------------ benchmark suites

#: Demand seed of the held-out scenarios every method of a suite is scored on (the agents'
#: training and model-selection demand use seeds below it, see ``agents``).
SCENARIO_SEED = 20_000
#: Agent methods of the suites: the agent and the options it implies. ``pdppo`` uses the
#: default advantage (``q_max``), ``pdppo-paper`` the paper's formula (see
#: :func:`~orlearn.problems.lotsizing.agents.pdppo_targets`).
AGENT_METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "ppo": ("ppo", {}), "pdppo": ("pdppo", {}), "pdppo-paper": ("pdppo", {"advantage": "paper"})}
AGENT_KEYS = ("total_steps", "n_envs", "rollout_steps", "epochs", "eval_every",
              "eval_scenarios", "eval_policy", "advantage", "entropy_coef", "hidden")


def _setting_of(params: dict[str, Any]) -> LotSizingSetting:
    from orlearn.problems.lotsizing.settings import configuration, generate

    horizon = int(params.get("horizon", 100))
    if "config" in params:
        return configuration(params["config"], seed=int(params.get("setting_seed", 0)),
                             horizon=horizon)
    return generate(int(params["items"]), int(params["machines"]),
                    seed=int(params.get("setting_seed", 0)), horizon=horizon)


def task_scenarios(task: Task) -> tuple[LotSizingSetting, np.ndarray]:
    """The task's setting and the held-out demand scenarios [S, T, N] it is scored on: the
    suite's scenarios, or their first ``first_scenarios`` (a prefix) when that option is set.

    Raises:
        ConfigError: ``first_scenarios`` not an integer in [1, the suite's scenarios].
    """
    setting = _setting_of(task.params)
    demand = setting.sample_demand(int(task.params.get("scenarios", 100)),
                                   int(task.params.get("scenario_seed", SCENARIO_SEED)))
    if "first_scenarios" in task.options:
        first = task.options["first_scenarios"]
        if isinstance(first, bool) or not isinstance(first, int) or not (
                1 <= first <= demand.shape[0]):
            raise ConfigError(f"first_scenarios: must be an integer in [1, "
                              f"{demand.shape[0]}] (the suite's scenarios), got {first!r}")
        demand = demand[:first]
    return setting, demand


def window_bound_unit(setting: LotSizingSetting, demand: np.ndarray,
                      options: dict[str, Any]) -> dict[str, Any]:
    """One scenario of the ``window_bound`` task, as stored in its partial results: the bound
    (NaN when the LP stopped on its time limit), HiGHS and wall seconds, cuts, termination."""
    from orlearn.problems.lotsizing.milp import WINDOW_EXCESS, window_cut_bound

    begin = time.perf_counter()
    out = window_cut_bound(setting, demand, excess=tuple(options.get("excess", WINDOW_EXCESS)),
                           time_limit=options.get("time_limit"))
    return {"wall": time.perf_counter() - begin,
            "bound": math.nan if out.bound is None else out.bound, "seconds": out.seconds,
            "cuts": out.cuts, "termination": out.termination.value}


def run_task(task: Task) -> TaskOutcome:
    """Score one method on the suite's held-out demand scenarios (mean total cost per episode).

    ``ppo`` / ``pdppo`` / ``pdppo-paper``: train with the task's seed, then score the greedy
    policy;
    ``perfect_information``: the MILP with each scenario's demand known (its mean dual bound is
    the task's reference, kind ``bound``); ``window_bound``: the window-cut LP bound of
    :func:`~orlearn.problems.lotsizing.milp.window_cut_bound` on each scenario (not a policy:
    its objective *and* reference are the mean bound, ``extra["bounds"]`` the per-scenario
    ones, NaN where an LP stopped on its time limit); ``rolling_horizon``: the expected-demand
    MILP re-solved every period.

    Option ``first_scenarios`` (any method; meant for the costly MILP baselines): score only the
    first K of the suite's held-out scenarios (the same scenarios, a prefix: demand is drawn in
    scenario order), so that a report compares every method on those K
    (``extra["costs"]`` holds the per-scenario costs).

    The MILP baselines store each scenario's result as it finishes (the suite folder's
    ``partial/``): a suite run stopped in the middle of one resumes with the scenarios not yet
    done (``extra["resumed_scenarios"]``), and their ``time`` sums the scenarios' wall times.
    """
    from orlearn.bench import TaskOutcome, run_units
    from orlearn.problems.lotsizing.env import simulate

    setting, demand = task_scenarios(task)
    options = {k: v for k, v in task.options.items() if k != "first_scenarios"}
    start = time.perf_counter()
    extra: dict[str, Any] = {"setting": setting.name, "scenarios": int(demand.shape[0])}
    reference = None
    elapsed = None  # the MILP baselines sum their scenarios' times (over resumed attempts)
    if task.method in AGENT_METHODS:
        from orlearn.problems.lotsizing.agents import AgentConfig, _torch_threads, train_agent

        agent, implied = AGENT_METHODS[task.method]
        config = AgentConfig(**{**implied,
                                **{k: options[k] for k in AGENT_KEYS if k in options}})
        result = train_agent(setting, agent, config, seed=task.seed, device="cpu",
                             progress=False)
        with _torch_threads(config.threads, result.agent.device):
            costs = simulate(setting, result.agent.act, demand)
        final_eval = result.history[-1].get("eval_cost")
        extra.update(train_seconds=result.seconds, best_eval_cost=result.best_eval_cost,
                     best_steps=result.best_steps, final_eval_cost=final_eval,
                     curve=[[row["steps"], row.get("train_cost"), row.get("eval_cost")]
                            for row in result.history])
    elif task.method == "perfect_information":
        from orlearn.problems.lotsizing.milp import evaluate_baselines

        def pi_unit(k: int) -> dict[str, Any]:
            begin = time.perf_counter()
            out = evaluate_baselines(setting, demand[k:k + 1],
                                     solver=options.get("solver", "highs"),
                                     time_limit=options.get("time_limit", 60.0),
                                     rel_gap=options.get("rel_gap"), rolling_lookahead=None)
            return {"wall": time.perf_counter() - begin,
                    **{name: float(out[f"pi_{name}"][0])
                       for name in ("objective", "bound", "gap", "seconds", "replay")}}

        units, resumed = run_units(task, demand.shape[0], pi_unit)
        costs = np.array([u["objective"] for u in units])
        bounds = np.array([u["bound"] for u in units])
        reference = float(np.nanmean(bounds))
        elapsed = float(sum(u["wall"] for u in units))
        extra.update(bounds=bounds.tolist(),
                     solver_seconds=float(sum(u["seconds"] for u in units)),
                     max_gap=float(np.nanmax([u["gap"] for u in units])),
                     replay_matches=bool(np.allclose([u["replay"] for u in units], costs,
                                                     rtol=1e-6)),
                     resumed_scenarios=resumed)
    elif task.method == "window_bound":

        def bound_unit(k: int) -> dict[str, Any]:
            return window_bound_unit(setting, demand[k], options)

        units, resumed = run_units(task, demand.shape[0], bound_unit)
        costs = np.array([u["bound"] for u in units])
        reference = float(np.nanmean(costs)) if np.isfinite(costs).any() else None
        elapsed = float(sum(u["wall"] for u in units))
        extra.update(bounds=costs.tolist(), solver_seconds=float(sum(u["seconds"] for u in units)),
                     cuts=int(max(u["cuts"] for u in units)),
                     unsolved=int(np.isnan(costs).sum()), resumed_scenarios=resumed)
    elif task.method == "rolling_horizon":
        from orlearn.problems.lotsizing.milp import RollingHorizonPolicy

        policy = RollingHorizonPolicy(setting, int(options.get("lookahead", 5)),
                                      solver=options.get("solver", "highs"),
                                      time_limit=options.get("time_limit", 10.0),
                                      rel_gap=options.get("rel_gap", 0.01))

        counters = ("solves", "limited", "no_solution")

        def rolling_unit(k: int) -> dict[str, Any]:
            stats = policy.stats
            before = {name: getattr(stats, name) for name in counters}
            stats.max_solve_seconds = 0.0  # this scenario's longest solve
            begin = time.perf_counter()
            cost = float(simulate(setting, policy, demand[k:k + 1])[0])
            return {"cost": cost, "seconds": time.perf_counter() - begin,
                    "max_solve_seconds": stats.max_solve_seconds,
                    **{name: getattr(stats, name) - before[name] for name in counters}}

        units, resumed = run_units(task, demand.shape[0], rolling_unit)
        costs = np.array([u["cost"] for u in units])
        elapsed = float(sum(u["seconds"] for u in units))
        extra.update({name: int(sum(u[name] for u in units)) for name in counters},
                     max_solve_seconds=max((u["max_solve_seconds"] for u in units
                                            if "max_solve_seconds" in u), default=None),
                     resumed_scenarios=resumed)
    else:
        raise ConfigError(f"unknown lot-sizing method {task.method!r}; choose ppo, pdppo, "
                          "pdppo-paper, perfect_information, window_bound or rolling_horizon")
    costs = np.asarray(costs, dtype=float)
    extra.update(costs=costs.tolist(), cost_std=float(np.nanstd(costs, ddof=1))
                 if costs.size > 1 else 0.0)
    return TaskOutcome(objective=float(np.nanmean(costs)), feasible=True,
                       time=time.perf_counter() - start if elapsed is None else elapsed,
                       extra=extra, reference=reference,
                       reference_kind="bound" if reference is not None else None)


def _tasks(params: dict[str, Any], label: str, seeds: range, agent_options: dict[str, Any],
           pi_options: dict[str, Any], rolling_options: dict[str, Any],
           agents: tuple[str, ...] = ("ppo", "pdppo")) -> list[Task]:
    from orlearn.bench import Task

    # seed by seed, PPO then PDPPO: a run cut short leaves paired results
    tasks = [Task("lotsizing", label, method, options=agent_options, seed=seed, params=params)
             for seed in seeds for method in agents]
    tasks.append(Task("lotsizing", label, "perfect_information", options=pi_options,
                      params=params))
    tasks.append(Task("lotsizing", label, "rolling_horizon", options=rolling_options,
                      params=params))
    # the window-cut LP bound on the perfect-information MILP's scenarios
    bound_options = {k: v for k, v in pi_options.items() if k == "first_scenarios"}
    tasks.append(Task("lotsizing", label, "window_bound", options=bound_options,
                      params=params))
    return tasks


def quick_suite(seed: int = 0) -> Suite:
    """The demo's lot-sizing part: a small system (5 items x 2 machines, 20 periods), PPO and
    PDPPO briefly trained, both MILP baselines (the perfect-information MILP stopped after
    4 s per scenario: a valid but loose bound) and the window-cut LP bound, 5 held-out
    scenarios (about a minute)."""
    from orlearn.bench import Suite

    params = {"items": 5, "machines": 2, "setting_seed": 0, "horizon": 20, "scenarios": 5}
    tasks = _tasks(params, "5x2_T20", range(seed, seed + 1),
                   {"total_steps": 10_000, "eval_every": 2_500, "eval_scenarios": 10},
                   {"time_limit": 4.0}, {"lookahead": 3, "time_limit": 2.0})
    return Suite("lotsizing-quick", tasks, "lot-sizing: PPO, PDPPO and MILP baselines, brief")


def paper_suite(seed: int = 0) -> Suite:
    """The PDPPO study: the four configurations, PPO and PDPPO (both advantages: ``pdppo`` and
    ``pdppo-paper``) over 5 seeds with the paper's hyperparameters (1M steps, 10-14 min per
    run on one core) on the same 100 held-out scenarios; the perfect-information MILP (60 s
    per scenario) and the window-cut LP bound (0.5-3 min per scenario) on the first 20 of
    them and the rolling-horizon MILP (10 s limit per decision) on the first 10, where the
    report compares every method on those scenarios (about 20 min and up to 3 h per
    configuration on one core; all three store each finished scenario, so a stopped run
    resumes)."""
    return _study("lotsizing-paper", seed, 1_000_000, 60.0,
                  "PDPPO vs PPO and MILP baselines, 4 configurations")


def short_suite(seed: int = 0) -> Suite:
    """``lotsizing-paper`` cut to 2 CPU cores: the same configurations, seeds, scenarios and
    baselines, but 300k training steps per run (3-5 min on one core; with the entropy bonus of
    0.001 the agents' evaluation cost flattens out by about 200k steps on 20x10) and a 20 s
    perfect-information limit per scenario (its bound is the weak root bound either way)."""
    return _study("lotsizing-short", seed, 300_000, 20.0,
                  "PDPPO vs PPO and MILP baselines, 4 configurations, 300k steps")


def _study(name: str, seed: int, steps: int, pi_limit: float, title: str) -> Suite:
    from orlearn.bench import Suite
    from orlearn.problems.lotsizing.settings import CONFIGURATIONS

    tasks: list[Task] = []
    for config in CONFIGURATIONS:
        tasks += _tasks({"config": config, "setting_seed": 0, "scenarios": 100}, config,
                        range(seed, seed + 5), {"total_steps": steps},
                        {"time_limit": pi_limit, "first_scenarios": 20},
                        {"lookahead": 5, "time_limit": 10.0, "first_scenarios": 10},
                        tuple(AGENT_METHODS))
    return Suite(name, tasks, title)
