"""Reference costs of the HDPO inventory benchmarks (closed forms, DP, Clark-Scarf, bounds)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from orlearn.errors import ConfigError
from orlearn.problems.inventory.references import (
    BACKLOG_LEADS,
    LOST_SALES_OPTIMAL,
    REFERENCE_COSTS,
    backlog_base_stock,
    backlog_base_stock_clipped,
    backlog_table,
    hdpo_store_params,
    lost_sales_optimal_dp,
    newsvendor_lower_bound,
    serial_echelon_optimum,
)

slow = pytest.mark.skipif(os.environ.get("ORLEARN_SLOW") != "1",
                          reason="slow reference DP; set ORLEARN_SLOW=1")


# ------------------------------------------------------------------ one store, backlog


def test_backlog_closed_form_matches_published():
    S1, c1 = backlog_base_stock(5.0, 1.6, 1.0, 9.0, 1)
    S4, c4 = backlog_base_stock(5.0, 1.6, 1.0, 9.0, 4)
    assert round(c1, 2) == 3.97 and round(c4, 2) == 6.28
    assert S1 == pytest.approx(10 + 1.2815516 * 1.6 * math.sqrt(2), rel=1e-6)
    assert S4 == pytest.approx(25 + 1.2815516 * 1.6 * math.sqrt(5), rel=1e-6)
    table = backlog_table()
    assert tuple(table) == BACKLOG_LEADS
    costs = [table[L][1] for L in BACKLOG_LEADS]
    assert costs == sorted(costs)
    assert table[4] == (S4, c4)


def test_backlog_closed_form_is_optimal_newsvendor():
    # the cost of S is minimal: nearby levels cost more (numerical check of the closed form)
    S, c = backlog_base_stock(5.0, 1.6, 1.0, 9.0, 2)
    rng = np.random.default_rng(0)
    d = rng.normal(15.0, 1.6 * math.sqrt(3), 400_000)

    def cost(level: float) -> float:
        return float(np.mean(np.maximum(level - d, 0) + 9 * np.maximum(d - level, 0)))

    assert cost(S) == pytest.approx(c, rel=0.01)
    assert cost(S) < cost(S - 0.5) and cost(S) < cost(S + 0.5)


def test_backlog_clipping_effect_is_negligible():
    for L in (1, 4, 20):
        _, exact = backlog_base_stock(5.0, 1.6, 1.0, 9.0, L)
        S, clipped = backlog_base_stock_clipped(5.0, 1.6, 1.0, 9.0, L)
        assert clipped <= exact
        assert (exact - clipped) / exact < 1e-3  # 0.02%-0.05%
        assert S == pytest.approx(backlog_base_stock(5.0, 1.6, 1.0, 9.0, L)[0], abs=0.05)


@pytest.mark.parametrize("args", [
    (5.0, 1.6, -1.0, 9.0, 1), (5.0, 1.6, 1.0, -9.0, 1), (5.0, 1.6, 1.0, 9.0, 0),
    (5.0, -1.6, 1.0, 9.0, 1), (5.0, 1.6, 0.0, 0.0, 1), (5.0, 1.6, 1.0, 9.0, 1.5),
])
def test_backlog_bad_arguments(args):
    with pytest.raises(ConfigError):
        backlog_base_stock(*args)


# ------------------------------------------------------------------ one store, lost sales


def test_lost_sales_table_is_complete():
    assert set(LOST_SALES_OPTIMAL) == {(p, L) for p in (4, 9, 19, 39) for L in (1, 2, 3, 4)}
    for p in (4, 9, 19, 39):  # cost grows with the lead time and with the penalty
        row = [LOST_SALES_OPTIMAL[p, L] for L in (1, 2, 3, 4)]
        assert row == sorted(row)
    assert LOST_SALES_OPTIMAL[9, 4] == 6.84 and LOST_SALES_OPTIMAL[39, 1] == 7.84


def _check_dp(p: int, L: int) -> None:
    cost, info = lost_sales_optimal_dp(p, L)
    assert abs(cost - LOST_SALES_OPTIMAL[p, L]) < 0.01, (p, L, cost)
    lo, hi = info["bounds"]
    assert lo <= cost <= hi and hi - lo < 1e-6
    assert info["truncation_mass"] == 0.0  # the state-space truncation does not bind
    assert info["max_order_used"] < info["max_order"]
    assert info["policy_cost"] == pytest.approx(cost, abs=1e-5)


@pytest.mark.parametrize("p", [4, 9, 19, 39])
def test_lost_sales_dp_reproduces_table_L1(p):
    _check_dp(p, 1)


@pytest.mark.parametrize("p", [4, 9, 19, 39])
def test_lost_sales_dp_reproduces_table_L2(p):
    _check_dp(p, 2)


@pytest.mark.parametrize("p", [4, 9, 19, 39])
def test_lost_sales_dp_reproduces_table_L3(p):
    _check_dp(p, 3)  # ~0.1-0.5 s each


@slow
@pytest.mark.parametrize("p", [4, 9, 19, 39])
def test_lost_sales_dp_reproduces_table_L4(p):
    _check_dp(p, 4)  # ~4-8 s each


def test_lost_sales_dp_policy_matches_simulation():
    """Simulate the DP's optimal L = 2 policy with the simulator's order of events."""
    p, L = 9, 2
    cost, info = lost_sales_optimal_dp(p, L)
    policy = info["policy"]
    rng = np.random.default_rng(1)
    paths, periods, warmup = 4000, 400, 50
    on_hand = np.zeros(paths, dtype=np.int64)
    pipe = np.zeros(paths, dtype=np.int64)  # arrives at the end of this period
    total = 0.0
    for t in range(periods):
        q = policy[np.minimum(on_hand, policy.shape[0] - 1), pipe]
        d = rng.poisson(5.0, paths)
        c = p * np.maximum(d - on_hand, 0) + np.maximum(on_hand - d, 0)
        on_hand = np.maximum(on_hand - d, 0) + pipe
        pipe = q
        if t >= warmup:
            total += c.mean()
    assert total / (periods - warmup) == pytest.approx(cost, abs=0.05)


def test_lost_sales_dp_truncation_check_detects_binding_bound():
    _, info = lost_sales_optimal_dp(39, 1, max_order=5)
    assert info["truncation_mass"] > 0.1


@pytest.mark.parametrize("kwargs", [
    {"p": -1, "L": 1}, {"p": 9, "L": 0}, {"p": 9, "L": 1, "h": -1.0}, {"p": 9, "L": 1, "tol": 0},
    {"p": 9, "L": 1, "mean": 0.0}, {"p": 9, "L": 9},
])
def test_lost_sales_dp_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        lost_sales_optimal_dp(**kwargs)


# ------------------------------------------------------------------ serial system


def test_serial_reproduces_published_optimum():
    opt = serial_echelon_optimum()
    assert opt.cost == pytest.approx(10.72, rel=0.005)
    assert opt.cost_with_pipeline - opt.cost == pytest.approx(opt.pipeline_cost)
    # in transit: 4 periods into the store at h 0.5, 3 into the warehouse at 0.2, 4 at 0.1
    assert opt.pipeline_cost == pytest.approx(opt.mean * (0.5 * 4 + 0.2 * 3 + 0.1 * 4))
    assert opt.echelon_h == pytest.approx((0.1, 0.1, 0.3, 0.5))
    assert list(opt.levels) == sorted(opt.levels, reverse=True)
    assert opt.levels[-1] == pytest.approx(32.35, abs=0.1)  # store: 5-period 95% quantile
    unclipped = serial_echelon_optimum(clip=False)
    assert unclipped.cost == pytest.approx(10.72, rel=0.005)
    assert unclipped.pipeline_cost == pytest.approx(15.0)


def test_serial_one_stage_is_the_newsvendor():
    opt = serial_echelon_optimum(mean=5.0, std=1.6, h=(1.0,), L=(4,), p=9.0, clip=False,
                                 step=0.01)
    S, c = backlog_base_stock(5.0, 1.6, 1.0, 9.0, 4)
    assert opt.cost == pytest.approx(c, abs=1e-3)
    assert opt.levels[0] == pytest.approx(S, abs=0.02)
    assert opt.pipeline_cost == 0.0


def test_serial_optimum_matches_simulation():
    """Echelon base-stock policy at the optimal levels, simulated with HDPO's events."""
    opt = serial_echelon_optimum()
    h, lead, p = np.array([0.1, 0.2, 0.5, 1.0]), (2, 4, 3, 4), 9.0
    rng = np.random.default_rng(2)
    paths, periods, warmup = 2000, 1200, 200
    n, width = 4, max(lead) + 1
    inv = np.zeros((paths, n, width))
    levels = np.array(opt.levels)
    total = 0.0
    for t in range(periods):
        echelon_position = np.cumsum(inv.sum(2)[:, ::-1], 1)[:, ::-1]
        ship = np.maximum(levels - echelon_position, 0)
        ship[:, 1:] = np.minimum(ship[:, 1:], inv[:, :-1, 0])  # limited by the supplier
        d = np.maximum(rng.normal(5.0, 2.0, paths), 0)
        on_hand = inv[:, :, 0].copy()
        cost = p * np.maximum(d - on_hand[:, -1], 0) + h[-1] * np.maximum(on_hand[:, -1] - d, 0)
        on_hand[:, -1] -= d
        on_hand[:, :-1] -= ship[:, 1:]
        cost += (h[:-1] * on_hand[:, :-1]).sum(1)
        new = np.zeros_like(inv)
        new[:, :, 0] = on_hand + inv[:, :, 1]
        new[:, :, 1:-1] = inv[:, :, 2:]
        for k in range(n):
            new[:, k, lead[k] - 1] += ship[:, k]
        inv = new
        if t >= warmup:
            total += cost.mean()
    assert total / (periods - warmup) == pytest.approx(opt.cost, rel=0.01)


