"""Message-passing blocks on PyTorch Geometric.

* :class:`BipartiteGraphConv`: the half-convolution of the branching GCNN (Gasse et al.,
  NeurIPS 2019) on the variable/constraint bipartite graph of a MILP. One call passes
  messages from the *left* node set to the *right* one; a GCNN chains a variable->constraint
  and a constraint->variable convolution (flip ``edge_index`` for the second).
* :class:`ResidualMessagePassing`: a node-and-edge residual block for inventory networks
  (HDPO's GNN policy): edges are updated from their two end nodes, nodes from the sums of
  their incoming and outgoing edges, each with a residual connection.

Both are permutation equivariant and act on batched graphs (PyG ``Batch``: disjoint union
with offset node indices) exactly as on the graphs one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from orlearn.errors import InvalidInstanceError
from orlearn.nn.layers import MLP

_EDGE_BLOCK = 4096  # edges per block in the CPU inference path of BipartiteGraphConv


def _check_graph(edge_index: Tensor, edge_attr: Tensor | None, edge_dim: int) -> None:
    """Cheap shape checks (no device sync: index bounds are left to PyG)."""
    if edge_index.dim() != 2 or edge_index.shape[0] != 2 or edge_index.is_floating_point():
        raise InvalidInstanceError(
            "edge_index",
            f"expected an integer tensor of shape [2, E], got {edge_index.dtype} "
            f"{list(edge_index.shape)}",
        )
    if edge_dim == 0:
        if edge_attr is not None and edge_attr.numel() > 0:
            raise InvalidInstanceError("edge_attr", "given but the layer has edge_dim=0")
        return
    if edge_attr is None or edge_attr.shape != (edge_index.shape[1], edge_dim):
        got = None if edge_attr is None else list(edge_attr.shape)
        raise InvalidInstanceError(
            "edge_attr", f"expected shape [{edge_index.shape[1]}, {edge_dim}], got {got}"
        )


class BipartiteGraphConv(MessagePassing):
    """Gasse et al. (2019) bipartite half-convolution from a left to a right node set.

    For every right node ``i``::

        m_i = sum over edges (j -> i) of  MLP_msg([x_left_j, e_ji, x_right_i])
        out_i = MLP_out([LayerNorm(m_i), x_right_i])

    ``MLP_msg`` is ``Linear -> LayerNorm -> ReLU -> Linear`` (a linear map of the
    concatenation equals the sum of the three separate linear maps of the original), and
    ``MLP_out`` is ``Linear -> ReLU -> Linear``.

    Args:
        left_dim: features of the source nodes (e.g. variables).
        right_dim: features of the target nodes (e.g. constraints).
        edge_dim: edge features (1 for the normalised coefficient; 0 for none).
        out_dim: output features of the right nodes.
        hidden: width of the messages (default ``out_dim``; Gasse et al. use 64).
        aggr: PyG aggregation, ``"add"`` (the paper's sum) or ``"mean"`` / ``"max"``.
        layer_norm: the LayerNorms of the paper (inside the message and after aggregation).

    Shapes: ``forward(x_left [n_left, left_dim], x_right [n_right, right_dim],
    edge_index [2, E] (row 0 indexes left nodes, row 1 right nodes), edge_attr [E, edge_dim])
    -> [n_right, out_dim]``. Right nodes without edges get ``m_i = 0``.
    """

    def __init__(
        self,
        left_dim: int,
        right_dim: int,
        edge_dim: int,
        out_dim: int,
        hidden: int | None = None,
        aggr: str = "add",
        layer_norm: bool = True,
    ) -> None:
        super().__init__(aggr=aggr, flow="source_to_target")
        hidden = out_dim if hidden is None else hidden
        self.left_channels, self.right_channels = left_dim, right_dim
        self.edge_channels = edge_dim
        self.message_mlp = MLP(
            left_dim + edge_dim + right_dim, [hidden], hidden, layer_norm=layer_norm
        )
        self.aggregate_norm: nn.Module = nn.LayerNorm(hidden) if layer_norm else nn.Identity()
        self.output_mlp = MLP(hidden + right_dim, [hidden], out_dim)

    def forward(
        self,
        x_left: Tensor,
        x_right: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor | None = None,
    ) -> Tensor:
        """Convolve left-node features into the right nodes (see the class docstring)."""
        _check_graph(edge_index, edge_attr, self.edge_channels)
        if self.aggr == "add":
            aggregated = self._fused_messages(x_left, x_right, edge_index, edge_attr)
        else:
            aggregated = self.propagate(
                edge_index,
                x=(x_left, x_right),
                edge_attr=edge_attr if self.edge_channels else None,
                size=(x_left.shape[0], x_right.shape[0]),
            )
        return self.output_mlp(torch.cat([self.aggregate_norm(aggregated), x_right], dim=-1))

    def _fused_messages(
        self, x_left: Tensor, x_right: Tensor, edge_index: Tensor, edge_attr: Tensor | None
    ) -> Tensor:
        """Summed messages, with both linear maps of the message MLP moved off the edges.

        ``W [x_j, e, x_i] + b = W_l x_j + W_e e + W_r x_i + b``: the two node terms are
        computed once per node and gathered. The last layer is linear too, so the sum of
        ``W2 h_e + b2`` over the edges into a node is ``W2 (sum of h_e) + deg * b2``: only the
        LayerNorm and activation run per edge. The same function as :meth:`message` summed,
        at a fraction of the cost on graphs with many more edges than nodes.
        """
        layers = self.message_mlp.net
        first, last = layers[0], layers[-1]
        if not isinstance(last, nn.Linear):  # an output activation would not commute
            return self.propagate(edge_index, x=(x_left, x_right),
                                  edge_attr=edge_attr if self.edge_channels else None,
                                  size=(x_left.shape[0], x_right.shape[0]))
        w_left, w_edge, w_right = torch.split(
            first.weight, [self.left_channels, self.edge_channels, self.right_channels], dim=1
        )
        src, dst = edge_index[0], edge_index[1]
        per_left = x_left @ w_left.T
        per_right = torch.addmm(first.bias, x_right, w_right.T)
        middle = layers[1:-1]
        n_right, width = x_right.shape[0], per_left.shape[-1]
        summed = torch.zeros(n_right, width, dtype=per_left.dtype, device=per_left.device)
        if torch.is_grad_enabled() or per_left.device.type != "cpu":
            hidden = torch.index_select(per_left, 0, src)
            hidden = hidden + torch.index_select(per_right, 0, dst)
            if self.edge_channels:
                hidden = torch.addmm(hidden, edge_attr, w_edge.T)
            summed = summed.index_add_(0, dst, middle(hidden))
        else:
            # Inference on a CPU: edges in cache-sized blocks through two reused buffers
            # (about 1.5x faster than whole-graph temporaries on a 34k-edge set cover node).
            block = max(1, min(_EDGE_BLOCK, src.numel()))
            gathered = per_left.new_empty(block, width)
            scratch = per_left.new_empty(block, width)
            for start in range(0, src.numel(), block):
                stop = min(start + block, src.numel())
                rows = stop - start
                hidden = torch.index_select(per_left, 0, src[start:stop], out=gathered[:rows])
                hidden.add_(torch.index_select(per_right, 0, dst[start:stop],
                                               out=scratch[:rows]))
                if self.edge_channels:
                    hidden.addmm_(edge_attr[start:stop], w_edge.T)
                summed.index_add_(0, dst[start:stop], middle(hidden))
        out = summed @ last.weight.T
        if last.bias is not None:
            degree = torch.bincount(dst, minlength=n_right).to(out.dtype)
            out = torch.addr(out, degree, last.bias)
        return out

    def message(self, x_j: Tensor, x_i: Tensor, edge_attr: Tensor | None) -> Tensor:
        """Message of edge ``j -> i`` from left node ``j``, the edge and right node ``i``."""
        parts = [x_j, x_i] if edge_attr is None else [x_j, edge_attr, x_i]
        return self.message_mlp(torch.cat(parts, dim=-1))


class ResidualMessagePassing(MessagePassing):
    """One residual node-and-edge update on a directed graph (inventory GNN).

    For an edge ``j -> i`` (e.g. warehouse -> store) and a node ``v``::

        e'_ji = e_ji + MLP_edge([x_j, x_i, e_ji])
        x'_v  = x_v + MLP_node([x_v, sum of e' into v, sum of e' out of v])

    Using incoming and outgoing sums separately lets information flow both ways along
    directed supply edges while keeping the two roles apart. Widths are preserved, so blocks
    stack; HDPO uses one step for a warehouse-store network and ``echelons + 1`` for a serial
    system, with ``hidden = (32, 32)``.

    Args:
        node_dim: node embedding width.
        edge_dim: edge embedding width.
        hidden: hidden widths of both MLPs.
        activation: MLP activation.
        aggr: aggregation of edge embeddings at nodes (``"add"``, ``"mean"``, ``"max"``).

    Shapes: ``forward(x [N, node_dim], edge_index [2, E] (row 0 source, row 1 target),
    edge_attr [E, edge_dim]) -> (x' [N, node_dim], edge_attr' [E, edge_dim])``.
    """

    def __init__(
        self,
        node_dim: int,
        edge_dim: int,
        hidden: Sequence[int] = (32, 32),
        activation: str = "relu",
        aggr: str = "add",
    ) -> None:
        super().__init__(aggr=aggr, flow="source_to_target")
        self.node_channels, self.edge_channels = node_dim, edge_dim
        self.edge_mlp = MLP(2 * node_dim + edge_dim, hidden, edge_dim, activation=activation)
        self.node_mlp = MLP(node_dim + 2 * edge_dim, hidden, node_dim, activation=activation)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> tuple[Tensor, Tensor]:
        """Update edges, then nodes; returns ``(x', edge_attr')``.

        With ``x`` of shape [B, N, node_dim] and ``edge_attr`` [B, E, edge_dim], the B graphs
        share one ``edge_index`` [2, E] (e.g. one supply network, many demand sample paths):
        the same update runs batched along the node axis, without building a disjoint union.
        """
        if x.dim() == 3:
            return self._forward_shared(x, edge_index, edge_attr)
        n = x.shape[0]
        _check_graph(edge_index, edge_attr, self.edge_channels)
        edge_attr = edge_attr + self.edge_updater(edge_index, x=x, edge_attr=edge_attr)
        incoming = self.propagate(edge_index, edge_attr=edge_attr, size=(n, n))
        outgoing = self.propagate(edge_index.flip(0), edge_attr=edge_attr, size=(n, n))
        x = x + self.node_mlp(torch.cat([x, incoming, outgoing], dim=-1))
        return x, edge_attr

    def _forward_shared(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor
                        ) -> tuple[Tensor, Tensor]:
        if edge_attr.dim() != 3 or edge_attr.shape[:2] != (x.shape[0], edge_index.shape[1]):
            raise InvalidInstanceError(
                "edge_attr", f"expected [B={x.shape[0]}, E={edge_index.shape[1]}, "
                f"{self.edge_channels}], got {list(edge_attr.shape)}")
        _check_graph(edge_index, edge_attr[0], self.edge_channels)
        src, dst = edge_index
        if self.aggr != "add":
            raise InvalidInstanceError("aggr", "the shared-graph batch supports aggr='add' only")
        # the edge and node MLPs of the concatenations, without building them
        edge_attr = edge_attr + self.edge_mlp.forward_concat([(x, src), (x, dst), edge_attr])
        incoming = torch.zeros(*x.shape[:2], self.edge_channels, dtype=x.dtype, device=x.device)
        incoming = incoming.index_add(1, dst, edge_attr)
        outgoing = torch.zeros_like(incoming).index_add(1, src, edge_attr)
        x = x + self.node_mlp.forward_concat([x, incoming, outgoing])
        return x, edge_attr

    def edge_update(self, x_j: Tensor, x_i: Tensor, edge_attr: Tensor) -> Tensor:
        """Residual increment of edge ``j -> i`` from its source, its target and itself."""
        return self.edge_mlp(torch.cat([x_j, x_i, edge_attr], dim=-1))

    def message(self, edge_attr: Tensor) -> Tensor:
        """Each edge sends its (updated) embedding."""
        return edge_attr


__all__ = ["BipartiteGraphConv", "ResidualMessagePassing"]
