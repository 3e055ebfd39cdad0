"""conv-to-gemm: state every layer op as a GEMM (im2col for convolutions).

Expects: verified grad ops (stage ``grad``).
Guarantees: every GEMM layer op carries ``sched.gemm = {m, n, k, groups}``, its
frame (M = batch·OH·OW, K = Cin/groups·R·S, N = Cout/groups for a conv; each
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
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from igoc.irutil import describe_op, layer_ops, sched_set, tensor_names

IM2COL_MODES = ("on-the-fly", "materialize")


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
        names_of = {}
        for function, layer in layer_ops(op):
            if function not in names_of:
                names_of[function] = tensor_names(op, function)
            desc = describe_op(layer, names_of[function])
            m, n, k, groups = desc.gemm_dims()
            sched_set(layer, "gemm", {"m": m, "n": n, "k": k, "groups": groups})
            if desc.kind == "conv2d":
                sched_set(layer, "im2col", self.im2col)
