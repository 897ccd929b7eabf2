"""Training utilities: device choice, seeding, mixed precision, early stopping, an epoch loop.

:func:`fit` is a small, framework-free epoch loop. The caller keeps full control of what an
epoch is (``train_epoch(epoch) -> mean loss``, ``validate(epoch) -> metric``); ``fit`` adds
the progress bar, the history, early stopping, the best-weights checkpoint and a resumable
training state::

    rng = seed_everything(0)
    model = AttentionEncoder(2).to(get_device())
    optimizer = torch.optim.Adam(model.parameters(), lr=7.5e-4)

    def train_epoch(epoch: int) -> float: ...   # one pass over the data, returns mean loss
    def validate(epoch: int) -> float: ...      # e.g. mean optimality gap in %

    history = fit(model, optimizer, train_epoch, validate, epochs=100, patience=10,
                  checkpoint_dir="runs/tsp100", resume=True, config=config)

Resuming reproduces an uninterrupted run exactly (same seed, same final weights) when every
random draw of the epoch functions comes from the global RNGs (python ``random``, numpy's
legacy global, torch CPU/CUDA, e.g. ``DataLoader(shuffle=True)`` and dropout) or from a
generator passed in ``generators=``, because their states are saved after every epoch.
Deterministic kernels are the caller's choice (``seed_everything(seed, deterministic=True)``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from orlearn.errors import CheckpointError, ConfigError
from orlearn.nn.checkpoint import (
    FORMAT_VERSION,
    RESERVED_KEYS,
    check_state_dict,
    checkpoint_paths,
    load_checkpoint,
    read_tensor_pair,
    save_checkpoint,
    to_json_text,
    write_tensor_pair,
)
from orlearn.nn.layers import count_parameters

logger = logging.getLogger(__name__)

Mode = Literal["min", "max"]

# ----------------------------------------------------------------------------- device


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Resolve a device request to a usable :class:`torch.device`.

    Args:
        device: ``None`` or ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
            ``"cuda:N"``, ``"mps"``, or a ``torch.device``.

    Raises:
        ConfigError: unknown device string, or CUDA / MPS requested but not available.
    """
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        resolved = device
    elif isinstance(device, str):
        try:
            resolved = torch.device(device.strip().lower())
        except (RuntimeError, ValueError):
            raise ConfigError(
                f"unknown device {device!r}; expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
            ) from None
    else:
        raise ConfigError(f"device must be a string or torch.device, got {type(device).__name__}")

    if resolved.type == "cpu":
        return torch.device("cpu")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            reason = (
                f"this PyTorch build ({torch.__version__}) has no CUDA support"
                if torch.version.cuda is None
                else "no CUDA device is visible"
            )
            raise ConfigError(
                f"device {str(device)!r} requested but CUDA is not available ({reason}); "
                "use device 'cpu' or 'auto'"
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ConfigError(
                f"device {str(device)!r} requested but only {count} CUDA device(s) are visible"
            )
        return resolved
    if resolved.type == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError(
                f"device {str(device)!r} requested but MPS is not available; use 'cpu' or 'auto'"
            )
        return resolved
    raise ConfigError(
        f"unsupported device {str(device)!r}; expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
    )


# ----------------------------------------------------------------------------- seeding


def _check_seed(seed: Any) -> int:
    if (
        isinstance(seed, bool)
        or not isinstance(seed, (int, np.integer))
        or not (0 <= int(seed) < 2**32)
    ):
        raise ConfigError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    return int(seed)


def seed_everything(seed: int, *, deterministic: bool = False) -> np.random.Generator:
    """Seed python ``random``, numpy's legacy global RNG and torch (CPU and every CUDA device).

    Args:
        seed: integer in ``[0, 2**32)``.
        deterministic: also ask torch for deterministic kernels (warn-only where none exists)
            and turn off cuDNN autotuning; slower on GPU, needed for bitwise-repeatable GPU runs.

    Returns:
        A fresh ``np.random.Generator`` seeded with ``seed``, for code that takes a generator.
    """
    seed = _check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)  # lazy: a no-op without CUDA
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return np.random.default_rng(seed)


