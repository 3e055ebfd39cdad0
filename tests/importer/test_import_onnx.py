"""igoc-import on ONNX graphs built with onnx.helper: shapes, layouts, what is skipped, errors.

Shapes are checked against ONNX's own shape inference, and the numbers of the
forms igoc writes (asymmetric padding as zero rows, batched products as a
grouped convolution) against ONNX's reference implementation of the model.
"""

from __future__ import annotations

import numpy as np
import onnxkit as kit
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from igoc import reference
from igoc.frontend import parse_text
from igoc.importer import ImportedModel, ModelImportError, import_model
from igoc.zoo.layers import Conv2d, Linear


def _import(tmp_path, built, name="m.onnx", **options) -> ImportedModel:
    return import_model(kit.save(built, tmp_path / name), **options)


def _only_layer(imported: ImportedModel):
    assert len(imported.layers) == 1, imported.layers
    return imported.layers[0]


def _y_shape(entry) -> tuple[int, ...]:
    layer = entry.layer
    if isinstance(layer, Linear):
        m, _, n = layer.gemm_dims(entry.batch)
        return (m, n)
    return (entry.batch, layer.out_channels, *layer.out_hw)


# ---- convolutions --------------------------------------------------------------------------------

CONVS = {
    "plain 3x3": ([2, 8, 10, 12], [16, 8, 3, 3], {}),
    "padded, strided": ([2, 8, 11, 11], [4, 8, 3, 3], {"pads": [1, 1, 1, 1], "strides": [2, 2]}),
    "rectangular kernel and strides": (
        [1, 3, 17, 9],
        [6, 3, 5, 3],
        {"pads": [2, 1, 2, 1], "strides": [3, 2]},
    ),
    "dilated": ([2, 4, 13, 13], [4, 4, 3, 3], {"pads": [2, 2, 2, 2], "dilations": [2, 2]}),
    "depthwise": ([2, 8, 9, 9], [8, 1, 3, 3], {"pads": [1, 1, 1, 1], "group": 8}),
    "depthwise x2, strided": (
        [2, 8, 9, 9],
        [16, 1, 3, 3],
        {"pads": [1, 1, 1, 1], "group": 8, "strides": [2, 2]},
    ),
    "grouped": ([1, 12, 7, 7], [6, 4, 3, 3], {"group": 3}),
    "asymmetric pads": ([2, 4, 8, 8], [4, 4, 3, 3], {"pads": [0, 0, 1, 1], "strides": [2, 2]}),
    "asymmetric pads, top larger": ([1, 2, 8, 8], [2, 2, 3, 3], {"pads": [2, 1, 0, 1]}),
    "same_upper, even kernel": ([2, 4, 8, 8], [4, 4, 4, 4], {"auto_pad": "SAME_UPPER"}),
    "same_lower, strided": (
        [2, 4, 9, 9],
        [4, 4, 3, 3],
        {"auto_pad": "SAME_LOWER", "strides": [2, 2]},
    ),
    "valid": ([2, 4, 9, 9], [4, 4, 3, 3], {"auto_pad": "VALID", "strides": [2, 2]}),
    "1-D": ([2, 4, 32], [8, 4, 5], {"pads": [2, 2]}),
    "1-D strided, dilated, depthwise": (
        [2, 8, 33],
        [8, 1, 3],
        {"pads": [2, 2], "strides": [2], "dilations": [2], "group": 8},
    ),
    "1-D asymmetric": ([2, 4, 16], [4, 4, 4], {"pads": [1, 2], "strides": [2]}),
}


@pytest.mark.parametrize("case", CONVS, ids=list(CONVS))
def test_a_convolution_has_the_shapes_onnx_infers(tmp_path, case):
    x_shape, w_shape, attributes = CONVS[case]
    built = kit.conv_model(x_shape, w_shape, **attributes)
    entry = _only_layer(_import(tmp_path, built))
    layer = entry.layer
    assert isinstance(layer, Conv2d)
    y_onnx = kit.inferred_shape(built, "y", {})
    y_igoc = _y_shape(entry)
    if len(x_shape) == 3:  # 1-D: written with height 1
        assert y_igoc[2] == 1
        y_igoc = y_igoc[:2] + y_igoc[3:]
    assert y_igoc == y_onnx
    assert (entry.batch, layer.in_channels) == tuple(x_shape[:2])
    assert layer.weight_shape[:2] == tuple(w_shape[:2])
    assert layer.groups == attributes.get("group", 1)
    (top, bottom), (left, right) = entry.x_added
    spatial = list(x_shape[2:]) if len(x_shape) == 4 else [1, x_shape[2]]
    assert layer.in_hw == (spatial[0] + top + bottom, spatial[1] + left + right)
    parse_text(_import(tmp_path, built, "again.onnx").text())  # igoc's verifier agrees


