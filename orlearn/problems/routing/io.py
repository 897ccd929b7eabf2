"""Read and write the standard routing files: TSPLIB, CVRPLIB, tours, solutions, KP JSON.

Formats and conventions:

* **TSPLIB** (``.tsp``, ``.atsp``; Reinelt 1991, see ``TSPLIB95_DOC.pdf``): ``KEY : value``
  header lines (``KEY: value`` too), then ``*_SECTION`` blocks that end at the next keyword,
  an ``EOF`` line or the end of the file. Node ids in the file are 1-based; ours are 0-based
  (file node ``i`` is our index ``i - 1``). Supported ``EDGE_WEIGHT_TYPE``\\ s: ``EUC_2D``,
  ``CEIL_2D``, ``ATT``, ``GEO``, ``EXACT_2D`` (LKH's unrounded Euclidean, used for our
  generated instances) and ``EXPLICIT`` with every TSPLIB matrix ``EDGE_WEIGHT_FORMAT``.
  Distances are in the file's own units (TSPLIB integers for the rounded types, kilometres
  for ``GEO``, unit-square lengths for generated instances). A ``FIXED_EDGES_SECTION``
  (required edges, as in ``linhp318``) is rejected rather than ignored.
* **CVRPLIB** (``.vrp``): TSPLIB plus ``CAPACITY``, ``DEMAND_SECTION`` and ``DEPOT_SECTION``
  (node ids ending with ``-1``). Exactly one depot is supported; it becomes our node 0 and the
  other nodes keep their file order (so with the usual depot-first files, file node ``i`` is
  our index ``i - 1``). Demands and capacity share the file's units.
* **CVRPLIB solutions** (``.sol``): ``Route #k: c1 c2 ...`` lines with customers numbered
  ``1..n`` (the depot is implicit), which are exactly our customer indices, then ``Cost N``.
* **TSPLIB tours** (``.tour``, ``.opt.tour``): ``TOUR_SECTION`` of 1-based node ids ending
  with ``-1``; returned 0-based.
* **Knapsack** instances are JSON objects ``{"type": "KP", "name", "values", "weights",
  "capacity", "optimum"}``.

Any file may be gzip-compressed (a ``.gz`` suffix), for reading and writing. Writers emit
floats with ``repr`` (full precision) and integral numbers as integers, so every writer's file
reads back to an identical instance. A known optimum is written as ``COMMENT : optimum X``
(a comment, so LKH and other TSPLIB readers ignore it) and read back from that comment.

Malformed input raises :class:`~orlearn.errors.InvalidInstanceError` whose ``field`` is the
TSPLIB keyword or section at fault (``DIMENSION``, ``NODE_COORD_SECTION``...) or ``path``,
and whose message names the file.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from orlearn.errors import InvalidInstanceError
from orlearn.problems.routing.instances import (
    CVRPInstance,
    Instance,
    KPInstance,
    TSPInstance,
)

PathLike = str | os.PathLike[str]
"""A file path (``str`` or :class:`pathlib.Path`)."""

COORD_EDGE_WEIGHT_TYPES = ("EUC_2D", "CEIL_2D", "ATT", "GEO", "EXACT_2D")
"""Edge weight types computed from ``NODE_COORD_SECTION``."""

SUPPORTED_EDGE_WEIGHT_TYPES = (*COORD_EDGE_WEIGHT_TYPES, "EXPLICIT")
"""Every ``EDGE_WEIGHT_TYPE`` the readers accept."""

EDGE_WEIGHT_FORMATS = (
    "FULL_MATRIX",
    "UPPER_ROW",
    "LOWER_ROW",
    "UPPER_DIAG_ROW",
    "LOWER_DIAG_ROW",
    "UPPER_COL",
    "LOWER_COL",
    "UPPER_DIAG_COL",
    "LOWER_DIAG_COL",
)
"""Supported ``EDGE_WEIGHT_FORMAT``\\ s of ``EXPLICIT`` instances."""

_KNOWN_SUFFIXES = (".tsp", ".atsp", ".vrp", ".tour", ".sol", ".json")
_OPTIMUM_COMMENT = re.compile(r"^optimum\s*[:=]?\s*(\S+)$", re.IGNORECASE)
_KEYWORD_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$")
_ROUTE_LINE = re.compile(r"^route\s*#?\s*(\d+)\s*:(.*)$", re.IGNORECASE)
_COST_LINE = re.compile(r"^cost\s*:?\s*(\S+)\s*$", re.IGNORECASE)


# ------------------------------------------------------------------------------ file access


def _as_path(path: PathLike) -> Path:
    return Path(os.fspath(path))


def _stem(path: Path) -> str:
    """File name without ``.gz`` and one known suffix (``berlin52.tsp.gz`` -> ``berlin52``)."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    if name.lower().endswith(".opt.tour"):
        return name[: -len(".opt.tour")]
    for suffix in _KNOWN_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _read_text(path: PathLike) -> tuple[Path, str]:
    """The file's text (utf-8, undecodable bytes replaced); gunzips ``.gz`` files."""
    p = _as_path(path)
    if not p.exists():
        raise InvalidInstanceError("path", f"no such file: {p}")
    if p.is_dir():
        raise InvalidInstanceError("path", f"{p} is a directory, not a file")
    try:
        if p.suffix.lower() == ".gz":
            with gzip.open(p, "rb") as handle:
                data = handle.read()
        else:
            data = p.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise InvalidInstanceError("path", f"cannot read {p}: {err}") from err
    return p, data.decode("utf-8", errors="replace")


