"""ONNX models to igoc layers: every convolution and GEMM whose two gradients igoc can compute.

The model is read with the ``onnx`` package (``pip install 'igoc[onnx]'``),
checked, given concrete sizes for its symbolic dimensions (the batch from
``--batch``, others from ``--dim NAME=SIZE``), and run through ONNX's own shape
inference; the shapes of every layer come from there. Then each node is one of:

- ``Conv`` whose weight is a constant (an initializer, or computed from
  initializers only): 1-D or 2-D, any stride, dilation, groups (depthwise
  included) and padding (``pads`` or ``auto_pad``). Asymmetric padding that
  changes no output size is written as igoc's symmetric padding; otherwise
  the smaller pad is kept and the difference becomes zero rows (or columns)
  added to X's shape, which leaves Y, dW and dX on the real rows exactly
  what they are (the layer's comment says so).
- ``Gemm`` (``transA``/``transB``) and ``MatMul``: ``Y = A.B`` with leading
  batch or sequence dimensions folded into M where one operand is shared
  across them; when the constant operand comes first (``Y = W.X``), the
  product is written transposed (``Yt = Xt.Wt``), which has the same GEMMs.
  When both operands are activations (attention's ``Q.Kt`` and ``P.V``) the
  two gradients have the same structure, ``dA = dY.Bt`` and ``dB = At.dY``:
  a product shared across its batch is a linear layer whose W is the second
  activation, and a batched product (one per batch and head) is a grouped
  1x1 convolution with one group per product, which computes exactly those
  GEMMs.
- everything else (normalisation, activations, pooling, reshapes, ...) is
  skipped and listed in the output's header.

dX is computed where a layer's input depends on a trained parameter (a
floating-point initializer of two or more elements): a layer that reads only
the model's inputs computes none, as the first layer of igoc's zoo networks.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from igoc.importer.model import (
    NOT_MODELLED,
    ImportedLayer,
    ImportedModel,
    ModelImportError,
    Skipped,
    SymbolNames,
    gemm_summary,
    linear_layer,
    plural,
    read_file,
)
from igoc.zoo.layers import Conv2d

MIN_OPSET = 7
"""The oldest opset read: Gemm's and Conv's attributes have meant the same since."""

_SKIP_REASONS = {
    "ConvTranspose": "a transposed convolution (igoc models conv2d and its gradients only)",
    "ConvInteger": "an integer (quantised) convolution is not trained",
    "QLinearConv": "a quantised convolution is not trained",
    "MatMulInteger": "an integer (quantised) matmul is not trained",
    "QLinearMatMul": "a quantised matmul is not trained",
    "Einsum": "Einsum is not analysed (export the model with matmul)",
    "Attention": "the Attention op is not decomposed (export with opset 22 or lower, where "
    "attention is MatMul, Softmax, MatMul)",
    "LSTM": "recurrent layers are not imported",
    "GRU": "recurrent layers are not imported",
    "RNN": "recurrent layers are not imported",
}
"""Ops that hold a GEMM or a convolution igoc does not import, and why."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ModelImportError(
            "reading ONNX models needs the onnx package: pip install 'igoc[onnx]'"
        ) from None
    return onnx


def read_onnx(
    path: str, batch: int | None = None, dims: Mapping[str, int] | None = None
) -> ImportedModel:
    """Import the ONNX model at ``path``; raise :class:`ModelImportError` if it cannot be."""
    onnx = _onnx()
    shown = os.path.basename(path)
    model = _load(onnx, path, shown)
    opset = _check_opset(onnx, model, shown)
    batch_note = _fix_input_sizes(model, batch, dict(dims or {}), shown)
    nodes = list(model.graph.node)  # the model's own, before folding (model stays alive)
    inferred = _infer(onnx, model, shown)
    graph = _Graph(onnx, inferred, nodes)
    producer = model.producer_name + (
        f" {model.producer_version}" if model.producer_version else ""
    )
    description = f"an ONNX model (opset {opset}" + (f", from {producer})" if producer else ")")
    result = ImportedModel(source=shown, description=description, batch_note=batch_note)
    names = SymbolNames()
    for index, node in enumerate(nodes):
        _import_node(graph, node, index, names, result, shown)
    for kind in sorted({n.op_type for n in nodes if _has_subgraph(onnx, n)}):
        result.notes.append(f"The subgraphs of {kind} nodes are not imported.")
    if not result.layers:
        raise ModelImportError(
            f"{shown}: nothing to import: no Conv, Gemm or MatMul whose gradients igoc computes; "
            f"{plural(len(result.skipped), 'node')} skipped: {result.skipped_summary()}"
        )
    return result


