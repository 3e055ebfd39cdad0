"""Write a layer table as igoc's input: one ``func.func`` per layer in the ``grad`` dialect.

Each function takes the layer's input ``%x``, weight ``%w`` and output gradient
``%dy`` and returns the forward output ``%y``, the input gradient ``%dx`` and
the weight gradient ``%dw``; a layer that reads the network's data computes no
dX and returns ``%y, %dw``. The text depends only on the table and the batch,
so writing it twice gives identical bytes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from igoc.zoo.layers import Conv2d, Layer, Linear, Model

ELEMENT_TYPE = "f16"
MAX_LINE_CHARS = 100  # an op longer than this puts its type on a continuation line

_COMMON_HEADER = (
    "One function per layer, in the network's order; a layer that runs several times is",
    "listed every time. Arguments: the layer's input %x, weight %w and output gradient %dy;",
    "results: the output %y, the input gradient %dx and the weight gradient %dw. Layers",
    "that read the network's input data compute no dX and return %y, %dw only.",
    "Linear layers: Y = X.W with X (M x K) and W (K x N), M = batch x rows per sample.",
    "Convolutions: activations NCHW, weights (Cout, Cin/groups, R, S).",
    "Not modelled: activation functions, normalisation, pooling, residual additions and",
    "all other work that is neither a GEMM nor a convolution; every function stands alone.",
)
_GROUPED_HEADER = (
    "Depthwise and grouped convolutions are written as they are, with `groups = G`:",
    "W is (Cout, Cin/G, R, S) and each group is an independent convolution (a GEMM with",
    "K = Cin/G x R x S and N = Cout/G after im2col); they are not widened to dense ones,",
    "which would multiply their work and weights by G.",
)


def tensor_type(shape: tuple[int, ...]) -> str:
    """The builtin tensor type of a shape: ``tensor<8x64x56x56xf16>``."""
    return "tensor<" + "x".join(str(size) for size in shape) + f"x{ELEMENT_TYPE}>"


def _pair(values: tuple[int, int]) -> str:
    return f"[{values[0]}, {values[1]}]"


def conv_attributes(layer: Conv2d) -> str:
    """The attribute dictionary of the layer's three ops, defaults left out; '' if all default."""
    entries = []
    if layer.stride != (1, 1):
        entries.append(f"stride = {_pair(layer.stride)}")
    if layer.padding != (0, 0):
        entries.append(f"padding = {_pair(layer.padding)}")
    if layer.dilation != (1, 1):
        entries.append(f"dilation = {_pair(layer.dilation)}")
    if layer.groups != 1:
        entries.append(f"groups = {layer.groups}")
    return " {" + ", ".join(entries) + "}" if entries else ""


