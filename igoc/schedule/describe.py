"""Layers as plain data: what an op computes, on which DRAM tensors, in which shapes.

A ``LayerDesc`` is what the schedule machinery knows of one layer op: built from
a grad op (``igoc.dialects.layers.describe_op``) or from an ``npu.layer`` op, it
gives the layer's GEMMs (``layers()``), the frame (``gemm_dims()``), its reference
ops for checking results, and the ``signature()`` that decisions are remembered by.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from igoc.isa.instructions import ConvGeometry, DType
from igoc.schedule.layer import Access, ConvParams, LayerGemm, conv_layers, matmul_layer

#: The reference op (``igoc.reference``) of each computation, and its operand roles.
REFERENCE_OPS = {
    ("matmul", "fwd"): ("matmul", ("X", "W"), "Y"),
    ("matmul", "dx"): ("matmul_dx", ("dY", "W"), "dX"),
    ("matmul", "dw"): ("matmul_dw", ("X", "dY"), "dW"),
    ("conv2d", "fwd"): ("conv2d", ("X", "W"), "Y"),
    ("conv2d", "dx"): ("conv2d_dx", ("dY", "W"), "dX"),
    ("conv2d", "dw"): ("conv2d_dw", ("X", "dY"), "dW"),
}

_DTYPES = {"f16": DType.F16, "bf16": DType.BF16, "f32": DType.F32}


@dataclass(frozen=True)
class LayerDesc:
    """One layer op: its kind, computations, and the DRAM tensor and shape of each role."""

    name: str
    kind: str  # "matmul" or "conv2d"
    computations: tuple[str, ...]
    tensors: dict[str, str] = field(hash=False)  # role -> DRAM tensor name
    shapes: dict[str, tuple[int, ...]] = field(hash=False)  # role -> shape
    dtype: DType = DType.F16
    conv: ConvParams = ConvParams()
    im2col: str = "on-the-fly"  # or "materialize": X_col and dX_col live in DRAM

    @property
    def materialized(self) -> bool:
        """A conv whose im2col matrices are materialised in DRAM."""
        return self.kind == "conv2d" and self.im2col == "materialize"

    def x_geometry(self) -> ConvGeometry:
        """The im2col view of the layer's input (conv layers)."""
        x = self.shapes.get("X") or self.shapes["dX"]
        w = self.shapes.get("W") or self.shapes["dW"]
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
        return {role: self.tensors[role] + ".col" for role in ("X", "dX") if role in self.tensors}

    def gemm_dims(self) -> tuple[int, int, int, int]:
        """M, N, K and groups of the layer in the GEMM frame."""
        if self.kind == "matmul":
            x = self.shapes.get("X") or self.shapes["dX"]
            w = self.shapes.get("W") or self.shapes["dW"]
            return x[0], w[1], x[1], 1
        x = self.shapes.get("X") or self.shapes["dX"]
        w = self.shapes.get("W") or self.shapes["dW"]
        y = self.shapes.get("dY") or self.shapes["Y"]
        g = self.conv.groups
        return y[0] * y[2] * y[3], w[0] // g, w[1] * w[2] * w[3], g

    def layers(self) -> list[LayerGemm]:
        """The layer's GEMMs (one per group); the same objects each time (they are immutable,
        and planning and estimating look tile keys up by identity first)."""
        return list(self._layers)

    @functools.cached_property
    def _layers(self) -> tuple[LayerGemm, ...]:
        return tuple(self._make_layers())

    def _make_layers(self) -> list[LayerGemm]:
        if self.kind == "matmul":
            m, n, k, _ = self.gemm_dims()
            return [matmul_layer(self.name, m, k, n, self.dtype, self.tensors)]
        x = self.shapes.get("X") or self.shapes["dX"]
        w = self.shapes.get("W") or self.shapes["dW"]
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
