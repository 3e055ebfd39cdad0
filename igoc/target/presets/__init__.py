"""Preset NPU descriptions, one TOML file each."""
