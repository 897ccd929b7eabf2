"""Gradient variance: HDPO's pathwise estimator vs REINFORCE on the same policies.

Run: python benchmarks/inventory_variance.py [--batches 20] [--paths 256]

For each setting and policy (at its initial parameters), the gradient of the mean cost is
estimated on independent batches of sample paths with both estimators; the table gives the
total variance (summed over parameters), the squared norm of the mean gradient, and their
ratio (noise-to-signal). REINFORCE explores with a Gaussian of std 0.5 x mean demand.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from orlearn.problems.inventory import make_policy
from orlearn.problems.inventory.hdpo import gradient_variance
from orlearn.problems.inventory.settings import one_store_backlog, one_store_lost, serial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--paths", type=int, default=256)
    args = parser.parse_args()
    print("| setting | policy | estimator | total variance | squared mean norm | noise/signal |")
    print("|---|---|---|---|---|---|")
    for net in (one_store_lost(9.0, 2), one_store_backlog(4), serial(4)):
        for name in ("base_stock", "mlp"):
            torch.manual_seed(0)
            policy = make_policy(name, net)
            for estimator in ("pathwise", "reinforce"):
                mean, var = gradient_variance(net, policy, estimator, n_batches=args.batches,
                                              batch_paths=args.paths)
                signal = float(np.sum(mean**2))
                print(f"| {net.name} | {name} | {estimator} | {var.sum():.4g} | {signal:.4g} | "
                      f"{var.sum() / max(signal, 1e-30):.3g} |", flush=True)


if __name__ == "__main__":
    main()