@pytest.mark.parametrize("kwargs", [
    {"h": (0.1, 0.2), "L": (2, 4, 3)}, {"h": (0.5, 0.2), "L": (2, 4)}, {"L": (2, 4, 0, 4)},
    {"p": -9.0}, {"h": (-0.1, 0.2, 0.5, 1.0)}, {"std": -2.0},
])
def test_serial_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        serial_echelon_optimum(**kwargs)


# ------------------------------------------------------------------ transshipment bound


def test_transshipment_bound_reproduces_published():
    params = hdpo_store_params(3)
    np.testing.assert_allclose(params["mean"], [3.743, 4.75, 4.555])
    np.testing.assert_allclose(params["std"], [1.765, 2.124, 1.622])
    bound = newsvendor_lower_bound(params["mean"], params["std"], 0.5, 1.0, 4.0, 2,
                                   warehouse_lead_time=3)
    assert bound == pytest.approx(5.754, abs=5e-4)
    # weaker than the pooled bound: each store's own (L + 1)-period newsvendor
    own = sum(backlog_base_stock(m, s, 1.0, 4.0, 2)[1]
              for m, s in zip(params["mean"], params["std"], strict=True)) / 3
    assert own < bound


def test_transshipment_bound_special_cases():
    # one store, center with lead time 0: the one-store newsvendor
    _, c = backlog_base_stock(5.0, 1.6, 1.0, 9.0, 2)
    assert newsvendor_lower_bound([5.0], [1.6], 0.0, 1.0, 9.0, 2, 0) == pytest.approx(c)
    # one store: the bound is the newsvendor over the total lead time L + L_w + 1
    _, c5 = backlog_base_stock(5.0, 1.6, 1.0, 9.0, 5)
    assert newsvendor_lower_bound([5.0], [1.6], 0.0, 1.0, 9.0, 2, 3) == pytest.approx(c5)
    # more correlation or a longer center lead time: a larger bound
    args = ([4.0, 5.0, 6.0], [1.0, 2.0, 1.5])
    assert (newsvendor_lower_bound(*args, 0.0, 1.0, 4.0, 2)
            < newsvendor_lower_bound(*args, 0.5, 1.0, 4.0, 2)
            < newsvendor_lower_bound(*args, 0.5, 1.0, 4.0, 2, 6))


