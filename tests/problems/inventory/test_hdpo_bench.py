"""Settings, HDPO training, REINFORCE, benchmark tasks and the train command."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from orlearn.bench import Task
from orlearn.errors import ConfigError
from orlearn.problems.inventory import BaseStockPolicy, HDPOConfig, evaluate, make_policy, train
from orlearn.problems.inventory.bench import quick_suite, run_task
from orlearn.problems.inventory.hdpo import gradient_variance
from orlearn.problems.inventory.references import backlog_base_stock
from orlearn.problems.inventory.settings import SETTINGS, get_setting


def test_every_setting_builds() -> None:
    for name in SETTINGS:
        net = get_setting(name)
        assert net.n_stores >= 1
    warehouse = get_setting("one_warehouse_lost", n_stores=10)
    assert np.allclose(warehouse.demand.mean[:3], [3.743, 4.75, 4.555])  # HDPO's own draws
    assert warehouse.lead_time.tolist()[:4] == [3, 2, 3, 2]
    with pytest.raises(ConfigError, match="unknown inventory setting"):
        get_setting("two_stores")
    with pytest.raises(ConfigError, match="setting serial"):
        get_setting("serial", n_stores=3)


def test_transshipment_demand_is_not_clipped() -> None:
    net = get_setting("transshipment")
    demand = net.demand.sample(4000, 10, torch.Generator().manual_seed(0))
    assert (demand < 0).any()
    assert not np.asarray(net.holds_stock)[0]


def test_hdpo_fits_base_stock_level_to_the_closed_form() -> None:
    net = get_setting("one_store_backlog", lead=1)
    s_opt, cost_opt = backlog_base_stock(5.0, 1.6, 1.0, 9.0, 1)
    policy = BaseStockPolicy(np.array([5.0]))  # far too low to start
    config = HDPOConfig(epochs=25, train_paths=2048, batch_paths=512, dev_paths=512,
                        patience=None, lr=0.5, seed=0)
    result = train(net, policy, config, progress=False)
    assert abs(float(result.policy.levels.detach()) - s_opt) < 0.5
    cost, _ = evaluate(net, result.policy, n_paths=1024, periods=1500, warmup=500)
    assert cost == pytest.approx(cost_opt, rel=0.01)


def test_reinforce_trains_and_has_far_noisier_gradients() -> None:
    net = get_setting("one_store_lost", p=9, lead=1)
    policy = make_policy("base_stock", net)
    _, var_pathwise = gradient_variance(net, policy, "pathwise", n_batches=8, batch_paths=128)
    _, var_reinforce = gradient_variance(net, policy, "reinforce", n_batches=8,
                                         batch_paths=128)
    assert var_reinforce.sum() > 10 * var_pathwise.sum()
    result = train(net, make_policy("base_stock", net),
                   HDPOConfig(epochs=2, train_paths=256, batch_paths=128, dev_paths=128,
                              estimator="reinforce", patience=None), progress=False)
    assert np.isfinite(result.dev_cost)


def test_bad_training_options() -> None:
    net = get_setting("one_store_lost")
    with pytest.raises(ConfigError, match="estimator"):
        train(net, make_policy("mlp", net), HDPOConfig(estimator="ppo"), progress=False)
    with pytest.raises(ConfigError, match="no trainable"):
        train(net, make_policy("newsvendor", net), HDPOConfig(epochs=1), progress=False)
    with pytest.raises(ConfigError, match="unknown inventory policy"):
        make_policy("lstm", net)


def test_quick_suite_tasks_and_a_tiny_run() -> None:
    suite = quick_suite()
    assert len(suite) >= 4 and all(t.reference for t in suite.tasks)
    task = Task("inventory", "tiny", "capped_base_stock",
                params={"setting": "one_store_lost", "p": 9.0, "lead": 1},
                options={"epochs": 2, "train_paths": 256, "batch_paths": 128,
                         "dev_paths": 128, "test_paths": 128, "test_periods": 300,
                         "test_warmup": 100},
                reference=5.44, reference_kind="optimal")
    outcome = run_task(task)
    assert outcome.feasible and outcome.extra["epochs"] == 2
    assert 0.98 * 5.44 < outcome.objective < 8.0  # never (much) below the optimum
    assert run_task(task).objective == outcome.objective  # seeded: the same run again


def test_paper_suites_cover_every_case() -> None:
    from orlearn.bench import get_suite

    assert len(get_suite("inventory-lost-sales")) == 32  # 16 cases x 2 methods
    assert len(get_suite("inventory-backlog")) == 18
    warehouse = get_suite("inventory-warehouse")
    assert len(warehouse) == 3 * 3 * 3  # stores x training paths x methods
    assert {t.options["train_paths"] for t in warehouse.tasks} == {128, 1024, 8192}
    assert {t.method for t in warehouse.tasks} == {"mlp", "mlp_softmax", "gnn"}
    paper = get_suite("inventory-paper")
    assert len(get_suite("inventory-networks-large")) == 9
    assert len(paper) == 32 + 18 + 6 + 9 + 27
    small = get_suite("inventory-warehouse-small")
    assert len(small) == 2 * 2 * 2 + 2 and all(t.reference is None for t in small.tasks)
    assert {(t.params["n_stores"], t.options["train_paths"]) for t in small.tasks} == {
        (10, 128), (10, 1024), (10, 8192), (50, 128), (50, 1024)}
    eight = [t for t in small.tasks if t.options["train_paths"] == 8192]
    assert all(t.options["epochs"] * t.options["passes_per_epoch"] * 32 <= 500 for t in eight)
    assert {t.method for t in small.tasks} == {"mlp", "gnn"}
    assert {t.options["lr"] for t in small.tasks if t.method == "mlp"} == {1e-3}


def test_mlp_training_is_seeded_and_improves() -> None:
    net = get_setting("one_store_lost", p=9, lead=1)
    config = HDPOConfig(epochs=6, train_paths=1024, batch_paths=256, dev_paths=512, lr=0.01,
                        patience=None, seed=3)
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        runs.append(train(net, make_policy("mlp", net), config, progress=False))
    assert runs[0].dev_cost == runs[1].dev_cost
    values = [r["val"] for r in runs[0].history]
    assert min(values[1:]) < values[0]
    assert runs[0].dev_cost < 1.1 * 5.44  # within 10% of the optimum after 6 short epochs


def test_train_command_writes_a_checkpoint(tmp_path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "orlearn.cli", "train", "inventory", "--setting",
         "one_store_backlog", "--args", '{"lead": 1}', "--policy", "base_stock", "--epochs", "3",
         "--train-paths", "512", "--batch-paths", "256", "--test-paths", "256",
         "--test-periods", "400", "--out", str(out)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "test" in result.stdout
    assert (out / "best.safetensors").exists() and (out / "best.json").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "orlearn.cli", "train", "inventory", "--args", "{lead: 1}"],
        capture_output=True, text=True,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("orlearn: error: --args")


def test_train_command_takes_policy_options(tmp_path) -> None:
    out = tmp_path / "wh"
    result = subprocess.run(
        [sys.executable, "-m", "orlearn.cli", "train", "inventory", "--setting",
         "one_warehouse_lost", "--args", '{"n_stores": 3}', "--policy", "mlp",
         "--policy-args", '{"hidden": [16, 16], "allocation": "softmax"}', "--epochs", "2",
         "--train-paths", "256", "--batch-paths", "128", "--test-paths", "128",
         "--test-periods", "200", "--out", str(out)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "best.json").read_text())
    assert '"allocation": "softmax"' in json.dumps(config)
    bad = subprocess.run(
        [sys.executable, "-m", "orlearn.cli", "train", "inventory", "--policy-args", "[1]"],
        capture_output=True, text=True,
    )
    assert bad.returncode == 2 and "--policy-args must be a JSON object" in bad.stderr


def test_integer_orders_round_deployed_orders_for_integer_demand() -> None:
    from orlearn.problems.inventory.hdpo import resolve_integer_orders
    from orlearn.problems.inventory.policies import IntegerOrders
    from orlearn.problems.inventory.simulator import SimState, Simulator

    lost = get_setting("one_store_lost", p=4, lead=1)
    backlog = get_setting("one_store_backlog", lead=1)
    assert lost.demand.integer_valued and not backlog.demand.integer_valued
    assert resolve_integer_orders(lost, None) and not resolve_integer_orders(backlog, None)
    assert not resolve_integer_orders(lost, False)
    torch.manual_seed(0)
    policy = make_policy("mlp", lost)
    sim = Simulator(lost)
    demand = sim.sample_demand(64, 40, seed=0)
    rollout = sim.rollout(IntegerOrders(policy), demand, record=True,
                          state=SimState(torch.zeros(64, 1, 1)))  # empty, on the lattice
    orders = torch.stack(rollout.orders)
    assert torch.equal(orders, orders.round()) and orders.max() > 0
    states = torch.stack(rollout.states)
    assert torch.equal(states, states.round())  # integer demand + integer orders: a lattice
    # evaluate() rounds by default for Poisson demand, and continuous when told
    rounded = evaluate(lost, policy, n_paths=128, periods=300, warmup=100, seed=1)
    manual = evaluate(lost, IntegerOrders(policy), n_paths=128, periods=300, warmup=100,
                      seed=1, integer_orders=False)
    continuous = evaluate(lost, policy, n_paths=128, periods=300, warmup=100, seed=1,
                          integer_orders=False)
    assert rounded == manual and rounded != continuous


def test_training_records_integer_deployment_in_the_checkpoint(tmp_path) -> None:
    net = get_setting("one_store_lost", p=9, lead=1)
    config = HDPOConfig(epochs=2, train_paths=256, batch_paths=128, dev_paths=128,
                        patience=None, seed=0)
    result = train(net, make_policy("mlp", net), config, checkpoint_dir=tmp_path,
                   progress=False)
    assert result.config["deployment"] == {"integer_orders": True}
    assert '"integer_orders": true' in (tmp_path / "best.json").read_text()


def test_large_orders_keep_a_gradient() -> None:
    """Oversized orders are pulled back by the holding cost's gradient (no zero-gradient cap:
    a capped MLP that reached its cap stayed stuck there)."""
    net = get_setting("one_store_backlog", lead=1)
    torch.manual_seed(0)
    policy = make_policy("mlp", net)
    with torch.no_grad():
        policy.net.net[-1].bias.fill_(30.0)  # orders of about 30 periods of demand
    from orlearn.problems.inventory.simulator import Simulator

    sim = Simulator(net)
    loss = sim.rollout(policy, sim.sample_demand(32, 20, seed=0),
                       generator=torch.Generator().manual_seed(0)).loss()
    loss.backward()
    assert policy.net.net[-1].bias.grad.item() > 0  # lowering the orders lowers the cost


def test_micro_batches_give_the_whole_batch_gradient_and_passes_count_steps() -> None:
    net = get_setting("one_warehouse_lost", n_stores=3)
    results = []
    for micro in (None, 32, 128):
        torch.manual_seed(0)
        config = HDPOConfig(epochs=1, passes_per_epoch=2, train_paths=256, batch_paths=128,
                            micro_batch_paths=micro, dev_paths=64, dev_periods=40,
                            patience=None, seed=0, lr=1e-3)
        results.append(train(net, make_policy("mlp", net, hidden=(16,)), config,
                             progress=False))
    reference = results[0].policy.state_dict()
    for other in results[1:]:
        assert other.history[0]["train_loss"] == pytest.approx(
            results[0].history[0]["train_loss"], rel=1e-5)
        for key, value in other.policy.state_dict().items():
            assert torch.allclose(value, reference[key], atol=1e-5), key
    with pytest.raises(ConfigError, match="micro_batch_paths"):
        HDPOConfig(micro_batch_paths=0).validate()
    with pytest.raises(ConfigError, match="passes_per_epoch"):
        HDPOConfig(passes_per_epoch=0).validate()
