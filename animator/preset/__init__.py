"""Presets: YAML files validated once into frozen objects."""

from animator.preset.load import load_preset, parse_overrides, preset_from_dict
from animator.preset.schema import Preset

__all__ = ["Preset", "load_preset", "parse_overrides", "preset_from_dict"]