def _shapes(layer: Layer, batch: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Shapes of X, W and Y."""
    if isinstance(layer, Linear):
        m, k, n = layer.gemm_dims(batch)
        return (m, k), (k, n), (m, n)
    oh, ow = layer.out_hw
    return (
        (batch, layer.in_channels, *layer.in_hw),
        layer.weight_shape,
        (batch, layer.out_channels, oh, ow),
    )


def describe(layer: Layer, batch: int) -> str:
    """One line saying what the layer is and its GEMM dimensions."""
    m, k, n = layer.gemm_dims(batch)
    if isinstance(layer, Linear):
        rows = f", {layer.rows_per_sample} rows per sample" if layer.rows_per_sample > 1 else ""
        return f"linear {layer.in_features} -> {layer.out_features}{rows}; GEMM M={m} K={k} N={n}"
    r, s = layer.kernel
    kind = "depthwise conv" if layer.groups == layer.in_channels > 1 else "conv"
    parts = [f"{kind} {r}x{s}"]
    if layer.stride != (1, 1):
        parts.append(f"stride {layer.stride[0]}")
    if layer.dilation != (1, 1):
        parts.append(f"dilation {layer.dilation[0]}")
    (h, w), (oh, ow) = layer.in_hw, layer.out_hw
    text = ", ".join(parts) + f", {layer.in_channels} -> {layer.out_channels} channels"
    text += f", {h}x{w} -> {oh}x{ow}; "
    if layer.groups > 1:
        return text + f"{layer.groups} groups, each a GEMM M={m} K={k} N={n}"
    return text + f"GEMM M={m} K={k} N={n}"


def _op(result: str, op: str, operands: str, attributes: str, types: str) -> list[str]:
    line = f"  {result} = {op} {operands}{attributes} : {types}"
    if len(line) <= MAX_LINE_CHARS:
        return [line]
    return [f"  {result} = {op} {operands}{attributes}", f"      : {types}"]


def render_layer(layer: Layer, batch: int, comment: Sequence[str] | None = None) -> list[str]:
    """The lines of one layer's function; ``comment`` replaces the line that describes it."""
    x_shape, w_shape, y_shape = _shapes(layer, batch)
    x, w, y = tensor_type(x_shape), tensor_type(w_shape), tensor_type(y_shape)
    if isinstance(layer, Linear):
        forward, grad_x, grad_w, attributes = "matmul", "matmul_dx", "matmul_dw", ""
    else:
        forward, grad_x, grad_w = "conv2d", "conv2d_dx", "conv2d_dw"
        attributes = conv_attributes(layer)
    results = [("%y", y)] + ([("%dx", x)] if layer.computes_dx else []) + [("%dw", w)]
    result_types = ", ".join(t for _, t in results)
    opening = f"func.func @{layer.name}("
    if comment is None:
        comment = [f"{layer.name}: {describe(layer, batch)}"]
    lines = [f"// {line}".rstrip() for line in comment]
    lines += [
        f"{opening}%x: {x}, %w: {w},",
        f"{' ' * len(opening)}%dy: {y})",
        f"    -> ({result_types}) {{",
    ]
    lines += _op("%y", f"grad.{forward}", "%x, %w", attributes, f"({x}, {w}) -> {y}")
    if layer.computes_dx:
        lines += _op("%dx", f"grad.{grad_x}", "%dy, %w", attributes, f"({y}, {w}) -> {x}")
    lines += _op("%dw", f"grad.{grad_w}", "%x, %dy", attributes, f"({x}, {y}) -> {w}")
    lines.append(f"  func.return {', '.join(r for r, _ in results)} : {result_types}")
    lines.append("}")
    return lines


def _count(layers: tuple[Layer, ...]) -> str:
    convs = sum(isinstance(layer, Conv2d) for layer in layers)
    linears = len(layers) - convs
    parts = []
    if convs:
        parts.append(f"{convs} convolution{'s' if convs != 1 else ''}")
    if linears:
        parts.append(f"{linears} linear")
    return ", ".join(parts)


def _wrapped(label: str, text: str) -> list[str]:
    """A labelled paragraph wrapped to the header's width, continuation lines indented."""
    indent = " " * len(label)
    return textwrap.wrap(text, width=90, initial_indent=label, subsequent_indent=indent)


def header(model: Model, batch: int, source_module: str) -> list[str]:
    """The comment block that opens a generated file."""
    giga_macs = model.macs(batch) / 1e9
    lines = [
        f"{model.title}, batch {batch}",
        f"Generated by `python -m igoc.zoo.generate` from {source_module}; do not edit.",
        "Forward and backward of every layer that is a GEMM or a convolution.",
        "",
        f"Model:  {model.title}",
        f"Batch:  {batch}",
        *_wrapped("Input:  ", model.input_desc),
        f"Layers: {len(model.layers)} listed ({_count(model.layers)});"
        f" {model.weight_elems:,} weights",
        f"        (biases and normalisation parameters not counted);"
        f" forward {giga_macs:.2f} GMAC at this batch",
        f"Source: {model.source[0]}",
        *(f"        {line}" for line in model.source[1:]),
        "",
        *_COMMON_HEADER,
    ]
    if any(isinstance(layer, Conv2d) and layer.groups > 1 for layer in model.layers):
        lines += _GROUPED_HEADER
    lines += model.notes
    return [f"// {line}".rstrip() for line in lines]


def render_model(model: Model, batch: int, source_module: str) -> str:
    """The whole file for a model at a batch; ``source_module`` is named in the header."""
    lines = header(model, batch, source_module)
    for layer in model.layers:
        lines.append("")
        lines += render_layer(layer, batch)
    return "\n".join(lines) + "\n"
