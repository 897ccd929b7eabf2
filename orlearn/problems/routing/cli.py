"""Command-line pieces of the routing module.

* ``orlearn generate routing --problem tsp --n 100 --count 10000``: expert-labelled data
  (LKH-3 / PyVRP / exact MILP), in parallel and resumable.
* ``orlearn train routing --problem tsp --data D --valid-data V``: imitation training of a
  BQ policy (labels are generated first when the folders are missing).
* ``orlearn solve FILE.tsp|FILE.vrp|FILE.json --method bq|lkh|pyvrp|ortools|milp``: one
  instance, cost, gap to a known optimum, time; the solution and an optional PNG are written.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from orlearn.errors import ConfigError

ROUTING_SUFFIXES = (".tsp", ".atsp", ".vrp")


def is_routing_file(path: Path) -> bool:
    """Whether ``path`` is a TSPLIB/VRPLIB file (optionally gzipped) or a KP ``.json``."""
    name = path.name.lower().removesuffix(".gz")
    return name.endswith((*ROUTING_SUFFIXES, ".json"))


def _default_folder(problem: str, n: int, split: str, seed: int) -> Path:
    return Path("results") / "routing" / "data" / f"{problem}{n}-{split}-s{seed}"


def generate_command(
    problem: Annotated[str, typer.Option(help="tsp, cvrp or kp.")] = "tsp",
    n: Annotated[int, typer.Option(help="Cities / customers / items.")] = 100,
    count: Annotated[int, typer.Option(help="Instances to label.")] = 1000,
    seed: Annotated[int, typer.Option(help="Dataset seed (use another one for "
                                           "validation).")] = 0,
    out: Annotated[Path | None, typer.Option(help="Output folder (default results/routing/"
                                                  "data/<problem><n>-train-s<seed>).")] = None,
    chunk_size: Annotated[int, typer.Option(help="Instances per file.")] = 100,
    workers: Annotated[int, typer.Option(help="Parallel labelling processes.")] = 2,
    time_limit: Annotated[float, typer.Option(help="PyVRP seconds per CVRP instance.")] = 1.0,
    executor: Annotated[str, typer.Option(help="process or ray.")] = "process",
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Generate instances and label them with the expert (LKH-3 for TSP, PyVRP for CVRP,
    exact MILP for KP); resumable, chunk files in OUT."""
    from orlearn.problems.routing.experts import generate_dataset

    folder = out or _default_folder(problem, n, "train" if seed == 0 else f"seed{seed}", seed)
    root = generate_dataset(problem, n, count, folder, seed=seed, chunk_size=chunk_size,
                            workers=workers, time_limit=time_limit, executor=executor,
                            ray_address=ray_address, progress=progress)
    typer.echo(f"labelled {problem}{n} data in {root}")


