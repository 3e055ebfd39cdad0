"""The zoo's registry: the paper's nine networks, their edge and server variants, and the batches.

Six networks are the same for both NPUs; YOLO, BERT and T5 have a small
variant for the edge NPU and a large one for the server NPU. Edge variants are
written for batch 4, server variants for batch 8 (one core) and 32 (four cores).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from igoc.zoo.bert import bert_large, bert_tiny
from igoc.zoo.dlrm import dlrm
from igoc.zoo.fasterrcnn import fasterrcnn
from igoc.zoo.googlenet import googlenet
from igoc.zoo.layers import Model
from igoc.zoo.mobilenet import mobilenet_v2
from igoc.zoo.ncf import ncf
from igoc.zoo.resnet import resnet50
from igoc.zoo.t5 import t5_large, t5_small
from igoc.zoo.yolo import yolov2_tiny, yolov5l

EDGE_BATCH = 4  # the edge NPU's batch (paper, Table 3)
SERVER_BATCH = 8  # the server NPU's batch per core
SERVER_4C_BATCH = 32  # the four-core server NPU: 8 per core


@dataclass(frozen=True)
class Network:
    """One of the paper's workloads: its column label and the model each NPU runs."""

    label: str  # the paper's name for it in its figures
    edge: str  # model name for the edge NPU
    server: str  # model name for the server NPUs


NETWORKS = (
    Network("rcnn", "fasterrcnn", "fasterrcnn"),
    Network("goo", "googlenet", "googlenet"),
    Network("ncf", "ncf", "ncf"),
    Network("res", "resnet50", "resnet50"),
    Network("dlrm", "dlrm", "dlrm"),
    Network("mob", "mobilenet", "mobilenet"),
    Network("yolo", "yolov2-tiny", "yolov5"),
    Network("bert", "bert-tiny", "bert-large"),
    Network("T5", "t5-small", "t5-large"),
)

BUILDERS: dict[str, Callable[[], Model]] = {
    "fasterrcnn": fasterrcnn,
    "googlenet": googlenet,
    "ncf": ncf,
    "resnet50": resnet50,
    "dlrm": dlrm,
    "mobilenet": mobilenet_v2,
    "yolov2-tiny": yolov2_tiny,
    "yolov5": yolov5l,
    "bert-tiny": bert_tiny,
    "bert-large": bert_large,
    "t5-small": t5_small,
    "t5-large": t5_large,
}


@functools.cache
def model(name: str) -> Model:
    """The model of that name (see ``BUILDERS``); raises KeyError for an unknown name."""
    return BUILDERS[name]()


def sample_name(model_name: str, batch: int) -> str:
    """The file name of a model at a batch: ``resnet50-b8.mlir``."""
    return f"{model_name}-b{batch}.mlir"


def samples() -> list[tuple[str, int]]:
    """Every (model name, batch) the zoo writes, in a fixed order without repeats."""
    pairs: list[tuple[str, int]] = []
    for network in NETWORKS:
        wanted = [(network.edge, EDGE_BATCH)]
        wanted += [(network.server, SERVER_BATCH), (network.server, SERVER_4C_BATCH)]
        pairs += [pair for pair in wanted if pair not in pairs]
    return pairs
