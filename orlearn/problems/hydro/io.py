"""Reading HydroPowerModels-style cases (PowerModels JSON + hydro.json + inflows.csv), the
Bolivian system preset, and a seeded generator of synthetic cascaded systems."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from orlearn.errors import InvalidInstanceError
from orlearn.problems.hydro.system import HydroSystem

#: hm3 per (m3/s) held for one hour.
HOUR_WATER_COEF = 0.0036
#: Values below this in ``initial_volume`` / ``spill_cost`` are treated as 0: the Bolivian
#: ``hydro.json`` holds denormal floats (~1e-316) there, uninitialised memory written out.
_DENORMAL = 1e-300


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidInstanceError("path", f"{path} not found",
                                   fix="a case folder holds PowerModels.json, hydro.json and "
                                       "inflows.csv") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInstanceError("path", f"cannot read {path}: {exc}") from None


def _read_csv(path: Path) -> np.ndarray:
    try:
        rows = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        table = np.array([[float(x) if x.strip() else np.nan for x in r.split(",")]
                          for r in rows], dtype=np.float64)
    except FileNotFoundError:
        raise InvalidInstanceError("path", f"{path} not found") from None
    except ValueError as exc:
        raise InvalidInstanceError("inflows", f"{path.name}: not a numeric CSV table ({exc}); "
                                              "rows must all have the same columns") from None
    if table.ndim != 2 or table.size == 0:
        raise InvalidInstanceError("inflows", f"{path.name}: empty or ragged table")
    return table


def _linear_cost(gen: dict[str, Any], what: str) -> float:
    cost = [float(c) for c in gen.get("cost", [])]
    if not cost:
        return 0.0
    if int(gen.get("model", 2)) != 2:
        raise InvalidInstanceError(f"{what}.model", "only polynomial costs (model 2) are "
                                                    "supported")
    if len(cost) > 2 and any(c != 0 for c in cost[:-2]):
        raise InvalidInstanceError(f"{what}.cost", "quadratic costs are not supported (the "
                                                   "stage problem is an LP)")
    return cost[-2] if len(cost) >= 2 else 0.0


def load_powermodels(
    folder: str | os.PathLike[str],
    *,
    load_scale: float = 1.0,
    water_coef: float | None = None,
    initial_volume: Any = None,
    name: str | None = None,
    notes: tuple[str, ...] = (),
) -> HydroSystem:
    """Read a HydroPowerModels.jl case folder.

    Files: ``PowerModels.json`` (network, per unit; ``cost_deficit`` in $/MW), ``hydro.json``
    (``Hydrogenerators``: volumes hm3, turbined flow m3/s, production factor MW/(m3/s),
    ``index_grid`` = the generator that is the plant, ``downstream_turn/spill`` = plant
    ``index`` values), ``inflows.csv`` (rows = stages; columns grouped by plant in
    ``hydro.json`` order, ``columns / plants`` scenarios each) and optionally
    ``scenarioprobability.csv`` (one row per stage; all rows must agree).

    Conventions: thermal cost is the linear term per p.u.; deficit costs
    ``cost_deficit x baseMVA`` per p.u.; a plant's turbined flow is capped so that its
    generator's ``pmax`` holds; ``final_volume`` and the minimum-violation costs are not
    modelled (``min_turn`` is a hard bound).

    Args:
        folder: the case folder.
        load_scale: factor on every load.
        water_coef: hm3 per (m3/s) per stage; None: 0.0036 x ``stage_hours`` of hydro.json
            (1 hour when absent).
        initial_volume: None (the file's, denormal values read as 0), a fraction of each
            reservoir's range, or hm3 per plant.
        name: label (default: the folder name).
        notes: facts about the data choices, carried into results.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInstanceError("path", f"{root} is not a folder",
                                   fix="give the case folder that holds PowerModels.json")
    net = _read_json(root / "PowerModels.json")
    hydro = _read_json(root / "hydro.json")
    for key in ("bus", "branch", "gen", "load", "baseMVA", "cost_deficit"):
        if key not in net:
            raise InvalidInstanceError(f"PowerModels.json:{key}", "missing")
    base = float(net["baseMVA"])
    if not net.get("per_unit", True):
        raise InvalidInstanceError("PowerModels.json:per_unit", "only per-unit data is read")
    buses = sorted(net["bus"].values(), key=lambda b: int(b["index"]))
    bus_pos = {int(b["index"]): i for i, b in enumerate(buses)}
    refs = [bus_pos[int(b["index"])] for b in buses if int(b.get("bus_type", 1)) == 3]
    load = np.zeros(len(buses))
    for key, item in net["load"].items():
        if int(item.get("status", 1)) != 1:
            continue
        bus = int(item["load_bus"])
        if bus not in bus_pos:
            raise InvalidInstanceError(f"load.{key}.load_bus", f"bus {bus} does not exist")
        load[bus_pos[bus]] += float(item["pd"]) * load_scale
    lines = [b for b in net["branch"].values() if int(b.get("br_status", 1)) == 1]
    for b in lines:
        for end in ("f_bus", "t_bus"):
            if int(b[end]) not in bus_pos:
                raise InvalidInstanceError(f"branch.{b.get('index')}.{end}",
                                           f"bus {b[end]} does not exist")
    plants = hydro.get("Hydrogenerators")
    if not isinstance(plants, list):
        raise InvalidInstanceError("hydro.json:Hydrogenerators", "missing or not a list")
    gens = {int(g["index"]): g for g in net["gen"].values()}
    plant_pos = {int(p["index"]): i for i, p in enumerate(plants)}
    hydro_gens = set()
    h_bus, prod, max_turb, h_cost, down_t, down_s = [], [], [], [], [], []
    for i, p in enumerate(plants):
        what = f"hydro.json:Hydrogenerators[{i}]"
        grid = int(p["index_grid"])
        if grid not in gens:
            raise InvalidInstanceError(f"{what}.index_grid", f"generator {grid} does not exist")
        hydro_gens.add(grid)
        gen = gens[grid]
        pf = float(p["production_factor"])
        if pf <= 0:
            raise InvalidInstanceError(f"{what}.production_factor", "must be > 0")
        h_bus.append(bus_pos[int(gen["gen_bus"])])
        prod.append(pf / base)
        cap = float(p["max_turn"])
        pmax = float(gen.get("pmax", np.inf))
        max_turb.append(min(cap, pmax * base / pf))
        h_cost.append(_linear_cost(gen, f"gen.{grid}"))
        for key, out in (("downstream_turn", down_t), ("downstream_spill", down_s)):
            targets = [int(x) for x in p.get(key, [])]
            if len(targets) > 1:
                raise InvalidInstanceError(f"{what}.{key}", "more than one downstream plant is "
                                                            "not supported")
            if targets and targets[0] not in plant_pos:
                raise InvalidInstanceError(f"{what}.{key}",
                                           f"plant index {targets[0]} does not exist",
                                           fix="downstream entries name a plant's 'index'")
            out.append(plant_pos[targets[0]] if targets else -1)
    thermal = [g for k, g in sorted(gens.items())
               if k not in hydro_gens and int(g.get("gen_status", 1)) == 1]

    def field_of(key: str, default: float = 0.0) -> np.ndarray:
        values = np.array([float(p.get(key, default) or 0.0) for p in plants])
        values[np.abs(values) < _DENORMAL] = 0.0
        return values

    max_v = field_of("max_volume")
    min_v = field_of("min_volume")
    init = field_of("initial_volume")
    if initial_volume is not None:
        v = np.asarray(initial_volume, dtype=np.float64)
        init = min_v + float(v) * (max_v - min_v) if v.ndim == 0 else v
    table = _read_csv(root / "inflows.csv")
    n_plants = len(plants)
    if n_plants and table.shape[1] % n_plants:
        raise InvalidInstanceError(
            "inflows", f"inflows.csv has {table.shape[1]} columns, not a multiple of the "
                       f"{n_plants} plants", fix="one group of scenario columns per plant")
    scenarios = table.shape[1] // max(n_plants, 1)
    inflows = table.reshape(table.shape[0], max(n_plants, 1), scenarios).transpose(0, 2, 1)
    prob = np.full(scenarios, 1.0 / max(scenarios, 1))
    prob_file = root / "scenarioprobability.csv"
    if prob_file.exists():
        ptab = _read_csv(prob_file)
        if not np.allclose(ptab, ptab[0]):
            raise InvalidInstanceError("scenarioprobability", "stage-dependent probabilities "
                                                              "are not supported")
        prob = ptab[0]
    if water_coef is None:
        water_coef = HOUR_WATER_COEF * float(hydro.get("stage_hours", 1.0))
    return HydroSystem(
        name=name or root.name,
        notes=notes,
        bus_load=load,
        line_from=[bus_pos[int(b["f_bus"])] for b in lines],
        line_to=[bus_pos[int(b["t_bus"])] for b in lines],
        line_reactance=[float(b["br_x"]) for b in lines],
        line_limit=[float(b["rate_a"]) if float(b.get("rate_a", 0)) > 0 else np.inf
                    for b in lines],
        thermal_bus=[bus_pos[int(g["gen_bus"])] for g in thermal],
        thermal_capacity=[float(g["pmax"]) for g in thermal],
        thermal_cost=[_linear_cost(g, f"gen.{g['index']}") for g in thermal],
        hydro_names=[str(p.get("name", p["index"])).strip() for p in plants],
        hydro_bus=h_bus,
        max_volume=max_v,
        min_volume=min_v,
        initial_volume=init,
        max_turbine=max_turb,
        min_turbine=field_of("min_turn"),
        production=prod,
        hydro_cost=h_cost,
        spill_cost=field_of("spill_cost"),
        downstream_turbine=down_t,
        downstream_spill=down_s,
        inflows=inflows,
        scenario_probability=prob,
        deficit_cost=float(net["cost_deficit"]) * base,
        water_coef=float(water_coef),
        ref_bus=refs[0] if refs else 0,
        base_mva=base,
    )


#: Where the Bolivian case is looked for when no folder is given (in this order): the
#: ``ORLEARN_BOLIVIA`` variable, then ``shared/data/hydro/bolivia`` next to or above the
#: working directory.
BOLIVIA_ENV = "ORLEARN_BOLIVIA"


def find_bolivia() -> Path | None:
    """The Bolivian case folder, or None when it is not on this machine."""
    env = os.environ.get(BOLIVIA_ENV)
    candidates = [Path(env)] if env else []
    cwd = Path.cwd().resolve()
    for base in (cwd, *cwd.parents):
        candidates.append(base / "shared" / "data" / "hydro" / "bolivia")
    for path in candidates:
        if (path / "PowerModels.json").exists() and (path / "hydro.json").exists():
            return path
    return None


def bolivia(folder: str | os.PathLike[str] | None = None, *, initial_volume: Any = 0.5,
            load_scale: float = 0.6) -> HydroSystem:
    """The Bolivian system as in the TS-DDR study: loads x 0.6 (4.825 p.u.), water-balance
    coefficient 0.0036 (one-hour stages, as the published subproblems use, although
    ``hydro.json`` says 168 hours), deficit 6,000 per p.u.; the inflow table's 48 stages
    repeat cyclically.

    The file's initial volumes are garbage (denormal floats); we start every reservoir at
    ``initial_volume`` (default half of its range) and say so in every result.
    """
    path = Path(folder) if folder is not None else find_bolivia()
    if path is None:
        raise InvalidInstanceError(
            "path", "the Bolivian case folder was not found",
            fix=f"pass its folder or set {BOLIVIA_ENV} to shared/data/hydro/bolivia")
    notes = (f"loads x {load_scale}; water_coef 0.0036 (1 h stages); initial volume "
             f"{initial_volume!r} of each reservoir's range (the file's are garbage); spill "
             "cost 0",)
    return load_powermodels(path, load_scale=load_scale, water_coef=HOUR_WATER_COEF,
                            initial_volume=initial_volume, name="bolivia", notes=notes)


def generate_system(
    n_plants: int = 3,
    n_buses: int = 4,
    n_thermal: int = 4,
    stages: int = 12,
    scenarios: int = 5,
    seed: int = 0,
    *,
    hydro_share: float = 0.5,
) -> HydroSystem:
    """A synthetic cascaded system with a meshed DC network (no external data).

    Plants form one cascade (plant i spills and turbines into plant i+1) on random buses,
    each turbine sized at about twice its mean flow and each reservoir at 2-6 stages of full
    turbining (daily stages), so that storing water pays; a ring of lines plus chords links
    the buses; thermal units (total capacity = the load) have costs rising from 50 to 1,000
    per p.u.; incremental inflows are seasonal (one cycle over ``stages``) with lognormal
    noise per scenario and plant; the load is set so that mean hydro generation covers
    ``hydro_share`` of it (dry scenarios end in deficit, priced at 10x the dearest unit).
    """
    for label, value, low in (("n_plants", n_plants, 1), ("n_buses", n_buses, 2),
                              ("n_thermal", n_thermal, 1), ("stages", stages, 1),
                              ("scenarios", scenarios, 1)):
        if int(value) < low:
            raise InvalidInstanceError(label, f"must be >= {low}, got {value}")
    rng = np.random.default_rng(seed)
    ring = [(i, (i + 1) % n_buses) for i in range(n_buses if n_buses > 2 else 1)]
    chords = [(i, (i + 2) % n_buses) for i in range(0, n_buses - 2, 3)] if n_buses > 3 else []
    lines = ring + chords
    water_coef = HOUR_WATER_COEF * 24.0  # daily stages
    incremental = rng.uniform(20.0, 60.0, n_plants)  # mean incremental inflow, m3/s
    mean_flow = np.cumsum(incremental)  # one cascade: plant i also gets all upstream water
    max_turbine = mean_flow * rng.uniform(1.6, 2.2, n_plants)
    production = rng.uniform(0.5, 1.5, n_plants) / 100.0  # p.u. per m3/s
    max_volume = max_turbine * water_coef * rng.uniform(2.0, 6.0, n_plants)
    season = 1.0 + 0.6 * np.sin(2 * np.pi * (np.arange(stages) / stages))
    noise = rng.lognormal(mean=-0.08, sigma=0.4, size=(stages, scenarios, n_plants))
    inflows = incremental[None, None, :] * season[:, None, None] * noise
    total_load = float(production @ mean_flow) / hydro_share
    weights = rng.uniform(0.5, 1.5, n_buses)
    bus_load = total_load * weights / weights.sum()
    thermal_capacity = np.full(n_thermal, total_load / n_thermal)
    thermal_cost = np.geomspace(50.0, 1000.0, n_thermal) * rng.uniform(0.9, 1.1, n_thermal)
    return HydroSystem(
        name=f"synthetic-{n_plants}h-{n_buses}b-s{seed}",
        bus_load=bus_load,
        line_from=[a for a, _ in lines],
        line_to=[b for _, b in lines],
        line_reactance=rng.uniform(0.05, 0.3, len(lines)),
        line_limit=np.full(len(lines), 0.6 * total_load),
        thermal_bus=rng.integers(0, n_buses, n_thermal),
        thermal_capacity=thermal_capacity,
        thermal_cost=thermal_cost,
        hydro_names=[f"H{i + 1}" for i in range(n_plants)],
        hydro_bus=rng.integers(0, n_buses, n_plants),
        max_volume=max_volume,
        min_volume=np.zeros(n_plants),
        initial_volume=0.5 * max_volume,
        max_turbine=max_turbine,
        min_turbine=np.zeros(n_plants),
        production=production,
        hydro_cost=np.zeros(n_plants),
        spill_cost=np.zeros(n_plants),
        downstream_turbine=[i + 1 if i + 1 < n_plants else -1 for i in range(n_plants)],
        downstream_spill=[i + 1 if i + 1 < n_plants else -1 for i in range(n_plants)],
        inflows=inflows,
        scenario_probability=np.full(scenarios, 1.0 / scenarios),
        deficit_cost=10.0 * float(thermal_cost.max()),
        water_coef=water_coef,
        ref_bus=0,
    )
