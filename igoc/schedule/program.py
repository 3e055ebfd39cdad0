"""A whole program: every core's layers planned together, then emitted as one ``Program``.

Each core walks its share of every layer, in program order, and one SPM plan
covers the walk: a tile that one layer leaves in SPM and the next one needs is
not loaded again (the baseline's dX and dW, two ops, keep dY tiles that happen
to be resident, exactly as the paper's baseline does). Cores wait for each
other at barriers, which the lowering places where a layer reads what another
core may have written.

A layer whose im2col matrices are materialised adds copies: X gathered into
X_col before it, dX_col folded back into dX (col2im) after it. A layer whose
reduction is split across cores, when partial sums are wider than the output
(``psum_bytes`` 4 for an fp16 output), has the cores add their shares into a
wide buffer and then rounds it into the output (a conversion). Copies and
conversions stream blocks through two halves of the SPM, so the plan starts
afresh after them.

DRAM holds old data (a training step reuses its buffers), so an output that a
layer adds into or writes only in part is set to zero first: a conv's dX folded
back by a scatter-accumulate (windows that overlap) or reached only in part by
its windows (a stride longer than the kernel), and an output whose reduction the
cores split (each adds its share). Zero stores read no SPM, so these fills do
not interrupt the plan; they open the program, where the store queue is idle,
and the barrier before the first layer that writes such a tensor orders them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from igoc.isa.im2col import covers_input, distinct_elements, is_injective
from igoc.isa.instructions import Barrier, ConvGeometry, DType, Gather, Halt, Load, Scatter, Store
from igoc.isa.program import Program
from igoc.schedule.describe import LayerDesc
from igoc.schedule.emit import EmitContext, ProgramBuilder, emit_plan, partial_name, psum_dtype
from igoc.schedule.layer import COMPUTATIONS, LayerGemm
from igoc.schedule.layer_schedule import LayerSchedule, core_steps, window_bytes
from igoc.schedule.planner import Plan, PlanError, plan_schedule
from igoc.schedule.steps import Matmul
from igoc.target import Target


@dataclass(frozen=True)
class ScheduledLayer:
    """A layer and its schedule, as a core runs its share."""

    desc: LayerDesc
    schedule: LayerSchedule


@dataclass(frozen=True)
class BarrierMark:
    """All cores in ``cores`` wait for each other here."""

    barrier_id: int
    cores: tuple[int, ...]


@dataclass(frozen=True)
class CopyMark:
    """Materialise an im2col matrix in DRAM (``im2col``) or fold one back (``col2im``).

    The rows of the (N*OH*OW) x (Cin*R*S) matrix are split evenly over ``cores``.
    """

    kind: str  # "im2col": tensor -> col_tensor; "col2im": col_tensor added into tensor
    tensor: str  # the NCHW tensor
    col_tensor: str  # its im2col matrix in DRAM
    geometry: ConvGeometry
    dtype: DType
    cores: int

    @property
    def name(self) -> str:
        """The copy's label."""
        return f"{self.col_tensor}:{self.kind}"


