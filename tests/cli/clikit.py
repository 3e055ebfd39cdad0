"""Helpers of the command-line tests: a small program, passes that misbehave on purpose."""

from dataclasses import dataclass

from xdsl.passes import ModulePass

from igoc.dialects.grad import GradOp
from igoc.frontend import error_at

LAYER = """\
// one layer
func.func @layer(%x: tensor<4x8xf16>, %w: tensor<8x2xf16>, %dy: tensor<4x2xf16>)
    -> (tensor<4x8xf16>, tensor<8x2xf16>, tensor<4x2xf16>, tensor<4x2xf16>) {
  %y1 = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>
  %y2 = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>
  %dx = grad.matmul_dx %dy, %w : (tensor<4x2xf16>, tensor<8x2xf16>) -> tensor<4x8xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<4x8xf16>, tensor<4x2xf16>) -> tensor<8x2xf16>
  func.return %dx, %dw, %y1, %y2
      : tensor<4x8xf16>, tensor<8x2xf16>, tensor<4x2xf16>, tensor<4x2xf16>
}
"""


@dataclass(frozen=True)
class RejectPass(ModulePass):
    """Reports an error in the input at the first grad op, as igoc's passes do."""

    name = "test-reject"

    def apply(self, ctx, op) -> None:
        first = next(o for o in op.walk() if isinstance(o, GradOp))
        raise error_at(first, "this layer needs 9.2 MiB of SPM; the target has 8 MiB")


@dataclass(frozen=True)
class CrashPass(ModulePass):
    """Fails the way a bug does."""

    name = "test-crash"

    def apply(self, ctx, op) -> None:
        raise RuntimeError("a bug")


@dataclass(frozen=True)
class BreakPass(ModulePass):
    """Leaves IR that does not verify: a function without its func.return."""

    name = "test-break"

    def apply(self, ctx, op) -> None:
        from xdsl.dialects import func

        ret = next(o for o in op.walk() if isinstance(o, func.ReturnOp))
        ret.detach()
        ret.erase()


@dataclass(frozen=True)
class TargetPass(ModulePass):
    """Records the target the module carries in an attribute (what a real pass would read)."""

    name = "test-target"

    def apply(self, ctx, op) -> None:
        from xdsl.dialects.builtin import StringAttr

        from igoc.dialects.npu import module_target

        op.attributes["test.seen"] = StringAttr(module_target(op).name)
