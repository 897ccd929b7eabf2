"""BQ-NCO: the bisimulation-quotiented MDP, its attention policy, and batched decoding.

Drakulic et al. (NeurIPS 2023) observe that a partial solution of a routing problem matters
only through the *remaining sub-problem* it leaves, so a policy that looks at that sub-problem
alone (the bisimulation quotient of the constructive MDP) sees the same kind of input at
every step and generalises across sizes. The policy re-encodes the remaining sub-problem from
scratch at every step with a transformer encoder (ReZero residuals, no LayerNorm, no
decoder, :class:`orlearn.nn.AttentionEncoder`) and scores its tokens.

Reduced states (tokens) and actions:

* **TSP**: ``[current city, remaining cities..., destination]`` where the destination is the
  tour's first city; token features ``(x, y, is_origin, is_destination)``. The two flags
  enter through the input projection, which is the same as the paper's learned "origin" and
  "destination" embeddings added to the first and last tokens. Action: a remaining city.
* **CVRP**: ``[current node, remaining customers..., depot]``; features
  ``(x, y, demand / C, remaining capacity / C, is_origin, is_depot)``. Two actions per
  customer: go directly (masked when its demand exceeds the remaining capacity) or go via the
  depot (refill first; masked while the vehicle is at the depot).
* **KP**: the remaining items with features ``(value, weight, weight / R, R / W)`` where ``R``
  is the remaining capacity and ``W`` the total weight of the remaining items (the
  problem is invariant to scaling weights and capacity together); items heavier than ``R``
  are masked. Decoding stops when no item fits.

Coordinates of every TSP/CVRP sub-problem are translated and scaled into the unit square
(the problems are invariant to both), so that the k-nearest-neighbour windows used on large
instances look like the size-100 training sub-problems.

Decoding is batched over instances (and beams) and runs on the model's device (CUDA when
available). ``beam=1`` is greedy; wider beams keep the ``beam`` partial solutions of highest
log-probability and return the cheapest complete one. ``knn=k`` scores only the ``k``
remaining nodes nearest to the current one (the paper uses k = 250 at 1,000 nodes).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from orlearn.errors import CheckpointError, ConfigError, InvalidInstanceError
from orlearn.nn.layers import AttentionEncoder

PROBLEMS = ("tsp", "cvrp", "kp")
TOKEN_FEATURES = {"tsp": 4, "cvrp": 6, "kp": 4}
"""Input features per token of each problem's reduced state."""

PRETRAINED = {"tsp": "routing-tsp100", "cvrp": "routing-cvrp100", "kp": "routing-kp200"}
"""Shipped checkpoint of each problem (``orlearn/pretrained/<name>.safetensors``)."""

_NEG = -1e9


