"""NPU descriptions (targets): the dataclass, TOML loading and the presets.

Owns the description of the machine that compiler and simulator share, checked
key by key. Imports nothing of igoc.
"""

from igoc.target.target import (
    Target,
    TargetError,
    load_target,
    preset_names,
    target_from_dict,
)

__all__ = ["Target", "TargetError", "load_target", "preset_names", "target_from_dict"]
