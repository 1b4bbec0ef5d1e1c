"""Where the bundled presets and samples are: inside the installed package (animator/presets,
animator/samples; the repository keeps them at its top level, see pyproject.toml). Torch-free."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def presets_folder() -> Path:
    """The folder of the bundled presets, on the file system (presets name their inputs by
    relative paths, such as ../samples/chelsea.png, so they are read in place)."""
    return Path(str(files("animator.presets")))


def samples_folder() -> Path:
    """The folder of the bundled samples (the photographs, the clip and the soundtrack the
    presets and the made samples start from)."""
    return Path(str(files("animator.samples")))