@dataclass(frozen=True)
class ConvertMark:
    """Round a wider partial-sum buffer into its output, after the cores added their shares.

    The tensor is viewed as ``prod(shape[:-1]) x shape[-1]`` rows, split evenly over ``cores``.
    """

    source: str  # the partial-sum buffer (psum dtype)
    target: str  # the output
    shape: tuple[int, ...]
    source_dtype: DType
    target_dtype: DType
    cores: int

    @property
    def name(self) -> str:
        """The conversion's label."""
        return f"{self.source}:convert"

    def blocks(self, core: int, spm_bytes: int) -> list[tuple[int, int, int, int]]:
        """This core's blocks ``(row0, rows, col0, cols)``, each fitting half the SPM."""
        cols_total = self.shape[-1]
        rows_total = 1
        for d in self.shape[:-1]:
            rows_total *= d
        lo, hi = rows_total * core // self.cores, rows_total * (core + 1) // self.cores
        half = spm_bytes // 2 // self.source_dtype.nbytes
        cols = min(cols_total, half)
        rows = max(1, half // cols)
        return [
            (r0, min(rows, hi - r0), c0, min(cols, cols_total - c0))
            for r0 in range(lo, hi, rows)
            for c0 in range(0, cols_total, cols)
        ]


@dataclass(frozen=True)
class ZeroMark:
    """Set a DRAM tensor to zero (this core's rows of it) before layers add into it.

    The tensor is viewed as ``prod(shape[:-1]) x shape[-1]`` rows, split evenly over
    ``cores``; each core's rows are zero stores of at most ``ZERO_ROWS`` rows.
    """

    tensor: str
    shape: tuple[int, ...]
    dtype: DType
    cores: int

    @property
    def name(self) -> str:
        """The fill's label."""
        return f"{self.tensor}:zero"

    def blocks(self, core: int) -> list[tuple[int, int]]:
        """This core's blocks ``(row0, rows)`` of ``shape[-1]`` elements each."""
        rows_total = 1
        for d in self.shape[:-1]:
            rows_total *= d
        lo, hi = rows_total * core // self.cores, rows_total * (core + 1) // self.cores
        return [(r0, min(ZERO_ROWS, hi - r0)) for r0 in range(lo, hi, ZERO_ROWS)]


ZERO_ROWS = 1 << 16
"""Rows per zero store: a fill is a few long DMAs, which still fit the record's fields."""


Item = ScheduledLayer | BarrierMark | CopyMark | ConvertMark | ZeroMark


@dataclass
class CorePlan:
    """One core's walk, planned: its plans, and where each item is in them.

    ``estimates`` is the cost model's memory of what it estimated of the items
    (``cost.model.item_estimates``): the plans do not change once made, and a program that
    ``confirm-program`` weighed is estimated again, item by item, by the lowering.
    """

    core: int
    plans: list[Plan]
    ctx: EmitContext
    where: list[tuple[int, int, int]]  # per item: plan index (-1: none), first step, end
    estimates: dict = field(default_factory=dict)


PlanCycles = Callable[[Plan, EmitContext], float]
"""How long a core takes to run a plan (the cost model's estimate): what chooses between the
two plans of a walk."""


TWO_PLANS_STEPS = 20000
"""Walks up to this many steps are planned twice (tiles kept for any later use, or only into
the next op) and the faster plan taken; longer ones, whose ops fill the SPM one after another
so that little survives from one op to a later one anyway, are planned once, keeping tiles
for any later use (planning twice would cost a large network as much time again)."""


LayerWalks = dict[tuple, tuple[LayerDesc, list[tuple[Matmul, ...]]]]
"""The steps of layers planned before (``plan_core``'s ``walks``), by the layer op (its
identity: the op is kept with them), its schedule and the core."""


def plan_core(
    target: Target,
    core: int,
    items: list[Item],
    plan_cycles: PlanCycles,
    walks: LayerWalks | None = None,
) -> CorePlan:
    """Plan one core's share of every item; a copy or a conversion starts a new plan.

    ``walks``: the steps of the layers of programs planned before, taken where a layer and
    its schedule come again (programs that differ in a few layers' schedules walk the others
    alike; their plans then share those steps), and the steps made here added.
    Raises ``igoc.schedule.planner.PlanError`` if a step does not fit the SPM.
    """
    plans: list[Plan] = []
    where: list[tuple[int, int, int]] = []
    steps: list[tuple[Matmul, ...]] = []
    ops: list[int] = []  # per step, which of this core's ops (with steps) it belongs to
    partial: set[str] = set()

    ctx = EmitContext.of(target, core)
    tile_bytes = ctx.tile_bytes
    # Under the ``window`` or ``none`` discipline (any layer's schedule has it: a pipeline
    # gives it to all), tiles are kept only within the window, and the plan is made once.
    window = next(
        (
            window_bytes(item.schedule.reuse, target.spm_bytes)
            for item in items
            if isinstance(item, ScheduledLayer) and item.schedule.reuse != "belady"
        ),
        None,
    )

    def close() -> None:
        # Two plans: tiles kept for any later use, and kept only into the next op; the
        # one the cost model finds faster is taken (see ``igoc.schedule.planner``).
        if steps:
            walk = list(steps)
            try:
                plan = plan_schedule(
                    walk, tile_bytes, target.spm_bytes, lambda t: t in partial, None, window
                )
            except PlanError as err:
                raise _where(err, core, items, where, len(plans)) from None
            if ops[-1] > 1 and len(walk) <= TWO_PLANS_STEPS and window is None:
                near = plan_schedule(
                    walk, tile_bytes, target.spm_bytes, lambda t: t in partial, list(ops)
                )
                if plan_cycles(near, ctx) < plan_cycles(plan, ctx):
                    plan = near
            plans.append(plan)
            steps.clear()
            ops.clear()

    for item in items:
        if isinstance(item, CopyMark | ConvertMark):
            close()
            where.append((-1, 0, 0))
            continue
        if isinstance(item, ZeroMark):
            where.append((-1, 0, 0))  # no SPM: the plan goes on across it
            continue
        first = len(steps)
        if isinstance(item, ScheduledLayer):
            layers = item.desc.layers()
            if walks is None:
                steps += core_steps(layers, item.schedule, core)
            else:
                key = (id(item.desc), item.schedule, core)
                found = walks.get(key)
                if found is None:
                    found = walks[key] = (item.desc, core_steps(layers, item.schedule, core))
                steps += found[1]
            op = ops[-1] + 1 if ops else 0  # counting this core's ops with steps
            ops += [op] * (len(steps) - first)
            for layer in layers:
                for role in item.schedule.partial_roles(layer):
                    partial.add(layer.accesses[role].tensor)
        where.append((len(plans), first, len(steps)))
    close()
    return CorePlan(core, plans, ctx, where)


def _where(
    err: PlanError, core: int, items: list[Item], where: list[tuple[int, int, int]], plan: int
) -> PlanError:
    """``err`` of the plan numbered ``plan`` of a core's walk, saying which core and layer."""
    for item, (index, first, end) in zip(items, where, strict=False):
        if (
            isinstance(item, ScheduledLayer)
            and index == plan
            and err.step is not None
            and first <= err.step < end
        ):
            message = str(err).replace(f"step {err.step} ", f"step {err.step - first} ", 1)
            found = PlanError(
                f"layer {item.desc.name} on core {core}: {message}", err.needed_bytes, err.step
            )
            found.item = item
            return found
    return err


# ---- the items of layers -----------------------------------------------------------------------


def conversions(desc: LayerDesc, schedule: LayerSchedule, target: Target) -> list[ConvertMark]:
    """The conversions a layer needs: outputs whose cores' shares add up in wider partial sums."""
    out = []
    layer = desc.layers()[0]
    psum = psum_dtype(target)
    for role in sorted(schedule.partial_roles(layer)):
        access = layer.accesses[role]
        if psum.nbytes <= access.dtype.nbytes:
            continue
        if access.tensor == desc.tensors[role]:
            shape = desc.shapes[role]
        else:
            shape = (access.view_rows, access.view_cols)
        out.append(
            ConvertMark(
                partial_name(access.tensor),
                access.tensor,
                tuple(shape),
                psum,
                access.dtype,
                target.cores,
            )
        )
    return out


def zero_fills(desc: LayerDesc, schedule: LayerSchedule, target: Target) -> list[ZeroMark]:
    """The outputs of a layer that must be zero before it runs (see the module docstring):
    those of ``gemm_fills``, and with a materialised dX_col, dX itself where its fold
    back (``CopyMark``, a col2im scatter) adds into it or leaves part of it alone."""
    shapes = {desc.tensors[role]: desc.shapes[role] for role in desc.tensors}
    fills = gemm_fills(desc.layers(), desc.computations, schedule, target, shapes)
    cols = desc.col_tensors()
    if "dX" in cols and _folds_partly(desc.x_geometry()):
        fills.append(ZeroMark(desc.tensors["dX"], desc.shapes["dX"], desc.dtype, target.cores))
    return fills


def gemm_fills(
    layers: list[LayerGemm],
    computations: tuple[str, ...],
    schedule: LayerSchedule,
    target: Target,
    shapes: dict[str, tuple[int, ...]],
) -> list[ZeroMark]:
    """The outputs the GEMMs of a layer add into or write only in part, to be zeroed first.

    An output whose reduction the cores split is added into (into its wider partial-sum
    buffer, when partial sums are wider); an output written by a col2im scatter (a conv's
    dX) is added into where windows overlap and left alone where none reaches.
    ``shapes``: the shape of each NCHW tensor (an im2col matrix in DRAM is its view).
    """
    out: dict[str, ZeroMark] = {}
    psum = psum_dtype(target)
    for layer in layers:
        partial = schedule.partial_roles(layer)
        for comp in computations:
            role = COMPUTATIONS[comp].acc
            access = layer.accesses[role]
            shape = tuple(shapes.get(access.tensor, (access.view_rows, access.view_cols)))
            if role in partial and psum.nbytes > access.dtype.nbytes:
                name, dtype = partial_name(access.tensor), psum
            elif role in partial or (access.kind == "im2col" and _folds_partly(access.conv)):
                name, dtype = access.tensor, access.dtype
            else:
                continue
            out.setdefault(name, ZeroMark(name, shape, dtype, target.cores))
    return list(out.values())


def _folds_partly(geometry: ConvGeometry | None) -> bool:
    """True if a col2im scatter under ``geometry`` adds into its tensor or skips some of it."""
    return geometry is not None and not (is_injective(geometry) and covers_input(geometry))


def layer_items(desc: LayerDesc, schedule: LayerSchedule, target: Target) -> list[Item]:
    """A layer with what comes with it: zero fills of the outputs it adds into, copies of
    materialised im2col matrices, conversions."""
    items: list[Item] = list(zero_fills(desc, schedule, target))
    cols = desc.col_tensors()
    geometry = desc.x_geometry() if cols else None
    if "X" in cols and any(c in ("fwd", "dw") for c in desc.computations):
        items.append(
            CopyMark("im2col", desc.tensors["X"], cols["X"], geometry, desc.dtype, target.cores)
        )
    items.append(ScheduledLayer(desc, schedule))
    items += conversions(desc, schedule, target)
    if "dX" in cols:
        items.append(
            CopyMark("col2im", desc.tensors["dX"], cols["dX"], geometry, desc.dtype, target.cores)
        )
    return items


def reads_writes(item: Item) -> tuple[set[str], set[str]]:
    """The DRAM tensors an item reads and writes."""
    if isinstance(item, CopyMark):
        if item.kind == "im2col":
            return {item.tensor}, {item.col_tensor}
        return {item.col_tensor}, {item.tensor}
    if isinstance(item, ConvertMark):
        return {item.source}, {item.target}
    if isinstance(item, ZeroMark):
        return set(), {item.tensor}
    if isinstance(item, ScheduledLayer):
        access = item.desc.layers()[0].accesses
        reads = {access[r].tensor for r in ("X", "W", "dY") if r in access}
        writes = {access[r].tensor for r in ("Y", "dX", "dW") if r in access}
        return reads, writes | {partial_name(t) for t in writes}
    return set(), set()


def synchronise(items: list[Item], cores: int) -> list[Item]:
    """Put the zero fills first, order a layer's lone dX and dW ops dW first, and add
    barriers where cores must wait.

    The fills open the program (once per tensor): there the store queue is idle, and
    the barrier before the first layer that writes a filled tensor orders it after the
    fill on every core. dW goes first as in the ``sequential`` order (``layer_schedule.py``
    says why), so that separate ops and fused ones are ordered alike. With several
    cores, a barrier comes before an item that reads or writes what an item since the
    last barrier wrote.
    """
    fills = list({i.tensor: i for i in items if isinstance(i, ZeroMark)}.values())
    items = fills + [i for i in items if not isinstance(i, ZeroMark)]
    for i in range(len(items) - 1):
        a, b = items[i], items[i + 1]
        if (
            isinstance(a, ScheduledLayer)
            and isinstance(b, ScheduledLayer)
            and a.desc.computations == ("dx",)
            and b.desc.computations == ("dw",)
            and a.desc.tensors["dY"] == b.desc.tensors["dY"]
        ):
            items[i], items[i + 1] = b, a
    out: list[Item] = []
    written: set[str] = set()
    for item in items:
        reads, writes = reads_writes(item)
        if cores > 1 and (reads | writes) & written:
            out.append(
                BarrierMark(sum(isinstance(o, BarrierMark) for o in out), tuple(range(cores)))
            )
            written = set()
        written |= writes
        out.append(item)
    return out


TensorSpec = tuple[str, str, DType, tuple[int, ...]]
"""A DRAM tensor of a program: name, role, element type, shape."""


def extra_tensors(items: list[Item]) -> list[TensorSpec]:
    """DRAM tensors that items add: materialised im2col matrices, wide partial-sum buffers."""
    out = []
    for item in items:
        if isinstance(item, CopyMark):
            g = item.geometry
            out.append((item.col_tensor, "scratch", item.dtype, (g.rows, g.cols)))
        elif isinstance(item, ConvertMark):
            out.append((item.source, "psum", item.source_dtype, item.shape))
    return out


def program_tensors(declared: list[TensorSpec], items: list[Item]) -> list[TensorSpec]:
    """The DRAM tensors of a program: those ``declared``, then what its items add (once)."""
    out = list(declared)
    names = {name for name, *_ in out}
    for spec in extra_tensors(items):
        if spec[0] not in names:
            out.append(spec)
            names.add(spec[0])
    return out


# ---- copies --------------------------------------------------------------------------------------


def copy_blocks(copy: CopyMark, core: int, target: Target) -> list[tuple[int, int, int, int]]:
    """This core's blocks of a copy, ``(row0, rows, col0, cols)``, each fitting half the SPM."""
    g = copy.geometry
    lo, hi = g.rows * core // copy.cores, g.rows * (core + 1) // copy.cores
    half = target.spm_bytes // 2 // copy.dtype.nbytes  # elements per buffer
    cols = min(g.cols, half)
    rows = max(1, half // cols)
    return [
        (r0, min(rows, hi - r0), c0, min(cols, g.cols - c0))
        for r0 in range(lo, hi, rows)
        for c0 in range(0, g.cols, cols)
    ]


def copy_traffic(copy: CopyMark, core: int, target: Target) -> dict[str, list[int]]:
    """DRAM bytes ``[read, write]`` per tensor of this core's share of a copy."""
    g, elem = copy.geometry, copy.dtype.nbytes
    gathered = dense = 0
    for r0, rows, c0, cols in copy_blocks(copy, core, target):
        gathered += distinct_elements(g, r0, rows, c0, cols) * elem
        dense += rows * cols * elem
    if copy.kind == "im2col":
        return {copy.tensor: [gathered, 0], copy.col_tensor: [0, dense]}
    scatter_read = 0 if is_injective(g) else gathered
    return {copy.col_tensor: [dense, 0], copy.tensor: [scatter_read, gathered]}


def emit_copy(copy: CopyMark, core: int, target: Target, builder: ProgramBuilder) -> None:
    """Append this core's share of a copy to its stream (two SPM buffers, alternating)."""
    g = copy.geometry
    base = core * target.spm_bytes if target.spm_shared else 0
    half = target.spm_bytes // 2
    conv = builder.conv(g)
    tensor = builder.tensor_index[copy.tensor]
    col = builder.tensor_index[copy.col_tensor]
    stream = builder.streams[core]
    for b, (r0, rows, c0, cols) in enumerate(copy_blocks(copy, core, target)):
        spm = base + (b % 2) * half
        offset = r0 * g.cols + c0
        if copy.kind == "im2col":
            stream.append(Gather(tensor, conv, r0, c0, rows, cols, spm, copy.dtype))
            stream.append(Store(col, offset, rows, cols, g.cols, spm, copy.dtype))
        else:
            stream.append(Load(col, offset, rows, cols, g.cols, spm, copy.dtype))
            stream.append(
                Scatter(tensor, conv, r0, c0, rows, cols, spm, copy.dtype, not is_injective(g))
            )


def zero_traffic(zero: ZeroMark, core: int) -> dict[str, list[int]]:
    """DRAM bytes ``[read, write]`` of this core's share of a fill."""
    rows = sum(r for _, r in zero.blocks(core))
    return {zero.tensor: [0, rows * zero.shape[-1] * zero.dtype.nbytes]}


def emit_zero(zero: ZeroMark, core: int, builder: ProgramBuilder) -> None:
    """Append this core's share of a fill: zero stores, no SPM."""
    tensor = builder.tensor(zero.tensor, "psum", zero.dtype, zero.shape)
    ld = zero.shape[-1]
    stream = builder.streams[core]
    for r0, rows in zero.blocks(core):
        stream.append(Store(tensor, r0 * ld, rows, ld, ld, 0, zero.dtype, zero=True))


def convert_traffic(convert: ConvertMark, core: int, target: Target) -> dict[str, list[int]]:
    """DRAM bytes ``[read, write]`` per tensor of this core's share of a conversion."""
    elems = sum(r * c for _, r, _, c in convert.blocks(core, target.spm_bytes))
    return {
        convert.source: [elems * convert.source_dtype.nbytes, 0],
        convert.target: [0, elems * convert.target_dtype.nbytes],
    }


def emit_convert(convert: ConvertMark, core: int, target: Target, builder: ProgramBuilder) -> None:
    """Append this core's share of a conversion (two SPM buffers, alternating)."""
    base = core * target.spm_bytes if target.spm_shared else 0
    half = target.spm_bytes // 2
    source = builder.tensor(convert.source, "psum", convert.source_dtype, convert.shape)
    dest = builder.tensor_index[convert.target]
    ld = convert.shape[-1]
    stream = builder.streams[core]
    for b, (r0, rows, c0, cols) in enumerate(convert.blocks(core, target.spm_bytes)):
        spm = base + (b % 2) * half
        offset = r0 * ld + c0
        stream.append(Load(source, offset, rows, cols, ld, spm, convert.source_dtype))
        stream.append(Store(dest, offset, rows, cols, ld, spm, convert.source_dtype))


# ---- emission -----------------------------------------------------------------------------------


def build_program(
    target: Target,
    tensors: list[tuple[str, str, object, tuple[int, ...]]],
    cores: list[list[Item]],
    reference: list[dict],
    meta: dict,
    core_plans: list[CorePlan],
) -> Program:
    """The program of every core's items as planned (tensors: ``(name, role, DType, shape)``)."""
    builder = ProgramBuilder(target)
    for name, role, dtype, shape in tensors:
        builder.tensor(name, role, dtype, shape)  # type: ignore[arg-type]
    for core, items in enumerate(cores):
        cp = core_plans[core]
        stream = builder.streams[core]
        for item, (index, first, end) in zip(items, cp.where, strict=True):
            start = len(stream)
            if isinstance(item, BarrierMark):
                stream.append(Barrier(item.barrier_id, sum(1 << c for c in item.cores)))
            elif isinstance(item, CopyMark):
                emit_copy(item, core, target, builder)
                builder.label(core, start, item.name)
            elif isinstance(item, ConvertMark):
                emit_convert(item, core, target, builder)
                builder.label(core, start, item.name)
            elif isinstance(item, ZeroMark):
                emit_zero(item, core, builder)
                builder.label(core, start, item.name)
            else:
                if first < end:
                    emit_plan(cp.plans[index], cp.ctx, builder, core, first, end)
                builder.label(core, start, item.desc.name)
        stream.append(Halt())
    return builder.build(reference, meta)


def reference_ops(items: list[Item]) -> list[dict]:
    """The reference ops (``igoc.reference``) of the layers among ``items``, in order."""
    return [
        op for item in items if isinstance(item, ScheduledLayer) for op in item.desc.reference_ops()
    ]


@dataclass
class Lowered:
    """A program as the lowering planned it: its DRAM tensors, each core's items and plan.

    ``program(meta)`` emits it; the lowering's plans are the plans emitted.
    """

    target: Target
    tensors: list[TensorSpec]
    cores: list[list[Item]]
    core_plans: list[CorePlan]

    def program(self, meta: dict) -> Program:
        """The NPU program, its reference ops those of core 0's layers."""
        reference = reference_ops(self.cores[0])
        return build_program(
            self.target, self.tensors, self.cores, reference, meta, self.core_plans
        )
