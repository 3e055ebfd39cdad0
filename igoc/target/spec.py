"""Target descriptions as users write them: derived targets, settings and igoc-bench's keys.

A target file names every key of :class:`~igoc.target.Target` (those of
``target.DEFAULTS``, ``array_timing`` and ``overlap``, may be left out and then
take the values igoc had before they existed), or derives from another target
with ``base`` and names only what differs::

    base = "edge"                   # a preset, or a path relative to this file
    name = "edge-5gbps"             # default: the file's stem
    dram_bandwidth_gb_per_s = 5.5

A base may itself have a base; a chain that comes back to a file it passed is
an error. Besides the machine, a target says what igoc-bench runs on it:
``variant`` (``"edge"`` or ``"server"``: which variant of the networks, e.g.
``yolov2-tiny`` or ``yolov5``) and ``batch`` (samples per training step, over
all cores). The presets give both; the compiler and the simulator never read
them (they are not part of :class:`Target`).

*Settings* replace keys from the command line (``--set key=value``, and
``igoc-bench --sweep key=v1,v2``): each value is typed by its key, and a
target changed by settings is renamed after what changed
(``edge[dram_bandwidth_gb_per_s=11]``) unless a setting names it.
"""

from __future__ import annotations

import math
import pathlib
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

from igoc.target.target import (
    _FIELD_TYPES,
    Target,
    TargetError,
    TargetUsageError,
    _check,
    preset_names,
)

VARIANTS = ("edge", "server")
"""Values of ``variant``: the zoo's networks come in an edge and a server variant."""

WORKLOAD_KEYS = {"variant": "str", "batch": "int"}
"""Keys of what igoc-bench runs on a target, with their types (not part of the machine)."""

BASE_KEY = "base"

KEY_TYPES = {**_FIELD_TYPES, **WORKLOAD_KEYS}
"""Every key a target description may set, with its type: the machine's, then the workload's."""

_KIND_NAMES = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string"}


class SettingError(ValueError):
    """A ``key=value`` setting that cannot be used; the message names the key."""


@dataclass(frozen=True)
class TargetSpec:
    """A target as described: the machine, and (if given) the variant and batch igoc-bench runs."""

    target: Target
    variant: str | None = None
    batch: int | None = None

    def as_dict(self) -> dict[str, str | int | float | bool | None]:
        """Every key: the machine's, then ``variant`` and ``batch`` (None when not given)."""
        return {**self.target.as_dict(), "variant": self.variant, "batch": self.batch}


# ---- settings -----------------------------------------------------------------------------------


def known_keys() -> str:
    """The keys a setting may name, for messages."""
    return ", ".join(KEY_TYPES)


def parse_value(key: str, text: str) -> str | int | float | bool:
    """A setting's value, typed by its key (``SettingError`` naming the key if it is not)."""
    kind = KEY_TYPES.get(key)
    if kind is None:
        if key == BASE_KEY:
            raise SettingError(f"key '{key}' cannot be set; choose the base target with --target")
        raise SettingError(f"unknown key '{key}'; keys: {known_keys()}")
    text = text.strip()
    try:
        if kind in ("int", "float") and "_" in text:  # Python's digit separators: no number
            raise ValueError(text)
        if kind == "int":
            return int(text, 10)
        if kind == "float":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
            return value
    except ValueError:
        raise SettingError(f"key '{key}' takes {_KIND_NAMES[kind]}, got '{text}'") from None
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise SettingError(f"key '{key}' takes {_KIND_NAMES[kind]}, got '{text}'")
        return text.lower() == "true"
    return text


