"""Functional execution: the program run on data, each core in program order.

DRAM is one array per tensor (in the storage form of ``igoc.isa.numerics``);
input tensors hold the given values. Every other tensor holds old data, as it
does in a training step that reuses its buffers: a mask records the elements a
program wrote, an instruction that reads an element never written (an
accumulating store or scatter, a load) is an error, and ``unwritten`` counts what
the program left unwritten (``--check`` fails an output with any). SPM is
real bytes: a ``uint8`` array per core (one shared array when the target's SPM is
shared), with a mask of the bytes ever written, so that reading a byte that was
never written is an error. Loads convert the tensor's type to the SPM type,
matmuls compute in fp32 and round once to C's type, stores round to the
tensor's type (accumulating stores add in fp32 and round once).

Cores run one at a time, each until it reaches a barrier or halts; a barrier
releases its cores when all have arrived. The result is that of executing each
core in program order with the barriers respected, which is what the timing
model allows; accumulating stores are then trivially atomic.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from igoc.isa.encoding import (
    FLAG_ACCUMULATE,
    FLAG_TRANSPOSE,
    FLAG_TRANSPOSE_B,
    FLAG_ZERO,
    Opcode,
)
from igoc.isa.im2col import (
    col2im_sums,
    gather_tile,
    is_injective,
    reads_only_set,
    tensor_box,
    tile_box,
    tile_indices,
    tile_parts,
)
from igoc.isa.instructions import DType
from igoc.isa.numerics import STORAGE_DTYPE, from_spm_bytes, round_to, to_spm_bytes
from igoc.isa.program import Program
from igoc.sim import pages
from igoc.sim.errors import SimError
from igoc.sim.inputs import Drawing
from igoc.sim.prepare import CoreCode
from igoc.sim.validate import KIND_NAMES, spm_capacity


def _input_values(given, dtype: DType, shared: bool) -> np.ndarray:
    """An input's values as a flat array in ``dtype``'s storage form.

    A tensor no instruction writes keeps the given array when it already holds fp16 or
    fp32 values in their storage type (rounding them again would change nothing), as a
    read-only view: no copy of what may be most of the program's memory.
    """
    values = np.asarray(given)
    if shared and dtype is not DType.BF16 and values.dtype == STORAGE_DTYPE[dtype]:
        flat = values.reshape(-1).view()
        flat.flags.writeable = False
        return flat
    return np.ascontiguousarray(round_to(values.reshape(-1), dtype))


DECODED_BYTES = 64 << 20
"""At most this many bytes of SPM ranges are kept decoded (as float32) at a time."""


class Machine:
    """DRAM and SPM contents, and one handler per instruction kind."""

    def __init__(
        self,
        program: Program,
        inputs: dict[str, np.ndarray],
        spm_bytes: int,
        stored: frozenset[int] = frozenset(),
    ) -> None:
        """``stored``: the tensors some store or scatter writes (the others are only read)."""
        self.program = program
        self.inputs = set(inputs)
        self.dram: list[np.ndarray | None] = []
        # Inputs still being drawn (``Drawing``): taken into ``dram`` when first read.
        self.drawing: dict[int, tuple[Drawing, DType, bool]] = {}
        for i, t in enumerate(program.tensors):
            given = inputs.get(t.name)
            if isinstance(given, Drawing):
                self.drawing[i] = (given, t.dtype, i not in stored)
                values = None
            elif t.name in inputs:
                values = _input_values(given, t.dtype, shared=i not in stored)
            else:
                values = pages.zeros(t.numel, STORAGE_DTYPE[t.dtype])
            self.dram.append(values)
        # Per tensor, the elements written so far; None for inputs (written before the run)
        # and for tensors written whole (the mask is dropped then: it is as big as a
        # quarter to a half of the tensor).
        self.dram_written: list[np.ndarray | None] = [
            None
            if t.name in inputs or t.role == "input"
            else pages.zeros(t.numel, bool, fill_last=True)
            for t in program.tensors
        ]
        self.written_count = [0] * len(program.tensors)  # elements written, while masked
        self.released: set[int] = set()
        target = program.target
        size = min(spm_bytes, spm_capacity(program))  # the bytes the program touches
        count = 1 if target.spm_shared else target.cores
        self.spm = [np.zeros(size, np.uint8) for _ in range(count)]
        self.written = [np.zeros(size, bool) for _ in range(count)]
        self.shared = target.spm_shared
        # float32 values of SPM ranges as last read or written whole, by (bank, address,
        # count, type); a write drops the ranges it overlaps. Matmuls read the same tile
        # again and again, and a partial sum is read back as it was written.
        self.decoded: dict[tuple[int, int, int, DType], np.ndarray] = {}
        self.decoded_bytes = 0
        self.core = 0
        self.index = 0

    # ---- SPM access ----------------------------------------------------------------------
    def _fail(self, message: str) -> SimError:
        rec = self.program_records[self.core][self.index]
        return SimError(message, self.core, self.index, KIND_NAMES[Opcode(int(rec["op"]))])

    def read_spm(self, addr: int, count: int, dtype: DType) -> np.ndarray:
        """``count`` elements of ``dtype`` at SPM ``addr``, as float32 (error if never written).

        The array is read-only: the same read of bytes not written since gives it again.
        """
        bank = 0 if self.shared else self.core
        key = (bank, addr, count, dtype)
        values = self.decoded.get(key)
        if values is not None:
            return values
        end = addr + count * dtype.nbytes
        written = self.written[bank][addr:end]
        if not written.all():
            first = addr + int(np.argmin(written))
            raise self._fail(f"reads SPM byte {first:#x}, which was never written")
        values = from_spm_bytes(self.spm[bank][addr:end], dtype)
        self._remember(key, values)
        return values

    def write_spm(self, addr: int, values: np.ndarray, dtype: DType, fresh: bool = False) -> None:
        """Store ``values`` (any float array; its elements in C order) at SPM ``addr`` as
        ``dtype``. ``fresh``: ``values`` is a float32 array nothing else holds, kept as what
        a read of those bytes as fp32 gives."""
        bank = 0 if self.shared else self.core
        end = addr + values.size * dtype.nbytes
        self._forget(bank, addr, end)
        if dtype is DType.BF16:
            self.spm[bank][addr:end] = to_spm_bytes(values, dtype)
        else:  # cast straight into the bytes: the cast to_spm_bytes makes
            self.spm[bank][addr:end].view(STORAGE_DTYPE[dtype]).reshape(values.shape)[...] = values
            if fresh and dtype is DType.F32 and values.dtype == np.float32:
                self._remember((bank, addr, values.size, dtype), values.reshape(-1))
        self.written[bank][addr:end] = True

    def _remember(self, key: tuple[int, int, int, DType], values: np.ndarray) -> None:
        """Keep the float32 values of an SPM range (read-only), within ``DECODED_BYTES``."""
        values.flags.writeable = False
        self.decoded[key] = values
        self.decoded_bytes += values.nbytes
        while self.decoded_bytes > DECODED_BYTES and len(self.decoded) > 1:
            oldest = next(iter(self.decoded))
            self.decoded_bytes -= self.decoded.pop(oldest).nbytes

    def _forget(self, bank: int, start: int, end: int) -> None:
        """Drop the kept values of every range of ``bank`` that bytes ``start..end`` overlap."""
        stale = [
            key
            for key in self.decoded
            if key[0] == bank and key[1] < end and start < key[1] + key[2] * key[3].nbytes
        ]
        for key in stale:
            self.decoded_bytes -= self.decoded.pop(key).nbytes

    # ---- DRAM written or not ---------------------------------------------------------------
    def _check_written(self, tensor: int, index: np.ndarray) -> None:
        written = self.dram_written[tensor]
        if written is None:
            return
        seen = written[index]
        if not seen.all():
            first = int(np.asarray(index).reshape(-1)[int(np.argmin(seen.reshape(-1)))])
            name = self.program.tensors[tensor].name
            raise self._fail(
                f"reads element {first} of '{name}', which the program never wrote "
                "(DRAM holds old data: set it to zero first)"
            )

    def _count_fresh(self, tensor: int, fresh: int) -> None:
        """``fresh`` distinct elements of ``tensor`` were written for the first time."""
        written = self.dram_written[tensor]
        # distinct elements newly written: count them on the mask itself
        count = self.written_count[tensor] + fresh
        if count >= written.size:
            count = int(np.count_nonzero(written))
            if count == written.size:
                self.dram_written[tensor] = None  # all written: reads are fine
        self.written_count[tensor] = count

    def _box_marks(self, tensor: int, g, box: tuple[slice, ...]) -> np.ndarray | None:
        """The written mask of an (n, c, h, w) box of the tensor (a view), None if unmasked."""
        written = self.dram_written[tensor]
        if written is None:
            return None
        return written.reshape(g.batch, g.channels, g.height, g.width)[box]

    def _check_box_written(self, tensor: int, g, box, touched: np.ndarray) -> None:
        """``_check_written`` of the ``touched`` elements of a box."""
        marks = self._box_marks(tensor, g, box)
        if marks is not None and (touched & ~marks).any():
            local = np.nonzero(touched)  # in increasing flat order, as sorted indices
            shape = (g.batch, g.channels, g.height, g.width)
            index = tuple(axis + part.start for axis, part in zip(local, box, strict=True))
            self._check_written(tensor, np.ravel_multi_index(index, shape))

    def _mark_box_written(self, tensor: int, g, box, touched: np.ndarray | None) -> None:
        """Mark the ``touched`` elements of a box written (None: all of them)."""
        marks = self._box_marks(tensor, g, box)
        if marks is None:
            return
        if touched is None:
            fresh = marks.size - np.count_nonzero(marks)
        else:
            fresh = np.count_nonzero(touched) - np.count_nonzero(marks & touched)
        if fresh:
            if touched is None:
                marks[...] = True
            else:
                marks[touched] = True
            self._count_fresh(tensor, int(fresh))

    def unwritten_of(self, tensor: int) -> int:
        """Elements of ``tensor`` never written (0 for an input)."""
        written = self.dram_written[tensor]
        return 0 if written is None else int(written.size - np.count_nonzero(written))

    def tensor(self, tensor: int) -> np.ndarray:
        """DRAM tensor ``tensor``'s flat values (an input being drawn: once drawn)."""
        values = self.dram[tensor]
        if values is None and tensor in self.drawing:
            drawing, dtype, shared = self.drawing.pop(tensor)
            values = self.dram[tensor] = _input_values(drawing.result(), dtype, shared)
        return values  # type: ignore[return-value]

    def release(self, tensor: int) -> None:
        """Let go of a tensor the program is done with (``run_functional``'s ``done``)."""
        self.dram[tensor] = None
        self.dram_written[tensor] = None
        self.released.add(tensor)

    def unwritten(self) -> dict[str, int]:
        """Elements never written, per tensor that is not an input (and not let go)."""
        return {
            t.name: self.unwritten_of(i)
            for i, t in enumerate(self.program.tensors)
            if t.name not in self.inputs and t.role != "input" and i not in self.released
        }

    # ---- instructions --------------------------------------------------------------------
    def step(self, rec) -> None:
        """Execute one instruction record."""
        op = int(rec["op"])
        if op == Opcode.MATMUL:
            self._matmul(rec)
        elif op == Opcode.LOAD:
            self._load(rec)
        elif op == Opcode.STORE:
            self._store(rec)
        elif op == Opcode.GATHER:
            self._gather(rec)
        elif op == Opcode.SCATTER:
            self._scatter(rec)

    def _block_index(self, rec) -> np.ndarray:
        rows, cols, off, stride = int(rec["f2"]), int(rec["f3"]), int(rec["f5"]), int(rec["f6"])
        return off + np.arange(rows, dtype=np.int64)[:, None] * stride + np.arange(cols)

    def _block(self, rec, array: np.ndarray) -> np.ndarray:
        """The rows x cols block of a load or store in ``array`` (a tensor's flat values or its
        mask), as a strided view."""
        rows, cols, off, stride = int(rec["f2"]), int(rec["f3"]), int(rec["f5"]), int(rec["f6"])
        item = array.itemsize
        return np.ndarray((rows, cols), array.dtype, array, off * item, (stride * item, item))

    def _load(self, rec) -> None:
        tensor = int(rec["f0"])
        written = self.dram_written[tensor]
        if written is not None and not self._block(rec, written).all():
            self._check_written(tensor, self._block_index(rec))  # names the first such element
        block = self._block(rec, self.tensor(tensor))
        if int(rec["flags"]) & FLAG_TRANSPOSE:
            block = block.T
        # cast straight to the SPM type: the float32 values on the way changed nothing
        self.write_spm(int(rec["f1"]), block, DType(int(rec["dt0"])))

    def _gather(self, rec) -> None:
        tensor = int(rec["f0"])
        g = self.program.convs[int(rec["f4"])]
        m0, rows, k0, cols = int(rec["f5"]), int(rec["f2"]), int(rec["f6"]), int(rec["f3"])
        dtype = DType(int(rec["dt0"]))
        # The tile is built in the SPM type (float32 for bf16, rounded when written), from
        # strided boxes of the tensor: the casts are the ones the float32 values made.
        shape = (cols, rows) if int(rec["flags"]) & FLAG_TRANSPOSE else (rows, cols)
        tile = np.zeros(shape, np.float32 if dtype is DType.BF16 else STORAGE_DTYPE[dtype])
        view = tile.T if int(rec["flags"]) & FLAG_TRANSPOSE else tile
        values = self._nchw(tensor, g)
        written = self.dram_written[tensor]
        if written is not None and not reads_only_set(
            g, m0, rows, k0, cols, written.reshape(values.shape)
        ):
            idx, valid = tile_indices(g, m0, rows, k0, cols)
            self._check_written(tensor, idx[valid])  # names the first such element
        gather_tile(g, m0, rows, k0, cols, values, view)
        self.write_spm(int(rec["f1"]), tile, dtype)

    def _nchw(self, tensor: int, g) -> np.ndarray:
        """DRAM tensor ``tensor`` as the (N, C, H, W) array of conv geometry ``g``."""
        return self.tensor(tensor).reshape(g.batch, g.channels, g.height, g.width)

    def _spm_block(self, rec) -> np.ndarray:
        rows, cols = int(rec["f2"]), int(rec["f3"])
        values = self.read_spm(int(rec["f1"]), rows * cols, DType(int(rec["dt0"])))
        if int(rec["flags"]) & FLAG_TRANSPOSE:
            return values.reshape(cols, rows).T
        return values.reshape(rows, cols)

    def _store(self, rec) -> None:
        tensor = int(rec["f0"])
        target = self._block(rec, self.tensor(tensor))
        flags = int(rec["flags"])
        zero = flags & FLAG_ZERO
        values = np.zeros(target.shape, np.float32) if zero else self._spm_block(rec)
        written = self.dram_written[tensor]
        if flags & FLAG_ACCUMULATE:
            if written is not None and not self._block(rec, written).all():
                self._check_written(tensor, self._block_index(rec))  # names the first one
            values = target.astype(np.float32) + values
        dtype = self.program.tensors[tensor].dtype
        # fp16 and fp32 round as the cast into the tensor does it: no rounded copy first
        target[...] = round_to(values, dtype) if dtype is DType.BF16 else values
        if written is not None:  # rows of a stored block never overlap: its elements differ
            marks = self._block(rec, written)
            fresh = marks.size - np.count_nonzero(marks)
            if fresh:
                marks[...] = True
                self._count_fresh(tensor, fresh)

    def _scatter(self, rec) -> None:
        tensor = int(rec["f0"])
        g = self.program.convs[int(rec["f4"])]
        m0, rows, k0, cols = int(rec["f5"]), int(rec["f2"]), int(rec["f6"]), int(rec["f3"])
        values = self._spm_block(rec)
        if is_injective(g) and self._scatter_apart(rec, tensor, g, values):
            return
        found = col2im_sums(g, m0, rows, k0, cols, values)
        if found is None:
            return  # the tile lies in the padding
        box, sums, touched = found
        every = bool(touched.all())
        picked = slice(None) if every else touched
        target = self._nchw(tensor, g)[box]
        if int(rec["flags"]) & FLAG_ACCUMULATE:
            self._check_box_written(tensor, g, box, touched)
            result = target[picked].astype(np.float32) + sums[picked]
        else:
            result = sums[picked]
        target[picked] = round_to(result, self.program.tensors[tensor].dtype)
        self._mark_box_written(tensor, g, box, None if every else touched)

    def _scatter_apart(self, rec, tensor: int, g, values: np.ndarray) -> bool:
        """``_scatter`` of a tile whose entries each reach an element of their own (an
        injective geometry), part by part: the bits of summing each element's one entry
        from 0.0 in float64 (``col2im_sums``), which is the entry plus 0.0 (a -0.0 entry
        gives +0.0), rounded once. False, having done nothing, when an accumulating
        scatter reads an element never written (``_scatter`` then names it)."""
        m0, rows, k0, cols = int(rec["f5"]), int(rec["f2"]), int(rec["f6"]), int(rec["f3"])
        parts = tile_parts(g, m0, rows, k0, cols)
        target = self._nchw(tensor, g)
        written = self.dram_written[tensor]
        marks = None if written is None else written.reshape(target.shape)
        accumulate = bool(int(rec["flags"]) & FLAG_ACCUMULATE)
        if (
            accumulate
            and marks is not None
            and not all(tensor_box(part, marks, g).all() for part in parts)
        ):
            return False
        dtype = self.program.tensors[tensor].dtype
        zero = np.float32(0.0)
        fresh = 0
        for part in parts:
            box = tensor_box(part, target, g)
            entries = tile_box(part, values) + zero
            if accumulate:
                box[...] = round_to(box.astype(np.float64) + entries, dtype)
            elif dtype is DType.BF16:
                box[...] = round_to(entries, dtype)
            else:  # the cast into the tensor rounds as round_to does
                box[...] = entries
            if marks is not None:
                seen = tensor_box(part, marks, g)
                fresh += seen.size - np.count_nonzero(seen)
                seen[...] = True
        if fresh:
            self._count_fresh(tensor, fresh)
        return True

    def _matmul(self, rec) -> None:
        a_addr, b_addr, c_addr = int(rec["f0"]), int(rec["f1"]), int(rec["f2"])
        m, k, n = int(rec["f3"]), int(rec["f4"]), int(rec["f5"])
        flags = int(rec["flags"])
        in_dtype, c_dtype = DType(int(rec["dt0"])), DType(int(rec["dt1"]))
        a = self.read_spm(a_addr, m * k, in_dtype)
        a = a.reshape(k, m).T if flags & FLAG_TRANSPOSE else a.reshape(m, k)
        b = self.read_spm(b_addr, k * n, in_dtype)
        b = b.reshape(n, k).T if flags & FLAG_TRANSPOSE_B else b.reshape(k, n)
        product = a @ b
        if flags & FLAG_ACCUMULATE:
            product = self.read_spm(c_addr, m * n, c_dtype).reshape(m, n) + product
        self.write_spm(c_addr, np.ascontiguousarray(product), c_dtype, fresh=True)


