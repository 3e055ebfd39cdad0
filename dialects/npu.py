"""The npu dialect: the NPU a module is compiled for, and its program per core, layer by layer.

``#npu.target<...>`` describes the NPU (every key of ``igoc.target.Target``); the
driver stamps it on the module as ``igoc.target`` and every pass reads it there
(:func:`module_target`).

The last stage of igoc's IR before the instruction stream: a ``npu.program``
holds the program's DRAM tensors (``npu.tensor``, each a symbol) and one
``npu.core`` per core; a core runs its ``npu.layer`` ops (and ``npu.copy`` ops,
where a conv's im2col matrix is materialised; ``npu.convert`` ops, where wider
partial sums are rounded into an output; ``npu.zero`` ops, where an output must
be zero before layers add into it) in order, with ``npu.barrier`` where cores
must wait for each other. A layer op names its tensors by symbol and carries the
typed schedule it was lowered from (``#sched.schedule``) and what the lowering
measured of it for its core (instructions, DRAM bytes, estimated cycles), so a
whole model prints in readable size; the flat instruction stream exists only in
the emitted ``.npu`` file, which the lowering emits from the very plans it
measured.

    "npu.program"() ({
      "npu.tensor"() <{sym_name = "x", role = "input", type = tensor<64x256xf16>}> : () -> ()
      "npu.core"() <{core = 0 : i64}> ({
        "npu.layer"() <{name = "dx+dw", kind = "matmul", tensors = {X = @x, ...},
                       schedule = #sched.schedule<...>, ...}> : () -> ()
      }) : () -> ()
    }) : () -> ()

The ops print in MLIR's generic form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    DictionaryAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    i64,
)
from xdsl.ir import Attribute, Block, Dialect, ParametrizedAttribute, Region
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    lazy_traits_def,
    opt_prop_def,
    prop_def,
    region_def,
    traits_def,
)
from xdsl.traits import HasParent, NoTerminator
from xdsl.utils.exceptions import VerifyException

from igoc.dialects.grad import ELEMENT_TYPES
from igoc.dialects.sched import ScheduleAttr, from_attr, to_attr
from igoc.frontend.diagnostics import error_at
from igoc.frontend.syntax import format_float
from igoc.isa.program import ROLES
from igoc.schedule.describe import LayerDesc, dtype_of
from igoc.schedule.layer import ROLES as FRAME_ROLES
from igoc.schedule.layer import ConvParams
from igoc.schedule.layer_schedule import LayerSchedule
from igoc.schedule.program import TensorSpec
from igoc.target import Target, TargetError, load_target, target_from_dict

if TYPE_CHECKING:
    from xdsl.parser import AttrParser
    from xdsl.printer import Printer

TARGET_ATTRIBUTE = "igoc.target"
"""The module attribute that holds the target (a ``#npu.target``)."""

DEFAULT_TARGET = "server"
"""The target of a module that names none."""

_ELEMENTS = {str(element): element for element in ELEMENT_TYPES}


# ---- the target ---------------------------------------------------------------------------------


@irdl_attr_definition
class TargetAttr(ParametrizedAttribute):
    """The NPU a module is compiled for: every key of ``igoc.target.Target``, checked as a
    target file's keys are.

    #npu.target<name = "edge", cores = 1, array_rows = 45, array_cols = 45, ...>
    """

    name = "npu.target"
    entries: DictionaryAttr

    @staticmethod
    def of(target: Target) -> TargetAttr:
        """The attribute of a target."""
        values = target.as_dict()
        return TargetAttr(DictionaryAttr({k: to_attr(v) for k, v in values.items()}))

    def target(self) -> Target:
        """The target it describes."""
        values = {key: from_attr(value) for key, value in self.entries.data.items()}
        return target_from_dict(values, "#npu.target")

    def verify(self) -> None:
        try:
            self.target()
        except TargetError as err:
            raise VerifyException(str(err)) from None

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        entries: dict[str, Attribute] = {}

        def entry() -> None:
            key = parser.parse_identifier(" (a target key)")
            if key in entries:
                parser.raise_error(f"key '{key}' is given twice")
            parser.parse_punctuation("=")
            text = parser.parse_optional_str_literal()
            if text is not None:
                entries[key] = StringAttr(text)
                return
            flag = parser.parse_optional_boolean()
            if flag is not None:
                entries[key] = to_attr(flag)
                return
            entries[key] = to_attr(parser.parse_number(context_msg=f" for key '{key}'"))

        with parser.in_angle_brackets():
            parser.parse_comma_separated_list(parser.Delimiter.NONE, entry)
        return (DictionaryAttr(entries),)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        for index, (key, attr) in enumerate(self.entries.data.items()):
            if index:
                printer.print_string(", ")
            printer.print_string(f"{key} = ")
            value = from_attr(attr)
            if isinstance(value, bool):
                printer.print_string("true" if value else "false")
            elif isinstance(value, float):
                printer.print_string(format_float(value))
            elif isinstance(value, str):
                printer.print_string_literal(value)
            else:
                printer.print_string(str(value))
        printer.print_string(">")


def stamp_target(module: ModuleOp, target: Target) -> None:
    """Record ``target`` in the module attribute ``igoc.target``."""
    module.attributes[TARGET_ATTRIBUTE] = TargetAttr.of(target)


def module_target(module: ModuleOp) -> Target:
    """The target recorded in the module (``igoc.target``), or the default preset.

    Raises ``DiagnosticError`` (at the module) if the attribute is not a ``#npu.target``.
    """
    attr = module.attributes.get(TARGET_ATTRIBUTE)
    if attr is None:
        return load_target(DEFAULT_TARGET)
    if not isinstance(attr, TargetAttr):
        raise error_at(module, f"{TARGET_ATTRIBUTE} must be a #npu.target<...>")
    return attr.target()


# ---- the program --------------------------------------------------------------------------------


@irdl_op_definition
class ProgramOp(IRDLOperation):
    """A whole NPU program: its DRAM tensors, then one ``npu.core`` per core."""

    name = "npu.program"
    body = region_def("single_block")
    traits = traits_def(NoTerminator())

    def tensors(self) -> dict[str, TensorOp]:
        """The program's tensors by name."""
        return {op.sym_name.data: op for op in self.body.block.ops if isinstance(op, TensorOp)}

    def verify_(self) -> None:
        cores = [op for op in self.body.block.ops if isinstance(op, CoreOp)]
        numbers = [op.core.value.data for op in cores]
        if numbers != list(range(len(numbers))):
            raise VerifyException(f"cores must be numbered 0, 1, ... in order, got {numbers}")
        declared = self.tensors()
        for core in cores:
            for op in core.body.block.ops:
                for symbol in _references(op):
                    if symbol not in declared:
                        raise VerifyException(
                            f"{op.name} refers to @{symbol}, which is no npu.tensor of the program"
                        )


def _references(op: IRDLOperation) -> list[str]:
    """The tensor symbols an op of a core refers to."""
    if isinstance(op, LayerOp):
        return [ref.root_reference.data for ref in op.tensors.data.values()]  # type: ignore[attr-defined]
    if isinstance(op, CopyOp):
        return [op.tensor.root_reference.data, op.col_tensor.root_reference.data]
    if isinstance(op, ConvertOp):
        return [op.source.root_reference.data, op.target.root_reference.data]
    if isinstance(op, ZeroOp):
        return [op.tensor.root_reference.data]
    return []


@irdl_op_definition
class TensorOp(IRDLOperation):
    """A DRAM tensor of the program: its name (a symbol), role and type."""

    name = "npu.tensor"
    sym_name = prop_def(StringAttr)
    role = prop_def(StringAttr)
    type = prop_def(TensorType)
    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))

    @staticmethod
    def of(spec: TensorSpec) -> TensorOp:
        """The op of a tensor ``(name, role, DType, shape)``."""
        name, role, dtype, shape = spec
        ty = TensorType(_ELEMENTS[dtype.mlir_name], list(shape))
        properties = {"sym_name": StringAttr(name), "role": StringAttr(role), "type": ty}
        return TensorOp(properties=properties)

    def spec(self) -> TensorSpec:
        """``(name, role, DType, shape)``."""
        ty = self.type
        dtype = dtype_of(str(ty.get_element_type()))
        return (self.sym_name.data, self.role.data, dtype, tuple(ty.get_shape()))

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

    @staticmethod
    def of(core: int, body: Block) -> CoreOp:
        """Core ``core`` running the ops of ``body``."""
        return CoreOp(properties={"core": IntegerAttr(core, i64)}, regions=[Region(body)])


