"""A layer's GEMMs in one frame, and where each of its matrices lives in DRAM.

Every layer of a training step, matmul or convolution, is described by three
sizes (the paper's frame): M (batch rows; batch·OH·OW for a conv), K (input
features; Cin·R·S for a conv) and N (output features; Cout). Six matrices live
in that frame::

    X  (M x K)   W  (K x N)   dY (M x N)      inputs
    Y  (M x N)   dX (M x K)   dW (K x N)      outputs

and three computations, each a GEMM over the same (i, j, l) tile space, where
i walks M, j walks N and l walks K::

    fwd  Y[i, j]  += X[i, l]  . W[l, j]        reduction over l
    dx   dX[i, l] += dY[i, j] . W[l, j]^T      reduction over j
    dw   dW[l, j] += X[i, l]^T . dY[i, j]      reduction over i

An ``Access`` says how a matrix of the frame is found in a DRAM tensor: as a
row-major matrix, as the transpose of one, or as the im2col view of an NCHW
tensor. A grouped convolution is one ``LayerGemm`` per group, each with the
offsets of its group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from igoc.isa.instructions import ConvGeometry, DType

ROLES = ("X", "W", "dY", "Y", "dX", "dW")
"""The matrices of the frame: the inputs, then the outputs."""

#: For each role, the loop indices of its rows and columns.
ROLE_INDICES: dict[str, tuple[str, str]] = {
    "X": ("i", "l"),
    "W": ("l", "j"),
    "dY": ("i", "j"),
    "Y": ("i", "j"),
    "dX": ("i", "l"),
    "dW": ("l", "j"),
}

#: The frame size each loop index walks.
INDEX_DIM = {"i": "m", "j": "n", "l": "k"}


def conv_output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output size of a convolution along one axis (may be <= 0 if the kernel does not fit)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class ConvParams:
    """Stride, padding, dilation (height, width) and group count of a convolution."""

    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    def output_hw(self, height: int, width: int, kernel_h: int, kernel_w: int) -> tuple[int, int]:
        """Output (OH, OW) of an input ``height x width`` under a ``kernel_h x kernel_w`` kernel."""
        return (
            conv_output_size(height, kernel_h, self.stride[0], self.padding[0], self.dilation[0]),
            conv_output_size(width, kernel_w, self.stride[1], self.padding[1], self.dilation[1]),
        )

    def as_dict(self) -> dict:
        """The reference ops' attribute dictionary."""
        return {
            "stride": list(self.stride),
            "padding": list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
        }


@dataclass(frozen=True)
class Computation:
    """One GEMM of a layer, as a rule over the (i, j, l) tile space (a row of a table)."""

    name: str  # "fwd", "dx" or "dw"
    acc: str  # the role accumulated into
    a: str  # role of the matmul's A operand
    b: str  # role of the matmul's B operand
    reduction: str  # the loop index summed over
    transpose_a: bool  # A's tile is stored k x m in SPM
    transpose_b: bool  # B's tile is stored n x k in SPM


COMPUTATIONS: dict[str, Computation] = {
    "fwd": Computation(
        "fwd", acc="Y", a="X", b="W", reduction="l", transpose_a=False, transpose_b=False
    ),
    "dx": Computation(
        "dx", acc="dX", a="dY", b="W", reduction="j", transpose_a=False, transpose_b=True
    ),
    "dw": Computation(
        "dw", acc="dW", a="X", b="dY", reduction="i", transpose_a=True, transpose_b=False
    ),
}


@dataclass(frozen=True, eq=True)
class Access:
    """Where the elements of one matrix of the frame live in a DRAM tensor.

    ``kind``:
      - ``"rows"``: element (r, c) is at ``(row_offset + r) * ld_elems + col_offset + c``;
      - ``"cols"``: the tensor stores the transpose: (r, c) is at
        ``(col_offset + c) * ld_elems + row_offset + r``;
      - ``"im2col"``: (r, c) is element (row_offset + r, col_offset + c) of the im2col
        matrix of the NCHW tensor under ``conv`` (a gather to read, a scatter to write).
    """

    tensor: str  # DRAM tensor name
    kind: str  # "rows", "cols" or "im2col"
    dtype: DType  # element type of the tensor
    view_rows: int  # rows of the whole view (all groups), in the frame's orientation
    view_cols: int  # columns of the whole view
    ld_elems: int = 0
    row_offset: int = 0
    col_offset: int = 0
    conv: ConvGeometry | None = None

    def __hash__(self) -> int:
        # Tile keys hash their access millions of times while planning: hash once.
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f) for f in self.__dataclass_fields__))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict:
        # Not the cached hash: another process hashes strings with another seed, and an
        # access unpickled there must hash as one made there does.
        state = dict(self.__dict__)
        state.pop("_hash", None)
        return state

    def __post_init__(self) -> None:
        if self.kind not in ("rows", "cols", "im2col"):
            raise ValueError(f"unknown access kind {self.kind!r}")
        if (self.kind == "im2col") != (self.conv is not None):
            raise ValueError("an im2col access needs a conv geometry, and only it")