def _split(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    key = key.strip()
    if not equals or not key:
        raise SettingError("expected KEY=VALUE")
    return key, value


def parse_setting(text: str) -> tuple[str, str | int | float | bool]:
    """``KEY=VALUE`` as a typed pair (``SettingError`` naming the key if it or the value is bad)."""
    key, value = _split(text)
    return key, parse_value(key, value)


def parse_sweep(text: str) -> tuple[str, list[str | int | float | bool]]:
    """``KEY=V1,V2,...`` as a key and its typed values, each once, in the order given."""
    key, values = _split(text)
    parts = values.split(",")
    if any(not part.strip() for part in parts):
        raise SettingError(f"key '{key}': an empty value in the list")
    return key, list(dict.fromkeys(parse_value(key, part) for part in parts))


def format_value(value: object) -> str:
    """A setting's value as the renamed target shows it: ``11``, ``5.5``, ``true``, ``os``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


# ---- loading ------------------------------------------------------------------------------------


def _preset_keys(name: str) -> dict:
    text = resources.files("igoc.target.presets").joinpath(name + ".toml").read_text()
    return _parse(text, f"preset '{name}'")


def _parse(text: str, origin: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise TargetError(f"{origin}: not valid TOML: {err}") from None


def _read_file(path: pathlib.Path, origin: str) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        byte = err.object[err.start]
        reason = f"not UTF-8 text (byte {byte:#04x}); is this a binary file?"
        raise TargetError(f"{origin}: cannot read target file: {reason}") from None
    except OSError as err:
        reason = err.strerror.lower() if err.strerror else str(err)
        raise TargetError(f"{origin}: cannot read target file: {reason}") from None
    return _parse(text, origin)


def _is_preset(name: str) -> bool:
    return name in preset_names()


def resolve_keys(spec: str) -> tuple[dict, str]:
    """The keys of a preset or target file, each ``base`` chain followed; and the origin.

    A derived file's keys replace its base's; its ``name`` defaults to the
    file's stem. ``base`` names a preset or a file (relative to the folder of
    the file that names it).
    """
    if _is_preset(spec):
        return _preset_keys(spec), f"preset '{spec}'"
    path = pathlib.Path(spec)
    if path.suffix != ".toml" and not path.exists():
        raise TargetUsageError(
            f"unknown target '{spec}'; presets: {', '.join(preset_names())}, "
            "or the path of a .toml file"
        )
    return _derive(path, spec, []), spec


def _derive(path: pathlib.Path, origin: str, chain: list[tuple[pathlib.Path, str]]) -> dict:
    """The keys of the file at ``path`` over those of its base (``chain``: the files below it)."""
    resolved = path.resolve()
    seen = [file for file, _ in chain]
    if resolved in seen:
        loop = " -> ".join([name for _, name in chain] + [origin])
        raise TargetError(f"{chain[0][1]}: base chain loops: {loop}")
    data = _read_file(path, origin)
    if BASE_KEY not in data:
        return data
    base = data.pop(BASE_KEY)
    if not isinstance(base, str) or not base:
        raise TargetError(f"{origin}: key '{BASE_KEY}' must be a preset name or a file path")
    data.setdefault("name", path.stem)
    if _is_preset(base):
        below = _preset_keys(base)
    else:
        base_path = path.parent / base
        if not base_path.exists():
            raise TargetError(
                f"{origin}: base '{base}' is neither a preset ({', '.join(preset_names())}) "
                "nor a file"
            )
        below = _derive(base_path, base, [*chain, (resolved, origin)])
    return {**below, **data}


def apply_settings(
    data: dict, settings: Sequence[tuple[str, object]]
) -> tuple[dict, list[tuple[str, object]]]:
    """The keys with settings applied (later ones win), renamed after the values that changed.

    Returns the new keys and the settings that changed something. Unless a
    setting gives the name, the target's name gains ``[key=value,...]``
    listing each key whose value changed.
    """
    result = dict(data)
    final = dict(settings)
    changed = [(k, v) for k, v in final.items() if k != "name" and not _same(data.get(k), v)]
    result.update(final)
    if changed:
        name = result.get("name")
        suffix = ",".join(f"{k}={format_value(v)}" for k, v in changed)
        result["name"] = f"{name}[{suffix}]"
    return result, [*changed, *([("name", final["name"])] if "name" in final else [])]


def _same(old: object, new: object) -> bool:
    """Equal values of the same kind (``11`` and ``11.0`` are the same, ``1`` and ``true`` not)."""
    return isinstance(old, bool) == isinstance(new, bool) and old == new


def spec_from_dict(data: dict, origin: str) -> TargetSpec:
    """A target spec from its keys: the machine checked as a target, then the workload keys."""
    unknown = sorted(set(data) - set(KEY_TYPES))
    if unknown:
        raise TargetError(
            f"{origin}: unknown key '{unknown[0]}'; known keys: {known_keys()}, {BASE_KEY}"
        )
    target = _check({k: v for k, v in data.items() if k in _FIELD_TYPES}, origin)
    variant = data.get("variant")
    if variant is not None and variant not in VARIANTS:
        raise TargetError(
            f"{origin}: key 'variant' must be one of {', '.join(VARIANTS)}, got {variant!r}"
        )
    batch = data.get("batch")
    if batch is not None and (not isinstance(batch, int) or isinstance(batch, bool) or batch < 1):
        raise TargetError(f"{origin}: key 'batch' must be a positive integer, got {batch!r}")
    return TargetSpec(target, variant, batch)


def load_spec(spec: str, settings: Iterable[tuple[str, object]] = ()) -> TargetSpec:
    """A preset by name or a target file by path (``base`` followed), with settings applied.

    ``TargetUsageError`` (the command line's fault) for a name that is neither a preset nor
    a file, or for settings that make the keys no target; ``TargetError`` for a file that
    cannot be read or is no target, unless the settings mend its fault or replace it
    with one of their own."""
    data, origin = resolve_keys(spec)
    settings = list(settings)
    if not settings:
        return spec_from_dict(data, origin)
    given, given_origin = data, origin
    data, changed = apply_settings(data, settings)
    if changed:
        shown = ", ".join(f"{k}={format_value(v)}" for k, v in changed)
        origin = f"{origin} with {shown}"
    try:
        return spec_from_dict(data, origin)
    except TargetError as err:
        try:
            spec_from_dict(given, given_origin)
        except TargetError as own:
            if _fault(own, given_origin) == _fault(err, origin):
                raise own from None  # the file's own fault, which the settings leave: bad input
        raise TargetUsageError(str(err)) from None


def _fault(err: TargetError, origin: str) -> str:
    """What a target error says, without the origin it starts with."""
    text = str(err)
    return text[len(origin) :] if text.startswith(origin) else text


def derive_target(target: Target, settings: Iterable[tuple[str, object]], origin: str) -> Target:
    """``target`` with machine settings applied and renamed after them (as :func:`load_spec`);
    ``TargetUsageError`` if the settings make it no target."""
    data, changed = apply_settings(target.as_dict(), list(settings))
    if changed:
        origin = f"{origin} with {', '.join(f'{k}={format_value(v)}' for k, v in changed)}"
    try:
        return spec_from_dict(data, origin).target
    except TargetError as err:
        raise TargetUsageError(str(err)) from None