@irdl_op_definition
class BarrierOp(IRDLOperation):
    """Wait until every core of ``cores`` has arrived here."""

    name = "npu.barrier"
    barrier_id = prop_def(IntegerAttr[I64], prop_name="id")
    cores = prop_def(ArrayAttr[IntegerAttr[I64]])
    traits = lazy_traits_def(lambda: (HasParent(CoreOp),))

    @staticmethod
    def of(barrier_id: int, cores: tuple[int, ...]) -> BarrierOp:
        """Barrier ``barrier_id`` of ``cores``."""
        return BarrierOp(
            properties={"id": IntegerAttr(barrier_id, i64), "cores": to_attr(list(cores))}
        )


class CoreItemOp(IRDLOperation):
    """An op of a ``npu.core``, with what the lowering measured of it for that core."""

    stats = prop_def(DictionaryAttr)
    traits = lazy_traits_def(lambda: (HasParent(CoreOp),))


@irdl_op_definition
class LayerOp(CoreItemOp):
    """One layer's share of a core: a computation, its tensors, its schedule, its measures.

    ``kind`` (``matmul`` or ``conv2d``) and ``computations`` (``fwd``, ``dx``, ``dw``)
    say what it computes; ``tensors`` the DRAM tensor of each role (``X``, ``W``,
    ``dY``, ``Y``, ``dX``, ``dW``), whose types give the shapes; a convolution adds
    ``conv`` (stride, padding, dilation, groups) and ``im2col``. ``schedule`` is the
    schedule it was lowered from; ``stats`` what lowering found for this core
    (tile steps, instructions, DRAM bytes, estimated cycles).
    """

    name = "npu.layer"
    layer_name = prop_def(StringAttr, prop_name="name")
    kind = prop_def(StringAttr)
    computations = prop_def(ArrayAttr[StringAttr])
    tensors = prop_def(DictionaryAttr)
    conv = opt_prop_def(DictionaryAttr)
    im2col = opt_prop_def(StringAttr)
    schedule = prop_def(ScheduleAttr)

    @staticmethod
    def of(desc: LayerDesc, schedule: LayerSchedule, stats: dict) -> LayerOp:
        """The op of a layer under a schedule, with what lowering measured of it."""
        roles = [role for role in FRAME_ROLES if role in desc.tensors]
        properties = {
            "name": StringAttr(desc.name),
            "kind": StringAttr(desc.kind),
            "computations": ArrayAttr([StringAttr(c) for c in desc.computations]),
            "tensors": DictionaryAttr({r: SymbolRefAttr(desc.tensors[r]) for r in roles}),
            "schedule": ScheduleAttr.of(schedule),
        }
        if desc.kind == "conv2d":
            properties["conv"] = to_attr(desc.conv.as_dict())
            properties["im2col"] = StringAttr(desc.im2col)
        return LayerOp(properties={**properties, "stats": to_attr(stats)})

    def desc(self, tensors: dict[str, TensorSpec]) -> LayerDesc:
        """The layer (shapes and element type from ``tensors``, the program's, by name)."""
        names = {role: ref.root_reference.data for role, ref in self.tensors.data.items()}  # type: ignore[attr-defined]
        conv = ConvParams()
        if self.conv is not None:
            data = from_attr(self.conv)
            conv = ConvParams(
                tuple(data["stride"]),  # type: ignore[index]
                tuple(data["padding"]),  # type: ignore[index]
                tuple(data["dilation"]),  # type: ignore[index]
                int(data["groups"]),  # type: ignore[index]
            )
        return LayerDesc(
            name=self.layer_name.data,
            kind=self.kind.data,
            computations=tuple(c.data for c in self.computations.data),
            tensors=names,
            shapes={role: tensors[name][3] for role, name in names.items()},
            dtype=tensors[next(iter(names.values()))][2],
            conv=conv,
            im2col=self.im2col.data if self.im2col is not None else "on-the-fly",
        )

    def layer_schedule(self) -> LayerSchedule:
        """The schedule the layer was lowered from."""
        return self.schedule.schedule(tuple(c.data for c in self.computations.data))

    def verify_(self) -> None:
        for role, ref in self.tensors.data.items():
            if not isinstance(ref, SymbolRefAttr):
                raise VerifyException(f"tensors: role {role} must name a tensor (@name)")
        if len(self.schedule.tiles.data) != len(self.computations.data):
            raise VerifyException("schedule: one tiling per computation")


