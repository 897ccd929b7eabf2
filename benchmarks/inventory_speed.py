"""Inventory simulator throughput and HDPO time-to-1%-gap on one store.

Run: python benchmarks/inventory_speed.py [--device cpu|cuda] [--threads N]

1. Simulated path-periods per second (no gradient, and rollout + backward) for base-stock,
   MLP and GNN policies on a one-store lost-sales case and the 10- and 50-store warehouse
   networks.
2. Wall time of HDPO (MLP policy) on one_store_lost p=9, L=1 until the dev cost is within 1% of
   the optimum (5.44, Zipkin 2008); the dev set is large (8,192 paths x 200 periods) so that the
   figure is not noise.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from orlearn.nn import get_device
from orlearn.problems.inventory import HDPOConfig, Simulator, make_policy, train
from orlearn.problems.inventory.references import LOST_SALES_OPTIMAL
from orlearn.problems.inventory.settings import one_store_lost, one_warehouse_lost


def throughput(device: torch.device, micro_batch: int = 256) -> None:
    """Path-periods per second: a no-grad rollout (2,048 paths x 100 periods), and a training
    step (1,024 paths x 50 periods, rollout + backward in chunks of ``micro_batch`` paths, as
    the HDPO trainer does by default)."""
    print(f"{'network':32s} {'policy':12s} {'no-grad Mpp/s':>14s} {'train Mpp/s':>12s}")
    for net in (one_store_lost(9.0, 2), one_warehouse_lost(10), one_warehouse_lost(50)):
        sim = Simulator(net, device=device)
        for name in ("base_stock", "mlp", "gnn"):
            policy = make_policy(name, net).to(device)
            paths, periods = 2048, 100
            demand = sim.sample_demand(paths, periods, 0)
            with torch.no_grad():
                sim.rollout(policy, demand[:, :, :5])
                start = time.perf_counter()
                sim.rollout(policy, demand)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                nograd = paths * periods / (time.perf_counter() - start) / 1e6
            train_paths, train_periods = 1024, 50
            start = time.perf_counter()
            for begin in range(0, train_paths, micro_batch):
                part = demand[begin:begin + micro_batch, :, :train_periods]
                sim.rollout(policy, part).loss().backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            grad = train_paths * train_periods / (time.perf_counter() - start) / 1e6
            print(f"{net.name:32s} {name:12s} {nograd:14.3f} {grad:12.4f}", flush=True)


def time_to_gap(device: torch.device, target: float = 0.01) -> None:
    net = one_store_lost(9.0, 1)
    optimum = LOST_SALES_OPTIMAL[(9, 1)]
    config = HDPOConfig(epochs=60, train_paths=16384, batch_paths=2048, dev_paths=8192,
                        dev_periods=200, dev_warmup=50, lr=0.01, patience=None, seed=0,
                        device=str(device), stop_at=(1 + target) * optimum)
    result = train(net, make_policy("mlp", net), config, progress=False)
    elapsed = 0.0
    reached = None
    for record in result.history:
        elapsed += record["seconds"]
        if reached is None and record["val"] <= (1 + target) * optimum:
            reached = (record["epoch"], elapsed, record["val"])
    if reached:
        epoch, seconds, value = reached
        print(f"one_store_lost p=9 L=1, MLP: dev cost {value:.4f} within {100 * target:.0f}% of "
              f"{optimum} after epoch {epoch}, {seconds:.1f} s of training")
    else:
        print(f"did not reach {100 * target:.0f}% in {config.epochs} epochs "
              f"(best dev {result.dev_cost:.4f}, optimum {optimum})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = get_device(None if args.device == "auto" else args.device)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}")
    throughput(device)
    time_to_gap(device)


if __name__ == "__main__":
    main()