class BQPolicy(nn.Module):
    """Transformer encoder over the reduced state's tokens, one linear scoring head.

    Args:
        problem: ``"tsp"``, ``"cvrp"`` or ``"kp"`` (fixes the token features and the
            number of actions per token: 2 for CVRP, 1 otherwise).
        dim, layers, heads, ff_dim, dropout: encoder shape (the paper: 192, 9, 12, 512).

    ``forward(tokens [B, N, F], padding_mask [B, N] | None) -> logits [B, N, A]``.
    """

    def __init__(
        self,
        problem: str,
        dim: int = 128,
        layers: int = 6,
        heads: int = 8,
        ff_dim: int = 512,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if problem not in PROBLEMS:
            raise ConfigError(f"problem must be one of {PROBLEMS}, got {problem!r}")
        self.problem = problem
        self.encoder = AttentionEncoder(TOKEN_FEATURES[problem], dim, layers, heads, ff_dim,
                                        dropout)
        self.n_actions = 2 if problem == "cvrp" else 1
        self.head = nn.Linear(dim, self.n_actions)

    def forward(self, tokens: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """Score every token's actions: ``[B, N, F] -> [B, N, A]``."""
        return self.head(self.encoder(tokens, padding_mask))

    def architecture(self) -> dict[str, Any]:
        """``{"class", "kwargs"}`` to rebuild this module from a checkpoint."""
        enc = self.encoder
        return {
            "class": type(self).__name__,
            "kwargs": {
                "problem": self.problem,
                "dim": enc.dim,
                "layers": enc.num_layers,
                "heads": enc.heads,
                "ff_dim": enc.ff_dim,
                "dropout": enc.dropout,
            },
        }


def build_model(config: dict[str, Any]) -> BQPolicy:
    """Rebuild a :class:`BQPolicy` from a checkpoint config; refuse other architectures."""
    arch = config.get("architecture") or {}
    if arch.get("class") != "BQPolicy":
        raise CheckpointError(f"checkpoint holds a {arch.get('class')!r}, not a BQPolicy")
    return BQPolicy(**dict(arch.get("kwargs") or {}))


def load_policy(
    name_or_path: str | Path | None = None,
    problem: str | None = None,
    *,
    device: str | torch.device | None = None,
) -> BQPolicy:
    """Load a BQ policy from a checkpoint stem or a shipped name; check it fits ``problem``.

    ``name_or_path=None`` takes the shipped checkpoint of ``problem`` (:data:`PRETRAINED`).
    A checkpoint trained for another problem raises :class:`CheckpointError`.
    """
    from orlearn.nn import list_pretrained, load, load_checkpoint
    from orlearn.nn.training import get_device

    if name_or_path is None:
        if problem not in PRETRAINED:
            raise ConfigError(f"no shipped BQ checkpoint for problem {problem!r}")
        name_or_path = PRETRAINED[problem]
    name = str(name_or_path)
    dev = get_device(device)
    if name in list_pretrained():
        model, _ = load(name, build_model, map_location=dev)
    else:
        stem = Path(name)
        if stem.suffix in (".json", ".safetensors"):
            stem = stem.with_suffix("")
        if not stem.with_name(stem.name + ".json").exists():
            shipped = ", ".join(n for n in list_pretrained() if n.startswith("routing")) or "none"
            raise CheckpointError(
                f"no checkpoint {name!r}: neither a file stem nor a shipped name "
                f"(shipped: {shipped})"
            )
        _, config = load_checkpoint(stem)
        model = build_model(config).to(dev)
        load_checkpoint(stem, model, map_location=dev)
    assert isinstance(model, BQPolicy)
    if problem is not None and model.problem != problem:
        raise CheckpointError(
            f"checkpoint {name!r} is a {model.problem.upper()} policy, not {problem.upper()}; "
            f"use a {problem} checkpoint (shipped: {PRETRAINED.get(problem)})"
        )
    model.eval()
    return model


# ----------------------------------------------------------------------------- token builders


def _normalise(xy: Tensor) -> Tensor:
    """Translate and scale each row's points ``[B, N, 2]`` into the unit square."""
    low = xy.amin(dim=1, keepdim=True)
    span = (xy.amax(dim=1, keepdim=True) - low).amax(dim=-1, keepdim=True).clamp_min(1e-9)
    return (xy - low) / span


def tsp_tokens(xy: Tensor) -> Tensor:
    """TSP tokens ``[B, N, 4]`` from ``xy [B, N, 2]`` ordered origin, remaining..., destination."""
    b, n, _ = xy.shape
    flags = xy.new_zeros(b, n, 2)
    flags[:, 0, 0] = 1.0
    flags[:, -1, 1] = 1.0
    return torch.cat([_normalise(xy), flags], dim=-1)


def cvrp_tokens(xy: Tensor, demand: Tensor, remaining: Tensor) -> Tensor:
    """CVRP tokens ``[B, N, 6]``: ``xy [B, N, 2]``, ``demand [B, N]`` and ``remaining [B]``
    both divided by the capacity; order origin, customers..., depot."""
    b, n, _ = xy.shape
    flags = xy.new_zeros(b, n, 2)
    flags[:, 0, 0] = 1.0
    flags[:, -1, 1] = 1.0
    rem = remaining[:, None, None].expand(b, n, 1)
    return torch.cat([_normalise(xy), demand[..., None], rem, flags], dim=-1)


def kp_tokens(values: Tensor, weights: Tensor, remaining: Tensor, present: Tensor) -> Tensor:
    """KP tokens ``[B, N, 4]`` of items still ``present [B, N]`` with capacity ``remaining [B]``."""
    total = (weights * present).sum(dim=1, keepdim=True).clamp_min(1e-9)
    rem = remaining[:, None].clamp_min(1e-9)
    ratio = (weights / rem).clamp(max=10.0)
    return torch.stack(
        [values, weights, ratio, (rem / total).clamp(max=10.0).expand_as(values)], dim=-1
    ) * present[..., None]


# ----------------------------------------------------------------------------- helpers


def _gather(x: Tensor, idx: Tensor) -> Tensor:
    """``x [R, N, ...]`` rows gathered at ``idx [R, K]`` -> ``[R, K, ...]``."""
    if x.dim() == 2:
        return torch.gather(x, 1, idx)
    return torch.gather(x, 1, idx[..., None].expand(*idx.shape, x.shape[-1]))


def _drop(remaining: Tensor, position: Tensor) -> Tensor:
    """Remove column ``position [R]`` from each row of ``remaining [R, m]``."""
    keep = torch.ones_like(remaining, dtype=torch.bool)
    keep[torch.arange(len(remaining), device=remaining.device), position] = False
    return remaining[keep].view(len(remaining), -1)


def _window(xy: Tensor, current: Tensor, remaining: Tensor, knn: int | None) -> Tensor:
    """Indices into ``remaining`` of the candidates: all, or the ``knn`` nearest to current."""
    m = remaining.shape[1]
    rows = torch.arange(len(remaining), device=remaining.device)
    if knn is None or m <= knn:
        return torch.arange(m, device=remaining.device).expand(len(remaining), m)
    here = xy[rows, current][:, None, :]
    dist = (_gather(xy, remaining) - here).square().sum(-1)
    return dist.topk(knn, dim=1, largest=False).indices


def _beam_select(
    logp: Tensor, step_logp: Tensor, beam: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Keep the ``beam`` best children: ``logp [B, W]``, ``step_logp [B*W, c]`` ->
    (new logp ``[B, beam]``, parent beam ``[B, beam]``, action ``[B, beam]``)."""
    b, w = logp.shape
    c = step_logp.shape[1]
    total = (logp[:, :, None] + step_logp.view(b, w, c)).view(b, w * c)
    k = min(beam, w * c)
    best, flat = total.topk(k, dim=1)
    if k < beam:  # fewer children than beams: pad with dead beams
        pad = beam - k
        best = torch.cat([best, best.new_full((b, pad), -math.inf)], dim=1)
        flat = torch.cat([flat, flat[:, :1].expand(b, pad)], dim=1)
    return best, flat // c, flat % c


def _reindex(rows_per: int, parent: Tensor) -> Tensor:
    """Flat row indices ``[B*W]`` of the parents ``[B, W]`` (rows grouped by instance)."""
    b = parent.shape[0]
    base = torch.arange(b, device=parent.device)[:, None] * rows_per
    return (base + parent).reshape(-1)


def _masked_logp(logits: Tensor, valid: Tensor) -> Tensor:
    return torch.log_softmax(logits.masked_fill(~valid, _NEG), dim=-1).masked_fill(
        ~valid, -math.inf
    )


# ----------------------------------------------------------------------------- TSP decoding


@torch.no_grad()
def decode_tsp(
    model: BQPolicy,
    coords: np.ndarray | Tensor,
    *,
    beam: int = 1,
    knn: int | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """Tours ``[B, n]`` (start at city 0) for ``coords [B, n, 2]`` by greedy or beam search.

    Tours are chosen by the model; with ``beam > 1`` the shortest (float Euclidean) of the
    ``beam`` complete tours is returned.
    """
    coords_t = torch.as_tensor(np.array(coords, dtype=np.float32))
    if coords_t.dim() != 3 or coords_t.shape[-1] != 2:
        raise InvalidInstanceError("coords", f"expected [B, n, 2], got {list(coords_t.shape)}")
    out = []
    for start in range(0, len(coords_t), batch_size):
        out.append(_decode_tsp_batch(model, coords_t[start : start + batch_size], beam, knn))
    return np.concatenate(out, axis=0)


def _decode_tsp_batch(model: BQPolicy, coords: Tensor, beam: int, knn: int | None) -> np.ndarray:
    device = next(model.parameters()).device
    b, n, _ = coords.shape
    w = max(int(beam), 1)
    xy = coords.to(device).repeat_interleave(w, dim=0)  # [R, n, 2], R = b * w
    r = len(xy)
    rows = torch.arange(r, device=device)
    first = torch.zeros(r, dtype=torch.long, device=device)
    current = first.clone()
    remaining = torch.arange(1, n, device=device).expand(r, n - 1).contiguous()
    tours = torch.zeros(r, n, dtype=torch.long, device=device)
    logp = torch.zeros(b, w, device=device)
    logp[:, 1:] = -math.inf  # identical beams at the start: keep one
    for step in range(1, n):
        m = remaining.shape[1]
        if m == 1:
            choice = torch.zeros(r, dtype=torch.long, device=device)
        else:
            window = _window(xy, current, remaining, knn)  # [R, c] positions in remaining
            cand = _gather(remaining, window)
            nodes = torch.cat([current[:, None], cand, first[:, None]], dim=1)
            logits = model(tsp_tokens(_gather(xy, nodes)))[:, 1:-1, 0]
            if w == 1:
                choice = window[rows, logits.argmax(dim=1)]
            else:
                step_logp = torch.log_softmax(logits, dim=-1)
                logp, parent, action = _beam_select(logp, step_logp, w)
                src = _reindex(w, parent)
                choice = window[src, action.reshape(-1)]
                remaining, current, tours = remaining[src], current[src], tours[src]
        node = remaining[rows, choice]
        tours[:, step] = node
        current = node
        remaining = _drop(remaining, choice)
    tours_np = tours.cpu().numpy().reshape(b, w, n)
    if w == 1:
        return tours_np[:, 0]
    xy_np = coords.numpy()
    best = np.empty((b, n), dtype=np.int64)
    alive = torch.isfinite(logp).cpu().numpy()
    for i in range(b):
        length = tour_lengths(xy_np[i], tours_np[i])  # [w]
        length[~alive[i]] = np.inf
        best[i] = tours_np[i, int(np.argmin(length))]
    return best


def tour_lengths(xy: np.ndarray, tours: np.ndarray) -> np.ndarray:
    """Float Euclidean lengths of closed ``tours [..., n]`` over ``xy [n, 2]`` (or over
    per-tour ``xy [..., n, 2]`` with the same leading shape)."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim == 2:
        pts = xy[tours]
    else:
        pts = np.take_along_axis(xy, tours[..., None], axis=-2)
    return np.linalg.norm(pts - np.roll(pts, -1, axis=-2), axis=-1).sum(-1)


# ----------------------------------------------------------------------------- CVRP decoding


@torch.no_grad()
def decode_cvrp(
    model: BQPolicy,
    coords: np.ndarray | Tensor,
    demands: np.ndarray | Tensor,
    capacity: float,
    *,
    beam: int = 1,
    knn: int | None = None,
    batch_size: int = 128,
) -> list[list[np.ndarray]]:
    """Routes for a batch of CVRPs: ``coords [B, n+1, 2]`` (depot first), ``demands
    [B, n+1]``, one ``capacity``. Returns per instance a list of customer arrays."""
    coords_t = torch.as_tensor(np.array(coords, dtype=np.float32))
    demands_t = torch.as_tensor(np.array(demands, dtype=np.float64))
    out: list[list[np.ndarray]] = []
    for start in range(0, len(coords_t), batch_size):
        sl = slice(start, start + batch_size)
        out.extend(_decode_cvrp_batch(model, coords_t[sl], demands_t[sl] / capacity, beam, knn))
    return out


def _decode_cvrp_batch(
    model: BQPolicy, coords: Tensor, demand: Tensor, beam: int, knn: int | None
) -> list[list[np.ndarray]]:
    device = next(model.parameters()).device
    b, n1, _ = coords.shape
    n = n1 - 1
    w = max(int(beam), 1)
    xy = coords.to(device).repeat_interleave(w, dim=0)
    # Loads are tracked in float64 (capacity units) so that feasibility matches the
    # instance's own check; the model sees float32 tokens.
    dem = demand.to(device).repeat_interleave(w, dim=0)
    r = len(xy)
    rows = torch.arange(r, device=device)
    depot = torch.zeros(r, dtype=torch.long, device=device)
    current = depot.clone()
    cap = torch.ones(r, dtype=torch.float64, device=device)
    remaining = torch.arange(1, n1, device=device).expand(r, n).contiguous()
    seq = torch.zeros(r, n, dtype=torch.long, device=device)
    via = torch.zeros(r, n, dtype=torch.bool, device=device)
    logp = torch.zeros(b, w, device=device)
    logp[:, 1:] = -math.inf
    for step in range(n):
        window = _window(xy, current, remaining, knn)
        cand = _gather(remaining, window)  # [R, c]
        nodes = torch.cat([current[:, None], cand, depot[:, None]], dim=1)
        node_dem = _gather(dem, nodes)
        node_dem[:, 0] = 0.0
        tokens = cvrp_tokens(_gather(xy, nodes), node_dem.float(), cap.float())
        logits = model(tokens)[:, 1:-1, :]  # [R, c, 2]
        cand_dem = node_dem[:, 1:-1]
        valid = torch.stack(
            [cand_dem <= cap[:, None] + 1e-12, (current != 0)[:, None].expand_as(cand_dem)], -1
        )
        flat_valid = valid.reshape(r, -1)
        step_logp = _masked_logp(logits.reshape(r, -1), flat_valid)
        if w == 1:
            action = step_logp.argmax(dim=1)
        else:
            logp, parent, act = _beam_select(logp, step_logp, w)
            src = _reindex(w, parent)
            action = act.reshape(-1)
            window, remaining, current = window[src], remaining[src], current[src]
            cap, seq, via, cand_dem = cap[src], seq[src], via[src], cand_dem[src]
        pos, refill = action // 2, (action % 2).bool()
        choice = window[rows, pos]
        node = remaining[rows, choice]
        d = cand_dem[rows, pos]
        cap = torch.where(refill, 1.0 - d, cap - d)
        seq[:, step] = node
        via[:, step] = refill
        current = node
        remaining = _drop(remaining, choice)
    seq_np = seq.cpu().numpy().reshape(b, w, n)
    via_np = via.cpu().numpy().reshape(b, w, n)
    alive = torch.isfinite(logp).cpu().numpy()
    xy_np = coords.numpy()
    out = []
    for i in range(b):
        best, best_len = None, math.inf
        for k in range(w):
            if not alive[i, k]:
                continue
            routes = _split_routes(seq_np[i, k], via_np[i, k])
            length = routes_length(xy_np[i], routes)
            if length < best_len:
                best, best_len = routes, length
        out.append(best if best is not None else _split_routes(seq_np[i, 0], via_np[i, 0]))
    return out


def _split_routes(seq: np.ndarray, via: np.ndarray) -> list[np.ndarray]:
    starts = np.flatnonzero(via)
    starts = starts[starts > 0]
    return [r.astype(np.int64) for r in np.split(seq, starts) if len(r)]


def routes_length(xy: np.ndarray, routes: list[np.ndarray]) -> float:
    """Float Euclidean length of CVRP ``routes`` (depot 0 at both ends of each) over ``xy``."""
    xy = np.asarray(xy, dtype=np.float64)
    total = 0.0
    for route in routes:
        pts = xy[np.concatenate([[0], route, [0]])]
        total += float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
    return total


# ----------------------------------------------------------------------------- KP decoding


@torch.no_grad()
def decode_kp(
    model: BQPolicy,
    values: np.ndarray | Tensor,
    weights: np.ndarray | Tensor,
    capacity: float,
    *,
    beam: int = 1,
    batch_size: int = 256,
) -> list[np.ndarray]:
    """Chosen items for a batch of knapsacks ``values, weights [B, n]`` with one capacity."""
    v = torch.as_tensor(np.array(values, dtype=np.float32))
    wt = torch.as_tensor(np.array(weights, dtype=np.float64))
    out: list[np.ndarray] = []
    for start in range(0, len(v), batch_size):
        sl = slice(start, start + batch_size)
        out.extend(_decode_kp_batch(model, v[sl], wt[sl], float(capacity), beam))
    return out


def _kp_logits(model: BQPolicy, val: Tensor, wt32: Tensor, cap: Tensor, present: Tensor,
               active: Tensor) -> Tensor:
    """Item logits ``[R, n]`` of the ``active`` rows' remaining items (others: ``_NEG``).

    Only the active rows are encoded, each on its present items moved to the front and
    padded to the longest row: the same outputs as encoding all ``n`` columns with the taken
    items masked (padded keys take no part in attention), at the cost of the items left.
    """
    logits = torch.full(present.shape, _NEG, dtype=torch.float32, device=present.device)
    rows = active.nonzero().squeeze(1)
    here = present[rows]
    m = int(here.sum(dim=1).max())
    # stable sort of the present flags: the present items first, in their original order
    cols = torch.sort(here.to(torch.int8), dim=1, descending=True, stable=True).indices[:, :m]
    kept = _gather(here, cols)
    tokens = kp_tokens(_gather(val[rows], cols), _gather(wt32[rows], cols), cap[rows].float(),
                       kept.float())
    out = model(tokens, ~kept)[..., 0]
    logits[rows[:, None], cols] = out
    return logits


def _decode_kp_batch(
    model: BQPolicy, values: Tensor, weights: Tensor, capacity: float, beam: int
) -> list[np.ndarray]:
    device = next(model.parameters()).device
    b, n = values.shape
    w = max(int(beam), 1)
    val = values.to(device).repeat_interleave(w, dim=0)
    wt = weights.to(device).repeat_interleave(w, dim=0)  # float64: exact feasibility
    wt32 = wt.float()
    r = len(val)
    rows = torch.arange(r, device=device)
    present = torch.ones(r, n, dtype=torch.bool, device=device)
    cap = torch.full((r,), capacity, dtype=torch.float64, device=device)
    logp = torch.zeros(b, w, device=device)
    logp[:, 1:] = -math.inf
    for _ in range(n):
        fits = present & (wt <= cap[:, None] * (1 + 1e-12))
        active = fits.any(dim=1)
        if not bool(active.any()):
            break
        logits = _kp_logits(model, val, wt32, cap, present, active)
        step_logp = _masked_logp(logits, fits)
        # A finished row (nothing fits) keeps its score: one "stay" action of log-prob 0.
        step_logp = torch.cat([step_logp, torch.where(active, -math.inf, 0.0)[:, None]], dim=1)
        if w == 1:
            action = step_logp.argmax(dim=1)
        else:
            logp, parent, act = _beam_select(logp, step_logp, w)
            src = _reindex(w, parent)
            action = act.reshape(-1)
            present, cap = present[src], cap[src]
        take = action < n
        item = action.clamp(max=n - 1)
        present[rows[take], item[take]] = False
        cap = cap - torch.where(take, wt[rows, item], 0.0)
    taken = (~present).cpu().numpy().reshape(b, w, n)
    val_np = values.numpy()
    alive = torch.isfinite(logp).cpu().numpy()
    out = []
    for i in range(b):
        totals = (taken[i] * val_np[i]).sum(-1)
        totals[~alive[i]] = -np.inf
        out.append(np.flatnonzero(taken[i, int(np.argmax(totals))]).astype(np.int64))
    return out


# ----------------------------------------------------------------------------- solve()


_MODELS: dict[tuple[str, str, str], BQPolicy] = {}


def cached_policy(checkpoint: str | None, problem: str, device: str | None = None) -> BQPolicy:
    """:func:`load_policy` with a per-process cache (benchmarks decode many instances)."""
    key = (str(checkpoint), problem, str(device))
    if key not in _MODELS:
        _MODELS[key] = load_policy(checkpoint, problem, device=device)
    return _MODELS[key]


def solve_bq(
    instance: Any,
    *,
    beam: int = 1,
    knn: int | None = None,
    checkpoint: str | None = None,
    device: str | None = None,
) -> Any:
    """Solve one TSP / CVRP / KP instance with a BQ policy; returns a routing ``Solution``.

    ``checkpoint`` is a checkpoint stem or shipped name (default: the shipped one for the
    problem). The instance's cost convention (e.g. TSPLIB EUC_2D rounding) is used for the
    reported objective; the policy itself sees the coordinates.
    """
    from orlearn.problems.routing.instances import CVRPInstance, KPInstance, TSPInstance
    from orlearn.problems.routing.solution import make_solution

    if isinstance(beam, bool) or not isinstance(beam, int) or beam < 1:
        raise ConfigError(f"beam must be a positive integer, got {beam!r}")
    if knn is not None and (not isinstance(knn, int) or knn < 2):
        raise ConfigError(f"knn must be an integer >= 2 or None, got {knn!r}")
    info: dict[str, Any] = {"beam": beam, "knn": knn}
    if isinstance(instance, TSPInstance):
        if instance.coords is None or instance.edge_weight_type == "EXPLICIT":
            raise ConfigError(
                f"BQ for the TSP needs city coordinates; {instance.name or 'this instance'} "
                "has only a distance matrix (use method='lkh')"
            )
        model = cached_policy(checkpoint, "tsp", device)
        start = time.perf_counter()
        tour = decode_tsp(model, instance.coords[None], beam=beam, knn=knn)[0]
        return make_solution(instance, "bq", tour=tour, time=time.perf_counter() - start,
                             info=info)
    if isinstance(instance, CVRPInstance):
        if instance.coords is None or instance.edge_weight_type == "EXPLICIT":
            raise ConfigError("BQ for the CVRP needs node coordinates (use method='pyvrp')")
        model = cached_policy(checkpoint, "cvrp", device)
        start = time.perf_counter()
        routes = decode_cvrp(model, instance.coords[None], instance.demands[None],
                             instance.capacity, beam=beam, knn=knn)[0]
        return make_solution(instance, "bq", routes=routes, time=time.perf_counter() - start,
                             info=info)
    if isinstance(instance, KPInstance):
        model = cached_policy(checkpoint, "kp", device)
        start = time.perf_counter()
        items = decode_kp(model, instance.values[None], instance.weights[None],
                          instance.capacity, beam=beam)[0]
        return make_solution(instance, "bq", items=items, time=time.perf_counter() - start,
                             info=info)
    raise ConfigError(f"BQ solves TSP, CVRP and KP instances, not {type(instance).__name__}")


__all__ = [
    "PRETRAINED",
    "PROBLEMS",
    "TOKEN_FEATURES",
    "BQPolicy",
    "build_model",
    "cached_policy",
    "cvrp_tokens",
    "decode_cvrp",
    "decode_kp",
    "decode_tsp",
    "kp_tokens",
    "load_policy",
    "routes_length",
    "solve_bq",
    "tour_lengths",
    "tsp_tokens",
]
