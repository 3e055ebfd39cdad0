"""The description of one NPU: a frozen dataclass, loaded from TOML.

A target is what the compiler plans for and what the simulator models: the
number of cores, the PE array, the clock, the scratchpad (SPM), and the one
DRAM channel that all cores share. Compiler and simulator read it from the
same object, so they never disagree about the machine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from importlib import resources

from igoc.errors import IgocError

DATAFLOWS = ("os", "ws")
ARRAY_TIMINGS = ("scalesim", "pipelined")
"""Values of ``array_timing``: how a matmul's folds follow each other (``igoc.isa.cycles``)."""
OVERLAPS = ("double-buffered", "serial")
"""Values of ``overlap``: whether a core's DMAs and matmuls overlap (``igoc.sim.timing``)."""

CHOICES = {"dataflow": DATAFLOWS, "array_timing": ARRAY_TIMINGS, "overlap": OVERLAPS}
"""The keys that take one of a few names, and those names."""

DEFAULTS = {"array_timing": "scalesim", "overlap": "double-buffered"}
"""The keys a target file may leave out, and their values then: what igoc did before it had
these keys, so that older target files and programs mean what they meant."""


class TargetError(IgocError):
    """A target description that cannot be used; the message names the file and the key."""


class TargetUsageError(TargetError):
    """A target the command line names or changes wrongly: an unknown preset name, or a
    setting the target cannot take (bad usage, where a bad target file is bad input)."""


@dataclass(frozen=True)
class Target:
    """One NPU. Units are in the field names; every field is a TOML key."""

    name: str  # what reports call the machine
    cores: int  # cores, each with its own PE array, SPM and queues
    array_rows: int  # PE array rows (R)
    array_cols: int  # PE array columns (C)
    clock_mhz: float  # core clock
    spm_bytes: int  # scratchpad capacity of one core
    spm_shared: bool  # true: one SPM of cores * spm_bytes that every core addresses
    dram_bandwidth_gb_per_s: float  # the shared DRAM channel, all cores together (1 GB = 1e9 B)
    dram_latency_cycles: int  # cycles from the end of a DMA transfer until its data is usable
    dataflow: str  # "os" (output stationary) or "ws" (weight stationary)
    element_bytes: int  # width of the array's input elements (2 = fp16)
    acc_bytes: int  # width of accumulators held in SPM (4 = fp32)
    psum_bytes: int  # width of partial sums spilled to DRAM and read back (2 or 4)
    # "scalesim" (each fold of a matmul fills and drains the array, as SCALE-Sim v3) or
    # "pipelined" (a matmul's folds back to back, fill and drain once): igoc.isa.cycles
    array_timing: str = DEFAULTS["array_timing"]
    # "double-buffered" (DMA and compute queues overlap) or "serial" (an ablation: a core
    # runs one instruction at a time, in program order): igoc.sim.timing
    overlap: str = DEFAULTS["overlap"]

    # ---- derived quantities -------------------------------------------------------------
    @property
    def clock_hz(self) -> float:
        """Clock in Hz."""
        return self.clock_mhz * 1e6

    @property
    def dram_bytes_per_cycle(self) -> float:
        """Bytes the DRAM channel moves per core clock cycle."""
        return self.dram_bandwidth_gb_per_s * 1e9 / self.clock_hz

    @property
    def pes(self) -> int:
        """Processing elements of one core's array."""
        return self.array_rows * self.array_cols

    @property
    def spm_total_bytes(self) -> int:
        """All SPM bytes of the machine."""
        return self.spm_bytes * self.cores

    def seconds(self, cycles: float) -> float:
        """Wall time of a number of cycles."""
        return cycles / self.clock_hz

    def as_dict(self) -> dict[str, str | int | float | bool]:
        """Every field by its TOML key (the inverse of ``target_from_dict``)."""
        return asdict(self)

    def to_toml(self) -> str:
        """The target as a TOML document that ``load_target`` reads back to an equal target."""
        lines = []
        for key, value in self.as_dict().items():
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, str):
                text = _toml_string(value)
            else:
                text = repr(value)
            lines.append(f"{key} = {text}")
        return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, except that DEL must be escaped too."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


