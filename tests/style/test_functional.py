import torch

from animator.style import functional


def brute_autocorrelation(f: torch.Tensor) -> torch.Tensor:
    """sum_p f(p) f(p + d) / HW for every lag d, stored at (dy mod 2H-1, dx mod 2W-1)."""
    b, c, h, w = f.shape
    out = torch.zeros(b, c, 2 * h - 1, 2 * w - 1, dtype=torch.float64)
    padded = torch.zeros(b, c, 3 * h, 3 * w, dtype=torch.float64)
    padded[..., h:2 * h, w:2 * w] = f
    for dy in range(-(h - 1), h):
        for dx in range(-(w - 1), w):
            shifted = padded[..., h + dy:2 * h + dy, w + dx:2 * w + dx]
            out[..., dy % (2 * h - 1), dx % (2 * w - 1)] = (f * shifted).sum((-2, -1)) / (h * w)
    return out


def test_fft_autocorrelation_equals_brute_force():
    f = torch.randn(2, 3, 5, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.allclose(functional.autocorrelation(f).double(), brute_autocorrelation(f), atol=1e-5)


def test_gram_is_the_mean_outer_product():
    f = torch.randn(1, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    flat = f.reshape(4, 9)
    expected = sum(torch.outer(flat[:, p], flat[:, p]) for p in range(9)) / 9
    g = functional.gram(f)[0]
    assert torch.allclose(g, expected, atol=1e-6) and torch.allclose(g, g.T)


def materialized_local(f: torch.Tensor, radius: int) -> torch.Tensor:
    """The local Gram at every pixel, built the long way: sum over the window of w(d) f(p) f(p+d)^T."""
    c, h, w = f.shape[1:]
    padded = torch.nn.functional.pad(f, (radius,) * 4)
    out = torch.zeros(h, w, c, c)
    for y in range(h):
        for x in range(w):
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    weight = 1 / (1 + dx * dx + dy * dy)
                    out[y, x] += weight * torch.outer(f[0, :, y, x], padded[0, :, y + radius + dy, x + radius + dx])
    return out


def test_local_distance_equals_the_materialized_local_grams():
    gen = torch.Generator().manual_seed(2)
    a, b = torch.randn(1, 3, 4, 5, generator=gen), torch.randn(1, 3, 4, 5, generator=gen)
    for radius in (0, 1):
        expected = (materialized_local(a, radius) - materialized_local(b, radius)).square().sum((-2, -1)).mean() / 9
        found = functional.local_distance(functional.local_factors(a, radius), functional.local_factors(b, radius))
        assert torch.allclose(found, expected, rtol=1e-4), radius


def test_original_colors_keep_content_chroma():
    content = 0.4 + 0.2 * torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))  # in gamut either way
    grey = content.mean(1, keepdim=True).expand(1, 3, 8, 8)
    out = functional.keep_colors(grey, content)
    yuv = functional.YUV
    assert torch.allclose(torch.einsum("ij,bjhw->bihw", yuv[1:], out), torch.einsum("ij,bjhw->bihw", yuv[1:], content), atol=0.02)
    assert torch.allclose(torch.einsum("ij,bjhw->bihw", yuv[:1], out), torch.einsum("ij,bjhw->bihw", yuv[:1], grey), atol=0.02)
