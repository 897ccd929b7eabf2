"""Tests of orlearn.nn.gnn: shapes, permutation equivariance, batching."""

from __future__ import annotations

import pytest
import torch

from orlearn.errors import InvalidInstanceError
from orlearn.nn import BipartiteGraphConv, ResidualMessagePassing


def _bipartite_graph(
    n_left: int, n_right: int, n_edges: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    pairs = torch.randperm(n_left * n_right, generator=generator)[:n_edges]
    edge_index = torch.stack([pairs // n_right, pairs % n_right])
    x_left = torch.randn(n_left, 6, generator=generator)
    x_right = torch.randn(n_right, 4, generator=generator)
    edge_attr = torch.randn(n_edges, 1, generator=generator)
    return x_left, x_right, edge_index, edge_attr


@pytest.fixture
def conv() -> BipartiteGraphConv:
    torch.manual_seed(0)
    return BipartiteGraphConv(left_dim=6, right_dim=4, edge_dim=1, out_dim=8, hidden=16).eval()


def test_bipartite_conv_shapes(conv: BipartiteGraphConv) -> None:
    x_left, x_right, edge_index, edge_attr = _bipartite_graph(7, 5, 12, seed=1)
    out = conv(x_left, x_right, edge_index, edge_attr)
    assert out.shape == (5, 8)
    # The reverse half-convolution (right -> left) on the flipped edges.
    back = BipartiteGraphConv(left_dim=4, right_dim=6, edge_dim=1, out_dim=3)
    assert back(x_right, x_left, edge_index.flip(0), edge_attr).shape == (7, 3)
    # A right node without edges still gets a finite output.
    lonely = conv(x_left, torch.randn(6, 4), edge_index, edge_attr)
    assert lonely.shape == (6, 8) and torch.isfinite(lonely).all()
    without_edge_features = BipartiteGraphConv(6, 4, 0, 8)
    assert without_edge_features(x_left, x_right, edge_index).shape == (5, 8)


def test_bipartite_conv_permutation_equivariance(conv: BipartiteGraphConv) -> None:
    x_left, x_right, edge_index, edge_attr = _bipartite_graph(7, 5, 12, seed=2)
    out = conv(x_left, x_right, edge_index, edge_attr)
    perm_left, perm_right, perm_edges = torch.randperm(7), torch.randperm(5), torch.randperm(12)
    # New node k is old node perm[k]; relabel edges with the inverse permutations.
    inv_left, inv_right = torch.argsort(perm_left), torch.argsort(perm_right)
    permuted_index = torch.stack([inv_left[edge_index[0]], inv_right[edge_index[1]]])
    out_permuted = conv(
        x_left[perm_left],
        x_right[perm_right],
        permuted_index[:, perm_edges],
        edge_attr[perm_edges],
    )
    torch.testing.assert_close(out_permuted, out[perm_right], atol=1e-5, rtol=1e-5)


def test_bipartite_conv_batching_equals_separate(conv: BipartiteGraphConv) -> None:
    first = _bipartite_graph(7, 5, 12, seed=3)
    second = _bipartite_graph(4, 6, 9, seed=4)
    offsets = torch.tensor([[7], [5]])
    batched = conv(
        torch.cat([first[0], second[0]]),
        torch.cat([first[1], second[1]]),
        torch.cat([first[2], second[2] + offsets], dim=1),
        torch.cat([first[3], second[3]]),
    )
    separate = torch.cat([conv(*first), conv(*second)])
    torch.testing.assert_close(batched, separate, atol=1e-5, rtol=1e-5)


def _directed_graph(
    n_nodes: int, n_edges: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, n_nodes, (2, n_edges), generator=generator)
    return (
        torch.randn(n_nodes, 5, generator=generator),
        edge_index,
        torch.randn(n_edges, 3, generator=generator),
    )


@pytest.fixture
def block() -> ResidualMessagePassing:
    torch.manual_seed(0)
    return ResidualMessagePassing(node_dim=5, edge_dim=3, hidden=(16, 16))


def test_residual_message_passing_shapes_and_stacking(block: ResidualMessagePassing) -> None:
    x, edge_index, edge_attr = _directed_graph(6, 10, seed=5)
    x_new, edge_new = block(x, edge_index, edge_attr)
    assert x_new.shape == (6, 5) and edge_new.shape == (10, 3)
    x_two, edge_two = block(x_new, edge_index, edge_new)
    assert x_two.shape == (6, 5) and edge_two.shape == (10, 3)
    # The residual form: with zeroed last layers the block is the identity.
    with torch.no_grad():
        for mlp in (block.edge_mlp, block.node_mlp):
            mlp.net[-1].weight.zero_()
            mlp.net[-1].bias.zero_()
    x_same, edge_same = block(x, edge_index, edge_attr)
    assert torch.equal(x_same, x) and torch.equal(edge_same, edge_attr)


def test_residual_message_passing_permutation(block: ResidualMessagePassing) -> None:
    x, edge_index, edge_attr = _directed_graph(6, 10, seed=6)
    x_new, edge_new = block(x, edge_index, edge_attr)
    perm, perm_edges = torch.randperm(6), torch.randperm(10)
    inverse = torch.argsort(perm)
    x_p, edge_p = block(x[perm], inverse[edge_index][:, perm_edges], edge_attr[perm_edges])
    torch.testing.assert_close(x_p, x_new[perm], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(edge_p, edge_new[perm_edges], atol=1e-5, rtol=1e-5)


def test_residual_message_passing_batching(block: ResidualMessagePassing) -> None:
    first, second = _directed_graph(6, 10, seed=7), _directed_graph(3, 4, seed=8)
    x, edge_attr = block(
        torch.cat([first[0], second[0]]),
        torch.cat([first[1], second[1] + 6], dim=1),
        torch.cat([first[2], second[2]]),
    )
    (x1, e1), (x2, e2) = block(*first), block(*second)
    torch.testing.assert_close(x, torch.cat([x1, x2]), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(edge_attr, torch.cat([e1, e2]), atol=1e-5, rtol=1e-5)


def test_graph_shape_errors(conv: BipartiteGraphConv, block: ResidualMessagePassing) -> None:
    x_left, x_right, edge_index, edge_attr = _bipartite_graph(7, 5, 12, seed=9)
    with pytest.raises(InvalidInstanceError, match="edge_index"):
        conv(x_left, x_right, edge_index.T, edge_attr)
    with pytest.raises(InvalidInstanceError, match="edge_attr"):
        conv(x_left, x_right, edge_index, edge_attr[:5])
    with pytest.raises(InvalidInstanceError, match="edge_attr"):
        conv(x_left, x_right, edge_index, None)
    x, index, attr = _directed_graph(6, 10, seed=10)
    with pytest.raises(InvalidInstanceError, match="edge_attr"):
        block(x, index, attr[:, :2])


def test_residual_block_shared_graph_batch_equals_pyg_path() -> None:
    from orlearn.nn import ResidualMessagePassing

    torch.manual_seed(0)
    block = ResidualMessagePassing(8, 6, hidden=(16,))
    edge_index = torch.tensor([[3, 0, 0, 1], [0, 1, 2, 3]])
    x = torch.randn(5, 4, 8)
    e = torch.randn(5, 4, 6)
    xb, eb = block(x, edge_index, e)
    for b in range(5):
        xs, es = block(x[b], edge_index, e[b])
        assert torch.allclose(xb[b], xs, atol=1e-5)
        assert torch.allclose(eb[b], es, atol=1e-5)


def test_bipartite_conv_fused_messages_equal_per_edge_messages(conv: BipartiteGraphConv) -> None:
    """The per-node first linear map (sum aggregation) is the paper's per-edge message."""
    torch.manual_seed(3)
    x_left, x_right = torch.randn(7, conv.left_channels), torch.randn(5, conv.right_channels)
    edge_index = torch.stack([torch.randint(0, 7, (30,)), torch.randint(0, 5, (30,))])
    edge_attr = torch.randn(30, conv.edge_channels)
    fused = conv._fused_messages(x_left, x_right, edge_index, edge_attr)
    per_edge = conv.propagate(edge_index, x=(x_left, x_right), edge_attr=edge_attr,
                              size=(7, 5))
    torch.testing.assert_close(fused, per_edge, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("n_edges", [0, 1, 4096, 9000])
def test_bipartite_conv_blocked_inference_equals_training_path(conv: BipartiteGraphConv,
                                                               n_edges: int) -> None:
    """The CPU inference path (edges in blocks, reused buffers) is the autograd path's
    function, on graphs smaller and larger than one block and on a graph with no edges."""
    torch.manual_seed(4)
    x_left, x_right = torch.randn(300, conv.left_channels), torch.randn(40, conv.right_channels)
    edge_index = torch.stack([torch.randint(0, 300, (n_edges,)),
                              torch.randint(0, 40, (n_edges,))])
    edge_attr = torch.randn(n_edges, conv.edge_channels)
    with torch.enable_grad():
        training = conv(x_left, x_right, edge_index, edge_attr)
    with torch.inference_mode():
        inference = conv(x_left, x_right, edge_index, edge_attr)
    per_edge = conv.propagate(edge_index, x=(x_left, x_right), edge_attr=edge_attr,
                              size=(300, 40))
    torch.testing.assert_close(inference, training.detach(), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(
        conv._fused_messages(x_left, x_right, edge_index, edge_attr), per_edge.detach(),
        atol=1e-4, rtol=1e-4)
    if n_edges == 0:
        assert torch.count_nonzero(per_edge) == 0
