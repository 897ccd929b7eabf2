"""The GCNN branching policy of Gasse et al. (2019) on the bipartite node state.

Architecture (width 64): input standardisation (per-feature mean and standard deviation fitted
on the training samples and stored as buffers, the role of the paper's "pre-norm" layers),
embeddings ``Linear -> ReLU -> Linear -> ReLU`` of the 19 variable and 5 constraint features,
one variable -> constraint and one constraint -> variable half-convolution
(:class:`orlearn.nn.BipartiteGraphConv`, sum aggregation, the edge feature enters every
message), and an output ``Linear -> ReLU -> Linear`` giving one logit per variable. The policy
is a softmax over the logits of the node's branching candidates.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from orlearn.errors import CheckpointError
from orlearn.problems.branching.features import CONS_FEATURES, EDGE_FEATURES, VAR_FEATURES


class FeatureNorm(nn.Module):
    """``(x - mean) / std`` with statistics fitted once from data (saved with the weights)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, x: Tensor) -> None:
        """Set mean and std from the rows of ``x`` (constant features keep std 1)."""
        if x.numel() == 0:
            return
        x = x.to(self.mean.dtype)
        std = x.std(dim=0, unbiased=False)
        self.mean.copy_(x.mean(dim=0))
        self.std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class GCNN(nn.Module):
    """Bipartite graph convolutional branching policy.

    Args:
        emb: embedding width (64 in the paper).
        var_dim, cons_dim, edge_dim: feature counts (19, 5, 1 for the paper's state).

    ``forward(cons_x, edge_index, edge_attr, var_x) -> [n_vars]`` logits, where ``edge_index``
    row 0 indexes constraints and row 1 variables (batched graphs work unchanged).
    """

    def __init__(self, emb: int = 64, var_dim: int = len(VAR_FEATURES),
                 cons_dim: int = len(CONS_FEATURES), edge_dim: int = len(EDGE_FEATURES)) -> None:
        super().__init__()
        from orlearn.nn import BipartiteGraphConv

        self.emb, self.var_dim, self.cons_dim, self.edge_dim = emb, var_dim, cons_dim, edge_dim
        self.var_norm = FeatureNorm(var_dim)
        self.cons_norm = FeatureNorm(cons_dim)
        self.edge_norm = FeatureNorm(edge_dim)
        self.var_embed = nn.Sequential(nn.Linear(var_dim, emb), nn.ReLU(), nn.Linear(emb, emb),
                                       nn.ReLU())
        self.cons_embed = nn.Sequential(nn.Linear(cons_dim, emb), nn.ReLU(),
                                        nn.Linear(emb, emb), nn.ReLU())
        self.conv_v_to_c = BipartiteGraphConv(emb, emb, edge_dim, emb)
        self.conv_c_to_v = BipartiteGraphConv(emb, emb, edge_dim, emb)
        self.output = nn.Sequential(nn.Linear(emb, emb), nn.ReLU(), nn.Linear(emb, 1, bias=False))

    def architecture(self) -> dict[str, Any]:
        return {"class": "GCNN", "kwargs": {"emb": self.emb, "var_dim": self.var_dim,
                                            "cons_dim": self.cons_dim,
                                            "edge_dim": self.edge_dim}}

    def fit_normalization(self, samples: Any) -> None:
        """Fit the input standardisation on an iterable of :class:`BipartiteData`."""
        samples = list(samples)
        if not samples:
            return
        self.var_norm.fit(torch.cat([s.var_x for s in samples]))
        self.cons_norm.fit(torch.cat([s.cons_x for s in samples]))
        self.edge_norm.fit(torch.cat([s.edge_attr for s in samples]))

    def forward(self, cons_x: Tensor, edge_index: Tensor, edge_attr: Tensor, var_x: Tensor
                ) -> Tensor:
        if var_x.shape[-1] != self.var_dim or cons_x.shape[-1] != self.cons_dim:
            raise CheckpointError(
                f"the model expects {self.var_dim} variable / {self.cons_dim} constraint "
                f"features, got {var_x.shape[-1]} / {cons_x.shape[-1]} (a checkpoint for another "
                "feature set?)"
            )
        v = self.var_embed(self.var_norm(var_x))
        c = self.cons_embed(self.cons_norm(cons_x))
        e = self.edge_norm(edge_attr)
        c = self.conv_v_to_c(v, c, edge_index.flip(0), e)
        v = self.conv_c_to_v(c, v, edge_index, e)
        return self.output(v).squeeze(-1)

    def score(self, data: Any) -> Tensor:
        """Logits of all variables of a (batched) :class:`BipartiteData`."""
        return self(data.cons_x, data.edge_index, data.edge_attr, data.var_x)

    def candidate_logits(self, data: Any) -> Tensor:
        """Logits of ``data.candidates`` only, equal to ``score(data)[data.candidates]``.

        The constraint -> variable convolution and the output layers run on the candidates
        and their edges alone (a node has a few dozen candidates among thousands of
        variables), which roughly halves the cost of a forward pass inside the solver.
        """
        var_x, cons_x, edge_index = data.var_x, data.cons_x, data.edge_index
        candidates = data.candidates
        v = self.var_embed(self.var_norm(var_x))
        c = self.cons_embed(self.cons_norm(cons_x))
        e = self.edge_norm(data.edge_attr)
        c = self.conv_v_to_c(v, c, edge_index.flip(0), e)
        slot = torch.full((var_x.shape[0],), -1, dtype=torch.long, device=var_x.device)
        slot[candidates] = torch.arange(candidates.numel(), device=var_x.device)
        keep = slot[edge_index[1]] >= 0
        sub_edges = torch.stack([edge_index[0, keep], slot[edge_index[1, keep]]])
        v_cand = self.conv_c_to_v(c, v[candidates], sub_edges, e[keep])
        return self.output(v_cand).squeeze(-1)


