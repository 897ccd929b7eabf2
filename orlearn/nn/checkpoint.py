"""Checkpoints: weights in safetensors, everything else in a JSON file next to them.

A checkpoint is a *pair of files sharing one stem*: ``runs/tsp100/best.safetensors`` holds the
tensors and ``runs/tsp100/best.json`` the configuration. Every function here takes the stem
(``runs/tsp100/best``); a path ending in ``.safetensors`` or ``.json`` is accepted too and the
suffix is dropped. Loading never unpickles anything (no ``torch.load``), so a checkpoint from
an untrusted source can at worst fail to load.

The JSON file holds::

    {
      "format_version": 1,
      "kind": "weights",
      "architecture": {"class": "AttentionEncoder", "kwargs": {"in_dim": 2, ...}},
      "training": {"command": "...", "data": "...", "seed": 0, ...},
      ...                                   # any other key of the caller's config, verbatim
      "metadata": {"validation": {"value": 0.031, "epoch": 41, "mode": "min"}, ...},
      "orlearn_version": "0.1.0",
      "created": "2025-01-31T12:00:00+00:00",
      "weights": {"file": "best.safetensors", "sha256": "...", "n_parameters": 3110409,
                  "n_tensors": 128}
    }

``load_checkpoint`` checks the sha256 before it parses the weights, so a truncated or
corrupted file is refused with a message instead of loading garbage.

Shipped checkpoints live in the ``orlearn/pretrained/`` package folder and are found by stem
with :func:`load` / :func:`list_pretrained`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save
from torch import Tensor, nn

from orlearn._files import atomic_write  # re-exported: part of this module's API
from orlearn.errors import CheckpointError, ConfigError
from orlearn.nn.layers import count_parameters

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Version of the JSON layout written by :func:`save_checkpoint`."""

RESERVED_KEYS = ("format_version", "kind", "metadata", "orlearn_version", "created", "weights")
_MAX_LISTED = 5  # keys listed in a mismatch message


# ----------------------------------------------------------------------------- paths and files


def checkpoint_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Return ``(weights_file, json_file)`` of the checkpoint with stem ``path``.

    ``path`` may end in ``.safetensors`` or ``.json``; the suffix is dropped. Any other suffix
    is kept as part of the name (``model.v2`` -> ``model.v2.safetensors``).
    """
    stem = Path(path)
    if stem.suffix in (".safetensors", ".json"):
        stem = stem.with_suffix("")
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def _orlearn_version() -> str:
    try:
        import orlearn

        version = getattr(orlearn, "__version__", None)
        if isinstance(version, str):
            return version
    except Exception:  # pragma: no cover - a broken package import must not break saving
        pass
    try:
        from importlib.metadata import version as _dist_version

        return _dist_version("orlearn")
    except Exception:
        return "unknown"


def _json_default(value: Any) -> Any:
    """Convert the few non-JSON types a config commonly holds (paths, numpy scalars)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item) and getattr(value, "ndim", 1) == 0:
        return item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json_text(obj: Any, what: str = "config") -> str:
    """Serialise ``obj`` to indented JSON; a value JSON cannot hold raises :class:`ConfigError`."""
    try:
        return json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n"
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} cannot be written as JSON: {exc}") from exc


def write_tensor_pair(
    path: str | os.PathLike[str], tensors: Mapping[str, Tensor], document: dict[str, Any]
) -> Path:
    """Write ``tensors`` to ``<stem>.safetensors`` and ``document`` (+ the file's sha256) as JSON.

    Low-level writer shared by :func:`save_checkpoint` and the training-state files of
    :func:`orlearn.nn.fit`. ``document["weights"]`` is filled in here. The weights file is
    written first, then the JSON, each atomically. Returns the stem.
    """
    weights_file, json_file = checkpoint_paths(path)
    flat: dict[str, Tensor] = {}
    for key, value in tensors.items():
        if not isinstance(value, Tensor):
            raise ConfigError(
                f"state entry {key!r} is a {type(value).__name__}, not a tensor; "
                "safetensors stores tensors only"
            )
        # A private contiguous CPU copy: safetensors refuses shared or strided storage.
        flat[key] = value.detach().to("cpu", copy=True).contiguous()
    blob = _st_save(flat)
    weights_info = dict(document.get("weights") or {})
    weights_info.update(
        file=weights_file.name,
        sha256=hashlib.sha256(blob).hexdigest(),
        n_tensors=len(flat),
    )
    weights_info.setdefault("n_parameters", sum(t.numel() for t in flat.values()))
    document = {**document, "weights": weights_info}
    text = to_json_text(document)
    atomic_write(weights_file, blob)
    atomic_write(json_file, text.encode("utf-8"))
    return weights_file.with_suffix("")