# ---- reading and checking ------------------------------------------------------------------------


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _load(onnx: Any, path: str, shown: str) -> Any:
    from google.protobuf.message import DecodeError

    data = read_file(path)
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, RuntimeError, ValueError) as err:
        raise ModelImportError(
            f"{shown}: not an ONNX model ({_why_not(shown, data, err)})"
        ) from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise ModelImportError(f"{shown}: not an ONNX model (no graph with nodes in it)")
    external = any(
        init.data_location == onnx.TensorProto.EXTERNAL for init in model.graph.initializer
    )
    try:
        # Weights in files beside the model are checked there, and never read.
        onnx.checker.check_model(path if external else model)
    except (onnx.checker.ValidationError, ValueError) as err:
        raise ModelImportError(f"{shown}: not a valid ONNX model: {_one_line(err)}") from None
    return model


def _why_not(shown: str, data: bytes, err: Exception) -> str:
    """Why bytes that do not decode as an ONNX model are not one, as a user would say it."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return f"it does not decode as one; is the file cut short? {_one_line(err, 120)}"
    if shown.endswith(".mlir"):
        return "it is MLIR text: igoc reads it as it is"
    return "it is text, and an ONNX model is a binary protobuf file"


def _check_opset(onnx: Any, model: Any, shown: str) -> int:
    versions = {entry.domain: entry.version for entry in model.opset_import}
    opset = versions.get("", versions.get("ai.onnx"))
    if opset is None:
        raise ModelImportError(f"{shown}: the model imports no version of the ONNX operators")
    newest = onnx.defs.onnx_opset_version()
    if opset > newest:
        raise ModelImportError(
            f"{shown}: opset {opset} is newer than the installed onnx package knows "
            f"(up to {newest}); upgrade it (pip install -U onnx)"
        )
    if opset < MIN_OPSET:
        raise ModelImportError(
            f"{shown}: opset {opset} is not supported (igoc-import reads opset {MIN_OPSET} "
            f"to {newest}); convert the model with onnx.version_converter"
        )
    return opset


def _fix_input_sizes(model: Any, batch: int | None, dims: dict[str, int], shown: str) -> str:
    """Give every symbolic dimension of the graph's inputs a size; say where the batch came from.

    The batch's name is the symbol at axis 0 of the first input whose axis 0 is
    symbolic; every dimension of that name takes ``batch``. Other symbols take
    their size from ``dims``, every one of which must name a symbol of the inputs.
    """
    initializers = {init.name for init in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    batch_symbol = None
    leading: dict[int, list[str]] = {}  # each fixed size at axis 0: the inputs it leads
    symbols: dict[str, None] = {}  # the inputs' symbolic dimensions, in order
    for value in inputs:
        shape = value.type.tensor_type.shape
        symbols.update(dict.fromkeys(d.dim_param for d in shape.dim if d.dim_param))
        if not shape.dim:
            continue
        first = shape.dim[0]
        if first.HasField("dim_value"):
            leading.setdefault(first.dim_value, []).append(value.name)
        elif batch_symbol is None:
            batch_symbol = first.dim_param
    unknown = [name for name in dims if name not in symbols]
    if unknown:
        given = ", ".join(f"{name}={dims[name]}" for name in unknown)
        missing = ", ".join(f"'{name}'" for name in unknown)
        known = ", ".join(
            f"'{name}'" + (" (the batch)" if name == batch_symbol else "") for name in symbols
        )
        raise ModelImportError(
            f"{shown}: --dim {given}: the model has no symbolic "
            f"{'dimension' if len(unknown) == 1 else 'dimensions'} {missing}; "
            + (
                f"its inputs' symbolic dimensions are {known}"
                if symbols
                else "its inputs have none (every size is fixed), so leave --dim out"
            )
        )
    if batch_symbol is not None and batch_symbol in dims and batch is not None:
        raise ModelImportError(
            f"{shown}: --batch {batch} and --dim {batch_symbol}={dims[batch_symbol]} both give "
            f"the batch ('{batch_symbol}'); give one"
        )
    if batch_symbol is not None and batch_symbol not in dims:
        if batch is None:
            symbol = f" ('{batch_symbol}')" if batch_symbol else ""
            raise ModelImportError(
                f"{shown}: the batch{symbol} is symbolic in the model; give it with --batch N"
            )
        dims[batch_symbol] = batch
    for value in inputs:
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.HasField("dim_value"):
                continue
            size = dims.get(dim.dim_param)
            if size is None:
                symbol = f"'{dim.dim_param}'" if dim.dim_param else "of unknown size"
                hint = f"--dim {dim.dim_param}=SIZE" if dim.dim_param else "a model with sizes"
                raise ModelImportError(
                    f"{shown}: input '{value.name}' has a dimension {symbol} at axis {axis}; "
                    f"give its size with {hint}"
                )
            dim.dim_value = size
    if batch_symbol is not None:
        return f"{dims[batch_symbol]} (the model's symbolic batch '{batch_symbol}')"
    if batch is not None and leading and set(leading) != {batch}:
        if len(leading) == 1:
            ((size, names),) = leading.items()
            raise ModelImportError(
                f"{shown}: the model's batch is fixed at {size}, not {batch} "
                f"({_inputs_leading(size, names)}); export it with a dynamic batch axis, or "
                "leave --batch out"
            )
        sizes = ", ".join(_inputs_leading(size, names) for size, names in leading.items())
        raise ModelImportError(
            f"{shown}: --batch {batch} cannot be the model's batch: its inputs' leading sizes "
            f"are fixed and differ ({sizes}); leave --batch out to import the sizes as they "
            "are, or export the model with a dynamic batch axis"
        )
    if len(leading) == 1:
        return f"{next(iter(leading))} (fixed in the model)"
    if leading:
        sizes = ", ".join(_inputs_leading(size, names) for size, names in leading.items())
        return f"fixed in the model, and the inputs' leading sizes differ: {sizes}"
    return "none (the model's inputs have no batch axis)"


MAX_NAMED_INPUTS = 3
"""The most inputs a message names for one leading size; it counts the others."""


def _inputs_leading(size: int, names: Sequence[str]) -> str:
    """``input 'x' leads with 4``, ``inputs 'x', 'y' and 2 others lead with 8``."""
    shown = [f"'{name}'" for name in names[:MAX_NAMED_INPUTS]]
    others = len(names) - len(shown)
    listed = ", ".join(shown) + (f" and {plural(others, 'other')}" if others else "")
    if len(names) == 1:
        return f"input {listed} leads with {size}"
    return f"inputs {listed} lead with {size}"


def _infer(onnx: Any, model: Any, shown: str) -> Any:
    """The model's values with their shapes, as far as ONNX shape inference finds them.

    Exporters compute many shapes at run time (``Shape``, ``Gather``,
    ``Concat``, ``Slice`` into a ``Reshape`` or a ``Pad``), which shape
    inference follows only in part. So the small values computed from
    constants and known shapes alone are folded into constants (each node
    evaluated by ONNX's reference implementation) and inference runs again,
    until it learns nothing more. Only the shapes are used: the nodes listed
    in the output are the model's own.
    """
    del model.graph.value_info[:]
    for output in model.graph.output:
        output.type.tensor_type.ClearField("shape")
    inferred = _infer_once(onnx, model, shown)
    for _ in range(MAX_FOLDING_ROUNDS):
        folded = _fold(onnx, inferred)
        if folded is None:
            break
        inferred = _infer_once(onnx, folded, shown)
    return inferred


MAX_FOLDING_ROUNDS = 16
"""Rounds of folding and inference; each round folds every value it can compute."""

MAX_FOLDED_ELEMENTS = 4096
"""A value is folded only if it and the node's inputs are this small: shapes, not weights."""

_NEVER_FOLDED = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike"}


def _infer_once(onnx: Any, model: Any, shown: str) -> Any:
    try:
        return onnx.shape_inference.infer_shapes(
            model, check_type=True, strict_mode=True, data_prop=True
        )
    except (onnx.shape_inference.InferenceError, RuntimeError, ValueError) as err:
        raise ModelImportError(f"{shown}: shape inference failed: {_one_line(err)}") from None


def _fold(onnx: Any, model: Any) -> Any | None:
    """The model with every small value computable from constants and shapes made a constant.

    None if there is nothing to fold.
    """
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    opset = {entry.domain or "": entry.version for entry in model.opset_import}
    values: dict[str, Any] = {}
    for init in graph.initializer:
        small = math.prod(init.dims) <= MAX_FOLDED_ELEMENTS
        if small and init.data_location != onnx.TensorProto.EXTERNAL:
            values[init.name] = numpy_helper.to_array(init)
    shapes = {}
    for value in [*graph.input, *graph.value_info]:
        tensor = value.type.tensor_type
        if tensor.HasField("shape") and all(d.HasField("dim_value") for d in tensor.shape.dim):
            shapes[value.name] = [d.dim_value for d in tensor.shape.dim]
    folded: list[Any] = []
    kept = []
    for node in graph.node:
        outputs = _evaluate(onnx, np, node, values, shapes, opset)
        if outputs is None:
            kept.append(node)
            continue
        for name, array in zip(node.output, outputs, strict=True):
            values[name] = array
            folded.append(numpy_helper.from_array(array, name))
    if not folded:
        return None
    result = onnx.ModelProto()
    result.CopyFrom(model)
    del result.graph.node[:]
    result.graph.node.extend(kept)
    result.graph.initializer.extend(folded)
    folded_names = {tensor.name for tensor in folded}
    keep_info = [v for v in result.graph.value_info if v.name not in folded_names]
    del result.graph.value_info[:]
    result.graph.value_info.extend(keep_info)
    return result


def _evaluate(
    onnx: Any,
    np: Any,
    node: Any,
    values: dict[str, Any],
    shapes: dict[str, list[int]],
    opset: dict[str, int],
) -> list[Any] | None:
    """The node's outputs if they are small and computable now, else None."""
    if node.domain not in ("", "ai.onnx") or node.op_type in _NEVER_FOLDED:
        return None
    if _has_subgraph(onnx, node) or not node.output or any(not name for name in node.output):
        return None
    if node.op_type in ("Shape", "Size"):
        shape = shapes.get(node.input[0])
        if shape is None:
            return None
        if node.op_type == "Size":
            return [np.array(math.prod(shape), dtype=np.int64)]
        attrs = _attributes(node)
        start, end = attrs.get("start", 0), attrs.get("end", len(shape))
        return [np.array(shape[start:end], dtype=np.int64)]
    inputs = [name for name in node.input if name]
    if not all(name in values for name in inputs):
        return None
    if sum(values[name].size for name in inputs) > MAX_FOLDED_ELEMENTS:
        return None
    from onnx.reference import ReferenceEvaluator

    try:
        evaluator = ReferenceEvaluator(node, opsets={"": opset.get("", opset.get("ai.onnx", 1))})
        outputs = evaluator.run(None, {name: values[name] for name in inputs})
    except Exception:  # noqa: BLE001 - a value it cannot compute stays a node, as before
        return None
    arrays = [np.asarray(output) for output in outputs]
    if any(array.size > MAX_FOLDED_ELEMENTS or array.dtype == object for array in arrays):
        return None
    return arrays


def _has_subgraph(onnx: Any, node: Any) -> bool:
    kinds = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
    return any(attribute.type in kinds for attribute in node.attribute)


# ---- the graph's values --------------------------------------------------------------------------


class _Graph:
    """Shapes of the graph's values; which are constants, which carry a gradient."""

    def __init__(self, onnx: Any, model: Any, nodes: Sequence[Any]):
        graph = model.graph
        float_types = {
            onnx.TensorProto.FLOAT,
            onnx.TensorProto.FLOAT16,
            onnx.TensorProto.BFLOAT16,
            onnx.TensorProto.DOUBLE,
        }
        self.shapes: dict[str, tuple[int, ...] | None] = {}
        self.floats: set[str] = set()
        for value in [*graph.input, *graph.value_info, *graph.output]:
            tensor = value.type.tensor_type
            if tensor.elem_type in float_types:
                self.floats.add(value.name)
            if not tensor.HasField("shape"):
                self.shapes.setdefault(value.name, None)
                continue
            dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim)
            self.shapes[value.name] = dims if min(dims, default=1) > 0 else None
        self.constants: set[str] = set()
        self.trained: set[str] = set()  # depends on a trained parameter: carries a gradient
        produced = {name for node in nodes for name in node.output}
        for init in graph.initializer:
            if init.name in produced:  # folded by _infer: its node says what it is
                self.shapes[init.name] = tuple(init.dims)
                if init.data_type in float_types:
                    self.floats.add(init.name)
                continue
            self.shapes[init.name] = tuple(init.dims)
            self.constants.add(init.name)
            if init.data_type in float_types:
                self.floats.add(init.name)
                if math.prod(init.dims) >= 2:
                    self.trained.add(init.name)
        graph_inputs = {value.name for value in graph.input} - self.constants
        for node in nodes:
            inputs = [name for name in node.input if name]
            constant = all(name in self.constants for name in inputs) and not any(
                name in graph_inputs for name in inputs
            )
            trained = any(name in self.trained for name in inputs)
            for name in node.output:
                if constant and node.op_type not in ("RandomNormal", "RandomUniform"):
                    self.constants.add(name)
                if trained and name in self.floats:
                    self.trained.add(name)
        self.scopes = {node.name: _module_scope(node) for node in nodes}

    def shape(self, name: str) -> tuple[int, ...] | None:
        """The inferred shape of a value, or None when it is not known in full."""
        return self.shapes.get(name)


