"""Tests of orlearn.nn.layers: MLP, ReZero encoder layer, attention encoder."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from orlearn.errors import ConfigError, InvalidInstanceError
from orlearn.nn import MLP, AttentionEncoder, ReZeroEncoderLayer, count_parameters
from orlearn.nn.checkpoint import build_from_config


def _randomise_alphas(module: nn.Module, generator: torch.Generator) -> None:
    """Give every ReZero scalar a non-zero value so the layers are not the identity."""
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "alpha" in name:
                parameter.copy_(0.5 + torch.rand((), generator=generator))


@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh", "elu"])
def test_mlp_shapes(activation: str) -> None:
    mlp = MLP(3, [16, 8], 2, activation=activation)
    assert mlp(torch.randn(4, 7, 3)).shape == (4, 7, 2)
    assert mlp(torch.randn(3)).shape == (2,)
    assert count_parameters(mlp) == (3 * 16 + 16) + (16 * 8 + 8) + (8 * 2 + 2)


def test_mlp_options() -> None:
    single = MLP(5, [], 1)
    assert [type(m) for m in single.net] == [nn.Linear]
    mlp = MLP(4, [8], 3, dropout=0.1, layer_norm=True, out_activation="softplus")
    kinds = [type(m) for m in mlp.net]
    assert kinds == [nn.Linear, nn.LayerNorm, nn.ReLU, nn.Dropout, nn.Linear, nn.Softplus]
    assert (mlp(torch.randn(10, 4)) >= 0).all()
    rebuilt = build_from_config({"architecture": mlp.architecture()}, MLP)
    assert [type(m) for m in rebuilt.net] == kinds


@pytest.mark.parametrize(
    "kwargs",
    [
        {"activation": "swishy"},
        {"out_activation": "softmaxx"},
        {"dropout": 1.5},
        {"hidden": [8, 0]},
        {"hidden": 8},
        {"in_dim": 0},
    ],
)
def test_mlp_rejects_bad_options(kwargs: dict) -> None:
    args = {"in_dim": 3, "hidden": [8], "out_dim": 2, **kwargs}
    with pytest.raises(ConfigError):
        MLP(**args)


def test_rezero_layer_is_identity_at_init() -> None:
    torch.manual_seed(0)
    layer = ReZeroEncoderLayer(dim=32, heads=4, ff_dim=64)
    x = torch.randn(3, 5, 32)
    mask = torch.zeros(3, 5, dtype=torch.bool)
    mask[0, 3:] = True
    assert torch.equal(layer(x), x)
    assert torch.equal(layer(x, mask), x)
    # ReZero still trains: the gradient reaches both alphas at init.
    layer(x).pow(2).sum().backward()
    assert layer.alpha_attention.grad is not None and layer.alpha_attention.grad != 0
    assert layer.alpha_feed_forward.grad is not None and layer.alpha_feed_forward.grad != 0


def test_rezero_layer_masking() -> None:
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    layer = ReZeroEncoderLayer(dim=16, heads=2, ff_dim=32).eval()
    _randomise_alphas(layer, generator)
    x = torch.randn(1, 6, 16, generator=generator)
    mask = torch.tensor([[False, False, False, False, True, True]])
    out = layer(x, mask)
    x_changed = x.clone()
    x_changed[0, 4:] = 100.0 * torch.randn(2, 16, generator=generator)
    out_changed = layer(x_changed, mask)
    torch.testing.assert_close(out[0, :4], out_changed[0, :4])
    torch.testing.assert_close(out[0, :4], layer(x[:, :4])[0])


def test_rezero_self_attention_equals_multihead_attention() -> None:
    """The scaled-dot-product path computes nn.MultiheadAttention's function on its weights."""
    torch.manual_seed(3)
    layer = ReZeroEncoderLayer(dim=24, heads=3, ff_dim=16)
    x = torch.randn(4, 7, 24, requires_grad=True)
    mask = torch.zeros(4, 7, dtype=torch.bool)
    mask[1, 5:] = True
    mask[2, 1:] = True
    for train in (True, False):
        layer.train(train)
        for m in (None, mask):
            ours = layer.self_attention(x, m)
            with torch.no_grad():
                ref, _ = layer.attention(x, x, x, key_padding_mask=m, need_weights=False)
            real = torch.ones(4, 7, dtype=torch.bool) if m is None else ~m
            torch.testing.assert_close(ours[real], ref[real], atol=1e-5, rtol=1e-5)
    # gradients reach the in- and out-projections
    layer.train()
    layer.self_attention(x, mask).sum().backward()
    assert layer.attention.in_proj_weight.grad is not None
    assert layer.attention.out_proj.weight.grad is not None


def test_attention_encoder_masking_matches_unpadded_run() -> None:
    generator = torch.Generator().manual_seed(2)
    torch.manual_seed(2)
    encoder = AttentionEncoder(in_dim=2, dim=32, layers=3, heads=4, ff_dim=64).eval()
    _randomise_alphas(encoder, generator)
    lengths = [6, 4, 0]
    x = torch.rand(3, 6, 2, generator=generator)
    mask = torch.arange(6)[None, :] >= torch.tensor(lengths)[:, None]
    out = encoder(x, mask)
    assert out.shape == (3, 6, 32)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], encoder(x[:1])[0])
    torch.testing.assert_close(out[1, :4], encoder(x[1:2, :4])[0])
    assert torch.equal(out[1, 4:], torch.zeros(2, 32))
    assert torch.equal(out[2], torch.zeros(6, 32))  # a fully padded row gives zeros, no NaN


def test_attention_encoder_identity_after_projection_at_init() -> None:
    encoder = AttentionEncoder(in_dim=4, dim=24, layers=2, heads=3, ff_dim=16)
    x = torch.randn(2, 5, 4)
    torch.testing.assert_close(encoder(x), encoder.input_projection(x))


@pytest.mark.parametrize(("in_dim", "expected"), [(2, 3_110_418), (4, 3_110_802)])
def test_bq_nco_parameter_count(in_dim: int, expected: int) -> None:
    encoder = AttentionEncoder(in_dim)
    assert count_parameters(encoder) == expected
    assert abs(count_parameters(encoder) - 3.1e6) < 0.05e6


def test_attention_encoder_rejects_bad_shapes() -> None:
    with pytest.raises(ConfigError):
        AttentionEncoder(2, dim=30, heads=4)
    encoder = AttentionEncoder(2, dim=8, layers=1, heads=2, ff_dim=8)
    with pytest.raises(InvalidInstanceError):
        encoder(torch.randn(2, 5, 3))
    with pytest.raises(InvalidInstanceError):
        encoder(torch.randn(2, 5, 2), torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(InvalidInstanceError):
        encoder(torch.randn(2, 5, 2), torch.zeros(2, 5))
