"""Colour coherence: the LAB conversion against OpenCV's, and matching to a reference."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from animator.media.frame import resize, to_image, to_tensor
from animator.media.image import read_image
from animator.controls.color import ColorReference, cohere, lab_to_rgb, rgb_to_lab
from tests.conftest import SAMPLES


def lab_means(image: np.ndarray) -> np.ndarray:
    """LAB channel means of an 8-bit RGB frame, as OpenCV computes them."""
    return cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab).reshape(-1, 3).mean(0)


def test_lab_agrees_with_opencv_and_returns_home(chelsea):
    x = to_tensor(chelsea)
    reference = cv2.cvtColor(chelsea.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    assert np.abs(rgb_to_lab(x)[0].permute(1, 2, 0).numpy() - reference).max() < 0.5
    assert (lab_to_rgb(rgb_to_lab(x)) - x).abs().max() < 1e-5


def test_matching_moves_the_colours_to_the_reference(chelsea):
    cat = to_tensor(resize(chelsea, 96, 64))
    hubble = to_tensor(resize(read_image(SAMPLES / "hubble_deep_field.jpg"), 96, 64))
    target = lab_means(to_image(hubble))
    assert np.abs(lab_means(to_image(cat)) - target).max() > 20  # far apart to begin with
    for match in ("lab", "histogram"):
        matched = to_image(cohere(cat, ColorReference(hubble), match, 1.0))
        assert np.abs(lab_means(matched) - target).max() < 1.5, match
    half = to_image(cohere(cat, ColorReference(hubble), "lab", 0.5))
    assert 0.3 < np.abs(lab_means(half) - target).max() / np.abs(lab_means(to_image(cat)) - target).max() < 0.7
    assert cohere(cat, ColorReference(hubble), "lab", 0.0) is cat


def test_histogram_matching_takes_the_reference_distribution(chelsea):
    cat = to_tensor(resize(chelsea, 96, 64))
    coffee = to_tensor(resize(read_image(SAMPLES / "coffee.png"), 96, 64))
    matched = cohere(cat, ColorReference(coffee), "histogram", 1.0)
    levels = torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95])
    for channel in range(3):
        found = torch.quantile(matched[0, channel].flatten(), levels)
        wanted = torch.quantile(coffee[0, channel].flatten(), levels)
        assert (found - wanted).abs().max() < 2 / 255, channel


def test_a_flat_frame_matched_in_lab_takes_the_references_mean_colour(chelsea):
    """A loop gone flat (contrast 0) was matched to pure white or black: its float32 mean, 1e-5 off
    its pixels, divided by a spread floored at 1e-6."""
    reference = ColorReference(to_tensor(chelsea))
    for level in (0.1, 0.4, 0.77):
        matched = cohere(torch.full((1, 3, 32, 48), level), reference, "lab", 1.0)
        assert matched.std(dim=(2, 3)).max() < 1e-3  # still flat
        assert (rgb_to_lab(matched).mean(dim=(2, 3))[0] - reference.mean).abs().max() < 0.5  # the reference's mean


def test_histogram_matching_keeps_a_flat_area_one_colour(chelsea):
    # Equal values share a rank: ranked one by one, a plain box (a clipped highlight, a flat
    # background) came out of the match as hundreds of colours spread over up to 60 levels.
    coffee = resize(read_image(SAMPLES / "coffee.png"), 96, 64).copy()
    coffee[16:48, 24:72] = 200
    cat = to_tensor(resize(chelsea, 96, 64))
    matched = to_image(cohere(to_tensor(coffee), ColorReference(cat), "histogram", 1.0))
    box = matched[16:48, 24:72].reshape(-1, 3)
    assert len(np.unique(box, axis=0)) == 1


def test_histogram_matching_matches_each_picture_of_a_batch_on_its_own(chelsea):
    # (B,3,H,W) was ranked as three rows of all the pictures' samples: channels of two pictures mixed
    cat, coffee = (to_tensor(resize(image, 96, 64)) for image in (chelsea, read_image(SAMPLES / "coffee.png")))
    reference = ColorReference(to_tensor(resize(read_image(SAMPLES / "brick.png"), 96, 64)))
    both = cohere(torch.cat([cat, coffee]), reference, "histogram", 1.0)
    assert torch.equal(both[:1], cohere(cat, reference, "histogram", 1.0))
    assert torch.equal(both[1:], cohere(coffee, reference, "histogram", 1.0))


def test_lab_matching_takes_the_references_spread_as_well_as_its_mean(chelsea):
    # Reinhard's match: each LAB channel's standard deviation too, short of what the gamut clips
    cat, coffee = (to_tensor(resize(image, 96, 64)) for image in (chelsea, read_image(SAMPLES / "coffee.png")))
    spread = rgb_to_lab(cohere(cat, ColorReference(coffee), "lab", 1.0)).flatten(2)[0].std(1)
    ratio = spread / rgb_to_lab(coffee).flatten(2)[0].std(1)
    assert ((ratio - 0.95).abs() < 0.12).all(), ratio


def test_histogram_matching_keeps_the_order_of_values_and_reaches_the_references_extremes():
    # a ramp of 6144 levels: each value between two of the reference's quantiles lies between them,
    # so a brighter pixel never comes out darker, and the ends are the reference's darkest and brightest
    ramp = torch.linspace(0, 1, 96 * 64).reshape(1, 1, 64, 96).repeat(1, 3, 1, 1)
    coffee = to_tensor(resize(read_image(SAMPLES / "coffee.png"), 96, 64))
    matched = cohere(ramp, ColorReference(coffee), "histogram", 1.0).flatten(2)[0]
    assert (matched.diff(dim=1) >= 0).all()
    values = coffee.flatten(2)[0]
    torch.testing.assert_close(matched[:, 0], values.min(1).values, rtol=0, atol=1e-6)
    torch.testing.assert_close(matched[:, -1], values.max(1).values, rtol=0, atol=1e-6)


def test_histogram_matching_sorts_by_numpy_on_the_cpu_to_torchs_result(chelsea, monkeypatch):
    """NumPy's argsort (a fifth of a looping step faster at 384 px) orders equal values its own way;
    they share one rank, so the match is torch's to the bit: an 8-bit picture, ties everywhere, and
    a float one."""
    import animator.controls.color as color

    reference = ColorReference(to_tensor(resize(read_image(SAMPLES / "coffee.png"), 96, 64)))
    pictures = [to_tensor(resize(chelsea, 96, 64)), torch.rand((2, 3, 40, 56), generator=torch.Generator().manual_seed(0))]
    by_numpy = [cohere(picture, reference, "histogram", 1.0) for picture in pictures]
    order = np.argsort(pictures[0].reshape(3, -1).numpy(), axis=1)
    assert not np.array_equal(order, pictures[0].reshape(3, -1).sort(dim=1).indices.numpy())  # ties in another order
    monkeypatch.setattr(color, "sort_rows", lambda rows: rows.sort(dim=1))
    assert all(torch.equal(ours, cohere(picture, reference, "histogram", 1.0)) for ours, picture in zip(by_numpy, pictures))
