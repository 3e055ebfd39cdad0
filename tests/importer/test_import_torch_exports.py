"""Models exported by torch.onnx.export (files in data/, made by data/export_tiny.py).

torch is not needed here: the files are a few kB and checked in. What the
exporter writes (node names, weights folded and transposed into initializers,
3-D activations, attention as MatMul, Softmax, MatMul) is what users bring.
"""

from __future__ import annotations

import pathlib

import onnx
import pytest

from igoc.importer import import_model
from igoc.zoo.layers import Conv2d, Linear

DATA = pathlib.Path(__file__).resolve().parent / "data"


def _inferred(path: pathlib.Path, batch: int) -> dict[str, tuple[int, ...]]:
    """Every value's shape by ONNX shape inference, with the batch fixed."""
    model = onnx.load(str(path))
    for value in model.graph.input:
        value.type.tensor_type.shape.dim[0].dim_value = batch
    done = onnx.shape_inference.infer_shapes(model, data_prop=True)
    return {
        v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
        for v in [*done.graph.value_info, *done.graph.output]
    }


def test_the_cnn_keeps_every_kind_of_convolution():
    imported = import_model(DATA / "tiny_cnn.onnx", batch=3)
    layers = [entry.layer for entry in imported.layers]
    assert [type(layer) for layer in layers] == [Conv2d, Conv2d, Conv2d, Conv2d, Linear]
    stem, dilated, depthwise, temporal, _ = layers
    assert stem.stride == (2, 2) and not stem.computes_dx
    assert dilated.dilation == (2, 2) and dilated.computes_dx
    assert (depthwise.groups, depthwise.in_channels, depthwise.out_channels) == (4, 4, 8)
    assert temporal.in_hw[0] == 1 and temporal.kernel == (1, 3)
    shapes = _inferred(DATA / "tiny_cnn.onnx", 3)
    model = onnx.load(str(DATA / "tiny_cnn.onnx"))
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    for node, entry in zip(convs, imported.layers, strict=False):
        layer = entry.layer
        y = (entry.batch, layer.out_channels, *layer.out_hw)
        onnx_y = shapes[node.output[0]]
        assert y == (onnx_y if len(onnx_y) == 4 else (*onnx_y[:2], 1, onnx_y[2]))


def test_the_transformer_block_folds_tokens_and_keeps_attention():
    imported = import_model(DATA / "tiny_transformer.onnx", batch=3)
    kinds = [entry.kind_name for entry in imported.layers]
    assert kinds == ["linear", "activation product", "activation product"] + ["linear"] * 3
    qkv, scores, context = imported.layers[:3]
    assert qkv.layer.gemm_dims(1) == (3 * 5, 8, 24)  # batch x tokens folded into M
    for entry, (m, k, n) in ((scores, (5, 4, 5)), (context, (5, 5, 4))):
        assert entry.layer.groups == 3 * 2  # one product per sample and head
        assert entry.layer.gemm_dims(entry.batch) == (m, k, n)
    header = imported.text().split("func.func")[0]
    assert "LayerNormalization x2" in header and "Softmax x1" in header


@pytest.mark.parametrize("name", ["tiny_cnn.onnx", "tiny_transformer.onnx"])
def test_the_exported_models_compile_and_compute_their_gradients(name):
    from igoc.api import compile_text
    from igoc.sim import simulate
    from igoc.sim.compare import check_outputs, generate_inputs

    text = import_model(DATA / name, batch=2).text()
    program = compile_text(text, "edge", "igo")
    inputs = generate_inputs(program, seed=1)
    result = simulate(program, functional=True, inputs=inputs)
    assert check_outputs(program, inputs, result.tensors)["passed"]