def _write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (gzip-compressed when the name ends in ``.gz``); returns the path."""
    p = _as_path(path)
    if p.suffix.lower() == ".gz":
        with gzip.open(p, "wt", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    else:
        p.write_text(text, encoding="utf-8", newline="\n")
    return p


def _fmt(value: Any) -> str:
    """A number as text: integral values as integers, others with full precision (repr)."""
    x = float(value)
    if x.is_integer() and abs(x) < 2.0**53:
        return str(int(x))
    return repr(x)


# ------------------------------------------------------------------------------ TSPLIB parsing


@dataclass
class _Section:
    """One ``*_SECTION``: its data lines as ``(line number, tokens)``."""

    name: str
    line: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)

    def tokens(self) -> list[tuple[int, str]]:
        return [(lineno, tok) for lineno, toks in self.rows for tok in toks]


@dataclass
class _TsplibFile:
    """A parsed TSPLIB-style file: header keywords and raw sections."""

    path: Path
    keys: dict[str, str] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    sections: dict[str, _Section] = field(default_factory=dict)

    # -- errors

    def error(self, field_name: str, problem: str, fix: str | None = None) -> InvalidInstanceError:
        return InvalidInstanceError(field_name, f"{problem} in {self.path.name}", fix)

    # -- header values

    def get(self, key: str) -> str | None:
        value = self.keys.get(key)
        return None if value is None else value.strip()

    def word(self, key: str) -> str | None:
        """First token of a keyword's value, upper-cased (``TSP (M.~Hofmeister)`` -> TSP)."""
        value = self.get(key)
        if not value:
            return None
        return value.split()[0].upper()

    def integer(self, key: str, *, required: bool, minimum: int = 1) -> int | None:
        value = self.get(key)
        if value is None or value == "":
            if required:
                raise self.error(key, "missing", f"add a '{key} : <integer>' line")
            return None
        number = _to_int(value)
        if number is None:
            raise self.error(key, f"not an integer: {value!r}")
        if number < minimum:
            raise self.error(key, f"must be >= {minimum}, got {number}")
        return number

    def number(self, key: str, *, required: bool) -> float | None:
        value = self.get(key)
        if value is None or value == "":
            if required:
                raise self.error(key, "missing", f"add a '{key} : <number>' line")
            return None
        try:
            return float(value)
        except ValueError:
            raise self.error(key, f"not a number: {value!r}") from None

    @property
    def name(self) -> str:
        name = (self.get("NAME") or "").strip().strip('"').strip()
        if name:
            for suffix in (".tsp", ".atsp", ".vrp"):
                if name.lower().endswith(suffix):
                    name = name[: -len(suffix)]
        return name or _stem(self.path)

    @property
    def optimum(self) -> float | None:
        """The optimum written by our writers as ``COMMENT : optimum X`` (else None)."""
        for comment in self.comments:
            match = _OPTIMUM_COMMENT.match(comment.strip().strip('"'))
            if match:
                try:
                    value = float(match.group(1))
                except ValueError:
                    raise self.error("COMMENT", f"optimum is not a number: {comment!r}") from None
                if math.isfinite(value):
                    return value
        return None


def _to_int(token: str) -> int | None:
    """``token`` as an int (``"7"``, ``"7.0"``), or None if it is not an integral number."""
    try:
        return int(token)
    except ValueError:
        pass
    try:
        x = float(token)
    except ValueError:
        return None
    return int(x) if math.isfinite(x) and x.is_integer() else None


