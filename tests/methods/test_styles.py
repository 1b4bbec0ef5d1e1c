"""How a render's style images reach the networks: at what size, mixed by what weights."""

from __future__ import annotations

import torch

from animator.preset import load_preset, parse_overrides
from tests.conftest import PRESETS, SAMPLES


def loaded(size: int, *sets: str, preset: str = "deep-field"):
    from animator.render.engine import load

    return load(load_preset(PRESETS / f"{preset}.yaml", parse_overrides([f"size={size}", "device=cpu",
                                                                        "precision=float32", *sets]))).loaded


def test_arbitrary_sees_its_style_at_its_style_size_whatever_the_renders_size():
    """The style was read at the render's size first: a 64 px render's network saw the Hubble image
    at 64 px, blown up to 256 (0.29 of the style vector away from what a 512 px render saw)."""
    seen = {size: loaded(size).styles.codes[0][0].flatten() for size in (64, 128, 512)}
    for size in (64, 128):
        assert (seen[size] - seen[512]).norm() / seen[512].norm() < 0.1, size  # 0.28 and 0.15 before
    injected = {size: loaded(size, preset="melt").styles.inject[0].flatten() for size in (64, 512)}  # a style too
    assert (injected[64] - injected[512]).norm() / injected[512].norm() < 0.1


def test_tiny_style_weights_mix_as_their_ratio_says():
    """Two styles at 1e-50 each were 0 in float32, and their mix 0 / 0: a render of NaN."""
    styles = f"style=[{{image: {SAMPLES / 'brick.png'}}}, {{image: {SAMPLES / 'hubble_deep_field.jpg'}}}]"
    it = loaded(64, styles)
    (brick, _), (hubble, _) = it.styles.codes
    tiny, even = (it.method.mix_styles([(brick, w), (hubble, w)]) for w in (1e-50, 1.0))
    tensors = lambda conditions: [t for c in conditions if c is not None for t in c]  # noqa: E731 (some layers take none)
    assert all(torch.equal(a, b) for a, b in zip(tensors(tiny), tensors(even), strict=True))
