"""Branching benchmark suites, the branching report, and the ``orlearn generate/train
branching`` commands.

Solve tasks (``method`` in ``gcnn``, ``relpscost``, ``pscost``, ``fullstrong``): the instance
is test instance ``index`` of a generated distribution (rebuilt from its seed, so no files are
needed) or an MPS/LP file; SCIP runs with the paper's settings (cuts at the root only, no
restarts, seeds set) under a time limit; the outcome's ``time`` is SCIP's solving time and
``extra`` holds nodes and status. A time-limit hit is a recorded outcome (its time is the
limit, as in the paper's shifted geometric means).

Imitation tasks (``method="imitation"``): collect (or reuse) strong-branching samples of the
training families, train a GCNN on ``n_samples`` of them, and report top-1 accuracy on the
held-out samples of the evaluated family (objective, sense max). ``branching-mixed`` compares
one family against a mix with the same number of samples, over several training seeds; the
report pairs the two on the same test samples (difference of top-1, standard error clustered
by instance, one-sided p).

:func:`report` turns a suite's records into the table of the paper: 1-shifted geometric mean
of solve time and node count per family and method, and wins (fastest solve among methods on
an instance and seed).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from orlearn.errors import ConfigError

if TYPE_CHECKING:
    from orlearn.bench import Suite, TaskOutcome

SOLVE_METHODS = ("gcnn", "relpscost", "pscost", "fullstrong")
GASSE_FAMILIES = ("setcover", "cauctions", "facilities", "indset")
#: families of the mixed-training study; vertex cover is left out: at every generated size SCIP
#: solves it at the root, so it yields no branching samples
MIX_FAMILIES = ("setcover", "cauctions", "facilities", "indset", "gisp")
WORKDIR = Path("results/branching")
#: checkpoint per family; families without their own use the mix
SHIPPED = {"setcover": "branching-setcover", "facilities": "branching-facilities"}
SHIPPED_MIX = "branching-mix"


def _policy_for(family: str | None, checkpoint: str | None) -> Any:
    from orlearn.problems.branching.model import load_policy

    name = checkpoint or SHIPPED.get(family or "", SHIPPED_MIX)
    return load_policy(name)[0]


def _instance_path(task: Any, folder: str) -> tuple[str, str | None]:
    """The MPS file of a task (written to ``folder`` for generated instances), its family."""
    params = task.params
    if not params:
        return task.instance, None
    from orlearn.problems.branching.instances import build_instance, instance_seed, write_instance

    family, size = params["family"], params["size"]
    label = _size_label(size)
    seed = instance_seed(family, label, params.get("split", "test"), int(params["index"]),
                         int(params.get("seed", 0)))
    path = Path(folder) / f"{family}_{label}_{params['index']}.mps"
    write_instance(build_instance(family, size, seed), path)
    return str(path), family


def _size_label(size: Any) -> str:
    return size if isinstance(size, str) else "custom"


def run_task(task: Any) -> TaskOutcome:
    from orlearn.bench import TaskOutcome

    options = dict(task.options)
    if task.method == "imitation":
        return _run_imitation(task)
    if task.method not in SOLVE_METHODS:
        raise ConfigError(f"branching method {task.method!r}: use one of "
                          f"{', '.join(SOLVE_METHODS)} or imitation")
    from orlearn.problems.branching.rules import solve_with

    if task.method == "gcnn":
        import torch

        torch.set_num_threads(1)  # one node's graph is small; benchmark workers share the cores
    with tempfile.TemporaryDirectory(prefix="orlearn-branching-") as folder:
        path, family = _instance_path(task, folder)
        policy = (_policy_for(family, options.get("checkpoint")) if task.method == "gcnn"
                  else None)
        record = solve_with(path, task.method, seed=task.seed,
                            time_limit=options.get("time_limit", 600.0), policy=policy)
    extra = {"nodes": record.nodes, "scip_status": record.status, "dual_bound": record.dual_bound,
             "gap": record.gap, "family": family or Path(task.instance).parent.name,
             "size": _size_label(task.params.get("size", "file")), **record.extra}
    if task.method == "gcnn" and record.extra.get("calls"):
        extra["feature_ms_per_node"] = 1000 * record.extra["feature_time"] / record.extra["calls"]
        extra["inference_ms_per_node"] = (1000 * record.extra["inference_time"]
                                          / record.extra["calls"])
    return TaskOutcome(objective=record.objective, feasible=record.objective is not None,
                       time=record.time, extra=extra)


def ensure_samples(family: str, size: str, split: str, n: int, *, workdir: Path = WORKDIR,
                   n_instances: int | None = None, workers: int = 1, seed: int = 0,
                   time_limit: float = 60.0, max_per_episode: int = 50,
                   query_prob: float = 0.05, progress: bool = False) -> Path:
    """Samples of ``family/size/split`` in ``workdir`` (generated and collected if missing)."""
    from orlearn.problems.branching.data import collect_samples
    from orlearn.problems.branching.instances import generate_distribution

    counts = {"train": 100, "valid": 20, "test": 20}
    if n_instances is not None:
        counts[split] = n_instances
    dist = generate_distribution(family, size, workdir / "instances" / f"{family}_{size}",
                                 n_train=counts["train"], n_valid=counts["valid"],
                                 n_test=counts["test"], seed=seed)
    out = workdir / "samples" / f"{family}_{size}_q{query_prob:g}" / split
    split_seed = {"train": 0, "valid": 1, "test": 2}[split] + 10 * seed
    collect_samples(dist.files(split), out, n, query_prob=query_prob, time_limit=time_limit,
                    max_per_episode=max_per_episode, workers=workers, seed=split_seed,
                    progress=progress)
    return out


def _run_imitation(task: Any) -> TaskOutcome:
    import time

    from orlearn.bench import TaskOutcome
    from orlearn.problems.branching.data import SampleDataset, sample_files, sample_instances
    from orlearn.problems.branching.train import TrainConfig, accuracy, train_gcnn

    o = dict(task.options)
    size = o.get("size", "easy")
    workdir = Path(o.get("workdir", WORKDIR))
    train_families = list(o["train"])
    n_samples = int(o["n_samples"])
    n_valid = int(o.get("n_valid", 100))  # in all, split equally like the training samples
    n_test = int(o.get("n_test", 200))
    per = -(-n_samples // len(train_families))
    per_valid = -(-n_valid // len(train_families))
    collect = {"workdir": workdir, "workers": int(o.get("workers", 1)),
               "query_prob": float(o.get("query_prob", 0.05))}
    start = time.perf_counter()
    train_dirs = [ensure_samples(f, size, "train", per, **collect) for f in train_families]
    valid_dirs = [ensure_samples(f, size, "valid", per_valid, **collect)
                  for f in train_families]
    eval_dir = ensure_samples(o["eval"], size, "test", n_test, **collect)
    optional = {k: int(o[k]) for k in ("decay_patience",) if k in o}
    config = TrainConfig(epochs=int(o.get("epochs", 30)), patience=int(o.get("patience", 20)),
                         n_train=n_samples, n_valid=n_valid, seed=task.seed, **optional)
    # the run is shared by the tasks with the same training set and hyper-parameters
    settings = json.dumps({k: o.get(k) for k in ("size", "n_valid", "epochs", "patience",
                                                 "decay_patience", "query_prob")},
                          sort_keys=True)
    tag = hashlib.sha256(settings.encode()).hexdigest()[:8]
    run = workdir / "runs" / f"{'+'.join(train_families)}_{n_samples}_{task.seed}_{tag}"
    if (run / "best.json").exists():  # the same training set was trained on by another task
        from orlearn.problems.branching.model import load_policy

        model, saved = load_policy(str(run / "best"))
        summary = {"valid": saved["metadata"].get("validation"),
                   "epochs": saved["metadata"].get("epochs")}
    else:
        model, summary = train_gcnn(train_dirs, valid_dirs, run, config, progress=False)
    files = sample_files(eval_dir)[:n_test]
    test = accuracy(model, SampleDataset(files), per_sample=True)
    hits = test.pop("top1_hits")
    return TaskOutcome(objective=test["top1"], feasible=True,
                       time=time.perf_counter() - start,
                       extra={"test": test, "valid": summary["valid"], "train": train_families,
                              "eval": o["eval"], "epochs": summary["epochs"],
                              "n_test": len(files), "top1_hits": hits,
                              "test_instances": sample_instances(files)})


def _solve_tasks(families: tuple[str, ...], sizes: tuple[str, ...], n_instances: int,
                 seeds: range, time_limit: float, seed: int,
                 methods: tuple[str, ...] = ("gcnn", "relpscost", "pscost")) -> list[Any]:
    from orlearn.bench import Task

    return [
        Task("branching", f"{family}-{size}-test-{i}", method,
             options={"time_limit": time_limit}, seed=s,
             params={"family": family, "size": size, "split": "test", "index": i, "seed": seed})
        for family in families for size in sizes for i in range(n_instances) for s in seeds
        for method in methods
    ]


def quick_suite(seed: int = 0) -> Suite:
    """Two small set-cover instances (250 x 500), GCNN (shipped checkpoint) vs relpscost and
    pscost: seconds on 2 cores."""
    from orlearn.bench import Suite, Task

    small = {"n_rows": 250, "n_cols": 500, "density": 0.05}
    tasks = [Task("branching", f"setcover-small-test-{i}", method,
                  options={"time_limit": 60.0}, seed=0,
                  params={"family": "setcover", "size": small, "split": "test", "index": i,
                          "seed": seed})
             for i in range(2) for method in ("gcnn", "relpscost", "pscost")]
    return Suite("branching-quick", tasks, "branching: small set cover, GCNN vs SCIP rules")


def gasse_suite(seed: int = 0) -> Suite:
    """Gasse et al.'s evaluation: four families at easy and medium size, 20 test instances x
    5 seeds, GCNN vs relpscost vs pscost, 1 h limit (easy: 10 min)."""
    from orlearn.bench import Suite

    tasks = (_solve_tasks(GASSE_FAMILIES, ("easy",), 20, range(5), 600.0, seed)
             + _solve_tasks(GASSE_FAMILIES, ("medium",), 20, range(5), 3600.0, seed))
    return Suite("branching-gasse", tasks, "branching: Gasse et al. four families, easy+medium")


def easy_suite(seed: int = 0) -> Suite:
    """A 2-core-sized cut of ``branching-gasse``: the four families at easy size, 10 test
    instances x 1 seed, 5-minute limit."""
    from orlearn.bench import Suite

    tasks = _solve_tasks(GASSE_FAMILIES, ("easy",), 10, range(1), 300.0, seed)
    return Suite("branching-easy", tasks, "branching: four families, easy, 10 instances")


def mixed_suite(seed: int = 0) -> Suite:
    """Imitation with scarce data (400 training samples): a GCNN trained on set cover alone
    vs one trained on an equal share of the other families, each evaluated on a family that
    is in neither training set (top-1 on 300 held-out test samples of that family); three
    training seeds each. The report pairs the two models on the same test samples."""
    from orlearn.bench import Suite, Task

    base = {"size": "easy", "n_samples": 400, "n_valid": 120, "n_test": 300, "epochs": 20,
            "patience": 6, "decay_patience": 3, "query_prob": 0.3, "workers": 2}
    tasks = []
    for held_out in MIX_FAMILIES[1:]:
        mix = [f for f in MIX_FAMILIES if f != held_out]
        for label, train in (("single", ["setcover"]), ("mix", mix)):
            tasks += [Task("branching", f"imitation-{label}-eval-{held_out}", "imitation",
                           options={**base, "train": train, "eval": held_out},
                           seed=seed + s, sense="max") for s in range(3)]
    return Suite("branching-mixed", tasks, "branching: single vs mixed-distribution training")


def shifted_geomean(values: Any, shift: float = 1.0) -> float:
    """``exp(mean(log(v + shift))) - shift`` (the 1-shifted geometric mean)."""
    arr = np.asarray(list(values), dtype=float)
    if arr.size == 0:
        return math.nan
    return float(np.exp(np.mean(np.log(arr + shift))) - shift)


def report(records: list[dict[str, Any]]) -> tuple[str, Any]:
    """Per family and method: tasks, solved, 1-shifted geometric mean time and nodes, wins."""
    import pandas as pd

    from orlearn.bench.report import markdown_table

    imitation = _imitation_report(records)
    rows = []
    for r in records:
        if r.get("method") not in SOLVE_METHODS or r.get("status") != "ok":
            continue
        extra = r.get("extra") or {}
        params = r.get("params") or {}
        rows.append({"family": extra.get("family"), "size": str(extra.get("size")),
                     "instance": r["instance"], "seed": r["seed"], "method": r["method"],
                     "time": r["time"], "nodes": extra.get("nodes", 0),
                     "solved": extra.get("scip_status") == "optimal",
                     "index": params.get("index")})
    if not rows:
        return imitation
    frame = pd.DataFrame(rows)
    fastest = frame.groupby(["instance", "seed"])["time"].transform("min")
    frame["win"] = frame["solved"] & (frame["time"] <= fastest)
    table = frame.groupby(["family", "size", "method"], sort=False).agg(
        runs=("time", "size"), solved=("solved", "sum"),
        time_sgm=("time", shifted_geomean), nodes_sgm=("nodes", shifted_geomean),
        wins=("win", "sum")).reset_index()
    cells = [[str(row.family), str(row.size), str(row.method), str(row.runs), str(row.solved),
              f"{row.time_sgm:.2f}", f"{row.nodes_sgm:.0f}", str(row.wins)]
             for row in table.itertuples(index=False)]
    header = ["family", "size", "method", "runs", "solved", "time (s)", "nodes", "wins"]
    text = markdown_table(header, cells, "Branching: 1-shifted geometric means")
    paired = solve_comparison(frame)
    if paired:
        cells = [[c["family"], c["size"], c["baseline"], str(c["pairs"]), str(c["instances"]),
                  _ratio_cell(c["nodes"], c["nodes_ci"], c["node_pairs"]),
                  _ratio_cell(c["time"], c["time_ci"], c["pairs"])] for c in paired]
        header = ["family", "size", "gcnn vs", "runs paired", "instances",
                  "nodes ratio (95% CI; both solved)", "time ratio (95% CI)"]
        text += "\n\n" + markdown_table(
            header, cells, "Branching: GCNN / rule, geometric mean of paired (instance, seed) "
                           "ratios of 1-shifted values; CI clustered by instance")
    return text, table


def _ratio_cell(ratio: float, ci: tuple[float, float], n: int) -> str:
    if not n:
        return "-"
    return f"{ratio:.2f} ({ci[0]:.2f}-{ci[1]:.2f})"


def solve_comparison(frame: Any) -> list[dict[str, Any]]:
    """GCNN against each SCIP rule on the same (instance, seed) runs, per family and size.

    For every pair, the ratio ``(gcnn + 1) / (rule + 1)`` of the solve time and of the node
    count; the table gives the geometric mean of the ratios (below 1: the GCNN is faster /
    makes fewer nodes) with a 95% normal interval on the mean log-ratio whose standard error
    is clustered by instance (the seeds of one instance are correlated). Times include runs
    that hit the time limit (at the limit, as the rest of the report); node counts use only
    the pairs that both methods solved, since a stopped run's tree is incomplete."""
    out: list[dict[str, Any]] = []
    if "gcnn" not in set(frame["method"]):
        return out
    runs = {}  # (instance, seed, method) -> the first record's run
    for run in frame.itertuples(index=False):
        runs.setdefault((run.instance, run.seed, run.method), run)
    for (family, size), group in frame.groupby(["family", "size"], sort=False):
        gcnn = group[group["method"] == "gcnn"]
        for baseline in [m for m in SOLVE_METHODS if m != "gcnn"]:
            rows = []
            for run in gcnn.itertuples(index=False):
                other = runs.get((run.instance, run.seed, baseline))
                if other is None:
                    continue
                both = bool(run.solved and other.solved)
                rows.append((run.instance, math.log((run.time + 1) / (other.time + 1)),
                             math.log((run.nodes + 1) / (other.nodes + 1)) if both
                             else None))
            if not rows:
                continue
            entry = {"family": str(family), "size": str(size), "baseline": baseline,
                     "pairs": len(rows), "instances": len({r[0] for r in rows})}
            for name, column in (("time", 1), ("nodes", 2)):
                kept = [(r[0], r[column]) for r in rows if r[column] is not None]
                logs = np.array([v for _, v in kept])
                se = clustered_se(logs, [g for g, _ in kept]) if len(kept) > 1 else 0.0
                mean = float(logs.mean()) if len(kept) else math.nan
                entry[name] = math.exp(mean)
                entry[f"{name}_ci"] = (math.exp(mean - 1.96 * se), math.exp(mean + 1.96 * se))
            entry["node_pairs"] = sum(r[2] is not None for r in rows)
            out.append(entry)
    return out


