"""The sched dialect: the decisions of igoc's passes, as typed attributes on the layer ops.

A layer op (a ``grad`` op that becomes GEMMs) carries what the passes decided
for it in discardable attributes named ``sched.*``:

- ``sched.gemm = #sched.gemm<m = 4, n = 64, k = 128, groups = 1>`` — its GEMM frame
  (``conv-to-gemm``): M = batch·OH·OW, K = Cin/groups·R·S, N = Cout/groups for a conv,
  one GEMM per group;
- ``sched.im2col = "on-the-fly"`` or ``"materialize"`` — how a conv reads X and writes dX;
- ``sched.schedule = #sched.schedule<...>`` — the tile order, the tiles of each
  computation, the loop orders of ``sequential`` and the partition (``tile``,
  ``select-order``, ``partition``, ``confirm-program``)::

      #sched.schedule<order = "ijl", tiles = [32x32x32]>
      #sched.schedule<order = "sequential", tiles = [1x64x128, 1x64x128],
                      loops = ["ijl", "ijl"], partition = "m", parts = 4, cores = 4>

  (``tiles``: one ``MxNxK`` per computation; the partition is left out when
  nothing is split on one core; ``tiler = "analytic"`` and ``reuse = "window"``, the
  discipline of the paper's baseline, or ``reuse = "none"`` are printed only when chosen);
- ``sched.policy``, ``sched.candidates``, ``sched.partitions`` — what a decision
  weighed and why (records for the reader; no pass reads them); the module's
  ``sched.program`` — what ``confirm-program`` compared.

Each attribute verifies itself when it is built or parsed (tile sizes at least 1,
orders and loop orders that exist, a partition of at least one part and core);
:func:`verify_op_attributes` checks them against the op that carries them (one
tiling per computation, tiles within the GEMM frame, ``sched.gemm`` equal to the
frame of the op's shapes, no unknown ``sched.*`` name); :func:`check_target`
against the target (no more cores than it has). The helpers that read and write
them (:func:`op_schedule`, :func:`checked_schedule`, :func:`set_schedule`,
:func:`set_record`) live here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    DictionaryAttr,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    f64,
    i64,
)
from xdsl.ir import Attribute, Dialect, Operation, ParametrizedAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.utils.exceptions import VerifyException

from igoc.frontend.diagnostics import error_at
from igoc.schedule.layer_schedule import (
    INTERLEAVED_ORDERS,
    REUSES,
    TILERS,
    LayerSchedule,
    Partition,
)
from igoc.schedule.steps import PERMUTATIONS, Tiling

if TYPE_CHECKING:
    from xdsl.parser import AttrParser
    from xdsl.printer import Printer

    from igoc.target import Target

PREFIX = "sched."
IM2COL_MODES = ("on-the-fly", "materialize")
PARTITION_DIMS = ("none", "m", "n", "k")

RECORDS = ("policy", "candidates", "partitions", "replaced")
"""``sched.*`` attributes that record what a decision weighed (free-form dictionaries)."""

OP_ATTRIBUTES = ("gemm", "im2col", "schedule", *RECORDS)
"""Every ``sched.*`` attribute a layer op may carry."""


# ---- parsing helpers ----------------------------------------------------------------------------


def _parse_entries(
    parser: AttrParser, known: Sequence[str], required: Sequence[str], parse_value
) -> dict[str, object]:
    """``<name = value, ...>`` with names among ``known`` (those ``required`` given), each value
    read by ``parse_value(parser, name)``."""
    entries: dict[str, object] = {}

    def entry() -> None:
        start = parser.pos
        name = parser.parse_identifier(" (an entry's name)")
        if name not in known:
            parser.raise_error(f"unknown entry '{name}'; entries: {', '.join(known)}", start)
        if name in entries:
            parser.raise_error(f"'{name}' is given twice", start)
        parser.parse_punctuation("=")
        entries[name] = parse_value(parser, name)

    with parser.in_angle_brackets():
        parser.parse_comma_separated_list(parser.Delimiter.NONE, entry)
        for name in required:
            if name not in entries:
                parser.raise_error(f"missing entry '{name}'")
    return entries


def _parse_tiling(parser: AttrParser) -> tuple[int, ...]:
    start = parser.pos
    if parser.parse_optional_punctuation("-") is not None:
        parser.raise_error("tile sizes are positive integers, written MxNxK", start)
    dims = parser.parse_dimension_list()
    if len(dims) != 3:
        parser.raise_error("a tiling is three sizes, MxNxK", start)
    return tuple(dims)


# ---- the GEMM frame -----------------------------------------------------------------------------


@irdl_attr_definition
class GemmAttr(ParametrizedAttribute):
    """The GEMM frame of a layer op: M, N, K of each of its ``groups`` GEMMs.

    #sched.gemm<m = 3136, n = 64, k = 576, groups = 1>
    """

    name = "sched.gemm"
    m: IntAttr
    n: IntAttr
    k: IntAttr
    groups: IntAttr

    @staticmethod
    def of(m: int, n: int, k: int, groups: int = 1) -> GemmAttr:
        """The frame of these sizes."""
        return GemmAttr(IntAttr(m), IntAttr(n), IntAttr(k), IntAttr(groups))

    def sizes(self) -> tuple[int, int, int, int]:
        """M, N, K and groups."""
        return (self.m.data, self.n.data, self.k.data, self.groups.data)

    def verify(self) -> None:
        for label, value in zip("mnk", self.sizes(), strict=False):
            if value < 1:
                raise VerifyException(f"#sched.gemm: {label} must be at least 1, got {value}")
        if self.groups.data < 1:
            raise VerifyException(f"#sched.gemm: groups must be at least 1, got {self.groups.data}")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        names = ("m", "n", "k", "groups")
        entries = _parse_entries(
            parser, names, names, lambda p, _: p.parse_integer(allow_boolean=False)
        )
        return tuple(IntAttr(entries[name]) for name in names)  # type: ignore[arg-type]

    def print_parameters(self, printer: Printer) -> None:
        m, n, k, groups = self.sizes()
        printer.print_string(f"<m = {m}, n = {n}, k = {k}, groups = {groups}>")


# ---- the schedule -------------------------------------------------------------------------------


@irdl_attr_definition
class ScheduleAttr(ParametrizedAttribute):
    """A layer op's schedule: its order, one tiling per computation, loop orders, partition.

    ``order`` is a loop order of ``ijl`` for a single GEMM (i walks M, j N, l K,
    outermost first), or one of ``layer_schedule.INTERLEAVED_ORDERS`` for dX and
    dW together; ``loops`` gives each GEMM's loop order under ``sequential``. The
    frame is cut along ``partition`` (``none``, ``m``, ``n`` or ``k``) into
    ``parts`` boxes, box ``p`` on core ``p % cores``. ``tiler`` and ``reuse`` are how the
    tiles were found and how the SPM keeps them (``layer_schedule``: printed when not
    ``search`` and ``belady``).
    """

    name = "sched.schedule"
    order: StringAttr
    tiles: ArrayAttr[ArrayAttr[IntAttr]]
    loops: ArrayAttr[StringAttr]  # empty: each computation's own order
    partition: StringAttr
    parts: IntAttr
    cores: IntAttr
    tiler: StringAttr
    reuse: StringAttr

    @staticmethod
    def of(schedule: LayerSchedule) -> ScheduleAttr:
        """The attribute of a schedule."""
        p = schedule.partition
        return ScheduleAttr(
            StringAttr(schedule.order),
            ArrayAttr(
                [ArrayAttr([IntAttr(t.m), IntAttr(t.n), IntAttr(t.k)]) for t in schedule.tilings]
            ),
            ArrayAttr([StringAttr(loop) for loop in schedule.loops or ()]),
            StringAttr(p.dim or "none"),
            IntAttr(p.parts),
            IntAttr(p.cores),
            StringAttr(schedule.tiler),
            StringAttr(schedule.reuse),
        )

    def tilings(self) -> tuple[Tiling, ...]:
        """The tile sizes of each computation."""
        return tuple(Tiling(*(d.data for d in t.data)) for t in self.tiles.data)

    def schedule(self, computations: tuple[str, ...]) -> LayerSchedule:
        """The schedule of an op with these computations (``verify_op_attributes`` first)."""
        dim = self.partition.data
        partition = Partition(None if dim == "none" else dim, self.parts.data, self.cores.data)
        loops = tuple(loop.data for loop in self.loops.data) or None
        return LayerSchedule(
            computations,
            self.order.data,
            self.tilings(),
            partition,
            loops,
            self.tiler.data,
            self.reuse.data,
        )

    def verify(self) -> None:
        order, count = self.order.data, len(self.tiles.data)
        if count not in (1, 2):
            raise VerifyException(
                f"#sched.schedule: one tiling per computation (1 or 2), got {count}"
            )
        for tiling in self.tiles.data:
            sizes = [d.data for d in tiling.data]
            if len(sizes) != 3 or min(sizes) < 1:
                raise VerifyException(
                    f"#sched.schedule: tile sizes must be three integers of at least 1 (MxNxK), "
                    f"got {'x'.join(map(str, sizes))}"
                )
        if count == 1 and order not in PERMUTATIONS:
            raise VerifyException(
                f"#sched.schedule: order '{order}' is no loop order of one GEMM; "
                f"orders: {', '.join(PERMUTATIONS)}"
            )
        if count == 2 and order not in INTERLEAVED_ORDERS:
            raise VerifyException(
                f"#sched.schedule: order '{order}' is no order of dX and dW; "
                f"orders: {', '.join(INTERLEAVED_ORDERS)}"
            )
        tiler, reuse = self.tiler.data, self.reuse.data
        if tiler not in TILERS:
            raise VerifyException(
                f"#sched.schedule: tiler '{tiler}' is none of {', '.join(TILERS)}"
            )
        if reuse not in REUSES:
            raise VerifyException(
                f"#sched.schedule: reuse '{reuse}' is none of {', '.join(REUSES)}"
            )
        separate = order == "sequential" or (order == "only-interleaving" and tiler == "analytic")
        if count == 2 and not separate and self.tiles.data[0] != self.tiles.data[1]:
            raise VerifyException(
                f"#sched.schedule: order '{order}' walks dX and dW with one tiling; "
                "give the same tiles twice"
            )
        loops = [loop.data for loop in self.loops.data]
        if loops and (order != "sequential" or len(loops) != count):
            raise VerifyException(
                "#sched.schedule: loops (one loop order per GEMM) belong to order 'sequential'"
            )
        if any(loop not in PERMUTATIONS for loop in loops):
            raise VerifyException(
                f"#sched.schedule: loops {loops} must each be one of {', '.join(PERMUTATIONS)}"
            )
        dim, parts, cores = self.partition.data, self.parts.data, self.cores.data
        if dim not in PARTITION_DIMS:
            raise VerifyException(
                f"#sched.schedule: partition '{dim}' is none of {', '.join(PARTITION_DIMS)}"
            )
        if parts < 1 or cores < 1:
            raise VerifyException(
                f"#sched.schedule: parts and cores must be at least 1, got {parts} and {cores}"
            )
        if dim == "none" and parts != 1:
            raise VerifyException(
                f"#sched.schedule: {parts} parts need a partition dimension (m, n or k)"
            )

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        def value(p: AttrParser, name: str) -> object:
            if name == "tiles":
                return p.parse_comma_separated_list(p.Delimiter.SQUARE, lambda: _parse_tiling(p))
            if name == "loops":
                return p.parse_comma_separated_list(p.Delimiter.SQUARE, p.parse_str_literal)
            if name in ("parts", "cores"):
                return p.parse_integer(allow_boolean=False)
            return p.parse_str_literal(f" (the {name})")

        known = ("order", "tiles", "loops", "partition", "parts", "cores", "tiler", "reuse")
        entries = _parse_entries(parser, known, ("order", "tiles"), value)
        return (
            StringAttr(entries["order"]),  # type: ignore[arg-type]
            ArrayAttr(
                [ArrayAttr([IntAttr(d) for d in tiling]) for tiling in entries["tiles"]]  # type: ignore[attr-defined]
            ),
            ArrayAttr([StringAttr(loop) for loop in entries.get("loops", [])]),  # type: ignore[attr-defined]
            StringAttr(entries.get("partition", "none")),  # type: ignore[arg-type]
            IntAttr(entries.get("parts", 1)),  # type: ignore[arg-type]
            IntAttr(entries.get("cores", 1)),  # type: ignore[arg-type]
            StringAttr(entries.get("tiler", "search")),  # type: ignore[arg-type]
            StringAttr(entries.get("reuse", "belady")),  # type: ignore[arg-type]
        )

    def print_parameters(self, printer: Printer) -> None:
        tiles = ", ".join("x".join(str(d.data) for d in t.data) for t in self.tiles.data)
        text = f'<order = "{self.order.data}", tiles = [{tiles}]'
        if self.loops.data:
            text += ", loops = [" + ", ".join(f'"{loop.data}"' for loop in self.loops.data) + "]"
        dim, parts, cores = self.partition.data, self.parts.data, self.cores.data
        if (dim, parts, cores) != ("none", 1, 1):
            text += f', partition = "{dim}", parts = {parts}, cores = {cores}'
        if self.tiler.data != "search":
            text += f', tiler = "{self.tiler.data}"'
        if self.reuse.data != "belady":
            text += f', reuse = "{self.reuse.data}"'
        printer.print_string(text + ">")


# ---- checks against the op and the target -------------------------------------------------------


def verify_op_attributes(
    op: Operation, computations: tuple[str, ...], frame: tuple[int, int, int, int], is_conv: bool
) -> None:
    """Check an op's ``sched.*`` attributes against the op: its computations, its GEMM frame
    (M, N, K, groups, from its shapes) and its kind; ``VerifyException`` says what is wrong."""
    for key, value in op.attributes.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :]
        if name not in OP_ATTRIBUTES:
            raise VerifyException(
                f"unknown attribute '{key}'; a layer op's sched attributes are "
                + ", ".join(PREFIX + n for n in OP_ATTRIBUTES)
            )
        if name == "gemm":
            if not isinstance(value, GemmAttr):
                raise VerifyException(f"{key} must be a #sched.gemm<...>")
            if value.sizes() != frame:
                m, n, k, groups = frame
                raise VerifyException(
                    f"{key} disagrees with the op's shapes: they give "
                    f"#sched.gemm<m = {m}, n = {n}, k = {k}, groups = {groups}>"
                )
        elif name == "im2col":
            if not is_conv:
                raise VerifyException(f"{key} applies only to convolutions")
            if not isinstance(value, StringAttr) or value.data not in IM2COL_MODES:
                raise VerifyException(f"{key} must be one of {', '.join(map(repr, IM2COL_MODES))}")
        elif name == "schedule":
            if not isinstance(value, ScheduleAttr):
                raise VerifyException(f"{key} must be a #sched.schedule<...>")
            _check_against_frame(value, computations, frame)


def _check_against_frame(
    attr: ScheduleAttr, computations: tuple[str, ...], frame: tuple[int, int, int, int]
) -> None:
    count = len(attr.tiles.data)
    if count != len(computations):
        raise VerifyException(
            f"sched.schedule has {count} tiling(s); this op computes "
            f"{' and '.join(computations)}: give {len(computations)}"
        )
    m, n, k, _ = frame
    for tiling in attr.tilings():
        for label, size, extent in (("M", tiling.m, m), ("N", tiling.n, n), ("K", tiling.k, k)):
            if size > extent:
                raise VerifyException(
                    f"sched.schedule: tile {tiling} is larger than the GEMM frame along "
                    f"{label} ({label} = {extent})"
                )


def check_target(attr: ScheduleAttr, target: Target) -> str | None:
    """Why a schedule cannot run on ``target`` (more cores than it has), or None."""
    if attr.cores.data > target.cores:
        return (
            f"sched.schedule splits the op over {attr.cores.data} cores, but target "
            f"'{target.name}' has {target.cores}"
        )
    return None


# ---- reading and writing ------------------------------------------------------------------------


def op_schedule(op: Operation, computations: tuple[str, ...]) -> LayerSchedule | None:
    """The schedule an op's ``sched.schedule`` records, or None if it has none yet."""
    attr = op.attributes.get(PREFIX + "schedule")
    return attr.schedule(computations) if isinstance(attr, ScheduleAttr) else None