def _parse_tsplib(path: Path, text: str) -> _TsplibFile:
    """Split a TSPLIB-style text into keywords and sections (no interpretation yet)."""
    parsed = _TsplibFile(path)
    section: _Section | None = None
    saw_content = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        saw_content = True
        tokens = line.split()
        head = tokens[0].rstrip(":").upper()
        if head == "EOF":
            break
        if head.endswith("_SECTION") and head[0].isalpha():
            if head in parsed.sections:
                raise parsed.error(head, f"appears twice (line {lineno})")
            section = _Section(head, lineno)
            parsed.sections[head] = section
            rest = [t for t in tokens[1:] if t != ":"]
            if rest:
                section.rows.append((lineno, rest))
            continue
        match = _KEYWORD_LINE.match(line)
        if match and not _is_number(match.group(1)):
            key, value = match.group(1).upper(), match.group(2).strip()
            section = None
            if key == "COMMENT":
                parsed.comments.append(value)
                parsed.keys.setdefault(key, value)
            elif key in parsed.keys and parsed.keys[key] != value:
                raise parsed.error(
                    key, f"given twice ({parsed.keys[key]!r} and {value!r}, line {lineno})"
                )
            else:
                parsed.keys[key] = value
            continue
        if section is None:
            raise parsed.error(
                "file",
                f"line {lineno}: expected 'KEY : value' or a *_SECTION line, got {line[:60]!r}",
                "is this a TSPLIB/CVRPLIB file?",
            )
        section.rows.append((lineno, tokens))
    if not saw_content:
        raise parsed.error("path", "the file is empty")
    return parsed


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _floats(parsed: _TsplibFile, section: str, items: Sequence[tuple[int, str]]) -> np.ndarray:
    """Tokens as float64; a non-numeric token raises naming its section and line."""
    try:
        return np.array([tok for _, tok in items], dtype=np.float64)
    except ValueError:
        pass
    for lineno, tok in items:
        try:
            float(tok)
        except ValueError:
            raise parsed.error(section, f"line {lineno}: non-numeric entry {tok!r}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _node_table(parsed: _TsplibFile, name: str, n: int, columns: int, what: str) -> np.ndarray:
    """Rows ``id v1 .. v_columns`` of section ``name`` as ``[n, columns]``, ordered by id.

    Node ids must be 1..n, each exactly once; ``what`` describes a row in messages.
    """
    section = parsed.sections[name]
    rows = section.rows
    for lineno, toks in rows:
        if len(toks) != columns + 1:
            raise parsed.error(
                name,
                f"line {lineno}: expected '{what}' ({columns + 1} values), got {len(toks)}: "
                f"{' '.join(toks)[:60]!r}",
            )
    if len(rows) != n:
        hint = "file truncated?" if len(rows) < n else "is DIMENSION too small?"
        raise parsed.error(name, f"expected {n} nodes, found {len(rows)}", hint)
    ids = []
    for lineno, toks in rows:
        node = _to_int(toks[0])
        if node is None:
            raise parsed.error(name, f"line {lineno}: node id {toks[0]!r} is not an integer")
        if not 1 <= node <= n:
            raise parsed.error(name, f"line {lineno}: node id {node} outside 1..{n} (DIMENSION)")
        ids.append(node)
    order = np.asarray(ids) - 1
    counts = np.bincount(order, minlength=n)
    if (counts > 1).any():
        raise parsed.error(name, f"node {int(np.argmax(counts > 1)) + 1} is listed twice")
    values = _floats(parsed, name, [(lineno, tok) for lineno, toks in rows for tok in toks[1:]])
    table = np.empty((n, columns))
    table[order] = values.reshape(n, columns)
    return table


def _coords_section(parsed: _TsplibFile, name: str, n: int) -> np.ndarray:
    """``[n, 2]`` coordinates of ``NODE_COORD_SECTION`` or ``DISPLAY_DATA_SECTION``."""
    coords = _node_table(parsed, name, n, 2, "id x y")
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        node = int(np.argmax(bad)) + 1
        raise parsed.error(name, f"node {node} has a NaN or infinite coordinate")
    return coords


def _dimension(parsed: _TsplibFile, minimum: int) -> int:
    n = parsed.integer("DIMENSION", required=True, minimum=1)
    assert n is not None
    if n < minimum:
        raise parsed.error("DIMENSION", f"must be at least {minimum}, got {n}")
    return n


def _edge_weight_type(parsed: _TsplibFile) -> str:
    value = parsed.word("EDGE_WEIGHT_TYPE")
    if value is None:
        raise parsed.error(
            "EDGE_WEIGHT_TYPE", "missing", f"use one of {', '.join(SUPPORTED_EDGE_WEIGHT_TYPES)}"
        )
    if value not in SUPPORTED_EDGE_WEIGHT_TYPES:
        raise parsed.error(
            "EDGE_WEIGHT_TYPE",
            f"unknown {value!r}; supported: {', '.join(SUPPORTED_EDGE_WEIGHT_TYPES)}",
        )
    return value


def _matrix_indices(fmt: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each successive entry of an ``fmt`` edge weight section.

    Column-wise formats are the transposes of the row-wise ones (``UPPER_COL`` lists the
    same entries in the same order as ``LOWER_ROW``, mirrored), so they map onto them.
    """
    if fmt == "FULL_MATRIX":
        rows, cols = np.divmod(np.arange(n * n), n)
        return rows, cols
    base = {
        "UPPER_ROW": ("upper", 1),
        "LOWER_ROW": ("lower", -1),
        "UPPER_DIAG_ROW": ("upper", 0),
        "LOWER_DIAG_ROW": ("lower", 0),
        "UPPER_COL": ("lower", -1),
        "LOWER_COL": ("upper", 1),
        "UPPER_DIAG_COL": ("lower", 0),
        "LOWER_DIAG_COL": ("upper", 0),
    }[fmt]
    kind, k = base
    rows, cols = np.triu_indices(n, k) if kind == "upper" else np.tril_indices(n, k)
    if fmt.endswith("_COL"):
        rows, cols = cols, rows
    return rows, cols


def _edge_weights(parsed: _TsplibFile, n: int) -> np.ndarray:
    """The ``[n, n]`` matrix of an ``EXPLICIT`` instance (triangular formats mirrored)."""
    fmt = parsed.word("EDGE_WEIGHT_FORMAT")
    if fmt is None:
        raise parsed.error(
            "EDGE_WEIGHT_FORMAT",
            "missing (EDGE_WEIGHT_TYPE EXPLICIT needs one)",
            f"use one of {', '.join(EDGE_WEIGHT_FORMATS)}",
        )
    if fmt not in EDGE_WEIGHT_FORMATS:
        raise parsed.error(
            "EDGE_WEIGHT_FORMAT",
            f"unsupported {fmt!r}; supported: {', '.join(EDGE_WEIGHT_FORMATS)}",
        )
    if "EDGE_WEIGHT_SECTION" not in parsed.sections:
        raise parsed.error("EDGE_WEIGHT_SECTION", "missing (EDGE_WEIGHT_TYPE EXPLICIT needs one)")
    items = parsed.sections["EDGE_WEIGHT_SECTION"].tokens()
    rows, cols = _matrix_indices(fmt, n)
    if len(items) != len(rows):
        hint = "file truncated?" if len(items) < len(rows) else "wrong DIMENSION or format?"
        raise parsed.error(
            "EDGE_WEIGHT_SECTION",
            f"expected {len(rows)} weights ({fmt}, DIMENSION {n}), found {len(items)}",
            hint,
        )
    weights = _floats(parsed, "EDGE_WEIGHT_SECTION", items)
    matrix = np.zeros((n, n))
    matrix[rows, cols] = weights
    if fmt != "FULL_MATRIX":
        matrix[cols, rows] = weights
    return matrix


def _geometry(parsed: _TsplibFile, n: int, ewt: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(coords, distances)``: coordinates (or display coordinates) and an explicit matrix."""
    has_coords = "NODE_COORD_SECTION" in parsed.sections
    if ewt != "EXPLICIT":
        if not has_coords:
            raise parsed.error(
                "NODE_COORD_SECTION", f"missing (EDGE_WEIGHT_TYPE {ewt} needs coordinates)"
            )
        return _coords_section(parsed, "NODE_COORD_SECTION", n), None
    distances = _edge_weights(parsed, n)
    coords = None
    if has_coords:
        coords = _coords_section(parsed, "NODE_COORD_SECTION", n)
    elif "DISPLAY_DATA_SECTION" in parsed.sections:
        coords = _coords_section(parsed, "DISPLAY_DATA_SECTION", n)
    return coords, distances


def _coord_section(parsed: _TsplibFile) -> str:
    """The section the instance's coordinates came from (for error messages)."""
    for name in ("NODE_COORD_SECTION", "DISPLAY_DATA_SECTION"):
        if name in parsed.sections:
            return name
    return "DIMENSION"


_FIELD_TO_SECTION = {
    "coords": "NODE_COORD_SECTION",
    "distances": "EDGE_WEIGHT_SECTION",
    "demands": "DEMAND_SECTION",
    "capacity": "CAPACITY",
    "n_vehicles": "VEHICLES",
    "edge_weight_type": "EDGE_WEIGHT_TYPE",
    "optimum": "COMMENT",
}


def _build(parsed: _TsplibFile, cls: type[Any], coord_section: str, **kwargs: Any) -> Any:
    """Construct ``cls(**kwargs)``, renaming validation fields after the file's sections."""
    try:
        return cls(**kwargs)
    except InvalidInstanceError as err:
        name = _FIELD_TO_SECTION.get(err.field, err.field)
        if err.field == "coords":
            name = coord_section
        raise parsed.error(name, err.problem, err.fix) from err


def _check_type(parsed: _TsplibFile, allowed: tuple[str, ...], reader: str) -> str | None:
    """The file's TYPE (None if absent); raise if it is not one ``reader`` handles."""
    kind = parsed.word("TYPE")
    if kind is None or kind in allowed:
        return kind
    other = {
        "TSP": "read_tsplib",
        "ATSP": "read_tsplib",
        "CVRP": "read_vrplib",
        "TOUR": "read_tour",
    }.get(kind)
    fix = f"use {other}" if other else "supported: TSP, ATSP, CVRP"
    raise parsed.error("TYPE", f"{kind!r} is not a {'/'.join(allowed)} file for {reader}", fix)


def _tsp_from(parsed: _TsplibFile) -> TSPInstance:
    _check_type(parsed, ("TSP", "ATSP"), "read_tsplib")
    if "FIXED_EDGES_SECTION" in parsed.sections:
        # e.g. TSPLIB's linhp318: lin318 with edge 1-214 fixed, whose listed optimum (41,345)
        # is that of a Hamiltonian path; a plain tour would be scored against the wrong problem
        raise parsed.error(
            "FIXED_EDGES_SECTION", "fixed (required) edges are not supported",
            "remove the section to solve the plain TSP, whose optimum differs")
    n = _dimension(parsed, 3)
    ewt = _edge_weight_type(parsed)
    coords, distances = _geometry(parsed, n, ewt)
    return _build(
        parsed,
        TSPInstance,
        _coord_section(parsed),
        coords=coords,
        distances=distances,
        edge_weight_type=ewt,
        name=parsed.name,
        optimum=parsed.optimum,
    )


def _cvrp_from(parsed: _TsplibFile) -> CVRPInstance:
    _check_type(parsed, ("CVRP",), "read_vrplib")
    for key in ("DISTANCE", "SERVICE_TIME"):
        if parsed.get(key) is not None:
            raise parsed.error(
                key, "route-length limits and service times are not supported", "CVRP only"
            )
    n = _dimension(parsed, 2)
    ewt = _edge_weight_type(parsed)
    capacity = parsed.number("CAPACITY", required=True)
    assert capacity is not None
    if not math.isfinite(capacity) or capacity <= 0:
        raise parsed.error("CAPACITY", f"must be positive, got {parsed.get('CAPACITY')!r}")
    vehicles = parsed.integer("VEHICLES", required=False)
    coords, distances = _geometry(parsed, n, ewt)

    if "DEMAND_SECTION" not in parsed.sections:
        raise parsed.error("DEMAND_SECTION", "missing", "a CVRP file needs customer demands")
    demands = _node_table(parsed, "DEMAND_SECTION", n, 1, "id demand")[:, 0]
    depot = _depot(parsed, n)
    if not np.isfinite(demands).all():
        node = int(np.argmax(~np.isfinite(demands))) + 1
        raise parsed.error("DEMAND_SECTION", f"node {node} has a NaN or infinite demand")
    if demands[depot] != 0:
        raise parsed.error(
            "DEMAND_SECTION", f"the depot (node {depot + 1}) has demand {demands[depot]:g}, not 0"
        )
    if (demands < 0).any():
        node = int(np.argmax(demands < 0))
        raise parsed.error(
            "DEMAND_SECTION", f"node {node + 1} has a negative demand {demands[node]:g}"
        )
    if (demands > capacity).any():
        node = int(np.argmax(demands > capacity))
        raise parsed.error(
            "DEMAND_SECTION",
            f"node {node + 1} demands {demands[node]:g} > CAPACITY {capacity:g}",
            "no vehicle can serve it",
        )
    order = np.array([depot, *(i for i in range(n) if i != depot)])
    if coords is not None:
        coords = coords[order]
    if distances is not None:
        distances = distances[np.ix_(order, order)]
    return _build(
        parsed,
        CVRPInstance,
        _coord_section(parsed),
        coords=coords,
        demands=demands[order],
        capacity=capacity,
        distances=distances,
        edge_weight_type=ewt,
        name=parsed.name,
        optimum=parsed.optimum,
        n_vehicles=vehicles,
    )


def _depot(parsed: _TsplibFile, n: int) -> int:
    """The 0-based index of the single depot listed in ``DEPOT_SECTION``."""
    if "DEPOT_SECTION" not in parsed.sections:
        raise parsed.error("DEPOT_SECTION", "missing", "list the depot's node id, then -1")
    depots: list[int] = []
    items = parsed.sections["DEPOT_SECTION"].tokens()
    for k, (lineno, tok) in enumerate(items):
        node = _to_int(tok)
        if node is None:
            raise parsed.error("DEPOT_SECTION", f"line {lineno}: {tok!r} is not a node id")
        if node == -1:
            if k != len(items) - 1:
                raise parsed.error(
                    "DEPOT_SECTION",
                    f"line {lineno}: unexpected entries after the -1 terminator",
                    "depot coordinates instead of a node id are not supported",
                )
            break
        if not 1 <= node <= n:
            raise parsed.error(
                "DEPOT_SECTION", f"line {lineno}: depot node {node} outside 1..{n} (DIMENSION)"
            )
        depots.append(node)
    if len(depots) != 1:
        shown = ", ".join(map(str, depots[:5])) + (", ..." if len(depots) > 5 else "")
        raise parsed.error(
            "DEPOT_SECTION",
            f"expected exactly one depot, found {len(depots)} ({shown or 'none'})",
            "only single-depot CVRP is supported",
        )
    return depots[0] - 1


# ------------------------------------------------------------------------------ public readers


def read_tsplib(path: PathLike) -> TSPInstance:
    """Read a TSPLIB ``.tsp`` / ``.atsp`` file (optionally ``.gz``) into a :class:`TSPInstance`.

    Coordinate types (``EUC_2D``, ``CEIL_2D``, ``ATT``, ``GEO``, ``EXACT_2D``) keep the
    coordinates and the type, and distances follow TSPLIB's rounding; ``EXPLICIT`` files keep
    the matrix as written, triangular formats mirrored (``distances[i, j]`` with 0-based
    ``i = file node - 1``; an ATSP's diagonal is kept as written, e.g. 9999), plus
    ``NODE_COORD_SECTION`` or ``DISPLAY_DATA_SECTION`` coordinates for plotting when present.
    The name is the ``NAME`` value (without a ``.tsp`` suffix), else the file stem.

    Raises:
        InvalidInstanceError: file missing or malformed; ``field`` names the keyword/section.
    """
    p, text = _read_text(path)
    return _tsp_from(_parse_tsplib(p, text))


def read_vrplib(path: PathLike) -> CVRPInstance:
    """Read a CVRPLIB / TSPLIB ``.vrp`` file (optionally ``.gz``) into a :class:`CVRPInstance`.

    Needs ``CAPACITY``, ``DEMAND_SECTION`` and a ``DEPOT_SECTION`` with exactly one depot,
    which becomes node 0 (the other nodes keep their file order). ``EUC_2D`` (CVRPLIB's X set:
    distances rounded to the nearest integer), ``EXACT_2D``, ``CEIL_2D``, ``ATT``, ``GEO`` and
    ``EXPLICIT`` weights are supported; an optional ``VEHICLES`` sets a fixed fleet size.
    Route-length limits (``DISTANCE``) and ``SERVICE_TIME`` are rejected.

    Raises:
        InvalidInstanceError: file missing or malformed (negative demand, demand above the
            capacity, depot demand not 0, ...); ``field`` names the keyword/section.
    """
    p, text = _read_text(path)
    return _cvrp_from(_parse_tsplib(p, text))


def read_tour(path: PathLike) -> np.ndarray:
    """Read a TSPLIB ``.tour`` / ``.opt.tour`` file: the 0-based city order ``[n]`` (int64).

    The ``TOUR_SECTION`` lists 1-based node ids and ends with ``-1`` (or the section's end);
    only the first tour of the file is read. The ids must be distinct and, when the file has a
    ``DIMENSION``, exactly ``1..DIMENSION``.
    """
    p, text = _read_text(path)
    parsed = _parse_tsplib(p, text)
    kind = parsed.word("TYPE")
    if kind is not None and kind != "TOUR":
        fix = {"TSP": "use read_tsplib", "ATSP": "use read_tsplib", "CVRP": "use read_vrplib"}
        raise parsed.error("TYPE", f"{kind!r} is not a TOUR file", fix.get(kind))
    if "TOUR_SECTION" not in parsed.sections:
        raise parsed.error("TOUR_SECTION", "missing")
    nodes: list[int] = []
    for lineno, tok in parsed.sections["TOUR_SECTION"].tokens():
        node = _to_int(tok)
        if node is None:
            raise parsed.error("TOUR_SECTION", f"line {lineno}: {tok!r} is not a node id")
        if node == -1:
            break
        if node < 1:
            raise parsed.error("TOUR_SECTION", f"line {lineno}: node id {node} < 1")
        nodes.append(node)
    n = parsed.integer("DIMENSION", required=False)
    tour = np.asarray(nodes, dtype=np.int64) - 1
    expected = len(tour) if n is None else n
    if len(tour) != expected:
        hint = "file truncated?" if len(tour) < expected else None
        raise parsed.error("TOUR_SECTION", f"expected {expected} nodes, found {len(tour)}", hint)
    if not np.array_equal(np.sort(tour), np.arange(expected)):
        counts = np.bincount(tour)
        problem = (
            f"node {int(np.argmax(counts > 1)) + 1} is visited twice"
            if (counts > 1).any()
            else f"not a permutation of 1..{expected}"
        )
        raise parsed.error("TOUR_SECTION", problem)
    return tour


def read_vrplib_solution(path: PathLike) -> tuple[list[np.ndarray], float | None]:
    """Read a CVRPLIB ``.sol`` file: ``(routes, cost)``.

    ``routes`` holds one int64 array per ``Route #k:`` line (in file order), customers numbered
    ``1..n`` as in the file, which are our customer indices (depot 0 implicit, see the module
    docstring); ``cost`` is the ``Cost`` line's value, or None without one. Other lines (e.g.
    ``Time 12.3``) are ignored.
    """
    p, text = _read_text(path)
    routes: list[np.ndarray] = []
    cost: float | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        route = _ROUTE_LINE.match(line)
        if route:
            customers = []
            for tok in route.group(2).split():
                node = _to_int(tok)
                if node is None or node < 1:
                    raise InvalidInstanceError(
                        "routes",
                        f"line {lineno}: {tok!r} is not a customer number >= 1 in {p.name}",
                        "the depot is implicit and not listed",
                    )
                customers.append(node)
            routes.append(np.asarray(customers, dtype=np.int64))
            continue
        found = _COST_LINE.match(line)
        if found:
            try:
                cost = float(found.group(1))
            except ValueError:
                raise InvalidInstanceError(
                    "cost", f"line {lineno}: not a number: {found.group(1)!r} in {p.name}"
                ) from None
    if not routes:
        raise InvalidInstanceError(
            "routes", f"no 'Route #k: ...' lines in {p.name}", "is this a CVRPLIB .sol file?"
        )
    return routes, cost


def read_kp_json(path: PathLike) -> KPInstance:
    """Read a knapsack JSON file ``{"values", "weights", "capacity", "name", "optimum"}``.

    ``values`` and ``weights`` are per-item lists; ``name`` (default: the file stem) and
    ``optimum`` (the best total value, or null) are optional; a ``type`` other than ``KP`` is
    rejected.
    """
    p, text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInstanceError("path", f"{p.name} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise InvalidInstanceError("path", f"{p.name}: expected a JSON object")
    kind = data.get("type", "KP")
    if str(kind).upper() != "KP":
        raise InvalidInstanceError("type", f"{kind!r} is not a knapsack (KP) file: {p.name}")
    for key in ("values", "weights", "capacity"):
        if key not in data:
            raise InvalidInstanceError(key, f"missing in {p.name}")
    try:
        values = np.asarray(data["values"], dtype=np.float64)
        weights = np.asarray(data["weights"], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidInstanceError(
            "values", f"values and weights must be lists of numbers in {p.name}"
        ) from err
    capacity, optimum = data["capacity"], data.get("optimum")
    for key, value in (("capacity", capacity), ("optimum", optimum)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidInstanceError(key, f"must be a number, got {value!r} in {p.name}")
    name = data.get("name") or _stem(p)
    return KPInstance(values, weights, capacity, name=str(name), optimum=optimum)


def read_instance(path: PathLike) -> Instance:
    """Read any supported instance file, dispatching on its content.

    A JSON object is a knapsack (:func:`read_kp_json`); otherwise the TSPLIB ``TYPE`` decides
    (``TSP``/``ATSP`` -> :func:`read_tsplib`, ``CVRP`` -> :func:`read_vrplib`), or, without a
    ``TYPE``, a ``DEMAND_SECTION`` means CVRP and anything else TSP.
    """
    p, text = _read_text(path)
    if text.lstrip().startswith("{"):
        return read_kp_json(p)
    parsed = _parse_tsplib(p, text)
    kind = parsed.word("TYPE")
    if kind is None:
        kind = "CVRP" if "DEMAND_SECTION" in parsed.sections else "TSP"
    if kind in ("TSP", "ATSP"):
        return _tsp_from(parsed)
    if kind == "CVRP":
        return _cvrp_from(parsed)
    fix = "use read_tour" if kind == "TOUR" else "supported: TSP, ATSP, CVRP, or a KP .json"
    raise parsed.error("TYPE", f"unsupported {kind!r}", fix)


def load_optima(csv_path: PathLike) -> dict[str, float]:
    """Read a ``name,optimum[,source]`` CSV into ``{name: optimum}``.

    Optimal or best-known objective values in the instances' own units (tour length, total
    route distance, total value). Blank lines are skipped; a name listed twice with different
    values is an error.
    """
    p, text = _read_text(csv_path)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "name" not in header or "optimum" not in header:
        raise InvalidInstanceError(
            "header", f"{p.name} needs 'name' and 'optimum' columns, got {header}"
        )
    reader.fieldnames = header
    optima: dict[str, float] = {}
    for row in reader:
        name = (row.get("name") or "").strip()
        raw = (row.get("optimum") or "").strip()
        if not name and not raw:
            continue
        lineno = reader.line_num
        if not name:
            raise InvalidInstanceError("name", f"line {lineno} of {p.name}: empty name")
        try:
            value = float(raw)
        except ValueError:
            raise InvalidInstanceError(
                "optimum", f"line {lineno} of {p.name}: {raw!r} is not a number"
            ) from None
        if not math.isfinite(value):
            raise InvalidInstanceError("optimum", f"line {lineno} of {p.name}: not finite")
        if name in optima and optima[name] != value:
            raise InvalidInstanceError(
                "name", f"{name!r} listed twice with {optima[name]:g} and {value:g} in {p.name}"
            )
        optima[name] = value
    return optima


# ------------------------------------------------------------------------------ writers


def _header(pairs: Iterable[tuple[str, Any]]) -> list[str]:
    return [f"{key} : {value}" for key, value in pairs if value is not None]


def _clean_name(name: str, path: Path) -> str:
    name = " ".join(str(name).split())
    return name or _stem(path)


def _coord_lines(coords: np.ndarray) -> list[str]:
    return [f"{i} {_fmt(x)} {_fmt(y)}" for i, (x, y) in enumerate(coords, start=1)]


def _matrix_lines(matrix: np.ndarray) -> list[str]:
    return [" ".join(_fmt(v) for v in row) for row in matrix]


def _geometry_lines(
    coords: np.ndarray | None, distances: np.ndarray | None, ewt: str
) -> tuple[list[tuple[str, Any]], list[str]]:
    """Header keywords and section lines for coordinates or an explicit matrix."""
    if distances is None:
        assert coords is not None
        return [("EDGE_WEIGHT_TYPE", ewt)], ["NODE_COORD_SECTION", *_coord_lines(coords)]
    keys: list[tuple[str, Any]] = [
        ("EDGE_WEIGHT_TYPE", "EXPLICIT"),
        ("EDGE_WEIGHT_FORMAT", "FULL_MATRIX"),
        ("DISPLAY_DATA_TYPE", "NO_DISPLAY" if coords is None else "TWOD_DISPLAY"),
    ]
    lines = ["EDGE_WEIGHT_SECTION", *_matrix_lines(distances)]
    if coords is not None:
        lines += ["DISPLAY_DATA_SECTION", *_coord_lines(coords)]
    return keys, lines


def _optimum_comment(optimum: float | None) -> str | None:
    return None if optimum is None else f"optimum {_fmt(optimum)}"


def write_tsplib(instance: TSPInstance, path: PathLike) -> Path:
    """Write ``instance`` as a TSPLIB file that :func:`read_tsplib` reads back identically.

    Coordinate instances keep their ``EDGE_WEIGHT_TYPE`` (generated ones are ``EXACT_2D``)
    and full-precision coordinates; ``EXPLICIT`` ones are written as ``FULL_MATRIX`` (with
    ``TYPE : ATSP`` when asymmetric) plus a ``DISPLAY_DATA_SECTION`` when they have coordinates.
    A known optimum goes into ``COMMENT : optimum X``. Returns the path written.
    """
    if not isinstance(instance, TSPInstance):
        raise InvalidInstanceError("instance", f"expected a TSPInstance, got {type(instance)}")
    p = _as_path(path)
    kind = "TSP" if instance.distances is None or instance.symmetric else "ATSP"
    keys, lines = _geometry_lines(instance.coords, instance.distances, instance.edge_weight_type)
    header = _header(
        [
            ("NAME", _clean_name(instance.name, p)),
            ("COMMENT", _optimum_comment(instance.optimum)),
            ("TYPE", kind),
            ("DIMENSION", instance.n),
            *keys,
        ]
    )
    return _write_text(p, "\n".join([*header, *lines, "EOF", ""]))


def write_vrplib(instance: CVRPInstance, path: PathLike) -> Path:
    """Write ``instance`` as a CVRPLIB ``.vrp`` file that :func:`read_vrplib` reads back.

    The depot is file node 1 (``DEPOT_SECTION`` ``1 -1``) and our node ``i`` is file node
    ``i + 1``; a fixed fleet is written as ``VEHICLES``, a known optimum as
    ``COMMENT : optimum X``. Returns the path written.
    """
    if not isinstance(instance, CVRPInstance):
        raise InvalidInstanceError("instance", f"expected a CVRPInstance, got {type(instance)}")
    p = _as_path(path)
    keys, lines = _geometry_lines(instance.coords, instance.distances, instance.edge_weight_type)
    header = _header(
        [
            ("NAME", _clean_name(instance.name, p)),
            ("COMMENT", _optimum_comment(instance.optimum)),
            ("TYPE", "CVRP"),
            ("DIMENSION", instance.n + 1),
            ("VEHICLES", instance.n_vehicles),
            *keys,
            ("CAPACITY", _fmt(instance.capacity)),
        ]
    )
    demand_lines = [f"{i} {_fmt(d)}" for i, d in enumerate(instance.demands, start=1)]
    body = [*lines, "DEMAND_SECTION", *demand_lines, "DEPOT_SECTION", "1", "-1", "EOF", ""]
    return _write_text(p, "\n".join([*header, *body]))


def write_tour(tour: Any, path: PathLike, name: str | None = None) -> Path:
    """Write a 0-based tour as a TSPLIB ``.tour`` file (1-based ids, ``-1``, ``EOF``).

    ``tour`` must be a permutation of ``0..n-1``; ``name`` defaults to the file stem.
    Returns the path written.
    """
    arr = np.asarray(tour)
    if arr.ndim != 1 or len(arr) == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise InvalidInstanceError(
            "tour", f"expected a 1-d array of integer city indices, got {arr.dtype} {arr.shape}"
        )
    if not np.array_equal(np.sort(arr), np.arange(len(arr))):
        raise InvalidInstanceError("tour", f"not a permutation of 0..{len(arr) - 1}")
    p = _as_path(path)
    header = _header(
        [("NAME", _clean_name(name or "", p)), ("TYPE", "TOUR"), ("DIMENSION", len(arr))]
    )
    body = ["TOUR_SECTION", *(str(int(c) + 1) for c in arr), "-1", "EOF", ""]
    return _write_text(p, "\n".join([*header, *body]))


def write_vrplib_solution(routes: Sequence[Any], cost: float | None, path: PathLike) -> Path:
    """Write routes (customer lists, depot 0 implicit) and a cost as a CVRPLIB ``.sol`` file.

    Route ``k`` (1-based) becomes ``Route #k: c1 c2 ...``; ``cost`` (omitted when None) the
    ``Cost`` line. Returns the path written.
    """
    lines = []
    for k, route in enumerate(routes, start=1):
        arr = np.asarray(route).reshape(-1)
        if len(arr) and (not np.issubdtype(arr.dtype, np.integer) or (arr < 1).any()):
            raise InvalidInstanceError(
                "routes",
                f"route {k - 1} must hold integer customer indices >= 1",
                "the depot 0 is implicit",
            )
        lines.append(f"Route #{k}: " + " ".join(str(int(c)) for c in arr))
    if not lines:
        raise InvalidInstanceError("routes", "no routes to write")
    if cost is not None:
        if not math.isfinite(float(cost)):
            raise InvalidInstanceError("cost", f"must be finite, got {cost!r}")
        lines.append(f"Cost {_fmt(cost)}")
    return _write_text(path, "\n".join([*lines, ""]))


def write_kp_json(instance: KPInstance, path: PathLike) -> Path:
    """Write a knapsack as JSON (``type``, ``name``, ``capacity``, ``optimum``, ``values``,
    ``weights``; floats round-trip exactly). Returns the path written."""
    if not isinstance(instance, KPInstance):
        raise InvalidInstanceError("instance", f"expected a KPInstance, got {type(instance)}")
    data = {
        "type": "KP",
        "name": instance.name,
        "capacity": float(instance.capacity),
        "optimum": None if instance.optimum is None else float(instance.optimum),
        "values": instance.values.tolist(),
        "weights": instance.weights.tolist(),
    }
    return _write_text(path, json.dumps(data) + "\n")


def write_instance(instance: Instance, path: PathLike) -> Path:
    """Write any instance in its format: TSPLIB, CVRPLIB or KP JSON. Returns the path."""
    if isinstance(instance, TSPInstance):
        return write_tsplib(instance, path)
    if isinstance(instance, CVRPInstance):
        return write_vrplib(instance, path)
    if isinstance(instance, KPInstance):
        return write_kp_json(instance, path)
    raise InvalidInstanceError(
        "instance", f"cannot write {type(instance).__name__}", "expected TSP, CVRP or KP"
    )


def write_solution(solution: Any, path: PathLike) -> Path:
    """Write a routing ``Solution``: a TSPLIB ``.tour`` (TSP/ATSP), a CVRPLIB ``.sol``
    (CVRP) or a JSON list of chosen items (KP), whatever the suffix of ``path``."""
    if solution.tour is not None:
        return write_tour(solution.tour, path, name=solution.instance.name or None)
    if solution.routes is not None:
        return write_vrplib_solution(solution.routes, solution.objective, path)
    if solution.items is not None:
        document = {"name": solution.instance.name, "method": solution.method,
                    "items": [int(i) for i in solution.items],
                    "value": float(solution.objective)}
        return _write_text(path, json.dumps(document, indent=2) + "\n")
    raise InvalidInstanceError("solution", "holds no tour, routes or items to write")


__all__ = [
    "COORD_EDGE_WEIGHT_TYPES",
    "EDGE_WEIGHT_FORMATS",
    "SUPPORTED_EDGE_WEIGHT_TYPES",
    "PathLike",
    "load_optima",
    "read_instance",
    "read_kp_json",
    "read_tour",
    "read_tsplib",
    "read_vrplib",
    "read_vrplib_solution",
    "write_instance",
    "write_kp_json",
    "write_solution",
    "write_tour",
    "write_tsplib",
    "write_vrplib",
    "write_vrplib_solution",
]