def torch_generator(seed: int, device: str | torch.device | None = None) -> torch.Generator:
    """A ``torch.Generator`` seeded with ``seed``.

    ``device`` is where the generator lives (it must match the device of the tensors drawn
    with it); ``None`` means CPU, which gives the same stream on every machine.
    """
    seed = _check_seed(seed)
    resolved = torch.device("cpu") if device is None else get_device(device)
    generator = torch.Generator(device=resolved)
    generator.manual_seed(seed)
    return generator


# ----------------------------------------------------------------------------- mixed precision


def amp_dtype(device: str | torch.device | None = None) -> torch.dtype | None:
    """The autocast dtype used on ``device``: bfloat16 on CUDA when supported, else float16;
    None (full precision) on CPU and MPS."""
    resolved = get_device(device)
    if resolved.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextlib.contextmanager
def autocast(
    device: str | torch.device | None = None,
    *,
    dtype: torch.dtype | None = None,
    enabled: bool = True,
) -> Iterator[None]:
    """Mixed-precision context: ``torch.autocast`` on CUDA, a no-op on CPU/MPS.

    ``dtype`` overrides the choice of :func:`amp_dtype`. With float16, scale the loss with a
    :func:`grad_scaler`; bfloat16 needs no scaling.
    """
    resolved = get_device(device)
    if not enabled or resolved.type != "cuda":
        yield
        return
    with torch.autocast(device_type="cuda", dtype=dtype or amp_dtype(resolved)):
        yield


def grad_scaler(
    device: str | torch.device | None = None, *, dtype: torch.dtype | None = None
) -> torch.amp.GradScaler:
    """A ``GradScaler`` that is enabled only for float16 autocast on CUDA (else a pass-through).

    Use it unconditionally: ``scaler.scale(loss).backward(); scaler.step(opt); scaler.update()``.
    Pass it to :func:`fit` in ``stateful={"scaler": scaler}`` so a resumed run keeps its scale.
    """
    resolved = get_device(device)
    enabled = resolved.type == "cuda" and (dtype or amp_dtype(resolved)) == torch.float16
    return torch.amp.GradScaler("cuda", enabled=enabled)


# ----------------------------------------------------------------------------- early stopping


def _check_mode(mode: Any) -> Mode:
    if mode not in ("min", "max"):
        raise ConfigError(f"mode must be 'min' or 'max', got {mode!r}")
    return mode


class EarlyStopping:
    """Stop when a monitored value has not improved for ``patience`` consecutive steps.

    With ``patience=3`` the third step in a row without improvement returns True (the
    Keras / Lightning convention, and learn2branch's "early stop 20").

    A value improves on the best so far when it is lower by more than ``min_delta``
    (``mode="min"``, e.g. a loss or a gap) or higher by more than ``min_delta``
    (``mode="max"``, e.g. an accuracy). NaN never improves. The first finite value always does.

    Args:
        patience: number of consecutive steps without improvement that stops (>= 1);
            None tracks the best value but never stops.
        min_delta: smallest change, in the monitored value's units, that counts.
        mode: ``"min"`` or ``"max"``.
    """

    def __init__(self, patience: int | None, min_delta: float = 0.0, mode: Mode = "min") -> None:
        if patience is not None and (
            isinstance(patience, bool) or not isinstance(patience, int) or patience < 1
        ):
            raise ConfigError(f"patience must be a positive integer or None, got {patience!r}")
        if not isinstance(min_delta, (int, float)) or not min_delta >= 0:
            raise ConfigError(f"min_delta must be >= 0, got {min_delta!r}")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode: Mode = _check_mode(mode)
        self.best: float | None = None
        self.best_step: int | None = None
        self.num_steps = 0
        self.num_bad_steps = 0
        self.last_improved = False
        self.should_stop = False

    def is_improvement(self, value: float) -> bool:
        """Whether ``value`` would improve on the best value so far (does not record it)."""
        value = float(value)
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: float) -> bool:
        """Record ``value``; return True when training should stop."""
        value = float(value)
        self.last_improved = self.is_improvement(value)
        if self.last_improved:
            self.best = value
            self.best_step = self.num_steps
            self.num_bad_steps = 0
        else:
            self.num_bad_steps += 1
        self.num_steps += 1
        self.should_stop = self.patience is not None and self.num_bad_steps >= self.patience
        return self.should_stop

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (counters and best value; settings included for reference)."""
        return {
            "patience": self.patience,
            "min_delta": self.min_delta,
            "mode": self.mode,
            "best": self.best,
            "best_step": self.best_step,
            "num_steps": self.num_steps,
            "num_bad_steps": self.num_bad_steps,
            "last_improved": self.last_improved,
            "should_stop": self.should_stop,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore counters and best value; ``patience`` and ``min_delta`` keep their current
        values (so a resumed run may change them), ``mode`` must agree."""
        if state.get("mode", self.mode) != self.mode:
            raise CheckpointError(
                f"early-stopping state was recorded with mode {state.get('mode')!r}, "
                f"not {self.mode!r}"
            )
        best = state.get("best")
        self.best = None if best is None else float(best)
        self.best_step = state.get("best_step")
        self.num_steps = int(state.get("num_steps", 0))
        self.num_bad_steps = int(state.get("num_bad_steps", 0))
        self.last_improved = bool(state.get("last_improved", False))
        self.should_stop = self.patience is not None and self.num_bad_steps >= self.patience


