"""Derived targets (``base``), settings typed by their key, and igoc-bench's keys of a target."""

from __future__ import annotations

import dataclasses

import pytest

from igoc.target import (
    SettingError,
    TargetError,
    load_spec,
    load_target,
    parse_setting,
    parse_sweep,
    target_from_dict,
)
from igoc.target.spec import KEY_TYPES, derive_target


def _write(folder, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_a_derived_file_overrides_only_what_it_names(tmp_path):
    path = _write(tmp_path, "npu-bw5.toml", 'base = "edge"\ndram_bandwidth_gb_per_s = 5\n')
    spec = load_spec(path)
    edge = load_target("edge")
    assert spec.target == dataclasses.replace(edge, name="npu-bw5", dram_bandwidth_gb_per_s=5.0)
    assert (spec.variant, spec.batch) == ("edge", 4)  # the base's, whatever the name
    named = _write(tmp_path, "x.toml", 'base = "server-4c"\nname = "big"\nbatch = 64\n')
    spec = load_spec(named)
    assert (spec.target.name, spec.target.cores, spec.variant, spec.batch) == (
        "big",
        4,
        "server",
        64,
    )


def test_base_chains_follow_paths_relative_to_each_file(tmp_path):
    _write(tmp_path, "lib/slow.toml", 'base = "server"\ndram_bandwidth_gb_per_s = 37.5\n')
    _write(tmp_path, "lib/slow-2c.toml", 'base = "slow.toml"\ncores = 2\nbatch = 16\n')
    top = _write(tmp_path, "mine.toml", 'base = "lib/slow-2c.toml"\nspm_bytes = 4194304\n')
    spec = load_spec(top)
    server = load_target("server")
    assert spec.target == dataclasses.replace(
        server, name="mine", dram_bandwidth_gb_per_s=37.5, cores=2, spm_bytes=4 << 20
    )
    assert (spec.variant, spec.batch) == ("server", 16)


def test_base_cycles_are_errors_that_show_the_chain(tmp_path):
    a = _write(tmp_path, "a.toml", 'base = "b.toml"\n')
    _write(tmp_path, "b.toml", 'base = "a.toml"\ncores = 2\n')
    with pytest.raises(TargetError) as info:
        load_spec(a)
    assert str(info.value) == f"{a}: base chain loops: {a} -> b.toml -> a.toml"
    itself = _write(tmp_path, "self.toml", 'base = "self.toml"\n')
    with pytest.raises(TargetError, match=r"base chain loops: .*self.toml -> self.toml$"):
        load_spec(itself)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('base = "tpu"\n', "base 'tpu' is neither a preset (edge, server"),
        ("base = 3\n", "key 'base' must be a preset name or a file path"),
        ('base = "edge"\nvector_units = 4\n', "unknown key 'vector_units'; known keys: name,"),
        ('base = "edge"\nvariant = "cloud"\n', "key 'variant' must be one of edge, server"),
        ('base = "edge"\nbatch = 0\n', "key 'batch' must be a positive integer, got 0"),
        ('base = "edge"\nbatch = true\n', "key 'batch' must be a positive integer, got True"),
        ('base = "edge"\ncores = 0\n', "key 'cores' must be between 1 and 32, got 0"),
        ('base = "edge"\nclock_mhz = "fast"\n', "key 'clock_mhz' must be float, got 'fast'"),
    ],
)
def test_bad_derived_files_name_the_file_and_the_key(tmp_path, text, message):
    path = _write(tmp_path, "bad.toml", text)
    with pytest.raises(TargetError) as info:
        load_spec(path)
    assert message in str(info.value)
    assert str(info.value).startswith(path + ":") and "\n" not in str(info.value)


