"""NPU descriptions (targets): the dataclass, TOML loading and the presets."""
