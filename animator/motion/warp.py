"""Warping images by a flow field on the render device.

Convention: a flow field is (B,2,H,W) in pixels, channel 0 = dx, channel 1 = dy. `warp(image,
flow)` samples image at p + flow(p) for every output pixel p (backward warping), bilinearly, with
align_corners=True so pixel centres map exactly; samples outside the image repeat the border.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def base_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(height, device=device, dtype=torch.float32),
                            torch.arange(width, device=device, dtype=torch.float32), indexing="ij")
    return torch.stack([xs, ys])  # (2,H,W) pixel coordinates


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """image (B,C,H,W), flow (B,2,H,W) -> image sampled at p + flow(p)."""
    if image.shape[0] != flow.shape[0] or image.shape[-2:] != flow.shape[-2:] or flow.shape[1] != 2:
        raise ValueError(f"warp: image {tuple(image.shape)} and flow {tuple(flow.shape)} do not match")
    h, w = image.shape[-2:]
    coords = base_grid(h, w, flow.device) + flow
    grid = torch.stack([2 * coords[:, 0] / max(w - 1, 1) - 1, 2 * coords[:, 1] / max(h - 1, 1) - 1], dim=-1)
    return F.grid_sample(image, grid.to(image.dtype), mode="bilinear", padding_mode="border", align_corners=True)


def consistency_mask(backward: torch.Tensor, forward: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W), 1 where the flow is trustworthy (Ruder et al. 2016).

    `backward` maps frame t to t-1, `forward` maps t-1 to t. Following backward then forward
    should return home: |w + w'|^2 > 0.01 (|w|^2 + |w'|^2) + 0.5 marks a pixel occluded. A pixel
    whose source lies outside the previous frame is not trustworthy either.
    """
    there = warp(forward, backward)  # w'(p + w(p))
    error = (backward + there).square().sum(1, keepdim=True)
    bound = 0.01 * (backward.square().sum(1, keepdim=True) + there.square().sum(1, keepdim=True)) + 0.5
    h, w = backward.shape[-2:]
    source = base_grid(h, w, backward.device) + backward
    inside = (source[:, :1] >= 0) & (source[:, :1] <= w - 1) & (source[:, 1:] >= 0) & (source[:, 1:] <= h - 1)
    return ((error <= bound) & inside).float()


def motion_boundaries(flow: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """(B,1,H,W), 1 away from motion boundaries: |grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002."""
    dx = F.pad(flow[..., :, 1:] - flow[..., :, :-1], (0, 1, 0, 0))
    dy = F.pad(flow[..., 1:, :] - flow[..., :-1, :], (0, 0, 0, 1))
    gradient = dx.square().sum(1, keepdim=True) + dy.square().sum(1, keepdim=True)
    return (gradient <= threshold * flow.square().sum(1, keepdim=True) + 0.002).float()
