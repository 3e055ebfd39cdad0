"""Decisions remembered on disk, so that runs and processes share them (opt-in).

A decision of ``decide`` is a pure function of a layer's shapes, the target, the
policy and the code that decides; with ``IGOC_DECISION_CACHE`` set to a folder,
each one is stored there under a hash of all of that (the code: every source
file of the packages that take part in deciding), and a later process finds it
instead of searching again. Compiling the same network with several pipelines,
or again, then costs little; results are the same bytes either way.

The folder may be shared (``igoc-bench --cache-dir`` on a network drive), so an
entry is data, never code: a JSON document that holds the decision in a tagged
form (lists, tuples, dictionaries, numbers, strings and the few schedule classes
of ``_CLASSES``, rebuilt through their constructors and their checks), the key it
answers, and the SHA-256 of both. An entry that is larger than ``MAX_ENTRY_BYTES``,
does not parse, answers another key, fails its hash (a damaged or hand-edited
file) or names anything else is a miss: the decision is computed again and the
entry rewritten. Entries are written by ``igoc.output`` (atomically); deleting the
folder is always safe. A decision read back goes through the same verifier and
lowering as a computed one, so even a forged entry cannot make igoc run code or
emit an invalid program; at worst it picks another valid schedule.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import pathlib

ENVIRONMENT = "IGOC_DECISION_CACHE"
_FORMAT = 2
MAX_ENTRY_BYTES = 16 << 20
"""Entries above this size are not read (a decision takes a few kilobytes)."""


@functools.cache
def _code_fingerprint() -> str:
    """A hash of the source of everything a decision depends on."""
    root = pathlib.Path(__file__).resolve().parents[1]  # the igoc package
    digest = hashlib.sha256(f"{_FORMAT}\0".encode())
    folders = [root / name for name in ("cost", "schedule", "target", "isa", "sim")]
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache
def _classes() -> dict[str, type]:
    """The classes a stored decision may hold, by name (imported on first use)."""
    from igoc.schedule.layer_schedule import LayerSchedule, Partition
    from igoc.schedule.steps import Tiling

    return {cls.__name__: cls for cls in (LayerSchedule, Partition, Tiling)}


def _path(key: tuple) -> pathlib.Path | None:
    folder = os.environ.get(ENVIRONMENT)
    if not folder:
        return None
    name = hashlib.sha256((_code_fingerprint() + repr(key)).encode()).hexdigest()
    return pathlib.Path(folder) / name[:2] / f"{name}.json"


def encode(value) -> object:
    """A decision as JSON data: lists as arrays, everything else tagged (``decode`` inverts)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value  # ``dumps`` refuses NaN and infinities
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, tuple):
        return {"t": [encode(item) for item in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("only dictionaries with string keys are stored")
        return {"d": {k: encode(v) for k, v in value.items()}}
    name = type(value).__name__
    if _classes().get(name) is type(value):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"c": name, "f": fields}
    raise TypeError(f"a decision holding {name} cannot be stored")


def decode(data: object):
    """The value ``encode`` gave ``data`` for; ``ValueError`` for anything else."""
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [decode(item) for item in data]
    if isinstance(data, dict):
        if data.keys() == {"t"} and isinstance(data["t"], list):
            return tuple(decode(item) for item in data["t"])
        if data.keys() == {"d"} and isinstance(data["d"], dict):
            return {k: decode(v) for k, v in data["d"].items()}
        if data.keys() == {"c", "f"} and isinstance(data["f"], dict):
            cls = _classes().get(data["c"])  # type: ignore[arg-type]
            names = {f.name for f in dataclasses.fields(cls)} if cls else set()
            if cls is None or not set(data["f"]) <= names:
                raise ValueError(f"unknown class or fields: {data['c']!r}")
            try:
                return cls(**{k: decode(v) for k, v in data["f"].items()})
            except TypeError as err:
                raise ValueError(str(err)) from None
    raise ValueError("not a stored decision")


def _digest(key_text: str, value: object) -> str:
    body = json.dumps({"key": key_text, "value": value}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def load(key: tuple):
    """The stored decision for ``key``, or None (missing, damaged, edited or foreign)."""
    path = _path(key)
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_ENTRY_BYTES + 1)
        if len(raw) > MAX_ENTRY_BYTES:
            return None
        entry = json.loads(raw)
        if not isinstance(entry, dict) or entry.keys() != {"format", "key", "value", "sha256"}:
            return None
        if entry["format"] != _FORMAT or entry["key"] != repr(key):
            return None
        if entry["sha256"] != _digest(entry["key"], entry["value"]):
            return None
        return decode(entry["value"])
    except (OSError, ValueError, RecursionError):
        return None


def save(key: tuple, value) -> None:
    """Store a decision (silently skipped if it cannot be stored or the folder written)."""
    path = _path(key)
    if path is None:
        return
    from igoc.output import OutputError, write_output

    try:
        data = encode(value)
        key_text = repr(key)
        digest = _digest(key_text, data)
        entry = {"format": _FORMAT, "key": key_text, "value": data, "sha256": digest}
        text = json.dumps(entry, sort_keys=True, separators=(",", ":"), allow_nan=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_output(path, text)
    except (OSError, OutputError, TypeError, ValueError):
        return
