"""Write the tiny PyTorch models of this folder as ONNX files (needs torch; the tests do not).

    python tests/importer/data/export_tiny.py

``tiny_cnn.onnx``: strided, dilated, depthwise and 1-D convolutions and a
linear layer; ``tiny_transformer.onnx``: a pre-norm transformer block with
3-D activations (attention and an MLP). Both are exported by
``torch.onnx.export`` with a dynamic batch axis; the records of where in the
exporting program each node came from (stack traces, FX nodes) are removed,
the module names kept.
"""

from __future__ import annotations

import pathlib
import tempfile

import onnx
import torch
import torch.nn.functional as F
from torch import nn

HERE = pathlib.Path(__file__).resolve().parent
KEPT_METADATA = ("pkg.torch.onnx.name_scopes",)


class TinyCNN(nn.Module):
    """3x12x12 images: a strided stem, dilated, depthwise and 1-D convs, a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.dilated = nn.Conv2d(4, 4, 3, padding=2, dilation=2)
        self.depthwise = nn.Conv2d(4, 8, 3, padding=1, groups=4)
        self.temporal = nn.Conv1d(8, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(x))
        x = F.relu(self.depthwise(self.dilated(x)))
        x = self.temporal(x.flatten(2))
        return self.head(x.mean(2))


class TinyTransformer(nn.Module):
    """Sequences of 5 tokens of width 8: attention with 2 heads, then an MLP."""

    def __init__(self, width: int = 8, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 2 * width)
        self.fc2 = nn.Linear(2 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = torch.softmax(q @ k.transpose(2, 3) / (d // self.heads) ** 0.5, dim=-1)
        x = x + self.proj((scores @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


def export(model: nn.Module, example: torch.Tensor, path: pathlib.Path) -> None:
    """Export with a dynamic batch, then drop the metadata that names the exporting program."""
    batch = torch.export.Dim("batch")
    with tempfile.TemporaryDirectory() as folder:
        first = pathlib.Path(folder) / path.name  # the exporter may put weights beside it
        torch.onnx.export(model.eval(), (example,), str(first), dynamic_shapes=({0: batch},))
        exported = onnx.load(str(first))
    for node in exported.graph.node:
        kept = [p for p in node.metadata_props if p.key in KEPT_METADATA]
        del node.metadata_props[:]
        node.metadata_props.extend(kept)
    del exported.metadata_props[:]
    onnx.save(exported, str(path))


if __name__ == "__main__":
    torch.manual_seed(0)
    export(TinyCNN(), torch.randn(2, 3, 12, 12), HERE / "tiny_cnn.onnx")
    export(TinyTransformer(), torch.randn(2, 5, 8), HERE / "tiny_transformer.onnx")
