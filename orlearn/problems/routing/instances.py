"""Routing instances (TSP, ATSP, CVRP, KP), seeded generators, costs and feasibility checks.

Conventions (BQ-NCO, Kool et al., POMO):

* TSP: ``n`` cities uniform in the unit square; Euclidean distances, not rounded
  (``edge_weight_type="EXACT_2D"``, the LKH name for unrounded Euclidean distances).
* CVRP: a depot and ``n`` customers uniform in the unit square, integer demands uniform in
  ``1..9`` and a vehicle capacity of 50 at ``n = 100`` (30 at 20, 40 at 50, 80 at 200,
  100 at 500, 250 at 1000: the scaled capacities of LEHD and BQ-NCO). The depot is node 0.
* KP: item values and weights uniform in (0, 1); capacity 25 at 200 items (12.5 at 50, 25 at
  100 and above, as in POMO and BQ-NCO).

Instances are frozen dataclasses of numpy arrays and validate themselves on construction: a
NaN coordinate, a duplicate city, a negative demand, a demand above the capacity... raise
:class:`~orlearn.errors.InvalidInstanceError` naming the field. Distances follow the
instance's TSPLIB ``edge_weight_type`` (``EUC_2D`` rounds to the nearest integer, ``CEIL_2D``
rounds up, ``ATT`` and ``GEO`` use TSPLIB's formulas, ``EXPLICIT`` reads a matrix).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from orlearn.errors import InvalidInstanceError

EDGE_WEIGHT_TYPES = ("EXACT_2D", "EUC_2D", "CEIL_2D", "ATT", "GEO", "EXPLICIT")
"""Supported distance conventions; EXACT_2D is unrounded Euclidean (generated instances)."""

CVRP_CAPACITY = {10: 20, 20: 30, 50: 40, 100: 50, 200: 80, 500: 100, 1000: 250}
"""Vehicle capacity by number of customers (the nearest listed size is used otherwise)."""


# ------------------------------------------------------------------------------ distances


def _geo_radians(coords: np.ndarray) -> np.ndarray:
    """TSPLIB GEO: DDD.MM (degrees.minutes) to radians, with TSPLIB's PI = 3.141592."""
    pi = 3.141592
    degrees = np.trunc(coords)
    minutes = coords - degrees
    return pi * (degrees + 5.0 * minutes / 3.0) / 180.0


def distance_matrix(coords: np.ndarray, edge_weight_type: str = "EXACT_2D") -> np.ndarray:
    """Pairwise distances ``[n, n]`` of ``coords [n, 2]`` under a TSPLIB convention.

    ``EXACT_2D``: float Euclidean; ``EUC_2D``: Euclidean rounded to the nearest integer
    (``nint``, halves up); ``CEIL_2D``: rounded up; ``ATT``: pseudo-Euclidean
    ``ceil-if-below(sqrt((dx^2+dy^2)/10))``; ``GEO``: great-circle distance on TSPLIB's
    idealised sphere (radius 6378.388 km), truncated to an integer.
    """
    coords = np.asarray(coords, dtype=np.float64)
    if edge_weight_type == "GEO":
        rad = _geo_radians(coords)
        lat, lon = rad[:, 0], rad[:, 1]
        q1 = np.cos(lon[:, None] - lon[None, :])
        q2 = np.cos(lat[:, None] - lat[None, :])
        q3 = np.cos(lat[:, None] + lat[None, :])
        arg = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
        d = np.trunc(6378.388 * np.arccos(arg) + 1.0)
        np.fill_diagonal(d, 0.0)
        return d
    diff = coords[:, None, :] - coords[None, :, :]
    squared = (diff**2).sum(-1)
    if edge_weight_type == "EXACT_2D":
        return np.sqrt(squared)
    if edge_weight_type == "EUC_2D":
        return np.floor(np.sqrt(squared) + 0.5)
    if edge_weight_type == "CEIL_2D":
        return np.ceil(np.sqrt(squared))
    if edge_weight_type == "ATT":
        r = np.sqrt(squared / 10.0)
        t = np.floor(r + 0.5)
        return np.where(t < r, t + 1.0, t)
    raise InvalidInstanceError(
        "edge_weight_type",
        f"unknown or coordinate-free type {edge_weight_type!r}",
        f"use one of {', '.join(EDGE_WEIGHT_TYPES)}",
    )


