"""Layers as plain data: what an op computes, on which DRAM tensors, and with which schedule.

``LayerDesc`` is the bridge between the IR and the schedule machinery: built
from a grad op (``describe_op``) or read back from a ``npu.layer`` op, it gives
the layer's GEMMs (``layers()``), its reference ops for checking results, and
it travels through the IR as a dictionary attribute. Schedules travel likewise
(``schedule_attrs`` / ``schedule_from_attrs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from igoc.isa.instructions import ConvGeometry, DType
from igoc.schedule.layer import Access, LayerGemm, conv_layers, matmul_layer
from igoc.schedule.schedule import LayerSchedule, Partition
from igoc.schedule.steps import Tiling

#: grad op name -> (layer kind, computations, roles of its operands, roles of its results)
GRAD_OPS: dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "grad.matmul": ("matmul", ("fwd",), ("X", "W"), ("Y",)),
    "grad.matmul_dx": ("matmul", ("dx",), ("DY", "W"), ("DX",)),
    "grad.matmul_dw": ("matmul", ("dw",), ("X", "DY"), ("DW",)),
    "grad.conv2d": ("conv2d", ("fwd",), ("X", "W"), ("Y",)),
    "grad.conv2d_dx": ("conv2d", ("dx",), ("DY", "W"), ("DX",)),
    "grad.conv2d_dw": ("conv2d", ("dw",), ("X", "DY"), ("DW",)),
    "grad.interleaved": (None, ("dx", "dw"), ("DY", "X", "W"), ("DX", "DW")),
}

#: The reference op (``igoc.reference``) of each computation, and its operand roles.
REFERENCE_OPS = {
    ("matmul", "fwd"): ("matmul", ("X", "W"), "Y"),
    ("matmul", "dx"): ("matmul_dx", ("DY", "W"), "DX"),
    ("matmul", "dw"): ("matmul_dw", ("X", "DY"), "DW"),
    ("conv2d", "fwd"): ("conv2d", ("X", "W"), "Y"),
    ("conv2d", "dx"): ("conv2d_dx", ("DY", "W"), "DX"),
    ("conv2d", "dw"): ("conv2d_dw", ("X", "DY"), "DW"),
}

_DTYPES = {"f16": DType.F16, "bf16": DType.BF16, "f32": DType.F32}


@dataclass(frozen=True)
class ConvAttrs:
    """Stride, padding, dilation and groups of a conv layer."""

    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    def as_dict(self) -> dict:
        """The reference ops' attribute dictionary."""
        return {
            "stride": list(self.stride),
            "padding": list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
        }


_LAYERS: dict[tuple, list[LayerGemm]] = {}


