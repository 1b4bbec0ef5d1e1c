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


def test_an_injected_style_takes_its_share_of_the_whole_whatever_the_styles_weights_add_up_to():
    from animator.clock import Clock
    from animator.media.frame import fitted
    from animator.media.image import read_image
    from animator.methods import StyleTrack
    from animator.methods.feedforward import ArbitraryMethod
    from animator.preset.schema import ArbitraryOptions

    method = ArbitraryMethod(ArbitraryOptions(), torch.device("cpu"))
    brick, hubble = (fitted(read_image(SAMPLES / name), 128) for name in ("brick.png", "hubble_deep_field.jpg"))
    track = StyleTrack(method, [(brick, 3.0)], inject=(hubble, 0.5))  # half of the whole: as much as brick's 3
    mixed = track.at(brick, Clock(1, 1 / 24, 0).at(0))
    even = method.mix_styles([(method.encode_style(brick), 1.0), (method.encode_style(hubble), 1.0)])
    tensors = lambda conditions: [t for c in conditions if c is not None for t in c]  # noqa: E731
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(tensors(mixed), tensors(even), strict=True))


def test_the_style_predictor_sees_the_styles_centred_square():
    from animator.media.frame import to_tensor
    from animator.media.image import read_image
    from animator.methods.feedforward import ArbitraryMethod
    from animator.preset.schema import ArbitraryOptions

    method = ArbitraryMethod(ArbitraryOptions(), torch.device("cpu"))
    square = to_tensor(read_image(SAMPLES / "astronaut.png"))[..., :256, :256]
    sides = to_tensor(read_image(SAMPLES / "brick.png"))[..., :256, :128]
    wide = torch.cat([sides, square, sides.flip(-1)], -1)  # 512x256, 128 columns of brick each side
    tall = torch.cat([sides.transpose(-1, -2)[..., :64, :], square, sides.transpose(-1, -2)[..., 64:, :]], -2)  # 256x384
    centred = method.encode_style(square)
    for image in (wide, tall):
        assert torch.allclose(method.encode_style(image), centred, atol=1e-5)
    assert not torch.allclose(method.encode_style(wide[..., :256]), centred, atol=1e-2)
