"""ResNet-50 as torchvision builds it (``torchvision.models.resnet50``).

Source: K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image
Recognition", CVPR 2016, Table 1 (the 50-layer column), in torchvision's form
("ResNet v1.5"): the stride-2 of a downsampling bottleneck sits on its 3x3
convolution, not on the first 1x1. torchvision publishes 25,557,032 parameters.
"""

from __future__ import annotations

from igoc.zoo.layers import Conv2d, Layer, Linear, Model, conv, pooled

IMAGE_HW = 224  # the ImageNet training crop (RandomResizedCrop(224))

# (stage name, bottleneck width, blocks, stride of the first block): Table 1's conv2_x..conv5_x
STAGES = (
    ("layer1", 64, 3, 1),
    ("layer2", 128, 4, 2),
    ("layer3", 256, 6, 2),
    ("layer4", 512, 3, 2),
)
EXPANSION = 4  # a bottleneck's output has 4x its width
NUM_CLASSES = 1000


def _bottleneck(
    prefix: str, in_channels: int, width: int, hw: tuple[int, int], stride: int
) -> list[Conv2d]:
    """conv1 (1x1), conv2 (3x3, the block's stride), conv3 (1x1), and the downsample shortcut."""
    conv1 = conv(f"{prefix}_conv1", in_channels, width, hw, 1)
    conv2 = conv(f"{prefix}_conv2", width, width, conv1.out_hw, 3, stride)
    conv3 = conv(f"{prefix}_conv3", width, width * EXPANSION, conv2.out_hw, 1)
    layers = [conv1, conv2, conv3]
    if stride != 1 or in_channels != width * EXPANSION:
        layers.append(
            conv(f"{prefix}_downsample", in_channels, width * EXPANSION, hw, 1, stride, padding=0)
        )
    return layers


def resnet50() -> Model:
    """ResNet-50 on 224x224 images: 53 convolutions and the classifier."""
    stem = conv("conv1", 3, 64, (IMAGE_HW, IMAGE_HW), 7, 2, padding=3, computes_dx=False)
    layers: list[Layer] = [stem]
    hw = pooled(stem.out_hw, 3, 2, padding=1)  # maxpool 3x3/2
    channels = 64
    for stage, width, blocks, first_stride in STAGES:
        for block in range(blocks):
            stride = first_stride if block == 0 else 1
            convs = _bottleneck(f"{stage}_{block}", channels, width, hw, stride)
            layers += convs
            hw, channels = convs[2].out_hw, convs[2].out_channels
    layers.append(Linear("fc", channels, NUM_CLASSES))  # after global average pooling
    return Model(
        name="resnet50",
        title="ResNet-50",
        input_desc=f"{IMAGE_HW}x{IMAGE_HW} RGB images, the ImageNet training crop",
        source=(
            "K. He et al., Deep Residual Learning for Image Recognition, CVPR 2016, Table 1;",
            "as torchvision.models.resnet50 builds it (stride 2 on the 3x3 conv, 'v1.5').",
            "The paper's Table 4 lists 25M parameters; torchvision publishes 25,557,032.",
        ),
        layers=tuple(layers),
    )