def _check_coords(
    coords: Any, field_name: str, *, allow_duplicates: bool = False
) -> np.ndarray:
    """Validate ``[n, 2]`` finite coordinates; duplicates are an error unless allowed.

    Duplicates are allowed for TSPLIB/CVRPLIB types and explicit matrices, where real
    benchmark files have them (a280, the A/B/F/M CVRP sets, GEO and display coordinates);
    they are rejected for unrounded ``EXACT_2D`` coordinates (generated instances), where a
    repeated city signals a bug.
    """
    arr = np.asarray(coords, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InvalidInstanceError(field_name, f"expected shape [n, 2], got {list(arr.shape)}")
    if not np.isfinite(arr).all():
        bad = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise InvalidInstanceError(field_name, f"node {bad} has a NaN or infinite coordinate")
    if len(arr) > 1:
        _, first, counts = np.unique(arr, axis=0, return_index=True, return_counts=True)
        if (counts > 1).any() and not allow_duplicates:
            dup = arr[first[np.argmax(counts > 1)]]
            raise InvalidInstanceError(
                field_name,
                f"duplicate coordinates {dup.tolist()} ({int((counts - 1).sum())} repeats)",
                "merge the duplicated nodes or perturb them",
            )
    arr.setflags(write=False)
    return arr


def _check_matrix(matrix: Any, field_name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise InvalidInstanceError(field_name, f"expected a square matrix, got {list(arr.shape)}")
    if n is not None and arr.shape[0] != n:
        raise InvalidInstanceError(field_name, f"expected {n} x {n}, got {list(arr.shape)}")
    if not np.isfinite(arr).all():
        raise InvalidInstanceError(field_name, "contains NaN or infinite distances")
    if (arr < 0).any():
        raise InvalidInstanceError(field_name, "contains negative distances")
    arr.setflags(write=False)
    return arr


def _validate_geometry(instance: Any) -> None:
    """Check and freeze the ``coords`` / ``distances`` / ``edge_weight_type`` fields that the
    TSP and CVRP instances share: a known type, coordinates or a matrix (a matrix makes the
    type ``EXPLICIT``; ``EXPLICIT`` needs one), duplicates refused for ``EXACT_2D`` only."""
    ewt = instance.edge_weight_type
    if ewt not in EDGE_WEIGHT_TYPES:
        raise InvalidInstanceError(
            "edge_weight_type", f"unknown type {ewt!r}",
            f"use one of {', '.join(EDGE_WEIGHT_TYPES)}",
        )
    if instance.coords is None and instance.distances is None:
        raise InvalidInstanceError("coords", "an instance needs coords or distances")
    if instance.coords is not None:
        dup_ok = ewt != "EXACT_2D" or instance.distances is not None
        coords = _check_coords(instance.coords, "coords", allow_duplicates=dup_ok)
        object.__setattr__(instance, "coords", coords)
    if instance.distances is not None:
        n = None if instance.coords is None else len(instance.coords)
        matrix = _check_matrix(instance.distances, "distances", n)
        object.__setattr__(instance, "distances", matrix)
        object.__setattr__(instance, "edge_weight_type", "EXPLICIT")
    elif ewt == "EXPLICIT":
        raise InvalidInstanceError("distances", "EXPLICIT edge weights need a distance matrix")


def _instance_distances(instance: Any) -> np.ndarray:
    """The explicit matrix, else the distances of the coordinates (computed once, read-only)."""
    if instance.distances is not None:
        return instance.distances
    if "d" not in instance._cache:
        d = distance_matrix(instance.coords, instance.edge_weight_type)
        d.setflags(write=False)
        instance._cache["d"] = d
    return instance._cache["d"]


# ------------------------------------------------------------------------------ TSP


@dataclass(frozen=True, eq=False)
class TSPInstance:
    """A (possibly asymmetric) travelling salesman instance.

    Attributes:
        coords: city coordinates ``[n, 2]``, or None for a pure matrix instance.
        distances: an explicit distance matrix ``[n, n]`` (``EXPLICIT``); None to compute it
            from ``coords`` with ``edge_weight_type``.
        edge_weight_type: the distance convention (see :func:`distance_matrix`).
        name: instance name (file stem).
        optimum: a known optimal (or best-known) tour length, used for gaps.
    """

    coords: np.ndarray | None
    distances: np.ndarray | None = None
    edge_weight_type: str = "EXACT_2D"
    name: str = ""
    optimum: float | None = None
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        _validate_geometry(self)
        if self.n < 3:
            raise InvalidInstanceError("coords", f"a tour needs at least 3 cities, got {self.n}")
        if self.optimum is not None and not math.isfinite(float(self.optimum)):
            raise InvalidInstanceError("optimum", f"must be finite, got {self.optimum!r}")

    @property
    def n(self) -> int:
        """Number of cities."""
        return len(self.distances) if self.distances is not None else len(self.coords)

    @property
    def symmetric(self) -> bool:
        """Whether d(i, j) == d(j, i) for every pair."""
        d = self.distance_matrix()
        return bool(np.array_equal(d, d.T))

    def distance_matrix(self) -> np.ndarray:
        """``[n, n]`` distances under the instance's convention (cached, read-only)."""
        return _instance_distances(self)

    def check_tour(self, tour: Any) -> np.ndarray:
        """Return ``tour`` as an int array if it visits every city exactly once, else raise."""
        arr = np.asarray(tour)
        if arr.ndim != 1 or len(arr) != self.n:
            raise InvalidInstanceError("tour", f"expected {self.n} cities, got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise InvalidInstanceError("tour", f"expected integer city indices, got {arr.dtype}")
        if not np.array_equal(np.sort(arr), np.arange(self.n)):
            missing = sorted(set(range(self.n)) - set(arr.tolist()))[:5]
            raise InvalidInstanceError(
                "tour", f"not a permutation of 0..{self.n - 1} (missing e.g. {missing})"
            )
        return arr.astype(np.int64)

    def is_feasible(self, tour: Any) -> bool:
        """Whether ``tour`` is a Hamiltonian cycle (a permutation of the cities)."""
        try:
            self.check_tour(tour)
        except InvalidInstanceError:
            return False
        return True

    def tour_cost(self, tour: Any) -> float:
        """Length of the closed tour (returns to its first city)."""
        arr = self.check_tour(tour)
        d = self.distance_matrix()
        return float(d[arr, np.roll(arr, -1)].sum())


def generate_tsp(n: int, seed: int, *, name: str | None = None) -> TSPInstance:
    """A TSP with ``n`` cities uniform in the unit square (float Euclidean distances)."""
    _check_size("n", n, 3)
    coords = np.random.default_rng(seed).random((n, 2))
    return TSPInstance(coords, name=name or f"tsp{n}-s{seed}")


def generate_tsp_coords(n: int, count: int, seed: int) -> np.ndarray:
    """``count`` TSP instances of size ``n`` as one array ``[count, n, 2]`` (training data)."""
    _check_size("n", n, 3)
    _check_size("count", count, 1)
    return np.random.default_rng(seed).random((count, n, 2))


# ------------------------------------------------------------------------------ CVRP


def cvrp_capacity(n_customers: int) -> int:
    """Vehicle capacity for ``n_customers`` (the nearest size of :data:`CVRP_CAPACITY`)."""
    size = min(CVRP_CAPACITY, key=lambda s: (abs(math.log(s / max(n_customers, 1))), s))
    return CVRP_CAPACITY[size]


@dataclass(frozen=True, eq=False)
class CVRPInstance:
    """A capacitated vehicle routing instance; node 0 is the depot.

    Attributes:
        coords: ``[n + 1, 2]`` coordinates, depot first (None for a pure matrix instance).
        demands: ``[n + 1]`` integer demands, ``demands[0] == 0`` (the depot).
        capacity: vehicle capacity (same units as demands).
        distances: an explicit ``[n + 1, n + 1]`` matrix, or None to use ``coords``.
        edge_weight_type: distance convention (see :func:`distance_matrix`).
        name: instance name.
        optimum: a known optimal or best-known total distance.
        n_vehicles: a fixed fleet size, or None for an unlimited fleet.
    """

    coords: np.ndarray | None
    demands: np.ndarray
    capacity: float
    distances: np.ndarray | None = None
    edge_weight_type: str = "EXACT_2D"
    name: str = ""
    optimum: float | None = None
    n_vehicles: int | None = None
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        _validate_geometry(self)
        demands = np.asarray(self.demands, dtype=np.float64)
        size = len(self.distances) if self.distances is not None else len(self.coords)
        if demands.shape != (size,):
            raise InvalidInstanceError(
                "demands", f"expected {size} values (depot first), got shape {list(demands.shape)}"
            )
        if not np.isfinite(demands).all():
            raise InvalidInstanceError("demands", "contains NaN or infinite values")
        if (demands < 0).any():
            bad = int(np.argmax(demands < 0))
            raise InvalidInstanceError(
                "demands", f"node {bad} has a negative demand {demands[bad]:g}", "use >= 0"
            )
        if demands[0] != 0:
            raise InvalidInstanceError(
                "demands", f"the depot (node 0) must have demand 0, got {demands[0]:g}"
            )
        capacity = float(self.capacity)
        if not math.isfinite(capacity) or capacity <= 0:
            raise InvalidInstanceError("capacity", f"must be positive, got {self.capacity!r}")
        if (demands > capacity).any():
            bad = int(np.argmax(demands > capacity))
            raise InvalidInstanceError(
                "demands",
                f"customer {bad} demands {demands[bad]:g} > capacity {capacity:g}",
                "no vehicle can serve it; raise the capacity or split the customer",
            )
        if size < 2:
            raise InvalidInstanceError("demands", "a CVRP needs a depot and a customer")
        demands.setflags(write=False)
        object.__setattr__(self, "demands", demands)
        object.__setattr__(self, "capacity", capacity)
        if self.n_vehicles is not None and (
            not isinstance(self.n_vehicles, (int, np.integer)) or self.n_vehicles < 1
        ):
            raise InvalidInstanceError(
                "n_vehicles", f"must be a positive integer or None, got {self.n_vehicles!r}"
            )

    @property
    def n(self) -> int:
        """Number of customers (nodes minus the depot)."""
        return len(self.demands) - 1

    def distance_matrix(self) -> np.ndarray:
        """``[n + 1, n + 1]`` distances (cached, read-only)."""
        return _instance_distances(self)

    def check_routes(self, routes: Any) -> list[np.ndarray]:
        """Return ``routes`` (customer lists, no depot) if feasible, else raise.

        Feasible: every customer 1..n exactly once, each route's load within the capacity,
        no more routes than ``n_vehicles`` when that is set.
        """
        checked = [np.asarray(r, dtype=np.int64).reshape(-1) for r in routes]
        checked = [r for r in checked if len(r)]
        visits = np.concatenate(checked) if checked else np.zeros(0, dtype=np.int64)
        if (visits < 1).any() or (visits > self.n).any():
            raise InvalidInstanceError(
                "routes", f"customer indices must be in 1..{self.n} (the depot 0 is implicit)"
            )
        if len(visits) != self.n or len(np.unique(visits)) != self.n:
            missing = sorted(set(range(1, self.n + 1)) - set(visits.tolist()))[:5]
            raise InvalidInstanceError(
                "routes",
                f"every customer must be visited exactly once ({len(visits)} visits for "
                f"{self.n} customers; missing e.g. {missing})",
            )
        for k, route in enumerate(checked):
            load = float(self.demands[route].sum())
            if load > self.capacity + 1e-9:
                raise InvalidInstanceError(
                    "routes", f"route {k} carries {load:g} > capacity {self.capacity:g}"
                )
        if self.n_vehicles is not None and len(checked) > self.n_vehicles:
            raise InvalidInstanceError(
                "routes", f"{len(checked)} routes for a fleet of {self.n_vehicles}"
            )
        return checked

    def is_feasible(self, routes: Any) -> bool:
        """Whether ``routes`` is a feasible solution (see :meth:`check_routes`)."""
        try:
            self.check_routes(routes)
        except InvalidInstanceError:
            return False
        return True

    def routes_cost(self, routes: Any) -> float:
        """Total distance of the routes, each leaving and returning to the depot."""
        d = self.distance_matrix()
        total = 0.0
        for route in self.check_routes(routes):
            path = np.concatenate([[0], route, [0]])
            total += float(d[path[:-1], path[1:]].sum())
        return total


def generate_cvrp(
    n: int, seed: int, *, capacity: float | None = None, name: str | None = None
) -> CVRPInstance:
    """A CVRP with ``n`` customers and a depot uniform in the unit square, demands 1..9."""
    coords, demands, cap = generate_cvrp_arrays(n, 1, seed, capacity=capacity)
    return CVRPInstance(coords[0], demands[0], cap, name=name or f"cvrp{n}-s{seed}")


def generate_cvrp_arrays(
    n: int, count: int, seed: int, *, capacity: float | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """``count`` CVRPs: coords ``[count, n + 1, 2]``, demands ``[count, n + 1]``, capacity."""
    _check_size("n", n, 1)
    _check_size("count", count, 1)
    rng = np.random.default_rng(seed)
    coords = rng.random((count, n + 1, 2))
    demands = np.zeros((count, n + 1))
    demands[:, 1:] = rng.integers(1, 10, size=(count, n))
    cap = float(cvrp_capacity(n) if capacity is None else capacity)
    return coords, demands, cap


# ------------------------------------------------------------------------------ KP


@dataclass(frozen=True, eq=False)
class KPInstance:
    """A 0/1 knapsack instance: maximise total value within the weight capacity."""

    values: np.ndarray
    weights: np.ndarray
    capacity: float
    name: str = ""
    optimum: float | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        weights = np.asarray(self.weights, dtype=np.float64)
        if values.ndim != 1 or len(values) < 1:
            raise InvalidInstanceError("values", f"expected a 1-d array, got {list(values.shape)}")
        if weights.shape != values.shape:
            raise InvalidInstanceError(
                "weights", f"expected {len(values)} weights like values, got {list(weights.shape)}"
            )
        for name, arr in (("values", values), ("weights", weights)):
            if not np.isfinite(arr).all():
                raise InvalidInstanceError(name, "contains NaN or infinite entries")
            if (arr < 0).any():
                raise InvalidInstanceError(name, f"item {int(np.argmax(arr < 0))} is negative")
        capacity = float(self.capacity)
        if not math.isfinite(capacity) or capacity <= 0:
            raise InvalidInstanceError("capacity", f"must be positive, got {self.capacity!r}")
        values.setflags(write=False)
        weights.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "capacity", capacity)

    @property
    def n(self) -> int:
        """Number of items."""
        return len(self.values)

    def check_items(self, items: Any) -> np.ndarray:
        """Return the chosen item indices if distinct, in range and within capacity."""
        arr = np.asarray(items, dtype=np.int64).reshape(-1)
        if ((arr < 0) | (arr >= self.n)).any() or len(np.unique(arr)) != len(arr):
            raise InvalidInstanceError("items", f"must be distinct indices in 0..{self.n - 1}")
        weight = float(self.weights[arr].sum())
        if weight > self.capacity * (1 + 1e-9):
            raise InvalidInstanceError(
                "items", f"total weight {weight:g} > capacity {self.capacity:g}"
            )
        return arr

    def is_feasible(self, items: Any) -> bool:
        """Whether ``items`` is a feasible packing."""
        try:
            self.check_items(items)
        except InvalidInstanceError:
            return False
        return True

    def total_value(self, items: Any) -> float:
        """Total value of a feasible packing."""
        return float(self.values[self.check_items(items)].sum())


def kp_capacity(n: int) -> float:
    """Knapsack capacity for ``n`` items: 12.5 up to 50 items, else 25 (POMO, BQ-NCO)."""
    return 12.5 if n <= 50 else 25.0


def generate_kp(
    n: int, seed: int, *, capacity: float | None = None, name: str | None = None
) -> KPInstance:
    """A knapsack with ``n`` items, values and weights uniform in (0, 1)."""
    values, weights, cap = generate_kp_arrays(n, 1, seed, capacity=capacity)
    return KPInstance(values[0], weights[0], cap, name=name or f"kp{n}-s{seed}")


def generate_kp_arrays(
    n: int, count: int, seed: int, *, capacity: float | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """``count`` knapsacks: values ``[count, n]``, weights ``[count, n]``, capacity."""
    _check_size("n", n, 1)
    _check_size("count", count, 1)
    rng = np.random.default_rng(seed)
    values = rng.random((count, n))
    weights = rng.random((count, n))
    return values, weights, float(kp_capacity(n) if capacity is None else capacity)


def _check_size(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidInstanceError(name, f"must be an integer >= {minimum}, got {value!r}")


Instance = TSPInstance | CVRPInstance | KPInstance

__all__ = [
    "CVRP_CAPACITY",
    "EDGE_WEIGHT_TYPES",
    "CVRPInstance",
    "Instance",
    "KPInstance",
    "TSPInstance",
    "cvrp_capacity",
    "distance_matrix",
    "generate_cvrp",
    "generate_cvrp_arrays",
    "generate_kp",
    "generate_kp_arrays",
    "generate_tsp",
    "generate_tsp_coords",
    "kp_capacity",
]