_FIELD_TYPES = {f.name: f.type for f in fields(Target)}

SPM_ADDRESS_LIMIT = 1 << 32
"""SPM byte addresses are 32-bit in the instruction records: all the SPM a core may address
(with ``spm_shared``, every core's) must fit below this."""

RANGES: dict[str, tuple[float, float]] = {
    "cores": (1, 32),
    "array_rows": (1, 1 << 16),
    "array_cols": (1, 1 << 16),
    "clock_mhz": (1e-3, 1e5),
    "spm_bytes": (1, SPM_ADDRESS_LIMIT),
    "dram_bandwidth_gb_per_s": (1e-3, 1e6),
    "dram_latency_cycles": (0, 1_000_000),
}
"""The range of each numeric key, both ends included. Wide enough for any machine one
would model (1 kHz to 100 GHz, 1 MB/s to 1 PB/s), narrow enough that every cycle count
and address igoc derives from a target stays finite and within 64 bits."""


def _check_ranges(values: dict, origin: str) -> None:
    """Every numeric key within ``RANGES``; the SPM a core addresses within 32 bits."""
    for key, (low, high) in RANGES.items():
        value = values[key]
        finite = isinstance(value, int) or math.isfinite(value)
        if not (finite and low <= value <= high):
            raise TargetError(
                f"{origin}: key '{key}' must be between {_shown(low)} and {_shown(high)}, "
                f"got {_shown(value)}"
            )
    if values["spm_shared"] and values["spm_bytes"] * values["cores"] > SPM_ADDRESS_LIMIT:
        raise TargetError(
            f"{origin}: a shared SPM of {values['cores']} x {values['spm_bytes']:,} bytes "
            f"exceeds the {SPM_ADDRESS_LIMIT:,} bytes that 32-bit SPM addresses reach"
        )


def _shown(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}" if abs(value) < 10**15 else f"{value:.3e}"
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}"


def _check(data: dict, origin: str) -> Target:
    unknown = sorted(set(data) - set(_FIELD_TYPES))
    if unknown:
        raise TargetError(
            f"{origin}: unknown key '{unknown[0]}'; known keys: {', '.join(_FIELD_TYPES)}"
        )
    missing = [k for k in _FIELD_TYPES if k not in data and k not in DEFAULTS]
    if missing:
        raise TargetError(f"{origin}: missing key '{missing[0]}'")
    values: dict = {}
    for key, kind in _FIELD_TYPES.items():
        value = data.get(key, DEFAULTS.get(key))
        if kind == "str":
            ok = isinstance(value, str)
        elif kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:  # float: integers are welcome too
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if ok:
                try:
                    value = float(value)
                except OverflowError:  # an integer beyond any float
                    value = math.inf
        if not ok:
            raise TargetError(f"{origin}: key '{key}' must be {kind}, got {value!r}")
        values[key] = value
    _check_ranges(values, origin)
    for key, choices in CHOICES.items():
        if values[key] not in choices:
            raise TargetError(
                f"{origin}: key '{key}' must be one of {', '.join(choices)}, got {values[key]!r}"
            )
    for key in ("element_bytes", "acc_bytes", "psum_bytes"):
        if values[key] not in (2, 4):
            raise TargetError(f"{origin}: key '{key}' must be 2 or 4, got {values[key]}")
    if not values["name"]:
        raise TargetError(f"{origin}: key 'name' must not be empty")
    return Target(**values)


def target_from_dict(data: dict, origin: str = "<target>") -> Target:
    """Build a target from its keys, checking every one (``origin`` names the source in errors)."""
    return _check(dict(data), origin)


def preset_names() -> list[str]:
    """The names of the bundled presets, sorted."""
    folder = resources.files("igoc.target.presets")
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_target(spec: str, settings: Iterable[tuple[str, object]] = ()) -> Target:
    """A preset by name (``edge``, ``server``, ...) or a TOML file by path, as a machine.

    A file may derive from another target (``base``), and ``settings`` replace
    keys (see :mod:`igoc.target.spec`); igoc-bench's keys (``variant``,
    ``batch``) are checked and left out.
    """
    from igoc.target.spec import load_spec

    return load_spec(spec, settings).target
