"""conv-to-gemm: state every layer op as a GEMM (im2col for convolutions).

Expects: verified grad ops (stage ``grad``).
Guarantees: every layer op carries ``sched.gemm = #sched.gemm<m, n, k, groups>``,
its frame (M = batch·OH·OW, K = Cin/groups·R·S, N = Cout/groups for a conv; each
group is one GEMM), and conv ops ``sched.im2col``: ``"on-the-fly"`` (default:
X is read by an im2col gather in the DMA, which reads each input element a
tile needs once, and dX is folded back by a col2im scatter-accumulate) or
``"materialize"`` (X_col and dX_col live in DRAM: R·S times the bytes of X and
dX, the cost the on-the-fly form avoids; kept to measure that difference).
The ops keep their meaning: the annotation only states how they will run.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from igoc.dialects.grad import GradOp
from igoc.dialects.sched import IM2COL_MODES, GemmAttr


@dataclass
class AnnotateGemm(RewritePattern):
    """Give a layer op its GEMM frame (and a conv its im2col mode), unless it has them."""

    im2col: str

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: GradOp, rewriter: PatternRewriter) -> None:
        wanted = {"sched.gemm": GemmAttr.of(*op.check_shapes())}
        if op.layer_kind == "conv2d":
            wanted["sched.im2col"] = StringAttr(self.im2col)
        if all(op.attributes.get(key) == value for key, value in wanted.items()):
            return
        op.attributes.update(wanted)
        rewriter.notify_op_modified(op)


@dataclass(frozen=True)
class ConvToGemmPass(ModulePass):
    """Annotates every layer op with its GEMM frame (M, N, K, groups) and im2col mode."""

    name = "conv-to-gemm"

    im2col: str = "on-the-fly"
    """How a conv's im2col and col2im are realised: on-the-fly or materialize."""

    def __post_init__(self) -> None:
        if self.im2col not in IM2COL_MODES:
            raise ValueError(
                f"conv-to-gemm: im2col must be one of {', '.join(IM2COL_MODES)}, "
                f"got {self.im2col!r}"
            )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(AnnotateGemm(self.im2col), apply_recursively=False).rewrite_module(op)
