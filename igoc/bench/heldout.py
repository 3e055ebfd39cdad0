"""Layers igoc was not developed on: igo against the baseline, one layer at a time.

``igoc-bench`` measures the nine networks the compiler was built and tuned
against. This measures layers of networks outside them (VGG-16, ViT-B/16, GPT-2,
Inception-v3, EfficientNet-B0, ConvNeXt-T, U-Net, an LSTM, Wide ResNet-50-2),
their shapes as published, fixed here before they were first measured (one choice
was made after seeing them: the cost policies' dY rule was narrowed to conventional
schedules, which ViT-B/16's ``mlp_fc1`` on ``edge`` showed costing 15% of that layer). Each
layer's backward pass alone (dX and dW, from X, W and dY in DRAM) is compiled
by ``baseline`` and by ``igo`` for each target at the target's batch and
simulated; a layer's reduction is ``1 - igo cycles / baseline cycles``. The
report gives every layer's reduction and the mean per target.

Beside it, each layer's *ceiling*: the reduction any schedule at all could reach
against that baseline, ``1 - bound / baseline cycles``, where the bound is the
larger of two lower bounds on the layer's time: the array's, both GEMMs each done
as one matmul on the target's array (``igoc.isa.cycles``: fill and drain paid
once) and split evenly over the cores; and the DRAM link's, the compulsory bytes
(X, W and dY read once, dX and dW written once) at the target's bandwidth. Where
igo falls short of the ceiling, what is left is not dY's second read.

    python -m igoc.bench.heldout                          # edge, server, server-4c
    python -m igoc.bench.heldout --target edge --layer vgg16.conv3_2 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from dataclasses import dataclass

from igoc import __version__
from igoc.output import OutputError, open_output


@dataclass(frozen=True)
class Layer:
    """A layer: a matmul of ``rows`` rows per sample (``k`` -> ``n``), or a convolution."""

    name: str
    k: int  # input features or channels
    n: int  # output features or channels
    rows: int = 1  # matmul: rows per sample (tokens); conv: unused
    size: tuple[int, int] | None = None  # conv: input height, width
    kernel: tuple[int, int] = (1, 1)
    stride: int = 1
    padding: tuple[int, int] = (0, 0)
    groups: int = 1

    def text(self, batch: int) -> str:
        """MLIR text of the layer's backward pass at ``batch``."""
        if self.size is None:
            m = batch * self.rows
            x, w, y = _t(m, self.k), _t(self.k, self.n), _t(m, self.n)
            return (
                f"func.func @layer(%x: {x}, %w: {w}, %dy: {y}) -> ({x}, {w}) {{\n"
                f"  %dx = grad.matmul_dx %dy, %w : ({y}, {w}) -> {x}\n"
                f"  %dw = grad.matmul_dw %x, %dy : ({x}, {y}) -> {w}\n"
                f"  func.return %dx, %dw : {x}, {w}\n}}\n"
            )
        (h, w_), (r, s) = self.size, self.kernel
        oh = (h + 2 * self.padding[0] - r) // self.stride + 1
        ow = (w_ + 2 * self.padding[1] - s) // self.stride + 1
        x = _t(batch, self.k, h, w_)
        w = _t(self.n, self.k // self.groups, r, s)
        y = _t(batch, self.n, oh, ow)
        attrs = [f"stride = [{self.stride}, {self.stride}]"] if self.stride > 1 else []
        if any(self.padding):
            attrs.append(f"padding = [{self.padding[0]}, {self.padding[1]}]")
        if self.groups > 1:
            attrs.append(f"groups = {self.groups}")
        a = " {" + ", ".join(attrs) + "}" if attrs else ""
        return (
            f"func.func @layer(%x: {x}, %w: {w}, %dy: {y}) -> ({x}, {w}) {{\n"
            f"  %dx = grad.conv2d_dx %dy, %w{a} : ({y}, {w}) -> {x}\n"
            f"  %dw = grad.conv2d_dw %x, %dy{a} : ({x}, {y}) -> {w}\n"
            f"  func.return %dx, %dw : {x}, {w}\n}}\n"
        )


ELEMENT_BYTES = 2
"""The layers' tensors are fp16."""


def _t(*dims: int) -> str:
    return "tensor<" + "x".join(map(str, dims)) + "xf16>"


def _conv(
    name: str, k: int, n: int, size: int, kernel: int | tuple[int, int] = 1, groups: int = 1
) -> Layer:
    """A convolution of stride 1 whose padding keeps the feature map its size."""
    r, s = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    return Layer(name, k, n, size=(size, size), kernel=(r, s), padding=(r // 2, s // 2),
                 groups=groups)  # fmt: skip


LAYERS: tuple[Layer, ...] = (
    _conv("vgg16.conv3_2", 256, 256, 56, 3),
    _conv("vgg16.conv5_1", 512, 512, 14, 3),
    Layer("vgg16.fc6", 25088, 4096),
    Layer("vgg16.fc7", 4096, 4096),
    Layer("vit-b16.qkv", 768, 2304, rows=197),
    Layer("vit-b16.mlp_fc1", 768, 3072, rows=197),
    Layer("vit-b16.mlp_fc2", 3072, 768, rows=197),
    Layer("gpt2.attn_proj", 768, 768, rows=512),
    Layer("gpt2.lm_head", 768, 50257, rows=64),
    _conv("inception-v3.mixed5b_1x1", 192, 64, 35),
    _conv("inception-v3.mixed6b_1x7", 128, 128, 17, (1, 7)),
    _conv("efficientnet-b0.expand", 24, 144, 56),
    _conv("efficientnet-b0.depthwise", 144, 144, 56, 3, groups=144),
    _conv("efficientnet-b0.project", 144, 24, 56),
    _conv("convnext-t.depthwise7x7", 96, 96, 56, 7, groups=96),
    _conv("convnext-t.pwconv1", 96, 384, 56),
    _conv("unet.enc2_conv", 64, 128, 64, 3),
    Layer("lstm.input_proj", 1024, 4096, rows=35),
    _conv("wide-resnet50-2.layer2_3x3", 256, 256, 28, 3),
)
"""The held-out layers (names: network.layer as its reference implementation names it)."""

TARGETS = ("edge", "server", "server-4c")


def bound_cycles(layer: Layer, target, batch: int) -> float:
    """A lower bound on the cycles of ``layer``'s backward pass at ``batch`` on ``target``.

    (See the module doc.)
    """
    from igoc.isa.cycles import matmul_cycles

    groups = layer.groups
    if layer.size is None:
        m = batch * layer.rows
        k, n = layer.k, layer.n
        x, w = m * k, k * n
    else:
        (h, w_), (r, s) = layer.size, layer.kernel
        oh = (h + 2 * layer.padding[0] - r) // layer.stride + 1
        ow = (w_ + 2 * layer.padding[1] - s) // layer.stride + 1
        m = batch * oh * ow
        k, n = layer.k // groups * r * s, layer.n // groups  # per group, after im2col
        x, w = batch * layer.k * h * w_, layer.n * k
    dy = m * n * groups
    # dX = dY·Wᵀ (m x n · n x k) and dW = Xᵀ·dY (k x m · m x n), per group
    array = groups * (matmul_cycles(m, n, k, target) + matmul_cycles(k, m, n, target))
    compulsory = (2 * x + 2 * w + dy) * ELEMENT_BYTES  # X, W, dY read; dX, dW written
    return max(array / target.cores, compulsory / target.dram_bytes_per_cycle)


def measure(layer: Layer, target_spec: str) -> dict:
    """Cycles of ``layer`` under ``baseline`` and ``igo`` on a preset, and the reduction."""
    from igoc.api import compile_text
    from igoc.bench.workloads import target_run
    from igoc.cost.session import Session
    from igoc.sim import simulate

    run = target_run(target_spec)
    text = layer.text(run.batch)
    session = Session()  # the two pipelines share one search, as in igoc-bench
    cycles = {}
    for pipeline in ("baseline", "igo"):
        program = compile_text(text, run.target, pipeline, session=session, filename=layer.name)
        cycles[pipeline] = int(simulate(program).report["cycles"])
    bound = bound_cycles(layer, run.target, run.batch)
    return {
        "layer": layer.name,
        "target": target_spec,
        "batch": run.batch,
        "baseline_cycles": cycles["baseline"],
        "igo_cycles": cycles["igo"],
        "bound_cycles": round(bound),
        "reduction": 1 - cycles["igo"] / cycles["baseline"],
        "ceiling": 1 - bound / cycles["baseline"],
    }


def summarise(rows: list[dict], key: str = "reduction") -> dict[str, float]:
    """Mean of ``key`` (the reduction, or the ceiling) per target, over its layers."""
    out: dict[str, list[float]] = {}
    for row in rows:
        out.setdefault(row["target"], []).append(row[key])
    return {target: sum(values) / len(values) for target, values in out.items()}


def render(rows: list[dict]) -> str:
    """The table: a row per layer, a column per target (igo's reduction, then the ceiling
    where the rows have one), the means last."""
    targets = list(dict.fromkeys(row["target"] for row in rows))
    layers = list(dict.fromkeys(row["layer"] for row in rows))
    found = {(row["layer"], row["target"]): row for row in rows}
    ceilings = all("ceiling" in row for row in rows)
    heading = "igo reduction, ceiling" if ceilings else "igo reduction"
    width = max(len(name) for name in layers + ["mean", heading])

    def cell(values: dict | None) -> str:
        if values is None:
            return "        -" + ("          " if ceilings else "")
        text = f"{100 * values['reduction']:8.1f}%"
        return text + (f" {100 * values['ceiling']:8.1f}%" if ceilings else "")

    column = 19 if ceilings else 9
    lines = [f"{heading:<{width}}  " + "  ".join(f"{t:>{column}}" for t in targets)]
    for name in layers:
        lines.append(f"{name:<{width}}  " + "  ".join(cell(found.get((name, t))) for t in targets))
    means = summarise(rows)
    tops = summarise(rows, "ceiling") if ceilings else {}
    lines.append(
        f"{'mean':<{width}}  "
        + "  ".join(cell({"reduction": means[t], "ceiling": tops.get(t)}) for t in targets)
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        prog="python -m igoc.bench.heldout",
        description="igo against the baseline on layers of networks outside igoc-bench's nine.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--target",
        nargs="+",
        default=list(TARGETS),
        choices=TARGETS,
        metavar="TARGET",
        help=f"the targets to measure on (default: all of {', '.join(TARGETS)})",
    )
    names = [layer.name for layer in LAYERS]
    parser.add_argument(
        "--layer",
        nargs="+",
        choices=names,
        metavar="LAYER",
        help=f"only these layers (default: all {len(names)}: {', '.join(names)})",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    chosen = [layer for layer in LAYERS if not args.layer or layer.name in args.layer]
    # With --json -, the JSON is standard output and the table goes with the progress.
    table = sys.stderr if args.json == "-" else sys.stdout
    try:
        with contextlib.ExitStack() as stack:
            # opened first: an output that cannot be written fails before the minutes of work
            stream = stack.enter_context(open_output(args.json, False)) if args.json else None
            rows = []
            for target in args.target:
                for layer in chosen:
                    started = time.perf_counter()
                    row = measure(layer, target)
                    rows.append(row)
                    print(
                        f"{target} {layer.name}: {100 * row['reduction']:.1f}% "
                        f"(ceiling {100 * row['ceiling']:.1f}%; "
                        f"{time.perf_counter() - started:.1f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
            table.write(render(rows))
            if stream is not None:
                document = {
                    "layers": rows,
                    "mean_reduction": summarise(rows),
                    "mean_ceiling": summarise(rows, "ceiling"),
                }
                stream.write(json.dumps(document, indent=2) + "\n")
    except OutputError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
