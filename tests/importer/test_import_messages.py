"""igoc-import's messages: what they name and count, and the sizes refused before igoc sees them.

Each test is a finding of a review: a message that contradicted itself, said
nothing of why, ignored what it was given or doubled a word, and a batch beyond
igoc's limits that was written to a file igoc then refused.
"""

from __future__ import annotations

import re

import onnxkit as kit
import pytest
from onnx import helper

from igoc.frontend import parse_text
from igoc.importer import MAX_BATCH, ModelImportError, import_model
from igoc.limits import MAX_CONV_PARAM, MAX_DIM

_run = kit.run_import


def _error(path: str, **options) -> str:
    with pytest.raises(ModelImportError) as caught:
        import_model(path, **options)
    message = str(caught.value)
    assert "\n" not in message
    return message


def _gemm(name: str, weight: str, source: str = "x") -> helper.NodeProto:
    return helper.make_node("Gemm", [source, weight], [f"{name}_y"], name=name, transB=1)


def _two_inputs(tmp_path, x_lead: int | str, z_lead: int | str) -> str:
    """Two inputs, each read by a linear layer: X (x_lead x 16) and Z (z_lead x 16)."""
    built = kit.model(
        [_gemm("fc", "w"), _gemm("proj", "v", "z")],
        [kit.tensor("x", [x_lead, 16]), kit.tensor("z", [z_lead, 16])],
        [kit.out("fc_y"), kit.out("proj_y")],
        [kit.weight("w", [32, 16]), kit.weight("v", [8, 16])],
    )
    return kit.save(built, tmp_path / "two.onnx")


def _words_said_twice(text: str) -> list[str]:
    """Words repeated back to back ("GEMM GEMM"), also across a wrapped comment line."""
    return [m.group(0) for m in re.finditer(r"\b([A-Za-z]+)\s+(?://\s+)?\1\b", text)]


# ---- 1. a fixed batch that differs between inputs ------------------------------------------------


def test_inputs_with_different_fixed_leading_sizes_are_named_with_their_sizes(tmp_path):
    path = _two_inputs(tmp_path, 4, 8)
    for batch in (4, 8):
        message = _error(path, batch=batch)
        assert "not 4" not in message and "not 8" not in message  # was "fixed at 4, not 4"
        assert message.startswith(f"two.onnx: --batch {batch} cannot be the model's batch")
        assert "input 'x' leads with 4, input 'z' leads with 8" in message
        assert "leave --batch out" in message
    # Without --batch the sizes are imported as they are, and the header says they differ.
    imported = import_model(path)
    assert [entry.layer.gemm_dims(1)[0] for entry in imported.layers] == [4, 8]
    assert "leading sizes differ: input 'x' leads with 4, input 'z' leads with 8" in (
        imported.batch_note
    )
    status, _, stderr = _run(path, "--batch", "4", "-o", str(tmp_path / "out.mlir"))
    assert status == 1 and "input 'z' leads with 8" in stderr
    assert not (tmp_path / "out.mlir").exists()


def test_a_fixed_batch_names_the_inputs_it_leads(tmp_path):
    message = _error(_two_inputs(tmp_path, 3, 3), batch=4)
    assert message == (
        "two.onnx: the model's batch is fixed at 3, not 4 (inputs 'x', 'z' lead with 3); "
        "export it with a dynamic batch axis, or leave --batch out"
    )
    assert import_model(_two_inputs(tmp_path, 3, 3), batch=3).batch_note == (
        "3 (fixed in the model)"
    )


def test_many_inputs_of_one_leading_size_are_counted_not_all_named(tmp_path):
    names = ["a", "b", "c", "d", "e"]
    built = kit.model(
        [_gemm(f"fc_{name}", "w", name) for name in names],
        [kit.tensor(name, [2, 16]) for name in names],
        [kit.out(f"fc_{name}_y") for name in names],
        [kit.weight("w", [32, 16])],
    )
    message = _error(kit.save(built, tmp_path / "five.onnx"), batch=4)
    assert "(inputs 'a', 'b', 'c' and 2 others lead with 2)" in message


