"""What something crossing a pan uncovers, painted as the per-frame render paints it (render/band.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from animator.media.frame import fitted, to_image
from animator.media.image import read_image
from animator.methods import build_method, prepare_style
from animator.metrics import psnr
from animator.motion.lock import Shift
from animator.nets.layers import NormRecord
from animator.preset.schema import ArbitraryOptions, MultistyleOptions, parse_builtin_style
from animator.render.band import HALO, boxes, encoded_crops, uncovered_painting
from tests.conftest import SAMPLES
from tests.nets.test_tiled import bunny

CPU = torch.device("cpu")


def method_and_target(options):
    method = build_method(options, CPU)
    style = [(fitted(read_image(SAMPLES / "hubble_deep_field.jpg"), 256), 1.0)] if isinstance(options, ArbitraryOptions) \
        else [(None, 1.0)]
    return method, prepare_style(method, style)


@torch.inference_mode()
@pytest.mark.parametrize("options", [ArbitraryOptions(), MultistyleOptions(style=parse_builtin_style(7))],
                         ids=["arbitrary", "multistyle"])
def test_a_crop_normalized_as_its_frame_is_painted_as_the_frame_is(options):
    """A pass over a crop, each instance norm given the statistics of the pass over the whole frame,
    paints the crop as the whole frame's pass does, 32 px (HALO) from the crop's edges; by its own
    statistics it paints other strokes."""
    method, target = method_and_target(options)
    x = bunny(256, 160)
    record = NormRecord()
    whole = to_image(method.network(target, x, record))
    assert len(record.stats) == sum(method.net.norm_counts()) > 0
    crop = x[..., 64 - HALO:96 + HALO, 96 - HALO:160 + HALO]
    given, own = (to_image(method.network(target, crop, norms))[HALO:-HALO, HALO:-HALO] for norms in (record.given(), None))
    inside = whole[64:96, 96:160]
    assert psnr(given, inside) >= 40, psnr(given, inside)
    assert psnr(own, inside) < psnr(given, inside) - 8


@torch.inference_mode()
def test_the_band_is_painted_unshifted_and_placed_as_the_lock_places_the_frame():
    """The band (given in the frame as the lock places it, shifted by `offset`) is painted from the
    unshifted frame, its crop encoded first and decoded once the frame's decoding is known, and
    moved by the shift, so that shifted back with the output it lies where the per-frame render
    has it; a frame whose passes recorded nothing (run in tiles) gets none."""
    method, target = method_and_target(ArbitraryOptions())
    x = bunny(256, 160)
    record = NormRecord()
    whole = method.network(target, x, record)
    shift = Shift((2.0, 1.0))
    uncovered = torch.zeros((1, 1, 160, 256), dtype=torch.bool)
    uncovered[..., 70:90, 100:140] = True
    crops = encoded_crops(method, target, x, shift, uncovered, record)
    assert len(crops) == 1 and crops[0].top % 4 == 0 and crops[0].left % 4 == 0  # on the network's lattice
    [region] = uncovered_painting(method, target, crops, shift, record)
    h, w = region.picture.shape[-2:]
    # placed pixel p shows the unshifted frame's p + (2, 1): whole pixels, so the bicubic shift is exact
    expected = whole[..., region.top + 1:region.top + 1 + h, region.left + 2:region.left + 2 + w]
    band = region.where[0, 0].numpy()
    assert psnr(to_image(region.picture)[band], to_image(expected)[band]) >= 40
    assert band[70 - region.top, 100 - region.left] and band.sum() < 0.2 * band.size  # the band, grown a little
    assert encoded_crops(method, target, x, shift, uncovered, NormRecord()) == []
    assert uncovered_painting(method, target, crops, shift, NormRecord()) == []


def test_each_part_of_the_band_is_painted_in_a_crop_of_its_own_and_the_frames_edges_not_at_all():
    """Parts of the band far apart get crops of their own (one box about both would be most of the
    frame), but more than MOST share one; parts whose crops overlap share one; specks are left out,
    and so are the frame's edges, where the pan brings new picture in."""
    where = np.zeros((160, 256), bool)
    where[20:30, 20:30] = where[20:30, 45:55] = True  # 15 px apart: their boxes overlap
    where[120:125, 200:210] = True
    assert sorted(boxes(where, 10)) == [(10, 10, 40, 65), (110, 190, 135, 220)]
    assert boxes(where, 10, least=51) == [(10, 10, 40, 65)]  # a speck of 50 px left out
    scattered = np.zeros((160, 256), bool)
    scattered[20:24, 20:240:40] = True  # six parts 40 px apart: one crop about them all
    assert boxes(scattered, 10) == [(10, 10, 34, 231)]
    method, target = method_and_target(ArbitraryOptions())
    x = bunny(256, 160)
    record = NormRecord()
    method.network(target, x, record)
    uncovered = torch.zeros((1, 1, 160, 256), dtype=torch.bool)
    uncovered[..., :, 250:] = True  # a strip along the right edge
    assert encoded_crops(method, target, x, Shift(), uncovered, record) == []
    uncovered[..., 40:50, 40:50] = uncovered[..., 100:110, 150:160] = True
    uncovered[..., 45:47, 81:83] = True  # a speck, left out, inside the first part's crop near its edge
    crops = encoded_crops(method, target, x, Shift(), uncovered, record)
    assert len(crops) == 2 and all(crop.content.shape[-1] < 128 for crop in crops)
    first = min(crops, key=lambda crop: crop.top)
    at = lambda y, x: bool(first.where[0, 0, y - first.top, x - first.left])  # noqa: E731
    assert at(45, 45) and not at(45, 81)  # the crop is painted as the frame is only away from its edges
