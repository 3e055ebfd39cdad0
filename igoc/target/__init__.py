"""NPU descriptions (targets): the dataclass, TOML loading, derived targets and the presets.

Owns the description of the machine that compiler and simulator share, checked
key by key and range by range (``target``), and targets derived from a base by
the keys they change (``spec``: ``base = "edge"`` in a file, ``--set KEY=VALUE``,
sweeps). Imports nothing of igoc.
"""

from igoc.target.spec import (
    SettingError,
    TargetSpec,
    load_spec,
    parse_setting,
    parse_sweep,
)
from igoc.target.target import (
    Target,
    TargetError,
    TargetUsageError,
    load_target,
    preset_names,
    target_from_dict,
)

__all__ = [
    "SettingError",
    "Target",
    "TargetError",
    "TargetSpec",
    "TargetUsageError",
    "load_spec",
    "load_target",
    "parse_setting",
    "parse_sweep",
    "preset_names",
    "target_from_dict",
]
