"""The layer tables against published facts: parameter counts, work, and feature-map sizes.

Parameter counts are rebuilt from the tables' weights plus what the tables do
not list (biases, normalisation scale and shift, embeddings) and compared with
the figure the reference implementation publishes, to the parameter. Where a
network is a chain, each layer's output must be the next layer's input.
"""

from __future__ import annotations

import pytest

from igoc.zoo.bert import BERT_LARGE, TINYBERT_4L_312D, BertConfig, bert_layers
from igoc.zoo.googlenet import googlenet
from igoc.zoo.layers import Conv2d, Linear, Model, pool_out_size
from igoc.zoo.mobilenet import make_divisible, mobilenet_v3_large_features
from igoc.zoo.models import model
from igoc.zoo.t5 import T5_LARGE, T5_SMALL, T5Config, t5_layers


def _convs(m: Model) -> list[Conv2d]:
    return [layer for layer in m.layers if isinstance(layer, Conv2d)]


def _batchnorm_params(convs: list[Conv2d]) -> int:
    """BatchNorm's scale and shift: two parameters per output channel of each conv."""
    return sum(2 * layer.out_channels for layer in convs)


def _assert_chain(layers: list[Conv2d]) -> None:
    """Each conv reads exactly what the previous one wrote (channels and size)."""
    for before, after in zip(layers, layers[1:], strict=False):
        assert (after.in_channels, after.in_hw) == (before.out_channels, before.out_hw), (
            f"{before.name} -> {after.name}"
        )


# ---- pooling arithmetic, against PyTorch's documented results ---------------------------------


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "ceil_mode", "expected"),
    [
        (112, 3, 2, 1, False, 56),  # ResNet's stem max pool
        (112, 3, 2, 0, True, 56),  # GoogLeNet's max pools round up
        (112, 3, 2, 0, False, 55),
        (14, 3, 2, 0, True, 7),
        (14, 5, 3, 0, False, 4),  # GoogLeNet's auxiliary average pool
        (25, 1, 2, 0, False, 13),  # FPN's LastLevelMaxPool
        (5, 2, 2, 0, True, 3),
        (4, 2, 2, 1, True, 3),  # a last window starting in the padding is dropped
    ],
)
def test_pool_out_size(size, kernel, stride, padding, ceil_mode, expected):
    assert pool_out_size(size, kernel, stride, padding, ceil_mode) == expected


# ---- ResNet-50 ---------------------------------------------------------------------------------


def test_resnet50_parameters_equal_torchvision():
    """53 convs and fc: 25,502,912 weights; with fc bias and BN scale/shift, 25,557,032."""
    resnet = model("resnet50")
    convs = _convs(resnet)
    assert len(convs) == 53
    fc = resnet.layer("fc")
    assert resnet.weight_elems == sum(c.weight_elems for c in convs) + fc.weight_elems
    assert resnet.weight_elems + fc.out_features + _batchnorm_params(convs) == 25_557_032


def test_resnet50_work_matches_torchvision():
    """torchvision lists 4.09 GFLOPS (multiply-adds) for one 224x224 image."""
    assert model("resnet50").macs(1) == pytest.approx(4.09e9, rel=0.005)