# ----------------------------------------------------------------------------- history


@dataclass
class TrainHistory:
    """What :func:`fit` did, epoch by epoch.

    Attributes:
        mode: ``"min"`` or ``"max"``, how the validation value was compared.
        records: one dict per finished epoch with ``epoch`` (0-based), ``train_loss`` (what
            ``train_epoch`` returned), ``val`` (what ``validate`` returned), ``lr`` (learning
            rate of the first parameter group during the epoch) and ``seconds`` (wall time).
        best_epoch: epoch of the best validation value (None before any epoch).
        best_value: the best validation value.
        stopped_early: True when early stopping ended the run.
        resumed_from: first epoch run by the latest call when it resumed a saved state.
    """

    mode: Mode = "min"
    records: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False
    resumed_from: int | None = None

    @property
    def epochs_done(self) -> int:
        """Number of finished epochs."""
        return len(self.records)

    def column(self, name: str) -> list[float]:
        """One column of the records, e.g. ``history.column("val")``."""
        return [record[name] for record in self.records]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "mode": self.mode,
            "records": [dict(record) for record in self.records],
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "stopped_early": self.stopped_early,
            "resumed_from": self.resumed_from,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainHistory:
        """Inverse of :meth:`to_dict`."""
        return cls(
            mode=_check_mode(data.get("mode", "min")),
            records=[dict(record) for record in data.get("records", [])],
            best_epoch=data.get("best_epoch"),
            best_value=data.get("best_value"),
            stopped_early=bool(data.get("stopped_early", False)),
            resumed_from=data.get("resumed_from"),
        )


# ----------------------------------------------------------------------------- state encoding
# Nested training state (optimizer, scheduler, RNG, ...) is split into tensors, stored in
# safetensors under their path ("optim.state.3.exp_avg"), and a JSON skeleton in which each
# tensor is replaced by {"__tensor__": key}. Tuples, non-string dict keys, numpy arrays and
# non-finite floats get their own markers, so the round trip is exact and never pickles.

_MARKERS = ("__tensor__", "__ndarray__", "__tuple__", "__items__", "__float__")


def _encode(obj: Any, key: str, tensors: dict[str, Tensor]) -> Any:
    if isinstance(obj, Tensor):
        if key in tensors:
            raise CheckpointError(f"training state has two entries named {key!r}")
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        stored = obj.astype(np.int64) if obj.dtype.kind in "iub" else obj
        tensors[key] = torch.from_numpy(np.ascontiguousarray(stored))
        return {"__ndarray__": key, "dtype": obj.dtype.str}
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), key, tensors)
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) and k not in _MARKERS for k in obj):
            return {k: _encode(v, f"{key}.{k}", tensors) for k, v in obj.items()}
        items = []
        for k, v in obj.items():
            if not (k is None or isinstance(k, (bool, int, float, str))):
                raise CheckpointError(f"cannot store a {type(k).__name__} dict key at {key}")
            items.append([k, _encode(v, f"{key}.{k}", tensors)])
        return {"__items__": items}
    raise CheckpointError(
        f"cannot store a {type(obj).__name__} at {key} in a training state "
        "(tensors, numbers, strings, lists, tuples and dicts only)"
    )


