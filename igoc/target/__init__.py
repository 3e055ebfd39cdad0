"""NPU descriptions (targets): the dataclass, TOML loading, derived targets and the presets."""

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
    load_target,
    preset_names,
    target_from_dict,
)

__all__ = [
    "SettingError",
    "Target",
    "TargetError",
    "TargetSpec",
    "load_spec",
    "load_target",
    "parse_setting",
    "parse_sweep",
    "preset_names",
    "target_from_dict",
]
