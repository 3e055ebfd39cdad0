"""YOLO: YOLOv2-tiny for the edge NPU, YOLOv5l for the server NPU.

YOLOv2-tiny source: J. Redmon, A. Farhadi, "YOLO9000: Better, Faster,
Stronger", CVPR 2017, as Darknet's ``cfg/yolov2-tiny.cfg`` (COCO) defines it.
YOLOv5l source: Ultralytics YOLOv5 (v6.0 and later) ``models/yolov5l.yaml``
with the modules of ``models/common.py``; Ultralytics lists 46.5M parameters.
Both tables are written in their source's own form and expanded here.
"""

from __future__ import annotations

from igoc.zoo.layers import Conv2d, Layer, Model, conv

# ---- YOLOv2-tiny -------------------------------------------------------------------------------
V2_TINY_IMAGE_HW = 416  # the cfg's width and height
# cfg/yolov2-tiny.cfg in order: ("conv", filters, size) or ("maxpool", size, stride)
V2_TINY_CFG = (
    ("conv", 16, 3),
    ("maxpool", 2, 2),
    ("conv", 32, 3),
    ("maxpool", 2, 2),
    ("conv", 64, 3),
    ("maxpool", 2, 2),
    ("conv", 128, 3),
    ("maxpool", 2, 2),
    ("conv", 256, 3),
    ("maxpool", 2, 2),
    ("conv", 512, 3),
    ("maxpool", 2, 1),
    ("conv", 1024, 3),
    ("conv", 512, 3),
    ("conv", 425, 1),  # 5 anchors x (80 classes + 5)
)


def _darknet_maxpool_size(size: int, kernel: int, stride: int) -> int:
    """Darknet's max pool output length (its padding defaults to kernel - 1)."""
    return (size + kernel - 1 - kernel) // stride + 1


def yolov2_tiny() -> Model:
    """YOLOv2-tiny (COCO) on 416x416 images: 9 convolutions."""
    layers: list[Layer] = []
    channels, size = 3, V2_TINY_IMAGE_HW
    for entry in V2_TINY_CFG:
        if entry[0] == "maxpool":
            size = _darknet_maxpool_size(size, entry[1], entry[2])
            continue
        _, filters, kernel = entry
        layer = conv(
            f"conv{len(layers) + 1}",
            channels,
            filters,
            (size, size),
            kernel,
            computes_dx=bool(layers),
        )
        layers.append(layer)
        channels, size = filters, layer.out_hw[0]
    return Model(
        name="yolov2-tiny",
        title="YOLOv2-tiny",
        input_desc=f"{V2_TINY_IMAGE_HW}x{V2_TINY_IMAGE_HW} RGB images, the cfg's training size",
        source=(
            "J. Redmon, A. Farhadi, YOLO9000: Better, Faster, Stronger, CVPR 2017, as",
            "Darknet's cfg/yolov2-tiny.cfg (COCO, 80 classes) defines it: 11.2M weights,",
            "the 11M of the paper's Table 4.",
        ),
        layers=tuple(layers),
    )


# ---- YOLOv5l -----------------------------------------------------------------------------------
V5_IMAGE_HW = 640  # train.py --img 640
V5_CLASSES = 80
V5_ANCHORS_PER_LEVEL = 3
# models/yolov5l.yaml (depth and width multiples 1.0): (from, repeats, module, args)
V5L_BACKBONE = (
    (-1, 1, "Conv", (64, 6, 2, 2)),  # 0-P1/2
    (-1, 1, "Conv", (128, 3, 2)),  # 1-P2/4
    (-1, 3, "C3", (128,)),
    (-1, 1, "Conv", (256, 3, 2)),  # 3-P3/8
    (-1, 6, "C3", (256,)),
    (-1, 1, "Conv", (512, 3, 2)),  # 5-P4/16
    (-1, 9, "C3", (512,)),
    (-1, 1, "Conv", (1024, 3, 2)),  # 7-P5/32
    (-1, 3, "C3", (1024,)),
    (-1, 1, "SPPF", (1024, 5)),  # 9
)
V5L_HEAD = (
    (-1, 1, "Conv", (512, 1, 1)),
    (-1, 1, "Upsample", (2,)),
    ((-1, 6), 1, "Concat", ()),  # cat backbone P4
    (-1, 3, "C3", (512, False)),  # 13
    (-1, 1, "Conv", (256, 1, 1)),
    (-1, 1, "Upsample", (2,)),
    ((-1, 4), 1, "Concat", ()),  # cat backbone P3
    (-1, 3, "C3", (256, False)),  # 17 (P3/8-small)
    (-1, 1, "Conv", (256, 3, 2)),
    ((-1, 14), 1, "Concat", ()),  # cat head P4
    (-1, 3, "C3", (512, False)),  # 20 (P4/16-medium)
    (-1, 1, "Conv", (512, 3, 2)),
    ((-1, 10), 1, "Concat", ()),  # cat head P5
    (-1, 3, "C3", (1024, False)),  # 23 (P5/32-large)
    ((17, 20, 23), 1, "Detect", ()),  # Detect(P3, P4, P5)
)

