"""Feedback motion: each transform against an exact reference on real pictures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from animator.media.frame import resize, to_image, to_tensor
from animator.motion.feedback import move
from animator.preset.schema import MotionConfig


@pytest.fixture(scope="module")
def picture(chelsea):
    return to_tensor(resize(chelsea, 96, 64))


def test_no_motion_leaves_the_frame_untouched(picture):
    assert move(picture, MotionConfig()) is picture  # not resampled, so a still loop stays sharp


def test_translation_moves_whole_pixels_exactly(picture):
    moved = move(picture, MotionConfig(translate_x=5, translate_y=-3))
    assert torch.allclose(moved[..., :-3, 5:], picture[..., 3:, :-5], atol=1e-5)


def test_a_quarter_turn_is_counter_clockwise(chelsea):
    square = to_tensor(resize(chelsea, 64, 64))
    turned = move(square, MotionConfig(angle=90))
    assert torch.allclose(turned, torch.rot90(square, 1, dims=(-2, -1)), atol=1e-4)  # np.rot90: counter-clockwise


def test_zoom_enlarges_about_the_centre():
    disc = np.zeros((65, 65, 3), np.uint8)
    ys, xs = np.mgrid[0:65, 0:65]
    disc[(xs - 32) ** 2 + (ys - 32) ** 2 <= 10**2] = 255
    zoomed = to_image(move(to_tensor(disc), MotionConfig(zoom=2)))
    area = lambda image: (image[..., 0] > 127).sum()  # noqa: E731
    assert area(zoomed) / area(disc) == pytest.approx(4, rel=0.05)
    assert zoomed[32, 32, 0] == 255 and zoomed[32, 32 + 19, 0] == 255 and zoomed[32, 32 + 23, 0] == 0


def test_tilt_is_a_perspective_not_an_affine_map(picture):
    grid = torch.zeros(1, 3, 64, 96)
    grid[..., ::8] = 1  # vertical lines
    tilted = move(grid, MotionConfig(tilt_x=30))
    spacing = lambda row: np.median(np.diff(np.flatnonzero(np.diff((tilted[0, 0, row].numpy() > 0.3).astype(int)) > 0)))  # noqa: E731
    assert spacing(4) / spacing(59) > 1.15 or spacing(59) / spacing(4) > 1.15  # the lines converge towards one edge
    assert spacing(32) == pytest.approx(8, abs=0.5)  # and the middle row keeps its scale


def test_border_modes(picture):
    w = picture.shape[-1]
    wrapped = move(picture, MotionConfig(translate_x=w // 2, border="wrap"))
    assert torch.allclose(wrapped, torch.roll(picture, w // 2, dims=-1), atol=1e-5)
    replicated = move(picture, MotionConfig(translate_x=4, border="replicate"))
    assert torch.allclose(replicated[..., :4], picture[..., :1].expand(-1, -1, -1, 4), atol=1e-5)
    reflected = move(picture, MotionConfig(translate_x=4, border="reflect"))
    assert torch.allclose(reflected[..., :4], picture[..., 1:5].flip(-1), atol=1e-5)


@pytest.mark.parametrize("resample", ["bilinear", "bicubic"])
def test_wrap_has_no_seam_at_a_fraction_of_a_pixel(picture, resample):
    # A wrapped picture is periodic: moved, it must match the same move of the picture tiled
    # 3x3 (whose middle tile sees true neighbours across the edges); bicubic reads two pixels
    # across a seam, and a one-pixel pad once left the edge columns and rows 20+ levels off.
    h, w = picture.shape[-2:]
    motion = dict(translate_x=0.5, translate_y=0.5, resample=resample)
    wrapped = move(picture, MotionConfig(border="wrap", **motion))
    tiled = move(picture.repeat(1, 1, 3, 3), MotionConfig(border="replicate", **motion))[..., h:2 * h, w:2 * w]
    assert torch.allclose(wrapped, tiled, atol=1e-4)


@pytest.mark.parametrize("border", ["reflect", "wrap"])
def test_what_lies_behind_the_camera_is_the_edge_repeated_whatever_the_border(picture, border):
    # Tilted 60 degrees on both axes, part of the frame looks behind the camera: reflected or
    # wrapped, those points (far away) came out a scatter of arbitrary pixels of the picture.
    from animator.motion.feedback import homography

    motion = dict(tilt_x=60, tilt_y=60)
    h, w = picture.shape[-2:]
    ys, xs = np.mgrid[0:h, 0:w]
    behind = torch.from_numpy((np.stack([xs, ys, np.ones_like(xs)], -1) @ homography(MotionConfig(**motion), w, h).T)[..., 2] <= 1e-6)
    assert 0.05 < float(behind.float().mean()) < 0.5
    moved, repeated = (move(picture, MotionConfig(border=b, **motion)) for b in (border, "replicate"))
    assert torch.equal(moved[..., behind], repeated[..., behind])
    assert not torch.equal(moved[..., ~behind], repeated[..., ~behind])  # in front of it, the border as asked


def test_the_vertical_axis_moves_as_the_horizontal_one_seen_across_the_diagonal(chelsea):
    # Each key alone moves the picture: mirrored across its diagonal, a shift down is a shift
    # right, and a tilt about the vertical axis is one about the horizontal axis, turning the
    # other way (a mirror reverses the sense of a turn).
    square = to_tensor(resize(chelsea, 64, 64))
    across = lambda x: x.transpose(-1, -2)  # noqa: E731
    for alone, mirrored in ((dict(translate_y=5), dict(translate_x=5)), (dict(tilt_y=-20), dict(tilt_x=20))):
        moved = move(across(square), MotionConfig(**alone))
        assert not torch.equal(moved, across(square)), alone
        assert torch.allclose(moved, across(move(square, MotionConfig(**mirrored))), atol=1e-4), alone


def test_a_tilt_foreshortens_as_a_camera_with_a_53_degree_field_of_view_sees_it():
    # A plane turned by a about its horizontal axis, at the focal distance f of a pinhole camera,
    # shows a horizontal length at y pixels from the centre scaled by 1 - y tan(a) / f; a 53-degree
    # field of view across the picture's longer side is f = that side (2 atan(1/2) = 53.1 degrees).
    w, h = 97, 65  # centre on a pixel: (48, 32)
    lines = torch.zeros(1, 3, h, w)
    lines[..., [24, 72]] = 1  # two vertical lines 48 pixels apart
    tilted = move(lines, MotionConfig(tilt_x=30))[0, 0].numpy()

    def apart(row: int) -> float:  # their distance at a row, from each one's centre of mass
        left, right = tilted[row, :48], tilted[row, 48:]
        return (right @ np.arange(48, w)) / right.sum() - (left @ np.arange(48)) / left.sum()

    assert apart(32) == pytest.approx(48, abs=0.01)
    shrink = 24 * math.tan(math.radians(30)) / max(w, h)
    ratio = apart(8) / apart(56)  # 24 rows above the centre, and below
    assert max(ratio, 1 / ratio) == pytest.approx((1 + shrink) / (1 - shrink), abs=0.01)
