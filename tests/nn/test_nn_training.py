"""Tests of orlearn.nn.training: devices, seeding, AMP helpers, early stopping, fit/resume."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from torch import nn

from orlearn.errors import CheckpointError, ConfigError
from orlearn.nn import (
    EarlyStopping,
    TrainHistory,
    amp_dtype,
    autocast,
    fit,
    get_device,
    grad_scaler,
    load_checkpoint,
    seed_everything,
    torch_generator,
)

# ----------------------------------------------------------------------------- devices


def test_get_device_cpu_and_auto() -> None:
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(" CPU ") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device().type == expected
    assert get_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available on this machine")
@pytest.mark.parametrize("request_", ["cuda", "cuda:1", torch.device("cuda")])
def test_get_device_cuda_unavailable(request_: str | torch.device) -> None:
    with pytest.raises(ConfigError, match="CUDA is not available") as error:
        get_device(request_)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("request_", ["gpu", "tpu", "", "cuda:x", 3])
def test_get_device_unknown(request_: object) -> None:
    with pytest.raises(ConfigError):
        get_device(request_)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- seeding


def _draws(generator: np.random.Generator) -> tuple:
    return (
        random.random(),
        float(np.random.rand()),
        torch.rand(3).tolist(),
        float(generator.random()),
    )


def test_seed_everything_is_reproducible() -> None:
    first = _draws(seed_everything(7))
    second = _draws(seed_everything(7))
    other = _draws(seed_everything(8))
    assert first == second
    assert first != other


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True, "1"])
def test_seed_everything_rejects_bad_seeds(seed: object) -> None:
    with pytest.raises(ConfigError):
        seed_everything(seed)  # type: ignore[arg-type]


def test_torch_generator() -> None:
    a, b = torch_generator(3), torch_generator(3, "cpu")
    assert a.device == torch.device("cpu")
    assert torch.equal(torch.rand(4, generator=a), torch.rand(4, generator=b))


def test_amp_helpers_are_noops_on_cpu() -> None:
    assert amp_dtype("cpu") is None
    x = torch.randn(4, 4)
    with autocast("cpu"):
        assert (x @ x).dtype == torch.float32
    assert not grad_scaler("cpu").is_enabled()


# ----------------------------------------------------------------------------- early stopping


def test_early_stopping_min() -> None:
    stopper = EarlyStopping(patience=3, min_delta=0.1)
    values = [5.0, 4.0, 3.95, 3.92, 3.0, 3.5, float("nan"), 2.95]
    stops = [stopper.step(v) for v in values]
    # 3.95 and 3.92 are within min_delta of 4.0; 3.5, nan and 2.95 (< 0.1 below 3.0) are not
    # improvements either: the third bad step in a row after 3.0 triggers the stop.
    assert stops == [False] * 7 + [True]
    assert stopper.best == 3.0 and stopper.best_step == 4


def test_early_stopping_max_and_state() -> None:
    stopper = EarlyStopping(patience=2, mode="max")
    assert stopper.is_improvement(0.0)
    assert not stopper.step(0.5)
    assert not stopper.step(0.4)
    copy = EarlyStopping(patience=2, mode="max")
    copy.load_state_dict(json.loads(json.dumps(stopper.state_dict())))
    assert copy.best == 0.5 and copy.num_bad_steps == 1
    assert copy.step(0.45) and stopper.step(0.45)
    with pytest.raises(CheckpointError):
        EarlyStopping(patience=1, mode="min").load_state_dict(stopper.state_dict())
    for patience in (0, -1, 2.5):
        with pytest.raises(ConfigError):
            EarlyStopping(patience=patience)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        EarlyStopping(patience=1, mode="best")  # type: ignore[arg-type]


def test_early_stopping_without_patience_never_stops() -> None:
    stopper = EarlyStopping(patience=None)
    assert not any(stopper.step(v) for v in [1.0, 2.0, 3.0, 4.0])
    assert stopper.best == 1.0


# ----------------------------------------------------------------------------- fit


class Problem:
    """A tiny noisy regression trained by minibatch Adam with dropout.

    Every source of randomness a real epoch has is used: torch's global RNG (shuffling,
    dropout), numpy's legacy global RNG and python's ``random`` (input noise), and two
    explicit generators passed to fit.
    """

    def __init__(self) -> None:
        data = torch.Generator().manual_seed(123)
        self.x = torch.randn(64, 3, generator=data)
        self.y = self.x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
        self.x_val, self.y_val = self.x[:16], self.y[:16]
        self.model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=0.02, betas=(0.9, 0.99))
        self.torch_gen = torch.Generator().manual_seed(5)
        self.numpy_gen = np.random.default_rng(6)

    def scheduler(self, kind: str) -> object:
        if kind == "step":
            return torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=2, gamma=0.5)
        return torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, patience=0, factor=0.5)

    def train_epoch(self, epoch: int) -> float:
        order = torch.randperm(64)
        total = 0.0
        for start in range(0, 64, 16):
            batch = order[start : start + 16]
            noise = np.random.normal(0, 0.01, size=(16, 3)) + random.gauss(0, 0.01)
            noise += self.numpy_gen.normal(0, 0.01)
            x = self.x[batch] + torch.as_tensor(noise, dtype=torch.float32)
            x = x + 0.01 * torch.randn(16, 3, generator=self.torch_gen)
            loss = nn.functional.mse_loss(self.model(x), self.y[batch])
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item()
        return total / 4

    def validate(self, epoch: int) -> float:
        return nn.functional.mse_loss(self.model(self.x_val), self.y_val).item()

    def run(self, directory: Path, epochs: int, kind: str, **kwargs: object) -> TrainHistory:
        return fit(
            self.model,
            self.optimizer,
            self.train_epoch,
            self.validate,
            epochs=epochs,
            scheduler=self.scheduler(kind),
            checkpoint_dir=directory,
            config={"problem": "toy", "seed": 0, "scheduler": kind},
            generators={"torch": self.torch_gen, "numpy": self.numpy_gen},
            progress=False,
            **kwargs,
        )


@pytest.mark.parametrize("kind", ["step", "plateau"])
def test_resume_gives_the_same_weights(tmp_path: Path, kind: str) -> None:
    seed_everything(0)
    straight = Problem()
    history = straight.run(tmp_path / "straight", 6, kind)
    assert history.epochs_done == 6

    seed_everything(0)
    interrupted = Problem()
    interrupted.run(tmp_path / "resumed", 3, kind)
    seed_everything(999)  # a new process: different RNG states, fresh model and optimizer
    resumed = Problem()
    resumed_history = resumed.run(tmp_path / "resumed", 6, kind, resume=True)

    assert resumed_history.resumed_from == 3
    assert resumed_history.column("train_loss") == history.column("train_loss")
    assert resumed_history.column("lr") == history.column("lr")
    for (name, a), b in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.allclose(a, b, rtol=0, atol=0), name
    assert resumed_history.best_epoch == history.best_epoch

    _, best = load_checkpoint(tmp_path / "resumed" / "best")
    assert best["metadata"]["validation"]["epoch"] == history.best_epoch


def test_training_state_layout(tmp_path: Path) -> None:
    seed_everything(0)
    problem = Problem()
    history = problem.run(tmp_path, 2, "plateau")
    with safe_open(tmp_path / "last.safetensors", framework="pt") as handle:
        keys = set(handle.keys())
    assert {"optim.state.0.exp_avg", "optim.state.0.exp_avg_sq", "optim.state.3.step"} <= keys
    assert {"model.0.weight", "rng.torch", "rng.numpy.keys", "rng.generators.torch.torch"} <= keys
    document = json.loads((tmp_path / "last.json").read_text())
    assert document["kind"] == "train_state" and document["epoch"] == 1
    assert document["state"]["optim"]["param_groups"][0]["lr"] == 0.02
    _, best = load_checkpoint(tmp_path / "best", problem.model)
    validation = best["metadata"]["validation"]
    assert validation["epoch"] == history.best_epoch
    assert validation["value"] == history.best_value
    assert best["problem"] == "toy"


def test_different_config_is_refused(tmp_path: Path) -> None:
    seed_everything(0)
    problem = Problem()
    problem.run(tmp_path, 1, "step")
    for resume in (True, False):
        with pytest.raises(CheckpointError, match=r"different config .*config\.scheduler"):
            problem.run(tmp_path, 2, "plateau", resume=resume)


def test_corrupted_state_is_refused_on_resume(tmp_path: Path) -> None:
    seed_everything(0)
    problem = Problem()
    problem.run(tmp_path, 1, "step")
    weights = tmp_path / "last.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        problem.run(tmp_path, 2, "step", resume=True)
    problem.run(tmp_path, 1, "step")  # a fresh run (resume=False) replaces it


def _scripted_fit(
    values: list[float], patience: int | None, mode: str = "min", **kwargs: object
) -> tuple[TrainHistory, list[int]]:
    model = nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    calls: list[int] = []

    def train_epoch(epoch: int) -> float:
        calls.append(epoch)
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        return 1.0

    validate: Callable[[int], float] = lambda epoch: values[epoch]  # noqa: E731
    history = fit(
        model,
        optimizer,
        train_epoch,
        validate,
        epochs=len(values),
        patience=patience,
        mode=mode,  # type: ignore[arg-type]
        progress=False,
        **kwargs,
    )
    return history, calls


def test_fit_early_stopping_stops_at_the_right_epoch() -> None:
    values = [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.72, 0.71, 0.6, 0.5]
    history, calls = _scripted_fit(values, patience=3)
    # Best 0.7 at epoch 4; epochs 5, 6, 7 do not improve; the third bad epoch (7) stops.
    assert calls == list(range(8))
    assert history.stopped_early
    assert history.best_epoch == 4 and history.best_value == 0.7
    assert history.column("val") == values[:8]

    history, calls = _scripted_fit([0.1, 0.3, 0.2, 0.4], patience=1, mode="max")
    assert calls == [0, 1, 2] and history.best_epoch == 1


def test_fit_stops_when_the_metric_reaches_stop_at() -> None:
    history, calls = _scripted_fit([1.0, 0.8, 0.55, 0.4, 0.3], patience=None, stop_at=0.6)
    assert calls == [0, 1, 2] and history.stopped_early and history.best_value == 0.55
    history, calls = _scripted_fit([0.1, 0.3, 0.5, 0.9], patience=None, mode="max",
                                   stop_at=0.5)
    assert calls == [0, 1, 2]
    history, calls = _scripted_fit([1.0, 0.9, 0.8], patience=None, stop_at=0.1)
    assert calls == [0, 1, 2] and not history.stopped_early  # never reached: all epochs


def test_fit_restore_best_in_memory() -> None:
    history, _ = _scripted_fit([3.0, 1.0, 2.0, 2.5], patience=None, restore_best=True)
    assert not history.stopped_early and history.best_epoch == 1
    assert json.loads(json.dumps(history.to_dict()))["best_value"] == 1.0
    assert TrainHistory.from_dict(history.to_dict()) == history


def test_fit_rejects_bad_arguments(tmp_path: Path) -> None:
    model = nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ConfigError, match="checkpoint_dir"):
        fit(model, optimizer, lambda e: 1.0, epochs=1, resume=True, progress=False)
    with pytest.raises(ConfigError, match="float"):
        fit(model, optimizer, lambda e: "low", epochs=1, progress=False)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="mode"):
        fit(model, optimizer, lambda e: 1.0, epochs=1, mode="lowest", progress=False)  # type: ignore[arg-type]
    # Resuming where nothing was saved starts from scratch; no validate monitors the loss.
    losses = iter([3.0, 2.0])
    history = fit(
        model,
        optimizer,
        lambda e: next(losses),
        epochs=2,
        checkpoint_dir=tmp_path,
        resume=True,
        progress=False,
    )
    assert history.best_value == 2.0 and history.resumed_from is None
    assert math.isclose(history.records[0]["lr"], 0.1)


def test_fit_progress_bar_and_stateful(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", enabled=True)
    scaler.load_state_dict({**scaler.state_dict(), "scale": 8.0})
    fit(
        model,
        optimizer,
        lambda epoch: 0.5,
        lambda epoch: 0.25,
        epochs=2,
        checkpoint_dir=tmp_path,
        stateful={"scaler": scaler},
        desc="toy",
    )
    err = capsys.readouterr().err
    assert "toy" in err and "loss=0.5" in err and "val=0.25" in err
    restored = torch.amp.GradScaler("cpu", enabled=True)
    history = fit(
        model,
        optimizer,
        lambda epoch: 0.5,
        lambda epoch: 0.25,
        epochs=3,
        checkpoint_dir=tmp_path,
        resume=True,
        stateful={"scaler": restored},
        progress=False,
    )
    assert restored.get_scale() == 8.0
    assert history.epochs_done == 3 and history.best_epoch == 0