def run_functional(
    program: Program,
    codes: list[CoreCode],
    inputs: dict[str, np.ndarray],
    done: Callable[[str, np.ndarray, int], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[list[np.ndarray | None], dict[str, int]]:
    """Execute the program on ``inputs``; the final contents of every DRAM tensor, and the
    elements never written of each tensor that is not an input.

    With ``done``, each tensor is handed to ``done(name, values, never_written)`` as soon
    as the program is done with it (after its last load, store, gather or scatter) and
    then let go: its entry of the result is None, and it leaves ``inputs`` (the caller's
    dict) too. Tensors the program never touches stay. ``on_progress(executed, total)``
    is called now and then (every ``PROGRESS_EVERY`` instructions of a core).
    """
    peak = max((c.spm_peak_bytes for c in codes), default=0)
    stored: set[int] = set()
    touches = [[-1] * len(c.kind) for c in codes]  # per core and instruction: the tensor
    left = [0] * len(program.tensors)  # per tensor, the instructions still to touch it
    for code, touched in zip(codes, touches, strict=True):
        op = code.records["op"]
        kinds = (op == Opcode.STORE) | (op == Opcode.SCATTER)
        stored.update(np.unique(code.records["f0"][kinds]).tolist())
        if done is not None:
            dma = code.tensor >= 0
            for i, t in zip(np.flatnonzero(dma).tolist(), code.tensor[dma].tolist(), strict=True):
                touched[i] = t
                left[t] += 1
    try:
        machine = Machine(program, inputs, peak, frozenset(stored))
    except (MemoryError, ValueError):
        dram = sum(t.nbytes for t in program.tensors)
        raise SimError(
            f"not enough memory to run on data: {dram:,} bytes of DRAM tensors and "
            f"{peak:,} bytes of SPM per core"
        ) from None
    machine.program_records = [c.records for c in codes]
    cores = len(codes)
    pcs = [0] * cores
    total = sum(len(c.records) for c in codes)
    halted = [False] * cores
    counts: dict[tuple[int, int], int] = {}
    arrived: dict[tuple[int, int], set[int]] = {}
    blocked: set[int] = set()
    with np.errstate(all="ignore"):
        progress = True
        while progress:
            progress = False
            for c in range(cores):
                if halted[c] or c in blocked:
                    continue
                progress = True
                records = codes[c].records
                machine.core = c
                i = pcs[c]
                while i < len(records):
                    rec = records[i]
                    op = int(rec["op"])
                    if op == Opcode.HALT:
                        break
                    if op == Opcode.BARRIER:
                        break
                    machine.index = i
                    machine.step(rec)
                    if on_progress is not None and not i % PROGRESS_EVERY:
                        on_progress(sum(pcs) - pcs[c] + i, total)
                    if done is not None and touches[c][i] >= 0:
                        t = touches[c][i]
                        left[t] -= 1
                        if not left[t]:
                            name = program.tensors[t].name
                            done(name, machine.tensor(t), machine.unwritten_of(t))
                            machine.release(t)
                            inputs.pop(name, None)
                    i += 1
                pcs[c] = i
                if i >= len(records) or int(records[i]["op"]) == Opcode.HALT:
                    halted[c] = True
                    continue
                bid, mask = int(records[i]["f0"]), int(records[i]["f1"])
                nth = counts.get((c, bid), 0)
                counts[(c, bid)] = nth + 1
                group = arrived.setdefault((bid, nth), set())
                group.add(c)
                blocked.add(c)
                members = {x for x in range(cores) if mask >> x & 1}
                if members <= group:
                    for x in members:
                        blocked.discard(x)
                        pcs[x] += 1
    for t in list(machine.drawing):  # inputs the program never read
        machine.tensor(t)
    return machine.dram, machine.unwritten()


PROGRESS_EVERY = 1024
"""Instructions of a core between two calls of ``run_functional``'s ``on_progress``."""


def first_reads(program: Program, codes: list[CoreCode]) -> list[int]:
    """The tensors the program moves, in the order it first moves them (by the position
    of a tensor's first DMA in its core's stream, the earliest over the cores)."""
    first = np.full(len(program.tensors), np.iinfo(np.int64).max, np.int64)
    for code in codes:
        dma = np.flatnonzero(code.tensor >= 0)
        np.minimum.at(first, code.tensor[dma], dma)
    moved = np.flatnonzero(first < np.iinfo(np.int64).max)
    return moved[np.argsort(first[moved], kind="stable")].tolist()
