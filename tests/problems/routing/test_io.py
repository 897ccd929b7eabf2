"""TSPLIB / CVRPLIB readers and writers: round-trips, formats, bad files, real benchmarks."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from orlearn.errors import InvalidInstanceError
from orlearn.problems.routing.instances import (
    CVRPInstance,
    KPInstance,
    TSPInstance,
    generate_cvrp,
    generate_kp,
    generate_tsp,
)
from orlearn.problems.routing.io import (
    EDGE_WEIGHT_FORMATS,
    load_optima,
    read_instance,
    read_kp_json,
    read_tour,
    read_tsplib,
    read_vrplib,
    read_vrplib_solution,
    write_instance,
    write_kp_json,
    write_tour,
    write_tsplib,
    write_vrplib,
    write_vrplib_solution,
)

DATA = Path(__file__).parents[3].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"benchmark data not at {DATA}")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _same_tsp(a: TSPInstance, b: TSPInstance) -> None:
    assert a.name == b.name and a.edge_weight_type == b.edge_weight_type
    assert a.optimum == b.optimum
    assert (a.coords is None) == (b.coords is None)
    if a.coords is not None:
        assert np.array_equal(a.coords, b.coords)
    assert (a.distances is None) == (b.distances is None)
    assert np.array_equal(a.distance_matrix(), b.distance_matrix())


def _same_cvrp(a: CVRPInstance, b: CVRPInstance) -> None:
    _same_tsp(a, b)  # type: ignore[arg-type]
    assert np.array_equal(a.demands, b.demands)
    assert a.capacity == b.capacity and a.n_vehicles == b.n_vehicles


SMALL_TSP = """NAME: small
TYPE: TSP
COMMENT: four cities
DIMENSION: 4
EDGE_WEIGHT_TYPE: EUC_2D
NODE_COORD_SECTION
1 0 0
2 3 4
3 6 0
4 3 -4
EOF
"""

SMALL_VRP = """NAME : tiny
COMMENT : hand-made
TYPE : CVRP
DIMENSION : 4
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 3 4
3 -3 4
4 0 -5
DEMAND_SECTION
1 0
2 4
3 5
4 6
DEPOT_SECTION
 1
 -1
