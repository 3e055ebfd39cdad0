"""Job results on disk, one JSON file per key: a rerun of the same jobs is instant.

``<cache dir>/<key[:2]>/<key>.json`` holds ``{"key": ..., "job": ..., "result": ...}``.
Writes are atomic (a temporary file in the same folder, then a rename), so
concurrent writers and an interrupted run leave either the old entry, the new
one or none. An entry that cannot be read, is not JSON, or names another key
is ignored (and overwritten by the recomputed result). The default folder is
``$XDG_CACHE_HOME/igoc-bench``, else ``~/.cache/igoc-bench``; deleting it is
always safe.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import tempfile


def default_cache_dir() -> pathlib.Path:
    """``$XDG_CACHE_HOME/igoc-bench``, or ``~/.cache/igoc-bench``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "igoc-bench"


class ResultCache:
    """A folder of job results keyed by content (see :func:`igoc.bench.jobs.job_key`)."""

    def __init__(self, folder: pathlib.Path) -> None:
        self.folder = folder

    def path(self, key: str) -> pathlib.Path:
        """The file of a key's entry."""
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The cached result of a key, or None (missing, unreadable or corrupt)."""
        try:
            entry = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        result = entry.get("result")
        if not isinstance(result, dict) or result.get("status") not in ("ok", "failed"):
            return None
        return result

    def put(self, key: str, job: dict, result: dict) -> bool:
        """Store a result atomically; False (and nothing stored) if the folder is not writable."""
        path = self.path(key)
        text = json.dumps({"key": key, "job": job, "result": result}, sort_keys=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        except OSError:
            return False
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            return False
        return True
