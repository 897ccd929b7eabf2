"""Benchmark tasks and the ``orlearn train inventory`` command.

A task's ``params`` name a setting and its arguments (``{"setting": "one_store_lost", "p": 9,
"lead": 2}``); its ``method`` is a policy name (``newsvendor`` is evaluated as is; the others
are trained by HDPO, or by REINFORCE with ``options["estimator"] = "reinforce"``); its
``reference`` is the optimal, closed-form or bound cost per period per store. The objective is
the test cost on paths drawn with a seed the training never saw.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from orlearn.bench.runner import TaskOutcome
from orlearn.bench.tasks import Suite, Task
from orlearn.errors import ConfigError
from orlearn.nn import seed_everything
from orlearn.problems.inventory.hdpo import (
    HDPOConfig,
    evaluate,
    resolve_integer_orders,
    train,
)
from orlearn.problems.inventory.policies import POLICIES, make_policy
from orlearn.problems.inventory.settings import BACKLOG_L, LOST_SALES_L, LOST_SALES_P, get_setting

TEST_KEYS = ("test_paths", "test_periods", "test_warmup")
POLICY_KEYS = ("hidden", "embed", "steps", "activation", "past_periods", "allocation")


def run_task(task: Task) -> TaskOutcome:
    """Train (unless the policy is a fixed heuristic) and test one policy on one setting."""
    params = dict(task.params)
    network = get_setting(params.pop("setting"), **params)
    options = dict(task.options)
    test = {k: options.pop(k) for k in TEST_KEYS if k in options}
    integer_orders = options.get("integer_orders")
    policy_options = {k: options.pop(k) for k in POLICY_KEYS if k in options}
    if "hidden" in policy_options:
        policy_options["hidden"] = tuple(policy_options["hidden"])
    seed_everything(task.seed)  # the policy's initial weights
    policy = make_policy(task.method, network, **policy_options)
    start = time.perf_counter()
    extra: dict[str, Any] = {}
    if task.method != "newsvendor":
        config = HDPOConfig(seed=task.seed, **options)
        result = train(network, policy, config, progress=False)
        policy = result.policy
        extra.update(dev_cost=result.dev_cost, train_seconds=result.seconds,
                     epochs=len(result.history))
    train_time = time.perf_counter() - start
    mean, stderr = evaluate(
        network, policy, n_paths=test.get("test_paths", 4096),
        periods=test.get("test_periods", 5000), warmup=test.get("test_warmup", 3000),
        seed=10_000 + task.seed, integer_orders=integer_orders,
    )
    extra.update(test_stderr=stderr, train_seconds=train_time,
                 integer_orders=resolve_integer_orders(network, integer_orders))
    return TaskOutcome(objective=mean, feasible=True, time=time.perf_counter() - start,
                       extra=extra)


def _task(setting: dict[str, Any], method: str, reference: float | None, kind: str,
          options: dict[str, Any], seed: int, label: str) -> Task:
    return Task(problem="inventory", instance=label, method=method, options=options, seed=seed,
                reference=reference, reference_kind=kind if reference is not None else "none",
                params=setting)


def quick_suite(seed: int = 0) -> Suite:
    """A few minutes on 2 CPU cores: backlog L=1 and lost sales p=9 L=1 with base-stock,
    capped base-stock and a small MLP, briefly trained; short test horizons."""
    from orlearn.problems.inventory.references import LOST_SALES_OPTIMAL, backlog_base_stock

    short = {"epochs": 15, "train_paths": 2048, "batch_paths": 512, "dev_paths": 1024,
             "patience": None, "test_paths": 1024, "test_periods": 1500, "test_warmup": 500}
    tasks = [
        _task({"setting": "one_store_backlog", "lead": 1}, method,
              backlog_base_stock(5.0, 1.6, 1.0, 9.0, 1)[1], "optimal", short, seed,
              "one_store_backlog_L1")
        for method in ("newsvendor", "base_stock")
    ]
    tasks += [
        _task({"setting": "one_store_lost", "p": 9.0, "lead": 1}, method,
              LOST_SALES_OPTIMAL[(9.0, 1)], "optimal", short, seed, "one_store_lost_p9_L1")
        for method in ("base_stock", "capped_base_stock", "mlp")
    ]
    return Suite("inventory-quick", tasks, "inventory: one store, backlog and lost sales")


#: HDPO training budget of the paper suites, sized for a 2-core CPU (about 6 minutes per MLP
#: task on one core); the paper trains longer on a GPU.
PAPER_OPTIONS: dict[str, Any] = {"epochs": 200, "train_paths": 16384, "batch_paths": 2048,
                                 "lr_net": 0.01, "patience": None, "loss_after_warmup": True}


def _paper_options(method: str) -> dict[str, Any]:
    options = dict(PAPER_OPTIONS)
    lr_net = options.pop("lr_net")
    if method in ("mlp", "gnn"):
        options["lr"] = lr_net
    return options


def lost_sales_suite(seed: int = 0) -> Suite:
    """One store, lost sales, Poisson(5), h = 1: the 16 (p, L) cases of Zipkin (2008) with
    their optimal costs; capped base-stock and MLP, both trained by HDPO."""
    from orlearn.problems.inventory.references import LOST_SALES_OPTIMAL

    tasks = [
        _task({"setting": "one_store_lost", "p": p, "lead": lead}, method,
              LOST_SALES_OPTIMAL[(p, lead)], "optimal", _paper_options(method), seed,
              f"one_store_lost_p{p:g}_L{lead}")
        for p in LOST_SALES_P for lead in LOST_SALES_L for method in ("capped_base_stock", "mlp")
    ]
    return Suite("inventory-lost-sales", tasks, "HDPO: one store, lost sales, 16 cases")


def _backlog_options(method: str) -> dict[str, Any]:
    """Paper options; neural policies' gradient norm clipped at 1 (with backlog nothing
    truncates the chain of derivatives through the horizon; at clip 10 the MLP's dev cost
    rose 6.2 -> 21 on L=1 within 15 epochs). An earlier cap on the MLP's orders made L=1
    diverge at this step size (stuck at the cap, where the gradient is 0); orders are no
    longer capped (see ``policies``)."""
    options = _paper_options(method)
    if method in ("mlp", "gnn"):
        options["grad_clip"] = 1.0
    return options


#: Serial system: a 100-period training horizon (30 warm-up) and 300 epochs. With the paper's
#: 50 periods the last 13 periods' orders at the top stage cannot reach the store before the
#: horizon ends (lead times 2 + 4 + 3 + 4), so the loss rewards under-ordering there; the
#: MLP's dev cost drifted up from epoch ~200 on (best test gap 1.6% in 600 epochs), while 100
#: periods gave 0.55% in 300 epochs (benchmarks/RESULTS.md).
SERIAL_OPTIONS: dict[str, Any] = {"periods": 100, "warmup": 30, "epochs": 300}


def backlog_suite(seed: int = 0) -> Suite:
    """One store, backlog, Normal(5, 1.6), h = 1, p = 9, L in 1/4/7/10/15/20, against the
    closed-form optimum; newsvendor, base-stock (HDPO) and MLP (HDPO)."""
    from orlearn.problems.inventory.references import backlog_base_stock

    tasks = [
        _task({"setting": "one_store_backlog", "lead": lead}, method,
              backlog_base_stock(5.0, 1.6, 1.0, 9.0, lead)[1], "optimal",
              _backlog_options(method), seed, f"one_store_backlog_L{lead}")
        for lead in BACKLOG_L for method in ("newsvendor", "base_stock", "mlp")
    ]
    return Suite("inventory-backlog", tasks, "HDPO: one store, backlog, 6 lead times")


#: The GNN costs about 10-20x more per simulated path-period than the MLP on these small
#: networks (benchmarks/inventory_speed.py), so its rows in the network suites train on a
#: quarter of the paths for half the epochs (1,600 -> 400 steps of 1,024 paths).
GNN_NETWORK_BUDGET: dict[str, Any] = {"train_paths": 4096, "batch_paths": 1024, "epochs": 100}


def _network_options(method: str, base: dict[str, Any]) -> dict[str, Any]:
    return {**base, **(GNN_NETWORK_BUDGET if method == "gnn" else {})}


def _transshipment_tasks(n_stores: int, bound: float, seed: int) -> list[Task]:
    """Echelon-stock, MLP and GNN on transshipment with ``n_stores``, against ``bound``."""
    return [
        _task({"setting": "transshipment", "n_stores": n_stores}, method, bound, "bound",
              _network_options(method, _paper_options(method)), seed,
              f"transshipment_{n_stores}s")
        for method in ("echelon_stock", "mlp", "gnn")
    ]


def network_suite(seed: int = 0) -> Suite:
    """Serial 4 stages (echelon optimum 10.72) and transshipment with 3 stores (lower bound
    5.754): heuristics, MLP and GNN, all trained by HDPO."""
    from orlearn.problems.inventory.references import REFERENCE_COSTS

    serial_optimum = REFERENCE_COSTS["serial_4_stages"].value
    transshipment_bound = REFERENCE_COSTS["transshipment_3_stores"].value
    tasks = [
        _task({"setting": "serial", "lead": 4}, method, serial_optimum, "optimal",
              _network_options(method, {**_backlog_options(method), **SERIAL_OPTIONS}), seed,
              "serial_L4")
        for method in ("echelon_stock", "mlp", "gnn")  # the serial store backlogs
    ]
    tasks += _transshipment_tasks(3, transshipment_bound, seed)
    return Suite("inventory-networks", tasks, "HDPO: serial system and transshipment")


def large_network_suite(seed: int = 0) -> Suite:
    """Transshipment with 5 and 10 stores (against the balance lower bound) and two
    warehouses serving 10 stores with multi-sourcing (HDPO's adjacency; no known optimum:
    methods are compared with each other)."""
    from orlearn.problems.inventory.references import hdpo_store_params, newsvendor_lower_bound

    tasks = []
    for n_stores in (5, 10):
        params = hdpo_store_params(n_stores)
        bound = newsvendor_lower_bound(params["mean"], params["std"], 0.5, 1.0, 4.0, 2)
        tasks += _transshipment_tasks(n_stores, bound, seed)
    tasks += [
        _task({"setting": "many_warehouses"}, method, None, "none",
              _network_options(method, _paper_options(method)), seed, "many_warehouses_2w_10s")
        for method in ("base_stock", "mlp_softmax", "gnn")
    ]
    return Suite("inventory-networks-large", tasks,
                 "HDPO: transshipment 5/10 stores, two warehouses with multi-sourcing")


def paper_suite(seed: int = 0) -> Suite:
    """All the paper's tables: lost sales, backlog, serial, transshipment (3, 5, 10 stores),
    two warehouses, and the warehouse data-efficiency sweep (days on 2 CPU cores: a GPU
    job)."""
    tasks = [*lost_sales_suite(seed).tasks, *backlog_suite(seed).tasks,
             *network_suite(seed).tasks, *large_network_suite(seed).tasks,
             *warehouse_suite(seed).tasks]
    return Suite("inventory-paper", tasks, "HDPO paper: one store, serial, transshipment, "
                 "warehouses, data efficiency")


WAREHOUSE_METHODS = ("mlp", "mlp_softmax", "gnn")

#: Adam step sizes of the warehouse sweep. The paper's 512 x 3 MLPs diverge at the networks'
#: default 3e-3 (softmax allocation: test cost 33.9 on 10 stores, 128 paths); at 1e-3 they
#: reach 5.66 (proportional) and 5.68 (softmax) there, against 5.79 at 3e-3
#: (benchmarks/RESULTS.md). The GNN keeps 3e-3.
WAREHOUSE_LR: dict[str, float] = {"mlp": 1e-3, "mlp_softmax": 1e-3, "gnn": 3e-3}


def _warehouse_tasks(stores: tuple[int, ...], paths_list: tuple[int, ...], steps: int,
                     batch: int, patience: int | None, seed: int, dev: dict[str, int],
                     test: dict[str, int],
                     methods: tuple[str, ...] = WAREHOUSE_METHODS) -> list[Task]:
    """GNN vs MLP tasks; every run takes ``steps`` Adam steps of ``min(paths, batch)`` paths,
    with a dev evaluation every 20 steps (an epoch is ``20 / steps per pass`` passes)."""
    tasks: list[Task] = []
    for n_stores in stores:
        for paths in paths_list:
            batch_paths = min(paths, batch)
            per_pass = -(-paths // batch_paths)
            passes = max(1, 20 // per_pass)
            for method in methods:
                options: dict[str, Any] = {
                    "epochs": max(1, steps // (passes * per_pass)), "passes_per_epoch": passes,
                    "train_paths": paths, "batch_paths": batch_paths, "patience": patience,
                    "lr": WAREHOUSE_LR[method], **dev, **test}
                if method != "gnn":
                    options["hidden"] = [512, 512, 512]  # the paper's warehouse MLP
                tasks.append(_task({"setting": "one_warehouse_lost", "n_stores": n_stores},
                                   method, None, "none", options, seed,
                                   f"one_warehouse_{n_stores}s_{paths}paths"))
    return tasks


def warehouse_suite(seed: int = 0) -> Suite:
    """Data efficiency on one warehouse with lost sales: GNN vs MLP (proportional and softmax
    allocation) trained on 128 / 1,024 / 8,192 paths, 3, 10 and 50 stores (no known optimum:
    compared between methods), 4,000 steps, the paper's dev and test horizons. A GPU job."""
    tasks = _warehouse_tasks((3, 10, 50), (128, 1024, 8192), steps=4000, batch=1024,
                             patience=20, seed=seed,
                             dev={"dev_paths": 4096, "dev_periods": 100, "dev_warmup": 60},
                             test={})
    return Suite("inventory-warehouse", tasks, "GNN vs MLP data efficiency, one warehouse")


