"""The key's trust mask: a lone pixel the flow check doubted takes the key, a real occlusion the
fresh painting."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from animator.clock import Clock
from animator.preset.schema import TemporalConfig
from animator.render.consistency import Blend, LongTerm, mean3x3


def test_the_key_covers_a_lone_doubted_pixel_and_leaves_an_occlusion_fresh():
    when = Clock(2, 0.0).at(1)
    generator = torch.Generator().manual_seed(0)
    key, fresh = (torch.rand(1, 3, 64, 96, generator=generator) for _ in range(2))
    consistency = LongTerm(Blend(None, TemporalConfig(mode="blend", weight=0.0)), 0.9)  # the mode passes its painting on
    consistency.next(key, [], key, None, when)  # the first frame: its output is the key
    mask = torch.ones(1, 1, 64, 96)
    mask[..., 10, 10] = 0  # a pixel the check doubted (film grain, the flow's noise)
    mask[..., 30:60, 50:90] = 0  # what the flow says was hidden behind something
    output = consistency.next(fresh, [], fresh, (torch.zeros(1, 2, 64, 96), mask), when)
    speck = (output - key)[..., 10, 10].abs().mean() / (fresh - key)[..., 10, 10].abs().mean()
    assert speck < 0.25  # mostly the key's paint (8/9 of its 0.9), not a speck of the fresh painting
    assert torch.equal(output[..., 35:55, 55:85], fresh[..., 35:55, 55:85])  # inside the occlusion: fresh
    assert torch.allclose(output[..., 0:5, 20:40], torch.lerp(fresh, key, 0.9)[..., 0:5, 20:40])  # elsewhere: the key's share


def test_the_key_mask_is_averaged_over_the_pixels_inside_the_frame():
    mask = (torch.rand(2, 1, 7, 11, generator=torch.Generator().manual_seed(1)) > 0.3).float()
    averaged = mean3x3(mask)
    assert torch.allclose(averaged, F.avg_pool2d(mask, 3, 1, 1, count_include_pad=False), atol=1e-6)
    assert averaged[0, 0, 0, 0] == mask[0, 0, :2, :2].mean()  # a corner: its four pixels, no padding
