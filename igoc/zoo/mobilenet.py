"""MobileNetV2 (the zoo's MobileNet) and the feature extractor of MobileNetV3-Large.

MobileNetV2 source: M. Sandler et al., "MobileNetV2: Inverted Residuals and
Linear Bottlenecks", CVPR 2018, Table 2, as ``torchvision.models.mobilenet_v2``
builds it (3,504,872 parameters). MobileNetV3-Large source: A. Howard et al.,
"Searching for MobileNetV3", ICCV 2019, Table 1, as
``torchvision.models.mobilenet_v3_large`` builds it; here it is the backbone of
the zoo's Faster R-CNN (``igoc.zoo.fasterrcnn``).

Depthwise convolutions are ``Conv2d`` with ``groups`` equal to their channels.
"""

from __future__ import annotations

from igoc.zoo.layers import Conv2d, Layer, Linear, Model, conv

IMAGE_HW = 224  # the ImageNet training crop
NUM_CLASSES = 1000

# MobileNetV2, Table 2: (expansion t, output channels c, repeats n, first stride s)
V2_STEM_CHANNELS = 32
V2_BLOCKS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
V2_LAST_CHANNELS = 1280

# MobileNetV3-Large, Table 1 (torchvision's _mobilenet_v3_conf):
# (input channels, kernel, expanded channels, output channels, squeeze-and-excite, stride)
V3_STEM_CHANNELS = 16
V3_LARGE_BNECKS = (
    (16, 3, 16, 16, False, 1),
    (16, 3, 64, 24, False, 2),
    (24, 3, 72, 24, False, 1),
    (24, 5, 72, 40, True, 2),
    (40, 5, 120, 40, True, 1),
    (40, 5, 120, 40, True, 1),
    (40, 3, 240, 80, False, 2),
    (80, 3, 200, 80, False, 1),
    (80, 3, 184, 80, False, 1),
    (80, 3, 184, 80, False, 1),
    (80, 3, 480, 112, True, 1),
    (112, 3, 672, 112, True, 1),
    (112, 5, 672, 160, True, 2),
    (160, 5, 960, 160, True, 1),
    (160, 5, 960, 160, True, 1),
)
V3_LAST_CHANNELS = 960  # the final 1x1 conv of the feature extractor (6 x 160)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor``, never below 90% of it (torchvision)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def mobilenet_v2() -> Model:
    """MobileNetV2 (width 1.0) on 224x224 images: 52 convolutions and the classifier."""
    stem = conv("stem", 3, V2_STEM_CHANNELS, (IMAGE_HW, IMAGE_HW), 3, 2, computes_dx=False)
    layers: list[Layer] = [stem]
    hw, channels = stem.out_hw, V2_STEM_CHANNELS
    index = 0
    for expansion, out_channels, repeats, first_stride in V2_BLOCKS:
        for repeat in range(repeats):
            index += 1
            stride = first_stride if repeat == 0 else 1
            hidden = channels * expansion
            if expansion != 1:
                layers.append(conv(f"block{index}_expand", channels, hidden, hw, 1))
            depthwise = conv(f"block{index}_dw", hidden, hidden, hw, 3, stride, groups=hidden)
            layers.append(depthwise)
            hw = depthwise.out_hw
            layers.append(conv(f"block{index}_project", hidden, out_channels, hw, 1))
            channels = out_channels
    layers.append(conv("head", channels, V2_LAST_CHANNELS, hw, 1))
    layers.append(Linear("classifier", V2_LAST_CHANNELS, NUM_CLASSES))  # after average pooling
    return Model(
        name="mobilenet",
        title="MobileNet (MobileNetV2, width 1.0)",
        input_desc=f"{IMAGE_HW}x{IMAGE_HW} RGB images, the ImageNet training crop",
        source=(
            "M. Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks,",
            "CVPR 2018, Table 2, as torchvision.models.mobilenet_v2 builds it (3,504,872",
            "parameters). MobileNetV2 is the MobileNet of torchvision's classification zoo,",
            "which the other image networks here come from, and the depthwise-separable",
            "network most used for training; the paper's Table 4 lists 13M parameters,",
            "which matches no MobileNet (V1 4.2M, V2 3.5M, V3-Large 5.5M).",
        ),
        layers=tuple(layers),
    )


def mobilenet_v3_large_features(
    in_hw: tuple[int, int], prefix: str = ""
) -> tuple[list[Conv2d], dict[int, Conv2d]]:
    """The convolutions of MobileNetV3-Large's ``features`` (stem, 15 bnecks, last 1x1 conv).

    Returns the layers in order and, for each torchvision ``features`` index, the
    layer whose output that module returns (the FPN taps indices 13 and 16).
    Squeeze-and-excite layers are 1x1 convolutions on a pooled 1x1 map, as torchvision
    writes them.
    """
    stem = conv(f"{prefix}stem", 3, V3_STEM_CHANNELS, in_hw, 3, 2, computes_dx=False)
    layers = [stem]
    outputs = {0: stem}
    hw = stem.out_hw
    for index, bneck in enumerate(V3_LARGE_BNECKS, start=1):
        in_channels, kernel, expanded, out_channels, squeeze_excite, stride = bneck
        name = f"{prefix}bneck{index}"
        if expanded != in_channels:
            layers.append(conv(f"{name}_expand", in_channels, expanded, hw, 1))
        depthwise = conv(f"{name}_dw", expanded, expanded, hw, kernel, stride, groups=expanded)
        layers.append(depthwise)
        hw = depthwise.out_hw
        if squeeze_excite:
            squeezed = make_divisible(expanded // 4)
            layers.append(conv(f"{name}_se_fc1", expanded, squeezed, (1, 1), 1))
            layers.append(conv(f"{name}_se_fc2", squeezed, expanded, (1, 1), 1))
        project = conv(f"{name}_project", expanded, out_channels, hw, 1)
        layers.append(project)
        outputs[index] = project
    last = conv(f"{prefix}last", V3_LARGE_BNECKS[-1][3], V3_LAST_CHANNELS, hw, 1)
    layers.append(last)
    outputs[len(V3_LARGE_BNECKS) + 1] = last
    return layers, outputs
