"""BQ-NCO: reduced-state tokens, the samplers' sub-problems, decoders, training and solve().

Everything runs on tiny models (width 16, one layer) and tiny instances so the file stays fast
on a couple of CPU cores.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from orlearn.errors import CheckpointError, ConfigError, InvalidInstanceError
from orlearn.problems.routing import baselines
from orlearn.problems.routing import train as bq_train
from orlearn.problems.routing.bq import (
    BQPolicy,
    cvrp_tokens,
    decode_cvrp,
    decode_kp,
    decode_tsp,
    kp_tokens,
    load_policy,
    solve_bq,
    tsp_tokens,
)
from orlearn.problems.routing.experts import generate_dataset, load_dataset
from orlearn.problems.routing.instances import (
    CVRPInstance,
    KPInstance,
    TSPInstance,
    generate_cvrp,
    generate_cvrp_arrays,
    generate_kp,
    generate_kp_arrays,
    generate_tsp,
    generate_tsp_coords,
)
from orlearn.problems.routing.train import (
    BQTrainConfig,
    CVRPSampler,
    KPSampler,
    TSPSampler,
    train_bq,
)

torch.set_num_threads(1)

TINY = {"dim": 16, "layers": 1, "heads": 2, "ff_dim": 32}


def tiny_policy(problem: str, seed: int = 0) -> BQPolicy:
    """An untrained tiny policy whose ReZero gates are opened (at 0 the layers are identities,
    so the tokens would not interact and attention would go untested)."""
    torch.manual_seed(seed)
    model = BQPolicy(problem, **TINY)
    with torch.no_grad():
        for layer in model.encoder.layers:
            layer.alpha_attention.fill_(0.8)
            layer.alpha_feed_forward.fill_(0.8)
    return model.eval()


class Recorder(nn.Module):
    """Stub policy: records its inputs and returns fixed, distinct logits (a ramp over the
    flattened (token, action) pairs) plus a trainable zero so the loss has a gradient."""

    def __init__(self, n_actions: int) -> None:
        super().__init__()
        self.n_actions = n_actions
        self.zero = nn.Parameter(torch.zeros(()))
        self.calls: list[tuple[torch.Tensor, torch.Tensor | None]] = []

    def forward(self, tokens: torch.Tensor, padding_mask: torch.Tensor | None = None):
        self.calls.append(
            (tokens.detach().clone(), None if padding_mask is None else padding_mask.clone())
        )
        b, n, _ = tokens.shape
        return ramp(n, self.n_actions).expand(b, n, self.n_actions) + self.zero


def ramp(n: int, a: int) -> torch.Tensor:
    return 0.3 * torch.arange(n * a, dtype=torch.float32).view(1, n, a)


def record_calls(monkeypatch, name: str) -> list[tuple[torch.Tensor, ...]]:
    """Wrap the token builder ``name`` of the train module to record its raw arguments."""
    original = getattr(bq_train, name)
    calls: list[tuple[torch.Tensor, ...]] = []

    def wrapper(*args):
        calls.append(tuple(a.detach().clone() for a in args))
        return original(*args)

    monkeypatch.setattr(bq_train, name, wrapper)
    return calls


def node_ids(raw_xy: torch.Tensor, coords: np.ndarray) -> list[int]:
    """City indices of the raw (un-normalised) token coordinates ``[N, 2]``."""
    eq = (raw_xy.numpy()[:, None, :] == coords[None, :, :]).all(-1)
    assert (eq.sum(1) == 1).all()
    return eq.argmax(1).tolist()


# ============================================================================ tokens


def test_tsp_tokens_flags_and_unit_square():
    xy = torch.rand(3, 7, 2, generator=torch.Generator().manual_seed(0)) * 4.0 + 1.0
    tokens = tsp_tokens(xy)
    assert tokens.shape == (3, 7, 4)
    assert (tokens[:, 0, 2] == 1).all() and (tokens[:, 1:, 2] == 0).all()
    assert (tokens[:, -1, 3] == 1).all() and (tokens[:, :-1, 3] == 0).all()
    pts = tokens[..., :2]
    assert torch.allclose(pts.amin(dim=1), torch.zeros(3, 2))
    # one scale for both axes: the longer side spans exactly [0, 1], the aspect ratio is kept
    assert torch.allclose(pts.amax(dim=1).amax(dim=1), torch.ones(3))
    span = (xy.amax(1) - xy.amin(1)).amax(-1)
    assert torch.allclose(pts * span[:, None, None] + xy.amin(1, keepdim=True), xy, atol=1e-5)


@pytest.mark.parametrize("problem", ["tsp", "cvrp"])
def test_tokens_and_logits_invariant_to_translation_and_scaling(problem):
    gen = torch.Generator().manual_seed(1)
    xy = torch.rand(2, 9, 2, generator=gen)
    moved = 3.0 * xy + torch.tensor([5.0, -2.0])
    model = tiny_policy(problem)
    if problem == "tsp":
        a, b = tsp_tokens(xy), tsp_tokens(moved)
    else:
        demand = torch.randint(1, 10, (2, 9), generator=gen).float() / 20.0
        demand[:, 0] = demand[:, -1] = 0.0
        rem = torch.tensor([0.7, 0.35])
        a, b = cvrp_tokens(xy, demand, rem), cvrp_tokens(moved, demand, rem)
    assert torch.allclose(a, b, atol=1e-5)
    with torch.no_grad():
        la, lb = model(a), model(b)
    assert torch.allclose(la, lb, atol=1e-5)
    # and the model is not trivially constant: moving one city changes the logits
    other = xy.clone()
    other[:, 3] = 1.0 - other[:, 3]
    tok = tsp_tokens(other) if problem == "tsp" else cvrp_tokens(other, demand, rem)
    with torch.no_grad():
        assert not torch.allclose(model(tok), la, atol=1e-4)


def test_cvrp_tokens_features():
    gen = torch.Generator().manual_seed(2)
    xy = torch.rand(2, 6, 2, generator=gen)
    capacity = 20.0
    demand = torch.tensor([[0.0, 3, 4, 9, 1, 0], [0.0, 2, 2, 5, 7, 0]]) / capacity
    rem = torch.tensor([1.0, 0.45])
    tokens = cvrp_tokens(xy, demand, rem)
    assert tokens.shape == (2, 6, 6)
    assert torch.allclose(tokens[..., :2], tsp_tokens(xy)[..., :2])
    assert torch.equal(tokens[..., 2], demand)
    assert torch.equal(tokens[..., 3], rem[:, None].expand(2, 6))  # same on every token
    assert (tokens[:, 0, 4] == 1).all() and (tokens[:, 1:, 4] == 0).all()  # origin first
    assert (tokens[:, -1, 5] == 1).all() and (tokens[:, :-1, 5] == 0).all()  # depot last


def test_kp_tokens_absent_items_zero_and_ratio():
    values = torch.tensor([[0.9, 0.2, 0.5, 0.7, 0.4]])
    weights = torch.tensor([[0.6, 0.3, 0.8, 0.1, 0.5]])
    present = torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0]])
    remaining = torch.tensor([1.2])
    tokens = kp_tokens(values, weights, remaining, present)
    assert tokens.shape == (1, 5, 4)
    assert (tokens[0, [1, 4]] == 0).all()
    on = [0, 2, 3]
    assert torch.allclose(tokens[0, on, 0], values[0, on])
    assert torch.allclose(tokens[0, on, 1], weights[0, on])
    assert torch.allclose(tokens[0, on, 2], weights[0, on] / 1.2)
    total_present = 0.6 + 0.8 + 0.1
    assert torch.allclose(tokens[0, on, 3], torch.full((3,), 1.2 / total_present))
    # both ratios are clipped at 10 (a nearly full knapsack, or one that holds everything)
    tiny = kp_tokens(values, weights, torch.tensor([0.01]), present)
    assert torch.allclose(tiny[0, on, 2], torch.tensor([10.0, 10.0, 10.0]))
    huge = kp_tokens(values, weights, torch.tensor([100.0]), present)
    assert torch.allclose(huge[0, on, 3], torch.full((3,), 10.0))


def test_kp_padding_equals_removing_the_absent_items():
    model = tiny_policy("kp")
    gen = torch.Generator().manual_seed(3)
    values, weights = torch.rand(1, 8, generator=gen), torch.rand(1, 8, generator=gen)
    present = torch.tensor([[1, 0, 1, 1, 0, 0, 1, 1]], dtype=torch.bool)
    rem = torch.tensor([1.5])
    with torch.no_grad():
        full = model(kp_tokens(values, weights, rem, present.float()), ~present)[0, present[0]]
        keep = present[0]
        small = model(kp_tokens(values[:, keep], weights[:, keep], rem,
                                torch.ones(1, int(keep.sum()))))[0]
    assert torch.allclose(full, small, atol=1e-5)


def test_kp_decoder_logits_equal_encoding_every_column():
    """The decoder encodes only active rows on their remaining items; the logits of the
    items that fit equal those of the full-width, masked encoding."""
    from orlearn.problems.routing.bq import _kp_logits

    model = tiny_policy("kp", seed=4)
    gen = torch.Generator().manual_seed(5)
    values, weights = torch.rand(4, 9, generator=gen), torch.rand(4, 9, generator=gen)
    present = torch.rand(4, 9, generator=gen) < 0.6
    present[2] = False  # a row with nothing left
    cap = torch.tensor([1.2, 0.4, 2.0, 0.05], dtype=torch.float64)
    fits = present & (weights.double() <= cap[:, None])
    active = fits.any(dim=1)
    assert not active.all() and active.any()
    with torch.no_grad():
        ours = _kp_logits(model, values, weights, cap, present, active)
        full = model(kp_tokens(values, weights, cap.float(), present.float()), ~present)[..., 0]
    assert torch.allclose(ours[fits], full[fits], atol=1e-5)
    assert (ours[~active] == -1e9).all()


# ============================================================================ samplers


def test_tsp_sampler_subproblems_follow_the_expert_tour(monkeypatch):
    n = 6
    coords = np.random.default_rng(0).random((n, 2)).astype(np.float32)
    tour = [0, 3, 1, 5, 2, 4]
    data = {"coords": coords[None], "tours": np.array([tour], dtype=np.int16)}
    raw = record_calls(monkeypatch, "tsp_tokens")
    model = Recorder(1)
    sampler = TSPSampler(data, torch.device("cpu"), np.random.default_rng(0))
    variants = {}
    for start in range(n):
        for direction in (1, -1):
            variants[(start, direction)] = [tour[(start + direction * i) % n] for i in range(n)]
    sizes, directions, origins = set(), set(), set()
    for _ in range(25):
        loss = sampler.loss(model, 4)
        loss.backward()
        (xy,) = raw[-1]
        tokens, mask = model.calls[-1]
        assert mask is None
        assert torch.equal(tokens, tsp_tokens(xy))
        k = xy.shape[1]
        assert 4 <= k <= n + 1  # k = n + 1: the first step, origin == destination
        sizes.add(k)
        j = n - k + 2  # cities visited so far
        for b in range(4):
            order = node_ids(xy[b], coords)
            matches = [key for key, t in variants.items()
                       if t[j - 1] == order[0] and t[j:] == order[1:-1] and t[0] == order[-1]]
            assert len(matches) == 1, (order, j)
            directions.add(matches[0][1])
            origins.add(order[0])
            # the label, remaining token 0, is the expert's next city after the origin
            t = variants[matches[0]]
            assert order[1] == t[j]
        # loss = cross-entropy of the ramp logits over the remaining tokens, label 0
        expected = -torch.log_softmax(ramp(k, 1)[0, 1:-1, 0], 0)[0]
        assert loss.item() == pytest.approx(float(expected), rel=1e-5)
    assert model.zero.grad is not None
    assert sizes == {4, 5, 6, 7} and directions == {1, -1} and len(origins) > 2


def _cvrp_augmentations(routes: list[list[int]]):
    """Every order of the routes, each in either direction: (sequence, route start set)."""
    for perm in itertools.permutations(range(len(routes))):
        for flips in itertools.product((False, True), repeat=len(routes)):
            parts = [routes[p][::-1] if f else routes[p] for p, f in zip(perm, flips, strict=True)]
            seq = [c for r in parts for c in r]
            starts = set(np.cumsum([0] + [len(r) for r in parts[:-1]]).tolist())
            yield seq, starts


def test_cvrp_sampler_subproblems_follow_the_expert_routes(monkeypatch):
    n, capacity = 6, 10.0
    demands = np.array([0, 3, 4, 2, 5, 4, 6], dtype=np.float32)
    routes = [[1, 2, 3], [4, 5], [6]]  # loads 9, 9, 6
    coords = np.random.default_rng(1).random((n + 1, 2)).astype(np.float32)
    data = {
        "coords": coords[None],
        "demands": demands[None],
        "capacity": np.float32(capacity),
        "sequence": np.array([[1, 2, 3, 4, 5, 6]], dtype=np.int16),
        "via_depot": np.array([[True, False, False, True, False, True]]),
        "costs": np.zeros(1),
    }
    raw = record_calls(monkeypatch, "cvrp_tokens")
    model = Recorder(2)
    sampler = CVRPSampler(data, torch.device("cpu"), np.random.default_rng(0))
    labels, dones, caps = set(), set(), set()
    for _ in range(60):
        loss = sampler.loss(model, 1)
        xy, dem, cap = raw[-1]
        tokens, _ = model.calls[-1]
        assert torch.equal(tokens, cvrp_tokens(xy, dem, cap))
        nodes = node_ids(xy[0], coords)
        origin, remaining = nodes[0], nodes[1:-1]
        assert nodes[-1] == 0  # depot last
        r = len(remaining)
        done = n - r
        assert 1 <= r <= n and sorted(remaining) == sorted(set(remaining))
        assert torch.allclose(dem[0, 1:-1], torch.as_tensor(demands[remaining] / capacity))
        assert dem[0, 0] == 0 and dem[0, -1] == 0
        if done == 0:
            assert origin == 0
            expected = {(1.0, 0)}
        else:
            assert origin != 0
            expected = set()
            for seq, starts in _cvrp_augmentations(routes):
                if seq[done:] != remaining or seq[done - 1] != origin:
                    continue
                route_start = max(s for s in starts if s <= done - 1)
                load = float(demands[seq[route_start:done]].sum())
                expected.add((round(1.0 - load / capacity, 5), int(done in starts)))
        assert len(expected) == 1, (nodes, expected)
        ((exp_cap, exp_label),) = expected
        assert float(cap[0]) == pytest.approx(exp_cap, abs=1e-5)
        # decode the label from the loss: the only valid (token, action) with that -log p
        cand_dem = dem[0, 1:-1]
        valid = torch.stack([cand_dem <= cap[0] + 1e-6,
                             torch.full_like(cand_dem, done > 0, dtype=torch.bool)], -1)
        logp = torch.log_softmax(ramp(r + 2, 2)[0, 1:-1].reshape(-1).masked_fill(
            ~valid.reshape(-1), -1e9), 0)
        hits = [i for i in range(2 * r) if valid.reshape(-1)[i]
                and abs(float(-logp[i]) - loss.item()) < 1e-4]
        assert len(hits) == 1
        assert hits[0] // 2 == 0  # token 0 of the remaining customers
        assert hits[0] % 2 == exp_label  # 1 exactly when the expert starts a new route there
        labels.add(exp_label)
        dones.add(done)
        caps.add(exp_cap)
    assert labels == {0, 1} and 0 in dones and len(dones) >= 4
    assert any(c < 1.0 for c in caps)


def test_kp_sampler_partial_packings_of_the_optimum(monkeypatch):
    values = np.array([0.9, 0.5, 0.6, 0.8, 0.3, 0.7], dtype=np.float32)
    weights = np.array([0.5, 0.9, 0.4, 0.7, 0.3, 0.8], dtype=np.float32)
    capacity = 2.0
    best = max(
        (s for r in range(7) for s in itertools.combinations(range(6), r)
         if weights[list(s)].sum() <= capacity),
        key=lambda s: values[list(s)].sum(),
    )
    chosen = np.zeros(6, dtype=bool)
    chosen[list(best)] = True
    assert chosen.sum() >= 3
    data = {"values": values[None], "weights": weights[None], "capacity": np.float32(capacity),
            "chosen": chosen[None], "costs": values[chosen].sum(keepdims=True)}
    raw = record_calls(monkeypatch, "kp_tokens")
    model = Recorder(1)
    sampler = KPSampler(data, torch.device("cpu"), np.random.default_rng(0))
    counts = set()
    for _ in range(20):
        loss = sampler.loss(model, 4)
        vals, wts, cap, present = raw[-1]
        tokens, mask = model.calls[-1]
        assert torch.equal(tokens, kp_tokens(vals, wts, cap, present))
        packed = present == 0
        assert torch.equal(mask, packed)  # packed items are padding
        assert (tokens[packed] == 0).all()
        chosen_t = torch.as_tensor(chosen)
        assert not (packed & ~chosen_t).any()  # only optimal items are packed
        assert (packed.sum(1) < chosen_t.sum()).all()  # at least one optimal item left
        counts.update(packed.sum(1).tolist())
        assert torch.allclose(cap, capacity - (wts * packed).sum(1), atol=1e-6)
        # target: uniform over the optimal items not packed yet (all of them still fit)
        target = (chosen_t & ~packed).float()
        fits = ~packed & (wts <= cap[:, None] + 1e-6)
        assert not (target.bool() & ~fits).any()
        logits = ramp(6, 1)[..., 0].expand(4, 6).masked_fill(~fits, -1e9)
        logp = torch.log_softmax(logits, 1)
        expected = -((target / target.sum(1, keepdim=True)) * logp).sum(1).mean()
        assert loss.item() == pytest.approx(float(expected), rel=1e-5)
    assert counts >= {0, 1, 2}


# ============================================================================ decoders


def _tsp_len(coords: np.ndarray, tour: np.ndarray) -> float:
    pts = coords[tour]
    return float(np.linalg.norm(pts - np.roll(pts, -1, axis=0), axis=1).sum())


@pytest.mark.parametrize(("beam", "knn"), [(1, None), (3, None), (1, 4), (3, 4)])
def test_decode_tsp_gives_tours(beam, knn):
    coords = generate_tsp_coords(12, 3, seed=5)
    tours = decode_tsp(tiny_policy("tsp"), coords, beam=beam, knn=knn)
    assert tours.shape == (3, 12)
    for i, tour in enumerate(tours):
        assert tour[0] == 0
        TSPInstance(coords[i]).check_tour(tour)


def test_decode_tsp_wide_beam_enumerates_every_tour():
    coords = generate_tsp_coords(5, 2, seed=6)
    tours = decode_tsp(tiny_policy("tsp"), coords, beam=24)  # 4! orders from city 0
    for i, tour in enumerate(tours):
        best = min(_tsp_len(coords[i], np.array((0, *p)))
                   for p in itertools.permutations(range(1, 5)))
        assert _tsp_len(coords[i], tour) == pytest.approx(best, abs=1e-5)


def test_decode_tsp_rejects_bad_shape():
    with pytest.raises(InvalidInstanceError):
        decode_tsp(tiny_policy("tsp"), np.zeros((5, 2)))


@pytest.mark.parametrize(("beam", "knn"), [(1, None), (3, None), (1, 4), (3, 4)])
@pytest.mark.parametrize("capacity", [None, 9.0])
def test_decode_cvrp_gives_feasible_routes(beam, knn, capacity):
    coords, demands, cap = generate_cvrp_arrays(10, 3, seed=7, capacity=capacity)
    all_routes = decode_cvrp(tiny_policy("cvrp"), coords, demands, cap, beam=beam, knn=knn)
    assert len(all_routes) == 3
    for i, routes in enumerate(all_routes):
        inst = CVRPInstance(coords[i], demands[i], cap)
        checked = inst.check_routes(routes)
        assert len(checked) >= math.ceil(demands[i].sum() / cap)
        if capacity is not None:
            assert len(checked) >= 4  # 10 customers of demand 1..9 with capacity 9


def test_decode_cvrp_wide_beam_enumerates_every_solution():
    coords, demands, _ = generate_cvrp_arrays(3, 2, seed=8)
    demands[:, 1:] = [[4, 5, 3], [2, 6, 3]]
    cap = 9.0
    all_routes = decode_cvrp(tiny_policy("cvrp"), coords, demands, cap, beam=32)
    for i, routes in enumerate(all_routes):
        inst = CVRPInstance(coords[i], demands[i], cap)
        best = math.inf
        for perm in itertools.permutations([1, 2, 3]):
            for cuts in itertools.product((False, True), repeat=2):
                split, cur = [], [perm[0]]
                for c, cut in zip(perm[1:], cuts, strict=True):
                    if cut:
                        split.append(cur)
                        cur = []
                    cur.append(c)
                split.append(cur)
                if inst.is_feasible(split):
                    best = min(best, inst.routes_cost(split))
        assert inst.routes_cost(routes) == pytest.approx(best, abs=1e-5)


def _assert_maximal(values, weights, capacity, items):
    inst = KPInstance(values, weights, capacity)
    inst.check_items(items)
    left = capacity - weights[items].sum()
    rest = np.setdiff1d(np.arange(len(values)), items)
    assert len(rest) == 0 or weights[rest].min() > left - 1e-6


@pytest.mark.parametrize("beam", [1, 3])
def test_decode_kp_gives_feasible_maximal_packings(beam):
    values, weights, _ = generate_kp_arrays(20, 3, seed=9)
    capacity = 4.0
    all_items = decode_kp(tiny_policy("kp"), values, weights, capacity, beam=beam)
    for i, items in enumerate(all_items):
        assert 0 < len(items) < 20
        _assert_maximal(values[i], weights[i], capacity, items)


def test_decode_kp_wide_beam_finds_the_optimum():
    values, weights, _ = generate_kp_arrays(4, 2, seed=10)
    capacity = 1.0
    all_items = decode_kp(tiny_policy("kp"), values, weights, capacity, beam=32)
    for i, items in enumerate(all_items):
        best = max(values[i][list(s)].sum() for r in range(5)
                   for s in itertools.combinations(range(4), r)
                   if weights[i][list(s)].sum() <= capacity)
        _assert_maximal(values[i], weights[i], capacity, items)
        assert values[i][items].sum() == pytest.approx(best)


def test_decode_kp_everything_fits():
    values, weights, _ = generate_kp_arrays(6, 1, seed=11)
    (items,) = decode_kp(tiny_policy("kp"), values, weights, 100.0, beam=2)
    assert items.tolist() == list(range(6))


@pytest.mark.parametrize("problem", ["cvrp", "kp"])
def test_decoders_respect_capacity_exactly(problem):
    if problem == "kp":
        inst = KPInstance([1.0, 1.0], [0.50000001, 0.5], 1.0)  # 0.50000001 is 0.5 in float32
        (items,) = decode_kp(tiny_policy("kp"), inst.values[None].copy(),
                             inst.weights[None].copy(), inst.capacity)
        assert inst.is_feasible(items)
    else:
        # one route [1, 2] would be the shortest, but it carries 1.0000001 > 1; a beam of 8
        # enumerates every solution of this 2-customer CVRP
        inst = CVRPInstance(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.1]]),
                            [0.0, 0.5000001, 0.5], 1.0)
        (routes,) = decode_cvrp(tiny_policy("cvrp"), inst.coords[None].copy(),
                                inst.demands[None].copy(), inst.capacity, beam=8)
        assert inst.is_feasible(routes)


@pytest.mark.parametrize("beam", [1, 2])
def test_batched_decoding_equals_one_by_one(beam):
    tsp_model, cvrp_model, kp_model = tiny_policy("tsp"), tiny_policy("cvrp"), tiny_policy("kp")
    coords = generate_tsp_coords(8, 5, seed=12)
    batched = decode_tsp(tsp_model, coords, beam=beam, batch_size=2)
    single = np.concatenate([decode_tsp(tsp_model, coords[i : i + 1], beam=beam)
                             for i in range(5)])
    assert np.array_equal(batched, single)

    ccoords, demands, cap = generate_cvrp_arrays(7, 5, seed=13)
    batched = decode_cvrp(cvrp_model, ccoords, demands, cap, beam=beam, batch_size=2)
    for i in range(5):
        (one,) = decode_cvrp(cvrp_model, ccoords[i : i + 1], demands[i : i + 1], cap, beam=beam)
        assert [r.tolist() for r in batched[i]] == [r.tolist() for r in one]

    values, weights, _ = generate_kp_arrays(10, 5, seed=14)
    batched = decode_kp(kp_model, values, weights, 2.5, beam=beam, batch_size=2)
    for i in range(5):
        (one,) = decode_kp(kp_model, values[i : i + 1], weights[i : i + 1], 2.5, beam=beam)
        assert batched[i].tolist() == one.tolist()


# ============================================================================ data + training

SIZES = {"tsp": (10, 8), "cvrp": (8, 6), "kp": (20, 8)}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("bq-data")
    out = {}
    for problem, (n, count) in SIZES.items():
        folders = []
        for name, seed, cnt in (("train", 1, count), ("valid", 2, 4)):
            folder = root / f"{problem}-{name}"
            generate_dataset(problem, n, cnt, folder, seed=seed, chunk_size=4, workers=1,
                             time_limit=0.1, progress=False)
            folders.append(folder)
        out[problem] = tuple(folders)
    return out


def _config(problem, train_dir, valid_dir, **kw):
    return BQTrainConfig(problem=problem, data=str(train_dir), valid_data=str(valid_dir),
                         n_valid=4, batch_size=8, epochs=1, steps_per_epoch=3, seed=0,
                         device="cpu", **TINY, **kw)


@pytest.fixture(scope="module")
def trained(datasets, tmp_path_factory):
    root = tmp_path_factory.mktemp("bq-runs")
    out = {}
    for problem, (train_dir, valid_dir) in datasets.items():
        run = root / problem
        model, summary = train_bq(_config(problem, train_dir, valid_dir), run, progress=False)
        out[problem] = (run, model, summary)
    return out


def test_datasets_have_the_expected_arrays(datasets):
    tsp = load_dataset(datasets["tsp"][0])
    assert tsp["coords"].shape == (8, 10, 2) and tsp["tours"].shape == (8, 10)
    for tour, xy, cost in zip(tsp["tours"], tsp["coords"], tsp["costs"], strict=True):
        assert TSPInstance(xy).tour_cost(tour.astype(np.int64)) == pytest.approx(cost)
    cvrp = load_dataset(datasets["cvrp"][0])
    assert cvrp["sequence"].shape[1] == 8 and cvrp["via_depot"][:, 0].all()
    for i in range(len(cvrp["costs"])):
        inst = CVRPInstance(cvrp["coords"][i], cvrp["demands"][i], cvrp["capacity"])
        seq, via = cvrp["sequence"][i].astype(np.int64), cvrp["via_depot"][i]
        assert inst.routes_cost(np.split(seq, np.flatnonzero(via)[1:])) == pytest.approx(
            cvrp["costs"][i], rel=1e-6)
    kp = load_dataset(datasets["kp"][0], limit=5)
    assert kp["chosen"].shape == (5, 20) and kp["manifest"]["problem"] == "kp"
    assert np.allclose((kp["values"] * kp["chosen"]).sum(1), kp["costs"], rtol=1e-5)
    assert ((kp["weights"] * kp["chosen"]).sum(1) <= kp["capacity"] + 1e-5).all()


@pytest.mark.parametrize("problem", ["tsp", "cvrp", "kp"])
def test_train_one_epoch_writes_checkpoints(trained, problem):
    run, model, summary = trained[problem]
    for name in ("best.json", "best.safetensors", "summary.json"):
        assert (run / name).is_file()
    written = json.loads((run / "summary.json").read_text())
    assert written["epochs"] == 1
    assert math.isfinite(written["best_validation_gap"])
    assert written["best_validation_gap"] == pytest.approx(summary["best_validation_gap"])
    if problem != "kp":  # a route can not be shorter than the expert's by much
        assert written["best_validation_gap"] > -1.0
    config = json.loads((run / "best.json").read_text())
    assert config["architecture"]["kwargs"]["problem"] == problem

    loaded = load_policy(str(run / "best"), problem)
    assert isinstance(loaded, BQPolicy) and loaded.problem == problem and not loaded.training
    assert loaded.encoder.dim == 16 and loaded.encoder.num_layers == 1
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value.cpu())
    other = {"tsp": "cvrp", "cvrp": "kp", "kp": "tsp"}[problem]
    with pytest.raises(CheckpointError, match=problem.upper()):
        load_policy(str(run / "best"), other)


def test_train_can_fine_tune_a_checkpoint(trained, datasets, tmp_path):
    run = trained["tsp"][0]
    start = {k: v.clone() for k, v in load_policy(str(run / "best"), "tsp").state_dict().items()}
    # The checkpoint's shape (dim 16, 1 layer) overrides the config's; a tiny learning rate
    # keeps the weights at the checkpoint's, so training really started from them.
    config = _config("tsp", *datasets["tsp"], lr=1e-12, init=str(run / "best"))
    config.dim, config.layers = 32, 2
    tuned, _ = train_bq(config, tmp_path / "tuned", progress=False)
    assert tuned.encoder.dim == 16 and tuned.encoder.num_layers == 1
    for key, value in tuned.state_dict().items():
        assert torch.allclose(value.cpu(), start[key], atol=1e-6), key
    written = json.loads((tmp_path / "tuned" / "best.json").read_text())
    assert written["training"]["init"] == str(run / "best")
    assert written["training"]["dim"] == 16
    kp_run = trained["kp"][0]
    with pytest.raises(CheckpointError, match="KP policy"):
        train_bq(_config("tsp", *datasets["tsp"], init=str(kp_run / "best")), tmp_path / "x",
                 progress=False)


def test_load_policy_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_policy(str(tmp_path / "nothing"), "tsp")


def test_train_refuses_a_dataset_of_another_problem(datasets, tmp_path):
    tsp_train = datasets["tsp"][0]
    with pytest.raises(ConfigError, match="tsp"):
        train_bq(_config("cvrp", tsp_train, datasets["cvrp"][1]), tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match="valid_data"):
        train_bq(_config("tsp", tsp_train, datasets["kp"][1]), tmp_path / "b", progress=False)
    with pytest.raises(ConfigError):
        BQTrainConfig(problem="op")
    with pytest.raises(ConfigError):
        BQTrainConfig(problem="tsp", batch_size=0)


def test_generate_dataset_resume(tmp_path):
    folder = tmp_path / "tsp"
    kw = {"seed": 3, "chunk_size": 3, "workers": 1, "progress": False}
    generate_dataset("tsp", 6, 7, folder, **kw)
    chunks = sorted(folder.glob("chunk-*.npz"))
    assert [c.name for c in chunks] == [f"chunk-0000{k}.npz" for k in range(3)]
    stamps = {c: c.stat().st_mtime_ns for c in chunks}
    manifest = (folder / "manifest.json").read_text()

    with pytest.raises(ConfigError, match="other parameters"):
        generate_dataset("tsp", 6, 7, folder, **{**kw, "seed": 4})
    with pytest.raises(ConfigError):
        generate_dataset("tsp", 7, 7, folder, **kw)
    generate_dataset("tsp", 6, 7, folder, **kw)  # same parameters: nothing to label
    assert {c: c.stat().st_mtime_ns for c in chunks} == stamps
    assert (folder / "manifest.json").read_text() == manifest

    # a lost chunk is relabelled alone, identically (chunk seeds are deterministic)
    before = dict(np.load(chunks[1]))
    chunks[1].unlink()
    generate_dataset("tsp", 6, 7, folder, **kw)
    after = dict(np.load(chunks[1]))
    assert stamps[chunks[0]] == chunks[0].stat().st_mtime_ns
    assert stamps[chunks[2]] == chunks[2].stat().st_mtime_ns
    assert before.keys() == after.keys()
    for key in before:
        assert np.array_equal(before[key], after[key])
    assert len(load_dataset(folder)["costs"]) == 9  # rounded up to whole chunks


def test_generate_dataset_rejects_bad_arguments(tmp_path):
    with pytest.raises(ConfigError):
        generate_dataset("op", 5, 2, tmp_path / "x", progress=False)
    with pytest.raises(ConfigError):
        generate_dataset("tsp", 5, 0, tmp_path / "x", progress=False)


def test_load_dataset_needs_a_manifest_and_chunks(tmp_path):
    with pytest.raises(InvalidInstanceError, match="manifest"):
        load_dataset(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"problem": "tsp"}))
    with pytest.raises(InvalidInstanceError, match="no labelled chunks"):
        load_dataset(tmp_path)


# ============================================================================ solve()


def test_solve_bq_through_baselines(trained):
    tsp_stem = str(trained["tsp"][0] / "best")
    inst = generate_tsp(15, seed=0)
    for options in ({}, {"beam": 2, "knn": 5}):
        sol = baselines.solve(inst, method="bq", checkpoint=tsp_stem, **options)
        assert sol.feasible and sol.method == "bq" and sol.tour[0] == 0
        assert sol.objective == pytest.approx(inst.tour_cost(sol.tour))

    cvrp = generate_cvrp(9, seed=1)
    sol = baselines.solve(cvrp, method="bq", checkpoint=str(trained["cvrp"][0] / "best"),
                          beam=2)
    assert sol.feasible and sol.problem == "cvrp" and sol.info["beam"] == 2
    cvrp.check_routes(sol.routes)

    kp = generate_kp(25, seed=2, capacity=5.0)
    sol = baselines.solve(kp, method="bq", checkpoint=str(trained["kp"][0] / "best"))
    assert sol.feasible and sol.problem == "kp"
    _assert_maximal(kp.values, kp.weights, kp.capacity, sol.items)


def test_solve_bq_configuration_errors(trained):
    inst = generate_tsp(8, seed=0)
    stem = str(trained["tsp"][0] / "best")
    with pytest.raises(ConfigError, match="beam"):
        solve_bq(inst, beam=0, checkpoint=stem)
    with pytest.raises(ConfigError, match="beam"):
        baselines.solve(inst, method="bq", beam=0, checkpoint=stem)
    with pytest.raises(ConfigError, match="knn"):
        solve_bq(inst, knn=1, checkpoint=stem)
    matrix_only = TSPInstance(None, distances=inst.distance_matrix())
    with pytest.raises(ConfigError, match="coordinates"):
        baselines.solve(matrix_only, method="bq", checkpoint=stem)
    with pytest.raises(CheckpointError):
        baselines.solve(generate_kp(10, seed=0), method="bq", checkpoint=stem)


def test_greedy_gaps_of_the_expert_dataset_match_decoding(trained, datasets):
    _, model, _ = trained["kp"]
    valid = load_dataset(datasets["kp"][1])
    gaps = bq_train.greedy_gaps(model, valid, "kp")
    items = decode_kp(model, valid["values"], valid["weights"], valid["capacity"])
    for gap, its, vals, cost in zip(gaps, items, valid["values"], valid["costs"],
                                    strict=True):
        # float32 values in the dataset against a float64 optimum: equal to ~1e-5 %
        assert gap == pytest.approx((1 - vals[its].sum() / cost) * 100, abs=1e-4)
        assert gap >= -1e-4  # never better than the optimum
