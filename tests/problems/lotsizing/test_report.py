"""The lot-sizing report script's statistics (benchmarks/lotsizing_report.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "lotsizing_report.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("lotsizing_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(method: str, seed: int, cost: float) -> dict:
    return {"task_id": f"{method}-{seed}", "status": "ok", "instance": "toy", "method": method,
            "seed": seed, "objective": cost,
            "extra": {"costs": [cost], "best_eval_cost": cost, "final_eval_cost": cost}}


def test_welch_and_mann_whitney_rows(tmp_path: Path) -> None:
    ppo, pdppo = [10.0, 11.0, 12.0], [1.0, 2.0, 4.0]
    records = ([_record("ppo", s, c) for s, c in enumerate(ppo)]
               + [_record("pdppo", s, c) for s, c in enumerate(pdppo)])
    folder = tmp_path / "lotsizing-short"
    folder.mkdir()
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    text = _load_script().report(folder)
    tests_table = text.split("Welch's t-test")[1]
    row = next(line for line in tests_table.splitlines() if line.startswith("| toy | pdppo |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # instance, variant, seeds, mean diff, median diff, t, p (Welch), p (Mann-Whitney)
    assert cells[2] == "3 / 3"
    assert float(cells[3]) == pytest.approx(2.333 - 11.0, abs=0.05)
    assert float(cells[4]) == pytest.approx(2.0 - 11.0)
    assert float(cells[5]) < 0  # PDPPO cheaper
    assert 0 < float(cells[6]) < 0.01
    # every PDPPO cost below every PPO cost: the exact one-sided U p-value is 1 / C(6, 3)
    assert float(cells[7]) == pytest.approx(0.05, abs=1e-4)
    # one agent alone: no test row
    only_ppo = tmp_path / "only" / "lotsizing-short"
    only_ppo.mkdir(parents=True)
    (only_ppo / "results.jsonl").write_text(
        "".join(json.dumps(_record("ppo", s, c)) + "\n" for s, c in enumerate(ppo)))
    assert "Welch" not in _load_script().report(only_ppo)
