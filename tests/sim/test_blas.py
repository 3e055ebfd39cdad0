"""Runs on data use one BLAS thread (``igoc.sim.blas``): the same bits whatever the cores."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from igoc.api import compile_text
from igoc.sim import simulate
from igoc.sim.blas import one_blas_thread
from igoc.sim.compare import StreamingCheck, check_outputs, generate_inputs

M, K, N = 256, 384, 320
LAYER = f"""func.func @layer(%x: tensor<{M}x{K}xf16>, %w: tensor<{K}x{N}xf16>,
                  %dy: tensor<{M}x{N}xf16>) -> (tensor<{M}x{K}xf16>, tensor<{K}x{N}xf16>) {{
  %dx = grad.matmul_dx %dy, %w : (tensor<{M}x{N}xf16>, tensor<{K}x{N}xf16>) -> tensor<{M}x{K}xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<{M}x{K}xf16>, tensor<{M}x{N}xf16>) -> tensor<{K}x{N}xf16>
  func.return %dx, %dw : tensor<{M}x{K}xf16>, tensor<{K}x{N}xf16>
}}
"""

pytestmark = pytest.mark.skipif(
    not any(lib["user_api"] == "blas" for lib in threadpool_info()),
    reason="numpy found no BLAS library threadpoolctl can limit",
)


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_one_thread_while_held_then_the_limits_found():
    """Nested blocks each restore what they found."""
    with threadpool_limits(limits=3, user_api="blas"):
        with one_blas_thread():
            assert _blas_threads() == {1}
            with one_blas_thread():
                assert _blas_threads() == {1}
            assert _blas_threads() == {1}
        assert _blas_threads() == {3}


def test_a_background_check_holds_the_limit_until_its_verdict():
    """The thread that makes a background check holds one BLAS thread for it (its reference
    runs on another thread, which cannot set the limit itself) until ``finish``."""
    program = compile_text(LAYER, "server", "igo")
    with threadpool_limits(limits=3, user_api="blas"):
        streaming = StreamingCheck(program, generate_inputs(program, 3), background=True)
        assert _blas_threads() == {1}
        result = simulate(program, functional=True, inputs=generate_inputs(program, 3))
        assert _blas_threads() == {1}
        assert streaming.finish(result.tensors, result.unwritten)["passed"]
        assert _blas_threads() == {3}
        closed = StreamingCheck(program, generate_inputs(program, 3), background=True)
        closed.close()
        closed.close()
        assert _blas_threads() == {3}


def test_a_run_on_data_and_its_check_give_the_same_bits_for_any_blas_threads():
    """The matmuls of a layer on the server target (tiles of 128 and more, which OpenBLAS
    splits among its threads, summing in another order) and the reference, at once or in
    the background: the same bits with one BLAS thread and four."""
    program = compile_text(LAYER, "server", "igo")
    runs = []
    for threads in (1, 4):
        with threadpool_limits(limits=threads, user_api="blas"):
            result = simulate(program, functional=True, inputs=generate_inputs(program, 3))
            check = check_outputs(program, generate_inputs(program, 3), result.tensors)
            streaming = StreamingCheck(program, generate_inputs(program, 3), background=True)
            shown = simulate(
                program, functional=True, inputs=generate_inputs(program, 3), done=streaming.done
            )
            assert streaming.finish(shown.tensors, shown.unwritten) == check
        runs.append((result.tensors, check))
    (first, check1), (second, check4) = runs
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(first[name].view(np.uint8), second[name].view(np.uint8))
    assert check1 == check4
