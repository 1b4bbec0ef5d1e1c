"""The bundled presets, installed inside the package as animator.presets (see pyproject.toml)."""
