"""Routing instances: TSPLIB distance conventions, validation, costs and feasibility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orlearn.errors import InvalidInstanceError
from orlearn.problems.routing.instances import (
    CVRPInstance,
    KPInstance,
    TSPInstance,
    cvrp_capacity,
    distance_matrix,
    generate_cvrp,
    generate_kp,
    generate_tsp,
    generate_tsp_coords,
)

# ------------------------------------------------------------------ distance conventions

TRIANGLE = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])


def test_exact_2d_is_unrounded_euclidean() -> None:
    d = distance_matrix(TRIANGLE, "EXACT_2D")
    assert d[0, 1] == 5.0
    assert d[0, 2] == pytest.approx(math.sqrt(2))
    assert d[1, 2] == pytest.approx(math.sqrt(13))
    assert np.array_equal(d, d.T) and (np.diag(d) == 0).all()


def test_euc_2d_rounds_to_nearest_integer_halves_up() -> None:
    d = distance_matrix(TRIANGLE, "EUC_2D")
    assert (d[0, 1], d[0, 2], d[1, 2]) == (5.0, 1.0, 4.0)  # 5, 1.414, 3.606
    halves = distance_matrix(np.array([[0.0, 0.0], [2.5, 0.0], [0.0, 3.5]]), "EUC_2D")
    assert (halves[0, 1], halves[0, 2]) == (3.0, 4.0)


def test_ceil_2d_rounds_up() -> None:
    d = distance_matrix(TRIANGLE, "CEIL_2D")
    assert (d[0, 1], d[0, 2], d[1, 2]) == (5.0, 2.0, 4.0)


def test_att_pseudo_euclidean() -> None:
    coords = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 30.0], [10.0, 30.0]])
    d = distance_matrix(coords, "ATT")
    # r = sqrt((dx^2 + dy^2) / 10); nint(r), plus one if that is below r.
    assert d[0, 1] == 4.0  # r = sqrt(10) = 3.16 -> 3 < r -> 4
    assert d[0, 2] == 10.0  # r = sqrt(90) = 9.49 -> 9 < r -> 10
    assert d[0, 3] == 10.0  # r = sqrt(100) = 10 exactly
    assert d[1, 3] == 10.0  # dy = 30 like d[0, 2]
    assert np.array_equal(d, d.T) and (np.diag(d) == 0).all()


def _geo_reference(a: tuple[float, float], b: tuple[float, float]) -> float:
    """TSPLIB95 GEO distance written out from the specification, scalar by scalar."""
    pi, rrr = 3.141592, 6378.388

    def rad(x: float) -> float:
        deg = int(x)
        return pi * (deg + 5.0 * (x - deg) / 3.0) / 180.0

    lat_a, lon_a, lat_b, lon_b = rad(a[0]), rad(a[1]), rad(b[0]), rad(b[1])
    q1 = math.cos(lon_a - lon_b)
    q2 = math.cos(lat_a - lat_b)
    q3 = math.cos(lat_a + lat_b)
    return float(int(rrr * math.acos(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3)) + 1.0))


def test_geo_great_circle_ddd_mm() -> None:
    coords = np.array([[38.24, 20.42], [39.57, 26.15], [0.30, 0.0], [0.0, 0.0]])
    d = distance_matrix(coords, "GEO")
    # 0.30 is 30 minutes = half a degree: 6378.388 * 3.141592 * 0.5 / 180 = 55.66 -> 56
    assert d[2, 3] == 56.0
    for i in range(4):
        for j in range(4):
            expected = 0.0 if i == j else _geo_reference(tuple(coords[i]), tuple(coords[j]))
            assert d[i, j] == expected


def test_unknown_edge_weight_type_for_coordinates() -> None:
    with pytest.raises(InvalidInstanceError, match="edge_weight_type"):
        distance_matrix(TRIANGLE, "XRAY1")
    with pytest.raises(InvalidInstanceError, match="edge_weight_type"):
        distance_matrix(TRIANGLE, "EXPLICIT")


# ------------------------------------------------------------------ TSP


def test_tsp_tour_cost_and_feasibility() -> None:
    square = TSPInstance(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    assert square.n == 4 and square.symmetric
    assert square.tour_cost([0, 1, 2, 3]) == pytest.approx(4.0)
    assert square.tour_cost(np.array([0, 2, 1, 3])) == pytest.approx(2 + 2 * math.sqrt(2))
    assert square.is_feasible([3, 2, 1, 0])
    assert not square.is_feasible([0, 1, 1, 3])


@pytest.mark.parametrize(
    ("tour", "match"),
    [
        ([0, 1, 2], "expected 4 cities"),
        ([0, 1, 1, 3], "not a permutation"),
        ([0, 1, 2, 4], "not a permutation"),
        ([0.0, 1.0, 2.0, 3.0], "integer"),
        ([[0, 1], [2, 3]], "expected 4 cities"),
    ],
)
def test_tsp_tour_must_be_a_permutation(tour: list, match: str) -> None:
    square = TSPInstance(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(InvalidInstanceError, match=match):
        square.check_tour(tour)


def test_tsp_nan_coordinates() -> None:
    coords = TRIANGLE.copy()
    coords[1, 0] = np.nan
    with pytest.raises(InvalidInstanceError, match=r"coords: node 1 has a NaN"):
        TSPInstance(coords)


def test_tsp_duplicate_coordinates_rejected_for_exact_2d() -> None:
    coords = np.array([[0.0, 0.0], [0.5, 0.5], [0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(InvalidInstanceError, match="duplicate coordinates"):
        TSPInstance(coords)


@pytest.mark.parametrize("ewt", ["EUC_2D", "CEIL_2D", "ATT", "GEO"])
def test_tsplib_types_allow_duplicate_coordinates(ewt: str) -> None:
    # Real benchmark files repeat cities (a280 in TSPLIB, the A/B/M CVRP sets).
    coords = np.array([[10.0, 0.0], [20.0, 20.0], [20.0, 20.0], [30.0, 0.0]])
    inst = TSPInstance(coords, edge_weight_type=ewt)
    # TSPLIB's GEO formula gives 1 (it adds 1 before truncating) for two nodes at one place.
    assert inst.distance_matrix()[1, 2] == (1.0 if ewt == "GEO" else 0.0)


def test_tsp_explicit_allows_duplicate_display_coordinates() -> None:
    d = np.array([[0, 2, 3], [2, 0, 4], [3, 4, 0]])
    inst = TSPInstance(np.zeros((3, 2)), distances=d)
    assert inst.edge_weight_type == "EXPLICIT"
    assert inst.tour_cost([0, 1, 2]) == 9.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"coords": np.zeros((4, 3))}, r"coords: expected shape \[n, 2\]"),
        ({"coords": np.zeros(4)}, r"coords: expected shape \[n, 2\]"),
        ({"coords": TRIANGLE, "edge_weight_type": "XRAY1"}, "unknown type 'XRAY1'"),
        ({"coords": None}, "needs coords or distances"),
        ({"coords": TRIANGLE, "edge_weight_type": "EXPLICIT"}, "need a distance matrix"),
        ({"coords": None, "distances": np.zeros((3, 4))}, "square matrix"),
        ({"coords": np.array([[0.0, 0.0], [1.0, 1.0]]), "distances": np.zeros((3, 3))}, "2 x 2"),
        ({"coords": None, "distances": -np.ones((3, 3))}, "negative distances"),
        ({"coords": None, "distances": np.full((3, 3), np.nan)}, "NaN"),
        ({"coords": TRIANGLE[:2]}, "at least 3 cities"),
        ({"coords": TRIANGLE, "optimum": float("inf")}, "optimum"),
    ],
)
def test_tsp_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidInstanceError, match=match):
        TSPInstance(**kwargs)


def test_tsp_asymmetric_matrix() -> None:
    d = np.array([[0, 1, 9], [9, 0, 1], [1, 9, 0]])
    inst = TSPInstance(None, distances=d)
    assert not inst.symmetric
    assert inst.tour_cost([0, 1, 2]) == 3.0
    assert inst.tour_cost([0, 2, 1]) == 27.0


def test_instance_arrays_are_read_only() -> None:
    inst = generate_tsp(5, seed=0)
    with pytest.raises(ValueError, match="read-only"):
        inst.coords[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        inst.distance_matrix()[0, 1] = 1.0


def test_generators_are_seeded() -> None:
    a, b = generate_tsp(10, seed=3), generate_tsp(10, seed=3)
    assert np.array_equal(a.coords, b.coords) and a.name == "tsp10-s3"
    assert not np.array_equal(a.coords, generate_tsp(10, seed=4).coords)
    batch = generate_tsp_coords(7, 3, seed=1)
    assert batch.shape == (3, 7, 2) and (batch >= 0).all() and (batch < 1).all()
    with pytest.raises(InvalidInstanceError, match="n: must be an integer >= 3"):
        generate_tsp(2, seed=0)


# ------------------------------------------------------------------ CVRP


def _cvrp(**kwargs: object) -> CVRPInstance:
    args: dict = {
        "coords": np.array([[0.0, 0.0], [3.0, 4.0], [-3.0, 4.0], [0.0, -5.0]]),
        "demands": np.array([0, 4, 5, 6]),
        "capacity": 10,
        "edge_weight_type": "EUC_2D",
    }
    args.update(kwargs)
    return CVRPInstance(**args)


def test_cvrp_routes_cost_and_feasibility() -> None:
    inst = _cvrp()
    assert inst.n == 3 and inst.capacity == 10.0
    # 0-1-2-0: 5 + 6 + 5; 0-3-0: 10
    assert inst.routes_cost([[1, 2], [3]]) == 26.0
    assert inst.routes_cost([np.array([1]), np.array([2]), np.array([3]), []]) == 30.0
    assert inst.is_feasible([[3], [2, 1]])
    assert not inst.is_feasible([[1, 2, 3]])


@pytest.mark.parametrize(
    ("routes", "match"),
    [
        ([[1, 2, 3]], r"route 0 carries 15 > capacity 10"),
        ([[1, 2]], r"missing e\.g\. \[3\]"),
        ([[1, 2], [3, 1]], "exactly once"),
        ([[0, 1], [2], [3]], "1..3"),
        ([[1], [2], [4]], "1..3"),
    ],
)
def test_cvrp_infeasible_routes(routes: list, match: str) -> None:
    with pytest.raises(InvalidInstanceError, match=match):
        _cvrp().check_routes(routes)


def test_cvrp_fleet_size() -> None:
    inst = _cvrp(n_vehicles=2)
    assert inst.is_feasible([[1], [2, 3]]) is False  # 11 > 10
    with pytest.raises(InvalidInstanceError, match="3 routes for a fleet of 2"):
        inst.check_routes([[1], [2], [3]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"demands": np.array([0, 4, -1, 6])}, "node 2 has a negative demand -1"),
        ({"demands": np.array([0, 4, 11, 6])}, r"customer 2 demands 11 > capacity 10"),
        ({"demands": np.array([2, 4, 5, 6])}, r"depot \(node 0\) must have demand 0"),
        ({"demands": np.array([0, 4, 5])}, "expected 4 values"),
        ({"demands": np.array([0, 4, np.nan, 6])}, "NaN"),
        ({"capacity": 0}, "capacity: must be positive"),
        ({"n_vehicles": 0}, "n_vehicles: must be a positive integer"),
        (
            {"coords": np.array([[0, 0], [1, 1], [1, 1], [2, 0]]), "edge_weight_type": "EXACT_2D"},
            "duplicate coordinates",
        ),
        ({"coords": np.array([[0, 0], [1, np.nan], [1, 1], [2, 0]])}, "node 1 has a NaN"),
        ({"coords": None}, "needs coords or distances"),
        ({"edge_weight_type": "MAN_2D"}, "unknown type 'MAN_2D'"),
    ],
)
def test_cvrp_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidInstanceError, match=match):
        _cvrp(**kwargs)


def test_cvrp_explicit_matrix() -> None:
    d = np.array([[0, 1, 2], [1, 0, 5], [2, 5, 0]])
    inst = CVRPInstance(None, demands=[0, 1, 1], capacity=2, distances=d)
    assert inst.edge_weight_type == "EXPLICIT"
    assert inst.routes_cost([[1, 2]]) == 8.0
    assert inst.routes_cost([[1], [2]]) == 6.0


def test_generate_cvrp_conventions() -> None:
    inst = generate_cvrp(20, seed=0)
    assert inst.n == 20 and inst.capacity == 30.0 and inst.demands[0] == 0
    assert ((inst.demands[1:] >= 1) & (inst.demands[1:] <= 9)).all()
    assert inst.edge_weight_type == "EXACT_2D"
    assert [cvrp_capacity(n) for n in (20, 50, 100, 200, 500, 1000)] == [30, 40, 50, 80, 100, 250]


# ------------------------------------------------------------------ KP


def test_kp_value_and_capacity() -> None:
    kp = KPInstance(values=[3.0, 4.0, 5.0], weights=[2.0, 3.0, 4.0], capacity=5)
    assert kp.n == 3 and kp.total_value([0, 1]) == 7.0
    assert kp.is_feasible([]) and not kp.is_feasible([1, 2])
    with pytest.raises(InvalidInstanceError, match=r"total weight 7 > capacity 5"):
        kp.check_items([1, 2])
    with pytest.raises(InvalidInstanceError, match="distinct indices"):
        kp.check_items([0, 0])
    with pytest.raises(InvalidInstanceError, match="distinct indices"):
        kp.check_items([3])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weights": [1.0, 2.0]}, "weights: expected 3 weights"),
        ({"values": [1.0, -2.0, 3.0]}, "values: item 1 is negative"),
        ({"weights": [1.0, np.nan, 3.0]}, "weights: contains NaN"),
        ({"capacity": -1.0}, "capacity: must be positive"),
        ({"values": [[1.0, 2.0, 3.0]], "weights": [[1.0, 2.0, 3.0]]}, "1-d array"),
    ],
)
def test_kp_validation(kwargs: dict, match: str) -> None:
    args: dict = {"values": [1.0, 2.0, 3.0], "weights": [1.0, 2.0, 3.0], "capacity": 3.0}
    args.update(kwargs)
    with pytest.raises(InvalidInstanceError, match=match):
        KPInstance(**args)


def test_generate_kp_conventions() -> None:
    kp = generate_kp(50, seed=1)
    assert kp.n == 50 and kp.capacity == 12.5
    assert generate_kp(100, seed=1).capacity == 25.0
    assert np.array_equal(kp.values, generate_kp(50, seed=1).values)
