"""HDR video made SDR, as a render shows and writes it.

A phone records HDR by default (HLG or PQ, BT.2020 primaries, 10 bits). Read as if it were SDR,
its code values are shown as they are: reference white at 58% (PQ) or 75% (HLG) grey, every colour
dulled. Here each pixel becomes the light a display shows for it (SMPTE ST 2084 for PQ; for HLG,
ARIB STD-B67 and BT.2100's OOTF for a 1000-nit display), BT.2020 primaries become BT.709's, HDR
reference white (203 nits, ITU-R BT.2408) becomes SDR white, light above ROLL_OFF of it is
rolled off towards white on the brightest channel (so hues keep), and BT.1886's gamma 2.4 makes it
an 8-bit code value again. A patch at BT.2408's 18% grey (26 nits) lands where an SDR camera puts
an 18% grey card (BT.709: 105/255).
"""

from __future__ import annotations

from functools import cache

import av
import cv2
import numpy as np

from animator.media.deep import rgb16

PQ, HLG = 16, 18  # AVCOL_TRC_SMPTE2084, AVCOL_TRC_ARIB_STD_B67
BT2020, UNSPECIFIED = 9, 2  # AVCOL_PRI_*: HDR is BT.2020 unless a file says otherwise
REFERENCE_WHITE = 203.0  # nits: BT.2408's HDR reference (graphics) white
HLG_PEAK = 1000.0  # nits: the display BT.2100's HLG OOTF is taken for (system gamma 1.2)
ROLL_OFF = 0.75  # of reference white: where highlights start to be compressed
BT2020_TO_BT709 = np.array([[1.6605, -0.5876, -0.0728],  # linear light, ITU-R BT.2087
                            [-0.1246, 1.1329, -0.0083],
                            [-0.0182, -0.1006, 1.1187]], np.float32)
BT2020_LUMA = np.array([0.2627, 0.6780, 0.0593], np.float32)


def is_hdr(frame: av.VideoFrame) -> bool:
    return frame.color_trc in (PQ, HLG)


def sdr_image(frame: av.VideoFrame) -> np.ndarray:
    """An HDR frame as HxWx3 uint8 RGB (BT.709, gamma 2.4), tone-mapped as the module says."""
    codes = rgb16(frame)  # R'G'B' in BT.2020, YUV matrix and range applied by swscale
    if frame.color_trc == PQ:
        light = _pq_nits()[codes]
    else:
        scene = _hlg_scene()[codes]
        luminance = cv2.transform(scene, BT2020_LUMA[None])[..., None]
        light = scene * (HLG_PEAK * np.power(np.maximum(luminance, 0), 0.2))
    to_bt709 = BT2020_TO_BT709 if frame.color_primaries in (BT2020, UNSPECIFIED) else np.eye(3, dtype=np.float32)
    relative = cv2.transform(light, to_bt709 / REFERENCE_WHITE)
    return _display_codes()[np.rint(_rolled_off(np.maximum(relative, 0, out=relative)) * 4095).astype(np.int32)]


def _rolled_off(light: np.ndarray) -> np.ndarray:
    """Light above ROLL_OFF (on the brightest channel) compressed smoothly towards 1, each pixel's
    channels scaled alike; below it, unchanged. In place."""
    peak = np.maximum(np.maximum(light[..., 0], light[..., 1]), light[..., 2])
    over = peak > ROLL_OFF
    bright = peak[over]
    squeezed = ROLL_OFF + (1 - ROLL_OFF) * np.tanh((bright - ROLL_OFF) / (1 - ROLL_OFF))  # slope 1 at ROLL_OFF, 1 at infinity
    scale = np.ones_like(peak)
    scale[over] = squeezed / bright
    light *= scale[..., None]
    return np.minimum(light, 1, out=light)


@cache
def _pq_nits() -> np.ndarray:
    """SMPTE ST 2084's EOTF for every 16-bit code: display light in nits."""
    m1, m2, c1, c2, c3 = 2610 / 16384, 2523 / 4096 * 128, 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    e = (np.arange(65536) / 65535) ** (1 / m2)
    return (10000 * (np.maximum(e - c1, 0) / (c2 - c3 * e)) ** (1 / m1)).astype(np.float32)


@cache
def _hlg_scene() -> np.ndarray:
    """ARIB STD-B67's inverse OETF for every 16-bit code: scene light in [0, 1]."""
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    e = np.arange(65536) / 65535
    return np.where(e <= 0.5, e * e / 3, (np.exp((e - c) / a) + b) / 12).astype(np.float32)


@cache
def _display_codes() -> np.ndarray:
    """BT.1886's inverse EOTF (gamma 2.4) for light in 4096 steps of [0, 1]: 8-bit codes."""
    return np.rint((np.arange(4096) / 4095) ** (1 / 2.4) * 255).astype(np.uint8)