def _module_scope(node: Any) -> str:
    """The PyTorch module a node came from, as torch.onnx.export records it ('' if not)."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            # The scopes from the model down, each a full path, the last one the op's own.
            parts = [p.strip(" '\"") for p in prop.value.strip("[]").split(",")]
            return parts[-2] if len(parts) >= 2 else ""
    return ""


def _attributes(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


# ---- nodes ---------------------------------------------------------------------------------------


def _import_node(
    graph: _Graph, node: Any, index: int, names: SymbolNames, result: ImportedModel, shown: str
) -> None:
    op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
    try:
        if op == "Conv":
            entry = _conv(graph, node, index, names)
        elif op == "Gemm":
            entry = _gemm(graph, node, index, names)
        elif op == "MatMul":
            entry = _matmul(graph, node, index, names)
        else:
            entry = Skipped(op, node.name, _SKIP_REASONS.get(op, NOT_MODELLED))
    except _BadNode as err:
        raise ModelImportError(f"{shown}: node '{node.name or index}' ({op}): {err}") from None
    if isinstance(entry, Skipped):
        result.skipped.append(entry)
    else:
        result.layers.append(entry)


class _BadNode(Exception):
    """A node whose attributes or shapes make no sense (the model is wrong)."""


def _origin(graph: _Graph, node: Any, detail: str) -> str:
    scope = graph.scopes.get(node.name, "")
    module = f" (module '{scope}')" if scope else ""
    return f"from ONNX {node.op_type} '{node.name}'{module}: {detail}"


def _shapes_of(graph: _Graph, node: Any, count: int) -> list[tuple[int, ...]] | str:
    """The shapes of the node's first ``count`` inputs, or why they are not known."""
    shapes = []
    for name in node.input[:count]:
        shape = graph.shape(name)
        if shape is None:
            return f"the shape of '{name}' is not known after shape inference"
        shapes.append(shape)
    return shapes


