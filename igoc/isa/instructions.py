"""The NPU instruction set: one typed record per instruction kind.

Every instruction belongs to one core's stream and is issued in order into one
of three queues (load, compute, store; synchronisation waits for all three).
Addresses in the scratchpad (SPM) are byte addresses; positions in DRAM are
element offsets inside a named DRAM tensor (an index into the program's tensor
table), so traffic is accounted per tensor and every access is bounds-checked
against the tensor it names.

SPM tiles are dense and row-major: a block of ``rows x cols`` elements of
``spm_dtype`` occupies ``rows * cols * spm_dtype.nbytes`` bytes from its address
(``cols x rows`` when the instruction transposes it).

The geometry of an im2col gather / col2im scatter lives in the program's
convolution table (``ConvGeometry``) and instructions refer to it by index, so
every record has a fixed width.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar


class DType(enum.IntEnum):
    """Element types of DRAM tensors and SPM tiles; ``nbytes``: bytes per element (a plain
    attribute of each member, not a property: the cost model reads it for every tile)."""

    nbytes: int

    F16 = (1, 2)
    BF16 = (2, 2)
    F32 = (3, 4)

    def __new__(cls, value: int, nbytes: int) -> DType:
        member = int.__new__(cls, value)
        member._value_ = value
        member.nbytes = nbytes
        return member

    @property
    def mlir_name(self) -> str:
        """The element type's name in MLIR (``f16``, ``bf16``, ``f32``)."""
        return self.name.lower()


class Queue(enum.IntEnum):
    """The issue queue an instruction runs on."""

    LOAD = 0
    COMPUTE = 1
    STORE = 2
    SYNC = 3


@dataclass(frozen=True, slots=True)
class ConvGeometry:
    """How an NCHW tensor is viewed as an im2col matrix (an entry of the conv table).

    The im2col matrix of a tensor of shape ``(batch, channels, height, width)``
    has ``batch * out_height * out_width`` rows, indexed ``m = (n, oh, ow)``
    row-major, and ``channels * kernel_h * kernel_w`` columns, indexed
    ``k = (c, r, s)`` row-major. Its element ``(m, k)`` is::

        X[n, c, oh * stride_h - pad_h + r * dilation_h, ow * stride_w - pad_w + s * dilation_w]

    or zero where that position lies in the padding. A 1x1 kernel with stride 1
    and no padding views an activation ``(N, C, H, W)`` as the ``(N*H*W) x C``
    matrix that a GEMM over channels needs (this is how dY is read for a conv).
    """

    batch: int
    channels: int
    height: int
    width: int
    kernel_h: int = 1
    kernel_w: int = 1
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    dilation_h: int = 1
    dilation_w: int = 1

    @property
    def out_height(self) -> int:
        """Output rows: ``(H + 2*pad_h - dilation_h*(kernel_h-1) - 1) // stride_h + 1``."""
        span = self.dilation_h * (self.kernel_h - 1) + 1
        return (self.height + 2 * self.pad_h - span) // self.stride_h + 1

    @property
    def out_width(self) -> int:
        """Output columns, as ``out_height``."""
        span = self.dilation_w * (self.kernel_w - 1) + 1
        return (self.width + 2 * self.pad_w - span) // self.stride_w + 1

    @property
    def rows(self) -> int:
        """Rows of the im2col matrix: ``batch * out_height * out_width``."""
        return self.batch * self.out_height * self.out_width

    @property
    def cols(self) -> int:
        """Columns of the im2col matrix: ``channels * kernel_h * kernel_w``."""
        return self.channels * self.kernel_h * self.kernel_w


@dataclass(frozen=True, slots=True)
class Load:
    """DMA load of a 2-D block, DRAM -> SPM.

    ``SPM[spm_addr] <- T[dram_offset_elems + r*row_stride_elems + c]`` for
    ``r < rows, c < cols``, converted from the tensor's dtype to ``spm_dtype``;
    with ``transpose`` the block lands in SPM as ``cols x rows``.
    DRAM bytes read: ``rows * cols * tensor dtype bytes``.
    """

    queue: ClassVar[Queue] = Queue.LOAD
    tensor: int  # index into the program's tensor table
    dram_offset_elems: int  # first element of the block inside the tensor
    rows: int  # rows of the block
    cols: int  # contiguous elements per row
    row_stride_elems: int  # distance between rows in DRAM, in elements
    spm_addr: int  # destination SPM byte address
    spm_dtype: DType  # element type the block has in SPM
    transpose: bool = False  # store the block transposed (cols x rows) in SPM


@dataclass(frozen=True, slots=True)
class Gather:
    """DMA im2col gather, DRAM -> SPM: a tile of the im2col matrix of an NCHW tensor.

    Builds rows ``m_start .. m_start+rows`` and columns ``k_start .. k_start+cols`` of
    the im2col matrix of tensor ``tensor`` under ``conv`` (see ``ConvGeometry``),
    padding positions as zeros; ``transpose`` lands it as ``cols x rows``.
    DRAM bytes read: the distinct in-bounds tensor elements the tile touches
    (each read once per instruction), times the tensor's dtype bytes.
    """

    queue: ClassVar[Queue] = Queue.LOAD
    tensor: int  # index into the tensor table (an NCHW tensor)
    conv: int  # index into the conv table
    m_start: int  # first im2col row
    k_start: int  # first im2col column
    rows: int  # im2col rows in the tile
    cols: int  # im2col columns in the tile
    spm_addr: int  # destination SPM byte address
    spm_dtype: DType  # element type the tile has in SPM
    transpose: bool = False  # land the tile transposed (cols x rows)


