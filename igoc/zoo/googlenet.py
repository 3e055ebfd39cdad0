"""GoogLeNet (Inception v1) as published, with the auxiliary classifiers it trains with.

Source: C. Szegedy et al., "Going Deeper with Convolutions", CVPR 2015:
Table 1 for the main network, section 5 for the two auxiliary classifiers.
"""

from __future__ import annotations

from igoc.zoo.layers import Layer, Linear, Model, conv, pooled

IMAGE_HW = 224  # the paper's receptive field, the ImageNet training crop
NUM_CLASSES = 1000

# Table 1: (module, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj), in order.
INCEPTIONS = (
    ("inception3a", 64, 96, 128, 16, 32, 32),
    ("inception3b", 128, 128, 192, 32, 96, 64),
    ("inception4a", 192, 96, 208, 16, 48, 64),
    ("inception4b", 160, 112, 224, 24, 64, 64),
    ("inception4c", 128, 128, 256, 24, 64, 64),
    ("inception4d", 112, 144, 288, 32, 64, 64),
    ("inception4e", 256, 160, 320, 32, 128, 128),
    ("inception5a", 256, 160, 320, 32, 128, 128),
    ("inception5b", 384, 192, 384, 48, 128, 128),
)
MAXPOOL_AFTER = ("inception3b", "inception4e")  # 3x3/2 max pools between the stages
AUX_AFTER = {"inception4a": "aux1", "inception4d": "aux2"}  # the auxiliary classifiers' taps
AUX_CONV_CHANNELS = 128  # section 5: 1x1 conv with 128 filters after a 5x5/3 average pool
AUX_FC_FEATURES = 1024  # section 5: fully connected layer with 1024 units


def googlenet(branch3_kernel: int = 5) -> Model:
    """GoogLeNet on 224x224 images: 57 convolutions, the classifier, and the two auxiliary heads.

    ``branch3_kernel`` is 5 as published; torchvision's ``googlenet`` uses 3 there (a
    known slip it keeps for its pretrained weights), which tests use to compare counts.
    """
    conv1 = conv("conv1", 3, 64, (IMAGE_HW, IMAGE_HW), 7, 2, padding=3, computes_dx=False)
    hw = pooled(conv1.out_hw, 3, 2, ceil_mode=True)
    conv2_reduce = conv("conv2_reduce", 64, 64, hw, 1)
    conv2 = conv("conv2", 64, 192, hw, 3)
    layers: list[Layer] = [conv1, conv2_reduce, conv2]
    hw = pooled(conv2.out_hw, 3, 2, ceil_mode=True)
    channels = 192
    for name, c1, c3_reduce, c3, c5_reduce, c5, pool_proj in INCEPTIONS:
        layers += [
            conv(f"{name}_1x1", channels, c1, hw, 1),
            conv(f"{name}_3x3_reduce", channels, c3_reduce, hw, 1),
            conv(f"{name}_3x3", c3_reduce, c3, hw, 3),
            conv(f"{name}_5x5_reduce", channels, c5_reduce, hw, 1),
            conv(f"{name}_5x5", c5_reduce, c5, hw, branch3_kernel),
            conv(f"{name}_pool_proj", channels, pool_proj, hw, 1),  # after a 3x3/1 max pool
        ]
        channels = c1 + c3 + c5 + pool_proj  # the four branches are concatenated
        if name in AUX_AFTER:
            aux = AUX_AFTER[name]
            aux_hw = pooled(hw, 5, 3)  # 5x5 average pool, stride 3: 14x14 -> 4x4
            layers += [
                conv(f"{aux}_conv", channels, AUX_CONV_CHANNELS, aux_hw, 1),
                Linear(f"{aux}_fc1", AUX_CONV_CHANNELS * aux_hw[0] * aux_hw[1], AUX_FC_FEATURES),
                Linear(f"{aux}_fc2", AUX_FC_FEATURES, NUM_CLASSES),
            ]
        if name in MAXPOOL_AFTER:
            hw = pooled(hw, 3, 2, ceil_mode=True)
    layers.append(Linear("fc", channels, NUM_CLASSES))  # after a 7x7 average pool
    return Model(
        name="googlenet",
        title="GoogLeNet",
        input_desc=f"{IMAGE_HW}x{IMAGE_HW} RGB images, the ImageNet training crop",
        source=(
            "C. Szegedy et al., Going Deeper with Convolutions, CVPR 2015, Table 1 and",
            "section 5 (the two auxiliary classifiers, part of the network during training).",
            "5x5 convolutions as published (torchvision's googlenet has 3x3 there).",
            "The paper's Table 4 lists 62M parameters; GoogLeNet as published has about",
            "6.8M in its main network and 6.4M in the auxiliary heads, and no GoogLeNet",
            "variant has 62M (AlexNet has 61M), so the published network is listed.",
        ),
        layers=tuple(layers),
        notes=("Local response normalisation and dropout are not modelled either.",),
    )
