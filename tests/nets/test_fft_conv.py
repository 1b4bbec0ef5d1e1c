"""The networks' last 9x9 convolution through the FFT: the same numbers as conv2d, faster."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from animator.media.frame import resize, to_tensor
from animator.metrics import psnr
from animator.nets import arbitrary, layers, multistyle
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


@pytest.mark.parametrize("amx", [False, True])
@torch.inference_mode()
def test_in_bfloat16_on_a_cpu_with_amx_the_last_layer_convolves_directly(amx, monkeypatch):
    """AMX's tiles make oneDNN's bfloat16 convolution faster than the FFT in float32 (14 ms against
    17 for an `arbitrary` frame at 640x360); without them the FFT is the faster, in either type."""
    monkeypatch.setattr(layers, "has_amx", lambda: amx)
    calls = []
    monkeypatch.setattr(layers, "fft_conv2d", lambda *args, **kwargs: calls.append(1) or fft_conv2d(*args, **kwargs))
    generator = torch.Generator().manual_seed(3)
    conv = layers.ReflectConv(torch.randn(3, 16, 9, 9, generator=generator).numpy() * 0.05, np.zeros(3, np.float32))
    x = torch.rand(1, 16, 40, 52, generator=generator)
    expected = F.conv2d(F.pad(x, (4,) * 4, mode="reflect"), conv.weight, conv.bias)
    assert (conv(x) - expected).abs().max() < 1e-4 and len(calls) == 1  # float32: the FFT on any CPU
    found = conv.to(torch.bfloat16)(x.to(torch.bfloat16)).float()
    assert len(calls) == (1 if amx else 2)
    assert (found - expected).abs().max() < 0.05
