"""One image: the input stylized once (transfer), or, with the optimization method, a texture
grown from noise or the input reconstructed from one layer (see preset/resolve.method_options)."""

from __future__ import annotations

from collections.abc import Iterator

from animator.controls import life
from animator.render.renderer import Loaded, Rendered, Resume


class StillRenderer:
    def __init__(self, loaded: Loaded):
        self.loaded = loaded

    def frames(self, resume: Resume | None = None) -> Iterator[Rendered]:
        loaded = self.loaded
        when = loaded.clock.at(0)
        stylized = loaded.method.transfer(loaded.styles.at(loaded.first, when), loaded.first, when=when)
        yield 0, life.original_colors(stylized, loaded.first, when.value(loaded.preset.original_colors)), None
