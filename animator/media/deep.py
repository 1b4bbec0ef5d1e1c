"""Frames of more than 8 bits a sample as 16-bit RGB(A) whose white is 65535.

swscale turns them into 16-bit RGB (rgb48, rgba64) at a scale of its own: limited-range YUV's
white (Y 940 of 1023 in 10 bits) comes out 65283, near 255 x 256, at every depth, and full-range
YUV's and an alpha plane's top code shifted up (65472 in 10 bits), where planar RGB's is 65535.
Read as if 65535 were white, a 10-bit clip's white became 254 and every level about half a level
dark. Each format's white is found once, by converting a frame that is white and opaque by that
format's own definition, and frames are scaled to it.
"""

from __future__ import annotations

from functools import cache

import av
import numpy as np
from av.video.reformatter import Interpolation

FULL = 65535
# swscale's bilinear paths to 16-bit RGB overflow where chroma is interpolated (a 4:2:0 frame of odd
# width, or asked to): a saturated colour beyond RGB's gamut wrapped round, 255 read as 0. Its
# bicubic path clips, and chroma is interpolated, as for 8 bits (display.EXACT)
DEEP = Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


def rgb16(frame: av.VideoFrame, alpha: bool = False, **matrix) -> np.ndarray:
    """HxWx3 (HxWx4 with `alpha`) uint16 RGB(A), white and opaque at 65535 (`matrix`: reformat's
    colour arguments)."""
    codes = frame.to_ndarray(format="rgba64le" if alpha else "rgb48le", interpolation=DEEP, **matrix)
    levels = full_levels(frame.format.name, frame.color_range)[:codes.shape[-1]]
    if all(level == FULL for level in levels):
        return codes
    levels = np.array(levels, np.uint32)
    return np.minimum((codes.astype(np.uint32) * FULL + levels // 2) // levels, FULL).astype(np.uint16)


@cache
def full_levels(format_name: str, color_range: int) -> tuple[int, int, int, int]:
    """What swscale writes for white (R, G, B) and opaque (A) when it turns a frame of this format
    and range into rgba64; 65535 each where the format is not one whose white can be written
    plainly (16-bit little-endian planes, one a component, as decoders give: yuv420p10le,
    yuv422p10le, yuva444p12le, gbrp12le, ...)."""
    form = av.VideoFormat(format_name)
    components = form.components
    if not form.is_planar or form.is_big_endian or len({c.plane for c in components}) != len(components) \
            or not 8 < components[0].bits <= 16:
        return (FULL,) * 4
    probe = av.VideoFrame(16, 16, format_name)
    probe.color_range = color_range
    limited = color_range != 2 and not form.is_rgb  # AVCOL_RANGE_JPEG is full range; RGB always is
    for component in components:
        bits = component.bits
        if component.is_alpha or not limited:
            code = (1 << bits) - 1 if component.is_alpha or component.is_luma or form.is_rgb else 1 << (bits - 1)
        else:
            code = 235 << (bits - 8) if component.is_luma else 1 << (bits - 1)  # chroma: no colour
        plane = probe.planes[component.plane]
        plane.update(np.full(plane.buffer_size // 2, code, np.uint16).tobytes())
    return tuple(int(level) for level in probe.to_ndarray(format="rgba64le", interpolation=DEEP)[0, 0])
