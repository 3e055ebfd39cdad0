"""Which workload runs on which target: batches, variants, names, files and the zoo."""

from __future__ import annotations

import pathlib

import pytest

from igoc.bench.workloads import (
    DEFAULT_TARGETS,
    BenchUsageError,
    TargetError,
    default_models,
    model_choice,
    model_names,
    samples_dir,
    target_run,
    target_runs,
    workload,
)
from igoc.zoo.generate import expected_files

ROOT = pathlib.Path(__file__).parents[2]


@pytest.mark.parametrize(
    ("spec", "variant", "batch"),
    [
        ("edge", "edge", 4),
        ("server", "server", 8),
        ("server-2c", "server", 16),
        ("server-4c", "server", 32),
        ("server-8c", "server", 64),
    ],
)
def test_batches_follow_the_paper(spec, variant, batch):
    run = target_run(spec)
    assert (run.name, run.variant, run.batch) == (spec, variant, batch)


def test_defaults_are_the_three_presets_with_the_checked_in_batches():
    assert [target_run(spec).batch for spec in DEFAULT_TARGETS] == [4, 8, 32]


def test_settings_replace_keys_and_rename_the_target():
    run = target_run("server", [("psum_bytes", 4), ("batch", 16)])
    assert run.target.psum_bytes == 4 and run.batch == 16
    assert run.name == "server[psum_bytes=4,batch=16]"
    assert "psum_bytes = 4" in run.target.to_toml()
    assert target_run("server").target.psum_bytes == 2
    assert target_run("server", [("psum_bytes", 2)]).name == "server"  # nothing changed


def test_a_full_target_file_must_say_what_igoc_bench_runs(tmp_path):
    toml = target_run("edge").target.to_toml().replace('name = "edge"', 'name = "mine"')
    path = tmp_path / "mine.toml"
    path.write_text(toml)
    with pytest.raises(TargetError, match=r"mine.toml: igoc-bench needs key 'variant' \(edge"):
        target_run(str(path))
    path.write_text(toml + 'variant = "edge"\n')
    with pytest.raises(TargetError, match="needs key 'batch'"):
        target_run(str(path))
    run = target_run(str(path), [("batch", 2)])
    assert (run.name, run.variant, run.batch) == ("mine[batch=2]", "edge", 2)
    path.write_text(toml + 'variant = "server"\nbatch = 12\n')
    run = target_run(str(path))
    assert (run.name, run.variant, run.batch) == ("mine", "server", 12)


def test_an_edge_copy_runs_what_edge_runs_whatever_its_name(tmp_path):
    path = tmp_path / "npu-bw5.toml"
    path.write_text('base = "edge"\ndram_bandwidth_gb_per_s = 5.0\n')
    run = target_run(str(path))
    assert (run.name, run.variant, run.batch) == ("npu-bw5", "edge", 4)
    load = workload(model_choice("yolo"), run, samples_dir())
    assert load.input_name == "yolov2-tiny-b4.mlir"
    edge = target_run("edge").keys()
    assert run.keys() == {**edge, "name": "npu-bw5", "dram_bandwidth_gb_per_s": 5.0}


def test_sweeps_expand_into_one_run_per_combination():
    runs = target_runs(
        ["edge", "server"],
        [("psum_bytes", 4)],
        [("dram_bandwidth_gb_per_s", [11.0, 22.0]), ("batch", [4, 8])],
    )
    # Named after the keys whose value differs from the target's own (edge: 22 GB/s, batch 4).
    assert [run.name for run in runs] == [
        "edge[psum_bytes=4,dram_bandwidth_gb_per_s=11]",
        "edge[psum_bytes=4,dram_bandwidth_gb_per_s=11,batch=8]",
        "edge[psum_bytes=4]",
        "edge[psum_bytes=4,batch=8]",
        "server[psum_bytes=4,dram_bandwidth_gb_per_s=11,batch=4]",
        "server[psum_bytes=4,dram_bandwidth_gb_per_s=11]",
        "server[psum_bytes=4,dram_bandwidth_gb_per_s=22,batch=4]",
        "server[psum_bytes=4,dram_bandwidth_gb_per_s=22]",
    ]
    points = [(r.target.dram_bandwidth_gb_per_s, r.batch, r.target.psum_bytes) for r in runs]
    assert points[:4] == [(11.0, 4, 4), (11.0, 8, 4), (22.0, 4, 4), (22.0, 8, 4)]
    assert [r.target.cores for r in runs] == [1] * 8


