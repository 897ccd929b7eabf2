"""The ``orlearn`` command line: ``info``, ``solve``, ``bench``, and per-problem ``train`` and
``generate`` commands taken from :mod:`orlearn.registry` (no per-problem code here).

Errors that a user can cause (bad files, unknown names, bad options) print one line,
``orlearn: error: ...``, and exit with status 2; no traceback.
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from orlearn.errors import ConfigError, OrlearnError

app = typer.Typer(
    name="orlearn",
    help="Operations-research decision optimization: learned policies and exact solvers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
train_app = typer.Typer(help="Train a learned policy (one subcommand per problem).",
                        no_args_is_help=True)
generate_app = typer.Typer(help="Generate instances (one subcommand per problem).",
                           no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(generate_app, name="generate")

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


@app.command()
def info() -> None:
    """Print versions, compute devices and available solvers."""
    from orlearn import versions

    for name, version in versions().items():
        typer.echo(f"{name:>16}: {version if version is not None else 'not installed'}")
    try:
        import torch

        cuda = torch.cuda.is_available()
        devices = ["cpu"] + [
            f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())
        ]
        typer.echo(f"{'devices':>16}: {', '.join(devices)} (default: {'cuda' if cuda else 'cpu'})")
        typer.echo(f"{'torch threads':>16}: {torch.get_num_threads()}")
    except ImportError:
        typer.echo(f"{'devices':>16}: torch not installed")
    from orlearn.solvers import available_solvers

    for name, version in available_solvers().items():
        typer.echo(f"{'solver ' + name:>16}: {version or 'not available'}")


@app.command()
def solve(
    file: Annotated[Path, typer.Argument(
        help="An MPS/LP file (.mps, .lp, optionally .gz), a TSPLIB .tsp/.atsp, a VRPLIB .vrp "
             "or a knapsack .json.")],
    solver: Annotated[str, typer.Option(help="MPS/LP: highs or scip.")] = "highs",
    time_limit: Annotated[float | None, typer.Option(help="Seconds.")] = None,
    rel_gap: Annotated[float | None, typer.Option(help="Relative MIP gap to stop at.")] = None,
    threads: Annotated[int | None, typer.Option(help="Solver threads.")] = None,
    seed: Annotated[int, typer.Option(help="Solver random seed.")] = 0,
    tee: Annotated[bool, typer.Option(help="Show the solver's log.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    method: Annotated[str | None, typer.Option(
        help="Routing: bq, lkh, pyvrp, ortools, milp, insertion, nearest, savings, exact, "
             "greedy (default: lkh / pyvrp / exact).")] = None,
    beam: Annotated[int, typer.Option(help="Routing, BQ: beam width (1 = greedy).")] = 1,
    knn: Annotated[int | None, typer.Option(help="Routing, BQ: score only the k nearest "
                                                 "nodes.")] = None,
    checkpoint: Annotated[str | None, typer.Option(help="Routing, BQ: checkpoint stem or "
                                                        "shipped name.")] = None,
    optimum: Annotated[float | None, typer.Option(help="Routing: known optimum for the "
                                                       "gap.")] = None,
    out: Annotated[Path | None, typer.Option(help="Routing: write the solution (.tour, .sol "
                                                  "or .json).")] = None,
    plot: Annotated[Path | None, typer.Option(help="Routing: save a PNG of the "
                                                   "solution.")] = None,
) -> None:
    """Solve an MPS/LP file with HiGHS or SCIP, or a routing file (TSPLIB/VRPLIB/KP) with BQ
    or a baseline, and print the result."""
    from orlearn.problems.routing.cli import is_routing_file, solve_routing_file

    if is_routing_file(file):
        solve_routing_file(file, method=method, beam=beam, knn=knn, checkpoint=checkpoint,
                           time_limit=time_limit, seed=seed, optimum=optimum, out=out,
                           plot=plot, as_json=as_json)
        return
    from orlearn.solvers import solve_file

    result = solve_file(file, solver=solver, time_limit=time_limit, rel_gap=rel_gap,
                        threads=threads, seed=seed, tee=tee)
    if as_json:
        typer.echo(json.dumps({"file": str(file), **result.to_dict()}, indent=2, default=str))
        return
    typer.echo(f"file:        {file}")
    typer.echo(f"solver:      {result.solver} {result.solver_version}")
    typer.echo(f"termination: {result.termination.value}")
    typer.echo(f"status:      {result.status.value}")
    typer.echo(f"objective:   {'-' if result.objective is None else f'{result.objective:.10g}'}")
    typer.echo(f"bound:       {'-' if result.bound is None else f'{result.bound:.10g}'}")
    typer.echo(f"gap:         {'-' if result.gap is None else f'{100 * result.gap:.4g}%'}")
    typer.echo(f"time:        {result.wall_time:.3f} s")
    for key, value in result.extra.items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        typer.echo(f"{key + ':':<13} {shown}")


@app.command()
def bench(
    suite: Annotated[str | None, typer.Argument(help="Suite name or a suite .toml file.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the suites and exit.")] = False,
    executor: Annotated[str, typer.Option(help="process, serial or ray.")] = "process",
    workers: Annotated[int | None, typer.Option(help="Parallel workers (default: cores).")] = None,
    out: Annotated[Path, typer.Option(help="Results root; the suite writes to OUT/SUITE/.")] = Path(
        "results"),
    seed: Annotated[int, typer.Option(help="Base seed of the suite's instances.")] = 0,
    retry_failed: Annotated[bool, typer.Option(help="Re-run tasks that failed before.")] = True,
    fresh: Annotated[bool, typer.Option(help="Discard this suite's stored results.")] = False,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    folder: Annotated[Path | None, typer.Option(
        help="Data folder of a file suite (routing-tsplib, routing-cvrplib).")] = None,
    only: Annotated[str | None, typer.Option(
        help="Run only some tasks: a comma-separated list of methods and/or instances "
             "(e.g. 'mlp,gnn' or 'mlp,inst_a,inst_b': those methods on those instances); the "
             "report still covers every stored result of the suite; globs such as "
             "'setcover-medium-*' match several names.")
    ] = None,
    only_seeds: Annotated[str | None, typer.Option(
        help="Run only tasks with these run seeds, comma-separated (a branching solve's SCIP "
             "seed, a training run's agent seed; not --seed).")
    ] = None,
) -> None:
    """Run a benchmark suite, resuming from stored results, and print its table."""
    from orlearn.bench import get_suite, list_suites, print_summary, run_suite, write_reports

    if list_ or suite is None:
        for name, description in list_suites().items():
            typer.echo(f"{name:<20} {description}")
        if suite is None and not list_:
            raise typer.Exit(EXIT_USER_ERROR)
        return
    built = get_suite(suite, seed=seed, folder=folder)
    store_path = out / built.name / "results.jsonl"
    if fresh and store_path.exists():
        store_path.unlink()
    typer.echo(f"suite {built.name}: {len(built)} tasks, results in {out / built.name}")
    to_run = built
    if only is not None or only_seeds is not None:
        to_run = built.select(only, _int_list(only_seeds, "--only-seeds"))
        typer.echo(f"running {len(to_run)} of them")
    summary = run_suite(to_run, out, executor=executor, workers=workers,
                        retry_failed=retry_failed, ray_address=ray_address, progress=progress)
    tasks, table = write_reports(built, summary.out_dir)
    print_summary(table, f"{built.name} ({len(tasks)}/{len(built)} tasks, seed {seed})")
    from orlearn.bench.report import problem_reports

    extra = problem_reports(built, summary.out_dir)
    if extra:
        typer.echo(extra)
    typer.echo(
        f"ran {summary.ran}, reused {summary.skipped}, failed {summary.failed}; "
        f"CSV, Markdown and plots in {summary.out_dir}"
    )
    if summary.interrupted:
        typer.echo("interrupted: finished tasks are stored; run the same command to resume",
                   err=True)
        raise typer.Exit(EXIT_INTERRUPTED)


def _int_list(text: str | None, field: str) -> list[int] | None:
    """``"0,2"`` -> ``[0, 2]``; None stays None; anything else is a one-line ConfigError."""
    if text is None:
        return None
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{field}: expected comma-separated integers such as '0,1', "
                          f"got {text!r}") from None
    if not values:
        raise ConfigError(f"{field}: give at least one integer, e.g. '0'")
    return values


def _register_problem_commands() -> None:
    """Add ``orlearn train/generate <problem>`` from the registry."""
    from orlearn.registry import COMMANDS, resolve

    groups = {"train": train_app, "generate": generate_app}
    for group, entries in COMMANDS.items():
        for problem, target in entries.items():
            _add_lazy_command(groups[group], problem, target, resolve)


def _add_lazy_command(group: typer.Typer, name: str, target: str, resolve: Any) -> None:
    # Resolving imports the problem module; only do it when that command is asked for
    # (or help is shown for it), so that `orlearn --help` stays fast.
    requested = len(sys.argv) > 2 and sys.argv[1] in ("train", "generate") and sys.argv[2] == name
    if not requested:
        group.command(name=name, help=f"(see: orlearn {group.info.name or ''} {name} --help)",
                      context_settings={"allow_extra_args": True,
                                        "ignore_unknown_options": True})(_placeholder(name))
        return
    obj = resolve(target)
    if isinstance(obj, typer.Typer):
        group.add_typer(obj, name=name)
    else:
        doc = inspect.getdoc(obj) or ""
        group.command(name=name, help=doc)(obj)


def _placeholder(name: str) -> Any:
    def command() -> None:  # pragma: no cover - only reached through unusual argv
        raise OrlearnError(f"run the command as its own process: orlearn ... {name}")

    command.__name__ = name.replace("-", "_")
    return command


def _cli_exceptions() -> tuple[tuple[type[BaseException], ...], ...]:
    """(usage errors, exits, aborts) of click and of typer's own copy of click.

    Typer >= 0.20 vendors click (``typer._click``): its usage errors are not
    ``click.ClickException`` and its ``Exit`` / ``Abort`` are typer's own classes.
    """
    import click

    usage: list[type[BaseException]] = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException as VendoredClickException
    except ImportError:  # typer before the vendored click
        pass
    else:
        usage.append(VendoredClickException)
    exits = tuple({click.exceptions.Exit, typer.Exit})
    aborts = tuple({click.exceptions.Abort, typer.Abort})
    return tuple(usage), exits, aborts


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``orlearn`` script; returns the exit code."""
    usage_errors, exits, aborts = _cli_exceptions()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if argv is not None:
        sys.argv = ["orlearn", *argv]
    try:
        _register_problem_commands()
        code = app(args=sys.argv[1:], prog_name="orlearn", standalone_mode=False)
        return int(code or 0)
    except OrlearnError as exc:
        typer.echo(f"orlearn: error: {exc}", err=True)
        return EXIT_USER_ERROR
    except exits as exc:
        return int(exc.exit_code)  # type: ignore[attr-defined]
    except usage_errors as exc:
        exc.show()  # type: ignore[attr-defined]
        return int(exc.exit_code)  # type: ignore[attr-defined]
    except aborts:
        typer.echo("orlearn: aborted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        typer.echo("orlearn: interrupted", err=True)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