EOF
"""


# ------------------------------------------------------------------ round-trips


def test_round_trip_generated_tsp_exact_2d(tmp_path: Path) -> None:
    inst = generate_tsp(20, seed=7)
    path = write_tsplib(inst, tmp_path / "g.tsp")
    text = path.read_text()
    assert "EDGE_WEIGHT_TYPE : EXACT_2D" in text and text.rstrip().endswith("EOF")
    back = read_tsplib(path)
    _same_tsp(inst, back)  # full float precision
    assert back.name == "tsp20-s7"


def test_round_trip_euc_2d_with_optimum_and_gzip(tmp_path: Path) -> None:
    inst = read_tsplib(_write(tmp_path, "small.tsp", SMALL_TSP))
    assert inst.edge_weight_type == "EUC_2D" and inst.name == "small" and inst.optimum is None
    assert inst.tour_cost([0, 1, 2, 3]) == 20.0
    better = TSPInstance(inst.coords, edge_weight_type="EUC_2D", name="small", optimum=20.0)
    path = write_tsplib(better, tmp_path / "small.tsp.gz")
    with gzip.open(path, "rt") as handle:
        assert "COMMENT : optimum 20" in handle.read()
    _same_tsp(better, read_tsplib(path))
    _same_tsp(better, read_instance(path))  # type: ignore[arg-type]


def test_round_trip_explicit_with_and_without_display_coords(tmp_path: Path) -> None:
    d = np.array([[0, 2.5, 3, 4], [2.5, 0, 5, 6], [3, 5, 0, 7], [4, 6, 7, 0]])
    plain = TSPInstance(None, distances=d, name="m4", optimum=16.5)
    back = read_tsplib(write_tsplib(plain, tmp_path / "m4.tsp"))
    _same_tsp(plain, back)
    assert back.coords is None
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [2.0, 0.0]])  # duplicates are fine
    shown = TSPInstance(coords, distances=d, name="m4d")
    path = write_tsplib(shown, tmp_path / "m4d.tsp")
    assert "DISPLAY_DATA_SECTION" in path.read_text()
    _same_tsp(shown, read_tsplib(path))


def test_round_trip_atsp(tmp_path: Path) -> None:
    d = np.array([[0, 1, 9, 4], [9, 0, 1, 4], [4, 9, 0, 1], [1, 4, 9, 0]])
    inst = TSPInstance(None, distances=d, name="asym")
    path = write_tsplib(inst, tmp_path / "asym.atsp")
    assert "TYPE : ATSP" in path.read_text()
    back = read_tsplib(path)
    _same_tsp(inst, back)
    assert not back.symmetric and back.tour_cost([0, 1, 2, 3]) == 4.0


def test_round_trip_generated_cvrp(tmp_path: Path) -> None:
    base = generate_cvrp(15, seed=2)
    inst = CVRPInstance(
        base.coords, base.demands, base.capacity, name=base.name, optimum=3.25, n_vehicles=4
    )
    path = write_vrplib(inst, tmp_path / "c.vrp")
    text = path.read_text()
    assert "VEHICLES : 4" in text and "CAPACITY : 30" in text
    assert "DEPOT_SECTION\n1\n-1\nEOF" in text
    _same_cvrp(inst, read_vrplib(path))


def test_round_trip_small_and_explicit_cvrp(tmp_path: Path) -> None:
    inst = read_vrplib(_write(tmp_path, "tiny.vrp", SMALL_VRP))
    assert (inst.name, inst.n, inst.capacity, inst.edge_weight_type) == ("tiny", 3, 10.0, "EUC_2D")
    assert inst.routes_cost([[1, 2], [3]]) == 26.0
    _same_cvrp(inst, read_vrplib(write_vrplib(inst, tmp_path / "again.vrp.gz")))
    explicit = CVRPInstance(
        None, [0, 1, 2], 3, distances=[[0, 1, 2], [1, 0, 4], [2, 4, 0]], name="e3"
    )
    _same_cvrp(explicit, read_vrplib(write_vrplib(explicit, tmp_path / "e3.vrp")))


def test_round_trip_vrplib_solution(tmp_path: Path) -> None:
    routes = [np.array([3, 1]), np.array([2]), np.array([5, 4, 6])]
    path = write_vrplib_solution(routes, 1234.5, tmp_path / "x.sol")
    assert path.read_text() == "Route #1: 3 1\nRoute #2: 2\nRoute #3: 5 4 6\nCost 1234.5\n"
    got, cost = read_vrplib_solution(path)
    assert cost == 1234.5 and all(np.array_equal(a, b) for a, b in zip(got, routes, strict=True))
    got, cost = read_vrplib_solution(write_vrplib_solution([[1, 2]], None, tmp_path / "y.sol"))
    assert cost is None and [r.tolist() for r in got] == [[1, 2]]


def test_round_trip_tour(tmp_path: Path) -> None:
    tour = np.array([2, 0, 3, 1, 4])
    path = write_tour(tour, tmp_path / "t.tour", name="five")
    assert path.read_text().splitlines()[:4] == [
        "NAME : five",
        "TYPE : TOUR",
        "DIMENSION : 5",
        "TOUR_SECTION",
    ]
    back = read_tour(path)
    assert back.dtype == np.int64 and np.array_equal(back, tour)
    with pytest.raises(InvalidInstanceError, match="tour: not a permutation"):
        write_tour([0, 0, 1], tmp_path / "bad.tour")


def test_round_trip_kp_json(tmp_path: Path) -> None:
    kp = generate_kp(30, seed=5)
    kp = KPInstance(kp.values, kp.weights, kp.capacity, name=kp.name, optimum=7.123456789)
    back = read_kp_json(write_kp_json(kp, tmp_path / "kp.json"))
    assert np.array_equal(kp.values, back.values) and np.array_equal(kp.weights, back.weights)
    assert (back.capacity, back.name, back.optimum) == (12.5, kp.name, 7.123456789)
    again = read_instance(write_instance(back, tmp_path / "kp2.json.gz"))
    assert isinstance(again, KPInstance) and np.array_equal(again.values, kp.values)


def test_write_and_read_instance_dispatch(tmp_path: Path) -> None:
    tsp, cvrp = generate_tsp(5, seed=0), generate_cvrp(4, seed=0)
    assert isinstance(read_instance(write_instance(tsp, tmp_path / "a.tsp")), TSPInstance)
    assert isinstance(read_instance(write_instance(cvrp, tmp_path / "b.vrp")), CVRPInstance)
    with pytest.raises(InvalidInstanceError, match="instance: cannot write"):
        write_instance("nope", tmp_path / "c.tsp")  # type: ignore[arg-type]
    tour = write_tour([0, 1, 2], tmp_path / "d.tour")
    with pytest.raises(InvalidInstanceError, match="TYPE: unsupported 'TOUR'.*read_tour"):
        read_instance(tour)


# ------------------------------------------------------------------ format variants


def _format_tokens(d: np.ndarray, fmt: str) -> list[float]:
    """Entries of symmetric ``d`` in TSPLIB ``fmt`` order, written out loop by loop."""
    n = len(d)
    out = []
    if fmt == "FULL_MATRIX":
        return [d[i, j] for i in range(n) for j in range(n)]
    diag = "DIAG" in fmt
    if fmt.endswith("_ROW"):
        for i in range(n):
            cols = (
                range(i if diag else i + 1, n)
                if fmt.startswith("UPPER")
                else range(0, i + 1 if diag else i)
            )
            out += [d[i, j] for j in cols]
    else:  # column-wise: column j, rows above (UPPER) or below (LOWER) the diagonal
        for j in range(n):
            rows = (
                range(0, j + 1 if diag else j)
                if fmt.startswith("UPPER")
                else range(j if diag else j + 1, n)
            )
            out += [d[i, j] for i in rows]
    return out


@pytest.mark.parametrize("fmt", EDGE_WEIGHT_FORMATS)
def test_every_edge_weight_format(tmp_path: Path, fmt: str) -> None:
    d = np.array(
        [[0, 1, 2, 3, 4], [1, 0, 5, 6, 7], [2, 5, 0, 8, 9], [3, 6, 8, 0, 10], [4, 7, 9, 10, 0]],
        dtype=float,
    )
    tokens = _format_tokens(d, fmt)
    lines = [" ".join(f"{v:g}" for v in tokens[k : k + 3]) for k in range(0, len(tokens), 3)]
    text = (
        f"NAME: fmt\nTYPE: TSP\nDIMENSION: 5\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
        f"EDGE_WEIGHT_FORMAT: {fmt} \nEDGE_WEIGHT_SECTION\n" + "\n".join(lines) + "\nEOF\n"
    )
    inst = read_tsplib(_write(tmp_path, "fmt.tsp", text))
    assert np.array_equal(inst.distance_matrix(), d) and inst.coords is None


def test_header_styles_tabs_crlf_and_no_eof(tmp_path: Path) -> None:
    text = (
        "NAME :\tstyle.tsp\t\r\nTYPE : TSP (M.~Hofmeister)\r\nDIMENSION:3\r\n"
        "EDGE_WEIGHT_TYPE :  CEIL_2D \r\nEDGE_WEIGHT_FORMAT: FUNCTION\r\n"
        "NODE_COORD_SECTION\t\t\r\n1\t0\t0\r\n\r\n2  1.5e0 0\r\n3 0 2.5\r\n"
    )
    inst = read_tsplib(_write(tmp_path, "style.tsp", text))
    assert inst.name == "style" and inst.n == 3 and inst.edge_weight_type == "CEIL_2D"
    assert inst.distance_matrix()[1, 2] == 3.0  # sqrt(2.25 + 6.25) = 2.92 -> 3


def test_nodes_may_be_listed_out_of_order(tmp_path: Path) -> None:
    text = SMALL_TSP.replace("1 0 0\n2 3 4\n", "2 3 4\n1 0 0\n")
    inst = read_tsplib(_write(tmp_path, "shuffled.tsp", text))
    assert inst.coords[0].tolist() == [0.0, 0.0] and inst.coords[1].tolist() == [3.0, 4.0]


def test_explicit_keeps_display_coordinates(tmp_path: Path) -> None:
    text = (
        "NAME: disp\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
        "EDGE_WEIGHT_FORMAT: UPPER_ROW\nDISPLAY_DATA_TYPE: TWOD_DISPLAY\n"
        "EDGE_WEIGHT_SECTION\n 7 8\n 9\nDISPLAY_DATA_SECTION\n1 5.0 5.0\n2 5.0 5.0\n3 1 2\nEOF\n"
    )
    inst = read_tsplib(_write(tmp_path, "disp.tsp", text))
    assert inst.coords.tolist() == [[5.0, 5.0], [5.0, 5.0], [1.0, 2.0]]
    assert inst.distance_matrix().tolist() == [[0, 7, 8], [7, 0, 9], [8, 9, 0]]


def test_depot_not_first_is_moved_to_node_zero(tmp_path: Path) -> None:
    text = (
        "NAME: d3\nTYPE: CVRP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
        "EDGE_WEIGHT_FORMAT: LOWER_ROW\nCAPACITY: 5\nEDGE_WEIGHT_SECTION\n1\n2 3\n4 5 6\n"
        "DEMAND_SECTION\n1 1\n2 2\n3 0\n4 3\nDEPOT_SECTION\n3\n-1\nEOF\n"
    )
    inst = read_vrplib(_write(tmp_path, "d3.vrp", text))
    # file order 1 2 3 4 with depot 3 -> ours 3 1 2 4
    assert inst.demands.tolist() == [0, 1, 2, 3]
    assert inst.distance_matrix().tolist() == [
        [0, 2, 3, 6],
        [2, 0, 1, 4],
        [3, 1, 0, 5],
        [6, 4, 5, 0],
    ]


# ------------------------------------------------------------------ bad files


BERLIN_HEAD = "NAME: b\nTYPE: TSP\nDIMENSION: 52\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            BERLIN_HEAD + "".join(f"{i} {i} {2 * i}\n" for i in range(1, 41)) + "EOF\n",
            r"NODE_COORD_SECTION: expected 52 nodes, found 40 in .*\(file truncated\?\)",
        ),
        (SMALL_TSP.replace("2 3 4", "2 3 four"), r"NODE_COORD_SECTION: line 8: non-numeric"),
        (SMALL_TSP.replace("2 3 4", "2 3"), r"NODE_COORD_SECTION: line 8: expected 'id x y'"),
        (SMALL_TSP.replace("2 3 4", "2 3 nan"), "node 2 has a NaN or infinite coordinate"),
        (
            SMALL_TSP.replace("2 3 4", "2 0 0").replace("EUC_2D", "EXACT_2D"),
            "NODE_COORD_SECTION: duplicate coordinates",
        ),
        (SMALL_TSP.replace("2 3 4", "2 3 4\n5 1 1"), "expected 4 nodes, found 5"),
        (SMALL_TSP.replace("2 3 4", "1 3 4"), "node 1 is listed twice"),
        (SMALL_TSP.replace("2 3 4", "9 3 4"), "node id 9 outside 1..4"),
        (SMALL_TSP.replace("DIMENSION: 4\n", ""), "DIMENSION: missing"),
        (SMALL_TSP.replace("DIMENSION: 4", "DIMENSION: four"), "DIMENSION: not an integer"),
        (SMALL_TSP.replace("DIMENSION: 4", "DIMENSION: 4.5"), "DIMENSION: not an integer"),
        (SMALL_TSP.replace("DIMENSION: 4", "DIMENSION: 2"), "DIMENSION: must be at least 3"),
        (
            SMALL_TSP.replace("EUC_2D", "XRAY1"),
            r"EDGE_WEIGHT_TYPE: unknown 'XRAY1'; supported: EUC_2D, CEIL_2D, ATT, GEO",
        ),
        (SMALL_TSP.replace("EDGE_WEIGHT_TYPE: EUC_2D\n", ""), "EDGE_WEIGHT_TYPE: missing"),
        (
            SMALL_TSP.replace("TYPE: TSP", "TYPE: CVRP"),
            r"TYPE: 'CVRP' is not .*\(use read_vrplib\)",
        ),
        (SMALL_TSP.replace("TYPE: TSP", "TYPE: HCP"), r"TYPE: 'HCP' is not a TSP/ATSP file"),
        (SMALL_TSP.replace("NODE_COORD_SECTION", "NODE_COORDS"), "expected 'KEY : value'"),
        (SMALL_TSP.replace("NODE_COORD_SECTION\n", ""), "expected 'KEY : value'"),
        (SMALL_TSP.split("NODE_COORD_SECTION")[0], "NODE_COORD_SECTION: missing"),
        (SMALL_TSP.replace("DIMENSION: 4", "DIMENSION: 4\nDIMENSION: 5"), "given twice"),
        ("", "path: the file is empty"),
        ('{"values": [1]}', "expected 'KEY : value'"),
        (  # as in TSPLIB's linhp318: the listed optimum is not a plain tour's
            SMALL_TSP.replace("NODE_COORD_SECTION",
                              "FIXED_EDGES_SECTION\n1 3\n-1\nNODE_COORD_SECTION"),
            "FIXED_EDGES_SECTION: fixed .*not supported",
        ),
    ],
)
def test_bad_tsp_files(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(InvalidInstanceError, match=match):
        read_tsplib(_write(tmp_path, "bad.tsp", text))


EXPLICIT_HEAD = "NAME: x\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EXPLICIT\n"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (EXPLICIT_HEAD + "EDGE_WEIGHT_SECTION\n1 2 3 4 5 6\n", "EDGE_WEIGHT_FORMAT: missing"),
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: FUNCTION\nEDGE_WEIGHT_SECTION\n1 2 3 4 5 6\n",
            r"EDGE_WEIGHT_FORMAT: unsupported 'FUNCTION'; supported: FULL_MATRIX",
        ),
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3 4\nEOF\n",
            r"EDGE_WEIGHT_SECTION: expected 6 weights \(UPPER_ROW, DIMENSION 4\), found 4",
        ),
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3\n4 x 6\n",
            "EDGE_WEIGHT_SECTION: line 8: non-numeric entry 'x'",
        ),
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3 4 -5 6\n",
            "EDGE_WEIGHT_SECTION: contains negative distances",
        ),
        (EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\n", "EDGE_WEIGHT_SECTION: missing"),
    ],
)
def test_bad_explicit_files(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(InvalidInstanceError, match=match):
        read_tsplib(_write(tmp_path, "bad.tsp", text))


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("3 5", "3 -5", "DEMAND_SECTION: node 3 has a negative demand -5"),
        ("3 5", "3 12", r"DEMAND_SECTION: node 3 demands 12 > CAPACITY 10"),
        ("1 0\n", "1 2\n", r"DEMAND_SECTION: the depot \(node 1\) has demand 2, not 0"),
        ("CAPACITY : 10\n", "", "CAPACITY: missing"),
        ("CAPACITY : 10", "CAPACITY : ten", "CAPACITY: not a number"),
        ("CAPACITY : 10", "CAPACITY : 0", "CAPACITY: must be positive"),
        ("DEPOT_SECTION\n 1\n -1\n", "", "DEPOT_SECTION: missing"),
        (" 1\n -1", " 1\n 2\n -1", "expected exactly one depot, found 2"),
        (" 1\n -1", " -1", r"expected exactly one depot, found 0 \(none\)"),
        (" 1\n -1", " 7\n -1", "depot node 7 outside 1..4"),
        (" 1\n -1", " 1\n -1\n 5 5", "unexpected entries after the -1"),
        ("4 6\n", "", "DEMAND_SECTION: expected 4 nodes, found 3"),
        ("DEMAND_SECTION", "DEMANDS_SECTION", "DEMAND_SECTION: missing"),
        ("TYPE : CVRP", "TYPE : TSP", r"TYPE: 'TSP' is not a CVRP file .*\(use read_tsplib\)"),
        ("TYPE : CVRP", "TYPE : CVRPTW", "TYPE: 'CVRPTW' is not a CVRP file"),
        ("CAPACITY : 10", "CAPACITY : 10\nDISTANCE : 50", "DISTANCE: route-length limits"),
        ("CAPACITY : 10", "CAPACITY : 10\nVEHICLES : 0", "VEHICLES: must be >= 1"),
        ("2 3 4", "2 0 0", "NODE_COORD_SECTION: duplicate"),
    ],
)
def test_bad_vrp_files(tmp_path: Path, old: str, new: str, match: str) -> None:
    text = SMALL_VRP.replace(old, new)
    if "duplicate" in match:
        text = text.replace("EUC_2D", "EXACT_2D")
    assert text != SMALL_VRP
    with pytest.raises(InvalidInstanceError, match=match):
        read_vrplib(_write(tmp_path, "bad.vrp", text))


def test_missing_file_and_bad_gzip(tmp_path: Path) -> None:
    for reader in (
        read_tsplib,
        read_vrplib,
        read_tour,
        read_instance,
        read_kp_json,
        read_vrplib_solution,
        load_optima,
    ):
        with pytest.raises(InvalidInstanceError, match="path: no such file") as info:
            reader(tmp_path / "missing.tsp")
        assert info.value.field == "path"
    with pytest.raises(InvalidInstanceError, match="path: cannot read"):
        read_tsplib(_write(tmp_path, "fake.tsp.gz", SMALL_TSP))
    with pytest.raises(InvalidInstanceError, match="is a directory"):
        read_tsplib(tmp_path)


def test_bad_tours_solutions_and_json(tmp_path: Path) -> None:
    tour = "NAME : t\nTYPE : TOUR\nDIMENSION : 4\nTOUR_SECTION\n1\n3\n2\n{}\n-1\nEOF\n"
    with pytest.raises(InvalidInstanceError, match="TOUR_SECTION: node 3 is visited twice"):
        read_tour(_write(tmp_path, "a.tour", tour.format(3)))
    with pytest.raises(InvalidInstanceError, match="TOUR_SECTION: not a permutation of 1..4"):
        read_tour(_write(tmp_path, "b.tour", tour.format(5)))
    with pytest.raises(InvalidInstanceError, match="expected 4 nodes, found 3"):
        read_tour(_write(tmp_path, "c.tour", tour.format("")))
    with pytest.raises(InvalidInstanceError, match="TYPE: 'TSP' is not a TOUR file"):
        read_tour(_write(tmp_path, "d.tour", SMALL_TSP))
    with pytest.raises(InvalidInstanceError, match="routes: line 2: 'x' is not a customer"):
        read_vrplib_solution(_write(tmp_path, "a.sol", "Route #1: 1 2\nRoute #2: x\n"))
    with pytest.raises(InvalidInstanceError, match="routes: line 1: '0' is not a customer"):
        read_vrplib_solution(_write(tmp_path, "b.sol", "Route #1: 0 2\n"))
    with pytest.raises(InvalidInstanceError, match="routes: no 'Route #k"):
        read_vrplib_solution(_write(tmp_path, "c.sol", "Cost 12\n"))
    with pytest.raises(InvalidInstanceError, match="cost: line 2: not a number"):
        read_vrplib_solution(_write(tmp_path, "d.sol", "Route #1: 1\nCost abc\n"))
    with pytest.raises(InvalidInstanceError, match="not valid JSON"):
        read_kp_json(_write(tmp_path, "a.json", "{"))
    with pytest.raises(InvalidInstanceError, match="capacity: missing"):
        read_kp_json(_write(tmp_path, "b.json", '{"values": [1], "weights": [1]}'))
    with pytest.raises(InvalidInstanceError, match=r"items|capacity: must be positive"):
        read_kp_json(_write(tmp_path, "c.json", '{"values":[1],"weights":[1],"capacity":-1}'))
    with pytest.raises(InvalidInstanceError, match="type: 'TSP' is not a knapsack"):
        read_kp_json(_write(tmp_path, "d.json", '{"type":"TSP","values":[1],"weights":[1]}'))


def test_kp_over_capacity_after_reading(tmp_path: Path) -> None:
    kp = read_instance(_write(tmp_path, "k.json", '{"values":[3,4],"weights":[2,3],"capacity":4}'))
    assert isinstance(kp, KPInstance) and kp.name == "k" and kp.optimum is None
    with pytest.raises(InvalidInstanceError, match="items: total weight 5 > capacity 4"):
        kp.check_items([0, 1])


def test_load_optima(tmp_path: Path) -> None:
    good = _write(tmp_path, "o.csv", 'name,optimum,source\na,12,x\n\nb,3.5,"y, z"\na,12,dup\n')
    assert load_optima(good) == {"a": 12.0, "b": 3.5}
    with pytest.raises(InvalidInstanceError, match="header: .*needs 'name' and 'optimum'"):
        load_optima(_write(tmp_path, "h.csv", "instance,value\na,1\n"))
    with pytest.raises(InvalidInstanceError, match="optimum: line 2 of n.csv: 'abc'"):
        load_optima(_write(tmp_path, "n.csv", "name,optimum,source\na,abc,x\n"))
    with pytest.raises(InvalidInstanceError, match="listed twice with 1 and 2"):
        load_optima(_write(tmp_path, "d.csv", "name,optimum\na,1\na,2\n"))


# ------------------------------------------------------------------ real benchmark files


@needs_data
@pytest.mark.parametrize(
    ("name", "ewt", "optimum"),
    [
        ("berlin52", "EUC_2D", 7542),
        ("att48", "ATT", 10628),
        ("ulysses22", "GEO", 7013),  # NAME is "ulysses22.tsp" in the file
        ("gr96", "GEO", 55209),
        ("gr24", "EXPLICIT", 1272),  # LOWER_DIAG_ROW
        ("bays29", "EXPLICIT", 2020),  # FULL_MATRIX + DISPLAY_DATA_SECTION
        ("fri26", "EXPLICIT", 937),
        ("bayg29", "EXPLICIT", 1610),  # UPPER_ROW
        ("a280", "EUC_2D", 2579),  # has a duplicated city
    ],
)
def test_real_tsplib_optimal_tours(name: str, ewt: str, optimum: int) -> None:
    inst = read_tsplib(DATA / "tsplib" / "tsp" / f"{name}.tsp")
    assert inst.name == name and inst.edge_weight_type == ewt
    tour = read_tour(DATA / "tsplib" / "opt_tours" / f"{name}.opt.tour")
    assert inst.tour_cost(tour) == optimum
    assert load_optima(DATA / "tsplib" / "optima.csv")[name] == optimum


@needs_data
def test_real_atsp_br17() -> None:
    inst = read_instance(DATA / "tsplib" / "atsp" / "br17.atsp")
    assert isinstance(inst, TSPInstance) and inst.n == 17 and inst.name == "br17"
    assert not inst.symmetric and inst.edge_weight_type == "EXPLICIT"
    assert load_optima(DATA / "tsplib" / "optima.csv")["br17"] == 39


@needs_data
def test_real_cvrplib_x_solution() -> None:
    inst = read_vrplib(DATA / "cvrplib" / "X" / "X-n101-k25.vrp")
    assert (inst.name, inst.n, inst.capacity, inst.edge_weight_type) == (
        "X-n101-k25",
        100,
        206.0,
        "EUC_2D",
    )
    assert inst.demands[0] == 0 and inst.coords[0].tolist() == [365.0, 689.0]
    routes, cost = read_vrplib_solution(DATA / "cvrplib" / "X" / "X-n101-k25.sol")
    assert cost == 27591 and len(routes) == 26
    assert inst.routes_cost(routes) == 27591
    assert load_optima(DATA / "cvrplib" / "optima.csv")["X-n101-k25"] == 27591


@needs_data
def test_real_classic_cvrp_files() -> None:
    inst = read_instance(DATA / "cvrplib" / "classic" / "A" / "A-n32-k5.vrp")
    assert isinstance(inst, CVRPInstance)
    assert (inst.name, inst.n, inst.capacity) == ("A-n32-k5", 31, 100.0)
    dup = read_vrplib(DATA / "cvrplib" / "classic" / "B" / "B-n31-k5.vrp")  # repeated sites
    assert dup.n == 30
    eil7 = read_vrplib(DATA / "tsplib" / "vrp" / "eil7.vrp")  # EXPLICIT LOWER_COL
    assert eil7.distance_matrix()[0].tolist() == [0, 10, 20, 25, 25, 20, 10]
    assert eil7.distance_matrix()[1, 2] == 12 and eil7.capacity == 3
    with pytest.raises(InvalidInstanceError, match="DEPOT_SECTION: expected exactly one depot"):
        read_vrplib(DATA / "tsplib" / "vrp" / "gil262.vrp")
