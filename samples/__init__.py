"""The bundled sample media, installed inside the package as animator.samples (see pyproject.toml)."""