def _read_document(json_file: Path) -> dict[str, Any]:
    """Parse a checkpoint's JSON and check it is an orlearn checkpoint of a readable format."""
    try:
        document = json.loads(json_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(
            f"{json_file} is not valid JSON ({exc}); restore it or re-save the checkpoint"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("weights"), dict):
        raise CheckpointError(
            f"{json_file} is not an orlearn checkpoint config (no 'weights' section); "
            "re-save it with orlearn.nn.save_checkpoint"
        )
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{json_file} has format_version {version!r}; this orlearn reads up to "
            f"{FORMAT_VERSION} (upgrade orlearn)"
        )
    return document


def read_tensor_pair(
    path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu"
) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read and verify a ``<stem>.safetensors`` + ``<stem>.json`` pair.

    Raises :class:`CheckpointError` when a file is missing, the JSON is malformed or from a
    newer format, the sha256 recorded in the JSON does not match the weights file, or
    safetensors cannot parse the weights. Tensors are returned on ``map_location``.
    """
    weights_file, json_file = checkpoint_paths(path)
    for file in (json_file, weights_file):
        if not file.is_file():
            raise CheckpointError(
                f"checkpoint file {file} not found (a checkpoint is a pair "
                f"{weights_file.name} + {json_file.name}; check the path or re-save it)"
            )
    document = _read_document(json_file)
    blob = weights_file.read_bytes()
    expected = document["weights"].get("sha256")
    actual = hashlib.sha256(blob).hexdigest()
    if expected != actual:
        raise CheckpointError(
            f"{weights_file} is corrupted or was replaced: sha256 {actual[:12]}... does not "
            f"match {str(expected)[:12]}... recorded in {json_file.name} (re-download or "
            "re-save the checkpoint)"
        )
    try:
        tensors = _st_load(blob)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"{weights_file} cannot be parsed as safetensors ({exc}); re-save the checkpoint"
        ) from None
    device = _map_device(map_location)
    if device.type != "cpu":
        tensors = {key: value.to(device) for key, value in tensors.items()}
    return tensors, document


def _map_device(map_location: str | torch.device) -> torch.device:
    from orlearn.nn.training import get_device  # local: training imports this module

    return get_device(map_location)


# ----------------------------------------------------------------------------- save / load


def save_checkpoint(
    path: str | os.PathLike[str],
    model_or_state_dict: nn.Module | Mapping[str, Tensor],
    config: Mapping[str, Any],
    *,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save model weights as ``<path>.safetensors`` and their config as ``<path>.json``.

    Args:
        path: the checkpoint stem, e.g. ``runs/tsp100/best`` (parents are created). A
            ``.safetensors`` / ``.json`` suffix is dropped.
        model_or_state_dict: a module (its ``state_dict()`` is saved) or a state dict of
            tensors.
        config: JSON-serialisable description of the run. By convention
            ``config["architecture"] = {"class": "AttentionEncoder", "kwargs": {...}}`` (the
            constructor arguments, so the model can be rebuilt) and ``config["training"]``
            holds the command, the data, the seed, ... Other keys are stored verbatim. When a
            module is given and ``architecture`` is absent, its class name is recorded.
        metadata: extra JSON-serialisable facts, e.g. ``{"validation": {"value": 0.031}}``.

    Returns:
        The stem, which :func:`load_checkpoint` accepts.

    Raises:
        ConfigError: ``config`` is not a mapping, uses a reserved key (``format_version``,
            ``kind``, ``metadata``, ``orlearn_version``, ``created``, ``weights``), has a
            malformed ``architecture``, or holds values JSON cannot represent.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"config must be a dict, got {type(config).__name__}")
    clash = [key for key in RESERVED_KEYS if key in config]
    if clash:
        raise ConfigError(
            f"config uses reserved checkpoint key(s) {clash}; move them under 'training' "
            "or pass them as metadata"
        )
    if isinstance(model_or_state_dict, nn.Module):
        state = model_or_state_dict.state_dict()
        n_parameters = count_parameters(model_or_state_dict)
        model_class: str | None = type(model_or_state_dict).__name__
    elif isinstance(model_or_state_dict, Mapping):
        state = dict(model_or_state_dict)
        n_parameters = None
        model_class = None
    else:
        raise ConfigError(
            "save_checkpoint needs an nn.Module or a state dict, got "
            f"{type(model_or_state_dict).__name__}"
        )
    architecture = config.get("architecture")
    if architecture is None and model_class is not None:
        architecture = {"class": model_class}
    if architecture is not None:
        if not isinstance(architecture, Mapping) or not isinstance(architecture.get("class"), str):
            raise ConfigError(
                "config['architecture'] must be a dict like "
                "{'class': 'AttentionEncoder', 'kwargs': {...}}"
            )
        if not isinstance(architecture.get("kwargs", {}), Mapping):
            raise ConfigError("config['architecture']['kwargs'] must be a dict")

    document: dict[str, Any] = {"format_version": FORMAT_VERSION, "kind": "weights"}
    if architecture is not None:
        document["architecture"] = dict(architecture)
    document.update({key: value for key, value in config.items() if key != "architecture"})
    document["metadata"] = dict(metadata or {})
    document["orlearn_version"] = _orlearn_version()
    document["created"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    weights_info: dict[str, Any] = {}
    if n_parameters is not None:
        weights_info["n_parameters"] = n_parameters
    document["weights"] = weights_info
    stem = write_tensor_pair(path, state, document)
    logger.debug("saved checkpoint %s", stem)
    return stem


def update_metadata(path: str | os.PathLike[str], updates: Mapping[str, Any]) -> Path:
    """Merge ``updates`` into the ``metadata`` of an existing checkpoint's JSON.

    For facts known only after training (held-out test accuracy, the machine it ran on):
    the weights file and its recorded sha256 are left untouched; the JSON is rewritten
    atomically. Returns the stem.

    Raises:
        CheckpointError: no checkpoint JSON at ``path``, or it is not a checkpoint document
            (the checks of :func:`read_tensor_pair`).
        ConfigError: ``updates`` holds values JSON cannot represent.
    """
    _, json_file = checkpoint_paths(path)
    if not json_file.is_file():
        raise CheckpointError(f"no checkpoint JSON {json_file} (check the path)")
    document = _read_document(json_file)
    document["metadata"] = {**(document.get("metadata") or {}), **dict(updates)}
    atomic_write(json_file, to_json_text(document, "metadata").encode("utf-8"))
    return json_file.with_suffix("")


def machine_description() -> str:
    """A one-line description of this machine for checkpoint and result records.

    CPU model (from ``/proc/cpuinfo`` where it exists, else :func:`platform.processor`),
    logical core count, torch's intra-op threads, and the CUDA devices torch sees.
    """
    import platform

    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    model = model or platform.processor() or platform.machine()
    parts = [f"{model}, {os.cpu_count()} logical cores, {torch.get_num_threads()} torch "
             "threads"]
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        parts.append("GPU " + ", ".join(names))
    else:
        parts.append("no GPU")
    return "; ".join(parts)


def check_state_dict(
    expected: Mapping[str, Tensor],
    found: Mapping[str, Tensor],
    *,
    source: str,
    strict: bool = True,
) -> None:
    """Raise :class:`CheckpointError` unless ``found`` fits a module whose state is ``expected``.

    Shapes must always agree on common keys; with ``strict`` the key sets must also agree.
    The message lists a few missing, unexpected and mismatched keys.
    """
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    mismatched = [
        f"{key} {tuple(found[key].shape)} vs model {tuple(expected[key].shape)}"
        for key in expected
        if key in found and tuple(found[key].shape) != tuple(expected[key].shape)
    ]
    problems = []
    if mismatched:
        problems.append(f"shape mismatch {_few(mismatched)}")
    if strict and missing:
        problems.append(f"missing {_few(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected {_few(unexpected)}")
    if problems:
        raise CheckpointError(
            f"{source} does not fit the model: {'; '.join(problems)} (build the model with "
            "the checkpoint's config['architecture'], or pass strict=False to skip missing/"
            "unexpected keys)"
        )


def _few(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    more = len(items) - _MAX_LISTED
    return f"[{shown}{f', ... {more} more' if more > 0 else ''}] ({len(items)})"


def load_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module | None = None,
    *,
    map_location: str | torch.device = "cpu",
    strict: bool = True,
) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Load a checkpoint written by :func:`save_checkpoint`; optionally into ``model``.

    Args:
        path: the stem (``runs/tsp100/best``), or either file of the pair.
        model: when given, the weights are checked against its keys and shapes and copied
            into it (``model.load_state_dict``); the model keeps its device and dtype.
        map_location: device of the returned tensors (``"cpu"``, ``"cuda"``, ``"auto"``, ...).
        strict: require the same key set as ``model``; shapes must match in any case.

    Returns:
        ``(state_dict, config)``: the tensors and the JSON document (see the module docstring).

    Raises:
        CheckpointError: a file is missing, the JSON is malformed, the weights are corrupted
            (sha256 mismatch) or unparsable, the file is a training state rather than weights,
            or the weights do not fit ``model``.
    """
    state, document = read_tensor_pair(path, map_location=map_location)
    weights_file, _ = checkpoint_paths(path)
    if document.get("kind", "weights") != "weights":
        raise CheckpointError(
            f"{weights_file} is a {document.get('kind')!r} file, not model weights "
            "(load the 'best' checkpoint, or resume training with fit(resume=True))"
        )
    if model is not None:
        _load_into(model, state, source=str(weights_file), strict=strict)
    return state, document