def _check_output(graph: _Graph, node: Any, expected: Sequence[int]) -> None:
    inferred = graph.shape(node.output[0])
    if inferred is not None and tuple(inferred) != tuple(expected):
        raise _BadNode(
            f"output shape {tuple(expected)} by igoc's reading, {tuple(inferred)} by ONNX shape "
            "inference"
        )


# ---- Conv ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """One spatial axis of a convolution as igoc writes it."""

    size: int  # X's size along the axis, zero rows added for asymmetric padding included
    padding: int  # igoc's symmetric padding
    added: tuple[int, int]  # zero rows added before and after the real ones


def _symmetric(size: int, span: int, stride: int, begin: int, end: int) -> _Axis:
    """An axis padded ``begin``/``end`` as an equal convolution with symmetric padding.

    ``span`` is the dilated kernel, ``dilation*(kernel-1)+1``. If padding
    ``begin`` on both sides gives the same output size, that is the answer
    (the other pad is never read). Otherwise the smaller pad is kept on both
    sides and the rest becomes zero rows of X, the fewest that give the
    output size: every window covers the same elements as before.
    """
    out = (size + begin + end - span) // stride + 1
    if (size + 2 * begin - span) // stride + 1 == out:
        return _Axis(size, begin, (0, 0))
    pad = min(begin, end)
    before = begin - pad
    reach = size + before + 2 * pad - span
    after = max(0, (out - 1) * stride - reach)
    assert (reach + after) // stride + 1 == out
    return _Axis(size + before + after, pad, (before, after))