def _onnx_conv_output(built, x: np.ndarray) -> np.ndarray:
    return kit.run(built, {"x": x})[0]


def _igoc_conv_output(entry, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    layer = entry.layer
    if x.ndim == 3:
        x, w = x[:, :, None, :], w[:, :, None, :]
    (top, bottom), (left, right) = entry.x_added
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    y = reference.conv2d(
        x,
        w,
        stride=layer.stride,
        padding=layer.padding,
        dilation=layer.dilation,
        groups=layer.groups,
    )
    return y[:, :, 0, :] if w.shape[2] == 1 and entry.layer.in_hw[0] == 1 else y


@pytest.mark.parametrize("case", CONVS, ids=list(CONVS))
def test_the_written_convolution_computes_what_the_model_does(tmp_path, case):
    x_shape, w_shape, attributes = CONVS[case]
    built = kit.conv_model(x_shape, w_shape, **attributes)
    entry = _only_layer(_import(tmp_path, built))
    x = np.random.default_rng(1).standard_normal(x_shape).astype(np.float32)
    w = kit.weight("w", w_shape)
    w = np.frombuffer(w.raw_data, np.float32).reshape(w_shape)
    expected = _onnx_conv_output(built, x)
    np.testing.assert_allclose(_igoc_conv_output(entry, x, w), expected, rtol=1e-4, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(3, 14),
    kernel=st.integers(1, 4),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    begin=st.integers(0, 3),
    end=st.integers(0, 3),
)
def test_asymmetric_padding_is_written_exactly(
    tmp_path_factory, size, kernel, stride, dilation, begin, end
):
    if size + begin + end < dilation * (kernel - 1) + 1:
        return  # the kernel does not fit: a bad model, tested below
    attributes = {"pads": [begin, 0, end, 0], "strides": [stride, 1], "dilations": [dilation, 1]}
    built = kit.conv_model([1, 2, size, 3], [2, 2, kernel, 1], **attributes)
    entry = _only_layer(_import(tmp_path_factory.mktemp("asym"), built))
    x = np.random.default_rng(size).standard_normal((1, 2, size, 3)).astype(np.float32)
    w = kit.weight("w", [2, 2, kernel, 1])
    w = np.frombuffer(w.raw_data, np.float32).reshape(2, 2, kernel, 1)
    np.testing.assert_allclose(
        _igoc_conv_output(entry, x, w), _onnx_conv_output(built, x), rtol=1e-4, atol=1e-4
    )
    assert sum(entry.x_added[0]) <= abs(begin - end)


def test_a_convolution_with_asymmetric_padding_says_how_it_was_written(tmp_path):
    built = kit.conv_model([2, 4, 8, 8], [4, 4, 3, 3], pads=[0, 0, 1, 1], strides=[2, 2])
    text = _import(tmp_path, built).text()
    assert "pads [0, 0, 1, 1] are asymmetric" in text
    assert "%x: tensor<2x4x9x9xf16>" in text  # one zero row and column added at the end
    unread = kit.conv_model([2, 4, 9, 9], [4, 4, 3, 3], pads=[0, 0, 1, 1], strides=[2, 2])
    text = _import(tmp_path, unread).text()  # the last row of padding is never read
    assert "asymmetric" not in text and "%x: tensor<2x4x9x9xf16>" in text


def test_a_3d_convolution_and_a_transposed_one_are_skipped_with_their_reasons(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w3"], ["c3"], name="conv3d"),
        helper.make_node("ConvTranspose", ["x", "wt"], ["ct"], name="up"),
        helper.make_node("Conv", ["x2", "w2"], ["y"], name="conv2d"),
    ]
    built = kit.model(
        nodes,
        [kit.tensor("x", [1, 2, 4, 4, 4]), kit.tensor("x2", [1, 2, 5, 5])],
        [kit.out("c3"), kit.out("ct"), kit.out("y")],
        [
            kit.weight("w3", [2, 2, 1, 1, 1]),
            kit.weight("wt", [2, 2, 1, 1, 1]),
            kit.weight("w2", [3, 2, 3, 3]),
        ],
    )
    imported = _import(tmp_path, built)
    assert [entry.layer.name for entry in imported.layers] == ["conv2d"]
    reasons = {s.name: s.reason for s in imported.skipped}
    assert "3-D convolution" in reasons["conv3d"]
    assert "transposed convolution" in reasons["up"]
    header = imported.text().split("func.func")[0]
    assert "conv3d" in header and "'up'" in header


# ---- Gemm and MatMul -----------------------------------------------------------------------------


@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_reads_both_transpositions(tmp_path, trans_a, trans_b):
    m, k, n = 6, 10, 4
    a_shape = [k, m] if trans_a else [m, k]
    b_shape = [n, k] if trans_b else [k, n]
    gemm = helper.make_node(
        "Gemm", ["a", "b", "c"], ["y"], name="fc", transA=trans_a, transB=trans_b
    )
    built = kit.model(
        [gemm],
        [kit.tensor("a", a_shape)],
        [kit.out("y")],
        [kit.weight("b", b_shape), kit.weight("c", [n])],
    )
    entry = _only_layer(_import(tmp_path, built))
    assert isinstance(entry.layer, Linear)
    assert entry.layer.gemm_dims(entry.batch) == (m, k, n)
    assert _y_shape(entry) == kit.inferred_shape(built, "y", {})
    assert not entry.layer.computes_dx  # A is the model's input


def test_a_weight_before_the_activation_is_written_transposed(tmp_path):
    # Y (8 x 5) = W (8 x 3) . X (3 x 5): as Yt = Xt . Wt, M = 5, K = 3, N = 8
    gemm = helper.make_node("Gemm", ["w", "x"], ["y"], name="wx")
    built = kit.model([gemm], [kit.tensor("x", [3, 5])], [kit.out("y")], [kit.weight("w", [8, 3])])
    entry = _only_layer(_import(tmp_path, built))
    assert entry.layer.gemm_dims(1) == (5, 3, 8)
    assert any("written transposed" in line for line in entry.origin)


def test_matmul_folds_batch_and_sequence_into_m(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")]
    built = kit.model(
        nodes,
        [kit.tensor("x", ["batch", 7, 16])],
        [kit.out("y")],
        [kit.weight("w", [16, 24])],
    )
    entry = _only_layer(_import(tmp_path, built, batch=3))
    assert entry.layer.gemm_dims(entry.batch) == (21, 16, 24)
    assert kit.inferred_shape(built, "y", {"batch": 3}) == (3, 7, 24)


def test_matmul_with_the_weight_first_and_a_batched_activation(tmp_path):
    # Y (b, 8, 5) = W (8 x 3) . X (b, 3, 5): each Yt = Xt . Wt, folded: M = b*5
    nodes = [helper.make_node("MatMul", ["w", "x"], ["y"], name="wx")]
    built = kit.model(
        nodes, [kit.tensor("x", [4, 3, 5])], [kit.out("y")], [kit.weight("w", [8, 3])]
    )
    entry = _only_layer(_import(tmp_path, built))
    assert entry.layer.gemm_dims(1) == (20, 3, 8)


def test_matmul_with_vectors(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["v", "w"], ["row"], name="row_times_w"),
        helper.make_node("MatMul", ["x", "u"], ["col"], name="x_times_col"),
    ]
    built = kit.model(
        nodes,
        [kit.tensor("v", [6]), kit.tensor("x", [2, 5, 6])],
        [kit.out("row"), kit.out("col")],
        [kit.weight("w", [6, 4]), kit.weight("u", [6])],
    )
    first, second = _import(tmp_path, built).layers
    assert first.layer.gemm_dims(1) == (1, 6, 4)
    assert second.layer.gemm_dims(1) == (10, 6, 1)


def _attention(batch: int, heads: int, seq: int, dim: int):
    """Q.Kt, softmax, P.V on activations that come from a trained projection."""
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q2"], name="q_proj"),
        helper.make_node("Reshape", ["q2", "shape"], ["q"], name="split_heads"),
        helper.make_node("Transpose", ["q"], ["kt"], name="kt", perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
        helper.make_node("Softmax", ["s"], ["p"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["p", "q"], ["o"], name="context"),
    ]
    shape = helper.make_tensor("shape", TensorProto.INT64, [4], [batch, heads, seq, dim])
    return kit.model(
        nodes,
        [kit.tensor("x", [batch * heads * seq, dim])],
        [kit.out("o")],
        [kit.weight("wq", [dim, dim]), shape],
    )


def test_attention_products_are_grouped_convolutions_with_one_group_per_product(tmp_path):
    built = _attention(batch=2, heads=3, seq=5, dim=4)
    imported = _import(tmp_path, built)
    names = [entry.layer.name for entry in imported.layers]
    assert names == ["q_proj", "scores", "context"]
    scores, context = imported.layers[1:]
    for entry, (m, k, n) in ((scores, (5, 4, 5)), (context, (5, 5, 4))):
        layer = entry.layer
        assert isinstance(layer, Conv2d) and layer.groups == 6
        assert layer.gemm_dims(entry.batch) == (m, k, n)
        assert layer.computes_dx  # both operands carry gradients
    assert {s.kind for s in imported.skipped} == {"Reshape", "Transpose", "Softmax"}


def test_the_grouped_convolution_computes_the_batched_products(tmp_path):
    batch, heads, seq, dim = 2, 3, 5, 4
    built = _attention(batch, heads, seq, dim)
    scores = _import(tmp_path, built).layers[1]
    rng = np.random.default_rng(3)
    a = rng.standard_normal((batch, heads, seq, dim)).astype(np.float32)
    b = rng.standard_normal((batch, heads, dim, seq)).astype(np.float32)
    groups, m, k, n = batch * heads, seq, dim, seq
    # igoc's layout: X (1, G*K, 1, M) and W (G*N, K, 1, 1), group g holding product g
    x = a.reshape(groups, m, k).transpose(0, 2, 1).reshape(1, groups * k, 1, m)
    w = b.reshape(groups, k, n).transpose(0, 2, 1).reshape(groups * n, k, 1, 1)
    assert (x.shape, w.shape) == (
        (scores.batch, scores.layer.in_channels, *scores.layer.in_hw),
        scores.layer.weight_shape,
    )
    y = reference.conv2d(x, w, groups=scores.layer.groups)
    expected = np.matmul(a, b).reshape(groups, m, n).transpose(0, 2, 1).reshape(1, groups * n, 1, m)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_an_activation_product_without_a_batch_is_a_linear_layer(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="proj"),
        helper.make_node("MatMul", ["h", "ht"], ["g"], name="gram"),
        helper.make_node("Transpose", ["h"], ["ht"], name="t"),
    ]
    nodes = [nodes[0], nodes[2], nodes[1]]
    built = kit.model(nodes, [kit.tensor("x", [6, 4])], [kit.out("g")], [kit.weight("w", [4, 3])])
    gram = _import(tmp_path, built).layers[1]
    assert isinstance(gram.layer, Linear)
    assert gram.layer.gemm_dims(1) == (6, 3, 6)
    assert "activation x activation" in gram.summary


def test_products_that_cannot_be_written_are_skipped_with_their_reasons(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["c1", "c2"], ["folded"], name="constants"),
        helper.make_node("MatMul", ["x", "x2"], ["untrained"], name="inputs_only"),
        helper.make_node("MatMul", ["x", "w"], ["y"], name="layer"),
    ]
    built = kit.model(
        nodes,
        [kit.tensor("x", [3, 4]), kit.tensor("x2", [4, 2])],
        [kit.out("folded"), kit.out("untrained"), kit.out("y")],
        [kit.weight("c1", [2, 2]), kit.weight("c2", [2, 2]), kit.weight("w", [4, 5])],
    )
    imported = _import(tmp_path, built)
    assert [entry.layer.name for entry in imported.layers] == ["layer"]
    reasons = {s.name: s.reason for s in imported.skipped}
    assert "both operands are constants" in reasons["constants"]
    assert "no gradient" in reasons["inputs_only"]


