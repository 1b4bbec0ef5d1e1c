"""What a frame of video takes from the previous output, where the flow says it may."""

from __future__ import annotations

import torch

from animator.media.frame import resize, to_tensor
from animator.methods import Temporal, keep_previous


def test_the_previous_output_is_blended_in_where_the_flow_holds_and_nowhere_else(chelsea):
    fresh = to_tensor(resize(chelsea, 96, 64))
    previous = fresh.flip(-1)
    mask = torch.zeros(1, 1, 64, 96)
    mask[..., :, :40] = 1  # held on the left; occluded (new content) on the right
    out = keep_previous(fresh, Temporal(previous, mask, 0.7))
    assert torch.equal(out[..., 40:], fresh[..., 40:])
    assert torch.allclose(out[..., :40], 0.3 * fresh[..., :40] + 0.7 * previous[..., :40], atol=1e-6)
    assert keep_previous(fresh, None) is fresh


def test_optimizing_starts_from_the_previous_output_then_the_key_then_the_content(chelsea):
    content = to_tensor(resize(chelsea, 96, 64))
    previous, key = content.flip(-1), content.flip(-2)
    mask, key_mask = torch.zeros(1, 1, 64, 96), torch.zeros(1, 1, 64, 96)
    mask[..., :32] = 1
    key_mask[..., 32:64] = 1  # where the key holds and the previous output does not
    start = Temporal(previous, mask, 0.7, key, key_mask, 0.5).start(content)
    assert torch.equal(start[..., :32], previous[..., :32]) and torch.equal(start[..., 32:64], key[..., 32:64])
    assert torch.equal(start[..., 64:], content[..., 64:])
    assert torch.equal(Temporal(previous, mask, 0.7).start(content)[..., 32:], content[..., 32:])