def test_resnet50_blocks_chain():
    resnet = model("resnet50")
    stage_sizes = {"layer1": 56, "layer2": 28, "layer3": 14, "layer4": 7}
    blocks = sorted({layer.name.rsplit("_", 1)[0] for layer in _convs(resnet)} - {"conv1"})
    assert len(blocks) == 16
    assert resnet.layer("layer1_0_conv1").in_hw == (56, 56)  # conv1 (112) after the max pool
    previous_output = resnet.layer("conv1")
    for block in sorted(blocks, key=lambda b: (b.split("_")[0], int(b.split("_")[1]))):
        conv1, conv2, conv3 = (resnet.layer(f"{block}_conv{i}") for i in (1, 2, 3))
        _assert_chain([conv1, conv2, conv3])
        assert conv3.out_hw == (stage_sizes[block.split("_")[0]],) * 2
        if previous_output.name != "conv1":
            assert (conv1.in_channels, conv1.in_hw) == (
                previous_output.out_channels,
                previous_output.out_hw,
            )
        if block.endswith("_0"):
            shortcut = resnet.layer(f"{block}_downsample")
            assert (shortcut.in_channels, shortcut.in_hw) == (conv1.in_channels, conv1.in_hw)
            assert (shortcut.out_channels, shortcut.out_hw) == (conv3.out_channels, conv3.out_hw)
        previous_output = conv3
    assert resnet.layer("fc").in_features == previous_output.out_channels == 2048


# ---- GoogLeNet ---------------------------------------------------------------------------------


def test_googlenet_in_torchvision_form_has_its_parameter_count():
    """With torchvision's 3x3 in the 5x5 branch: 6,624,904 without and 13,004,888 with aux heads."""
    net = googlenet(branch3_kernel=3)
    main = [layer for layer in net.layers if not layer.name.startswith("aux")]
    main_convs = [layer for layer in main if isinstance(layer, Conv2d)]
    biases = sum(layer.out_features for layer in net.layers if isinstance(layer, Linear))
    main_params = sum(layer.weight_elems for layer in main) + _batchnorm_params(main_convs) + 1000
    assert main_params == 6_624_904
    assert net.weight_elems + _batchnorm_params(_convs(net)) + biases == 13_004_888


# Szegedy et al., Table 1: each module's output size and depth, and its "ops" column (millions of
# multiply-adds). The paper's "params" column is not used: it disagrees with its own channel
# columns by up to 7% (4c: 463K listed, 497.5K from the columns), while torchvision's count,
# checked above, agrees with them exactly.
GOOGLENET_TABLE1 = {
    "inception3a": (28, 256, 128),
    "inception3b": (28, 480, 304),
    "inception4a": (14, 512, 73),
    "inception4b": (14, 512, 88),
    "inception4c": (14, 512, 100),
    "inception4d": (14, 528, 119),
    "inception4e": (14, 832, 170),
    "inception5a": (7, 832, 51.1),  # listed as 54M, a slip: its own columns give 51.1M
    "inception5b": (7, 1024, 71),
}
GOOGLENET_BRANCH_OUTPUTS = ("1x1", "3x3", "5x5", "pool_proj")


@pytest.mark.parametrize("module", sorted(GOOGLENET_TABLE1))
def test_googlenet_modules_match_table1(module):
    size, depth, mega_ops = GOOGLENET_TABLE1[module]
    net = model("googlenet")
    layers = [layer for layer in net.layers if layer.name.startswith(module + "_")]
    assert len(layers) == 6
    assert all(layer.out_hw == (size, size) for layer in layers)
    assert sum(net.layer(f"{module}_{b}").out_channels for b in GOOGLENET_BRANCH_OUTPUTS) == depth
    assert sum(layer.macs(1) for layer in layers) / 1e6 == pytest.approx(mega_ops, rel=0.01)


def test_googlenet_stem_matches_table1():
    net = model("googlenet")
    assert net.layer("conv1").macs(1) / 1e6 == pytest.approx(118, rel=0.01)
    stem = net.layer("conv2_reduce").macs(1) + net.layer("conv2").macs(1)
    assert stem / 1e6 == pytest.approx(360, rel=0.01)
    assert net.layer("conv2").out_hw == (56, 56)