Feature = tuple[int, tuple[int, int]]  # (channels, (height, width)) of a module's output


def _c3(name: str, feature: Feature, out_channels: int, repeats: int) -> list[Conv2d]:
    """C3: cv1 -> repeats x Bottleneck(1x1, 3x3) ; cv2 ; cv3 on the concatenation."""
    in_channels, hw = feature
    hidden = out_channels // 2
    layers = [conv(f"{name}_cv1", in_channels, hidden, hw, 1)]
    for index in range(repeats):
        layers.append(conv(f"{name}_m{index}_cv1", hidden, hidden, hw, 1))
        layers.append(conv(f"{name}_m{index}_cv2", hidden, hidden, hw, 3))
    layers.append(conv(f"{name}_cv2", in_channels, hidden, hw, 1))
    layers.append(conv(f"{name}_cv3", 2 * hidden, out_channels, hw, 1))
    return layers


def _v5_module(
    name: str, module: str, repeats: int, args: tuple, inputs: list[Feature], first: bool
) -> tuple[list[Conv2d], Feature]:
    """Expand one line of the yaml into its convolutions and its output feature."""
    channels, hw = inputs[0]
    if module == "Conv":
        out_channels, kernel, stride = args[0], args[1], args[2]
        padding = args[3] if len(args) > 3 else None
        layer = conv(
            name, channels, out_channels, hw, kernel, stride, padding, computes_dx=not first
        )
        return [layer], (out_channels, layer.out_hw)
    if module == "C3":
        return _c3(name, inputs[0], args[0], repeats), (args[0], hw)
    if module == "SPPF":
        hidden = channels // 2  # three 5x5/1 max pools keep the size; four maps are concatenated
        layers = [
            conv(f"{name}_cv1", channels, hidden, hw, 1),
            conv(f"{name}_cv2", 4 * hidden, args[0], hw, 1),
        ]
        return layers, (args[0], hw)
    if module == "Upsample":
        return [], (channels, (hw[0] * args[0], hw[1] * args[0]))
    if module == "Concat":
        return [], (sum(c for c, _ in inputs), hw)
    if module == "Detect":
        outputs = V5_ANCHORS_PER_LEVEL * (V5_CLASSES + 5)
        layers = [
            conv(f"{name}_p{level}", c, outputs, level_hw, 1)
            for level, (c, level_hw) in zip((3, 4, 5), inputs, strict=True)
        ]
        return layers, (outputs, hw)
    raise ValueError(f"unknown YOLOv5 module {module}")


def yolov5l() -> Model:
    """YOLOv5l on 640x640 images: 104 convolutions."""
    layers: list[Layer] = []
    features: list[Feature] = []
    previous: Feature = (3, (V5_IMAGE_HW, V5_IMAGE_HW))
    for index, (source, repeats, module, args) in enumerate(V5L_BACKBONE + V5L_HEAD):
        sources = source if isinstance(source, tuple) else (source,)
        inputs = [previous if s == -1 else features[s] for s in sources]
        convs, previous = _v5_module(f"model{index}", module, repeats, args, inputs, not layers)
        layers += convs
        features.append(previous)
    return Model(
        name="yolov5",
        title="YOLOv5l",
        input_desc=f"{V5_IMAGE_HW}x{V5_IMAGE_HW} RGB images, YOLOv5's COCO training size",
        source=(
            "Ultralytics YOLOv5 (v6.0 and later), models/yolov5l.yaml and models/common.py;",
            "46.5M parameters as Ultralytics lists them, the 47M of the paper's Table 4.",
        ),
        layers=tuple(layers),
        notes=("Upsampling, concatenation and SPPF's max pools are not modelled either.",),
    )
