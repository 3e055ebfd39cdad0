"""Targets: the presets carry the paper's Table 3; bad descriptions name the key and the file."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.target import Target, TargetError, load_target, preset_names, target_from_dict

GB = 1e9


def test_preset_names():
    assert preset_names() == ["edge", "server", "server-2c", "server-4c", "server-8c"]


def test_edge_preset():
    t = load_target("edge")
    assert (t.cores, t.array_rows, t.array_cols) == (1, 45, 45)
    assert t.clock_hz == 1e9
    assert t.spm_bytes == 1 << 20
    assert t.dram_bandwidth_gb_per_s == 22.0
    assert t.dram_bytes_per_cycle == 22.0
    assert (t.dram_latency_cycles, t.dataflow) == (100, "os")
    assert (t.element_bytes, t.acc_bytes, t.psum_bytes) == (2, 4, 2)
    assert t.pes == 45 * 45


@pytest.mark.parametrize(
    "name, cores", [("server", 1), ("server-2c", 2), ("server-4c", 4), ("server-8c", 8)]
)
def test_server_presets(name, cores):
    t = load_target(name)
    assert t.name == name
    assert (t.cores, t.array_rows, t.array_cols) == (cores, 128, 128)
    assert t.clock_mhz == 1050.0
    assert t.spm_bytes == 8 << 20  # per core
    assert t.spm_total_bytes == cores * (8 << 20)
    # 150 GB/s per core, one channel shared by all
    assert math.isclose(t.dram_bandwidth_gb_per_s, 150.0 * cores)
    assert math.isclose(t.dram_bytes_per_cycle, 150 * GB * cores / 1.05e9)
    assert (t.dram_latency_cycles, t.dataflow, t.psum_bytes) == (100, "os", 2)
    assert t.seconds(1050) == pytest.approx(1e-6)


def _write(tmp_path, text: str):
    path = tmp_path / "npu.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("name", ["edge", "server", "server-2c", "server-4c", "server-8c"])
def test_presets_time_arrays_pipelined_and_overlap_dma(name):
    t = load_target(name)
    assert (t.array_timing, t.overlap) == ("pipelined", "double-buffered")


def test_array_timing_and_overlap_may_be_left_out(tmp_path):
    """A target file written before these keys existed means what it meant: SCALE-Sim's
    fold timing, DMA overlapping compute."""
    lines = load_target("edge").to_toml().splitlines(keepends=True)
    old = [line for line in lines if not line.startswith(("array_timing ", "overlap "))]
    assert len(old) == len(lines) - 2
    t = load_target(_write(tmp_path, "".join(old)))
    assert (t.array_timing, t.overlap) == ("scalesim", "double-buffered")
    assert t == dataclasses.replace(load_target("edge"), array_timing="scalesim")
    assert 'array_timing = "scalesim"' in t.to_toml()  # written out in full


def test_file_target_and_toml_round_trip(tmp_path):
    server = load_target("server")
    path = _write(tmp_path, server.to_toml())
    assert load_target(path) == server


@settings(max_examples=100)
@given(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
    st.integers(1, 32),
    st.floats(0.001, 1e5, allow_nan=False),
    st.floats(0.001, 1e6, allow_nan=False),
    st.sampled_from(["os", "ws"]),
    st.booleans(),
    st.sampled_from([2, 4]),
)
def test_to_toml_reads_back_equal(name, cores, clock, bandwidth, dataflow, shared, psum):
    t = dataclasses.replace(
        load_target("edge"),
        name=name,
        cores=cores,
        clock_mhz=clock,
        dram_bandwidth_gb_per_s=bandwidth,
        dataflow=dataflow,
        spm_shared=shared,
        psum_bytes=psum,
    )
    import tomllib

    assert target_from_dict(tomllib.loads(t.to_toml())) == t


@pytest.mark.parametrize(
    "change, message",
    [
        ({"vector_units": 4}, "unknown key 'vector_units'"),
        ({"cores": None}, "missing key 'cores'"),
        ({"array_rows": 0}, "key 'array_rows' must be between 1 and 65,536, got 0"),
        ({"dram_bandwidth_gb_per_s": -1.0}, "key 'dram_bandwidth_gb_per_s' must be between"),
        ({"clock_mhz": float("inf")}, "key 'clock_mhz' must be between 0.001 and 100,000, got inf"),
        ({"dram_latency_cycles": -5}, "key 'dram_latency_cycles' must be between 0 and"),
        # Absurd but well-formed values, which once failed deep inside the passes.
        ({"dram_bandwidth_gb_per_s": 1e-300}, "got 1e-300"),
        ({"clock_mhz": 1e308}, "key 'clock_mhz' must be between 0.001 and 100,000, got 1e+308"),
        ({"dram_latency_cycles": 2**63 - 1}, "got 9.223e+18"),
        ({"clock_mhz": 10**400}, "key 'clock_mhz' must be between 0.001 and 100,000, got inf"),
        ({"spm_bytes": 2**63 - 1}, "key 'spm_bytes' must be between 1 and 4,294,967,296"),
        ({"cores": 32, "spm_bytes": 1 << 30, "spm_shared": True}, "32-bit SPM addresses"),
        ({"cores": 33}, "key 'cores' must be between 1 and 32, got 33"),
        ({"dataflow": "rs"}, "key 'dataflow' must be one of os, ws"),
        (
            {"array_timing": "steady"},
            "key 'array_timing' must be one of scalesim, pipelined, got 'steady'",
        ),
        ({"overlap": "none"}, "key 'overlap' must be one of double-buffered, serial, got 'none'"),
        ({"array_timing": 1}, "key 'array_timing' must be str"),
        ({"psum_bytes": 3}, "key 'psum_bytes' must be 2 or 4"),
        ({"cores": "two"}, "key 'cores' must be int"),
        ({"spm_shared": 1}, "key 'spm_shared' must be bool"),
    ],
)
def test_bad_files_name_the_key_and_the_file(tmp_path, change, message):
    data = load_target("edge").as_dict()
    for key, value in change.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    lines = []
    for key, value in data.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, float) and math.isinf(value):
            lines.append(f"{key} = inf")
        else:
            lines.append(f"{key} = {value!r}")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert message in str(info.value)
    assert str(info.value).startswith(path + ":")


def test_unknown_names_and_bad_files(tmp_path):
    with pytest.raises(TargetError, match="unknown target 'tpu'; presets: edge"):
        load_target("tpu")
    with pytest.raises(TargetError, match="cannot read target file"):
        load_target(str(tmp_path / "missing.toml"))
    with pytest.raises(TargetError, match="not valid TOML"):
        load_target(_write(tmp_path, "cores = = 1\n"))


def test_target_is_frozen():
    t = load_target("edge")
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.cores = 2  # type: ignore[misc]
    assert isinstance(t, Target)
