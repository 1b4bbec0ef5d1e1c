"""The stylization network for frames too large to run whole: layer by layer, each convolution
computed tile by tile, so only the layer's input and output are ever whole.

Every tile reads the halo its convolution needs from its neighbours (and the frame's reflection at
the frame's edges), and each instance norm takes its statistics over the whole frame's output
before anything is normalized, so the result is the untiled network's, without seams, up to the
order of floating-point sums. What it saves is the untiled pass's frame-sized temporaries (the
padded copy of every input, the convolution's workspace, the norm's output): a 3840x2160 frame
of `multistyle` peaks at about 2.2 GB instead of 2.9.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from animator.nets.layers import Norms, PlainConv, StyleNormConv, StylizationNetwork, activate, pad_to_multiple

TILE = 512  # output pixels a side: a tile's temporaries stay in the tens of megabytes


def tiled_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int = 1,
               upsample: int = 1, tile: int = TILE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """conv2d(reflect_pad(upsample_nearest(x))) with 'same' padding, computed tile by tile; with
    the per-channel sum and sum of squares of the output (B, C), taken while each tile is fresh."""
    k = weight.shape[-1]
    pad = k // 2
    height, width = x.shape[-2] * upsample, x.shape[-1] * upsample
    out_h, out_w = (height + 2 * pad - k) // stride + 1, (width + 2 * pad - k) // stride + 1
    out = torch.empty((x.shape[0], weight.shape[0], out_h, out_w), dtype=x.dtype, device=x.device,
                      memory_format=torch.channels_last)
    total = torch.zeros(out.shape[:2], dtype=torch.float64, device=x.device)
    squares = torch.zeros_like(total)
    for top, bottom in _tiles(out_h, tile):
        rows = _span(top, bottom - top, stride, k, pad, height)
        for left, right in _tiles(out_w, tile):
            cols = _span(left, right - left, stride, k, pad, width)
            region = _region(x, rows, cols, upsample).contiguous(memory_format=torch.channels_last)
            y = F.conv2d(region, weight, bias, stride)
            out[..., top:bottom, left:right] = y
            total += y.sum(dim=(2, 3), dtype=torch.float64)
            squares += torch.linalg.vector_norm(y, dim=(2, 3), dtype=torch.float64).square()
    return out, total, squares


def _tiles(size: int, tile: int) -> list[tuple[int, int]]:
    """(start, end) of as few tiles as cover `size` outputs, each at most `tile`, of equal sizes:
    a last tile a pixel or two wide would give oneDNN's bfloat16 strided convolution an input 3 or
    4 pixels wide, which it computes wrong (values up to 1e37, NaN), and one bad tile spoils the
    whole frame through the norms' statistics."""
    count = -(-size // tile)
    ends = [size * i // count for i in range(count + 1)]
    return list(zip(ends, ends[1:]))


def _span(start: int, count: int, stride: int, k: int, pad: int, size: int) -> tuple[int, int, int, int]:
    """(first, end, before, after): the input rows (or columns) outputs start..start+count read,
    within the frame, and how many more they read beyond its two edges (reflected there)."""
    first, end = start * stride - pad, (start + count - 1) * stride + k - pad
    return max(first, 0), min(end, size), max(-first, 0), max(end - size, 0)


def _region(x: torch.Tensor, rows: tuple, cols: tuple, upsample: int) -> torch.Tensor:
    """The input a tile's convolution reads: the frame's pixels (upsampled) with the frame's
    reflection beyond its edges."""
    (r0, r1, top, bottom), (c0, c1, left, right) = rows, cols
    if upsample > 1:  # the source pixels that cover the upsampled span, upsampled, then trimmed
        part = x[..., r0 // upsample:(r1 - 1) // upsample + 1, c0 // upsample:(c1 - 1) // upsample + 1]
        part = F.interpolate(part, scale_factor=upsample, mode="nearest")
        part = part[..., r0 % upsample:r0 % upsample + r1 - r0, c0 % upsample:c0 % upsample + c1 - c0]
    else:
        part = x[..., r0:r1, c0:c1]
    return F.pad(part, (left, right, top, bottom), mode="reflect") if top or bottom or left or right else part


def normalize(x: torch.Tensor, total: torch.Tensor, squares: torch.Tensor, eps: float,
              condition: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Instance norm with the style's (scale, shift), in place, from the whole frame's sums."""
    count = x.shape[-2] * x.shape[-1]
    mean = total / count
    var = (squares / count - mean.square()).clamp_min(0)
    scale, shift = (c.double() for c in condition)
    a = scale * torch.rsqrt(var + eps)
    b = shift - mean * a
    return x.mul_(a[:, :, None, None].to(x.dtype)).add_(b[:, :, None, None].to(x.dtype))


def run_layer(layer: PlainConv | StyleNormConv, x: torch.Tensor, condition, upsample: int = 1,
              tile: int = TILE) -> torch.Tensor:
    """One layer of the network (convolution, norm, activation) over the whole frame, in tiles."""
    y, total, squares = tiled_conv(x, layer.conv.weight, layer.conv.bias, layer.conv.stride, upsample, tile)
    if isinstance(layer, PlainConv):
        return y.relu_()
    return activate(normalize(y, total, squares, layer.eps, condition), layer.activation)


def stylize_tiled(net: StylizationNetwork, image: torch.Tensor, conditions: list, tile: int = TILE) -> torch.Tensor:
    """StylizationNetwork.stylize for a frame too large to run whole (see the module's note)."""
    return decode_tiled(net, encode_tiled(net, image, conditions, tile), conditions, image.shape[-2:], tile)


def encode_tiled(net: StylizationNetwork, image: torch.Tensor, conditions: list, tile: int = TILE) -> torch.Tensor:
    """StylizationNetwork.encode in tiles: the features a video's `features` mode blends."""
    x, _ = pad_to_multiple(image, 4)
    given = iter(conditions)
    for layer in net.contract:
        x = run_layer(layer, x, next(given), tile=tile)
    for first, second in net.residual:  # at a quarter of the size: small enough to run whole
        x = x + second(first(x, next(given)), next(given))
    return x


def decode_tiled(net: StylizationNetwork, features: torch.Tensor, conditions: list, size: tuple[int, int],
                 tile: int = TILE) -> torch.Tensor:
    """StylizationNetwork.decode in tiles."""
    given = iter(conditions[-len(net.expand):])
    x = run_layer(net.expand[0], features, next(given), upsample=2, tile=tile)
    x = run_layer(net.expand[1], x, next(given), upsample=2, tile=tile)
    return run_layer(net.expand[2], x, next(given), tile=tile)[..., :size[0], :size[1]]


MAX_WHOLE_PIXELS = 3840 * 2160  # a 2160p frame runs whole in under 3 GB; larger ones in tiles


# `norms` (nets/layers.py) go to the whole network's passes; a tiled pass neither records nor is
# given statistics, so a record of it is short of the network's norms.


def run(net: StylizationNetwork, image: torch.Tensor, conditions: list, norms: Norms | None = None) -> torch.Tensor:
    """The network's output: whole, or in tiles for a frame larger than MAX_WHOLE_PIXELS."""
    if image.shape[-2] * image.shape[-1] > MAX_WHOLE_PIXELS:
        return stylize_tiled(net, image, conditions)
    return net.stylize(image, conditions, norms)


def encode(net: StylizationNetwork, image: torch.Tensor, conditions: list, norms: Norms | None = None) -> torch.Tensor:
    """The network's features (its first half), as `run` computes the whole network: in tiles for a
    frame larger than MAX_WHOLE_PIXELS."""
    if image.shape[-2] * image.shape[-1] > MAX_WHOLE_PIXELS:
        return encode_tiled(net, image, conditions)
    return net.encode(image, conditions, norms)


def decode(net: StylizationNetwork, features: torch.Tensor, conditions: list, size: tuple[int, int],
           norms: Norms | None = None) -> torch.Tensor:
    """The frame of `size` that features paint (the network's second half), in tiles as `encode`."""
    if size[0] * size[1] > MAX_WHOLE_PIXELS:
        return decode_tiled(net, features, conditions, size)
    return net.decode(features, conditions, size, norms)