def _same_pads(size: int, span: int, stride: int, upper: bool) -> tuple[int, int]:
    """``auto_pad = SAME_UPPER`` or ``SAME_LOWER``: output ceil(size/stride), the odd pad at the end
    (upper) or the beginning (lower)."""
    out = -(-size // stride)
    total = max(0, (out - 1) * stride + span - size)
    small = total // 2
    return (small, total - small) if upper else (total - small, small)


def _conv(graph: _Graph, node: Any, index: int, names: SymbolNames) -> ImportedLayer | Skipped:
    shapes = _shapes_of(graph, node, 2)
    if isinstance(shapes, str):
        return Skipped("Conv", node.name, shapes)
    x_shape, w_shape = shapes
    weight = node.input[1]
    if weight not in graph.constants:
        return Skipped("Conv", node.name, "its weight is computed at run time, not a parameter")
    spatial = len(x_shape) - 2
    if spatial not in (1, 2) or len(w_shape) != len(x_shape):
        return Skipped(
            "Conv", node.name, f"a {spatial}-D convolution (igoc imports 1-D and 2-D ones)"
        )
    attrs = _attributes(node)
    kernel = list(attrs.get("kernel_shape", w_shape[2:]))
    strides = list(attrs.get("strides", [1] * spatial))
    dilations = list(attrs.get("dilations", [1] * spatial))
    group = int(attrs.get("group", 1))
    pads = list(attrs.get("pads", [0] * 2 * spatial))
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    if tuple(kernel) != tuple(w_shape[2:]):
        raise _BadNode(f"kernel_shape {kernel} disagrees with the weight's shape {list(w_shape)}")
    for label, values in (("strides", strides), ("dilations", dilations), ("pads", pads)):
        if len(values) != (2 * spatial if label == "pads" else spatial):
            raise _BadNode(
                f"{label} has {plural(len(values), 'value')} for a {spatial}-D convolution"
            )
    batch, channels, *sizes = x_shape
    out_channels = w_shape[0]
    if group < 1 or channels != group * w_shape[1] or out_channels % group:
        raise _BadNode(
            f"X has {plural(channels, 'channel')}, W {list(w_shape)} with group = {group} "
            "does not fit"
        )
    spans = [d * (k - 1) + 1 for d, k in zip(dilations, kernel, strict=True)]
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pairs = [
            _same_pads(size, span, stride, auto_pad == "SAME_UPPER")
            for size, span, stride in zip(sizes, spans, strides, strict=True)
        ]
    elif auto_pad == "VALID":
        pairs = [(0, 0)] * spatial
    elif auto_pad == "NOTSET":
        pairs = list(zip(pads[:spatial], pads[spatial:], strict=True))
    else:
        raise _BadNode(f"unknown auto_pad '{auto_pad}'")
    axes = [
        _symmetric(size, span, stride, begin, end)
        for size, span, stride, (begin, end) in zip(sizes, spans, strides, pairs, strict=True)
    ]
    outs = [
        (size + begin + end - span) // stride + 1
        for size, span, stride, (begin, end) in zip(sizes, spans, strides, pairs, strict=True)
    ]
    if min(outs) < 1:
        raise _BadNode(f"the kernel {kernel} does not fit the input {list(sizes)}")
    _check_output(graph, node, (batch, out_channels, *outs))
    if spatial == 1:  # height 1: kernel, stride, dilation 1 along it
        axes = [_Axis(1, 0, (0, 0)), *axes]
        kernel, strides, dilations = [1, *kernel], [1, *strides], [1, *dilations]
    name = names.take(node.name, f"conv_{index}")
    layer = Conv2d(
        name=name,
        in_channels=channels,
        out_channels=out_channels,
        in_hw=(axes[0].size, axes[1].size),
        kernel=(kernel[0], kernel[1]),
        stride=(strides[0], strides[1]),
        padding=(axes[0].padding, axes[1].padding),
        dilation=(dilations[0], dilations[1]),
        groups=group,
        computes_dx=node.input[0] in graph.trained,
    )
    kind = "depthwise " if group == channels > 1 else ""
    detail = f"X {list(x_shape)}, W '{weight}' {list(w_shape)}"
    if group > 1:
        detail += f", group {group}"
    origin = [_origin(graph, node, detail)]
    if spatial == 1:
        origin.append("a 1-D convolution, written with height 1")
    added = [(label, axis) for label, axis in zip("HW", axes, strict=True) if any(axis.added)]
    if added:
        said = "; ".join(f"{label}: {a.added[0]} before, {a.added[1]} after" for label, a in added)
        origin.append(
            f"pads {[p for pair in zip(*pairs, strict=True) for p in pair]} are asymmetric: "
            f"written as padding {[a.padding for a in axes]} with zero rows added to X ({said})"
        )
    r, s = layer.kernel
    summary = f"{kind}conv {r}x{s}"
    if layer.stride != (1, 1):
        summary += f", stride {layer.stride[0]}x{layer.stride[1]}"
    if layer.dilation != (1, 1):
        summary += f", dilation {layer.dilation[0]}x{layer.dilation[1]}"
    summary += f", {channels} -> {out_channels} channels; {gemm_summary(layer, batch)}"
    return ImportedLayer(layer, batch, summary, tuple(origin), (axes[0].added, axes[1].added))


# ---- Gemm and MatMul -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Operand:
    """One operand of a product: its name, its matrix and batch dimensions, what it is."""

    name: str
    shape: tuple[int, ...]  # as the model has it
    rows: int
    cols: int
    batch: tuple[int, ...]  # leading dimensions, aligned to the product's
    constant: bool
    trained: bool


def _gemm(graph: _Graph, node: Any, index: int, names: SymbolNames) -> ImportedLayer | Skipped:
    shapes = _shapes_of(graph, node, 2)
    if isinstance(shapes, str):
        return Skipped("Gemm", node.name, shapes)
    (a_shape, b_shape) = shapes
    if len(a_shape) != 2 or len(b_shape) != 2:
        raise _BadNode(f"operands of rank {len(a_shape)} and {len(b_shape)}; Gemm takes 2-D ones")
    attrs = _attributes(node)
    trans_a, trans_b = int(attrs.get("transA", 0)), int(attrs.get("transB", 0))
    rows_a, cols_a = a_shape[::-1] if trans_a else a_shape
    rows_b, cols_b = b_shape[::-1] if trans_b else b_shape
    a = _operand(graph, node.input[0], a_shape, rows_a, cols_a, ())
    b = _operand(graph, node.input[1], b_shape, rows_b, cols_b, ())
    stored = []
    if trans_a:
        stored.append(f"A stored {cols_a} x {rows_a} (transA = 1)")
    if trans_b:
        stored.append(f"B stored {cols_b} x {rows_b} (transB = 1)")
    return _product(graph, node, index, names, a, b, (), (rows_a, cols_b), stored)


def _matmul(graph: _Graph, node: Any, index: int, names: SymbolNames) -> ImportedLayer | Skipped:
    shapes = _shapes_of(graph, node, 2)
    if isinstance(shapes, str):
        return Skipped("MatMul", node.name, shapes)
    a_shape, b_shape = shapes
    a_full = (1, *a_shape) if len(a_shape) == 1 else tuple(a_shape)
    b_full = (*b_shape, 1) if len(b_shape) == 1 else tuple(b_shape)
    a_lead, b_lead = a_full[:-2], b_full[:-2]
    rank = max(len(a_lead), len(b_lead))
    a_lead = (1,) * (rank - len(a_lead)) + a_lead
    b_lead = (1,) * (rank - len(b_lead)) + b_lead
    batch = []
    for x, y in zip(a_lead, b_lead, strict=True):
        if x != y and 1 not in (x, y):
            raise _BadNode(f"batch dimensions {list(a_shape)} and {list(b_shape)} do not broadcast")
        batch.append(max(x, y))
    a = _operand(graph, node.input[0], a_shape, a_full[-2], a_full[-1], a_lead)
    b = _operand(graph, node.input[1], b_shape, b_full[-2], b_full[-1], b_lead)
    out = (
        tuple(batch)
        + ((a.rows,) if len(a_shape) > 1 else ())
        + ((b.cols,) if len(b_shape) > 1 else ())
    )
    return _product(graph, node, index, names, a, b, tuple(batch), out, [])


def _operand(
    graph: _Graph, name: str, shape: Sequence[int], rows: int, cols: int, batch: tuple[int, ...]
) -> _Operand:
    constant, trained = name in graph.constants, name in graph.trained
    return _Operand(name, tuple(shape), rows, cols, batch, constant, trained)


def _transposed(operand: _Operand) -> _Operand:
    return dataclasses.replace(operand, rows=operand.cols, cols=operand.rows)


def _fits(x: _Operand, w: _Operand) -> bool:
    """Whether X may be the activation and W the weight: W is never shared where X is not."""
    return all(not (wb > 1 and xb == 1) for xb, wb in zip(x.batch, w.batch, strict=True))


def _product(
    graph: _Graph,
    node: Any,
    index: int,
    names: SymbolNames,
    a: _Operand,
    b: _Operand,
    batch: tuple[int, ...],
    out: tuple[int, ...],
    stored: list[str],
) -> ImportedLayer | Skipped:
    """The layer of ``Y = A.B`` (batched over ``batch``), or why there is none."""
    op = node.op_type
    if a.cols != b.rows:
        raise _BadNode(f"A has {plural(a.cols, 'column')}, B {plural(b.rows, 'row')}")
    _check_output(graph, node, out)
    if a.constant and b.constant:
        return Skipped(op, node.name, "both operands are constants (it folds away)")
    if not (a.trained or b.trained or a.constant or b.constant):
        return Skipped(op, node.name, "no gradient flows through it (no operand is trained)")
    # As written (X = A, W = B), or transposed (X = Bt, W = At: Yt = Bt.At).
    choices = [(a, b, False), (_transposed(b), _transposed(a), True)]
    choices = [(x, w, t) for x, w, t in choices if _fits(x, w)]
    if not choices:
        return Skipped(op, node.name, "each operand is broadcast where the other is not")

    def rank(choice: tuple[_Operand, _Operand, bool]) -> tuple[bool, bool, bool, bool]:
        x, w, transposed = choice  # a constant W first, then a W that carries a gradient
        return (not w.constant, x.constant, not w.trained, transposed)

    x, w, transposed = min(choices, key=rank)
    if not (w.constant or w.trained):
        return Skipped(
            op, node.name, "the operand that would be W carries no gradient (nothing trains it)"
        )
    samples = math.prod(xb for xb, wb in zip(x.batch, w.batch, strict=True) if wb == 1)
    groups = math.prod(wb for wb in w.batch if wb > 1)
    m, k, n = x.rows, x.cols, w.cols
    symbol = names.take(node.name, f"{op.lower()}_{index}")
    shapes = f"A '{a.name}' {_dims(a)} . B '{b.name}' {_dims(b)}"
    origin = [_origin(graph, node, shapes)]
    if transposed:
        origin.append(
            f"written transposed, Yt = Bt.At: X is '{x.name}' (transposed), W is '{w.name}' "
            "(transposed)"
        )
    origin += [f"{text}; igoc lays it out as its rows x columns" for text in stored]
    if not w.constant:
        origin.append(f"W is the activation '{w.name}': dW is its gradient")
    if groups == 1:
        layer = linear_layer(symbol, samples * m, k, n, x.trained)
        if samples > 1:
            origin.append(f"{samples} products sharing W, folded into M = {samples} x {m}")
        kind = "linear" if w.constant else "activation x activation matmul"
        summary = f"{kind} {k} -> {n}; {gemm_summary(layer, 1)}"
        category = "linear" if w.constant else "activation product"
        return ImportedLayer(layer, 1, summary, tuple(origin), kind=category)
    layer = Conv2d(
        name=symbol,
        in_channels=groups * k,
        out_channels=groups * n,
        in_hw=(1, m),
        kernel=(1, 1),
        groups=groups,
        computes_dx=x.trained,
    )
    origin.append(
        f"{groups} products, each with its own W, as a grouped 1x1 convolution (one group per "
        f"product, batch {samples}, width M = {m})"
    )
    summary = f"batched matmul: {groups * samples} products; {gemm_summary(layer, samples)}"
    category = "linear" if w.constant else "activation product"
    return ImportedLayer(layer, samples, summary, tuple(origin), kind=category)


def _dims(operand: _Operand) -> str:
    return str(list(operand.shape))
