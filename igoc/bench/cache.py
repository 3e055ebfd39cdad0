"""Job results on disk, one JSON file per key: a rerun of the same jobs is instant.

``<cache dir>/<key[:2]>/<key>.json`` holds ``{"key": ..., "job": ..., "result": ...,
"sha256": ...}``, the last the SHA-256 of the other three. Writes go through
``igoc.output`` (a temporary file in the same folder, then a rename), so
concurrent writers and an interrupted run leave either the old entry, the new
one or none. An entry that cannot be read, is not JSON, names another key or
fails its hash (a damaged or hand-edited file: an edited ``"cycles": 1`` is not
believed) is ignored, counted in ``rejected`` so that the command can say so, and
overwritten by the recomputed result. The default folder is
``$XDG_CACHE_HOME/igoc-bench``, else ``~/.cache/igoc-bench``; deleting it is
always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import tempfile

from igoc.output import OutputError, write_output

MAX_ENTRY_BYTES = 64 << 20
"""Entries above this size are not read (a result takes kilobytes)."""


def default_cache_dir() -> pathlib.Path:
    """``$XDG_CACHE_HOME/igoc-bench``, or ``~/.cache/igoc-bench``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "igoc-bench"


def entry_digest(key: str, job: object, result: object) -> str:
    """The SHA-256 an entry carries: of its key, job and result as canonical JSON."""
    body = json.dumps(
        {"key": key, "job": job, "result": result}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(body.encode()).hexdigest()


class ResultCache:
    """A folder of job results keyed by content (see :func:`igoc.bench.jobs.job_key`)."""

    def __init__(self, folder: pathlib.Path) -> None:
        self.folder = folder
        self.rejected: list[pathlib.Path] = []  # entries found but not believed

    def problem(self, writing: bool = True) -> str | None:
        """Why the folder cannot hold entries, in a few words; None when it can.

        ``writing``: make the folder if missing and try a file in it (a
        read-only folder serves entries but keeps none); else only a path
        that is not a folder is a problem (a missing folder is an empty cache).
        """
        if self.folder.exists() and not self.folder.is_dir():
            return "not a directory"
        if not writing:
            return None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=".probe-", dir=self.folder)
            os.close(handle)
            os.unlink(name)
        except OSError as err:
            return (err.strerror or str(err)).lower()
        return None

    def path(self, key: str) -> pathlib.Path:
        """The file of a key's entry."""
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The cached result of a key, or None (missing, unreadable, corrupt or edited)."""
        path = self.path(key)
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        try:
            entry = json.loads(raw) if len(raw) <= MAX_ENTRY_BYTES else None
        except (ValueError, RecursionError):
            entry = None
        if not self._believable(entry, key):
            self.rejected.append(path)
            return None
        return entry["result"]  # type: ignore[index]

    @staticmethod
    def _believable(entry: object, key: str) -> bool:
        if not isinstance(entry, dict) or entry.keys() != {"key", "job", "result", "sha256"}:
            return False
        result = entry["result"]
        if entry["key"] != key or not isinstance(result, dict):
            return False
        if result.get("status") not in ("ok", "failed"):
            return False
        return entry["sha256"] == entry_digest(key, entry["job"], result)

    def put(self, key: str, job: dict, result: dict) -> bool:
        """Store a result atomically; False (and nothing stored) if the folder is not writable."""
        path = self.path(key)
        entry = {"key": key, "job": job, "result": result, "sha256": entry_digest(key, job, result)}
        try:
            # In the result's own key order (a per-tensor table lists tensors in program
            # order), so that a result read back prints as it did when computed; the digest
            # is of the canonical form.
            text = json.dumps(entry)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_output(path, text)
        except (OSError, OutputError, TypeError, ValueError):
            return False
        return True