def test_googlenet_inceptions_chain_through_concatenation():
    net = model("googlenet")
    channels = net.layer("conv2").out_channels
    for module in GOOGLENET_TABLE1:
        branches = [net.layer(f"{module}_{b}") for b in ("1x1", "3x3_reduce", "5x5_reduce")]
        branches.append(net.layer(f"{module}_pool_proj"))
        assert all(layer.in_channels == channels for layer in branches)
        outputs = GOOGLENET_BRANCH_OUTPUTS
        channels = sum(net.layer(f"{module}_{b}").out_channels for b in outputs)
    assert channels == net.layer("fc").in_features == 1024
    for aux, tap in (("aux1", "inception4a"), ("aux2", "inception4d")):
        conv = net.layer(f"{aux}_conv")
        assert conv.in_hw == (4, 4)
        tap_channels = sum(net.layer(f"{tap}_{b}").out_channels for b in outputs)
        assert conv.in_channels == tap_channels
        assert net.layer(f"{aux}_fc1").in_features == conv.out_channels * 16 == 2048


# ---- MobileNetV2 and MobileNetV3-Large ---------------------------------------------------------


def test_mobilenet_v2_parameters_and_work_equal_published():
    """torchvision: 3,504,872 parameters; Sandler et al.: 300M multiply-adds."""
    net = model("mobilenet")
    convs = _convs(net)
    assert net.weight_elems + _batchnorm_params(convs) + 1000 == 3_504_872
    assert net.macs(1) == pytest.approx(300e6, rel=0.01)


def test_mobilenet_v2_is_a_chain_with_depthwise_convs():
    net = model("mobilenet")
    convs = _convs(net)
    _assert_chain(convs)
    assert convs[-1].out_hw == (7, 7)
    assert net.layer("classifier").in_features == convs[-1].out_channels == 1280
    depthwise = [c for c in convs if c.groups > 1]
    assert len(depthwise) == 17
    assert all(c.groups == c.in_channels == c.out_channels for c in depthwise)
    assert all(c.weight_shape[1] == 1 for c in depthwise)


