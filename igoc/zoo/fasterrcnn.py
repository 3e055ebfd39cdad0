"""Faster R-CNN with a MobileNetV3-Large FPN backbone, as torchvision trains it on COCO.

Source: S. Ren et al., "Faster R-CNN: Towards Real-Time Object Detection with
Region Proposal Networks", NeurIPS 2015, in the form of
``torchvision.models.detection.fasterrcnn_mobilenet_v3_large_fpn`` (19,386,354
parameters, the 19M of the paper's Table 4): the MobileNetV3-Large feature
extractor, an FPN on its last two stages (both at stride 32) plus a max-pooled
level, the RPN head on the three levels, and the two-layer box head with its
predictor on 512 sampled regions per image.
"""

from __future__ import annotations

from igoc.zoo.layers import Layer, Linear, Model, conv, pooled
from igoc.zoo.mobilenet import mobilenet_v3_large_features

# GeneralizedRCNNTransform: the short side is resized to 800 (long side at most 1333), and the
# batch is padded to a multiple of 32; a 640x480 COCO image becomes 800x1067, padded 800x1088.
IMAGE_HW = (800, 1088)
FPN_TAPS = (13, 16)  # torchvision features indices the FPN reads (stage_indices[-2:])
FPN_CHANNELS = 256
ANCHORS_PER_LOCATION = 15  # 5 sizes x 3 aspect ratios on every level
ROIS_PER_IMAGE = 512  # box_batch_size_per_image: regions sampled for the box head in training
ROI_POOL_HW = 7  # MultiScaleRoIAlign output size
BOX_HEAD_FEATURES = 1024  # TwoMLPHead representation size
NUM_CLASSES = 91  # COCO categories with background, as torchvision numbers them


def fasterrcnn() -> Model:
    """Faster R-CNN MobileNetV3-Large FPN on 800x1088 images."""
    backbone, taps = mobilenet_v3_large_features(IMAGE_HW, prefix="backbone_")
    layers: list[Layer] = list(backbone)
    levels = []
    for level, index in enumerate(FPN_TAPS):
        tap = taps[index]
        inner = conv(f"fpn_inner{level}", tap.out_channels, FPN_CHANNELS, tap.out_hw, 1)
        layers.append(inner)
        levels.append((str(level), inner.out_hw))
    for level, index in enumerate(FPN_TAPS):
        layers.append(conv(f"fpn_layer{level}", FPN_CHANNELS, FPN_CHANNELS, taps[index].out_hw, 3))
    levels.append(("pool", pooled(levels[-1][1], 1, 2)))  # LastLevelMaxPool: 1x1 max pool, /2
    for level, hw in levels:  # the RPN head's weights are shared; each level is its own GEMM
        layers += [
            conv(f"rpn_conv_p{level}", FPN_CHANNELS, FPN_CHANNELS, hw, 3),
            conv(f"rpn_cls_p{level}", FPN_CHANNELS, ANCHORS_PER_LOCATION, hw, 1),
            conv(f"rpn_bbox_p{level}", FPN_CHANNELS, 4 * ANCHORS_PER_LOCATION, hw, 1),
        ]
    roi_features = FPN_CHANNELS * ROI_POOL_HW * ROI_POOL_HW
    layers += [
        Linear("box_fc6", roi_features, BOX_HEAD_FEATURES, ROIS_PER_IMAGE),
        Linear("box_fc7", BOX_HEAD_FEATURES, BOX_HEAD_FEATURES, ROIS_PER_IMAGE),
        Linear("box_cls", BOX_HEAD_FEATURES, NUM_CLASSES, ROIS_PER_IMAGE),
        Linear("box_bbox", BOX_HEAD_FEATURES, 4 * NUM_CLASSES, ROIS_PER_IMAGE),
    ]
    height, width = IMAGE_HW
    return Model(
        name="fasterrcnn",
        title="Faster R-CNN (MobileNetV3-Large FPN)",
        input_desc=(
            f"{height}x{width} RGB images: torchvision resizes the short side to 800 and pads"
            " to a multiple of 32, so a 640x480 COCO image trains at this size"
        ),
        source=(
            "S. Ren et al., Faster R-CNN, NeurIPS 2015, as torchvision.models.detection.",
            "fasterrcnn_mobilenet_v3_large_fpn builds it (19,386,354 parameters, the 19M of",
            "the paper's Table 4); backbone: A. Howard et al., Searching for MobileNetV3,",
            "ICCV 2019, Table 1. Every layer is listed as trainable (torchvision freezes the",
            "first backbone stages when it starts from ImageNet weights).",
        ),
        layers=tuple(layers),
        notes=(
            "Region proposal, RoIAlign and the losses are not modelled. The RPN head runs on",
            "three levels with shared weights: one function per level. The box head runs on",
            f"{ROIS_PER_IMAGE} sampled regions per image (M = batch x {ROIS_PER_IMAGE}).",
        ),
    )