def test_a_key_is_set_or_swept_once():
    with pytest.raises(BenchUsageError, match="key 'batch' is both set and swept"):
        target_runs(["edge"], [("batch", 2)], [("batch", [4, 8])])
    with pytest.raises(BenchUsageError, match="key 'cores' is swept twice"):
        target_runs(["edge"], [], [("cores", [1]), ("cores", [2])])


def test_two_targets_of_one_name_are_bad_usage(tmp_path):
    """A preset and a file of the same name (its stem, or its key ``name``) would share a
    column the tables cannot tell apart; the same target named twice is one target."""
    for name, text in (
        ("edge.toml", 'base = "edge"\n'),
        ("x.toml", 'base = "edge"\nname = "edge"\n'),
    ):
        copy = tmp_path / name
        copy.write_text(text)
        with pytest.raises(BenchUsageError, match=f"'edge' and '{copy}' are both named 'edge'"):
            target_runs(["edge", str(copy)])
    assert len(target_runs(["edge", "edge"])) == 1
    mine = tmp_path / "mine.toml"
    mine.write_text('base = "edge"\n')
    assert [r.name for r in target_runs(["edge", str(mine)])] == ["edge", "mine"]


def test_unknown_target_lists_the_presets():
    with pytest.raises(BenchUsageError, match="unknown target 'tpu'; targets: edge, server"):
        target_run("tpu")


def test_model_names():
    assert model_names()[:9] == ["rcnn", "goo", "ncf", "res", "dlrm", "mob", "yolo", "bert", "t5"]
    assert len(model_names()) == len(set(model_names()))
    assert model_choice("RES").network is not None
    assert model_choice("T5").label == "T5"
    assert model_choice("yolov5").model == "yolov5"
    assert model_choice("x/my.mlir").path == pathlib.Path("x/my.mlir")
    with pytest.raises(BenchUsageError, match="unknown model 'vgg'"):
        model_choice("vgg")
    assert [c.label for c in default_models(quick=True)] == ["ncf", "dlrm"]
    assert len(default_models()) == 9


@pytest.mark.parametrize(
    ("name", "spec", "model", "file"),
    [
        ("yolo", "edge", "yolov2-tiny", "yolov2-tiny-b4.mlir"),
        ("yolo", "server-4c", "yolov5", "yolov5-b32.mlir"),
        ("bert-tiny", "server", "bert-tiny", "bert-tiny-b8.mlir"),
    ],
)
def test_variant_follows_the_target_unless_a_model_is_named(name, spec, model, file):
    load = workload(model_choice(name), target_run(spec), samples_dir())
    assert (load.model, load.input_name) == (model, file)


def test_checked_in_files_are_read_and_others_generated(tmp_path):
    load = workload(model_choice("res"), target_run("server"), samples_dir())
    assert load.text == (ROOT / "samples" / "models" / "resnet50-b8.mlir").read_text()
    (tmp_path / "resnet50-b8.mlir").write_text("// edited\n")
    assert workload(model_choice("res"), target_run("server"), tmp_path).text == "// edited\n"
    # Not on disk: rendered by the zoo, as its generator would write it.
    generated = workload(model_choice("ncf"), target_run("edge"), tmp_path)
    assert generated.text == expected_files()["ncf-b4.mlir"]
    sixteen = workload(model_choice("ncf"), target_run("server-2c"), tmp_path)
    assert sixteen.batch == 16 and "tensor<16x256xf16>" in sixteen.text


def test_a_network_label_in_any_case():
    import argparse

    from igoc.bench.workloads import network_label

    assert network_label("t5") == "T5" and network_label("RES") == "res"
    with pytest.raises(
        argparse.ArgumentTypeError, match="unknown network 'resnet'; networks: rcnn"
    ):
        network_label("resnet")