def test_make_divisible_matches_torchvision_squeeze_sizes():
    assert [make_divisible(c // 4) for c in (72, 120, 480, 672, 960)] == [24, 32, 120, 168, 240]


def test_mobilenet_v3_large_parameters_and_work_equal_published():
    """torchvision: 5,483,032 parameters with its classifier; Howard et al.: 219M MAdds."""
    layers, _ = mobilenet_v3_large_features((224, 224))
    squeeze = [layer for layer in layers if "_se_" in layer.name]
    normalised = [layer for layer in layers if "_se_" not in layer.name]
    classifier_weights = 960 * 1280 + 1280 * 1000
    params = sum(layer.weight_elems for layer in layers) + classifier_weights
    params += sum(layer.out_channels for layer in squeeze) + 1280 + 1000  # biases
    params += _batchnorm_params(normalised)
    assert params == 5_483_032
    macs = sum(layer.macs(1) for layer in layers) + classifier_weights
    assert macs == pytest.approx(219e6, rel=0.02)


def test_mobilenet_v3_large_chains_around_squeeze_excite():
    layers, taps = mobilenet_v3_large_features((224, 224))
    main = [layer for layer in layers if "_se_" not in layer.name]
    _assert_chain(main)
    for fc1 in (layer for layer in layers if layer.name.endswith("_se_fc1")):
        block = fc1.name.removesuffix("_se_fc1")
        depthwise = next(layer for layer in layers if layer.name == f"{block}_dw")
        fc2 = next(layer for layer in layers if layer.name == f"{block}_se_fc2")
        assert fc1.in_channels == depthwise.out_channels == fc2.out_channels
        assert fc1.out_channels == fc2.in_channels
    assert taps[13].out_hw == taps[16].out_hw == (7, 7)  # both FPN taps at stride 32
    assert (taps[13].out_channels, taps[16].out_channels) == (160, 960)


# ---- Faster R-CNN --------------------------------------------------------------------------------


def test_fasterrcnn_parameters_equal_torchvision():
    """torchvision: 19,386,354. Backbone BN is frozen (buffers, not parameters); backbone convs
    have no bias except squeeze-excite; FPN, RPN and box head layers have biases; the RPN head's
    weights are shared by its three levels and count once."""
    net = model("fasterrcnn")
    params = 0
    for layer in net.layers:
        if layer.name.startswith("rpn_") and not layer.name.endswith("_p0"):
            continue
        params += layer.weight_elems
        if isinstance(layer, Linear):
            params += layer.out_features
        elif "_se_" in layer.name or not layer.name.startswith("backbone_"):
            params += layer.out_channels
    assert params == 19_386_354


def test_fasterrcnn_heads_read_the_backbone():
    net = model("fasterrcnn")
    assert net.layer("fpn_inner0").in_channels == net.layer("backbone_bneck13_project").out_channels
    assert net.layer("fpn_inner1").in_channels == net.layer("backbone_last").out_channels
    assert net.layer("fpn_inner0").in_hw == (800 // 32, 1088 // 32)
    assert net.layer("rpn_conv_ppool").in_hw == (13, 17)
    assert net.layer("box_fc6").in_features == 256 * 7 * 7
    assert net.layer("box_fc6").gemm_dims(4)[0] == 4 * 512


# ---- YOLO ----------------------------------------------------------------------------------------


def test_yolov5l_parameters_and_work_equal_ultralytics():
    """Ultralytics: 46,563,709 parameters (BN unfused; 46,533,693 fused); 109.1 GFLOPs at 640."""
    net = model("yolov5")
    detect = [layer for layer in _convs(net) if layer.name.startswith("model24_")]
    others = [layer for layer in _convs(net) if not layer.name.startswith("model24_")]
    biases = sum(layer.out_channels for layer in detect)
    assert net.weight_elems + _batchnorm_params(others) + biases == 46_563_709
    assert net.weight_elems + sum(c.out_channels for c in others) + biases == 46_533_693
    assert 2 * net.macs(1) == pytest.approx(109.1e9, rel=0.005)


def test_yolov5l_detects_on_three_scales():
    net = model("yolov5")
    heads = [net.layer(f"model24_p{level}") for level in (3, 4, 5)]
    assert [(h.in_channels, h.in_hw) for h in heads] == [
        (256, (80, 80)),
        (512, (40, 40)),
        (1024, (20, 20)),
    ]
    assert all(h.out_channels == 3 * 85 for h in heads)
    assert len(net.layers) == 104


def test_yolov2_tiny_is_a_chain_through_its_pools():
    """Five 2x2/2 max pools take 416 to 13; the sixth has stride 1. 11.2M weights (COCO cfg)."""
    net = model("yolov2-tiny")
    convs = _convs(net)
    for index, (before, after) in enumerate(zip(convs, convs[1:], strict=False)):
        assert after.in_channels == before.out_channels
        halved = index < 5
        assert after.in_hw[0] == (before.out_hw[0] // 2 if halved else before.out_hw[0])
    assert convs[-1].out_hw == (13, 13)
    assert convs[-1].out_channels == 5 * (80 + 5)
    assert net.weight_elems == pytest.approx(11.2e6, rel=0.01)


# ---- BERT and T5 ---------------------------------------------------------------------------------


def _bert_params(config: BertConfig) -> int:
    """Hugging Face BertModel's parameters, from the table's encoder and pooler layers."""
    layers = [layer for layer in bert_layers(config) if layer.name.startswith(("enc", "pooler"))]
    h = config.hidden
    linear = sum(layer.weight_elems + layer.out_features for layer in layers)
    embeddings = (config.vocab + config.max_positions + config.token_types) * h
    layer_norms = (2 * config.layers + 1) * 2 * h
    return linear + embeddings + layer_norms


def test_bert_large_parameters_equal_hugging_face():
    assert _bert_params(BERT_LARGE) == 335_141_888


def test_bert_large_encoder_weights_have_the_closed_form():
    layers = [layer for layer in model("bert-large").layers if layer.name.startswith("enc")]
    h, f = 1024, 4096
    assert len(layers) == 24 * 6
    assert sum(layer.weight_elems for layer in layers) == 24 * (4 * h * h + 2 * h * f)


def test_tinybert_parameters_match_published():
    """Jiao et al. list 14.5M for TinyBERT-4 (which also carries a 312->768 fitting layer)."""
    assert _bert_params(TINYBERT_4L_312D) == pytest.approx(14.5e6, rel=0.015)


def test_bert_layers_chain():
    for name, config in (("bert-large", BERT_LARGE), ("bert-tiny", TINYBERT_4L_312D)):
        net = model(name)
        for index in range(config.layers):
            ffn_in, ffn_out = net.layer(f"enc{index}_ffn_in"), net.layer(f"enc{index}_ffn_out")
            assert ffn_in.out_features == ffn_out.in_features == config.intermediate
            for part in ("attn_q", "attn_k", "attn_v", "attn_out"):
                layer = net.layer(f"enc{index}_{part}")
                assert (layer.in_features, layer.out_features) == (config.hidden,) * 2
                assert layer.rows_per_sample == 128


def _t5_params(config: T5Config) -> int:
    """Hugging Face T5Model's parameters: the table's weights (the output layer is the shared
    embedding), layer norms (weights only: 2 per encoder and 3 per decoder layer, plus a final
    one each), and each stack's relative position bias (32 buckets x heads)."""
    weights = sum(layer.weight_elems for layer in t5_layers(config))
    layer_norms = (2 * config.layers + 1 + 3 * config.layers + 1) * config.d_model
    return weights + layer_norms + 2 * 32 * config.heads


def test_t5_parameters_equal_hugging_face():
    assert _t5_params(T5_LARGE) == 737_668_096
    assert _t5_params(T5_SMALL) == 60_506_624


def test_t5_cross_attention_reads_the_encoder_sequence():
    net = model("t5-large")
    assert net.layer("dec0_cross_k").rows_per_sample == 512
    assert net.layer("dec0_cross_q").rows_per_sample == 114
    assert net.layer("lm_head").out_features == 32128
    assert len(net.layers) == 24 * 6 + 24 * 10 + 1


# ---- NCF and DLRM --------------------------------------------------------------------------------


def test_ncf_and_dlrm_mlps_chain():
    ncf = model("ncf")
    mlp = [ncf.layer(f"mlp{i}") for i in (1, 2, 3)]
    assert [(m.in_features, m.out_features) for m in mlp] == [(256, 256), (256, 128), (128, 64)]
    assert ncf.layer("predict").in_features == 64 + 64  # MLP output and GMF vector
    dlrm = model("dlrm")
    bottom = [dlrm.layer(f"bot{i}") for i in (1, 2, 3)]
    top = [dlrm.layer(f"top{i}") for i in (1, 2, 3, 4, 5)]
    for chain in (bottom, top):
        for before, after in zip(chain, chain[1:], strict=False):
            assert after.in_features == before.out_features
    assert bottom[0].in_features == 13 and not bottom[0].computes_dx
    assert top[0].in_features == 128 + 27 * 26 // 2
    assert top[-1].out_features == 1


# ---- every table -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["fasterrcnn", "googlenet", "resnet50", "mobilenet", "yolov2-tiny", "yolov5"],
)
def test_image_networks_compute_no_dx_only_in_their_first_layer(name):
    layers = model(name).layers
    assert isinstance(layers[0], Conv2d) and layers[0].in_channels == 3
    assert [layer.name for layer in layers if not layer.computes_dx] == [layers[0].name]


@pytest.mark.parametrize("name", ["ncf", "bert-tiny", "bert-large", "t5-small", "t5-large"])
def test_networks_on_embeddings_compute_dx_everywhere(name):
    assert all(layer.computes_dx for layer in model(name).layers)
