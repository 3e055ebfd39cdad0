"""Decisions remembered on disk, so that runs and processes share them (opt-in).

A decision of ``decide`` is a pure function of a layer's shapes, the target, the
policy and the code that decides; with ``IGOC_DECISION_CACHE`` set to a folder,
each one is stored there under a hash of all of that (the code: every source
file of the packages that take part in deciding), and a later process finds it
instead of searching again. Compiling the same network with several pipelines,
or again, then costs little; results are the same bytes either way. Entries
are written atomically; an unreadable one is ignored and recomputed; deleting
the folder is always safe.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pathlib
import pickle
import tempfile

ENVIRONMENT = "IGOC_DECISION_CACHE"
_FORMAT = 1


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


def _path(key: tuple) -> pathlib.Path | None:
    folder = os.environ.get(ENVIRONMENT)
    if not folder:
        return None
    name = hashlib.sha256((_code_fingerprint() + repr(key)).encode()).hexdigest()
    return pathlib.Path(folder) / name[:2] / f"{name}.pickle"


def load(key: tuple):
    """The stored decision for ``key``, or None."""
    path = _path(key)
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            stored_key, value = pickle.load(handle)
    except Exception:  # noqa: BLE001 - a damaged entry is recomputed
        return None
    return value if stored_key == repr(key) else None


def save(key: tuple, value) -> None:
    """Store a decision (silently skipped if the folder cannot be written)."""
    path = _path(key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            pickle.dump((repr(key), value), out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except OSError:
        return
