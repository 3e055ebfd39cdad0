"""A module of grad ops as plain data: its functions, tensors, layers and training order.

What the passes read of the IR besides the ``sched.*`` attributes:

- ``tensor_names``: the DRAM tensor name of every value of the module's functions;
- ``layer_ops``: the grad ops that become GEMMs, with their function;
- ``describe_op``: such an op as a ``LayerDesc`` (``igoc.schedule.describe``);
- ``training_order`` / ``TrainingLayers``: the layer ops in the order a training
  step runs them, with their descriptions and recorded schedules;
- ``declared_tensors``: the DRAM tensors of the functions (arguments, results,
  other values).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.ir import SSAValue

from igoc.dialects.grad import PLAIN_CONV, ConvBase, GradOp
from igoc.dialects.sched import checked_schedule
from igoc.schedule.describe import LayerDesc, dtype_of
from igoc.schedule.layer_schedule import LayerSchedule
from igoc.schedule.program import TensorSpec
from igoc.target import Target


def functions(module: ModuleOp) -> list[func.FuncOp]:
    """The functions of a module, in order."""
    return [op for op in module.body.block.ops if isinstance(op, func.FuncOp)]


def tensor_names(module: ModuleOp) -> dict[SSAValue, str]:
    """The DRAM tensor name of every value of the module's functions.

    Arguments and results keep the names the user gave them (``x``, ``dw``), prefixed
    by the function's name when the module holds several functions (``fc.x``);
    values without a name become ``v<n>``. A name already taken, in this function or
    an earlier one (``@a(%b.x)`` and ``@a.b(%x)`` both spell ``a.b.x``), gains
    ``.2``, ``.3``, ...: two values never share a tensor.
    """
    several = len(functions(module)) > 1
    names: dict[SSAValue, str] = {}
    taken: set[str] = set()
    for each in functions(module):
        prefix = f"{each.sym_name.data}." if several else ""
        values = list(each.body.block.args)
        values += [result for op in each.body.block.ops for result in op.results]
        for count, value in enumerate(values):
            base = value.name_hint or f"v{count}"
            candidate, n = prefix + base, 1
            while candidate in taken:
                n += 1
                candidate = f"{prefix}{base}.{n}"
            taken.add(candidate)
            names[value] = candidate
    return names


def layer_ops(module: ModuleOp) -> Iterator[tuple[func.FuncOp, GradOp]]:
    """Every grad op of the module (each becomes GEMMs), with its function, in order."""
    for function in functions(module):
        for op in function.body.block.ops:
            if isinstance(op, GradOp):
                yield function, op


def describe_op(op: GradOp, names: dict[SSAValue, str]) -> LayerDesc:
    """A grad op as a ``LayerDesc`` (tensor names from ``names``)."""
    tensors: dict[str, str] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    values = (*op.operands, *op.results)
    for role, value in zip(op.ROLES, values, strict=True):
        tensors[role] = names[value]
        shapes[role] = tuple(value.type.get_shape())  # type: ignore[attr-defined]
    element = values[0].type.get_element_type()  # type: ignore[attr-defined]
    kind = op.layer_kind
    conv = op.conv_params if isinstance(op, ConvBase) and kind == "conv2d" else PLAIN_CONV
    im2col = op.attributes.get("sched.im2col")
    return LayerDesc(
        name="+".join(names[r] for r in op.results),
        kind=kind,
        computations=op.COMPUTATIONS,
        tensors=tensors,
        shapes=shapes,
        dtype=dtype_of(str(element)),
        conv=conv,
        im2col=im2col.data if isinstance(im2col, StringAttr) else "on-the-fly",
    )


def training_order(module: ModuleOp) -> list[tuple[func.FuncOp, GradOp]]:
    """The module's layer ops in the order a training step runs them.

    Every forward op first (functions in order, ops as written), then the gradient
    ops, the last function's first, each function's as written: a file whose
    functions are a network's layers is one training step. A forward op that reads a
    gradient stays with the gradients.
    """
    forward: list[tuple[func.FuncOp, GradOp]] = []
    backward: list[list[tuple[func.FuncOp, GradOp]]] = []
    for function in functions(module):
        mine: list[tuple[func.FuncOp, GradOp]] = []
        from_gradients: set[SSAValue] = set()
        for op in function.body.block.ops:
            if not isinstance(op, GradOp):
                continue
            is_forward = op.COMPUTATIONS == ("fwd",)
            if is_forward and not (set(op.operands) & from_gradients):
                forward.append((function, op))
            else:
                mine.append((function, op))
                from_gradients.update(op.results)
        backward.append(mine)
    return forward + [pair for mine in reversed(backward) for pair in mine]


@dataclass
class TrainingLayers:
    """A module's layer ops in training order, each one's ``LayerDesc``, and the schedules
    they record (checked against ``target``)."""

    ops: list[GradOp]
    descs: list[LayerDesc]
    target: Target

    @staticmethod
    def of(module: ModuleOp, target: Target) -> TrainingLayers:
        """The layers of ``module``, to be scheduled for ``target``."""
        names = tensor_names(module)
        ops, descs = [], []
        for _, op in training_order(module):
            ops.append(op)
            descs.append(describe_op(op, names))
        return TrainingLayers(ops, descs, target)

    def schedule(self, index: int) -> LayerSchedule | None:
        """The schedule op ``index`` records, or None (``sched.checked_schedule``)."""
        return checked_schedule(self.ops[index], self.descs[index].computations, self.target)


def declared_tensors(module: ModuleOp) -> list[TensorSpec]:
    """Every DRAM tensor of the module's functions, in a fixed order.

    A function's arguments are inputs, its returned values outputs, its other values
    scratch.
    """
    out: list[TensorSpec] = []
    names = tensor_names(module)
    for function in functions(module):
        returned: set[SSAValue] = set()
        for op in function.body.block.ops:
            if isinstance(op, func.ReturnOp):
                returned.update(op.operands)
        values: list[tuple[SSAValue, str]] = [(arg, "input") for arg in function.body.block.args]
        for op in function.body.block.ops:
            values += [(r, "output" if r in returned else "scratch") for r in op.results]
        for value, role in values:
            out.append((names[value], role, *_spec(value.type)))
    return out


def _spec(value_type: object) -> tuple:
    assert isinstance(value_type, TensorType)
    return dtype_of(str(value_type.get_element_type())), tuple(value_type.get_shape())
