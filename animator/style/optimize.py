"""The optimization loop: one function, its parts passed in."""

from __future__ import annotations

from collections.abc import Callable

import torch


def optimize(
    start: torch.Tensor, loss: Callable[[torch.Tensor], torch.Tensor], *, steps: int, optimizer: str = "lbfgs",
    lr: float = 0.02, before_step: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Minimize loss(x) over the image x from `start`; returns x, detached. One loss evaluation
    per step for both optimizers, so `steps` is also the number of forward/backward passes."""
    x = start.detach().clone().requires_grad_(True)
    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=50)
    else:
        opt = torch.optim.Adam([x], lr=lr)

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        value = loss(x)
        value.backward()
        x.grad = x.grad.contiguous()  # a channels-last network hands back a channels-last gradient
        return value

    for step in range(steps):
        if before_step is not None:
            before_step(step)
        opt.step(closure)
    return x.detach()