def _load_into(model: nn.Module, state: Mapping[str, Tensor], *, source: str, strict: bool) -> None:
    check_state_dict(model.state_dict(), state, source=source, strict=strict)
    model.load_state_dict(state, strict=strict)


# ----------------------------------------------------------------------------- shipped models


def pretrained_dir() -> Path:
    """The ``orlearn/pretrained/`` package folder that holds the shipped checkpoints."""
    return Path(__file__).resolve().parent.parent / "pretrained"


def list_pretrained() -> list[str]:
    """Names (stems) of the shipped checkpoints that have both a weights and a JSON file."""
    folder = pretrained_dir()
    if not folder.is_dir():
        return []
    return sorted(
        file.stem for file in folder.glob("*.json") if file.with_suffix(".safetensors").is_file()
    )


def load(
    name: str,
    model_factory: Callable[[dict[str, Any]], nn.Module] | type[nn.Module] | None = None,
    *,
    map_location: str | torch.device = "cpu",
) -> tuple[nn.Module | dict[str, Tensor], dict[str, Any]]:
    """Load the shipped checkpoint ``name`` from :func:`pretrained_dir`.

    Args:
        name: a name from :func:`list_pretrained` (a ``.json``/``.safetensors`` suffix is
            ignored).
        model_factory: how to build the model the weights go into:

            * ``None``: no model; the raw state dict is returned;
            * an ``nn.Module`` subclass: built as ``cls(**config["architecture"]["kwargs"])``
              (the class name must match the recorded ``architecture["class"]``);
            * any other callable: called with the whole checkpoint config, e.g. a problem
              module's ``build_model(config)`` that reads ``config["architecture"]``.

        map_location: device of the weights (and of the built model).

    Returns:
        ``(model, config)`` with the weights loaded and the model in eval mode, or
        ``(state_dict, config)`` when ``model_factory`` is None.

    Raises:
        CheckpointError: unknown name (the message lists the available ones), or any failure
            of :func:`load_checkpoint`.
    """
    stem = Path(name)
    if stem.suffix in (".safetensors", ".json"):
        stem = stem.with_suffix("")
    if stem.name != str(stem):
        raise CheckpointError(
            f"pretrained name {name!r} must be a bare name; use load_checkpoint for paths"
        )
    available = list_pretrained()
    if stem.name not in available:
        listed = ", ".join(available) if available else "none shipped"
        raise CheckpointError(
            f"no pretrained checkpoint named {name!r} in {pretrained_dir()} (available: {listed})"
        )
    path = pretrained_dir() / stem.name
    if model_factory is None:
        return load_checkpoint(path, map_location=map_location)
    state, config = load_checkpoint(path, map_location=map_location)
    model = build_from_config(config, model_factory, source=str(path))
    model.to(_map_device(map_location))
    _load_into(model, state, source=str(path), strict=True)
    model.eval()
    return model, config


