"""Style representations of a feature map F (B,C,H,W), and colour helpers. Pure functions.

- gram: G = F F^T / HW, what correlates with what, anywhere in the picture.
- spatial: each channel's full 2-D autocorrelation (F_i * F_i) / HW, via FFT: where things repeat.
- local: per pixel p the product F(p) Fw(p)^T, Fw being F averaged over a window of radius s with
  weights 1 / (1 + dx^2 + dy^2); s = 0 is the per-pixel Gram F(p) F(p)^T. Each is a rank-one
  matrix, so distances between them come from dot products and are never materialized.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gram(features: torch.Tensor) -> torch.Tensor:
    b, c, h, w = features.shape
    pixels = features.permute(0, 2, 3, 1).reshape(b, h * w, c)  # a free view of channels-last features
    if pixels.requires_grad:
        return _Gram.apply(pixels)
    return pixels.transpose(1, 2) @ pixels / (h * w)


class _Gram(torch.autograd.Function):
    """G = P^T P / N of the pixels P (B,N,C), the same product as above. Its gradient P (dG + dG^T) / N
    is one product: autograd, not knowing that both factors are P, takes two (N x C x C each) and
    adds them (N x C), a fifth of a 192 px `gatys` step's time on the CPU (this way 0.93x the step)."""

    @staticmethod
    def forward(ctx, pixels: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(pixels)
        return pixels.transpose(1, 2) @ pixels / pixels.shape[1]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (pixels,) = ctx.saved_tensors
        return pixels @ ((grad + grad.transpose(1, 2)) / pixels.shape[1])


def autocorrelation(features: torch.Tensor) -> torch.Tensor:
    """(B,C,2H-1,2W-1): lag (dy, dx) at index (dy mod 2H-1, dx mod 2W-1); zero-padded, not circular."""
    h, w = features.shape[-2:]
    size = (2 * h - 1, 2 * w - 1)
    spectrum = torch.fft.rfft2(features.float(), s=size)
    return torch.fft.irfft2(spectrum.real**2 + spectrum.imag**2, s=size) / (h * w)


def window_kernel(radius: int, channels: int, device: torch.device) -> torch.Tensor:
    offsets = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
    weights = 1 / (1 + offsets[:, None] ** 2 + offsets[None, :] ** 2)
    return weights.expand(channels, 1, -1, -1).contiguous()


def local_factors(features: torch.Tensor, radius: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(F, Fw): the local Gram at p is F(p) Fw(p)^T."""
    if radius == 0:
        return features, features
    kernel = window_kernel(radius, features.shape[1], features.device)
    return features, F.conv2d(features, kernel, padding=radius, groups=features.shape[1])


def local_distance(x: tuple[torch.Tensor, torch.Tensor], target: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Mean over pixels of ||a b^T - c d^T||_F^2 = |a|^2|b|^2 - 2(a.c)(b.d) + |c|^2|d|^2, over C^2 entries."""
    (a, b), (c, d) = x, target
    dot = lambda u, v: (u * v).sum(1)  # noqa: E731
    per_pixel = dot(a, a) * dot(b, b) - 2 * dot(a, c) * dot(b, d) + dot(c, c) * dot(d, d)
    return per_pixel.mean() / a.shape[1] ** 2


YUV = torch.tensor([[0.299, 0.587, 0.114], [-0.14713, -0.28886, 0.436], [0.615, -0.51499, -0.10001]])


def keep_colors(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The stylized luminance with the content's chroma (neural-style's -original_colors)."""
    yuv = YUV.to(stylized)
    y = torch.einsum("ij,bjhw->bihw", yuv[:1], stylized)
    uv = torch.einsum("ij,bjhw->bihw", yuv[1:], content)
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(yuv), torch.cat([y, uv], 1)).clamp(0, 1)