def _imitation_report(records: list[dict[str, Any]]) -> tuple[str, Any]:
    """Top-k accuracy on held-out families of the imitation tasks (single vs mix): mean and
    std over training seeds, then the paired top-1 difference mix - single per family."""
    import pandas as pd

    from orlearn.bench.report import markdown_table

    rows = []
    for r in records:
        if r.get("method") != "imitation" or r.get("status") != "ok":
            continue
        extra = r.get("extra") or {}
        test = extra.get("test") or {}
        rows.append({"eval": extra.get("eval"), "train": "+".join(extra.get("train") or []),
                     "seed": r.get("seed", 0), "hits": extra.get("top1_hits"),
                     "instances": extra.get("test_instances"),
                     **{k: test.get(k) for k in ("top1", "top3", "top5", "top10")}})
    if not rows:
        return "", pd.DataFrame()
    frame = pd.DataFrame(rows)
    table = frame.groupby(["eval", "train"], sort=False).agg(
        seeds=("seed", "size"), **{f"{k}": (k, "mean") for k in ("top1", "top3", "top5",
                                                                  "top10")},
        top1_std=("top1", lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0),
    ).reset_index()
    cells = [[str(row.eval), str(row.train), str(row.seeds),
              f"{row.top1:.1%} +- {row.top1_std:.1%}", f"{row.top3:.1%}", f"{row.top5:.1%}",
              f"{row.top10:.1%}"] for row in table.itertuples(index=False)]
    header = ["evaluated on", "trained on", "seeds", "top-1 (mean +- std over seeds)",
              "top-3", "top-5", "top-10"]
    text = markdown_table(header, cells, "Branching: imitation accuracy on held-out families")
    comparison = imitation_comparison(frame)
    if comparison:
        cells = [[c["eval"], str(c["seeds"]), str(c["samples"]), str(c["instances"]),
                  f"{c['single']:.1%}", f"{c['mix']:.1%}", f"{100 * c['diff']:+.1f}",
                  f"{100 * c['se']:.1f}", f"{c['p']:.3f}"] for c in comparison]
        header = ["held-out family", "seeds", "test samples", "instances", "single top-1",
                  "mix top-1", "mix - single (points)", "se (by instance)",
                  "one-sided p (mix better)"]
        text += "\n\n" + markdown_table(header, cells, "Branching: mix vs single, paired on "
                                                       "the same test samples")
    return text, table


