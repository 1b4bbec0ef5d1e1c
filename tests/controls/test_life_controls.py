"""The controls that keep a loop alive, each doing what it says on a real picture."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import torch

from animator.controls import life
from animator.media.frame import to_tensor
from animator.media.frame import luminance
from animator.metrics.fidelity import gradient_energy
from tests.conftest import ROOT, SAMPLES


def picture() -> torch.Tensor:
    from animator.media.image import read_image

    return to_tensor(read_image(SAMPLES / "chelsea.png"))


def test_sharpen_adds_detail_and_zero_leaves_the_picture_alone():
    x = picture()
    assert gradient_energy(life.sharpen(x, 0.8, 1.5)) > 1.2 * gradient_energy(x)
    assert life.sharpen(x, 0.0, 1.5) is x
    small = torch.nn.functional.interpolate(x, size=(40, 64), mode="area")  # radius 16 at 64 px: the blur fits the picture
    assert life.sharpen(small, 1.0, 16.0).shape == small.shape


def test_tone_saturation_zero_is_grey_and_contrast_zero_is_the_mean():
    x = picture()
    grey = life.tone(x, 1.0, 0.0)
    assert torch.allclose(grey[:, 0], grey[:, 1], atol=1e-5) and torch.allclose(grey[:, 1], grey[:, 2], atol=1e-5)
    flat = life.tone(x, 0.0, 1.0)
    assert flat.std() < 1e-5 and abs(flat.mean() - luminance(x).mean()) < 1e-4
    assert life.tone(x, 1.3, 1.3).std() > x.std()
    vivid = life.tone(x, 1.0, 3.0)  # saturation alone pushes colours past the gamut: kept inside it
    assert vivid.min() == 0 and vivid.max() == 1 and vivid.std() > x.std()


def test_anchor_pulls_toward_the_picture():
    x, target = picture(), torch.zeros(1, 3, *picture().shape[-2:])
    assert torch.equal(life.anchor(x, target, 1.0), target)
    assert torch.allclose(life.anchor(x, target, 0.25), 0.75 * x)


def test_octave_noise_is_seeded_and_has_its_scale():
    x = torch.full((1, 3, 128, 128), 0.5)
    draw = lambda scale, seed: life.octave_noise(x, 0.1, scale, 1, torch.Generator().manual_seed(seed)) - x  # noqa: E731
    assert torch.equal(draw(16, 1), draw(16, 1)) and not torch.equal(draw(16, 1), draw(16, 2))
    neighbour = lambda n: torch.corrcoef(torch.stack([n[..., :-1].flatten(), n[..., 1:].flatten()]))[0, 1]  # noqa: E731
    assert neighbour(draw(16, 1)) > 0.9 and neighbour(draw(1, 1)) < 0.2  # blotches, against per-pixel noise


def test_original_colors_keep_the_stylized_luminance_with_the_content_colours():
    content = picture()
    stylized = torch.flip(content, dims=[1])  # channels swapped: other colours, other luminance
    kept = life.original_colors(stylized, content, 1.0)
    assert torch.allclose(luminance(kept), luminance(stylized), atol=0.02)
    chroma = lambda x: x - luminance(x)  # noqa: E731
    assert (chroma(kept) - chroma(content)).abs().mean() < 0.5 * (chroma(stylized) - chroma(content)).abs().mean()
    assert life.original_colors(stylized, content, 0.0) is stylized


def test_each_octave_is_a_layer_of_half_the_scale_and_half_the_strength():
    x = torch.full((1, 3, 128, 128), 0.5)  # amounts small enough that nothing clips
    rng = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    two = life.octave_noise(x, 0.02, 16, 2, rng()) - x
    layers = rng()
    first = life.octave_noise(x, 0.02, 16, 1, layers) - x
    second = life.octave_noise(x, 0.02, 8, 1, layers) - x  # the next draw of the same generator
    assert torch.allclose(two, first + 0.5 * second, atol=1e-6)


def test_sharpen_is_the_unsharp_mask_of_a_gaussian_blur_of_its_radius():
    import cv2

    from animator.media.image import read_image

    image = read_image(SAMPLES / "chelsea.png").astype(np.float32) / 255
    for radius in (1.0, 2.5):
        blurred = cv2.GaussianBlur(image, (0, 0), radius, borderType=cv2.BORDER_REFLECT_101)
        expected = np.clip(image + 0.7 * (image - blurred), 0, 1)
        sharpened = life.sharpen(picture(), 0.7, radius)[0].permute(1, 2, 0).numpy()
        assert np.abs(sharpened - expected).max() < 0.5 / 255, radius


def test_sharpen_blurs_as_torchvisions_gaussian_blur_to_the_bit():
    # Written without torchvision (its import is ~1.5 s of a loop's start-up): a loop that sharpens
    # paints the frames it painted with torchvision's blur, in either memory layout.
    from torchvision.transforms.functional import gaussian_blur

    x = picture()
    for radius in (0.6, 1.0, 2.5):
        side = 2 * math.ceil(3 * radius) + 1
        expected = (x + 0.4 * (x - gaussian_blur(x, [side, side], [radius, radius]))).clamp(0, 1)
        assert torch.equal(life.sharpen(x, 0.4, radius), expected), radius
        assert torch.equal(life.sharpen(x.contiguous(memory_format=torch.channels_last), 0.4, radius), expected), radius


def test_a_loop_that_sharpens_starts_without_torchvision():
    code = ("import sys, torch; from animator.controls import life; "
            "life.sharpen(torch.rand(1, 3, 32, 48), 0.5, 1.0); print('torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_contrast_keeps_the_picture_inside_its_range():
    x = picture()
    strong = life.tone(x, 2.0, 1.0)  # the cat's darks and lights pushed past 0 and 1: kept at them
    assert strong.min() == 0 and strong.max() == 1 and strong.std() > x.std()


def test_octave_noise_has_the_strength_and_shape_its_settings_say():
    x = torch.full((1, 3, 256, 384), 0.5)
    noise = lambda scale, octaves: life.octave_noise(x, 0.01, scale, octaves, torch.Generator().manual_seed(0)) - x  # noqa: E731
    assert abs(noise(8, 1).std() / 0.01 - 0.87) < 0.04  # the cells' std, smoothed between them to ~0.87 of it
    assert abs(noise(1, 2).std() / 0.01 - 1.25 ** 0.5) < 0.02  # finer than a pixel: a pixel's own draw, at half
    blotches = noise(16, 1)[0]
    across, down = (torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1]
                    for a, b in ((blotches[..., :-8], blotches[..., 8:]), (blotches[:, :-8], blotches[:, 8:])))
    assert abs(across - down) < 0.05  # square cells in an oblong picture
    wide = noise(512, 1)[0]  # cells wider than the picture: one, a colour cast
    assert wide.flatten(1).std(1).max() < 1e-6 and wide.abs().max() > 0


def test_octave_noise_keeps_the_picture_inside_its_range():
    x = torch.cat([torch.full((1, 3, 64, 64), 0.02), torch.full((1, 3, 64, 64), 0.98)], dim=-1)
    noisy = life.octave_noise(x, 0.2, 4, 2, torch.Generator().manual_seed(0))
    assert noisy.min() == 0 and noisy.max() == 1
