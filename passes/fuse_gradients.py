"""fuse-gradients: one ``grad.interleaved`` op for the dX and dW of each layer.

Expects: grad ops, each layer's dX (``grad.*_dx %dy, %w``) and dW
(``grad.*_dw %x, %dy``) reading the same dY value, of the same kind, with the
same conv parameters.
Guarantees: each such pair is one ``grad.interleaved %dy, %x, %w`` whose two
results replace the pair's; it sits where the later of the two stood, takes
the location of the dX op, its ``sched.gemm`` and ``sched.im2col`` (the frame is
the pair's; a schedule made for one GEMM does not apply to two) and the result
names of both. A dX or dW without its partner (the first layer computes no dX) stays
as it is, and so does a pair that cannot be fused without moving a use of its
results before their definition. Results are unchanged: the fused op computes
exactly what the pair did.

The rewrite is a pattern on each dX op (``FuseWithPartner``): its partner is the
first dW op of its block, of its kind, that reads its dY and is not the partner
of an earlier dX op.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from igoc.dialects.grad import (
    PLAIN_CONV,
    Conv2DDwOp,
    Conv2DDxOp,
    InterleavedOp,
    MatmulDwOp,
    MatmulDxOp,
)
from igoc.dialects.names import set_name

KEPT = ("sched.gemm", "sched.im2col")
"""The annotations of the dX op that the fused op takes over."""

PAIRS = {MatmulDxOp: (MatmulDwOp, "matmul"), Conv2DDxOp: (Conv2DDwOp, "conv2d")}


def find_pairs(ops: list[Operation]) -> list[tuple[Operation, Operation]]:
    """The (dX op, dW op) pairs of a block that share dY, in the order of their dX."""
    pairs = []
    taken: set[int] = set()
    for dx in ops:
        partner = PAIRS.get(type(dx))
        if partner is None:
            continue
        dw_type, kind = partner
        for j, dw in enumerate(ops):
            if j in taken or not isinstance(dw, dw_type):
                continue
            if dw.dy is not dx.dy:  # type: ignore[attr-defined]
                continue
            if kind == "conv2d" and dx.conv_params != dw.conv_params:  # type: ignore[attr-defined]
                continue
            pairs.append((dx, dw))
            taken.add(j)
            break
    return pairs


def can_fuse(ops: list[Operation], dx: Operation, dw: Operation) -> bool:
    """True if the fused op can stand where the later op of the pair stands."""
    first, last = sorted((ops.index(dx), ops.index(dw)))
    early = ops[first]
    between = ops[first + 1 : last]
    return not any(use.operation in between for result in early.results for use in result.uses)


class FuseWithPartner(RewritePattern):
    """Replace a dX op and its dW partner by one ``grad.interleaved`` op."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, dx: MatmulDxOp | Conv2DDxOp, rewriter: PatternRewriter) -> None:
        block = dx.parent_block()
        if block is None:
            return
        ops = list(block.ops)
        dw = next((w for d, w in find_pairs(ops) if d is dx), None)
        if dw is None or not can_fuse(ops, dx, dw):
            return
        kind = PAIRS[type(dx)][1]
        params = dx.conv_params if isinstance(dx, Conv2DDxOp) else PLAIN_CONV
        fused = InterleavedOp(dx.dy, dw.x, dx.w, kind, params)  # type: ignore[attr-defined]
        fused.location = dx.location
        for key in KEPT:
            if key in dx.attributes:
                fused.attributes[key] = dx.attributes[key]
        later = max(dx, dw, key=ops.index)
        rewriter.insert(fused, InsertPoint.before(later))
        for old, new in ((dx.results[0], fused.dx), (dw.results[0], fused.dw)):
            set_name(new, old.name_hint)
            rewriter.replace_all_uses_with(old, new)
        rewriter.erase(dx)
        rewriter.erase(dw)


@dataclass(frozen=True)
class FuseGradientsPass(ModulePass):
    """Fuses each layer's dX and dW ops, which read the same dY, into one grad.interleaved op."""

    name = "fuse-gradients"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FuseWithPartner(), apply_recursively=False).rewrite_module(op)
