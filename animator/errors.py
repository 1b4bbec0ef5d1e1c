"""User-facing errors. Each message names the file, the key or frame, what was expected and found."""


class AnimatorError(Exception):
    """A mistake in what the user asked for; the CLI prints it on one line and exits 2 (a
    RenderError: exits 1)."""


class PresetError(AnimatorError):
    """A preset file or a --set override is invalid."""


class MediaError(AnimatorError):
    """An input image or video cannot be read, or an output cannot be written."""


class ModelError(AnimatorError):
    """A weight file is missing or altered."""


class RenderError(AnimatorError):
    """The render itself went wrong, not what was asked for: one line too, but exit 1."""
