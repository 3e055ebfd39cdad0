"""JSON Schema files (Draft 2020-12) of igoc's machine-readable outputs, shipped with the package.

- ``bench.schema.json``: ``igoc-bench --json`` (``igoc/bench/README.md`` explains each key);
- ``bench-decompose.schema.json``: ``igoc-bench --decompose --json``;
- ``sim-report.schema.json``: ``igoc-sim --json``, the simulator's report
  (``igoc/sim/README.md``).

Each document carries the ``schema_version`` its schema describes. The schemas
are strict (no key they do not list), so a tool that validates against them
notices any change; the tests validate real outputs against them.

    from igoc.schemas import load_schema
    schema = load_schema("sim-report")
"""

from __future__ import annotations

import json
from importlib import resources

SCHEMAS = {
    "bench": "bench.schema.json",
    "bench-decompose": "bench-decompose.schema.json",
    "sim-report": "sim-report.schema.json",
}
"""Each output's schema file in this package."""


def load_schema(name: str) -> dict:
    """The schema of an output (a key of :data:`SCHEMAS`) as a JSON object."""
    text = resources.files(__name__).joinpath(SCHEMAS[name]).read_text(encoding="utf-8")
    return json.loads(text)
