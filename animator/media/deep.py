"""Frames of more than 8 bits a sample as 16-bit RGB whose white is 65535.

swscale turns them into 16-bit RGB (rgb48) at a scale of its own: limited-range YUV's white (Y
940 of 1023 in 10 bits) comes out 65283, near 255 x 256, at every depth, and full-range YUV's at
the depth's top code shifted up (65472 in 10 bits), where planar RGB's is 65535. Read as if 65535
were white, a 10-bit clip's white became 254 and every level about half a level dark. Its white
is found once a format by converting a frame that is white by that format's own definition, and
the frame is scaled to it.
"""

from __future__ import annotations

from functools import cache

import av
import numpy as np

FULL = 65535


def rgb16(frame: av.VideoFrame, **matrix) -> np.ndarray:
    """HxWx3 uint16 RGB, white at 65535 (`matrix`: reformat's colour arguments)."""
    codes = frame.to_ndarray(format="rgb48le", **matrix)
    white = white_level(frame.format.name, frame.color_range)
    if white == FULL:
        return codes
    return np.minimum((codes.astype(np.uint32) * FULL + white // 2) // white, FULL).astype(np.uint16)


@cache
def white_level(format_name: str, color_range: int) -> int:
    """What swscale writes for white when it turns a frame of this format and range into rgb48;
    65535 where the format is not one whose white can be written plainly (16-bit little-endian
    planes, one a component, as decoders give: yuv420p10le, yuv422p10le, gbrp12le, ...)."""
    form = av.VideoFormat(format_name)
    components = form.components
    if not form.is_planar or form.is_big_endian or len({c.plane for c in components}) != len(components) \
            or not 8 < components[0].bits <= 16:
        return FULL
    probe = av.VideoFrame(16, 16, format_name)
    probe.color_range = color_range
    full = color_range == 2  # AVCOL_RANGE_JPEG
    for component in components:
        bits = component.bits
        if component.is_alpha or form.is_rgb or component.is_luma:
            code = (1 << bits) - 1 if full or form.is_rgb or component.is_alpha else 235 << (bits - 8)
        else:  # chroma: no colour
            code = 1 << (bits - 1)
        plane = probe.planes[component.plane]
        plane.update(np.full(plane.buffer_size // 2, code, np.uint16).tobytes())
    return int(probe.to_ndarray(format="rgb48le").max())
