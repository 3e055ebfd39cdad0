"""Every sample parses and verifies; the basic ones say what they show."""

import pathlib

import pytest

from igoc.dialects.grad import GradOp
from igoc.frontend import parse_file, print_module

SAMPLES = pathlib.Path(__file__).resolve().parents[1] / "samples"
ALL = sorted(SAMPLES.rglob("*.mlir"))
BASICS = ["linear", "conv3x3", "conv-stride2", "conv1x1", "mlp", "train-step"]


@pytest.mark.parametrize("path", ALL, ids=[str(p.relative_to(SAMPLES)) for p in ALL])
def test_sample_parses_and_verifies(path):
    module = parse_file(str(path))
    assert any(isinstance(op, GradOp) for op in module.walk())


@pytest.mark.parametrize("name", BASICS)
def test_basic_sample_opens_with_what_it_shows(name):
    path = SAMPLES / "basics" / f"{name}.mlir"
    first_lines = path.read_text().splitlines()[:2]
    assert all(line.startswith("// ") and len(line) > 20 for line in first_lines)
    module = parse_file(str(path))
    assert parse_file(str(path)).is_structurally_equivalent(module)
    assert "func.func" in print_module(module)


def test_mlp_has_three_layers_and_no_dx_for_the_first():
    module = parse_file(str(SAMPLES / "basics" / "mlp.mlir"))
    names = [op.name for op in module.walk() if isinstance(op, GradOp)]
    assert names.count("grad.matmul_dw") == 3
    assert names.count("grad.matmul_dx") == 2


def test_train_step_chains_its_layers():
    module = parse_file(str(SAMPLES / "basics" / "train-step.mlir"))
    ops = {op.results[0].name_hint: op for op in module.walk() if isinstance(op, GradOp)}
    # Layer 2 reads layer 1's output, and layer 1's dY is layer 2's dX.
    assert ops["y"].x is ops["h"].results[0]
    assert ops["dw1"].dy is ops["dh"].results[0]
    assert ops["dh"].name == "grad.conv2d_dx"


def test_the_padded_and_strided_samples_use_padding_and_stride():
    conv3x3 = parse_file(str(SAMPLES / "basics" / "conv3x3.mlir"))
    strided = parse_file(str(SAMPLES / "basics" / "conv-stride2.mlir"))
    assert {op.conv_params.padding for op in conv3x3.walk() if isinstance(op, GradOp)} == {(1, 1)}
    assert {op.conv_params.stride for op in strided.walk() if isinstance(op, GradOp)} == {(2, 2)}


TARGET_FILES = sorted((SAMPLES / "targets").glob("*.toml"))


@pytest.mark.parametrize("path", TARGET_FILES, ids=[p.name for p in TARGET_FILES])
def test_sample_target_loads_and_differs_from_its_preset_in_bandwidth_only(path):
    import tomllib

    from igoc.target import load_spec

    base = tomllib.loads(path.read_text())["base"]
    spec, preset = load_spec(str(path)).as_dict(), load_spec(base).as_dict()
    assert spec["dram_bandwidth_gb_per_s"] < preset["dram_bandwidth_gb_per_s"]
    assert spec["name"] == path.stem
    changed = {key for key in spec if spec[key] != preset[key]}
    assert changed == {"name", "dram_bandwidth_gb_per_s"}  # the batch and variant are the base's
