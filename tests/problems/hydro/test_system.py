"""HydroSystem validation and JSON, the HydroPowerModels loader (Bolivia and hand-written
case folders), the synthetic generator and inflow sampling."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from orlearn.errors import InvalidInstanceError
from orlearn.problems.hydro import io
from orlearn.problems.hydro.system import HydroSystem


def assert_same_system(a: HydroSystem, b: HydroSystem) -> None:
    for f in fields(HydroSystem):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        else:
            assert x == y, f.name


# ---------------------------------------------------------------- the Bolivian system


def test_bolivia_sizes_and_constants(bolivia_dir: Path) -> None:
    s = io.bolivia(bolivia_dir)
    assert (s.n_buses, s.n_lines, s.n_thermal, s.n_plants) == (28, 31, 23, 11)
    assert s.bus_load.sum() == pytest.approx(4.825, abs=1e-3)
    assert s.deficit_cost == 6000.0
    assert s.water_coef == 0.0036
    assert s.inflows.shape == (48, 15, 11)
    assert s.scenario_probability == pytest.approx(np.full(15, 1 / 15))
    assert s.notes and "0.0036" in s.notes[0]
    # x0.6 is applied to every load: the file's loads are 1 / 0.6 times larger
    full = io.bolivia(bolivia_dir, load_scale=1.0)
    np.testing.assert_allclose(s.bus_load, 0.6 * full.bus_load, rtol=1e-12)


def test_bolivia_downstream_plants_resolved_from_file_indices(bolivia_dir: Path) -> None:
    s = io.bolivia(bolivia_dir)
    plants = json.loads((bolivia_dir / "hydro.json").read_text())["Hydrogenerators"]
    pos = {int(p["index"]): i for i, p in enumerate(plants)}
    names = list(s.hydro_names)
    # COR (file index 2) turbines into SIS (file index 1); it spills nowhere
    assert int(plants[names.index("COR")]["index"]) == 2
    assert s.downstream_turbine[names.index("COR")] == names.index("SIS")
    assert s.downstream_spill[names.index("COR")] == -1
    for up, down in ((21, 28), (41, 42)):
        assert s.downstream_turbine[pos[up]] == pos[down]
        assert s.downstream_spill[pos[up]] == pos[down]
    # nothing else flows anywhere
    flows = {i for i in range(s.n_plants) if s.downstream_turbine[i] >= 0}
    assert flows == {names.index("COR"), pos[21], pos[41]}
    assert {i for i in range(s.n_plants) if s.downstream_spill[i] >= 0} == {pos[21], pos[41]}


def test_bolivia_initial_volume_argument(bolivia_dir: Path) -> None:
    default = io.bolivia(bolivia_dir)
    span = default.max_volume - default.min_volume
    np.testing.assert_allclose(default.initial_volume, default.min_volume + 0.5 * span)
    quarter = io.bolivia(bolivia_dir, initial_volume=0.25)
    np.testing.assert_allclose(quarter.initial_volume, quarter.min_volume + 0.25 * span)
    given = np.linspace(0.0, 1.0, 11) * default.max_volume
    explicit = io.bolivia(bolivia_dir, initial_volume=given)
    np.testing.assert_array_equal(explicit.initial_volume, given)
    # the file's own initial volumes are denormal garbage, read as 0 by the raw loader
    raw = io.load_powermodels(bolivia_dir)
    assert np.all(raw.initial_volume == 0.0)
    with pytest.raises(InvalidInstanceError) as err:
        io.bolivia(bolivia_dir, initial_volume=1.5)
    assert err.value.field == "initial_volume"


def test_find_bolivia_env_variable_and_absence(bolivia_dir: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(io.BOLIVIA_ENV, raising=False)
    assert io.find_bolivia() is None
    with pytest.raises(InvalidInstanceError) as err:
        io.bolivia()
    assert err.value.field == "path"
    monkeypatch.setenv(io.BOLIVIA_ENV, str(bolivia_dir))
    assert io.find_bolivia() == bolivia_dir
    assert io.bolivia().n_plants == 11


def test_bolivia_json_round_trip(bolivia_dir: Path, tmp_path: Path) -> None:
    s = io.bolivia(bolivia_dir)
    s.save(tmp_path / "bolivia.json")
    back = HydroSystem.load(tmp_path / "bolivia.json")
    assert_same_system(s, back)


# ---------------------------------------------------------------- hand-written case folders


def write_case(folder: Path, *, downstream_turn: list[int] | None = None,
               inflow_rows: list[list[float]] | None = None) -> Path:
    """A 2-bus case with one thermal unit and two hydro plants (indices 7 and 9)."""
    folder.mkdir(parents=True, exist_ok=True)
    net = {
        "baseMVA": 100.0, "per_unit": True, "cost_deficit": 50.0,
        "bus": {"1": {"index": 1, "bus_type": 3}, "2": {"index": 2, "bus_type": 1}},
        "branch": {"1": {"index": 1, "f_bus": 1, "t_bus": 2, "br_x": 0.1, "rate_a": 0.8,
                         "br_status": 1}},
        "gen": {
            "1": {"index": 1, "gen_bus": 1, "pmax": 1.5, "model": 2, "cost": [0.0, 30.0, 0.0],
                  "gen_status": 1},
            "2": {"index": 2, "gen_bus": 2, "pmax": 0.6, "model": 2, "cost": [0.0, 0.0],
                  "gen_status": 1},
            "3": {"index": 3, "gen_bus": 1, "pmax": 2.0, "model": 2, "cost": [5.0, 0.0],
                  "gen_status": 1},
        },
        "load": {"1": {"load_bus": 2, "pd": 1.2, "status": 1},
                 "2": {"load_bus": 1, "pd": 0.4, "status": 1}},
    }
    hydro = {"stage_hours": 24, "Hydrogenerators": [
        {"index": 7, "name": " Upper ", "index_grid": 2, "production_factor": 1.5,
         "max_turn": 50.0, "min_turn": 0.0, "max_volume": 10.0, "min_volume": 1.0,
         "initial_volume": 4.0, "spill_cost": 0.0,
         "downstream_turn": downstream_turn if downstream_turn is not None else [9],
         "downstream_spill": [9]},
        {"index": 9, "name": "Lower", "index_grid": 3, "production_factor": 1.0,
         "max_turn": 300.0, "min_turn": 0.0, "max_volume": 5.0, "min_volume": 0.0,
         "initial_volume": 1e-316, "spill_cost": 0.0, "downstream_turn": [],
         "downstream_spill": []},
    ]}
    (folder / "PowerModels.json").write_text(json.dumps(net))
    (folder / "hydro.json").write_text(json.dumps(hydro))
    rows = inflow_rows if inflow_rows is not None else [[1.0, 2.0, 3.0, 4.0],
                                                          [5.0, 6.0, 7.0, 8.0]]
    (folder / "inflows.csv").write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return folder


def test_case_folder_units_and_inflow_columns(tmp_path: Path) -> None:
    s = io.load_powermodels(write_case(tmp_path / "case"), load_scale=0.5)
    assert s.name == "case"
    np.testing.assert_allclose(s.bus_load, [0.2, 0.6])
    assert s.ref_bus == 0 and s.deficit_cost == 5000.0 and s.base_mva == 100.0
    assert s.water_coef == pytest.approx(0.0036 * 24)
    assert s.hydro_names == ("Upper", "Lower")
    np.testing.assert_array_equal(s.hydro_bus, [1, 0])
    np.testing.assert_allclose(s.production, [0.015, 0.01])
    # plant 7: 0.6 p.u. x 100 / 1.5 = 40 m3/s caps its 50 m3/s turbine; plant 9: 200 < 300
    np.testing.assert_allclose(s.max_turbine, [40.0, 200.0])
    np.testing.assert_allclose(s.hydro_cost, [0.0, 5.0])
    np.testing.assert_array_equal(s.thermal_bus, [0])
    np.testing.assert_allclose(s.thermal_cost, [30.0])
    np.testing.assert_allclose(s.initial_volume, [4.0, 0.0])  # the denormal is read as 0
    np.testing.assert_array_equal(s.downstream_turbine, [1, -1])
    np.testing.assert_array_equal(s.downstream_spill, [1, -1])
    # columns are grouped by plant: [p0 s0, p0 s1, p1 s0, p1 s1]
    assert s.inflows.shape == (2, 2, 2)
    np.testing.assert_array_equal(s.inflows[0], [[1.0, 3.0], [2.0, 4.0]])
    np.testing.assert_array_equal(s.inflows[1, :, 1], [7.0, 8.0])
    frac = io.load_powermodels(tmp_path / "case", initial_volume=0.5)
    np.testing.assert_allclose(frac.initial_volume, [5.5, 2.5])


def test_case_folder_with_missing_downstream_plant(tmp_path: Path) -> None:
    with pytest.raises(InvalidInstanceError) as err:
        io.load_powermodels(write_case(tmp_path / "case", downstream_turn=[8]))
    assert err.value.field.endswith("downstream_turn")
    assert "8" in str(err.value)


def test_case_folder_with_inflow_columns_not_a_multiple_of_plants(tmp_path: Path) -> None:
    with pytest.raises(InvalidInstanceError) as err:
        io.load_powermodels(write_case(tmp_path / "case", inflow_rows=[[1.0, 2.0, 3.0]]))
    assert err.value.field == "inflows"


def test_case_folder_with_ragged_or_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInstanceError) as err:
        io.load_powermodels(write_case(tmp_path / "a", inflow_rows=[[1.0, 2.0], [1.0]]))
    assert err.value.field == "inflows"
    case = write_case(tmp_path / "b")
    (case / "hydro.json").unlink()
    with pytest.raises(InvalidInstanceError) as err:
        io.load_powermodels(case)
    assert err.value.field == "path"
    with pytest.raises(InvalidInstanceError) as err:
        io.load_powermodels(tmp_path / "nowhere")
    assert err.value.field == "path"


# ---------------------------------------------------------------- JSON


def test_json_round_trip_keeps_infinite_line_limits(cascade3: HydroSystem,
                                                    tmp_path: Path) -> None:
    s = replace(cascade3, line_limit=[np.inf], notes=("a note",))
    s.save(tmp_path / "s.json")
    text = (tmp_path / "s.json").read_text()
    assert "Infinity" not in text  # strict JSON: no limit is written as null
    back = HydroSystem.load(tmp_path / "s.json")
    assert_same_system(s, back)
    assert back.line_limit[0] == np.inf


def test_from_dict_rejects_unknown_and_missing_fields(cascade3: HydroSystem,
                                                      tmp_path: Path) -> None:
    data = cascade3.to_dict()
    with pytest.raises(InvalidInstanceError) as err:
        HydroSystem.from_dict({**data, "colour": "blue"})
    assert err.value.field == "colour"
    data.pop("water_coef")
    with pytest.raises(InvalidInstanceError) as err:
        HydroSystem.from_dict(data)
    assert err.value.field == "water_coef"
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidInstanceError) as err:
        HydroSystem.load(tmp_path / "bad.json")
    assert err.value.field == "path"


# ---------------------------------------------------------------- generator and sampling


def test_generator_is_seeded_and_valid() -> None:
    a = io.generate_system(n_plants=3, n_buses=5, n_thermal=3, stages=6, scenarios=4, seed=3)
    b = io.generate_system(n_plants=3, n_buses=5, n_thermal=3, stages=6, scenarios=4, seed=3)
    c = io.generate_system(n_plants=3, n_buses=5, n_thermal=3, stages=6, scenarios=4, seed=4)
    assert_same_system(a, b)
    assert not np.array_equal(a.inflows, c.inflows)
    assert not np.array_equal(a.max_volume, c.max_volume)
    a.validate()
    assert a.inflows.shape == (6, 4, 3)
    assert (a.n_buses, a.n_thermal, a.n_plants) == (5, 3, 3)
    np.testing.assert_array_equal(a.downstream_turbine, [1, 2, -1])
    assert np.all(a.inflows > 0) and np.all(a.initial_volume <= a.max_volume)
    with pytest.raises(InvalidInstanceError) as err:
        io.generate_system(n_plants=0)
    assert err.value.field == "n_plants"


def test_sample_inflows_is_seeded_and_draws_table_rows(cascade3: HydroSystem) -> None:
    s = io.generate_system(stages=4, scenarios=3, seed=1)
    a = s.sample_inflows(30, 10, seed=5)
    np.testing.assert_array_equal(a, s.sample_inflows(30, 10, seed=5))
    assert not np.array_equal(a, s.sample_inflows(30, 10, seed=6))
    assert a.shape == (30, 10, s.n_plants)
    seen = set()
    for path in a:
        for t, row in enumerate(path):
            table = s.stage_inflows(t)  # the cyclic table: stage t uses row t % 4
            match = np.flatnonzero(np.all(table == row, axis=1))
            assert match.size == 1, (t, row)
            seen.add((t % 4, int(match[0])))
    assert len(seen) == 12  # every (row, scenario) pair appears in 300 draws
    shifted = s.sample_inflows(2, 3, seed=0, start=2)
    for path in shifted:
        for t, row in enumerate(path):
            assert np.any(np.all(s.inflows[(2 + t) % 4] == row, axis=1))
    # probabilities are honoured: a scenario of probability 0 never shows up
    skewed = replace(cascade3, scenario_probability=[1.0, 0.0])
    draws = skewed.sample_inflows(20, 2, seed=0)
    np.testing.assert_array_equal(draws[:, 0], np.tile(cascade3.inflows[0, 0], (20, 1)))
    np.testing.assert_array_equal(draws[:, 1], np.tile(cascade3.inflows[1, 0], (20, 1)))
    with pytest.raises(InvalidInstanceError):
        s.sample_inflows(0, 3)


def test_with_initial_volume(cascade3: HydroSystem) -> None:
    full = cascade3.with_initial_volume(1.0)
    np.testing.assert_array_equal(full.initial_volume, cascade3.max_volume)
    empty = cascade3.with_initial_volume(0.0)
    np.testing.assert_array_equal(empty.initial_volume, cascade3.min_volume)
    given = cascade3.with_initial_volume([2.0, 1.0, 0.5])
    np.testing.assert_array_equal(given.initial_volume, [2.0, 1.0, 0.5])
    np.testing.assert_array_equal(cascade3.initial_volume, [6.0, 3.0, 2.0])  # unchanged
    with pytest.raises(InvalidInstanceError) as err:
        cascade3.with_initial_volume([20.0, 1.0, 0.5])
    assert err.value.field == "initial_volume"


# ---------------------------------------------------------------- bad inputs


def _nan_inflows(s: HydroSystem) -> np.ndarray:
    q = s.inflows.copy()
    q[1, 0, 2] = np.nan
    return q


BAD: list[tuple[str, str, Any]] = [
    ("negative max_volume", "max_volume", lambda s: {"max_volume": [-1.0, 6.0, 4.0]}),
    ("negative thermal capacity", "thermal_capacity",
     lambda s: {"thermal_capacity": [0.4, -0.3]}),
    ("downstream plant missing", "downstream_turbine",
     lambda s: {"downstream_turbine": [1, 3, -1]}),
    ("downstream spill below -1", "downstream_spill",
     lambda s: {"downstream_spill": [1, -2, -1]}),
    ("plant into itself", "downstream_turbine", lambda s: {"downstream_turbine": [0, 2, -1]}),
    ("cascade cycle 0 -> 1 -> 0", "downstream_turbine",
     lambda s: {"downstream_turbine": [1, 0, -1]}),
    ("spill cycle 0 -> 1 -> 2 -> 0", "downstream_spill",
     lambda s: {"downstream_spill": [1, 2, 0]}),
    ("inflows for 2 plants", "inflows", lambda s: {"inflows": s.inflows[:, :, :2]}),
    ("inflows with NaN", "inflows", lambda s: {"inflows": _nan_inflows(s)}),
    ("negative inflows", "inflows", lambda s: {"inflows": -s.inflows}),
    ("initial volume above max", "initial_volume",
     lambda s: {"initial_volume": [6.0, 3.0, 4.5]}),
    ("initial volume below min", "initial_volume",
     lambda s: {"initial_volume": [0.5, 3.0, 2.0]}),
    ("min above max volume", "min_volume", lambda s: {"min_volume": [1.0, 7.0, 0.0],
                                                      "initial_volume": [6.0, 6.5, 2.0]}),
    ("probabilities not summing to 1", "scenario_probability",
     lambda s: {"scenario_probability": [0.5, 0.6]}),
    ("line to a missing bus", "line_to", lambda s: {"line_to": [2]}),
    ("thermal unit on a missing bus", "thermal_bus", lambda s: {"thermal_bus": [0, 5]}),
    ("zero reactance", "line_reactance", lambda s: {"line_reactance": [0.0]}),
    ("zero water coefficient", "water_coef", lambda s: {"water_coef": 0.0}),
    ("non-integer bus index", "hydro_bus", lambda s: {"hydro_bus": [0, 1, 0.5]}),
    ("too few names", "hydro_names", lambda s: {"hydro_names": ["A", "B"]}),
]


@pytest.mark.parametrize(("field", "change"), [pytest.param(f, c, id=i) for i, f, c in BAD])
def test_bad_inputs_name_their_field(cascade3: HydroSystem, field: str, change: Any) -> None:
    with pytest.raises(InvalidInstanceError) as err:
        replace(cascade3, **change(cascade3))
    assert err.value.field == field, str(err.value)


def test_mixed_turbine_spill_cycle_is_rejected(cascade3: HydroSystem) -> None:
    with pytest.raises(InvalidInstanceError):
        replace(cascade3, downstream_turbine=[1, -1, -1], downstream_spill=[-1, 0, -1])
