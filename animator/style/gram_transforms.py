"""Manipulated and synthetic style targets: functions of a Gram matrix G (C,C) and a generator.

Each keeps the target's scale, so a style weight tuned for real targets still fits. Random draws
come from the generator the caller passes, so a render with the same seed draws the same targets.
"""

from __future__ import annotations

import torch

from animator.preset.schema import GramTransform

RANGE_PROBE = 128  # the largest rank solved on its range; larger ones take the full eigenproblem


def _rms(gram: torch.Tensor) -> torch.Tensor:
    return gram.square().mean().sqrt()


def _eigen(gram: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending, at least 0) and eigenvectors of a Gram matrix, in float64; only
    the largest when the rest are zero.

    A Gram of N feature positions has rank at most N, and at small sizes the deep layers have far
    fewer positions than channels (a 48 px frame has 9 at relu5_1, against 512 channels). Then the
    eigenproblem is solved on G's range, found with a fixed random probe, for a fraction of the
    cost; the vectors of zero eigenvalues never count in a target."""
    g = gram.double()
    c = g.shape[0]
    if c >= 2 * RANGE_PROBE:
        probe = torch.randn(c, RANGE_PROBE, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        basis, _ = torch.linalg.qr(g @ probe.to(g.device))
        small = basis.T @ g @ basis
        if g.trace() - small.trace() <= 1e-9 * g.trace():  # G is PSD: what the basis misses, summed
            values, rotation = torch.linalg.eigh(small)
            return values.clamp_min(0), basis @ rotation
    values, vectors = torch.linalg.eigh(g)
    return values.clamp_min(0), vectors


def eigen_randomize(gram: torch.Tensor, rng: torch.Generator, low: float, high: float) -> torch.Tensor:
    """G = V diag(l) V^T with every element of V multiplied by U(low, high): still symmetric PSD."""
    values, vectors = _eigen(gram)
    c = gram.shape[0]
    factors = torch.empty(c, c, dtype=torch.float64).uniform_(low, high, generator=rng)
    v = vectors * factors[:, c - vectors.shape[1]:].to(vectors.device)  # the columns of the largest eigenvalues
    return (v * values) @ v.T


def eigen_replace(gram: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """The target's eigenvalues on random orthonormal eigenvectors."""
    values, _ = _eigen(gram)
    q, _ = torch.linalg.qr(torch.randn(gram.shape, dtype=torch.float64, generator=rng))
    q = q[:, q.shape[1] - values.shape[0]:].to(gram.device)
    return (q * values) @ q.T


def random_psd(gram: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """A random symmetric positive semi-definite matrix with the target's trace."""
    a = torch.randn(gram.shape, dtype=torch.float64, generator=rng).to(gram.device)
    psd = a @ a.T
    return psd * (gram.double().trace() / psd.trace())


def sparse(gram: torch.Tensor, rng: torch.Generator, density: float, amplitude: float) -> torch.Tensor:
    """|N(0, amplitude * rms(G))| on a random symmetric 0/1 mask of the given density."""
    c = gram.shape[0]
    upper = torch.triu(torch.ones(c, c, dtype=torch.bool))
    mask = (torch.rand(c, c, generator=rng) < density) & upper
    values = torch.randn(c, c, generator=rng).abs() * mask
    values = values + torch.triu(values, 1).T
    return values.to(gram.device, torch.float64) * amplitude * _rms(gram).double()


def single(gram: torch.Tensor, rng: torch.Generator, amplitude: float) -> torch.Tensor:
    """All zero but one entry (and its mirror) at a random place, amplitude * rms(G) * C."""
    c = gram.shape[0]
    i, j = torch.randint(c, (2,), generator=rng).tolist()
    out = torch.zeros(c, c, dtype=torch.float64, device=gram.device)
    out[i, j] = out[j, i] = amplitude * _rms(gram).double() * c
    return out


def apply(transform: GramTransform, gram: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """The transformed target, same dtype as `gram`."""
    name = transform.name
    if name == "eigen-randomize":
        out = eigen_randomize(gram, rng, transform.low, transform.high)
    elif name == "eigen-replace":
        out = eigen_replace(gram, rng)
    elif name == "random":
        out = random_psd(gram, rng)
    elif name == "sparse":
        out = sparse(gram, rng, transform.density, transform.amplitude)
    elif name == "single":
        out = single(gram, rng, transform.amplitude)
    else:
        return gram
    return out.to(gram.dtype)