@pytest.mark.parametrize("args", [
    ([5.0, 5.0], [1.0], 0.5, 1.0, 4.0, 2), ([5.0], [1.0], 1.5, 1.0, 4.0, 2),
    ([5.0], [-1.0], 0.5, 1.0, 4.0, 2), ([5.0], [1.0], 0.5, -1.0, 4.0, 2),
    ([5.0], [1.0], 0.5, 1.0, 4.0, 0), ([5.0] * 3, [1.0] * 3, -0.9, 1.0, 4.0, 2),
])
def test_transshipment_bound_bad_arguments(args):
    with pytest.raises(ConfigError):
        newsvendor_lower_bound(*args)


# ------------------------------------------------------------------ HDPO parameters, table


def test_hdpo_store_params_prefix_and_ranges():
    three, ten = hdpo_store_params(3), hdpo_store_params(10)
    for key in three:
        np.testing.assert_array_equal(three[key], ten[key][:3])
    assert np.all((ten["mean"] >= 2.5) & (ten["mean"] <= 7.5))
    cv = ten["std"] / ten["mean"]
    assert np.all((cv > 0.249) & (cv < 0.501))
    assert set(ten["lead"].tolist()) <= {2, 3}
    assert np.all((ten["holding"] >= 0.7) & (ten["holding"] <= 1.3))
    assert np.all((ten["underage"] >= 6.3) & (ten["underage"] <= 11.7))
    with pytest.raises(ConfigError):
        hdpo_store_params(0)


def test_reference_costs_summary():
    assert REFERENCE_COSTS["one_store_backlog_L1"].value == 3.97
    assert REFERENCE_COSTS["one_store_backlog_L4"].value == 6.28
    assert REFERENCE_COSTS["serial_4_stages"].value == 10.72
    assert REFERENCE_COSTS["transshipment_3_stores"].kind == "lower_bound"
    assert REFERENCE_COSTS["transshipment_3_stores"].value == 5.754
    assert REFERENCE_COSTS["one_warehouse_10_stores"].kind == "best_known"
    assert REFERENCE_COSTS["one_warehouse_10_stores"].value == 5.72
    for (p, L), v in LOST_SALES_OPTIMAL.items():
        assert REFERENCE_COSTS[f"one_store_lost_p{p}_L{L}"].value == v
    assert all(r.source and r.kind in {"optimal", "lower_bound", "best_known"}
               for r in REFERENCE_COSTS.values())
