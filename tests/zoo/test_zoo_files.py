"""The generated files, read back with a parser of their own: syntax, types and headers.

The reader here is independent of the generator: it takes each function apart
with regular expressions and checks every op's types against the op's rule
(matmul dimensions, convolution output sizes from its attributes), so a slip
in the renderer cannot hide behind the table it renders.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pytest

from igoc.zoo.generate import expected_files
from igoc.zoo.models import NETWORKS, model, samples

SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_$.]*")
FUNCTION = re.compile(
    r"^func\.func @(?P<name>\S+)\((?P<args>.*?)\)\s*->\s*\((?P<results>[^)]*)\)\s*\{\n"
    r"(?P<body>.*?)^\}$",
    re.S | re.M,
)
TENSOR = r"tensor<([0-9x]+)xf16>"
ARGUMENT = re.compile(rf"%(\w+): {TENSOR}")
OP = re.compile(
    rf"^  %(\w+) = grad\.(\w+) %(\w+), %(\w+)(?: \{{([^}}]*)\}})?\s*"
    rf": \({TENSOR}, {TENSOR}\) -> {TENSOR}$",
    re.M,
)
RETURN = re.compile(r"^  func\.return (.*?) : (.*)$", re.M)
DEFAULTS = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1}


@dataclass
class Op:
    result: str
    kind: str
    operands: tuple[str, str]
    attributes: dict[str, object]
    operand_shapes: tuple[tuple[int, ...], tuple[int, ...]]
    result_shape: tuple[int, ...]


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(size) for size in text.split("x"))


def _attributes(text: str | None) -> dict[str, object]:
    if not text:
        return {}
    attributes: dict[str, object] = {}
    for entry in re.findall(r"(\w+) = (\[[^\]]*\]|\d+)", text):
        key, value = entry
        attributes[key] = (
            tuple(int(v) for v in value.strip("[]").split(", ")) if "[" in value else int(value)
        )
    return attributes


def _functions(text: str) -> list[tuple[str, dict[str, tuple[int, ...]], list[Op], list[str]]]:
    functions = []
    for match in FUNCTION.finditer(text):
        args = {name: _shape(shape) for name, shape in ARGUMENT.findall(match["args"])}
        ops = [
            Op(r, kind, (a, b), _attributes(attrs), (_shape(s0), _shape(s1)), _shape(out))
            for r, kind, a, b, attrs, s0, s1, out in OP.findall(match["body"])
        ]
        returned = RETURN.search(match["body"])
        assert returned, match["name"]
        values = returned[1].split(", ")
        types = [_shape(t) for t in re.findall(TENSOR, returned[2])]
        assert [_shape(t) for t in re.findall(TENSOR, match["results"])] == types
        result_shapes = {op.result: op.result_shape for op in ops}
        assert [result_shapes[v.lstrip("%")] for v in values] == types
        functions.append((match["name"], args, ops, [v.lstrip("%") for v in values]))
    return functions


def _conv_out(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1


def _check_matmul(ops: dict[str, Op], x, w, dy) -> None:
    m, k = x
    k2, n = w
    assert k == k2 and dy == (m, n)
    assert ops["y"].operand_shapes == (x, w) and ops["y"].result_shape == (m, n)
    if "dx" in ops:
        assert ops["dx"].operand_shapes == (dy, w) and ops["dx"].result_shape == x
    assert ops["dw"].operand_shapes == (x, dy) and ops["dw"].result_shape == w


def _check_conv(ops: dict[str, Op], x, w, dy) -> None:
    attributes = ops["y"].attributes
    assert all(op.attributes == attributes for op in ops.values())
    for key, value in attributes.items():
        assert key in DEFAULTS and value != DEFAULTS[key], f"default attribute {key} written"
    params = {**DEFAULTS, **attributes}
    n, c, h, width = x
    cout, cin_per_group, r, s = w
    assert c == cin_per_group * params["groups"] and cout % params["groups"] == 0
    oh = _conv_out(h, r, params["stride"][0], params["padding"][0], params["dilation"][0])
    ow = _conv_out(width, s, params["stride"][1], params["padding"][1], params["dilation"][1])
    assert dy == (n, cout, oh, ow)
    assert ops["y"].operand_shapes == (x, w) and ops["y"].result_shape == dy
    if "dx" in ops:
        assert ops["dx"].operand_shapes == (dy, w) and ops["dx"].result_shape == x
    assert ops["dw"].operand_shapes == (x, dy) and ops["dw"].result_shape == w


FILES = expected_files()


@pytest.mark.parametrize("file_name", sorted(FILES))
def test_every_function_is_well_typed(file_name):
    text = FILES[file_name]
    batch = int(re.search(r"-b(\d+)\.mlir$", file_name)[1])
    functions = _functions(text)
    assert len(functions) == text.count("func.func @") > 0
    names = [name for name, *_ in functions]
    assert len(set(names)) == len(names)
    weights = 0
    for name, args, ops_list, returned in functions:
        assert SYMBOL.fullmatch(name), name
        assert list(args) == ["x", "w", "dy"]
        ops = {op.result: op for op in ops_list}
        assert returned in (["y", "dx", "dw"], ["y", "dw"])
        assert list(ops) == returned
        family = {"matmul": "matmul", "conv2d": "conv2d"}[ops["y"].kind]
        assert ops["y"].operands == ("x", "w") and ops["dw"].operands == ("x", "dy")
        assert ops["dw"].kind == f"{family}_dw"
        if "dx" in ops:
            assert ops["dx"].operands == ("dy", "w") and ops["dx"].kind == f"{family}_dx"
        x, w, dy = args["x"], args["w"], args["dy"]
        if family == "matmul":
            _check_matmul(ops, x, w, dy)
            assert x[0] % batch == 0
        else:
            _check_conv(ops, x, w, dy)
            assert x[0] == batch
        weights += math.prod(w)
        without_dx = "dx" not in ops
        # only a layer reading the network's data (RGB images, DLRM's 13 dense features) has no dX
        assert without_dx == (name == names[0] and (x[-3:-2] == (3,) or x == (batch, 13)))
    header = re.search(r"^// Layers: (\d+) listed .*?; ([\d,]+) weights$", text, re.M)
    assert int(header[1]) == len(functions)
    assert int(header[2].replace(",", "")) == weights
    assert re.search(rf"^// Batch:  {batch}$", text, re.M)


def test_grouped_convolutions_are_explained_where_they_occur():
    for file_name, text in FILES.items():
        grouped = re.search(r"groups = \d+", text) is not None
        assert ("`groups = G`" in text) == grouped, file_name
    assert "groups = " in FILES["mobilenet-b8.mlir"]
    assert "groups = " in FILES["fasterrcnn-b8.mlir"]


def test_attention_products_are_declared_left_out():
    for name in ("bert-tiny-b4", "bert-large-b8", "t5-small-b4", "t5-large-b32"):
        assert "QK^T" in FILES[f"{name}.mlir"] and "left out" in FILES[f"{name}.mlir"]


def test_files_name_their_source_and_stay_readable():
    for file_name, text in FILES.items():
        lines = text.splitlines()
        assert lines[0].startswith("// ")
        assert any(line.startswith("// Source: ") for line in lines[:20]), file_name
        assert text.count("func.func @") <= 400
        assert not re.search(r"(^|[\s`(])/\w", text, re.M), "an absolute path in the file"


def test_samples_cover_every_network_on_every_npu():
    pairs = set(samples())
    assert len(pairs) == len(samples()) == 27
    for network in NETWORKS:
        assert (network.edge, 4) in pairs
        assert (network.server, 8) in pairs and (network.server, 32) in pairs
    assert {n.label for n in NETWORKS} == {
        "rcnn",
        "goo",
        "ncf",
        "res",
        "dlrm",
        "mob",
        "yolo",
        "bert",
        "T5",
    }
    assert len(FILES) == 27
    assert model("yolov2-tiny") is model("yolov2-tiny")
