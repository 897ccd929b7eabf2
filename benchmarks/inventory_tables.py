"""Markdown tables of stored inventory benchmark results (run after `orlearn bench ...`).

Run: python benchmarks/inventory_tables.py results/inventory-lost-sales/results.jsonl [--dp]

For each task: the test cost (mean +- standard error per period per store), the gap to the
task's reference (published optimum or bound) and, with --dp for the lost-sales cases, the gap
to the exact dynamic-programming optimum under orlearn's accounting (more digits than the
published two-decimal table), plus training time.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("--dp", action="store_true", help="add the exact lost-sales DP optimum")
    args = parser.parse_args()
    latest: dict[str, dict] = {}
    for line in args.results.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            latest[record["task_id"]] = record
    rows = sorted(latest.values(), key=lambda r: (r["instance"], r["method"]))
    dp_cache: dict[tuple[float, int], float] = {}
    header = ["instance", "method", "test cost", "reference", "gap %"]
    if args.dp:
        header += ["DP optimum", "gap to DP %"]
    header += ["train time (s)"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        if r["status"] != "ok":
            print(f"| {r['instance']} | {r['method']} | failed: {r['error']} |")
            continue
        cells = [
            r["instance"], r["method"],
            f"{r['objective']:.4f} +- {r['extra'].get('test_stderr', float('nan')):.4f}",
            "-" if r["reference"] is None else f"{r['reference']:g} ({r['reference_kind']})",
            "-" if r["gap"] is None else f"{100 * r['gap']:.2f}",
        ]
        if args.dp:
            match = re.match(r"one_store_lost_p([\d.]+)_L(\d+)", r["instance"])
            if match:
                from orlearn.problems.inventory.references import lost_sales_optimal_dp

                key = (float(match.group(1)), int(match.group(2)))
                if key not in dp_cache:
                    dp_cache[key] = lost_sales_optimal_dp(*key, check_truncation=False)[0]
                dp = dp_cache[key]
                cells += [f"{dp:.4f}", f"{100 * (r['objective'] - dp) / dp:.2f}"]
            else:
                cells += ["-", "-"]
        cells.append(f"{r['extra'].get('train_seconds', 0.0):.0f}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
