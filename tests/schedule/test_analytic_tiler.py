"""The analytic tiler of the paper's baseline (``igoc.cost.analytic``) on worked examples.

For a GEMM [M x K]·[K x N] on an R x C array with S elements of SPM, mNPUsim's
``gemm_translation`` keeps M whole and ties N_t = C·K_t, with the three operand tiles
filling half the SPM: M·K_t + K_t·N_t + M·N_t = S/2, so
K_t = (sqrt(2CS + (1+C)^2 M^2) - (1+C) M) / 2C.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.cost.analytic import fused_family, gemm_family, step_footprint
from igoc.dialects.npu import stamp_target
from igoc.dialects.sched import op_schedule
from igoc.dialects.views import layer_ops
from igoc.frontend import parse_text
from igoc.pipeline import paper_footing, parse_spec, run
from igoc.schedule.steps import Tiling
from igoc.target import load_target

BIG = 1 << 20  # dimensions large enough not to cut the tiles


def closed_form_k(m: int, cols: int, spm_elements: int) -> float:
    return (math.sqrt(2 * cols * spm_elements + (1 + cols) ** 2 * m**2) - (1 + cols) * m) / (
        2 * cols
    )


@pytest.mark.parametrize(("m", "cols", "k_t"), [(16, 4, 8), (64, 8, 3), (1, 128, 5), (96, 45, 7)])
def test_the_forward_gemm_matches_the_closed_form(m: int, cols: int, k_t: int) -> None:
    half = m * k_t + k_t * cols * k_t + m * cols * k_t  # S/2 for this K_t
    assert closed_form_k(m, cols, 2 * half) == pytest.approx(k_t)
    dims = {"i": m, "j": BIG, "l": BIG}
    members = gemm_family(dims, "fwd", cols, cols, 1, 1, half)
    # M whole, N = C·K, in mNPUsim's loop order (M, then the K chunk, then the N chunk).
    assert (Tiling(m, cols * k_t, k_t), "ilj") in members


def test_the_input_gradient_ties_its_columns_to_its_reduction() -> None:
    # dX[M x K] = dY[M x N]·W^T: M whole, K_t = C·N_t; bytes 16·4b + 16·b + 4b·b = 896 at b = 8.
    members = gemm_family({"i": 16, "j": BIG, "l": BIG}, "dx", 4, 4, 1, 1, 896)
    assert (Tiling(16, 8, 32), "ijl") in members


def test_what_is_left_is_filled_as_sum_tiling_does() -> None:
    # 40 bytes more than the exact fit: N (the tied dimension) grows into them first.
    members = gemm_family({"i": 16, "j": BIG, "l": BIG}, "fwd", 4, 4, 1, 1, 896 + 40)
    assert (Tiling(16, 33, 8), "ilj") in members  # 16·8 + 8·33 + 16·33 = 920 <= 936


def test_a_dimension_smaller_than_its_tie_is_taken_whole() -> None:
    members = gemm_family({"i": 16, "j": 20, "l": BIG}, "fwd", 4, 4, 1, 1, 896)
    tilings = [t for t, loop in members if loop == "ilj" and t.m == 16]
    assert tilings and all(t.n == 20 for t in tilings)
    assert all(
        step_footprint({"i": t.m, "j": t.n, "l": t.k}, ("fwd",), 1, 1) <= 896 for t in tilings
    )


def test_a_whole_dimension_too_large_is_halved_until_it_fits() -> None:
    members = gemm_family({"i": 10_000, "j": 64, "l": 64}, "fwd", 4, 4, 2, 4, 4096)
    assert members
    for tiling, _ in members:
        assert step_footprint({"i": tiling.m, "j": tiling.n, "l": tiling.k}, ("fwd",), 2, 4) <= 4096


def test_every_fused_member_fits_and_keeps_one_dimension_whole_or_is_balanced() -> None:
    dims = {"i": 3136, "j": 64, "l": 576}
    budget = 512 * 1024
    members = fused_family(dims, 45, 45, 2, 4, budget)
    assert len(members) >= 3
    for t in members:
        assert step_footprint({"i": t.m, "j": t.n, "l": t.k}, ("dx", "dw"), 2, 4) <= budget
        assert t.m <= dims["i"] and t.n <= dims["j"] and t.k <= dims["l"]


LINEAR = """
func.func @linear(%x: tensor<256x1024xf16>, %w: tensor<1024x512xf16>, %dy: tensor<256x512xf16>)
    -> (tensor<256x1024xf16>, tensor<1024x512xf16>) {
  %dx = grad.matmul_dx %dy, %w : (tensor<256x512xf16>, tensor<1024x512xf16>) -> tensor<256x1024xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<256x1024xf16>, tensor<256x512xf16>) -> tensor<1024x512xf16>
  func.return %dx, %dw : tensor<256x1024xf16>, tensor<1024x512xf16>
}
"""


def test_the_paper_baseline_takes_a_member_of_each_gemms_family() -> None:
    target = load_target("edge")
    module = parse_text(LINEAR, "linear.mlir")
    stamp_target(module, target)
    run(module, parse_spec(paper_footing("conv-to-gemm,tile,select-order{policy=cost}")))
    ops = [op for _, op in layer_ops(module)]
    dims = {"i": 256, "j": 512, "l": 1024}  # M, N, K of both gradients
    budget = target.spm_bytes // 2
    for op, comp in zip(ops, ("dx", "dw"), strict=True):
        schedule = op_schedule(op, (comp,))
        assert schedule is not None and schedule.discipline() == ("analytic", "window")
        family = gemm_family(dims, comp, target.array_rows, target.array_cols, 2, 4, budget)
        assert (schedule.tilings[0], schedule.order) in family


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 5000),
    st.integers(1, 5000),
    st.integers(1, 5000),
    st.sampled_from([(8, 8), (45, 45), (128, 128), (16, 32)]),
    st.integers(1 << 10, 1 << 22),
)
def test_every_member_fits_its_budget_and_the_frame(m, n, k, side, budget) -> None:
    dims = {"i": m, "j": n, "l": k}
    rows, cols = side
    tilings = [(t, ("dx", "dw")) for t in fused_family(dims, rows, cols, 2, 4, budget)]
    for comp in ("fwd", "dx", "dw"):
        tilings += [(t, (comp,)) for t, _ in gemm_family(dims, comp, rows, cols, 2, 4, budget)]
    for t, comps in tilings:
        assert 1 <= t.m <= m and 1 <= t.n <= n and 1 <= t.k <= k
        assert step_footprint({"i": t.m, "j": t.n, "l": t.k}, comps, 2, 4) <= budget