@irdl_op_definition
class CopyOp(CoreItemOp):
    """A copy between an NCHW tensor and its im2col matrix in DRAM, this core's rows of it.

    ``kind`` ``"im2col"`` gathers ``tensor`` into ``col_tensor``; ``"col2im"`` adds
    ``col_tensor`` back into ``tensor``. ``conv`` is the im2col geometry.
    """

    name = "npu.copy"
    kind = prop_def(StringAttr)
    tensor = prop_def(SymbolRefAttr)
    col_tensor = prop_def(SymbolRefAttr)
    conv = prop_def(DictionaryAttr)

    @staticmethod
    def of(kind: str, tensor: str, col_tensor: str, geometry: dict, stats: dict) -> CopyOp:
        """A copy of ``kind`` between ``tensor`` and ``col_tensor`` (geometry: ``ConvGeometry``'s
        fields)."""
        return CopyOp(
            properties={
                "kind": StringAttr(kind),
                "tensor": SymbolRefAttr(tensor),
                "col_tensor": SymbolRefAttr(col_tensor),
                "conv": to_attr(geometry),
                "stats": to_attr(stats),
            }
        )

    def verify_(self) -> None:
        if self.kind.data not in ("im2col", "col2im"):
            raise VerifyException(f"kind must be im2col or col2im, got {self.kind.data!r}")


