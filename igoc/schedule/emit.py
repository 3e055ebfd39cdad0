"""From a plan to instructions: each tile movement becomes a DMA, each tile matmul a Matmul.

``ProgramBuilder`` collects the DRAM tensors, conv geometries, per-core streams
and labels of a whole program; ``emit_plan`` appends one planned schedule to a
core's stream, in program order: for each step, the spills and loads it needs,
its matmuls, then the stores of the tiles it completed. The simulator's
decoupled queues overlap them by themselves (the planner placed the tiles so
that a step's loads never wait for the step before).

A plan's instructions are appended as their records' fields (the tuples
``encoding.instruction_tuple`` makes of instructions, made directly: most of a
program's instructions are a plan's, and an instruction object per one, encoded
again to be written or simulated, took most of the time of emitting them);
other instructions (copies, barriers) as objects. ``ProgramBuilder.build``
encodes each stream once, into an ``InstructionStream``, which the writer and
the simulator take as it is and which reads as instructions wherever they are
asked for.

``plan_traffic`` counts the DRAM bytes the same plan moves, per tensor, without
emitting anything: the cost model's traffic, equal to the simulator's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from igoc.isa.encoding import (
    FLAG_ACCUMULATE,
    FLAG_TRANSPOSE,
    FLAG_TRANSPOSE_B,
    RECORD_DTYPE,
    EncodingError,
    Opcode,
    decode_record,
    instruction_tuple,
)
from igoc.isa.im2col import im2col_elements, is_injective
from igoc.isa.instructions import ConvGeometry, DType, Instruction
from igoc.isa.program import InstructionStream, Label, Program, layout_tensors
from igoc.schedule.layer import COMPUTATIONS, Access
from igoc.schedule.planner import Action, Plan
from igoc.schedule.steps import TileKey
from igoc.target import Target


def psum_name(tensor: str) -> str:
    """The partial-sum buffer of an output tensor."""
    return tensor + ".psum"


def acc_dtype(target: Target) -> DType:
    """The element type of accumulators in SPM."""
    return DType.F32 if target.acc_bytes == 4 else DType.F16


def psum_dtype(target: Target) -> DType:
    """The element type of partial sums spilled to DRAM."""
    return DType.F32 if target.psum_bytes == 4 else DType.F16


@dataclass
class EmitContext:
    """What emitting a plan needs besides the plan."""

    acc_dtype: DType  # accumulators in SPM
    psum_dtype: DType  # partial sums in DRAM
    spm_base: int = 0  # this core's first SPM byte

    @staticmethod
    def of(target: Target, core: int) -> EmitContext:
        """The context of core ``core`` of ``target`` (its SPM base when the SPM is shared)."""
        base = core * target.spm_bytes if target.spm_shared else 0
        return EmitContext(acc_dtype(target), psum_dtype(target), base)

    def tile_bytes(self, key: TileKey, is_acc: bool) -> int:
        """SPM bytes of a tile (``planner.plan_schedule``'s ``tile_bytes``)."""
        return key[4] * key[5] * (self.acc_dtype.nbytes if is_acc else key[0].dtype.nbytes)


@dataclass
class ProgramBuilder:
    """Collects tensors, convs, streams and labels, then builds a ``Program``."""

    target: Target
    tensor_specs: dict[str, tuple[str, DType, tuple[int, ...]]] = field(default_factory=dict)
    tensor_index: dict[str, int] = field(default_factory=dict)
    convs: list[ConvGeometry] = field(default_factory=list)
    conv_index: dict[ConvGeometry, int] = field(default_factory=dict)
    streams: list[list[Instruction | tuple]] = field(default_factory=list)  # see the module doc
    labels: list[Label] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.streams:
            self.streams = [[] for _ in range(self.target.cores)]

    def tensor(self, name: str, role: str, dtype: DType, shape: tuple[int, ...]) -> int:
        """Declare a DRAM tensor (once; later calls must agree) and return its index."""
        spec = (role, dtype, tuple(shape))
        if name in self.tensor_specs:
            if self.tensor_specs[name][1:] != spec[1:]:
                raise ValueError(f"tensor {name!r} declared twice with different types")
            return self.tensor_index[name]
        self.tensor_specs[name] = spec
        self.tensor_index[name] = len(self.tensor_index)
        return self.tensor_index[name]

    def conv(self, geometry: ConvGeometry) -> int:
        """The index of a conv geometry in the table, adding it if new."""
        if geometry not in self.conv_index:
            self.conv_index[geometry] = len(self.convs)
            self.convs.append(geometry)
        return self.conv_index[geometry]

    def label(self, core: int, first: int, name: str) -> None:
        """Mark instructions ``first..`` (to the current end) of a core's stream as ``name``."""
        last = len(self.streams[core]) - 1
        if last >= first:
            self.labels.append(Label(core, first, last, name))

    def build(self, reference: list[dict] | None, meta: dict) -> Program:
        """The finished program, its tensors laid out in declaration order."""
        specs = [(name, role, dt, shape) for name, (role, dt, shape) in self.tensor_specs.items()]
        return Program(
            target=self.target,
            tensors=layout_tensors(specs),
            convs=list(self.convs),
            streams=[_encoded(s) for s in self.streams],
            labels=list(self.labels),
            reference=reference,
            meta=meta,
        )


def _encoded(stream: list[Instruction | tuple]) -> Sequence[Instruction]:
    """A builder's stream as an ``InstructionStream``; as a list of instructions if one does
    not encode (a field out of its range): writing it then says which, as it always has."""
    try:
        rows = [item if type(item) is tuple else instruction_tuple(item) for item in stream]
        return InstructionStream(np.array(rows, dtype=RECORD_DTYPE))
    except (OverflowError, EncodingError):
        return [decode_record(item) if type(item) is tuple else item for item in stream]


def partial_name(tensor: str) -> str:
    """The buffer where cores add up their shares of an output, when partial sums are wider."""
    return tensor + ".partial"


def reduces_wider(access: Access, ctx: EmitContext) -> bool:
    """True if cores' shares of this output are added in a wider partial-sum buffer first."""
    return _wider(ctx.psum_dtype, access.dtype)


def _wider(psum_dtype: DType, dtype: DType) -> bool:
    return psum_dtype.nbytes > dtype.nbytes


def _psum_offset(access: Access, r0: int, c0: int) -> int:
    return (access.row_offset + r0) * access.view_cols + access.col_offset + c0


_LOAD, _GATHER, _STORE, _SCATTER = Opcode.LOAD, Opcode.GATHER, Opcode.STORE, Opcode.SCATTER
_MATMUL = Opcode.MATMUL


def _dma(action: Action, ctx: EmitContext, builder: ProgramBuilder) -> tuple:
    """The record fields (``encoding.instruction_tuple``'s) of the DMA instruction of one
    planned movement."""
    res = action.residency
    kind = action.kind
    access, _, r0, c0, rows, cols = res.key
    spm = ctx.spm_base + res.address
    if kind == "spill" or kind == "reload":
        tensor = builder.tensor(
            psum_name(access.tensor), "psum", ctx.psum_dtype, (access.view_rows, access.view_cols)
        )
        offset = _psum_offset(access, r0, c0)
        op = _STORE if kind == "spill" else _LOAD
        return (op, 0, ctx.acc_dtype, 0, tensor, spm, rows, cols, 0, offset, access.view_cols)
    tensor = builder.tensor_index[access.tensor]
    if kind == "store_acc" and reduces_wider(access, ctx):
        _, _, shape = builder.tensor_specs[access.tensor]
        tensor = builder.tensor(partial_name(access.tensor), "psum", ctx.psum_dtype, shape)
    spm_dtype = access.dtype if kind == "load" else ctx.acc_dtype
    if access.kind == "im2col":
        conv = builder.conv(access.conv)
        m0, k0 = access.row_offset + r0, access.col_offset + c0
        if kind == "load":
            return (_GATHER, 0, spm_dtype, 0, tensor, spm, rows, cols, conv, m0, k0)
        accumulate = kind == "store_acc" or not is_injective(access.conv)
        flags = FLAG_ACCUMULATE if accumulate else 0
        return (_SCATTER, flags, spm_dtype, 0, tensor, spm, rows, cols, conv, m0, k0)
    if access.kind == "rows":
        offset = (access.row_offset + r0) * access.ld_elems + access.col_offset + c0
        block_rows, block_cols, flags = rows, cols, 0
    else:  # "cols": DRAM holds the transpose
        offset = (access.col_offset + c0) * access.ld_elems + access.row_offset + r0
        block_rows, block_cols, flags = cols, rows, FLAG_TRANSPOSE
    if kind == "load":
        op = _LOAD
    else:
        op = _STORE
        if kind == "store_acc":
            flags |= FLAG_ACCUMULATE
    return (
        op,
        flags,
        spm_dtype,
        0,
        tensor,
        spm,
        block_rows,
        block_cols,
        0,
        offset,
        access.ld_elems,
    )


_MATMUL_FLAGS = {
    name: (FLAG_TRANSPOSE if comp.transpose_a else 0)
    | (FLAG_TRANSPOSE_B if comp.transpose_b else 0)
    for name, comp in COMPUTATIONS.items()
}
"""The flags of each computation's matmuls that start their accumulator (others add
``FLAG_ACCUMULATE``)."""


def emit_plan(
    plan: Plan,
    ctx: EmitContext,
    builder: ProgramBuilder,
    core: int,
    first: int = 0,
    end: int | None = None,
) -> int:
    """Append steps ``first..end`` of a plan to a core's stream; return the instructions added."""
    stream = builder.streams[core]
    append = stream.append
    start = len(stream)
    end = len(plan.steps) if end is None else end
    base, c_dtype = ctx.spm_base, ctx.acc_dtype
    for s in range(first, end):
        for action in plan.before[s]:
            append(_dma(action, ctx, builder))
        for mm, fresh, (acc, a, b) in zip(
            plan.steps[s], plan.fresh[s], plan.residency_of[s], strict=True
        ):
            flags = _MATMUL_FLAGS[mm.computation]
            append(
                (
                    _MATMUL,
                    flags if fresh else flags | FLAG_ACCUMULATE,
                    a.key[0].dtype,
                    c_dtype,
                    base + a.address,
                    base + b.address,
                    base + acc.address,
                    mm.m,
                    mm.k,
                    mm.n,
                    0,
                )
            )
        for action in plan.after[s]:
            append(_dma(action, ctx, builder))
    return len(stream) - start


def action_bytes(action: Action, ctx: EmitContext) -> tuple[str, int, int]:
    """The tensor a movement touches and the bytes it reads from and writes to DRAM."""
    return moved_bytes(action.kind, action.residency.key, ctx.psum_dtype)


def moved_bytes(kind: str, key: TileKey, psum_dtype: DType) -> tuple[str, int, int]:
    """``action_bytes`` of a movement ``kind`` of the tile ``key``, with partial sums in DRAM of
    type ``psum_dtype``."""
    access, _, r0, c0, rows, cols = key
    found = _MOVES.get(id(access))
    moves = found if found is not None else _access_moves(access)
    if kind == "spill" or kind == "reload":
        nbytes = rows * cols * psum_dtype.nbytes
        return (moves.psum, 0, nbytes) if kind == "spill" else (moves.psum, nbytes, 0)
    if moves.conv is None:
        elems = rows * cols
    else:
        # the tile moved to the first image and channel: the count is the same
        place = (
            (moves.row_offset + r0) % moves.per_image,
            rows,
            (moves.col_offset + c0) % moves.per_channel,
            cols,
        )
        elems = moves.counts.get(place)
        if elems is None:
            elems = _im2col_tile_elements(moves, place)
    if kind == "load":
        return moves.tensor, elems * moves.elem_bytes, 0
    nbytes = elems * moves.elem_bytes
    if kind == "store_acc" and psum_dtype.nbytes > moves.elem_bytes:
        nbytes = elems * psum_dtype.nbytes
        return moves.partial, nbytes, nbytes
    accumulate = kind == "store_acc" or moves.scatter_adds
    return moves.tensor, nbytes if accumulate else 0, nbytes


_Counts = dict[tuple[int, int, int, int], int]


@dataclass(slots=True)
class _AccessMoves:
    """What ``moved_bytes`` needs of an access, worked out once (it runs for every movement the cost
    model counts, and the access's own attributes and its dtype's ``nbytes`` are lookups and
    calls of their own)."""

    access: Access  # held, so that its id, the key of ``_MOVES``, is not reused meanwhile
    tensor: str
    elem_bytes: int
    conv: ConvGeometry | None  # of an im2col access whose tiles' element counts vary
    scatter_adds: bool  # a store to it accumulates (col2im windows overlap)
    psum: str
    partial: str
    row_offset: int
    col_offset: int
    per_image: int  # im2col rows of one image (a tile moved by these reads as many elements)
    per_channel: int  # im2col columns of one channel (likewise)
    counts: _Counts  # ``conv``'s, from ``_CONVS``


_MOVES: dict[int, _AccessMoves] = {}
"""The ``_AccessMoves`` of the accesses seen, by id (cleared when ``_MOVES_LIMIT`` are held)."""
_MOVES_LIMIT = 1 << 12

_CONVS: dict[ConvGeometry, tuple[ConvGeometry | None, bool, int, int, _Counts]] = {}
"""What ``_AccessMoves`` takes of a conv geometry (``_conv_moves``), per geometry seen. Its
``counts`` are the tensor elements of im2col tiles by ``(row0, rows, col0, cols)`` of the
tile moved to the first image and channel (``igoc.isa.im2col.im2col_elements``): the
groups of a grouped conv, the images of a batch and the accesses that passes make of one
geometry share them (searches ask again and again). Forgotten when ``_CONVS_LIMIT``
geometries are held (the accesses seen keep theirs), a geometry's counts when
``_COUNTS_LIMIT`` are held."""
_CONVS_LIMIT = 1 << 12
_COUNTS_LIMIT = 1 << 14

_NO_COUNTS: _Counts = {}  # for accesses that count rows x cols (never written)

_NAMES: dict[str, tuple[str, str]] = {}
"""The partial-sum tensor names of each tensor (``psum_name``, ``partial_name``)."""


def _conv_moves(conv: ConvGeometry) -> tuple[ConvGeometry | None, bool, int, int, _Counts]:
    """``(conv, scatter_adds, per_image, per_channel, counts)`` of an im2col access's geometry
    (``conv`` None where a tile reads rows x cols elements)."""
    found = _CONVS.get(conv)
    if found is None:
        if len(_CONVS) >= _CONVS_LIMIT:
            _CONVS.clear()
        scatter_adds = not is_injective(conv)
        if not scatter_adds and conv.pad_h == 0 and conv.pad_w == 0:
            # each entry a different element, none in the padding: rows x cols
            found = (None, False, 1, 1, _NO_COUNTS)
        else:
            per_image = conv.out_height * conv.out_width
            found = (conv, scatter_adds, per_image, conv.kernel_h * conv.kernel_w, {})
        _CONVS[conv] = found
    return found


def _access_moves(access: Access) -> _AccessMoves:
    if len(_MOVES) >= _MOVES_LIMIT:
        _MOVES.clear()
    if access.kind == "im2col":
        conv, scatter_adds, per_image, per_channel, counts = _conv_moves(access.conv)  # type: ignore[arg-type]
    else:
        conv, scatter_adds, per_image, per_channel, counts = None, False, 1, 1, _NO_COUNTS
    names = _NAMES.get(access.tensor)
    if names is None:
        if len(_NAMES) >= _MOVES_LIMIT:
            _NAMES.clear()
        names = _NAMES[access.tensor] = (psum_name(access.tensor), partial_name(access.tensor))
    moves = _MOVES[id(access)] = _AccessMoves(
        access,
        access.tensor,
        access.dtype.nbytes,
        conv,
        scatter_adds,
        *names,
        access.row_offset,
        access.col_offset,
        per_image,
        per_channel,
        counts,
    )
    return moves


def _im2col_tile_elements(moves: _AccessMoves, place: tuple[int, int, int, int]) -> int:
    """The tensor elements an im2col tile reads, the tile at ``place`` (remembered in
    ``moves.counts``: only this count costs more than a few multiplications)."""
    counts = moves.counts
    if len(counts) >= _COUNTS_LIMIT:
        counts.clear()
    count = counts[place] = im2col_elements(moves.conv, *place)  # type: ignore[arg-type]
    return count


def plan_traffic(plan: Plan, ctx: EmitContext) -> dict[str, list[int]]:
    """DRAM bytes ``[read, write]`` per tensor that the plan moves."""
    traffic: dict[str, list[int]] = {}
    for actions in (*plan.before, *plan.after):
        for action in actions:
            name, read, write = action_bytes(action, ctx)
            if not (read or write):
                continue
            entry = traffic.setdefault(name, [0, 0])
            entry[0] += read
            entry[1] += write
    return traffic