def build_from_config(
    config: Mapping[str, Any],
    model_factory: Callable[[dict[str, Any]], nn.Module] | type[nn.Module],
    *,
    source: str = "checkpoint",
) -> nn.Module:
    """Build a model from a checkpoint config with a module class or a ``build_model`` factory.

    See :func:`load` for the two kinds of ``model_factory``. Errors while building (unknown
    kwargs, bad values) become :class:`CheckpointError` naming ``source``.
    """
    architecture = config.get("architecture")
    if isinstance(model_factory, type) and issubclass(model_factory, nn.Module):
        if not isinstance(architecture, Mapping):
            raise CheckpointError(f"{source} records no architecture to build a model from")
        recorded = architecture.get("class")
        if recorded != model_factory.__name__:
            raise CheckpointError(
                f"{source} holds a {recorded!r}, not a {model_factory.__name__!r} "
                "(pass the matching class or a build_model factory)"
            )
        kwargs = dict(architecture.get("kwargs") or {})
        try:
            return model_factory(**kwargs)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(
                f"cannot build {recorded} from {source} kwargs {kwargs}: {exc}"
            ) from exc
    if not callable(model_factory):
        raise ConfigError("model_factory must be an nn.Module subclass or a callable")
    model = model_factory(dict(config))
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model_factory returned a {type(model).__name__}, not an nn.Module")
    return model


__all__ = [
    "FORMAT_VERSION",
    "atomic_write",
    "build_from_config",
    "check_state_dict",
    "checkpoint_paths",
    "list_pretrained",
    "load",
    "load_checkpoint",
    "machine_description",
    "pretrained_dir",
    "save_checkpoint",
    "update_metadata",
]