# ---- 2. nothing to import: why ------------------------------------------------------------------


def test_nothing_to_import_says_why_each_kind_of_node_was_skipped(tmp_path):
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Relu", ["r"], ["r2"], name="relu2"),
        helper.make_node("Conv", ["r2", "wx"], ["y"], name="conv"),
        helper.make_node("ConvTranspose", ["r2", "wt"], ["y2"], name="up"),
        helper.make_node("MatMul", ["a", "b"], ["y3"], name="mm"),
        helper.make_node("MatMul", ["wa", "wb"], ["y4"], name="folded"),
    ]
    built = kit.model(
        nodes,
        [
            kit.tensor("x", [1, 3, 8, 8]),
            kit.tensor("wx", [4, 3, 3, 3]),
            kit.tensor("a", [2, 3]),
            kit.tensor("b", [3, 2]),
        ],
        [kit.out("y"), kit.out("y2"), kit.out("y3"), kit.out("y4")],
        [kit.weight("wt", [3, 4, 3, 3]), kit.weight("wa", [2, 3]), kit.weight("wb", [3, 2])],
    )
    message = _error(kit.save(built, tmp_path / "none.onnx"))
    assert message == (
        "none.onnx: nothing to import: no Conv, Gemm or MatMul whose gradients igoc computes; "
        "6 nodes skipped: Conv x1: its weight is computed at run time, not a parameter; "
        "ConvTranspose x1: a transposed convolution (igoc models conv2d and its gradients "
        "only); MatMul x2: no gradient flows through it (no operand is trained) (and 1 other "
        "reason); Relu x2: not a GEMM or a convolution"
    )


def test_one_skipped_node_is_one_node(tmp_path):
    relu = helper.make_node("Relu", ["x"], ["y"], name="relu")
    built = kit.model([relu], [kit.tensor("x", [2, 3])], [kit.out("y")])
    message = _error(kit.save(built, tmp_path / "relu.onnx"))
    assert message.endswith("; 1 node skipped: Relu x1: not a GEMM or a convolution")


def test_the_summary_counts_one_layer_as_one(tmp_path):
    status, _, stderr = _run(_two_inputs(tmp_path, 4, 8), "-q")
    assert status == 0 and stderr == ""
    built = kit.model(
        [_gemm("fc", "w")],
        [kit.tensor("x", [4, 16])],
        [kit.out("fc_y")],
        [kit.weight("w", [8, 16])],
    )
    status, _, stderr = _run(kit.save(built, tmp_path / "one.onnx"), "-o", str(tmp_path / "o"))
    assert status == 0
    assert stderr.startswith("igoc-import: 1 layer imported (1 linear) from one.onnx; 0 nodes")


# ---- 3. --dim of a symbol the model does not have ------------------------------------------------