def _decode(obj: Any, tensors: Mapping[str, Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if "__ndarray__" in obj:
        return tensors[obj["__ndarray__"]].numpy().astype(np.dtype(obj["dtype"]))
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__tuple__" in obj:
        return tuple(_decode(v, tensors) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {k: _decode(v, tensors) for k, v in obj["__items__"]}
    return {k: _decode(v, tensors) for k, v in obj.items()}


class Stateful(Protocol):
    """Anything with ``state_dict()`` / ``load_state_dict()`` (a GradScaler, a baseline...)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any], /) -> Any: ...


RandomGenerator = torch.Generator | np.random.Generator


def _capture_rng(generators: Mapping[str, RandomGenerator]) -> dict[str, Any]:
    version, internal, gauss_next = random.getstate()
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": {
            "version": version,
            "internal": np.asarray(internal, dtype=np.int64),
            "gauss_next": gauss_next,
        },
        "numpy": {
            "name": name,
            "keys": keys,
            "pos": pos,
            "has_gauss": has_gauss,
            "cached_gaussian": cached_gaussian,
        },
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
        "generators": {},
    }
    for key, generator in generators.items():
        if isinstance(generator, torch.Generator):
            state["generators"][key] = {"torch": generator.get_state()}
        elif isinstance(generator, np.random.Generator):
            state["generators"][key] = {"numpy": generator.bit_generator.state}
        else:
            raise ConfigError(
                f"generators[{key!r}] is a {type(generator).__name__}; "
                "expected a torch.Generator or np.random.Generator"
            )
    return state


def _restore_rng(state: Mapping[str, Any], generators: Mapping[str, RandomGenerator]) -> None:
    python = state["python"]
    random.setstate(
        (python["version"], tuple(int(v) for v in python["internal"]), python["gauss_next"])
    )
    numpy = state["numpy"]
    np.random.set_state(
        (
            numpy["name"],
            np.asarray(numpy["keys"], dtype=np.uint32),
            numpy["pos"],
            numpy["has_gauss"],
            numpy["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"].cpu())
    cuda_states = state.get("cuda") or []
    if cuda_states and torch.cuda.is_available():
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])
        else:
            logger.warning(
                "saved CUDA RNG states are for %d device(s), %d visible: not restored",
                len(cuda_states),
                torch.cuda.device_count(),
            )
    saved = state.get("generators") or {}
    for key, generator in generators.items():
        if key not in saved:
            raise CheckpointError(
                f"the saved training state has no generator {key!r} "
                f"(it has {sorted(saved)}); pass the same generators= as the original run"
            )
        if isinstance(generator, torch.Generator):
            generator.set_state(saved[key]["torch"].cpu())
        else:
            generator.bit_generator.state = saved[key]["numpy"]


# ----------------------------------------------------------------------------- the loop


def _as_float(value: Any, what: str) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ConfigError(
                f"{what} must return one number, got a tensor of shape {list(value.shape)}"
            )
        return float(value.detach().item())
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    raise ConfigError(f"{what} must return a float, got {type(value).__name__}")


def _config_diff(old: Any, new: Any, path: str = "config") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        diffs = []
        for key in list(old) + [k for k in new if k not in old]:
            if key not in old or key not in new:
                diffs.append(f"{path}.{key}")
            else:
                diffs.extend(_config_diff(old[key], new[key], f"{path}.{key}"))
        return diffs
    return [] if old == new else [path]


_STATE_KIND = "train_state"


def _save_train_state(
    stem: Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    stateful: Mapping[str, Stateful],
    stopper: EarlyStopping,
    history: TrainHistory,
    generators: Mapping[str, RandomGenerator],
    config: dict[str, Any],
    epoch: int,
    epochs: int,
) -> None:
    tensors: dict[str, Tensor] = {}
    skeleton = {
        "model": _encode(model.state_dict(), "model", tensors),
        "optim": _encode(optimizer.state_dict(), "optim", tensors),
        "scheduler": None
        if scheduler is None
        else _encode(scheduler.state_dict(), "scheduler", tensors),
        "stateful": {
            k: _encode(obj.state_dict(), f"stateful.{k}", tensors) for k, obj in stateful.items()
        },
        "rng": _encode(_capture_rng(generators), "rng", tensors),
    }
    document = {
        "format_version": FORMAT_VERSION,
        "kind": _STATE_KIND,
        "config": config,
        "epoch": epoch,
        "epochs": epochs,
        "early_stopping": stopper.state_dict(),
        "history": history.to_dict(),
        "state": skeleton,
        "weights": {"n_parameters": count_parameters(model)},
    }
    write_tensor_pair(stem, tensors, document)


def _read_state_config(stem: Path, *, strict: bool) -> dict[str, Any] | None:
    """The config of the training state at ``stem`` (JSON only, weights not read), or None.

    An unreadable file raises :class:`CheckpointError` with ``strict``, else returns None
    (after a warning), so that a fresh run may replace it.
    """
    _, json_file = checkpoint_paths(stem)
    if not json_file.is_file():
        return None
    problem = None
    try:
        document = json.loads(json_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"is not valid JSON ({exc})"
    else:
        if not isinstance(document, dict) or document.get("kind") != _STATE_KIND:
            problem = "is not an orlearn training state"
    if problem is not None:
        if strict:
            raise CheckpointError(
                f"{json_file} {problem}; delete it or choose another checkpoint_dir"
            )
        logger.warning("%s %s; it will be replaced", json_file, problem)
        return None
    return document.get("config")


def _check_same_config(stem: Path, saved: Any, config: dict[str, Any]) -> None:
    if saved != config:
        diffs = _config_diff(saved, config)
        shown = ", ".join(diffs[:5]) + (f", ... {len(diffs) - 5} more" if len(diffs) > 5 else "")
        raise CheckpointError(
            f"{stem.parent} holds a training state from a different config (differs at "
            f"{shown}); use another checkpoint_dir or delete it"
        )


def _load_train_state(
    stem: Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    stateful: Mapping[str, Stateful],
    stopper: EarlyStopping,
    generators: Mapping[str, RandomGenerator],
    config: dict[str, Any],
) -> tuple[int, TrainHistory]:
    tensors, document = read_tensor_pair(stem)
    weights_file, _ = checkpoint_paths(stem)
    if document.get("kind") != _STATE_KIND:
        raise CheckpointError(f"{weights_file} is not an orlearn training state")
    _check_same_config(stem, document.get("config"), config)
    try:
        state = _decode(document["state"], tensors)
        model_state = state["model"]
        check_state_dict(model.state_dict(), model_state, source=str(weights_file))
        model.load_state_dict(model_state)
        try:
            optimizer.load_state_dict(state["optim"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(
                f"{weights_file}: optimizer state does not fit this optimizer ({exc}); "
                "use the same optimizer and parameter groups as the saved run"
            ) from None
        if scheduler is not None:
            if state.get("scheduler") is None:
                raise CheckpointError(
                    f"{weights_file} was saved without a scheduler; "
                    "resume without one or start a new run"
                )
            scheduler.load_state_dict(state["scheduler"])
        elif state.get("scheduler") is not None:
            logger.warning("%s holds a scheduler state but no scheduler was passed", weights_file)
        saved_stateful = state.get("stateful") or {}
        for key, obj in stateful.items():
            if key not in saved_stateful:
                raise CheckpointError(f"{weights_file} holds no state for stateful[{key!r}]")
            obj.load_state_dict(saved_stateful[key])
        stopper.load_state_dict(document["early_stopping"])
        history = TrainHistory.from_dict(document["history"])
        _restore_rng(state["rng"], generators)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{weights_file} is an incomplete or incompatible training state ({exc!r}); "
            "delete it to start over"
        ) from None
    return int(document["epoch"]) + 1, history


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_epoch: Callable[[int], float],
    validate: Callable[[int], float] | None = None,
    *,
    epochs: int,
    mode: Mode = "min",
    patience: int | None = None,
    min_delta: float = 0.0,
    stop_at: float | None = None,
    scheduler: Any = None,
    scheduler_step: Literal["epoch", "manual"] = "epoch",
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    config: Mapping[str, Any] | None = None,
    generators: Mapping[str, RandomGenerator] | None = None,
    stateful: Mapping[str, Stateful] | None = None,
    restore_best: bool = False,
    progress: bool = True,
    desc: str = "train",
) -> TrainHistory:
    """Run ``train_epoch`` / ``validate`` for up to ``epochs`` epochs; resumable.

    Each epoch: ``model.train()``, ``train_epoch(epoch)`` (returns the epoch's mean training
    loss); ``model.eval()`` and ``validate(epoch)`` under ``torch.no_grad()`` (returns the
    monitored metric; without ``validate`` the training loss is monitored); the scheduler
    steps; the early-stopping rule is updated; the best weights and the training state are
    saved. Epochs are numbered from 0.

    Args:
        model: the module being trained (the caller moves it to its device).
        optimizer: its optimizer.
        train_epoch: runs one epoch of training, returns its mean loss.
        validate: returns the validation metric (lower is better with ``mode="min"``).
        epochs: total number of epochs, counting those of a resumed run.
        mode: ``"min"`` or ``"max"`` for the validation metric.
        patience: stop after this many consecutive epochs without improvement (None: never
            stop early).
        min_delta: smallest improvement that counts, in the metric's units.
        stop_at: stop as soon as the validation metric reaches this value (at or below it
            with ``mode="min"``, at or above with ``"max"``), e.g. to time a run to a target.
        scheduler: an LR scheduler; ``ReduceLROnPlateau`` is stepped with the validation
            value, others with ``step()``, once per epoch after validation.
        scheduler_step: ``"epoch"`` (fit steps it) or ``"manual"`` (you step it inside
            ``train_epoch``, e.g. per batch; fit only saves and restores its state).
        checkpoint_dir: when given, ``best.safetensors/.json`` (weights of the best epoch,
            a :func:`save_checkpoint` checkpoint whose metadata holds
            ``{"validation": {"value", "epoch", "mode", "train_loss"}}``) and
            ``last.safetensors/.json`` (the training state after the latest epoch: weights,
            optimizer, scheduler, RNG states, early stopping, history) are written there.
        resume: continue from ``last`` in ``checkpoint_dir`` when it exists (a warning is
            logged and training starts from scratch when it does not).
        config: JSON-serialisable description of the run (architecture, data, seed,
            hyper-parameters). Stored in both checkpoints; a saved state from a different
            config refuses to resume or be overwritten. Keep ``epochs`` out of it if you want
            to extend a finished run.
        generators: extra RNGs used by the epoch functions, saved and restored with the
            global ones (name -> ``torch.Generator`` or ``np.random.Generator``).
        stateful: other objects to save and restore (name -> object with
            ``state_dict``/``load_state_dict``), e.g. ``{"scaler": grad_scaler(device)}``.
        restore_best: load the best epoch's weights into ``model`` before returning
            (otherwise the model holds the last epoch's weights).
        progress: show a tqdm progress bar (on stderr) with the loss and validation metric.
        desc: label of the progress bar.

    Returns:
        The :class:`TrainHistory` of all epochs, including those of resumed runs.

    Raises:
        ConfigError: invalid arguments, or a non-numeric return from the epoch functions.
        CheckpointError: the saved state is corrupted, from a different config, or does not
            fit the model / optimizer / scheduler.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ConfigError(f"epochs must be a non-negative integer, got {epochs!r}")
    mode = _check_mode(mode)
    if scheduler_step not in ("epoch", "manual"):
        raise ConfigError(f"scheduler_step must be 'epoch' or 'manual', got {scheduler_step!r}")
    if resume and checkpoint_dir is None:
        raise ConfigError("resume=True needs a checkpoint_dir to resume from")
    run_config: dict[str, Any] = json.loads(to_json_text(dict(config or {})))
    clash = [key for key in RESERVED_KEYS if key in run_config]
    if clash:
        raise ConfigError(f"config uses reserved checkpoint key(s) {clash}")
    generators = dict(generators or {})
    stateful = dict(stateful or {})
    stopper = EarlyStopping(patience, min_delta, mode)
    history = TrainHistory(mode=mode)
    start = 0
    directory = None if checkpoint_dir is None else Path(checkpoint_dir)
    last_stem = best_stem = None
    if directory is not None:
        last_stem, best_stem = directory / "last", directory / "best"
        saved_config = _read_state_config(last_stem, strict=resume)
        if saved_config is not None:
            _check_same_config(last_stem, saved_config, run_config)
            if resume:
                start, history = _load_train_state(
                    last_stem,
                    model=model,
                    optimizer=optimizer,
                    scheduler=scheduler,
                    stateful=stateful,
                    stopper=stopper,
                    generators=generators,
                    config=run_config,
                )
                history.resumed_from = start
                logger.info("resuming %s from epoch %d of %d", directory, start, epochs)
            else:
                logger.warning(
                    "%s holds a training state; starting over and replacing it", directory
                )
        elif resume:
            logger.warning("no training state in %s; starting from scratch", directory)

    best_in_memory: dict[str, Tensor] | None = None
    was_training = model.training
    remaining = [] if history.stopped_early else list(range(start, epochs))
    bar = tqdm(
        total=epochs,
        initial=min(start, epochs),
        desc=desc,
        unit="epoch",
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        for epoch in remaining:
            started = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            model.train()
            train_loss = _as_float(train_epoch(epoch), "train_epoch")
            if validate is not None:
                model.eval()
                with torch.no_grad():
                    val = _as_float(validate(epoch), "validate")
            else:
                val = train_loss
            if scheduler is not None and scheduler_step == "epoch":
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    scheduler.step(val)
                else:
                    scheduler.step()
            stop = stopper.step(val)
            reached = stop_at is not None and (val <= stop_at if mode == "min"
                                               else val >= stop_at)
            record = {
                "epoch": epoch,
                "train_loss": train_loss,
                "val": val,
                "lr": float(lr),
                "seconds": time.perf_counter() - started,
            }
            history.records.append(record)
            history.stopped_early = stop or reached
            if stopper.last_improved:
                history.best_epoch, history.best_value = epoch, val
                if best_stem is not None:
                    save_checkpoint(
                        best_stem,
                        model,
                        run_config,
                        metadata={
                            "validation": {
                                "value": val,
                                "epoch": epoch,
                                "mode": mode,
                                "train_loss": train_loss,
                            }
                        },
                    )
                elif restore_best:
                    best_in_memory = {
                        k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
                    }
            if last_stem is not None:
                _save_train_state(
                    last_stem,
                    model=model,
                    optimizer=optimizer,
                    scheduler=scheduler,
                    stateful=stateful,
                    stopper=stopper,
                    history=history,
                    generators=generators,
                    config=run_config,
                    epoch=epoch,
                    epochs=epochs,
                )
            logger.debug("epoch %d: train_loss %.6g val %.6g lr %.3g", epoch, train_loss, val, lr)
            bar.set_postfix(
                loss=f"{train_loss:.4g}",
                val=f"{val:.4g}",
                best=f"{stopper.best:.4g}" if stopper.best is not None else "-",
            )
            bar.update(1)
            if reached:
                logger.info("stop after epoch %d: validation %.6g reached stop_at %.6g",
                            epoch, val, stop_at)
                break
            if stop:
                logger.info(
                    "early stop after epoch %d: no improvement for %d epochs (best "
                    "%.6g at epoch %s)",
                    epoch,
                    stopper.num_bad_steps,
                    history.best_value,
                    history.best_epoch,
                )
                break
    finally:
        bar.close()
        model.train(was_training)

    if restore_best and history.best_epoch is not None:
        if best_stem is not None:
            load_checkpoint(best_stem, model)
        elif best_in_memory is not None:
            model.load_state_dict(best_in_memory)
    return history


__all__ = [
    "EarlyStopping",
    "Stateful",
    "TrainHistory",
    "amp_dtype",
    "autocast",
    "fit",
    "get_device",
    "grad_scaler",
    "seed_everything",
    "torch_generator",
]