def checked_schedule(
    op: Operation, computations: tuple[str, ...], target: Target
) -> LayerSchedule | None:
    """``op_schedule``, checked against the target: a schedule that splits the op over more
    cores than ``target`` has is an error at the op (``DiagnosticError``)."""
    attr = op.attributes.get(PREFIX + "schedule")
    if not isinstance(attr, ScheduleAttr):
        return None
    problem = check_target(attr, target)
    if problem is not None:
        raise error_at(op, problem)
    return attr.schedule(computations)


def set_schedule(op: Operation, schedule: LayerSchedule) -> None:
    """Record a schedule in an op's ``sched.schedule``."""
    op.attributes[PREFIX + "schedule"] = ScheduleAttr.of(schedule)


def set_record(op: Operation, name: str, value: object) -> None:
    """Set ``sched.<name>`` to a JSON-like value (a record of what a decision weighed)."""
    op.attributes[PREFIX + name] = to_attr(value)


def to_attr(value: object) -> Attribute:
    """A builtin attribute for a JSON-like value (dict keys must be strings)."""
    if isinstance(value, Attribute):
        return value
    if isinstance(value, bool):
        return BoolAttr(value, IntegerType(1))
    if isinstance(value, int):
        return IntegerAttr(value, i64)
    if isinstance(value, float):
        return FloatAttr(value, f64)
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, dict):
        return DictionaryAttr({str(k): to_attr(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return ArrayAttr([to_attr(v) for v in value])
    raise TypeError(f"cannot turn {value!r} into an attribute")


def from_attr(attr: Attribute) -> object:
    """The JSON-like value of a builtin attribute (the inverse of ``to_attr``)."""
    if isinstance(attr, IntegerAttr):
        width = getattr(attr.type, "width", None)
        if width is not None and width.data == 1:
            return bool(attr.value.data)
        return attr.value.data
    if isinstance(attr, FloatAttr):
        return attr.value.data
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, DictionaryAttr):
        return {k: from_attr(v) for k, v in attr.data.items()}
    if isinstance(attr, ArrayAttr):
        return [from_attr(v) for v in attr.data]
    return attr


Sched = Dialect("sched", [], [GemmAttr, ScheduleAttr])