def imitation_comparison(frame: Any) -> list[dict[str, Any]]:
    """Per held-out family, the top-1 difference mix - single on the same test samples.

    Each sample's hit is averaged over the training seeds of each model; the difference's
    standard error is clustered by the instance the sample was recorded on (samples of one
    branch-and-bound tree are correlated), and p is the one-sided normal p-value of "mix
    better". A last row ``all`` pools the families (mean of their differences). Families
    whose records lack per-sample hits, or whose two models saw different samples, are left
    out."""
    from scipy.stats import norm

    out: list[dict[str, Any]] = []
    for family, group in frame.groupby("eval", sort=False):
        models = {}
        for train, runs in group.groupby("train", sort=False):
            hits = [h for h in runs["hits"] if h is not None]
            if len(hits) != len(runs) or len({len(h) for h in hits}) != 1:
                break
            models[train] = (np.mean(np.asarray(hits, float), axis=0),
                             runs["instances"].iloc[0], len(runs))
        single = [t for t in models if "+" not in t]
        mix = [t for t in models if "+" in t]
        if len(single) != 1 or len(mix) != 1:
            continue
        (s_hits, s_inst, s_seeds), (m_hits, m_inst, m_seeds) = models[single[0]], models[mix[0]]
        if s_inst is None or list(s_inst) != list(m_inst) or len(s_hits) == 0:
            continue
        diff = m_hits - s_hits
        out.append({"eval": str(family), "seeds": min(s_seeds, m_seeds), "samples": len(diff),
                    "instances": len(set(s_inst)), "single": float(s_hits.mean()),
                    "mix": float(m_hits.mean()), "diff": float(diff.mean()),
                    "se": clustered_se(diff, list(s_inst))})
    if len(out) > 1:
        out.append({"eval": "all", "seeds": min(c["seeds"] for c in out),
                    "samples": sum(c["samples"] for c in out),
                    "instances": sum(c["instances"] for c in out),
                    **{k: float(np.mean([c[k] for c in out])) for k in ("single", "mix",
                                                                         "diff")},
                    "se": float(np.sqrt(sum(c["se"] ** 2 for c in out)) / len(out))})
    for c in out:
        c["p"] = float(norm.sf(c["diff"] / c["se"])) if c["se"] > 0 else (
            0.0 if c["diff"] > 0 else 1.0)
    return out


