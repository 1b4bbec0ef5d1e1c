"""VGG19's layer names and widths, without torch: presets name layers, and a preset is checked
before any network loads."""

from __future__ import annotations

BLOCKS = (2, 2, 4, 4, 4)  # convolutions per block
LAYERS: tuple[str, ...] = tuple(
    name
    for b, convs in enumerate(BLOCKS, start=1)
    for name in [*(f"{kind}{b}_{c}" for c in range(1, convs + 1) for kind in ("conv", "relu")), f"pool{b}"]
)
CONVS = tuple(name for name in LAYERS if name.startswith("conv"))
CHANNELS = dict(zip(CONVS, (64, 64, 128, 128, *[256] * 4, *[512] * 8)))


def _channels_at() -> dict[str, int]:
    at, current = {}, 3
    for name in LAYERS:
        current = CHANNELS.get(name, current)  # relu and pool layers keep their convolution's
        at[name] = current
    return at


CHANNELS_AT = _channels_at()


def least_side(layer: str) -> int:
    """The least side, in pixels, of a picture that still has one pixel at `layer`: each pooling
    before it (and itself, a pooling) halves the picture, rounding down."""
    return 2 ** sum(name.startswith("pool") for name in LAYERS[:LAYERS.index(layer) + 1])