def test_the_machine_leaves_out_what_igoc_bench_runs():
    # The presets say variant and batch; the machine the compiler and the .npu file see does not.
    target = load_target("server-4c")
    assert "batch" not in target.as_dict() and "variant" not in target.to_toml()
    assert target_from_dict(target.as_dict()) == target
    assert load_spec("server-4c").as_dict() == {
        **target.as_dict(),
        "variant": "server",
        "batch": 32,
    }


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("cores=4", ("cores", 4)),
        ("clock_mhz=1050", ("clock_mhz", 1050.0)),
        ("dram_bandwidth_gb_per_s = 5.5", ("dram_bandwidth_gb_per_s", 5.5)),
        ("spm_shared=True", ("spm_shared", True)),
        ("spm_shared=false", ("spm_shared", False)),
        ("dataflow=ws", ("dataflow", "ws")),
        ("array_timing=scalesim", ("array_timing", "scalesim")),
        ("overlap=serial", ("overlap", "serial")),
        ("name=my npu", ("name", "my npu")),
        ("batch=16", ("batch", 16)),
        ("variant=edge", ("variant", "edge")),
    ],
)
def test_settings_are_typed_by_their_key(text, pair):
    key, value = parse_setting(text)
    assert (key, value) == pair and type(value) is type(pair[1])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cores=two", "key 'cores' takes an integer, got 'two'"),
        ("cores=2.5", "key 'cores' takes an integer, got '2.5'"),
        ("clock_mhz=fast", "key 'clock_mhz' takes a number, got 'fast'"),
        ("clock_mhz=inf", "key 'clock_mhz' takes a number, got 'inf'"),
        ("spm_shared=1", "key 'spm_shared' takes true or false, got '1'"),
        ("vector_units=4", "unknown key 'vector_units'; keys: name, cores,"),
        ("base=edge", "key 'base' cannot be set; choose the base target with --target"),
        ("cores", "expected KEY=VALUE"),
        ("=4", "expected KEY=VALUE"),
    ],
)
def test_bad_settings_name_the_key(text, message):
    with pytest.raises(SettingError) as info:
        parse_setting(text)
    assert str(info.value).startswith(message)


def test_sweeps_type_each_value_and_keep_each_once():
    assert parse_sweep("dram_bandwidth_gb_per_s=11,22,11.0") == (
        "dram_bandwidth_gb_per_s",
        [11.0, 22.0],
    )
    assert parse_sweep("batch=4") == ("batch", [4])
    with pytest.raises(SettingError, match="key 'cores' takes an integer, got 'x'"):
        parse_sweep("cores=1,x")
    with pytest.raises(SettingError, match="key 'cores': an empty value in the list"):
        parse_sweep("cores=1,,2")


def test_every_key_can_be_set():
    # A key added to the target (or to what igoc-bench runs) is settable and sweepable as it is.
    assert list(KEY_TYPES)[: len(load_target("edge").as_dict())] == list(
        load_target("edge").as_dict()
    )
    assert {"variant", "batch"} <= set(KEY_TYPES)


def test_settings_rename_the_target_after_what_changed():
    spec = load_spec("edge", [("dram_bandwidth_gb_per_s", 11.0), ("cores", 1), ("batch", 8)])
    assert spec.target.name == "edge[dram_bandwidth_gb_per_s=11,batch=8]"  # cores: as it was
    assert spec.target.dram_bandwidth_gb_per_s == 11.0 and spec.batch == 8
    assert load_spec("edge", [("cores", 2), ("cores", 1)]).target.name == "edge"  # later wins
    spec = load_spec("edge", [("name", "mine"), ("clock_mhz", 500.5)])
    assert spec.target.name == "mine[clock_mhz=500.5]"


def test_array_timing_and_overlap_are_set_and_derived_like_any_key(tmp_path):
    spec = load_spec("server", [("array_timing", "scalesim")])
    assert spec.target.name == "server[array_timing=scalesim]"
    assert (spec.target.array_timing, spec.target.overlap) == ("scalesim", "double-buffered")
    assert load_spec("edge", [("overlap", "serial")]).target.overlap == "serial"
    derived = tmp_path / "serial.toml"
    derived.write_text('base = "edge"\noverlap = "serial"\n')
    t = load_target(str(derived))
    assert (t.name, t.array_timing, t.overlap) == ("serial", "pipelined", "serial")
    with pytest.raises(TargetError) as info:
        load_spec("edge", [("array_timing", "fast")])
    assert str(info.value) == (
        "preset 'edge' with array_timing=fast: key 'array_timing' must be one of "
        "scalesim, pipelined, got 'fast'"
    )


def test_a_setting_out_of_range_names_the_key_and_where_it_came_from():
    with pytest.raises(TargetError) as info:
        load_spec("edge", [("cores", 0)])
    assert (
        str(info.value) == "preset 'edge' with cores=0: key 'cores' must be between 1 and 32, got 0"
    )
    with pytest.raises(TargetError, match="key 'psum_bytes' must be 2 or 4, got 3"):
        derive_target(load_target("server"), [("psum_bytes", 3)], "the input's target")
