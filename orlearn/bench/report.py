"""Tables and plots of a suite's stored results.

``summarize`` groups the latest record of each task by (problem, method) and gives the number of
tasks, finished, failed and feasible runs, mean and max gap to the reference (in %), and mean
method time (s). ``write_reports`` writes ``results.csv`` (one row a task), ``summary.csv``,
``summary.md`` and PNG plots into the suite's folder.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from orlearn.bench.store import ResultStore
from orlearn.bench.tasks import Suite

TASK_COLUMNS = [
    "task_id", "problem", "instance", "method", "seed", "status", "feasible", "objective",
    "reference", "reference_kind", "sense", "gap", "time", "wall_time", "error",
]
SUMMARY_COLUMNS = [
    "problem", "method", "tasks", "ok", "failed", "feasible", "mean_gap_pct", "max_gap_pct",
    "mean_time_s", "reference_kind",
]


def task_table(suite: Suite, store: ResultStore) -> pd.DataFrame:
    """One row per task of ``suite`` that has a record (its latest), in suite order."""
    latest = store.latest()
    rows = [latest[t.task_id] for t in suite.tasks if t.task_id in latest]
    frame = pd.DataFrame(rows)
    for column in TASK_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    return frame[TASK_COLUMNS]


def summarize(tasks: pd.DataFrame) -> pd.DataFrame:
    """Aggregate a task table by (problem, method)."""
    if tasks.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows: list[dict[str, Any]] = []
    for (problem, method), group in tasks.groupby(["problem", "method"], sort=False):
        ok = group[group["status"] == "ok"]
        feasible = ok[ok["feasible"].astype(bool)]
        gaps = pd.to_numeric(feasible["gap"], errors="coerce").dropna()
        times = pd.to_numeric(ok["time"], errors="coerce").dropna()
        kinds = sorted({str(k) for k in group["reference_kind"].dropna()})
        rows.append(
            {
                "problem": problem,
                "method": method,
                "tasks": len(group),
                "ok": len(ok),
                "failed": int((group["status"] == "failed").sum()),
                "feasible": len(feasible),
                "mean_gap_pct": 100 * gaps.mean() if len(gaps) else math.nan,
                "max_gap_pct": 100 * gaps.max() if len(gaps) else math.nan,
                "mean_time_s": times.mean() if len(times) else math.nan,
                "reference_kind": "/".join(kinds),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        if abs(value) < 0.5 * 10**-digits:
            value = 0.0  # no "-0.000" from round-off
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(header: list[str], rows: list[list[str]], title: str = "") -> str:
    """A Markdown table (cells already formatted), under a ``## title`` when one is given."""
    lines = [f"## {title}", ""] if title else []
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def summary_markdown(summary: pd.DataFrame, title: str = "") -> str:
    """The summary as a Markdown table."""
    header = [
        "problem", "method", "tasks", "feasible", "failed", "mean gap %", "max gap %",
        "mean time (s)", "reference",
    ]
    rows = [
        [
            row.problem, row.method, str(row.tasks), str(row.feasible), str(row.failed),
            _fmt(row.mean_gap_pct), _fmt(row.max_gap_pct), _fmt(row.mean_time_s),
            row.reference_kind or "-",
        ]
        for row in summary.itertuples(index=False)
    ]
    return markdown_table(header, rows, title)


def print_summary(summary: pd.DataFrame, title: str) -> None:
    """Print the summary as a console table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column, justify in [
        ("problem", "left"), ("method", "left"), ("tasks", "right"), ("feasible", "right"),
        ("failed", "right"), ("mean gap %", "right"), ("max gap %", "right"),
        ("mean time (s)", "right"), ("reference", "left"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in summary.itertuples(index=False):
        table.add_row(
            row.problem, row.method, str(row.tasks), str(row.feasible),
            f"[red]{row.failed}[/red]" if row.failed else "0",
            _fmt(row.mean_gap_pct), _fmt(row.max_gap_pct), _fmt(row.mean_time_s),
            row.reference_kind or "-",
        )
    Console(width=max(100, Console().width)).print(table)


def write_reports(suite: Suite, folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write results.csv, summary.csv, summary.md and plots for ``suite`` into ``folder``."""
    folder = Path(folder)
    store = ResultStore(folder / "results.jsonl")
    tasks = task_table(suite, store)
    summary = summarize(tasks)
    tasks.to_csv(folder / "results.csv", index=False)
    summary.to_csv(folder / "summary.csv", index=False)
    title = f"{suite.name}: {len(tasks)}/{len(suite.tasks)} tasks recorded"
    markdown = summary_markdown(summary, title)
    markdown += problem_reports(suite, folder)
    (folder / "summary.md").write_text(markdown)
    if not tasks.empty:
        plot_summary(tasks, folder, suite.name)
    return tasks, summary


def problem_reports(suite: Suite, folder: str | Path) -> str:
    """Problem-specific tables (``orlearn.registry.REPORTS``) as Markdown; each problem's
    table is also written as ``PROBLEM.csv`` in ``folder``."""
    from orlearn.registry import REPORTS, resolve

    folder = Path(folder)
    latest = ResultStore(folder / "results.jsonl").latest()
    text = ""
    for problem in dict.fromkeys(t.problem for t in suite.tasks):
        if problem not in REPORTS:
            continue
        records = [latest[t.task_id] for t in suite.tasks
                   if t.problem == problem and t.task_id in latest]
        markdown, table = resolve(REPORTS[problem])(records)
        if markdown:
            text += "\n" + markdown
            table.to_csv(folder / f"{problem}.csv", index=False)
    return text


def plot_summary(tasks: pd.DataFrame, folder: Path, name: str) -> list[Path]:
    """Gap (box plot) and time (log bar chart) per problem/method, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = tasks[tasks["status"] == "ok"].copy()
    ok["label"] = ok["problem"].astype(str) + "/" + ok["method"].astype(str)
    labels = list(dict.fromkeys(ok["label"]))
    written: list[Path] = []
    if not labels:
        return written
    width = max(6.0, 0.9 * len(labels) + 2)

    gaps = [100 * pd.to_numeric(ok.loc[ok["label"] == lb, "gap"], errors="coerce").dropna()
            for lb in labels]
    if any(len(g) for g in gaps):
        fig, ax = plt.subplots(figsize=(width, 4))
        ax.boxplot([g.to_numpy() for g in gaps], tick_labels=labels, showmeans=True)
        ax.set_ylabel("gap to reference (%)")
        ax.set_title(f"{name}: gap per method")
        ax.tick_params(axis="x", rotation=30)
        fig.tight_layout()
        path = folder / "gap.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)

    times = [pd.to_numeric(ok.loc[ok["label"] == lb, "time"], errors="coerce").dropna()
             for lb in labels]
    fig, ax = plt.subplots(figsize=(width, 4))
    means = [t.mean() if len(t) else 0.0 for t in times]
    stds = [t.std(ddof=1) if len(t) > 1 else 0.0 for t in times]
    ax.bar(range(len(labels)), means, yerr=stds, capsize=3, color="tab:blue")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_ylabel("mean method time (s)")
    if max(means) > 0:
        ax.set_yscale("log")
    ax.set_title(f"{name}: time per method (error bars: 1 std)")
    fig.tight_layout()
    path = folder / "time.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    written.append(path)
    return written
