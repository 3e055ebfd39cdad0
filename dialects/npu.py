"""The npu dialect: an NPU program, per core, at the granularity of layers.

The last stage of igoc's IR before the instruction stream. A ``npu.program``
holds the program's DRAM tensors (``npu.tensor``) and one ``npu.core`` per
core; a core runs its ``npu.layer`` ops (and ``npu.copy`` ops, where a conv's
im2col matrix is materialised; ``npu.zero`` ops, where an output must be zero
before layers add into it) in order, with ``npu.barrier`` where cores must
wait for each other. A layer op carries everything that determines
its instructions — the computation, its tensors, its schedule — and what the
lowering measured of it (instructions, DRAM bytes, estimated cycles), so a whole
model prints in readable size; the flat instruction stream exists only in the
emitted ``.npu`` file, which ``emit`` derives from these ops deterministically.

    "npu.program"() ({
      "npu.tensor"() <{name = "fc.x", role = "input", type = tensor<64x256xf16>}> : () -> ()
      "npu.core"() <{core = 0 : i64}> ({
        "npu.layer"() <{name = "fc.dx+dw", ...}> : () -> ()
      }) : () -> ()
    }) : () -> ()

All ops print in MLIR's generic form.
"""

from __future__ import annotations

from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    DictionaryAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
)
from xdsl.ir import Dialect
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    lazy_traits_def,
    prop_def,
    region_def,
    traits_def,
)
from xdsl.traits import HasParent, NoTerminator
from xdsl.utils.exceptions import VerifyException

ROLES = ("input", "output", "psum", "scratch")


@irdl_op_definition
class ProgramOp(IRDLOperation):
    """A whole NPU program: its DRAM tensors, then one ``npu.core`` per core."""

    name = "npu.program"
    body = region_def("single_block")
    traits = traits_def(NoTerminator())

    def verify_(self) -> None:
        cores = [op for op in self.body.block.ops if isinstance(op, CoreOp)]
        numbers = [op.core.value.data for op in cores]
        if numbers != list(range(len(numbers))):
            raise VerifyException(f"cores must be numbered 0, 1, ... in order, got {numbers}")


@irdl_op_definition
class TensorOp(IRDLOperation):
    """A DRAM tensor of the program: its name, role and type."""

    name = "npu.tensor"
    tensor_name = prop_def(StringAttr, prop_name="name")
    role = prop_def(StringAttr)
    type = prop_def(TensorType)
    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))

    def verify_(self) -> None:
        if self.role.data not in ROLES:
            raise VerifyException(f"role must be one of {', '.join(ROLES)}, got {self.role.data!r}")


@irdl_op_definition
class CoreOp(IRDLOperation):
    """What one core runs, in order."""

    name = "npu.core"
    core = prop_def(IntegerAttr[I64])
    body = region_def("single_block")
    traits = lazy_traits_def(lambda: (HasParent(ProgramOp), NoTerminator()))


@irdl_op_definition
class LayerOp(IRDLOperation):
    """One layer's share of a core: a computation, its tensors, its schedule, its measures.

    ``layer`` describes the computation (``kind``, ``computations``, the DRAM tensor
    of each role, the conv parameters); ``schedule`` the order, tile sizes and
    partition; ``stats`` what lowering found (instructions, DRAM bytes, estimated
    cycles, SPM peak) for this core.
    """

    name = "npu.layer"
    layer_name = prop_def(StringAttr, prop_name="name")
    layer = prop_def(DictionaryAttr)
    schedule = prop_def(DictionaryAttr)
    stats = prop_def(DictionaryAttr)
    traits = lazy_traits_def(lambda: (HasParent(CoreOp),))


@irdl_op_definition
class CopyOp(IRDLOperation):
    """A copy between an NCHW tensor and its im2col matrix in DRAM, this core's rows of it.

    ``kind`` ``"im2col"`` gathers ``tensor`` into ``col_tensor``; ``"col2im"`` adds
    ``col_tensor`` back into ``tensor``. ``conv`` is the im2col geometry.
    """

    name = "npu.copy"
    kind = prop_def(StringAttr)
    tensor = prop_def(StringAttr)
    col_tensor = prop_def(StringAttr)
    conv = prop_def(DictionaryAttr)
    stats = prop_def(DictionaryAttr)
    traits = lazy_traits_def(lambda: (HasParent(CoreOp),))

    def verify_(self) -> None:
        if self.kind.data not in ("im2col", "col2im"):
            raise VerifyException(f"kind must be im2col or col2im, got {self.kind.data!r}")


@irdl_op_definition
class ConvertOp(IRDLOperation):
    """Round a partial-sum buffer into its output (this core's rows), once all cores added in."""

    name = "npu.convert"
    source = prop_def(StringAttr)
    target = prop_def(StringAttr)
    stats = prop_def(DictionaryAttr)
    traits = lazy_traits_def(lambda: (HasParent(CoreOp),))


@irdl_op_definition
class ZeroOp(IRDLOperation):
    """Set a DRAM tensor to zero (this core's rows), before layers add into it or write part
    of it: DRAM holds old data."""

    name = "npu.zero"
    tensor = prop_def(StringAttr)
    stats = prop_def(DictionaryAttr)
    traits = lazy_traits_def(lambda: (HasParent(CoreOp),))


@irdl_op_definition
class BarrierOp(IRDLOperation):
    """Wait until every core of ``cores`` has arrived here."""

    name = "npu.barrier"
    barrier_id = prop_def(IntegerAttr[I64], prop_name="id")
    cores = prop_def(ArrayAttr[IntegerAttr[I64]])
    traits = lazy_traits_def(lambda: (HasParent(CoreOp),))


Npu = Dialect(
    "npu", [ProgramOp, TensorOp, CoreOp, LayerOp, CopyOp, ConvertOp, ZeroOp, BarrierOp], []
)
