"""Shared fixtures of the hydro tests: the real data folders (skipped when absent) and small
hand-made systems whose numbers can be followed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from orlearn.problems.hydro.system import HydroSystem

#: ``/work/shared/data/hydro`` on the development machine: ``shared`` next to the repository.
HYDRO_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "hydro"


@pytest.fixture(scope="session")
def bolivia_dir() -> Path:
    path = HYDRO_DATA / "bolivia"
    if not (path / "PowerModels.json").exists():
        pytest.skip(f"the Bolivian case is not on this machine ({path} does not exist)")
    return path


@pytest.fixture(scope="session")
def hpm_dir() -> Path:
    path = HYDRO_DATA / "HydroPowerModels.jl"
    if not (path / "case3deterministic" / "PowerModels.json").exists():
        pytest.skip(f"the HydroPowerModels.jl cases are not on this machine ({path} does not "
                    "exist)")
    return path


def make_cascade3() -> HydroSystem:
    """3 plants on 2 buses, plant 0 -> 1 -> 2 for turbined and spilled water.

    Bus 0: load 0.5 p.u., a cheap unit (0.4 p.u. at 60) and plant 0; bus 1: load 0.9 p.u., a
    dear unit (0.3 p.u. at 250) and plants 1 and 2; one line (limit 0.6 p.u.). Daily stages
    (k = 0.0864 hm3 per m3/s). Table: 2 stages x 2 scenarios; scenario 1 of stage 0 floods
    plant 0 (400 m3/s against an 80 m3/s turbine).
    """
    inflows = np.array([
        [[20.0, 5.0, 2.0], [400.0, 10.0, 3.0]],
        [[8.0, 2.0, 0.0], [30.0, 12.0, 4.0]],
    ])
    return HydroSystem(
        name="cascade3",
        bus_load=[0.5, 0.9],
        line_from=[0], line_to=[1], line_reactance=[0.2], line_limit=[0.6],
        thermal_bus=[0, 1], thermal_capacity=[0.4, 0.3], thermal_cost=[60.0, 250.0],
        hydro_names=["UP", "MID", "DOWN"], hydro_bus=[0, 1, 1],
        max_volume=[12.0, 6.0, 4.0], min_volume=[1.0, 0.5, 0.0], initial_volume=[6.0, 3.0, 2.0],
        max_turbine=[80.0, 100.0, 120.0], min_turbine=[0.0, 0.0, 0.0],
        production=[0.004, 0.003, 0.0025], hydro_cost=[1.0, 2.0, 0.0],
        spill_cost=[0.5, 0.2, 0.1],
        downstream_turbine=[1, 2, -1], downstream_spill=[1, 2, -1],
        inflows=inflows, scenario_probability=[0.5, 0.5],
        deficit_cost=4000.0, water_coef=0.0864,
    )


@pytest.fixture
def cascade3() -> HydroSystem:
    return make_cascade3()