@dataclass(frozen=True)
class LayerGemm:
    """One layer (or one group of a grouped conv) in the GEMM frame."""

    name: str  # the layer's name in reports
    m: int
    n: int
    k: int
    dtype: DType  # element type of every matrix in DRAM
    accesses: dict[str, Access] = field(hash=False, compare=True)  # by role

    def dim(self, index: str) -> int:
        """The frame size a loop index walks (``i`` → M, ``j`` → N, ``l`` → K)."""
        return {"i": self.m, "j": self.n, "l": self.k}[index]

    @property
    def computations(self) -> tuple[str, ...]:
        """The computations whose output this layer produces, in the order fwd, dx, dw."""
        return tuple(name for name, comp in COMPUTATIONS.items() if comp.acc in self.accesses)

    def macs(self, computation: str) -> int:
        """Multiply-accumulates of one computation (all three have M*N*K)."""
        return self.m * self.n * self.k


def matmul_layer(
    name: str, m: int, k: int, n: int, dtype: DType, tensors: dict[str, str]
) -> LayerGemm:
    """A matmul layer Y = X.W (X M x K, W K x N); ``tensors`` names the DRAM tensor of each role.

    Every matrix is a row-major 2-D tensor in the frame's orientation.
    """
    shape = {"X": (m, k), "W": (k, n), "dY": (m, n), "Y": (m, n), "dX": (m, k), "dW": (k, n)}
    accesses = {
        role: Access(t, "rows", dtype, *shape[role], shape[role][1]) for role, t in tensors.items()
    }
    return LayerGemm(name, m, n, k, dtype, accesses)


def layers_key(layers: list[LayerGemm]) -> tuple:
    """What of some GEMMs a cached estimate depends on: shapes, element type and accesses
    (not their names)."""
    return tuple((g.m, g.n, g.k, g.dtype, tuple(sorted(g.accesses.items()))) for g in layers)


def conv_layers(
    name: str,
    x_shape: tuple[int, int, int, int],
    w_shape: tuple[int, int, int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    dtype: DType,
    tensors: dict[str, str],
) -> list[LayerGemm]:
    """A conv layer as GEMMs, one per group (im2col: M = N*OH*OW, K = Cin/G*R*S, N = Cout/G).

    X and dX are the im2col view of the input (a gather to read, a scatter to
    write); dY and Y the 1x1 view of the output, an (N*OH*OW) x Cout matrix; W and
    dW the (Cout, Cin/G*R*S) weight matrix, which stores the frame's K x N
    matrix transposed. Group g takes columns ``g*K..`` of the im2col matrices and
    output channels ``g*N..``.
    """
    batch, cin, height, width = x_shape
    cout, cin_g, kh, kw = w_shape
    x_geom = ConvGeometry(
        batch,
        cin,
        height,
        width,
        kh,
        kw,
        stride[0],
        stride[1],
        padding[0],
        padding[1],
        dilation[0],
        dilation[1],
    )
    y_geom = ConvGeometry(batch, cout, x_geom.out_height, x_geom.out_width)
    m = x_geom.rows
    k = cin_g * kh * kw
    n = cout // groups
    layers = []
    for g in range(groups):
        accesses = {}
        for role, tensor in tensors.items():
            if role in ("X", "dX"):
                accesses[role] = Access(
                    tensor, "im2col", dtype, x_geom.rows, x_geom.cols, col_offset=g * k, conv=x_geom
                )
            elif role in ("dY", "Y"):
                accesses[role] = Access(
                    tensor, "im2col", dtype, y_geom.rows, y_geom.cols, col_offset=g * n, conv=y_geom
                )
            else:
                accesses[role] = Access(tensor, "cols", dtype, k, cout, k, col_offset=g * n)
        label = name if groups == 1 else f"{name}[g{g}]"
        layers.append(LayerGemm(label, m, n, k, dtype, accesses))
    return layers