def train_command(
    problem: Annotated[str, typer.Option(help="tsp, cvrp or kp.")] = "tsp",
    data: Annotated[Path | None, typer.Option(help="Labelled training folder "
                                                   "(generated if missing).")] = None,
    valid_data: Annotated[Path | None, typer.Option(help="Labelled validation folder.")] = None,
    n: Annotated[int, typer.Option(help="Instance size when data is generated.")] = 100,
    count: Annotated[int, typer.Option(help="Training instances when data is "
                                            "generated.")] = 1000,
    n_valid: Annotated[int, typer.Option(help="Validation instances (greedy gap).")] = 128,
    dim: Annotated[int, typer.Option(help="Encoder width (paper 192).")] = 128,
    layers: Annotated[int, typer.Option(help="Encoder layers (paper 9).")] = 6,
    heads: Annotated[int, typer.Option(help="Attention heads (paper 12).")] = 8,
    ff_dim: Annotated[int, typer.Option(help="Feed-forward width (paper 512).")] = 512,
    batch_size: Annotated[int, typer.Option(help="Sub-problems per step.")] = 128,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 5e-4,
    lr_decay: Annotated[float, typer.Option(help="LR factor per epoch.")] = 0.98,
    epochs: Annotated[int, typer.Option(help="Epochs.")] = 50,
    steps_per_epoch: Annotated[int, typer.Option(help="Batches per epoch.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of initialisation and sampling.")] = 0,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default: cuda if "
                                                    "available).")] = None,
    out: Annotated[Path, typer.Option(help="Checkpoint folder.")] = Path("runs/routing"),
    resume: Annotated[bool, typer.Option(help="Continue the run in OUT.")] = False,
    init: Annotated[str | None, typer.Option(
        help="Fine-tune: start from this checkpoint (file stem or shipped name, e.g. "
             "routing-tsp100); its encoder shape overrides --dim/--layers/--heads/--ff-dim."
    )] = None,
    time_limit: Annotated[float, typer.Option(help="PyVRP seconds per CVRP label.")] = 1.0,
    workers: Annotated[int, typer.Option(help="Labelling processes.")] = 2,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Train a BQ policy by imitation of expert solutions (sub-path augmentation);
    best weights in OUT/best.safetensors, validation greedy gap per epoch."""
    from orlearn.problems.routing.experts import generate_dataset
    from orlearn.problems.routing.train import BQTrainConfig, train_bq

    if problem not in ("tsp", "cvrp", "kp"):
        raise ConfigError(f"--problem must be tsp, cvrp or kp, got {problem!r}")
    label = {"workers": workers, "time_limit": time_limit, "progress": progress}
    if data is None:
        data = generate_dataset(problem, n, count, _default_folder(problem, n, "train", seed),
                                seed=seed, **label)
    if valid_data is None:
        valid_data = generate_dataset(problem, n, n_valid,
                                      _default_folder(problem, n, "valid", seed + 1),
                                      seed=seed + 1, **label)
    config = BQTrainConfig(problem=problem, data=str(data), valid_data=str(valid_data),
                           n_valid=n_valid, dim=dim, layers=layers, heads=heads, ff_dim=ff_dim,
                           batch_size=batch_size, lr=lr, lr_decay=lr_decay, epochs=epochs,
                           steps_per_epoch=steps_per_epoch, seed=seed, device=device,
                           init=init)
    command = "orlearn " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    _, summary = train_bq(config, out, resume=resume, progress=progress, command=command)
    typer.echo(json.dumps(summary, indent=2))
    typer.echo(f"best weights: {out / 'best.safetensors'}")


def solve_routing_file(
    file: Path,
    *,
    method: str | None,
    beam: int,
    knn: int | None,
    checkpoint: str | None,
    time_limit: float | None,
    seed: int,
    optimum: float | None,
    out: Path | None,
    plot: Path | None,
    as_json: bool,
) -> None:
    """Read a TSPLIB/VRPLIB/KP file, solve it, print cost, gap and time, write the solution."""
    import dataclasses

    from orlearn.problems.routing.baselines import solve
    from orlearn.problems.routing.io import read_instance, write_solution

    instance = read_instance(file)
    if optimum is not None:
        instance = dataclasses.replace(instance, optimum=optimum)
    options: dict[str, object] = {}
    if method == "bq":
        options.update(beam=beam, knn=knn, checkpoint=checkpoint)
    else:
        if time_limit is not None:
            options["time_limit"] = time_limit
        if method in ("lkh", "pyvrp", "ortools"):
            options["seed"] = seed
    solution = solve(instance, method, **options)
    written = write_solution(solution, out) if out is not None else None
    if plot is not None:
        solution.plot(path=plot)
    if as_json:
        typer.echo(json.dumps({"file": str(file), **solution.to_dict(),
                               "solution_file": str(written) if written else None},
                              indent=2, default=str))
        return
    typer.echo(f"file:        {file}")
    typer.echo(f"problem:     {solution.problem} ({instance.n} "
               f"{'items' if solution.problem == 'kp' else 'nodes'})")
    typer.echo(f"method:      {solution.method}")
    typer.echo(f"feasible:    {solution.feasible}")
    typer.echo(f"objective:   {solution.objective:.10g}")
    gap = solution.gap
    typer.echo(f"gap:         {'-' if gap is None else f'{gap:.3f}%'}"
               + ("" if instance.optimum is None else f" (optimum {instance.optimum:.10g})"))
    typer.echo(f"time:        {solution.time:.3f} s")
    if written:
        typer.echo(f"solution:    {written}")
    if plot is not None:
        typer.echo(f"plot:        {plot}")


__all__ = ["generate_command", "is_routing_file", "solve_routing_file", "train_command"]