def test_a_dim_the_model_does_not_have_is_an_error_listing_the_ones_it_has(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")]
    built = kit.model(
        nodes, [kit.tensor("x", ["B", "seq", 8])], [kit.out("y")], [kit.weight("w", [8, 2])]
    )
    path = kit.save(built, tmp_path / "seq.onnx")
    assert _error(path, batch=2, dims={"seq": 5, "heads": 4}) == (
        "seq.onnx: --dim heads=4: the model has no symbolic dimension 'heads'; its inputs' "
        "symbolic dimensions are 'B' (the batch), 'seq'"
    )
    assert import_model(path, dims={"B": 3, "seq": 5}).layers[0].layer.gemm_dims(1)[0] == 15
    status, _, stderr = _run(path, "--batch", "2", "--dim", "seq=5", "--dim", "sequence=5")
    assert status == 1 and "no symbolic dimension 'sequence'" in stderr


def test_a_dim_given_to_a_model_without_symbols_is_an_error(tmp_path):
    message = _error(_two_inputs(tmp_path, 4, 4), dims={"seq": 3, "len": 2})
    assert message == (
        "two.onnx: --dim seq=3, len=2: the model has no symbolic dimensions 'seq', 'len'; its "
        "inputs have none (every size is fixed), so leave --dim out"
    )


# ---- 4. no word said twice -----------------------------------------------------------------------


def test_a_scalesim_gemm_layer_is_not_called_gemm_twice(tmp_path):
    path = tmp_path / "gemm.csv"
    path.write_text("Layer, M, N, K,\nqkt, 128, 128, 64,\n")
    text = import_model(str(path), batch=2).text()
    assert "// qkt: linear 64 -> 128; GEMM M=256 K=64 N=128\n" in text
    assert _words_said_twice(text) == []
    path.write_text("Layer, M, N, K,\ndot, 4, 1, 1,\n")
    assert "// Layers: 1 imported (1 linear); 1 weight; forward" in import_model(str(path)).text()


def test_no_comment_says_a_word_twice_and_counts_of_one_are_singular(tmp_path):
    path = tmp_path / "conv.csv"
    path.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
        "Strides,\nc1, 10, 10, 3, 3, 1, 1, 2,\nDP2, 8, 8, 3, 3, 8, 1, 2,\n"
    )
    text = import_model(str(path)).text()
    assert "filter 3x3, 1 channel, 1 filter, stride 2" in text
    assert "X gains 1 zero row and 1 zero column at the end" in text
    assert _words_said_twice(text) == []
    built = kit.conv_model([2, 4, 9, 9], [8, 4, 3, 3], pads=[0, 0, 1, 1], strides=[2, 2])
    assert _words_said_twice(import_model(kit.save(built, tmp_path / "c.onnx")).text()) == []


# ---- 5. sizes beyond igoc's limits ---------------------------------------------------------------


def test_a_batch_beyond_the_limit_is_bad_usage(tmp_path):
    path = tmp_path / "gemm.csv"
    path.write_text("Layer, M, N, K,\ng1, 1, 8, 16,\n")
    out = tmp_path / "out.mlir"
    for batch in (str(MAX_DIM + 1), "9" * 30):
        status, stdout, stderr = _run(str(path), "--batch", batch, "-o", str(out))
        assert status == 2 and stdout == ""
        assert stderr.startswith("usage: igoc-import")
        assert "igoc-import: error: argument --batch: " in stderr
        assert f"is beyond igoc's limit of {MAX_DIM:,} (a tensor dimension)" in stderr
        assert not out.exists()
    with pytest.raises(ValueError, match="the batch must be from 1 to 16,777,216"):
        import_model(str(path), batch=MAX_BATCH + 1)
    # At the limit the file is written, and igoc reads it.
    status, _, _ = _run(str(path), "--batch", str(MAX_DIM), "-o", str(out), "-q")
    assert status == 0
    parse_text(out.read_text())


def test_a_layer_the_batch_makes_too_large_is_refused_naming_it(tmp_path):
    path = tmp_path / "gemm.csv"
    path.write_text("Layer, M, N, K,\ng1, 4, 8, 16,\n")
    out = tmp_path / "out.mlir"
    status, stdout, stderr = _run(str(path), "--batch", str(MAX_DIM), "-o", str(out))
    assert status == 1 and stdout == "" and not out.exists()
    assert stderr == (
        "error: gemm.csv: layer 'g1': X has a dimension of 67,108,864; igoc's limit is "
        "16,777,216 per dimension; give a smaller --batch\n"
    )
    built = kit.conv_model(["N", 64, 256, 256], [64, 64, 3, 3])
    message = _error(kit.save(built, tmp_path / "big.onnx"), batch=2048)
    assert message.startswith("big.onnx: layer 'conv': X has 8,589,934,592 elements; igoc's limit")
    assert message.endswith("; give a smaller --batch")


def test_a_convolution_parameter_beyond_the_limit_is_refused(tmp_path):
    built = kit.conv_model([1, 1, 5, 5], [1, 1, 3, 3], strides=[MAX_CONV_PARAM + 1, 1])
    message = _error(kit.save(built, tmp_path / "stride.onnx"))
    assert message == (
        "stride.onnx: layer 'conv': a stride of 16,777,217 is beyond igoc's limit of 16,777,216"
    )
