"""Warping images by a flow field on the render device.

Convention: a flow field is (B,2,H,W) in pixels, channel 0 = dx, channel 1 = dy. `warp(image,
flow)` samples image at p + flow(p) for every output pixel p (backward warping), bilinearly, with
align_corners=True so pixel centres map exactly; samples outside the image repeat the border.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


@functools.lru_cache(maxsize=8)
def pixel_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    """(1,2,H,W): every pixel centre in grid_sample's coordinates (-1..1, align_corners=True), x
    then y, as planes."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, height, device=device), torch.linspace(-1, 1, width, device=device),
                            indexing="ij")
    return torch.stack([xs, ys])[None]


def sampling_grid(flow: torch.Tensor) -> torch.Tensor:
    """(B,H,W,2): where p + flow(p) lies, in grid_sample's coordinates. Computed as planes, as the
    flow is laid out, and handed over as a view: grid_sample reads it as fast, and a sum read
    through the flow's permuted view took 3x as long (0.6 ms a 640x360 flow on the CPU)."""
    h, w = flow.shape[-2:]
    per_pixel = flow.new_tensor([2 / max(w - 1, 1), 2 / max(h - 1, 1)]).view(1, 2, 1, 1)
    return torch.addcmul(pixel_grid(h, w, flow.device), flow, per_pixel).permute(0, 2, 3, 1)


def warp(image: torch.Tensor, flow: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """image (B,C,H,W), flow (B,2,H,W) -> image sampled at p + flow(p). `bicubic` keeps more of a
    picture that is warped again and again (each bilinear pass blurs a sub-pixel shift); its
    overshoot is clamped to the image's [0, 1]."""
    if image.shape[0] != flow.shape[0] or image.shape[-2:] != flow.shape[-2:] or flow.shape[1] != 2:
        raise ValueError(f"warp: image {tuple(image.shape)} and flow {tuple(flow.shape)} do not match")
    if mode == "bicubic" and image.device.type == "cpu":
        return remap_bicubic(image, flow).clamp_(0, 1)
    warped = sample(image, sampling_grid(flow), mode)
    return warped.clamp(0, 1) if mode == "bicubic" else warped


def remap_bicubic(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """grid_sample's bicubic warp (Keys' kernel, a = -0.75; taps past the edge repeat it), done by
    OpenCV's remap on the CPU, where it is about three times as fast; the two differ by < 1e-4.
    OpenCV keeps a pixel's channels together, as a channels-last tensor does: the warp is returned
    channels-last, and a channels-last image (the networks' paintings) is read without a copy."""
    import cv2

    h, w = flow.shape[-2:]
    xs, ys = pixel_coordinates(h, w)
    warped = torch.empty((image.shape[0], h, w, image.shape[1]), dtype=torch.float32)
    for b in range(image.shape[0]):
        f = flow[b].float().numpy()
        map_x, map_y = xs + f[0], ys + f[1]
        pixels = image[b].float().permute(1, 2, 0)
        for c in range(0, image.shape[1], 4):  # remap takes up to four channels at once
            # written in place where it is the whole pixel (a frame's colours); not where torch alone
            # calls it contiguous (a 1x1 slice of more than 4 channels, whose strides OpenCV refuses)
            into = warped[b, ..., c:c + 4]
            remapped = cv2.remap(pixels[..., c:c + 4].contiguous().numpy(), map_x, map_y, cv2.INTER_CUBIC,
                                 dst=into.numpy() if image.shape[1] <= 4 else None, borderMode=cv2.BORDER_REPLICATE)
            if remapped.ctypes.data != into.data_ptr():
                into.copy_(torch.from_numpy(remapped.reshape(h, w, -1)))
    return warped.permute(0, 3, 1, 2).to(image.dtype)


@functools.lru_cache(maxsize=8)
def pixel_coordinates(height: int, width: int) -> tuple:
    """(x, y) of every pixel centre, as float32 arrays, for OpenCV's remap."""
    import numpy as np

    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys


def sample(image: torch.Tensor, grid: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    return F.grid_sample(image, grid.to(image.dtype), mode=mode, padding_mode="border", align_corners=True)


def consistency_mask(backward: torch.Tensor, forward: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W), 1 where the flow is trustworthy (Ruder et al. 2016): `returns_home` where the
    pixel's source lies inside the previous frame."""
    grid = sampling_grid(backward)
    return (returns_home(backward, sample(forward, grid)) & inside(grid)).float()


def returns_home(backward: torch.Tensor, there: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W) bool: the forward-backward check. `backward` maps frame t to t-1; `there` is the
    forward flow (t-1 to t) sampled at p + backward(p). Following one then the other should
    return home: |w + w'|^2 > 0.01 (|w|^2 + |w'|^2) + 0.5 marks a pixel occluded. Channel by
    channel: on the CPU a sum over the two channels' dimension takes 3x as long as their sum."""
    error = (backward + there).square_()
    lengths = backward.square().add_(there.square())
    return error[:, :1] + error[:, 1:] <= (lengths[:, :1] + lengths[:, 1:]).mul_(0.01).add_(0.5)


def within_frame(backward: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W), 1 where the pixel's source p + w(p) lies inside the previous frame: the one test
    left when there is no forward flow to check against."""
    return inside(sampling_grid(backward)).float()


def inside(grid: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W) bool: where a sampling grid lies inside the image (read as planes, as it was made)."""
    extent = grid.permute(0, 3, 1, 2).abs()
    return torch.maximum(extent[:, :1], extent[:, 1:]) <= 1 + 1e-6


def motion_boundaries(flow: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """(B,1,H,W), 1 away from motion boundaries: |grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002."""
    return smooth_motion(flow, threshold).float()


def smooth_motion(flow: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """`motion_boundaries` as a bool tensor."""
    across, down = (flow[..., :, 1:] - flow[..., :, :-1]).square_(), (flow[..., 1:, :] - flow[..., :-1, :]).square_()
    gradient = torch.zeros_like(flow[:, :1])
    gradient[..., :, :-1] = across[:, :1] + across[:, 1:]
    gradient[..., :-1, :] += down[:, :1] + down[:, 1:]
    lengths = flow.square()
    return gradient <= (lengths[:, :1] + lengths[:, 1:]).mul_(threshold).add_(0.002)
