"""Every basic sample, every pipeline, every preset: the program's gradients equal numpy's.

This is ``igoc FILE -o OUT.npu --target T --pipeline P && igoc-sim OUT.npu --check``
for each combination, through the library.
"""

from __future__ import annotations

import pathlib

import pytest

from igoc.api import compile_file
from igoc.sim import simulate
from igoc.sim.compare import check_outputs, generate_inputs
from igoc.target import preset_names

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples" / "basics").glob("*.mlir"))
PIPELINES = ("baseline", "igo-interleave", "igo-rearrange", "igo")
# On the paper's footing: analytic tiles, reuse within a half-SPM window.
PAPER_PIPELINES = ("baseline-paper", "igo-interleave-paper", "igo-alg1-paper", "igo-paper")
# Its ablation: no input tile kept from one step to the next.
NO_REUSE_PIPELINES = ("baseline-noreuse", "igo-noreuse")


@pytest.mark.parametrize(
    "pipelines",
    [PIPELINES, PAPER_PIPELINES, NO_REUSE_PIPELINES],
    ids=["strong", "paper", "noreuse"],
)
@pytest.mark.parametrize("target", preset_names())
@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_every_pipeline_computes_the_gradients(
    sample: pathlib.Path, target: str, pipelines: tuple[str, ...]
) -> None:
    assert SAMPLES, "no samples found"
    for pipeline in pipelines:
        program = compile_file(str(sample), target, pipeline)
        inputs = generate_inputs(program, seed=7)
        result = simulate(program, functional=True, inputs=inputs)
        check = check_outputs(program, inputs, result.tensors, result.unwritten)
        assert check["passed"], (pipeline, check)
        assert set(check["outputs"]) >= {t.name for t in program.tensors if t.role == "output"}
