"""PyTorch models exported to ONNX, imported, compiled and checked: igoc-import on real exports.

    pip install torch onnx && python -m igoc.bench.torch_exports [--target edge] [--batch 2]

Defines small networks of every kind the importer reads - a ResNet (strided
and 1x1 downsampling convolutions), a MobileNet (depthwise convolutions, one
with a channel multiplier, an even kernel with ``padding="same"`` and an
explicit asymmetric pad, both asymmetric in ONNX), a dilated network (ASPP
style, a rectangular kernel and stride), a 1-D audio network (strided,
dilated, depthwise), a GPT (embedding, causal attention, MLP, head), a
``nn.TransformerEncoderLayer`` and an MLP - exports each with
``torch.onnx.export`` (the default exporter, and the TorchScript one with
``--torchscript``) with a dynamic batch, and runs ``igoc-import``, ``igoc``
and ``igoc-sim --check`` on it, in a temporary folder. Prints one line per
model; exits 1 if any step fails. torch is not a dependency of igoc: this
script is for checking the importer by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
import warnings
from pathlib import Path


def _models():  # noqa: C901 - the model definitions, written where torch is imported
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Basic(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            return F.relu(y + (x if self.down is None else self.down(x)))

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 7, 2, 3, bias=False)
            self.bn = nn.BatchNorm2d(16)
            self.pool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = nn.Sequential(Basic(16, 16, 1), Basic(16, 16, 1))
            self.layer2 = nn.Sequential(Basic(16, 32, 2), Basic(32, 32, 1))
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            x = self.layer2(self.layer1(self.pool(F.relu(self.bn(self.stem(x))))))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    class InvertedResidual(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, expand: int = 4) -> None:
            super().__init__()
            hidden = cin * expand
            self.expand = nn.Conv2d(cin, hidden, 1, bias=False)
            self.dw = nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False)
            self.project = nn.Conv2d(hidden, cout, 1, bias=False)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            y = self.project(F.relu6(self.dw(F.relu6(self.expand(x)))))
            return x + y if self.residual else y

    class MobileNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, 2, 1)
            self.blocks = nn.Sequential(
                InvertedResidual(8, 8, 1), InvertedResidual(8, 16, 2), InvertedResidual(16, 16, 1)
            )
            self.multiplier = nn.Conv2d(16, 32, 3, 1, 1, groups=16)
            self.same = nn.Conv2d(32, 16, 4, padding="same")
            self.tf_style = nn.Conv2d(16, 16, 3, stride=2)
            self.head = nn.Linear(16, 5)

        def forward(self, x):
            x = self.same(self.multiplier(self.blocks(F.relu(self.stem(x)))))
            x = self.tf_style(F.pad(x, (0, 1, 0, 1)))
            return self.head(x.mean((2, 3)))

    class Dilated(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1 = nn.Conv2d(3, 16, 3, 1, 1)
            self.d2 = nn.Conv2d(16, 16, 3, 1, 2, dilation=2)
            self.d4 = nn.Conv2d(16, 16, 3, 1, 4, dilation=4)
            self.aspp = nn.Conv2d(32, 8, 1)
            self.rect = nn.Conv2d(8, 8, (3, 5), stride=(2, 1), padding=(1, 2))

        def forward(self, x):
            x = F.relu(self.c1(x))
            return self.rect(self.aspp(torch.cat([self.d2(x), self.d4(x)], 1)))

    class Audio(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1 = nn.Conv1d(1, 16, 9, stride=4, padding=4)
            self.c2 = nn.Conv1d(16, 32, 5, stride=2, padding=2)
            self.c3 = nn.Conv1d(32, 32, 3, dilation=2, padding=2, groups=32)
            self.fc = nn.Linear(32, 4)

        def forward(self, x):
            x = self.c3(F.gelu(self.c2(F.gelu(self.c1(x)))))
            return self.fc(x.transpose(1, 2))

    class Block(nn.Module):
        def __init__(self, width: int = 64, heads: int = 4) -> None:
            super().__init__()
            self.heads = heads
            self.ln1 = nn.LayerNorm(width)
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)
            self.ln2 = nn.LayerNorm(width)
            self.fc = nn.Linear(width, 4 * width)
            self.out = nn.Linear(4 * width, width)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, 2)
            q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(100, 64)
            self.blocks = nn.Sequential(Block(), Block())
            self.head = nn.Linear(64, 100, bias=False)

        def forward(self, ids):
            return self.head(self.blocks(self.embedding(ids)))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True)

        def forward(self, x):
            return self.layer(x)

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8)
            )

        def forward(self, x):
            return self.net(x)

    return {
        "resnet": (ResNet, torch.randn(2, 3, 64, 64)),
        "mobilenet": (MobileNet, torch.randn(2, 3, 32, 32)),
        "dilated": (Dilated, torch.randn(2, 3, 24, 24)),
        "audio": (Audio, torch.randn(2, 1, 256)),
        "gpt": (GPT, torch.randint(0, 100, (2, 16))),
        "encoder": (Encoder, torch.randn(2, 16, 64)),
        "mlp": (MLP, torch.randn(2, 32)),
    }


def _export(model, example, path: Path, torchscript: bool) -> None:
    import torch

    torch.manual_seed(0)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        if torchscript:
            axes = {"x": {0: "batch"}}
            torch.onnx.export(
                model, (example,), str(path), dynamo=False, input_names=["x"], dynamic_axes=axes
            )
        else:
            batch = torch.export.Dim("batch")
            torch.onnx.export(model, (example,), str(path), dynamic_shapes=({0: batch},))


def main(argv: list[str] | None = None) -> int:
    """Export, import, compile and check every model; return 1 if any step failed."""
    parser = argparse.ArgumentParser(allow_abbrev=False, prog="python -m igoc.bench.torch_exports")
    parser.add_argument("--target", default="edge", help="target to compile for (default edge)")
    parser.add_argument("--batch", type=int, default=2, help="the batch to import at")
    parser.add_argument("--pipeline", default="igo", help="pipeline (default igo)")
    parser.add_argument(
        "--torchscript", action="store_true", help="also export with the TorchScript exporter"
    )
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("error: this check needs torch (pip install torch)", file=sys.stderr)
        return 1
    import logging

    logging.getLogger("torch").setLevel(logging.ERROR)
    from igoc.api import compile_text
    from igoc.importer import ModelImportError, import_model
    from igoc.sim import simulate
    from igoc.sim.compare import check_outputs, generate_inputs

    print(
        f"torch {torch.__version__}; target {args.target}, pipeline {args.pipeline}, "
        f"batch {args.batch}"
    )
    failures = 0
    exporters = ["dynamo", "torchscript"] if args.torchscript else ["dynamo"]
    with tempfile.TemporaryDirectory() as folder:
        for name, (cls, example) in _models().items():
            for exporter in exporters:
                torch.manual_seed(0)
                path = Path(folder) / f"{name}-{exporter}.onnx"
                row = f"{name:<10} {exporter:<12}"
                try:
                    _export(cls().eval(), example, path, exporter == "torchscript")
                    imported = import_model(path, batch=args.batch)
                    start = time.perf_counter()
                    program = compile_text(imported.text(), args.target, args.pipeline)
                    seconds = time.perf_counter() - start
                    inputs = generate_inputs(program, seed=0)
                    result = simulate(program, functional=True, inputs=inputs)
                    check = check_outputs(program, inputs, result.tensors)
                except ModelImportError as err:
                    print(f"{row} import failed: {err}")
                    failures += 1
                    continue
                except Exception as err:  # noqa: BLE001 - reported per model, the rest go on
                    print(f"{row} failed: {type(err).__name__}: {err}")
                    failures += 1
                    continue
                verdict = "passed" if check["passed"] else "FAILED"
                failures += not check["passed"]
                print(
                    f"{row} {len(imported.layers):>3} layers ({imported.counts()}), "
                    f"{len(imported.skipped)} skipped; compiled in {seconds:.1f} s, "
                    f"{result.report['cycles']:,} cycles; check {verdict}"
                )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