def warehouse_small_suite(seed: int = 0) -> Suite:
    """The data-efficiency sweep cut to fit 2 CPU cores (about 3 CPU hours, most of it the
    50-store GNN): GNN vs MLP (proportional allocation), 10 and 50 stores x 128 and 1,024
    training paths, plus 10 stores x 8,192 paths (the full curve where it is cheap), 500 Adam
    steps of up to 256 paths, dev 1,024 paths x 100 periods (60 warm-up), test 1,024 paths x
    3,000 periods (1,000 warm-up)."""
    common: dict[str, Any] = {
        "steps": 500, "batch": 256, "patience": None, "seed": seed,
        "dev": {"dev_paths": 1024, "dev_periods": 100, "dev_warmup": 60},
        "test": {"test_paths": 1024, "test_periods": 3000, "test_warmup": 1000},
        "methods": ("mlp", "gnn")}
    tasks = [*_warehouse_tasks((10, 50), (128, 1024), **common),
             *_warehouse_tasks((10,), (8192,), **common)]
    return Suite("inventory-warehouse-small", tasks,
                 "GNN vs MLP data efficiency, one warehouse, CPU-sized")


def train_command(
    setting: Annotated[str, typer.Option(help="one_store_lost, one_store_backlog, serial, "
                                              "one_warehouse_lost or transshipment.")
                       ] = "one_store_lost",
    args: Annotated[str, typer.Option(help='Setting arguments as JSON, e.g. \'{"p": 9, '
                                           '"lead": 2}\'.')] = "{}",
    network_file: Annotated[Path | None, typer.Option(help="A network JSON/YAML file "
                                                            "instead of a setting.")] = None,
    policy: Annotated[str, typer.Option(help=", ".join(POLICIES))] = "mlp",
    policy_args: Annotated[str, typer.Option(help='Policy options as JSON, e.g. \'{"hidden": '
                                                  '[64, 64], "allocation": "softmax"}\'.')
                           ] = "{}",
    epochs: Annotated[int, typer.Option()] = 100,
    train_paths: Annotated[int, typer.Option()] = 8192,
    batch_paths: Annotated[int, typer.Option()] = 1024,
    lr: Annotated[float | None, typer.Option()] = None,
    patience: Annotated[int | None, typer.Option()] = 30,
    estimator: Annotated[str, typer.Option(help="pathwise (HDPO) or reinforce.")] = "pathwise",
    grad_clip: Annotated[float | None, typer.Option(help="Max gradient norm (1 for an MLP "
                                                         "under backlog).")] = 10.0,
    integer_orders: Annotated[bool | None, typer.Option(
        "--integer-orders/--continuous-orders",
        help="Deploy with orders rounded to whole units (default: when demand is integer, "
             "e.g. Poisson). Training stays continuous.")] = None,
    seed: Annotated[int, typer.Option()] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    out: Annotated[Path, typer.Option(help="Checkpoint folder (best.* and last.*).")] = Path(
        "runs/inventory"),
    resume: Annotated[bool, typer.Option(help="Continue from OUT/last.*.")] = False,
    test_paths: Annotated[int, typer.Option()] = 4096,
    test_periods: Annotated[int, typer.Option()] = 5000,
) -> None:
    """Train an inventory policy by HDPO, then test it on fresh paths (5,000 periods,
    3,000 warm-up). The best-on-dev weights are in OUT/best.safetensors."""
    import sys

    from orlearn.problems.inventory.network import InventoryNetwork

    kwargs, policy_kwargs = _json_option("args", args), _json_option("policy-args", policy_args)
    if "hidden" in policy_kwargs:
        policy_kwargs["hidden"] = tuple(policy_kwargs["hidden"])
    network = (InventoryNetwork.load(network_file) if network_file
               else get_setting(setting, **kwargs))
    seed_everything(seed)  # the policy's initial weights
    model = make_policy(policy, network, **policy_kwargs)
    config = HDPOConfig(epochs=epochs, train_paths=train_paths, batch_paths=batch_paths, lr=lr,
                        patience=patience, estimator=estimator, seed=seed, device=device,
                        grad_clip=grad_clip, integer_orders=integer_orders)
    result = train(network, model, config, checkpoint_dir=out, resume=resume,
                   command=" ".join(["orlearn", *sys.argv[1:]]))
    mean, stderr = evaluate(network, result.policy, n_paths=test_paths, periods=test_periods,
                            warmup=min(3000, test_periods // 2), seed=10_000 + seed,
                            device=device, integer_orders=integer_orders)
    typer.echo(f"{network.name} {policy}: dev {result.dev_cost:.4f}, test {mean:.4f} "
               f"+- {stderr:.4f} per period per store; trained in {result.seconds:.1f} s; "
               f"checkpoint {out / 'best.safetensors'}")


def _json_option(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--{name} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"--{name} must be a JSON object, e.g. '{{}}'")
    return value
