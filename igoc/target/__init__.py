"""NPU descriptions (targets): the dataclass, TOML loading and the presets."""

from igoc.target.target import (
    Target,
    TargetError,
    load_target,
    preset_names,
    target_from_dict,
)

__all__ = ["Target", "TargetError", "load_target", "preset_names", "target_from_dict"]
