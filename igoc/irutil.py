"""Glue between xDSL IR and igoc's plain-data schedules, shared by the passes.

- ``to_attr`` / ``from_attr``: JSON-like Python values <-> builtin attributes
  (dictionaries, arrays, integers, floats, strings, booleans);
- ``tensor_names``: the DRAM tensor name of every value of a function;
- ``describe_op``: a grad op as a ``LayerDesc``;
- ``layer_ops``: the grad ops of a module that become GEMMs, with their function.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue

from igoc.schedule.describe import GRAD_OPS, ConvAttrs, LayerDesc, dtype_of

SCHED_PREFIX = "sched."


def to_attr(value: object) -> Attribute:
    """A builtin attribute for a JSON-like value (dict keys must be strings)."""
    if isinstance(value, Attribute):
        return value
    if isinstance(value, bool):
        return BoolAttr(value, IntegerType(1))
    if isinstance(value, int):
        return IntegerAttr(value, i64)
    if isinstance(value, float):
        return FloatAttr(value, f64)
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, dict):
        return DictionaryAttr({str(k): to_attr(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return ArrayAttr([to_attr(v) for v in value])
    raise TypeError(f"cannot turn {value!r} into an attribute")


def from_attr(attr: Attribute) -> object:
    """The JSON-like value of a builtin attribute (the inverse of ``to_attr``)."""
    if isinstance(attr, IntegerAttr):
        width = getattr(attr.type, "width", None)
        if width is not None and width.data == 1:
            return bool(attr.value.data)
        return attr.value.data
    if isinstance(attr, FloatAttr):
        return attr.value.data
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, DictionaryAttr):
        return {k: from_attr(v) for k, v in attr.data.items()}
    if isinstance(attr, ArrayAttr):
        return [from_attr(v) for v in attr.data]
    return attr


def sched_get(op: Operation, key: str) -> object | None:
    """The value of discardable attribute ``sched.<key>``, or None."""
    attr = op.attributes.get(SCHED_PREFIX + key)
    return None if attr is None else from_attr(attr)


def sched_set(op: Operation, key: str, value: object) -> None:
    """Set discardable attribute ``sched.<key>``."""
    op.attributes[SCHED_PREFIX + key] = to_attr(value)


def functions(module: ModuleOp) -> list[func.FuncOp]:
    """The functions of a module, in order."""
    return [op for op in module.body.block.ops if isinstance(op, func.FuncOp)]


def tensor_names(module: ModuleOp, function: func.FuncOp) -> dict[SSAValue, str]:
    """The DRAM tensor name of every value of a function.

    Arguments and results keep the names the user gave them (``x``, ``dw``), prefixed
    by the function's name when the module holds several functions (``fc.x``);
    values without a name become ``v<n>``.
    """
    prefix = f"{function.sym_name.data}." if len(functions(module)) > 1 else ""
    names: dict[SSAValue, str] = {}
    taken: set[str] = set()

    def name(value: SSAValue) -> None:
        base = value.name_hint or f"v{len(names)}"
        candidate, n = prefix + base, 1
        while candidate in taken:
            n += 1
            candidate = f"{prefix}{base}.{n}"
        taken.add(candidate)
        names[value] = candidate

    for arg in function.body.block.args:
        name(arg)
    for op in function.body.block.ops:
        for result in op.results:
            name(result)
    return names


def layer_ops(module: ModuleOp) -> Iterator[tuple[func.FuncOp, Operation]]:
    """Every grad op of the module that is a GEMM layer, with its function, in order."""
    for function in functions(module):
        for op in function.body.block.ops:
            if op.name in GRAD_OPS:
                yield function, op


def describe_op(op: Operation, names: dict[SSAValue, str]) -> LayerDesc:
    """A grad op as a ``LayerDesc`` (tensor names from ``names``)."""
    kind, computations, operand_roles, result_roles = GRAD_OPS[op.name]
    if kind is None:
        kind = op.properties["kind"].data  # type: ignore[attr-defined]
    tensors: dict[str, str] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    dtype = None
    for role, value in (
        *zip(operand_roles, op.operands, strict=True),
        *zip(result_roles, op.results, strict=True),
    ):
        tensors[role] = names[value]
        ty = value.type
        assert isinstance(ty, TensorType)
        shapes[role] = tuple(ty.get_shape())
        dtype = dtype_of(str(ty.get_element_type()))
    conv = ConvAttrs()
    if kind == "conv2d":
        props = op.properties

        def pair(key: str, default: tuple[int, int]) -> tuple[int, int]:
            attr = props.get(key)
            if attr is None:
                return default
            a, b = (e.value.data for e in attr.data)  # type: ignore[attr-defined]
            return (a, b)

        groups_attr = props.get("groups")
        conv = ConvAttrs(
            pair("stride", (1, 1)),
            pair("padding", (0, 0)),
            pair("dilation", (1, 1)),
            groups_attr.value.data if groups_attr is not None else 1,  # type: ignore[attr-defined]
        )
    label = "+".join(names[r] for r in op.results)
    im2col = sched_get(op, "im2col") or "on-the-fly"
    return LayerDesc(label, kind, computations, tensors, shapes, dtype, conv, str(im2col))  # type: ignore[arg-type]


def desc_to_dict(desc: LayerDesc) -> dict:
    """A ``LayerDesc`` as a JSON-like dictionary (``npu.layer``'s ``layer`` property)."""
    out = {
        "kind": desc.kind,
        "computations": list(desc.computations),
        "dtype": desc.dtype.mlir_name,
        "tensors": dict(sorted(desc.tensors.items())),
        "shapes": {role: list(shape) for role, shape in sorted(desc.shapes.items())},
    }
    if desc.kind == "conv2d":
        out["conv"] = desc.conv.as_dict()
        out["im2col"] = desc.im2col
    return out


def desc_from_dict(name: str, data: dict) -> LayerDesc:
    """The inverse of ``desc_to_dict``."""
    conv = data.get("conv")
    return LayerDesc(
        name,
        data["kind"],
        tuple(data["computations"]),
        dict(data["tensors"]),
        {role: tuple(shape) for role, shape in data["shapes"].items()},
        dtype_of(data["dtype"]),
        ConvAttrs(
            tuple(conv["stride"]),
            tuple(conv["padding"]),
            tuple(conv["dilation"]),
            int(conv["groups"]),
        )
        if conv
        else ConvAttrs(),
        str(data.get("im2col", "on-the-fly")),
    )


def training_order(module: ModuleOp) -> list[tuple[func.FuncOp, Operation]]:
    """The module's layer ops in the order a training step runs them.

    Every forward op first (functions in order, ops as written), then the gradient
    ops, the last function's first, each function's as written: a file whose
    functions are a network's layers is one training step. A forward op that reads a
    gradient stays with the gradients.
    """
    forward: list[tuple[func.FuncOp, Operation]] = []
    backward: list[list[tuple[func.FuncOp, Operation]]] = []
    for function in functions(module):
        mine: list[tuple[func.FuncOp, Operation]] = []
        from_gradients: set[SSAValue] = set()
        for op in function.body.block.ops:
            if op.name not in GRAD_OPS:
                continue
            is_forward = GRAD_OPS[op.name][1] == ("fwd",)
            if is_forward and not (set(op.operands) & from_gradients):
                forward.append((function, op))
            else:
                mine.append((function, op))
                from_gradients.update(op.results)
        backward.append(mine)
    return forward + [pair for mine in reversed(backward) for pair in mine]


def layer_context(
    order: list[tuple[func.FuncOp, Operation]],
    descs: list[LayerDesc],
    index: int,
    capacity_bytes: int,
) -> int | None:
    """The latest layer before ``index`` (in ``order``) whose data may still be in SPM.

    That is the latest earlier layer sharing a DRAM tensor with this one, provided that
    the distinct tensors of every layer from it to this one fit in ``capacity_bytes``
    together (otherwise whatever they shared has been evicted in between).
    """
    mine = set(descs[index].tensors.values())
    seen: dict[str, int] = {}
    for j in range(index, -1, -1):
        desc = descs[j]
        for role, name in desc.tensors.items():
            seen.setdefault(name, math.prod(desc.shapes[role]) * desc.dtype.nbytes)
        if sum(seen.values()) > capacity_bytes:
            return None
        if j < index and mine & set(desc.tensors.values()):
            return j
    return None


def op_schedule(op: Operation, desc: LayerDesc):
    """The schedule an op's ``sched.*`` attributes record, or None if it has none yet."""
    from igoc.schedule.describe import schedule_from_dict

    data = {k: sched_get(op, k) for k in ("order", "tile", "loops", "partition")}
    if data["order"] is None or data["tile"] is None:
        return None
    return schedule_from_dict(desc.computations, data)


def ops_in_training_order(
    module: ModuleOp,
) -> tuple[list[tuple[func.FuncOp, Operation]], list[LayerDesc]]:
    """The layer ops in training order, and each one's ``LayerDesc``."""
    order = training_order(module)
    names_of: dict = {}
    descs = []
    for function, op in order:
        if function not in names_of:
            names_of[function] = tensor_names(module, function)
        descs.append(describe_op(op, names_of[function]))
    return order, descs


def fused_context(
    order: list[tuple[func.FuncOp, Operation]], descs: list[LayerDesc], index: int, capacity: int
):
    """For a fused op, the earlier layer its candidates are weighed after, with that layer's
    schedule (``layer_context``); None for a single GEMM, which is weighed alone as the
    baseline weighs it, so that a fused op's ``sequential`` candidate is the baseline's."""
    if len(descs[index].computations) != 2:
        return None
    j = layer_context(order, descs, index, capacity)
    if j is None:
        return None
    before = op_schedule(order[j][1], descs[j])
    return None if before is None else (descs[j], before)
