"""The networks' last 9x9 convolution through the FFT: the same numbers as conv2d, faster."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from animator.media.frame import resize, to_tensor
from animator.metrics import psnr
from animator.nets import arbitrary, multistyle
from animator.nets.fft_conv import TILE, fft_conv2d, kernel_spectrum


@pytest.mark.parametrize("shape", [(1, 3, 9, 9), (2, 8, 2 * TILE + 37, 3 * TILE + 1), (1, 4, 5 * TILE + 8, 20)])
def test_the_fft_convolution_is_conv2d(shape):
    generator = torch.Generator().manual_seed(len(shape) + shape[-1])
    x = torch.rand(shape, generator=generator)
    weight = torch.randn(3, shape[1], 9, 9, generator=generator) * 0.1
    bias = torch.randn(3, generator=generator)
    found = fft_conv2d(x, kernel_spectrum(weight), 9, bias)
    expected = F.conv2d(x, weight, bias)
    assert found.shape == expected.shape and found.is_contiguous()
    assert (found - expected).abs().max() < 1e-4


@pytest.mark.parametrize("load", [multistyle.load_multistyle, arbitrary.load_transformer])
@torch.inference_mode()
def test_the_networks_last_layer_goes_through_the_fft_and_paints_the_same(load, chelsea):
    net = load()
    last = net.expand[-1].conv
    assert last.by_fft and not any(layer.conv.by_fft for layer in net.layers()[:-1])
    image = to_tensor(resize(chelsea, 333, 250))
    style = torch.eye(26)[7] if load is multistyle.load_multistyle else torch.randn(1, 100, generator=torch.Generator().manual_seed(1))
    through_fft = net(image, style)
    last.by_fft = False
    direct = net(image, style)
    assert psnr(through_fft.numpy(), direct.numpy(), peak=1.0) >= 60
