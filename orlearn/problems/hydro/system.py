"""A hydrothermal system: DC network, thermal units, cascaded hydro plants, inflow scenarios.

Units (as in HydroPowerModels.jl): power in per unit of ``base_mva`` (p.u.), volumes in hm3,
turbined and spilled flows and inflows in m3/s, costs per p.u. generated during one stage
(thermal, hydro, deficit) and per hm3 spilled. ``water_coef`` converts a flow held for one
stage into a volume: hm3 per (m3/s) per stage, 0.0036 x stage hours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from orlearn.errors import InvalidInstanceError

_ARRAYS_FLOAT = (
    "bus_load", "line_reactance", "line_limit", "thermal_capacity", "thermal_cost",
    "max_volume", "min_volume", "initial_volume", "max_turbine", "min_turbine", "production",
    "hydro_cost", "spill_cost", "inflows", "scenario_probability",
)
_ARRAYS_INT = ("line_from", "line_to", "thermal_bus", "hydro_bus", "downstream_turbine",
               "downstream_spill")


@dataclass(frozen=True, eq=False)
class HydroSystem:
    """A validated hydrothermal system (buses are 0-based indices; -1 = no downstream plant).

    Attributes:
        name: label.
        bus_load: [buses] demand in p.u.
        line_from, line_to: [lines] end buses; line_reactance [lines] p.u.; line_limit
            [lines] p.u. (``inf`` for none).
        thermal_bus, thermal_capacity (p.u.), thermal_cost (per p.u. per stage): [thermal].
        hydro_names: plant names; hydro_bus [plants].
        max_volume, min_volume, initial_volume: [plants] reservoir volumes in hm3.
        max_turbine, min_turbine: [plants] turbined flow limits in m3/s.
        production: [plants] p.u. generated per m3/s turbined (production factor / base MVA).
        hydro_cost: [plants] cost per p.u. of hydro generation; spill_cost [plants] per hm3.
        downstream_turbine, downstream_spill: [plants] the plant that receives the turbined /
            spilled water, or -1.
        inflows: [table stages, scenarios, plants] m3/s; stage t uses row ``t % table
            stages`` (a cyclic year).
        scenario_probability: [scenarios], sums to 1.
        deficit_cost: per p.u. of unserved load.
        water_coef: hm3 per (m3/s) over one stage.
        ref_bus: the bus whose voltage angle is 0.
        base_mva: MVA per p.u.
    """

    name: str
    bus_load: np.ndarray
    line_from: np.ndarray
    line_to: np.ndarray
    line_reactance: np.ndarray
    line_limit: np.ndarray
    thermal_bus: np.ndarray
    thermal_capacity: np.ndarray
    thermal_cost: np.ndarray
    hydro_names: tuple[str, ...]
    hydro_bus: np.ndarray
    max_volume: np.ndarray
    min_volume: np.ndarray
    initial_volume: np.ndarray
    max_turbine: np.ndarray
    min_turbine: np.ndarray
    production: np.ndarray
    hydro_cost: np.ndarray
    spill_cost: np.ndarray
    downstream_turbine: np.ndarray
    downstream_spill: np.ndarray
    inflows: np.ndarray
    scenario_probability: np.ndarray
    deficit_cost: float
    water_coef: float
    ref_bus: int = 0
    base_mva: float = 100.0
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in _ARRAYS_FLOAT:
            try:
                value = np.array(getattr(self, name), dtype=np.float64)
            except (TypeError, ValueError):
                raise InvalidInstanceError(name, "must be numeric") from None
            object.__setattr__(self, name, value)
        for name in _ARRAYS_INT:
            value = np.asarray(getattr(self, name))
            if value.size and not np.all(np.isfinite(value.astype(float))):
                raise InvalidInstanceError(name, "must hold integers")
            if value.size and not np.all(value == np.round(value)):
                raise InvalidInstanceError(name, "must hold integer indices")
            object.__setattr__(self, name, value.astype(np.int64))
        object.__setattr__(self, "hydro_names", tuple(str(n) for n in self.hydro_names))
        object.__setattr__(self, "notes", tuple(self.notes))
        self.validate()

    # ------------------------------------------------------------------ sizes

    @property
    def n_buses(self) -> int:
        return int(self.bus_load.shape[0])

    @property
    def n_lines(self) -> int:
        return int(self.line_from.shape[0])

    @property
    def n_thermal(self) -> int:
        return int(self.thermal_bus.shape[0])

    @property
    def n_plants(self) -> int:
        return int(self.hydro_bus.shape[0])

    @property
    def n_scenarios(self) -> int:
        return int(self.inflows.shape[1])

    @property
    def table_stages(self) -> int:
        return int(self.inflows.shape[0])

    def stage_inflows(self, stage: int) -> np.ndarray:
        """[scenarios, plants] inflows of ``stage`` (m3/s), cycling through the table."""
        return self.inflows[stage % self.table_stages]

    # ------------------------------------------------------------------ checks

    def validate(self) -> None:
        """Raise :class:`InvalidInstanceError` naming the first bad field."""
        b = self.n_buses
        if b < 1:
            raise InvalidInstanceError("bus_load", "the system needs at least one bus")
        self._vector("bus_load", b, nonneg=True)
        n_lines = self.n_lines
        for name in ("line_to", "line_reactance", "line_limit"):
            self._vector(name, n_lines)
        self._buses("line_from", b)
        self._buses("line_to", b)
        if np.any(self.line_from == self.line_to):
            raise InvalidInstanceError("line_from", "a line connects a bus to itself")
        if np.any(self.line_reactance <= 0):
            raise InvalidInstanceError("line_reactance", "must be > 0 (p.u.)")
        if np.any(np.isnan(self.line_limit)) or np.any(self.line_limit <= 0):
            raise InvalidInstanceError("line_limit", "must be > 0 (p.u.; inf for no limit)")
        g = self.n_thermal
        self._buses("thermal_bus", b)
        self._vector("thermal_capacity", g, nonneg=True)
        self._vector("thermal_cost", g, nonneg=True)
        h = self.n_plants
        if len(self.hydro_names) != h:
            raise InvalidInstanceError("hydro_names", f"expected {h} names, got "
                                                      f"{len(self.hydro_names)}")
        self._buses("hydro_bus", b)
        for name in ("max_volume", "min_volume", "initial_volume", "max_turbine", "min_turbine",
                     "production", "hydro_cost", "spill_cost"):
            self._vector(name, h, nonneg=True)
        for low, high in (("min_volume", "max_volume"), ("min_turbine", "max_turbine")):
            above = getattr(self, low) > getattr(self, high)
            if np.any(above):
                raise InvalidInstanceError(low, f"exceeds {high} for plant {self._first(above)}")
        bad = (self.initial_volume < self.min_volume - 1e-9) | (
            self.initial_volume > self.max_volume + 1e-9)
        if np.any(bad):
            raise InvalidInstanceError(
                "initial_volume", f"plant {self._first(bad)} starts outside [min_volume, "
                                  "max_volume]: an infeasible initial state",
                fix="give an initial volume within the reservoir's limits")
        for name in ("downstream_turbine", "downstream_spill"):
            down = getattr(self, name)
            if down.shape != (h,):
                raise InvalidInstanceError(name, f"expected {h} entries, got shape {down.shape}")
            if np.any((down < -1) | (down >= h)):
                raise InvalidInstanceError(name, f"refers to a plant that does not exist "
                                                 f"(plants 0..{h - 1}, -1 for none)")
            if np.any(down == np.arange(h)):
                raise InvalidInstanceError(name, "a plant flows into itself")
        self._check_acyclic()
        if self.inflows.ndim != 3 or self.inflows.shape[2] != h or self.inflows.shape[0] < 1 \
                or self.inflows.shape[1] < 1:
            raise InvalidInstanceError(
                "inflows", f"expected shape [stages, scenarios, {h} plants], got "
                           f"{self.inflows.shape}", fix="one column per plant and scenario")
        if not np.all(np.isfinite(self.inflows)):
            raise InvalidInstanceError("inflows", "contains NaN or infinite values")
        if np.any(self.inflows < 0):
            raise InvalidInstanceError("inflows", "must be >= 0 (m3/s)")
        p = self.scenario_probability
        if p.shape != (self.n_scenarios,) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
            raise InvalidInstanceError("scenario_probability", f"expected {self.n_scenarios} "
                                                               "non-negative values summing to 1")
        for name in ("deficit_cost", "water_coef", "base_mva"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value <= 0:
                raise InvalidInstanceError(name, f"must be > 0, got {value}")
        if not 0 <= int(self.ref_bus) < b:
            raise InvalidInstanceError("ref_bus", f"must be a bus index in 0..{b - 1}")

    def _vector(self, name: str, n: int, nonneg: bool = False) -> None:
        value = getattr(self, name)
        if value.shape != (n,):
            raise InvalidInstanceError(name, f"expected {n} entries, got shape {value.shape}")
        if np.any(np.isnan(value)):
            raise InvalidInstanceError(name, "contains NaN")
        if nonneg and np.any(value < 0):
            raise InvalidInstanceError(name, f"must be >= 0 (entry {self._first(value < 0)} is "
                                             f"{value[value < 0][0]})")

    def _buses(self, name: str, n_buses: int) -> None:
        value = getattr(self, name)
        if value.ndim != 1 or np.any((value < 0) | (value >= n_buses)):
            raise InvalidInstanceError(name, f"bus indices must lie in 0..{n_buses - 1}")

    @staticmethod
    def _first(mask: np.ndarray) -> int:
        return int(np.flatnonzero(mask)[0])

    def _check_acyclic(self) -> None:
        """Water must leave the system: no cycle through turbined or spilled water (a mixed
        loop, one plant turbining into another that spills back, counts too)."""
        h = self.n_plants
        state = [0] * h  # 0 new, 1 on the current path, 2 done

        def visit(node: int, path: list[int]) -> None:
            state[node] = 1
            for down in (self.downstream_turbine[node], self.downstream_spill[node]):
                down = int(down)
                if down < 0 or state[down] == 2:
                    continue
                if state[down] == 1:
                    loop = [*path[path.index(down):], down] if down in path else [node, down]
                    field = ("downstream_turbine" if self.downstream_turbine[node] == down
                             else "downstream_spill")
                    raise InvalidInstanceError(
                        field, "the cascade has a cycle through plants "
                               f"{[self.hydro_names[i] for i in loop]}",
                        fix="water must flow downstream to an end")
                visit(down, [*path, down])
            state[node] = 2

        for start in range(h):
            if state[start] == 0:
                visit(start, [start])

    # ------------------------------------------------------------------ helpers

    def with_initial_volume(self, volume: Any) -> HydroSystem:
        """The same system with another initial state: an array gives hm3 per plant, a
        scalar the fraction of each reservoir's range (0 = min_volume, 1 = max_volume)."""
        v = np.asarray(volume, dtype=np.float64)
        if v.ndim == 0:
            v = self.min_volume + float(v) * (self.max_volume - self.min_volume)
        return replace(self, initial_volume=v)

    def sample_inflows(self, n_paths: int, stages: int, seed: int = 0,
                       start: int = 0) -> np.ndarray:
        """[n_paths, stages, plants] inflow paths, stage-wise independent: at each stage one
        scenario of the table is drawn (jointly for all plants) with ``scenario_probability``.
        """
        if n_paths < 1 or stages < 1:
            raise InvalidInstanceError("n_paths", "n_paths and stages must be >= 1")
        rng = np.random.default_rng(seed)
        picks = rng.choice(self.n_scenarios, size=(n_paths, stages), p=self.scenario_probability)
        rows = (start + np.arange(stages)) % self.table_stages
        return self.inflows[rows[None, :], picks]

    def summary(self) -> str:
        return (f"{self.name}: {self.n_buses} buses, {self.n_lines} lines, {self.n_thermal} "
                f"thermal, {self.n_plants} hydro plants, load {self.bus_load.sum():.3f} p.u., "
                f"inflow table {self.table_stages} stages x {self.n_scenarios} scenarios")

    # ------------------------------------------------------------------ JSON

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.tolist() if isinstance(value, np.ndarray) else (
                list(value) if isinstance(value, tuple) else value)
        out["line_limit"] = [None if not np.isfinite(x) else x for x in self.line_limit]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HydroSystem:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InvalidInstanceError(unknown[0], "unknown field of a hydro system")
        missing = sorted(n for n in names - set(data)
                         if n not in ("ref_bus", "base_mva", "notes"))
        if missing:
            raise InvalidInstanceError(missing[0], "missing from the hydro system file")
        data = dict(data)
        data["line_limit"] = [np.inf if x is None else x for x in data["line_limit"]]
        return cls(**data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> HydroSystem:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInstanceError("path", f"cannot read {path}: {exc}") from None
        return cls.from_dict(data)