# ---- the whole model -----------------------------------------------------------------------------


def _small_network():
    """conv (strided) -> relu -> depthwise -> flatten -> gemm -> matmul: a model of every kind."""
    nodes = [
        helper.make_node(
            "Conv", ["x", "w1"], ["c1"], name="/features/0/Conv", strides=[2, 2], pads=[1, 1, 1, 1]
        ),
        helper.make_node("Relu", ["c1"], ["r1"], name="/features/1/Relu"),
        helper.make_node(
            "Conv",
            ["r1", "w2"],
            ["c2"],
            name="/features/2/Conv",
            group=4,
            pads=[2, 2, 2, 2],
            dilations=[2, 2],
        ),
        helper.make_node("BatchNormalization", ["c2", "g", "b", "m", "v"], ["n2"], name="bn"),
        helper.make_node("Flatten", ["n2"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w3"], ["h"], name="/classifier/0/Gemm", transB=1),
        helper.make_node("MatMul", ["h", "w4"], ["y"], name="/classifier/0/Gemm"),
    ]
    return kit.model(
        nodes,
        [kit.tensor("x", ["N", 3, 8, 8])],
        [kit.out("y")],
        [
            kit.weight("w1", [4, 3, 3, 3]),
            kit.weight("w2", [4, 1, 3, 3]),
            kit.weight("g", [4]),
            kit.weight("b", [4]),
            kit.weight("m", [4]),
            kit.weight("v", [4]),
            kit.weight("w3", [10, 64]),
            kit.weight("w4", [10, 3]),
        ],
    )


def test_layers_keep_their_names_sanitised_and_unique(tmp_path):
    imported = _import(tmp_path, _small_network(), batch=2)
    assert [entry.layer.name for entry in imported.layers] == [
        "features_0_Conv",
        "features_2_Conv",
        "classifier_0_Gemm",
        "classifier_0_Gemm_2",
    ]
    assert "from ONNX Conv '/features/0/Conv'" in imported.text()


def test_the_first_layer_reads_the_input_and_computes_no_dx(tmp_path):
    imported = _import(tmp_path, _small_network(), batch=2)
    assert [entry.layer.computes_dx for entry in imported.layers] == [False, True, True, True]


def test_the_header_lists_what_was_skipped(tmp_path):
    text = _import(tmp_path, _small_network(), batch=2).text()
    header = text.split("func.func")[0]
    assert "Skipped (3):" in header
    assert "BatchNormalization x1, Flatten x1, Relu x1" in header
    assert "Batch:  2 (the model's symbolic batch 'N')" in header


def test_importing_twice_gives_the_same_bytes(tmp_path):
    first = _import(tmp_path, _small_network(), "a.onnx", batch=2).text()
    assert _import(tmp_path, _small_network(), "b.onnx", batch=2).text() == first.replace(
        "a.onnx", "b.onnx"
    )


def test_the_imported_network_computes_the_gradients(tmp_path):
    """``igoc OUT.mlir && igoc-sim OUT.npu --check`` on an import of every kind of layer."""
    from igoc.api import compile_text
    from igoc.sim import simulate
    from igoc.sim.compare import check_outputs, generate_inputs

    text = _import(tmp_path, _small_network(), batch=2).text()
    attention = _import(tmp_path, _attention(2, 2, 4, 4), "attention.onnx").text()
    asymmetric = _import(
        tmp_path,
        kit.conv_model([2, 3, 1, 9], [4, 3, 1, 3], pads=[0, 0, 0, 1], strides=[1, 2]),
        "asym.onnx",
    ).text()
    for source in (text, attention, asymmetric):
        for pipeline in ("baseline", "igo"):
            program = compile_text(source, "edge", pipeline)
            inputs = generate_inputs(program, seed=3)
            result = simulate(program, functional=True, inputs=inputs)
            check = check_outputs(program, inputs, result.tensors)
            assert check["passed"], (pipeline, check)


# ---- batch and dimensions ------------------------------------------------------------------------


def test_a_symbolic_batch_needs_batch(tmp_path):
    with pytest.raises(ModelImportError, match=r"m.onnx: the batch \('N'\) is symbolic.*--batch"):
        _import(tmp_path, _small_network())


def test_a_fixed_batch_is_kept_and_cannot_be_changed(tmp_path):
    built = kit.conv_model([3, 2, 5, 5], [2, 2, 3, 3])
    assert _import(tmp_path, built).layers[0].batch == 3
    assert _import(tmp_path, built, batch=3).layers[0].batch == 3
    with pytest.raises(ModelImportError, match="batch is fixed at 3, not 4"):
        _import(tmp_path, built, batch=4)


def test_other_symbolic_dimensions_take_their_size_from_dims(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")]
    built = kit.model(
        nodes, [kit.tensor("x", ["B", "seq", 8])], [kit.out("y")], [kit.weight("w", [8, 2])]
    )
    with pytest.raises(ModelImportError, match="dimension 'seq' at axis 1.*--dim seq=SIZE"):
        _import(tmp_path, built, batch=2)
    entry = _only_layer(_import(tmp_path, built, batch=2, dims={"seq": 5}))
    assert entry.layer.gemm_dims(1) == (10, 8, 2)
    # the batch by --dim alone is the batch; by both --batch and --dim, a conflict
    entry = _only_layer(_import(tmp_path, built, dims={"seq": 5, "B": 3}))
    assert entry.layer.gemm_dims(1) == (15, 8, 2)
    with pytest.raises(ModelImportError, match="--batch 2 and --dim B=3 both give the batch"):
        _import(tmp_path, built, batch=2, dims={"seq": 5, "B": 3})


# ---- bad input -----------------------------------------------------------------------------------


def _one_line_error(path: str, match: str) -> str:
    with pytest.raises(ModelImportError, match=match) as caught:
        import_model(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_text_is_not_an_onnx_model(tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("these are notes, not a model\n")
    _one_line_error(str(path), r"notes.onnx: not an ONNX model")


def test_a_truncated_model_is_refused(tmp_path):
    path = tmp_path / "cut.onnx"
    data = _small_network().SerializeToString()
    path.write_bytes(data[: len(data) // 2])
    _one_line_error(str(path), r"cut.onnx: not an ONNX model")


def test_an_unsupported_opset_is_refused(tmp_path):
    import onnx

    built = kit.conv_model([1, 2, 5, 5], [2, 2, 3, 3])
    built.opset_import[0].version = onnx.defs.onnx_opset_version() + 1
    path = kit.save(built, tmp_path / "new.onnx")
    _one_line_error(path, r"new.onnx: opset \d+ is newer than the installed onnx package knows")
    built.opset_import[0].version = 5
    path = kit.save(built, tmp_path / "old.onnx")
    _one_line_error(path, r"old.onnx: opset 5 is not supported")


def test_shapes_that_disagree_are_refused_naming_the_node(tmp_path):
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="bad_conv")
    built = kit.model(
        [conv],
        [kit.tensor("x", [1, 3, 5, 5])],
        [kit.out("y")],
        [kit.weight("w", [2, 3, 3, 3])],
    )
    built.graph.initializer[0].CopyFrom(kit.weight("w", [2, 4, 3, 3]))  # 4 channels, X has 3
    path = kit.save(built, tmp_path / "bad.onnx")
    message = _one_line_error(path, r"bad.onnx: ")
    assert "bad_conv" in message


def test_a_model_without_layers_is_refused(tmp_path):
    relu = helper.make_node("Relu", ["x"], ["y"], name="relu")
    built = kit.model([relu], [kit.tensor("x", [2, 3])], [kit.out("y")])
    _one_line_error(kit.save(built, tmp_path / "relu.onnx"), r"relu.onnx: nothing to import")


def test_a_missing_file_is_named(tmp_path):
    _one_line_error(str(tmp_path / "absent.onnx"), r"cannot read '.*absent.onnx': no such file")


def test_without_the_onnx_package_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    import sys

    path = kit.save(kit.conv_model([1, 2, 5, 5], [2, 2, 3, 3]), tmp_path / "m.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)
    _one_line_error(path, r"pip install 'igoc\[onnx\]'")


def test_weights_in_an_external_file_are_checked_there_and_not_read(tmp_path, monkeypatch):
    import onnx

    path = tmp_path / "model" / "external.onnx"
    path.parent.mkdir()
    onnx.save(
        _small_network(),
        str(path),
        save_as_external_data=True,
        location="weights.bin",
        size_threshold=0,
    )
    monkeypatch.chdir(tmp_path)  # not the model's folder
    imported = import_model(str(path), batch=2)
    assert imported.layers[0].layer.name == "features_0_Conv"
    (path.parent / "weights.bin").unlink()
    _one_line_error(str(path), r"external.onnx: not a valid ONNX model: .*weights.bin")
