"""Small ONNX models built with onnx.helper, for the importer's tests (nothing is downloaded),
and ``igoc-import`` run as a user runs it."""

from __future__ import annotations

import contextlib
import io
import pathlib
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17

Shape = Sequence[int | str]


def tensor(name: str, shape: Shape, elem: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    """A graph input or output; a string in ``shape`` is a symbolic dimension."""
    return helper.make_tensor_value_info(name, elem, list(shape))


def out(name: str) -> onnx.ValueInfoProto:
    """A graph output whose shape shape inference finds."""
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, None)


def weight(name: str, shape: Sequence[int], seed: int = 0) -> onnx.TensorProto:
    """A float initializer of random values."""
    values = np.random.default_rng(seed).standard_normal(tuple(shape)).astype(np.float32)
    return numpy_helper.from_array(values, name)


def model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    initializers: list[onnx.TensorProto] = (),  # type: ignore[assignment]
    opset: int = OPSET,
) -> onnx.ModelProto:
    """A checked model of one graph."""
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    built = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="tests"
    )
    built.ir_version = 8
    # Outputs made with out() get the shapes that inference finds (the checker wants one).
    inferred = onnx.shape_inference.infer_shapes(built)
    found = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.output]}
    for output in built.graph.output:
        if not output.type.tensor_type.HasField("shape") and output.name in found:
            output.type.CopyFrom(found[output.name].type)
    onnx.checker.check_model(built)
    return built


def save(built: onnx.ModelProto, path: pathlib.Path) -> str:
    """Write the model; return its path as a string."""
    onnx.save(built, str(path))
    return str(path)


def conv_model(
    x_shape: Sequence[int | str],
    w_shape: Sequence[int],
    **attributes,
) -> onnx.ModelProto:
    """``Y = Conv(X, W)`` with W an initializer; attributes as ONNX names them."""
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **attributes)
    return model([conv], [tensor("x", x_shape)], [out("y")], [weight("w", w_shape)])


def inferred_shape(built: onnx.ModelProto, name: str, sizes: dict[str, int]) -> tuple[int, ...]:
    """The shape ONNX shape inference gives a value once symbolic input dimensions are sized."""
    copy = onnx.ModelProto()
    copy.CopyFrom(built)
    for value in copy.graph.input:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_value = sizes[dim.dim_param]
    done = onnx.shape_inference.infer_shapes(copy, strict_mode=True)
    for value in [*done.graph.value_info, *done.graph.output]:
        if value.name == name:
            return tuple(d.dim_value for d in value.type.tensor_type.shape.dim)
    raise KeyError(name)


def run(built: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The model's outputs computed by ONNX's reference implementation."""
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(built).run(None, feeds)


def run_import(*args: str) -> tuple[int, str, str]:
    """``igoc-import`` with ``args``: its exit status, standard output and standard error."""
    from igoc.cli.importer import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors
            status = int(exit_.code or 0)
    return status, out.getvalue(), err.getvalue()
