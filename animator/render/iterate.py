"""Iterated style transfer: x[t+1] = (1 - blend) x[t] + blend f(style, x[t]).

With `style: self` the style is the current frame itself, so a feed-forward network, which does
not return its input, drifts further every step into the "psychedelic regime".
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from animator.methods import Method, Styles


def frame_generator(seed: int, index: int) -> torch.Generator:
    """The random numbers of one frame: from the seed and the index alone, so a resumed render
    draws what an uninterrupted one would have."""
    return torch.Generator().manual_seed(seed * 1_000_003 + index)


def iterate(
    method: Method, x: torch.Tensor, *, steps: int, blend: float, styles: Styles | None = None, start: int = 0,
    seed: int = 0,
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yields (t, x[t]) for t = start + 1 .. steps, from x = x[start]. `styles=None` means self."""
    fixed = method.prepare_style(styles) if styles is not None else None
    for t in range(start + 1, steps + 1):
        target = fixed if fixed is not None else method.prepare_style([(x, 1.0)])
        x = torch.lerp(x, method.transfer(target, x, init=x, rng=frame_generator(seed, t)), blend)
        yield t, x