@dataclass(frozen=True)
class LayerDesc:
    """One layer op: its kind, computations, and the DRAM tensor and shape of each role."""

    name: str
    kind: str  # "matmul" or "conv2d"
    computations: tuple[str, ...]
    tensors: dict[str, str] = field(hash=False)  # role -> DRAM tensor name
    shapes: dict[str, tuple[int, ...]] = field(hash=False)  # role -> shape
    dtype: DType = DType.F16
    conv: ConvAttrs = ConvAttrs()
    im2col: str = "on-the-fly"  # or "materialize": X_col and dX_col live in DRAM

    @property
    def materialized(self) -> bool:
        """A conv whose im2col matrices are materialised in DRAM."""
        return self.kind == "conv2d" and self.im2col == "materialize"

    def x_geometry(self) -> ConvGeometry:
        """The im2col view of the layer's input (conv layers)."""
        x = self.shapes.get("X") or self.shapes["DX"]
        w = self.shapes.get("W") or self.shapes["DW"]
        c = self.conv
        return ConvGeometry(
            x[0],
            x[1],
            x[2],
            x[3],
            w[2],
            w[3],
            c.stride[0],
            c.stride[1],
            c.padding[0],
            c.padding[1],
            c.dilation[0],
            c.dilation[1],
        )

    def col_tensors(self) -> dict[str, str]:
        """The DRAM tensors a materialised layer adds: role -> name of X_col / dX_col."""
        if not self.materialized:
            return {}
        return {role: self.tensors[role] + ".col" for role in ("X", "DX") if role in self.tensors}

    def gemm_dims(self) -> tuple[int, int, int, int]:
        """M, N, K and groups of the layer in the GEMM frame."""
        if self.kind == "matmul":
            x = self.shapes.get("X") or self.shapes["DX"]
            w = self.shapes.get("W") or self.shapes["DW"]
            return x[0], w[1], x[1], 1
        x = self.shapes.get("X") or self.shapes["DX"]
        w = self.shapes.get("W") or self.shapes["DW"]
        y = self.shapes.get("DY") or self.shapes["Y"]
        g = self.conv.groups
        return y[0] * y[2] * y[3], w[0] // g, w[1] * w[2] * w[3], g

    def layers(self) -> list[LayerGemm]:
        """The layer's GEMMs (one per group); the same objects each time (they are immutable,
        and the caches of planning and estimating look tile keys up by identity first)."""
        key = (
            self.name,
            self.kind,
            self.computations,
            tuple(sorted(self.tensors.items())),
            tuple(sorted(self.shapes.items())),
            self.dtype,
            self.conv,
            self.im2col,
        )
        found = _LAYERS.get(key)
        if found is None:
            if len(_LAYERS) >= 4096:
                _LAYERS.clear()
            found = _LAYERS[key] = self._make_layers()
        return list(found)

    def _make_layers(self) -> list[LayerGemm]:
        if self.kind == "matmul":
            m, n, k, _ = self.gemm_dims()
            return [matmul_layer(self.name, m, k, n, self.dtype, self.tensors)]
        x = self.shapes.get("X") or self.shapes["DX"]
        w = self.shapes.get("W") or self.shapes["DW"]
        c = self.conv
        layers = conv_layers(
            self.name, x, w, c.stride, c.padding, c.dilation, c.groups, self.dtype, self.tensors
        )  # type: ignore[arg-type]
        if not self.materialized:
            return layers
        # X and dX become row-major (N*OH*OW) x (Cin*R*S) matrices in DRAM.
        geometry = self.x_geometry()
        cols = self.col_tensors()
        out = []
        for layer in layers:
            accesses = dict(layer.accesses)
            for role, name in cols.items():
                old = accesses[role]
                accesses[role] = Access(
                    name,
                    "rows",
                    self.dtype,
                    geometry.rows,
                    geometry.cols,
                    geometry.cols,
                    col_offset=old.col_offset,
                )
            out.append(LayerGemm(layer.name, layer.m, layer.n, layer.k, layer.dtype, accesses))
        return out

    def reference_ops(self) -> list[dict]:
        """The ops ``igoc.reference`` evaluates to check this layer's results."""
        ops = []
        for comp in self.computations:
            op, inputs, output = REFERENCE_OPS[(self.kind, comp)]
            attrs = self.conv.as_dict() if self.kind == "conv2d" else {}
            ops.append(
                {
                    "op": op,
                    "inputs": [self.tensors[r] for r in inputs],
                    "outputs": [self.tensors[output]],
                    "attrs": attrs,
                }
            )
        return ops

    def signature(self) -> tuple:
        """Everything that decides a schedule, without tensor names (equal layers share it)."""
        return (
            self.kind,
            self.computations,
            tuple(sorted(self.shapes.items())),
            self.dtype,
            self.conv,
            self.im2col,
        )


def dtype_of(element_type_name: str) -> DType:
    """The DType of an MLIR element type name."""
    return _DTYPES[element_type_name]


# ---- schedules as plain dictionaries (the passes turn them into attributes) ---------------------


def schedule_to_dict(schedule: LayerSchedule) -> dict:
    """A schedule as ``{order, tile, loops?, partition}`` (tile: one [m, n, k] per computation)."""
    out: dict = {
        "order": schedule.order,
        "tile": [[t.m, t.n, t.k] for t in schedule.tilings],
    }
    if schedule.loops is not None:
        out["loops"] = list(schedule.loops)
    p = schedule.partition
    out["partition"] = {"dim": p.dim or "none", "parts": p.parts, "cores": p.cores}
    return out


def schedule_from_dict(computations: tuple[str, ...], data: dict) -> LayerSchedule:
    """The inverse of ``schedule_to_dict``."""
    tiles = tuple(Tiling(*map(int, t)) for t in data["tile"])
    part = data.get("partition") or {}
    dim = part.get("dim", "none")
    partition = Partition(
        None if dim == "none" else dim, int(part.get("parts", 1)), int(part.get("cores", 1))
    )
    loops = tuple(data["loops"]) if data.get("loops") else None
    return LayerSchedule(computations, str(data["order"]), tiles, partition, loops)
