"""The pass registry, named pipelines, stages, and the target in the module."""

import pytest
from clikit import LAYER

from igoc import pipeline
from igoc.dialects.npu import DEFAULT_TARGET, module_target, stamp_target
from igoc.frontend import DiagnosticError, parse_text, print_module
from igoc.pipeline import (
    PipelineError,
    build_pipeline,
    parse_spec,
    pass_specs,
    stages_reached,
    steps_until,
)
from igoc.target import load_target, preset_names


@pytest.mark.parametrize("preset", preset_names())
def test_target_survives_the_module_and_its_text(preset):
    module = parse_text(LAYER)
    target = load_target(preset)
    stamp_target(module, target)
    assert module_target(module) == target
    assert module_target(parse_text(print_module(module))) == target
    assert module_target(parse_text(print_module(module, generic=True))) == target


def test_module_without_target_gets_the_default():
    assert module_target(parse_text(LAYER)) == load_target(DEFAULT_TARGET)


@pytest.mark.parametrize("attribute", ['"server"', '{name = "x", cores = 1}'])
def test_a_target_that_is_no_target_attribute_is_a_diagnostic(attribute):
    module = parse_text(
        f"module attributes {{igoc.target = {attribute}}} {{\n{LAYER}}}\n", "t.mlir"
    )
    with pytest.raises(DiagnosticError, match="igoc.target must be a #npu.target") as caught:
        module_target(module)
    assert caught.value.location == ("t.mlir", 1, 1)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ('name = "x", cores = 1', "missing key 'array_rows'"),
        ('name = "x", cores = 1, cores = 2', "key 'cores' is given twice"),
    ],
)
def test_a_bad_target_attribute_is_a_diagnostic_where_it_stands(entries, message):
    text = f"module attributes {{igoc.target = #npu.target<{entries}>}} {{\n{LAYER}}}\n"
    with pytest.raises(DiagnosticError, match=message) as caught:
        parse_text(text, "t.mlir")
    filename, line, column = caught.value.location
    assert (filename, line) == ("t.mlir", 1) and column >= text.index("#npu") + 1


def test_every_named_pipeline_builds_and_names_known_stages():
    for name in pipeline.PIPELINES:
        steps = build_pipeline(name)
        assert [s.spec.split("{")[0] for s in steps] == [
            spec.split("{")[0] for spec in pass_specs(pipeline.PIPELINES[name])
        ]
        assert set(stages_reached(steps)) <= set(pipeline.STAGES)


def test_default_pipeline():
    assert [s.spec for s in build_pipeline()] == [
        s.spec for s in build_pipeline(pipeline.DEFAULT_PIPELINE)
    ]


def test_spec_steps_and_their_stages(monkeypatch):
    monkeypatch.setitem(pipeline.STAGE_OF_PASS, "cse", "gemm")
    steps = parse_spec("cse,canonicalize,dce")
    assert [(s.name, s.stage) for s in steps] == [
        ("cse", "gemm"),
        ("canonicalize", None),
        ("dce", None),
    ]
    assert stages_reached(steps) == ["grad", "gemm"]
    assert steps_until(steps, "grad") == []
    assert [s.name for s in steps_until(steps, "gemm")] == ["cse"]
    with pytest.raises(PipelineError, match="never reaches stage 'npu'"):
        steps_until(steps, "npu")
    with pytest.raises(PipelineError, match="unknown stage 'gpu'"):
        steps_until(steps, "gpu")


def test_empty_spec_is_no_passes():
    assert build_pipeline(spec="") == []
    assert build_pipeline(spec="  ") == []


def test_pass_options_are_checked():
    with pytest.raises(PipelineError, match="bad pass pipeline 'canonicalize{bogus=1}'"):
        parse_spec("canonicalize{bogus=1}")


def test_a_registered_pass_that_cannot_be_imported(monkeypatch):
    monkeypatch.setitem(pipeline.PASSES, "ghost", "igoc.no_such_module:GhostPass")
    with pytest.raises(PipelineError, match="pass 'ghost' is registered but cannot be loaded"):
        parse_spec("ghost")
    monkeypatch.setitem(pipeline.PIPELINES, "haunted", "ghost")
    with pytest.raises(PipelineError, match="cannot be loaded"):
        build_pipeline("haunted")


def test_unknown_pass_suggests_the_nearest():
    with pytest.raises(PipelineError, match="unknown pass 'cs'; did you mean 'cse'"):
        parse_spec("cs")


def test_list_passes_has_one_line_per_pass():
    listing = pipeline.list_passes().splitlines()
    pass_lines = listing[1 : listing.index("pipelines:")]
    assert [line.split()[0] for line in pass_lines] == sorted(pipeline.PASSES)
    assert all(len(line.split(maxsplit=1)) == 2 for line in pass_lines)
