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


def test_the_grams_gradient_is_autograds_through_the_product_taken_as_one_product():
    """gram's gradient P (dG + dG^T) / N, one product, is what autograd takes through P^T P / N as
    two products and their sum: the same to float64's rounding, for features laid out either way
    (VGG19's are channels-last); the Gram itself is the same bits with a gradient or without."""
    generator = torch.Generator().manual_seed(2)
    for layout in (torch.contiguous_format, torch.channels_last):
        f = torch.randn(2, 8, 6, 5, generator=generator, dtype=torch.float64).contiguous(memory_format=layout)
        weights = torch.randn(2, 8, 8, generator=generator, dtype=torch.float64)
        ours, autograds = f.clone().requires_grad_(), f.clone().requires_grad_()
        g = functional.gram(ours)
        (g * weights).sum().backward()
        pixels = autograds.permute(0, 2, 3, 1).reshape(2, 30, 8)
        ((pixels.transpose(1, 2) @ pixels / 30) * weights).sum().backward()
        assert type(g.grad_fn).__name__ == "_GramBackward"  # the one product, not autograd's two
        assert torch.allclose(ours.grad, autograds.grad, rtol=1e-12, atol=1e-12)
        assert torch.equal(g.detach(), functional.gram(f))


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
