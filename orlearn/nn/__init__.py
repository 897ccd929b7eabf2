"""Shared neural pieces: layers, message passing, training loop, checkpoints.

``orlearn.nn.gnn`` (PyTorch Geometric) is imported on first use of its names, so that
``import orlearn.nn`` stays fast for code that needs no graph layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orlearn.nn.checkpoint import (
    build_from_config,
    list_pretrained,
    load,
    load_checkpoint,
    machine_description,
    pretrained_dir,
    save_checkpoint,
    update_metadata,
)
from orlearn.nn.layers import MLP, AttentionEncoder, ReZeroEncoderLayer, count_parameters
from orlearn.nn.training import (
    EarlyStopping,
    TrainHistory,
    amp_dtype,
    autocast,
    fit,
    get_device,
    grad_scaler,
    seed_everything,
    torch_generator,
)

if TYPE_CHECKING:
    from orlearn.nn.gnn import BipartiteGraphConv, ResidualMessagePassing

_LAZY = {"BipartiteGraphConv", "ResidualMessagePassing"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from orlearn.nn import gnn

        return getattr(gnn, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MLP",
    "AttentionEncoder",
    "BipartiteGraphConv",
    "EarlyStopping",
    "ReZeroEncoderLayer",
    "ResidualMessagePassing",
    "TrainHistory",
    "amp_dtype",
    "autocast",
    "build_from_config",
    "count_parameters",
    "fit",
    "get_device",
    "grad_scaler",
    "list_pretrained",
    "load",
    "load_checkpoint",
    "machine_description",
    "pretrained_dir",
    "save_checkpoint",
    "seed_everything",
    "torch_generator",
    "update_metadata",
]
