"""Tests of orlearn.nn.checkpoint: round trip, refusals, shipped-checkpoint lookup."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

import orlearn.nn.checkpoint as checkpoint_module
from orlearn.errors import CheckpointError, ConfigError
from orlearn.nn import (
    MLP,
    count_parameters,
    list_pretrained,
    load,
    load_checkpoint,
    save_checkpoint,
)


def _mlp(hidden: tuple[int, ...] = (8, 8), seed: int = 0) -> MLP:
    torch.manual_seed(seed)
    return MLP(3, list(hidden), 2, activation="tanh")


def _config(model: MLP) -> dict:
    return {
        "architecture": model.architecture(),
        "training": {"command": "orlearn train demo", "data": "toy", "seed": 0},
    }


def _assert_one_line(error: pytest.ExceptionInfo[BaseException]) -> None:
    assert "\n" not in str(error.value)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, MLP]:
    model = _mlp()
    stem = save_checkpoint(
        tmp_path / "runs" / "toy" / "best", model, _config(model), metadata={"validation": 0.5}
    )
    return stem, model


def test_round_trip(saved: tuple[Path, MLP]) -> None:
    stem, model = saved
    assert stem.with_suffix(".safetensors").is_file() and stem.with_suffix(".json").is_file()
    fresh = _mlp(seed=1)
    state, config = load_checkpoint(stem, fresh)
    for key, value in model.state_dict().items():
        assert torch.equal(state[key], value)
        assert torch.equal(fresh.state_dict()[key], value)
    assert config["format_version"] == 1
    assert config["architecture"] == model.architecture()
    assert config["training"]["seed"] == 0
    assert config["metadata"] == {"validation": 0.5}
    assert config["orlearn_version"]
    assert config["created"]
    assert config["weights"]["n_parameters"] == count_parameters(model)
    assert len(config["weights"]["sha256"]) == 64
    # Either file of the pair names the checkpoint.
    for path in (stem.with_suffix(".safetensors"), stem.with_suffix(".json")):
        assert load_checkpoint(path)[1] == config


def test_state_dict_input_and_never_unpickles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _mlp()
    tied = {"a": torch.ones(3), "b": torch.arange(6.0).reshape(2, 3).T}  # non-contiguous
    tied["c"] = tied["a"]  # shared storage
    save_checkpoint(tmp_path / "raw", tied, {"note": "state dict"})

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load must not be used")

    monkeypatch.setattr(torch, "load", refuse)
    state, config = load_checkpoint(tmp_path / "raw")
    assert torch.equal(state["b"], torch.arange(6.0).reshape(2, 3).T)
    assert config["note"] == "state dict" and "architecture" not in config
    save_checkpoint(tmp_path / "module", model, {})
    assert load_checkpoint(tmp_path / "module")[1]["architecture"] == {"class": "MLP"}


def test_corrupted_weights_are_refused(saved: tuple[Path, MLP]) -> None:
    stem, _ = saved
    weights = stem.with_suffix(".safetensors")
    data = bytearray(weights.read_bytes())
    for position in (len(data) // 2, len(data) - 3):
        data[position] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted") as error:
        load_checkpoint(stem, _mlp())
    assert weights.name in str(error.value)
    _assert_one_line(error)


def test_unparsable_weights_are_refused(saved: tuple[Path, MLP]) -> None:
    stem, _ = saved
    garbage = b"\xff" * 64
    stem.with_suffix(".safetensors").write_bytes(garbage)
    document = json.loads(stem.with_suffix(".json").read_text())
    document["weights"]["sha256"] = hashlib.sha256(garbage).hexdigest()
    stem.with_suffix(".json").write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="safetensors") as error:
        load_checkpoint(stem)
    _assert_one_line(error)


def test_mismatched_model_is_refused(saved: tuple[Path, MLP]) -> None:
    stem, _ = saved
    with pytest.raises(CheckpointError, match="shape mismatch") as error:
        load_checkpoint(stem, _mlp(hidden=(8, 16)))
    assert "net.2.weight" in str(error.value)
    _assert_one_line(error)
    with pytest.raises(CheckpointError, match="missing") as error:
        load_checkpoint(stem, _mlp(hidden=(8, 8, 8)))
    assert "net.6.weight" in str(error.value)
    with pytest.raises(CheckpointError, match="unexpected"):
        load_checkpoint(stem, _mlp(hidden=(8,)))


def test_non_strict_loading_skips_missing_keys(saved: tuple[Path, MLP]) -> None:
    stem, model = saved
    wrapped = torch.nn.Module()
    wrapped.net = _mlp(seed=3).net
    wrapped.extra = torch.nn.Linear(2, 2)
    load_checkpoint(stem, wrapped, strict=False)
    assert torch.equal(wrapped.net[0].weight, model.net[0].weight)


def test_missing_files_are_refused(saved: tuple[Path, MLP], tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found") as error:
        load_checkpoint(tmp_path / "nowhere")
    _assert_one_line(error)
    stem, _ = saved
    stem.with_suffix(".json").unlink()
    with pytest.raises(CheckpointError, match=r"best\.json"):
        load_checkpoint(stem)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"format_version": 1}', "\udcff"])
def test_malformed_json_is_refused(saved: tuple[Path, MLP], text: str) -> None:
    stem, _ = saved
    stem.with_suffix(".json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(stem)
    assert "best.json" in str(error.value)
    _assert_one_line(error)


def test_newer_format_is_refused(saved: tuple[Path, MLP]) -> None:
    stem, _ = saved
    document = json.loads(stem.with_suffix(".json").read_text())
    document["format_version"] = 99
    stem.with_suffix(".json").write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="upgrade"):
        load_checkpoint(stem)


def test_bad_configs_are_refused(tmp_path: Path) -> None:
    model = _mlp()
    with pytest.raises(ConfigError, match="reserved"):
        save_checkpoint(tmp_path / "a", model, {"weights": 1})
    with pytest.raises(ConfigError, match="JSON"):
        save_checkpoint(tmp_path / "b", model, {"training": {"data": object()}})
    with pytest.raises(ConfigError, match="architecture"):
        save_checkpoint(tmp_path / "c", model, {"architecture": "MLP"})
    with pytest.raises(ConfigError, match="tensor"):
        save_checkpoint(tmp_path / "d", {"a": 1.0}, {})


def test_map_location_cuda_without_cuda(saved: tuple[Path, MLP]) -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    with pytest.raises(ConfigError, match="CUDA"):
        load_checkpoint(saved[0], map_location="cuda")


def test_pretrained_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoint_module, "pretrained_dir", lambda: tmp_path)
    assert list_pretrained() == []
    model = _mlp()
    save_checkpoint(tmp_path / "toy-mlp", model, _config(model))
    (tmp_path / "orphan.json").write_text("{}")  # no weights: not listed
    assert list_pretrained() == ["toy-mlp"]

    state, config = load("toy-mlp")
    assert isinstance(state, dict) and config["architecture"]["class"] == "MLP"

    built, _ = load("toy-mlp.safetensors", MLP)
    assert isinstance(built, MLP) and not built.training
    assert torch.equal(built.net[0].weight, model.net[0].weight)

    def build_model(config: dict) -> torch.nn.Module:
        return MLP(**config["architecture"]["kwargs"])

    built, _ = load("toy-mlp", build_model)
    assert torch.equal(built.net[-1].bias, model.net[-1].bias)

    with pytest.raises(CheckpointError, match="toy-mlp") as error:
        load("tsp100-bq")
    assert "available" in str(error.value)
    with pytest.raises(CheckpointError, match="not a 'Linear'"):
        load("toy-mlp", torch.nn.Linear)


def test_pretrained_dir_is_the_package_folder() -> None:
    folder = checkpoint_module.pretrained_dir()
    assert folder.name == "pretrained" and folder.parent.name == "orlearn"


def test_update_metadata_merges_and_keeps_the_weights(saved: tuple[Path, MLP],
                                                      tmp_path: Path) -> None:
    from orlearn.nn import machine_description, update_metadata

    stem, model = saved
    weights_before = stem.with_suffix(".safetensors").read_bytes()
    update_metadata(stem.with_suffix(".json"), {"test": {"top1": 0.5}, "hardware": "toy"})
    fresh = _mlp(seed=1)
    _, config = load_checkpoint(stem, fresh)  # the recorded sha256 still matches
    assert config["metadata"] == {"validation": 0.5, "test": {"top1": 0.5}, "hardware": "toy"}
    assert stem.with_suffix(".safetensors").read_bytes() == weights_before
    assert torch.equal(fresh.state_dict()["net.0.weight"], model.state_dict()["net.0.weight"])
    with pytest.raises(CheckpointError, match="no checkpoint JSON") as error:
        update_metadata(tmp_path / "missing", {"a": 1})
    _assert_one_line(error)
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(CheckpointError, match="not an orlearn checkpoint"):
        update_metadata(tmp_path / "other", {"a": 1})
    with pytest.raises(ConfigError, match="JSON"):
        update_metadata(stem, {"bad": object()})
    description = machine_description()
    assert "logical cores" in description and "\n" not in description