def clustered_se(values: Any, clusters: list[Any]) -> float:
    """Standard error of the mean of ``values`` with observations correlated within
    ``clusters`` (the sandwich estimator with the G/(G-1) correction)."""
    x = np.asarray(values, float)
    n = len(x)
    if n < 2:
        return 0.0
    resid = x - x.mean()
    sums: dict[Any, float] = {}
    for r, g in zip(resid, clusters, strict=True):
        sums[g] = sums.get(g, 0.0) + float(r)
    groups = len(sums)
    if groups < 2:
        return float(np.std(x, ddof=1) / np.sqrt(n))
    return float(np.sqrt(groups / (groups - 1) * sum(v * v for v in sums.values())) / n)


def generate_command(
    family: Annotated[str, typer.Option(help="setcover, cauctions, facilities, indset, "
                                             "vertexcover or gisp.")] = "setcover",
    size: Annotated[str, typer.Option(help="tiny, easy, medium or hard.")] = "easy",
    n_train: Annotated[int, typer.Option(help="Training instances.")] = 100,
    n_valid: Annotated[int, typer.Option(help="Validation instances.")] = 20,
    n_test: Annotated[int, typer.Option(help="Test instances.")] = 20,
    seed: Annotated[int, typer.Option(help="Base seed of the instance seeds.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Folder (default results/branching/"
                                                  "instances/FAMILY_SIZE).")] = None,
    samples: Annotated[int, typer.Option(help="Also collect this many strong-branching "
                                              "samples from the training split.")] = 0,
    label: Annotated[bool, typer.Option(help="Label the test split's hardness by SCIP "
                                             "solve time.")] = False,
    label_time_limit: Annotated[float, typer.Option(help="Time limit of the labelling "
                                                         "solves (s).")] = 600.0,
    label_scale: Annotated[float, typer.Option(help="Scale of the easy/medium/hard "
                                                    "thresholds (100 s / 1000 s) for this "
                                                    "machine.")] = 1.0,
    workers: Annotated[int, typer.Option(help="Parallel sampling processes.")] = 1,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Write a train/valid/test MILP distribution as MPS files (resumable); optionally
    collect strong-branching samples and label hardness."""
    from orlearn.problems.branching.instances import generate_distribution, label_hardness

    folder = out or WORKDIR / "instances" / f"{family}_{size}"
    dist = generate_distribution(family, size, folder, n_train, n_valid, n_test, seed=seed,
                                 progress=progress)
    typer.echo(f"{dist.name}: " + ", ".join(f"{k} {len(v)}" for k, v in dist.splits.items())
               + f" in {folder}")
    if samples:
        from orlearn.problems.branching.data import collect_samples

        info = collect_samples(dist.files("train"), Path(folder) / "samples" / "train", samples,
                               workers=workers, seed=seed, progress=progress)
        typer.echo(f"samples: {info['samples']} in {Path(folder) / 'samples' / 'train'}")
    if label:
        rows = label_hardness(dist.files("test"), time_limit=label_time_limit,
                              scale=label_scale, seed=seed, out_csv=Path(folder) / "hardness.csv",
                              progress=progress)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["label"]] = counts.get(row["label"], 0) + 1
        typer.echo(f"hardness (scale {label_scale}): {counts} -> {Path(folder) / 'hardness.csv'}")


def train_command(
    family: Annotated[list[str] | None, typer.Option(help="Training family (repeat for a "
                                                          "mix).")] = None,
    folder: Annotated[list[Path] | None, typer.Option(help="A folder of MPS/LP files as a "
                                                           "distribution (repeatable).")] = None,
    size: Annotated[str, typer.Option(help="Size of generated families.")] = "easy",
    samples: Annotated[int, typer.Option(help="Training samples in all.")] = 2000,
    valid_samples: Annotated[int, typer.Option(help="Validation samples per "
                                                    "distribution.")] = 200,
    test_samples: Annotated[int, typer.Option(help="Held-out test samples per generated "
                                                   "family (top-k accuracy).")] = 0,
    query_prob: Annotated[float, typer.Option(help="Probability of recording a node "
                                                   "(paper: 0.05).")] = 0.05,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 50,
    patience: Annotated[int, typer.Option(help="Early-stopping patience (epochs).")] = 20,
    lr: Annotated[float | None, typer.Option(
        help="Adam learning rate (default: TrainConfig's, the paper's 1e-3).")] = None,
    decay_patience: Annotated[int | None, typer.Option(
        help="Epochs without a better validation loss before the learning rate is multiplied "
             "by 0.2 (default: TrainConfig's, the paper's 10; lower it when only a few epochs "
             "fit the budget).")] = None,
    workers: Annotated[int, typer.Option(help="Parallel sampling processes.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of sampling and training.")] = 0,
    workdir: Annotated[Path, typer.Option(help="Instances and samples go here.")] = WORKDIR,
    out: Annotated[Path, typer.Option(help="Checkpoint folder.")] = Path("runs/branching"),
    resume: Annotated[bool, typer.Option(help="Continue the training state in OUT (same "
                                              "data and hyper-parameters).")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Collect strong-branching samples (resumable) and train the GCNN by imitation;
    prints top-1/3/5/10 validation accuracy; weights in OUT/best.safetensors."""
    from orlearn.problems.branching.data import collect_samples
    from orlearn.problems.branching.instances import Distribution
    from orlearn.problems.branching.train import TrainConfig, train_gcnn

    families = list(family or [])
    folders = list(folder or [])
    if not families and not folders:
        families = ["setcover"]
    n_dist = len(families) + len(folders)
    per = -(-samples // n_dist)
    train_dirs: list[Path] = []
    valid_dirs: list[Path] = []
    collect = {"workdir": workdir, "workers": workers, "seed": seed, "query_prob": query_prob,
               "progress": progress}
    for fam in families:
        train_dirs.append(ensure_samples(fam, size, "train", per, **collect))
        valid_dirs.append(ensure_samples(fam, size, "valid", valid_samples, **collect))
    for path in folders:
        dist = Distribution.from_folder(path, seed=seed)
        root = workdir / "samples" / dist.name
        for split, n, dirs in (("train", per, train_dirs), ("valid", valid_samples, valid_dirs)):
            collect_samples(dist.files(split), root / split, n, workers=workers, seed=seed,
                            query_prob=query_prob, progress=progress)
            dirs.append(root / split)
    optional = {"lr": lr, "decay_patience": decay_patience}
    config = TrainConfig(epochs=epochs, patience=patience, n_train=samples,
                         n_valid=valid_samples * n_dist, seed=seed,
                         **{k: v for k, v in optional.items() if v is not None})
    command = " ".join(["orlearn", *sys.argv[1:]])
    from orlearn.nn import machine_description, update_metadata

    model, summary = train_gcnn(train_dirs, valid_dirs, out, config, progress=progress,
                                resume=resume and (out / "last.json").exists(),
                                metadata={"command": command,
                                          "hardware": machine_description()},
                                extra_config={"families": families,
                                              "folders": [str(f) for f in folders],
                                              "size": size, "query_prob": query_prob})

    def fmt(acc: dict[str, float]) -> str:
        return ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items() if k.startswith("top"))

    typer.echo(f"trained {summary['epochs']} epochs on {summary['n_train']} samples; "
               f"validation {fmt(summary['valid'])}; weights in {out / 'best.safetensors'}")
    record: dict[str, Any] = {"command": command, **summary, "test": {}}
    if test_samples > 0:
        from orlearn.problems.branching.data import SampleDataset, sample_files
        from orlearn.problems.branching.train import accuracy

        for fam in families:
            folder_ = ensure_samples(fam, size, "test", test_samples, **collect)
            acc = accuracy(model, SampleDataset(sample_files(folder_)[:test_samples]))
            record["test"][fam] = acc
            typer.echo(f"test {fam} ({test_samples} held-out samples): {fmt(acc)}")
        update_metadata(out / "best", {"test": record["test"], "n_test": test_samples})
    (out / "result.json").write_text(json.dumps(record, indent=2, default=str))


__all__ = ["clustered_se", "easy_suite", "gasse_suite", "generate_command",
           "imitation_comparison", "mixed_suite", "quick_suite", "report", "run_task",
           "shifted_geomean", "solve_comparison", "train_command"]
