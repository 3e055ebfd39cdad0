"""xDSL's own tools know igoc's dialects and passes (the ``xdsl.universe`` entry point)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from igoc import pipeline
from igoc.dialects.npu import stamp_target
from igoc.frontend import parse_file, parse_text, print_module
from igoc.target import load_target
from igoc.universe import OWN_PASSES, UNIVERSE

ROOT = pathlib.Path(__file__).resolve().parents[1]
XDSL_OPT = [sys.executable, "-c", "from xdsl.tools.xdsl_opt import main; main()"]


def xdsl_opt(text: str, passes: str) -> str:
    run = subprocess.run(
        [*XDSL_OPT, "-p", passes], input=text, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def igoc_passes(module, passes: str):
    pipeline.run(module, pipeline.parse_spec(passes))
    return module


def test_the_universe_names_igocs_dialects_and_passes_only():
    assert set(UNIVERSE.all_dialects) == {"grad", "sched", "npu"}
    assert set(UNIVERSE.all_passes) == set(OWN_PASSES)
    assert "cse" not in OWN_PASSES and "fuse-gradients" in OWN_PASSES
    assert UNIVERSE.all_passes["fuse-gradients"]().name == "fuse-gradients"


@pytest.mark.parametrize(
    "passes", ["fuse-gradients", "conv-to-gemm,fuse-gradients,tile,select-order,partition"]
)
def test_xdsl_opt_runs_igocs_passes_on_igocs_ir(passes):
    """The output of an igoc stage goes through xdsl-opt, and igoc reads what it prints: the
    same IR as igoc's own run of the passes."""
    module = parse_file(str(ROOT / "samples" / "basics" / "mlp.mlir"))
    stamp_target(module, load_target("edge"))
    text = print_module(igoc_passes(module, "conv-to-gemm"))
    out = xdsl_opt(text, passes)
    assert "grad.interleaved" in out
    expected = igoc_passes(parse_text(text), passes)
    assert parse_text(out).is_structurally_equivalent(expected)


def test_xdsl_opt_lowers_to_the_npu_dialect():
    module = parse_file(str(ROOT / "samples" / "basics" / "conv-stride2.mlir"))
    stamp_target(module, load_target("edge"))
    out = xdsl_opt(print_module(module), "conv-to-gemm,fuse-gradients,tile,lower-to-npu")
    lowered = parse_text(out)
    assert [op.name for op in lowered.body.block.ops] == ["npu.program"]
    expected = igoc_passes(module, "conv-to-gemm,fuse-gradients,tile,lower-to-npu")
    assert lowered.is_structurally_equivalent(expected)
