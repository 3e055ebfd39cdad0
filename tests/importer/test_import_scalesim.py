"""igoc-import on SCALE-Sim topology files: both formats, SCALE-Sim's meaning, its files' quirks."""

from __future__ import annotations

import math

import pytest

from igoc.frontend import parse_text
from igoc.importer import ModelImportError, import_model
from igoc.zoo.layers import Conv2d, Linear

CONV_TOPOLOGY = """\
Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,

Conv1, 224, 224, 3, 3, 3, 32, 2,
Conv2_dw, 112, 112, 3, 3, 1, 1, 1,#dw
Conv3     ,112         ,112        ,1            ,1          ,32      ,64      ,1      ,
,,,,,,,
DP4, 56, 56, 3, 3, 64, 2, 2 ,
FC, 1, 1, 1, 1, 1024, 10, 1
"""

GEMM_TOPOLOGY = "Layer,M,N,K,\r\nQKT,1024,1024,64,\r\nLinear1,1024,4800,1600,\r\n"


def _write(tmp_path, text: str, name: str = "topology.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def scalesim_out(ifmap: int, kernel: int, stride: int) -> int:
    """SCALE-Sim's output size: ceil((IFMAP - Filter + Stride) / Stride), no padding."""
    return math.ceil((ifmap - kernel + stride) / stride)


def test_the_convolution_format_with_scalesim_meaning(tmp_path):
    imported = import_model(_write(tmp_path, CONV_TOPOLOGY))
    names = [entry.layer.name for entry in imported.layers]
    assert names == ["Conv1", "Conv2_dw", "Conv3", "DP4", "FC"]
    rows = {
        "Conv1": (224, 3, 3, 32, 2),
        "Conv2_dw": (112, 3, 1, 1, 1),
        "Conv3": (112, 1, 32, 64, 1),
        "FC": (1, 1, 1024, 10, 1),
    }
    for entry in imported.layers:
        layer = entry.layer
        assert isinstance(layer, Conv2d) and entry.batch == 1
        assert layer.padding == (0, 0)
        if layer.name in rows:
            ifmap, kernel, channels, filters, stride = rows[layer.name]
            (top, bottom), (left, right) = entry.x_added
            assert top == left == 0 and layer.kernel == (kernel, kernel)
            assert layer.in_hw == (ifmap + bottom, ifmap + right)
            assert (layer.in_channels, layer.out_channels, layer.groups) == (channels, filters, 1)
            assert layer.out_hw == (scalesim_out(ifmap, kernel, stride),) * 2
    parse_text(imported.text())


def test_a_dp_layer_is_depthwise_as_scalesim_runs_it(tmp_path):
    # SCALE-Sim runs DP4 as 64 one-channel convolutions with 2 filters each
    entry = next(
        e for e in import_model(_write(tmp_path, CONV_TOPOLOGY)).layers if e.layer.name == "DP4"
    )
    layer = entry.layer
    assert (layer.in_channels, layer.out_channels, layer.groups) == (64, 128, 64)
    assert layer.weight_shape == (128, 1, 3, 3)
    assert layer.out_hw == (scalesim_out(56, 3, 2),) * 2
    assert layer.macs(1) == 64 * scalesim_out(56, 3, 2) ** 2 * 9 * 2


def test_a_last_window_past_the_ifmap_counts_as_scalesim_counts_it(tmp_path):
    # ceil((224 - 3 + 2) / 2) = 112 outputs: the last window reads row 224, past the IFMAP
    entry = import_model(_write(tmp_path, CONV_TOPOLOGY)).layers[0]
    assert entry.layer.out_hw == (112, 112)
    assert entry.x_added == ((0, 1), (0, 1)) and entry.layer.in_hw == (225, 225)
    assert entry.layer.macs(1) == 112 * 112 * 3 * 3 * 3 * 32  # SCALE-Sim's num_mac


def test_the_first_row_reads_the_input(tmp_path):
    imported = import_model(_write(tmp_path, CONV_TOPOLOGY))
    assert [entry.layer.computes_dx for entry in imported.layers] == [False] + [True] * 4


def test_the_gemm_format(tmp_path):
    imported = import_model(_write(tmp_path, GEMM_TOPOLOGY, "gpt2.csv"))
    dims = [entry.layer.gemm_dims(entry.batch) for entry in imported.layers]
    assert dims == [(1024, 64, 1024), (1024, 1600, 4800)]  # (M, K, N)
    assert all(isinstance(entry.layer, Linear) for entry in imported.layers)
    parse_text(imported.text())


def test_the_batch_is_the_convolutions_n_and_multiplies_a_gemms_m(tmp_path):
    conv = import_model(_write(tmp_path, CONV_TOPOLOGY), batch=4)
    assert {entry.batch for entry in conv.layers} == {4}
    assert "Batch:  4 (--batch)" in conv.text()
    gemm = import_model(_write(tmp_path, GEMM_TOPOLOGY, "g.csv"), batch=4)
    assert gemm.layers[0].layer.gemm_dims(1) == (4096, 64, 1024)


def test_two_stride_columns_a_byte_order_mark_and_tabs(tmp_path):
    text = (
        "\ufeffLayer name,Ifmap height,ifmap width,filter height,filter width,channels,"
        "num filters,stride height,stride width,\nc1,10,12,3,3,2,4,1,2,\n"
    )
    (entry,) = import_model(_write(tmp_path, text)).layers
    assert entry.layer.stride == (1, 2) and entry.layer.out_hw == (8, 6)
    assert entry.x_added == ((0, 0), (0, 1))  # the last window needs a 13th column
    tabs = (
        "Layer name\tIFMAP Height\tIFMAP Width\tFilter Height\tFilter Width\tChannels\t"
        "Num Filter\tStrides\t\nc1\t9\t9\t3\t3\t1\t8\t1\t\n"
    )
    (entry,) = import_model(_write(tmp_path, tabs, "tabs.csv")).layers
    assert entry.layer.out_hw == (7, 7)


def test_columns_after_the_known_ones_are_named_and_ignored(tmp_path):
    text = (
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
        "Num Filter, Strides,,,Eh,Ew,e2\n,,,,,,,,,,,,\nConv1,224,224,7,7,3,64,2,,,110,110,12100\n"
    )
    imported = import_model(_write(tmp_path, text))
    assert imported.layers[0].layer.out_hw == (scalesim_out(224, 7, 2),) * 2
    assert "Columns not read: Eh, Ew, e2." in imported.text()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name,a,b\nx,1,2\n", r"topology.csv:1: not a SCALE-Sim topology header"),
        ("Layer, H, W, R, S\nx,1,2,3,4\n", r"topology.csv:1: the header .* neither SCALE-Sim"),
        (
            CONV_TOPOLOGY.replace("3, 32, 2,", "3, x32, 2,"),
            r"topology.csv:3: layer 'Conv1': Num Filter is 'x32', not a whole number",
        ),
        (
            CONV_TOPOLOGY.replace("Conv1, 224, 224, 3, 3, 3, 32, 2,", "Conv1, 224, 224, 3,"),
            r"topology.csv:3: layer 'Conv1' has 3 of the 7 numbers",
        ),
        (
            CONV_TOPOLOGY.replace("Conv1, 224, 224, 3, 3,", "Conv1, 2, 2, 3, 3,"),
            r"topology.csv:3: .*filter is larger than the 2x2 IFMAP",
        ),
        (
            CONV_TOPOLOGY.replace("3, 32, 2,", "3, 0, 2,"),
            r"topology.csv:3: layer 'Conv1': Num Filter is 0, not positive",
        ),
        (CONV_TOPOLOGY.replace("Conv1,", " ,"), r"topology.csv:3: the row has no layer name"),
        (GEMM_TOPOLOGY.replace("1024,64", "1024,6.4"), r"topology.csv:2: layer 'QKT': K is '6.4'"),
        ("\n\n", r"topology.csv: the file is empty"),
        ("Layer,M,N,K,\n", r"topology.csv: the topology lists no layers"),
    ],
)
def test_bad_topologies_are_one_line_errors_naming_the_row(tmp_path, text, match):
    with pytest.raises(ModelImportError, match=match) as caught:
        import_model(_write(tmp_path, text))
    assert "\n" not in str(caught.value)


def test_a_binary_file_is_not_a_topology(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"Layer,M,N,K\n\xff\xfe\x00")
    with pytest.raises(ModelImportError, match=r"t.csv:2: not a SCALE-Sim topology"):
        import_model(str(path))


def test_the_imported_topology_computes_the_gradients(tmp_path):
    from igoc.api import compile_text
    from igoc.sim import simulate
    from igoc.sim.compare import check_outputs, generate_inputs

    text = (
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
        "Num Filter, Strides,\nc1, 9, 9, 3, 3, 3, 8, 2,\nDP2, 4, 4, 3, 3, 8, 1, 1,\n"
        "c3, 2, 2, 1, 1, 8, 4, 1,\n"
    )
    source = import_model(_write(tmp_path, text), batch=2).text()
    program = compile_text(source, "edge", "igo")
    inputs = generate_inputs(program, seed=5)
    result = simulate(program, functional=True, inputs=inputs)
    assert check_outputs(program, inputs, result.tensors)["passed"]