@dataclass(frozen=True, slots=True)
class Store:
    """DMA store of a 2-D block, SPM -> DRAM.

    ``T[dram_offset_elems + r*row_stride_elems + c] (+)= SPM[spm_addr]`` for
    ``r < rows, c < cols``, converted from ``spm_dtype`` to the tensor's dtype;
    with ``transpose`` the SPM block is read as ``cols x rows`` and written
    transposed. With ``accumulate`` the store is a read-modify-write (the sum is
    formed in fp32 and rounded once to the tensor's dtype), atomic with respect
    to other cores. DRAM bytes: written ``rows * cols * dtype bytes``, and as
    many read when accumulating.

    With ``zero`` the store writes zeros and reads no SPM (``spm_addr`` is 0, and it
    neither accumulates nor transposes): how a program sets an output to zero before
    it adds into it or writes only part of it, since DRAM holds old data.
    """

    queue: ClassVar[Queue] = Queue.STORE
    tensor: int  # index into the tensor table
    dram_offset_elems: int  # first element of the block inside the tensor
    rows: int  # rows of the block
    cols: int  # contiguous elements per row
    row_stride_elems: int  # distance between rows in DRAM, in elements
    spm_addr: int  # source SPM byte address
    spm_dtype: DType  # element type the block has in SPM
    accumulate: bool = False  # add into DRAM (read-modify-write) instead of overwriting
    transpose: bool = False  # SPM holds the block as cols x rows
    zero: bool = False  # write zeros instead of an SPM block


@dataclass(frozen=True, slots=True)
class Scatter:
    """DMA col2im scatter, SPM -> DRAM: fold a tile of an im2col-space matrix into NCHW.

    The inverse view of ``Gather``: element ``(m, k)`` of the SPM tile (rows
    ``m_start..``, columns ``k_start..``) goes to the tensor position that
    ``Gather`` would read it from; padding positions are dropped. Elements of
    the tile that land on the same position are summed first. With
    ``accumulate`` the result is added into DRAM (read-modify-write, atomic),
    otherwise it overwrites. DRAM bytes: the distinct positions touched, written,
    and read as well when accumulating.
    """

    queue: ClassVar[Queue] = Queue.STORE
    tensor: int  # index into the tensor table (an NCHW tensor)
    conv: int  # index into the conv table
    m_start: int  # first im2col row
    k_start: int  # first im2col column
    rows: int  # im2col rows in the tile
    cols: int  # im2col columns in the tile
    spm_addr: int  # source SPM byte address
    spm_dtype: DType  # element type the tile has in SPM
    accumulate: bool = True  # add into DRAM instead of overwriting


@dataclass(frozen=True, slots=True)
class Matmul:
    """Matrix multiply on SPM tiles, on the PE array.

    Its meaning, as a loop nest (A is m x k, B is k x n, C is m x n)::

        for i in range(m):
            for j in range(n):
                acc = C[i, j] if accumulate else 0.0      # in fp32
                for p in range(k):
                    acc += A[i, p] * B[p, j]
                C[i, j] = round(acc, c_dtype)

    ``transpose_a``: A is stored in SPM as k x m; ``transpose_b``: B as n x k.
    Cycles follow the target's dataflow and array timing (``igoc.isa.cycles``).
    """

    queue: ClassVar[Queue] = Queue.COMPUTE
    a_addr: int  # SPM byte address of A
    b_addr: int  # SPM byte address of B
    c_addr: int  # SPM byte address of C (read when accumulating, always written)
    m: int  # rows of A and C
    k: int  # reduction length
    n: int  # columns of B and C
    in_dtype: DType  # element type of A and B
    c_dtype: DType  # element type of C (the accumulator)
    accumulate: bool = False  # C += A.B instead of C = A.B
    transpose_a: bool = False  # A stored as k x m
    transpose_b: bool = False  # B stored as n x k


@dataclass(frozen=True, slots=True)
class Barrier:
    """Wait until every core in ``core_mask`` has reached barrier ``barrier_id``.

    A full fence: it starts after every earlier instruction of its core has
    completed, and no later instruction of the core starts before it ends.
    """

    queue: ClassVar[Queue] = Queue.SYNC
    barrier_id: int  # barrier number; the n-th arrival of each core at an id meets the others' n-th
    core_mask: int  # bit c set: core c takes part (the issuing core's own bit must be set)


@dataclass(frozen=True, slots=True)
class Halt:
    """End of the core's stream: completes when every earlier instruction has."""

    queue: ClassVar[Queue] = Queue.SYNC


Instruction = Load | Gather | Store | Scatter | Matmul | Barrier | Halt