@irdl_op_definition
class ConvertOp(CoreItemOp):
    """Round a partial-sum buffer into its output (this core's rows), once all cores added in."""

    name = "npu.convert"
    source = prop_def(SymbolRefAttr)
    target = prop_def(SymbolRefAttr)

    @staticmethod
    def of(source: str, target: str, stats: dict) -> ConvertOp:
        """Round ``source`` into ``target``."""
        properties = {"source": SymbolRefAttr(source), "target": SymbolRefAttr(target)}
        return ConvertOp(properties={**properties, "stats": to_attr(stats)})


@irdl_op_definition
class ZeroOp(CoreItemOp):
    """Set a DRAM tensor to zero (this core's rows), before layers add into it or write part
    of it: DRAM holds old data."""

    name = "npu.zero"
    tensor = prop_def(SymbolRefAttr)

    @staticmethod
    def of(tensor: str, stats: dict) -> ZeroOp:
        """Set ``tensor`` to zero."""
        return ZeroOp(properties={"tensor": SymbolRefAttr(tensor), "stats": to_attr(stats)})


Npu = Dialect(
    "npu",
    [ProgramOp, TensorOp, CoreOp, LayerOp, CopyOp, ConvertOp, ZeroOp, BarrierOp],
    [TargetAttr],
)
