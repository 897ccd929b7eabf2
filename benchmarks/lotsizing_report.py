"""Tables, Welch t-tests and learning curves of a lot-sizing suite (after `orlearn bench ...`).

Run: python benchmarks/lotsizing_report.py results/lotsizing-paper [--png-dir DIR]

For each instance (configuration): PPO and PDPPO over their seeds, mean and standard
deviation of the held-out cost (the greedy policy of the weights selected on the evaluation
scenarios, scored on the held-out scenarios), of the best evaluation cost seen during training
and of the last one (the weights at the end of training, on the evaluation scenarios); the
perfect-information MILP (incumbent and its dual bound), the window-cut LP bound and the
rolling-horizon MILP on the same scenarios (a baseline task stopped before its end shows its
finished scenarios, from the suite folder's ``partial/``); each agent's gap to the bound (per
scenario the larger of the MILP's dual bound and the window-cut bound, both valid) and to the
rolling-horizon cost;
Welch's t-test of PDPPO's held-out cost against PPO's (one-sided p-value for "PDPPO costs
less"), with a one-sided Mann-Whitney U test beside it (seed costs are skewed). Learning
curves (evaluation cost vs steps, mean over seeds) are written as PNG files.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

#: The baseline tasks that store scenarios as they go, and the unit's field for the row's value.
BASELINES = {"rolling_horizon": "cost", "perfect_information": "objective",
             "window_bound": "bound"}


def _best_bound(*runs: list[dict]) -> np.ndarray | None:
    """Per scenario, the largest of the bound records' bounds (all valid) on the scenarios
    all of them cover; None without any."""
    arrays = [np.asarray(r[0]["extra"]["bounds"], dtype=float) for r in runs if r]
    if not arrays:
        return None
    k = min(len(a) for a in arrays)
    return np.nanmax(np.stack([a[:k] for a in arrays]), axis=0)


def load(results_dir: Path) -> dict[str, dict[str, list[dict]]]:
    latest: dict[str, dict] = {}
    for line in (results_dir / "results.jsonl").read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            if record.get("status") == "ok":
                latest[record["task_id"]] = record
    latest.update({k: v for k, v in _partial_baselines(results_dir).items() if k not in latest})
    table: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for record in latest.values():
        table[record["instance"]][record["method"]].append(record)
    return table


def _partial_baselines(results_dir: Path) -> dict[str, dict]:
    """MILP-baseline tasks stopped before their end: their finished scenarios (a prefix of the
    suite's scenarios, from ``<results_dir>/partial/``) as records marked ``partial``."""
    from orlearn.bench import PartialResults, get_suite

    folder = results_dir / "partial"
    if not folder.is_dir():
        return {}
    tasks = {t.task_id: t for t in get_suite(results_dir.name).tasks if t.method in BASELINES}
    out = {}
    for path in sorted(folder.glob("*.jsonl")):
        task = tasks.get(path.stem)
        units = PartialResults(path).load()
        done = 0
        while str(done) in units:
            done += 1
        if task is None or done == 0:
            continue
        rows = [units[str(k)] for k in range(done)]
        costs = [row[BASELINES[task.method]] for row in rows]
        extra = {"costs": costs, "partial_of": task.options.get("first_scenarios")}
        if task.method in ("perfect_information", "window_bound"):
            extra["bounds"] = [row["bound"] for row in rows]
        out[task.task_id] = {"instance": task.instance, "method": task.method,
                             "objective": float(np.mean(costs)), "extra": extra}
    return out


def _mean_std(values: list[float]) -> str:
    arr = np.asarray(values, dtype=float)
    std = arr.std(ddof=1) if arr.size > 1 else 0.0
    return f"{arr.mean():.1f} +- {std:.1f}"


def report(results_dir: Path, png_dir: Path | None = None) -> str:
    table = load(results_dir)
    lines = ["| instance | method | runs | held-out cost | best eval cost | last eval cost | "
             "gap to PI bound % | gap to rolling % |", "|---|---|---|---|---|---|---|---|"]
    tests = []
    for instance in sorted(table):
        methods = table[instance]
        pi = methods.get("perfect_information", [])
        window = methods.get("window_bound", [])
        rolling = methods.get("rolling_horizon", [])
        # the baselines may cover only the first K scenarios: compare on those
        bounds = _best_bound(pi, window)
        bound = float(np.nanmean(pi[0]["extra"]["bounds"])) if pi else None
        roll_costs = np.array(rolling[0]["extra"]["costs"]) if rolling else None

        def gap(runs: list[dict], reference: np.ndarray) -> str:
            """% above the reference's mean on the first K scenarios both cover."""
            k = min([len(reference), *(len(r["extra"]["costs"]) for r in runs)])
            cost = np.mean([np.mean(r["extra"]["costs"][:k]) for r in runs])
            ref = float(np.nanmean(reference[:k]))
            # costs are >= 0: a bound at or below 0 (a solve stopped before its root LP
            # bound) says nothing, so no gap is printed against it
            return f"{100 * (cost - ref) / ref:.1f} ({k})" if ref > 0 else "-"

        for method in ("ppo", "pdppo", "pdppo-paper", "rolling_horizon",
                       "perfect_information", "window_bound"):
            runs = methods.get(method, [])
            if not runs:
                continue
            finals = [r["objective"] for r in runs]
            best = [r["extra"].get("best_eval_cost") for r in runs]
            best_cell = _mean_std(best) if all(b is not None for b in best) else "-"
            last = [r["extra"].get("final_eval_cost") for r in runs]
            last_cell = _mean_std(last) if all(x is not None for x in last) else "-"
            is_bound = method == "window_bound"
            gap_pi = gap(runs, bounds) if bounds is not None and not is_bound else "-"
            gap_roll = (gap(runs, roll_costs) if roll_costs is not None
                        and method not in ("rolling_horizon", "window_bound") else "-")
            label = method
            if method == "perfect_information" and bound:
                label = f"perfect_information (bound {bound:.1f})"
            if is_bound:
                label = "window_bound (LP lower bound, not a policy)"
            if runs[0]["extra"].get("partial_of"):
                label += (f" (stopped: {len(runs[0]['extra']['costs'])} of "
                          f"{runs[0]['extra']['partial_of']} scenarios)")
            lines.append(f"| {instance} | {label} | {len(runs)} | {_mean_std(finals)} | "
                         f"{best_cell} | {last_cell} | {gap_pi} | {gap_roll} |")
        ppo = [r["objective"] for r in methods.get("ppo", [])]
        for variant in ("pdppo", "pdppo-paper"):
            pdppo = [r["objective"] for r in methods.get(variant, [])]
            if len(ppo) > 1 and len(pdppo) > 1:
                t, p_less = stats.ttest_ind(pdppo, ppo, equal_var=False, alternative="less")
                # a rank test beside it: seed costs are skewed (a few runs stall high)
                u_test = stats.mannwhitneyu(pdppo, ppo, alternative="less")
                tests.append(f"| {instance} | {variant} | {len(ppo)} / {len(pdppo)} | "
                             f"{np.mean(pdppo) - np.mean(ppo):+.1f} | "
                             f"{np.median(pdppo) - np.median(ppo):+.1f} | {t:.2f} | "
                             f"{p_less:.4f} | {u_test.pvalue:.4f} |")
        if png_dir is not None:
            _curves(instance, methods, png_dir)
    out = "\n".join(lines) + (
        "\n\nGaps in % on the scenarios the baseline covers (their number in brackets: the "
        "first K of the held-out scenarios); held-out costs on all of a method's scenarios. "
        "The PI bound of a scenario is the larger of the MILP's dual bound and the window-cut "
        "LP bound; the window_bound row's cost column is its mean bound.")
    if tests:
        out += ("\n\nWelch's t-test, PDPPO vs PPO held-out cost (one-sided p: PDPPO costs "
                "less; Mann-Whitney U beside it, the same one-sided alternative)\n\n"
                "| instance | variant | seeds PPO / PDPPO | mean difference | median difference "
                "| t | p (Welch) | p (Mann-Whitney) |\n"
                "|---|---|---|---|---|---|---|---|\n" + "\n".join(tests))
    return out


def _curves(instance: str, methods: dict[str, list[dict]], png_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method in ("ppo", "pdppo", "pdppo-paper"):
        runs = methods.get(method, [])
        curves = [[(s, e) for s, _, e in r["extra"].get("curve", []) if e is not None]
                  for r in runs]
        curves = [c for c in curves if c]
        if not curves:
            continue
        steps = np.array([s for s, _ in curves[0]])
        length = min(len(c) for c in curves)
        values = np.array([[e for _, e in c[:length]] for c in curves])
        mean = values.mean(axis=0)
        ax.plot(steps[:length], mean, label=f"{method} ({len(curves)} seeds)")
        if len(curves) > 1:
            std = values.std(axis=0, ddof=1)
            ax.fill_between(steps[:length], mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("training steps")
    ax.set_ylabel("evaluation cost per episode")
    ax.set_title(f"lot-sizing {instance}")
    ax.legend()
    png_dir.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(png_dir / f"lotsizing_{instance}_curves.png", dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("--png-dir", type=Path, default=None,
                        help="where to write learning curves (default: the results folder)")
    args = parser.parse_args()
    print(report(args.results_dir, args.png_dir or args.results_dir))


if __name__ == "__main__":
    main()