def build_model(config: dict[str, Any]) -> GCNN:
    """Rebuild a :class:`GCNN` from a checkpoint config; refuse other architectures."""
    arch = config.get("architecture") or {}
    if arch.get("class") != "GCNN":
        raise CheckpointError(f"checkpoint holds a {arch.get('class')!r}, not a branching GCNN")
    kwargs = dict(arch.get("kwargs") or {})
    if (kwargs.get("var_dim", len(VAR_FEATURES)) != len(VAR_FEATURES)
            or kwargs.get("cons_dim", len(CONS_FEATURES)) != len(CONS_FEATURES)
            or kwargs.get("edge_dim", len(EDGE_FEATURES)) != len(EDGE_FEATURES)):
        raise CheckpointError(
            f"checkpoint feature sizes (var {kwargs.get('var_dim')}, cons "
            f"{kwargs.get('cons_dim')}, edge {kwargs.get('edge_dim')}) do not match this "
            f"version's state ({len(VAR_FEATURES)}, {len(CONS_FEATURES)}, {len(EDGE_FEATURES)})"
        )
    return GCNN(**kwargs)


def load_policy(path_or_name: str) -> tuple[GCNN, dict[str, Any]]:
    """Load a GCNN from a checkpoint stem, or a shipped checkpoint name (``branching-setcover``)."""
    from pathlib import Path

    from orlearn.nn import list_pretrained, load, load_checkpoint

    if path_or_name in list_pretrained():
        model, config = load(path_or_name, build_model)
        return model, config  # type: ignore[return-value]
    stem = Path(path_or_name)
    if stem.suffix in (".json", ".safetensors"):
        stem = stem.with_suffix("")
    if not stem.with_suffix(".json").exists():
        raise CheckpointError(
            f"no checkpoint {path_or_name!r}: neither a file stem nor a shipped name "
            f"(shipped: {', '.join(n for n in list_pretrained() if 'branching' in n) or 'none'})"
        )
    _, config = load_checkpoint(stem)
    model = build_model(config)
    load_checkpoint(stem, model)
    model.eval()
    return model, config


__all__ = ["GCNN", "FeatureNorm", "build_model", "load_policy"]
