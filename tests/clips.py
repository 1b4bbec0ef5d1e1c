"""Small clip writer for tests that need a video made on the spot."""

from fractions import Fraction
from pathlib import Path

import numpy as np

from animator.media.frame import Frame
from animator.media.sink import Mp4Sink, encoding


def write_clip(path: Path, images: list[np.ndarray], fps: Fraction = Fraction(24)) -> None:
    with encoding([Mp4Sink(path, fps, crf=0)]) as put:
        for i, image in enumerate(images):
            put(Frame(i, i / fps, image))


# Light levels of an HDR test chart, in nits on the display, with ITU-R BT.2408's code values for
# them (Table 1): an 18% grey card (26 nits) and HDR reference white (203 nits); then a highlight.
PQ_CODES = {26: 0.38, 203: 0.58}
HLG_CODES = {26: 0.38, 203: 0.75}
BT2020_LUMA = (0.2627, 0.6780, 0.0593)
BT709_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])


def write_hdr_clip(path: Path, transfer: str, red_nits: float = 60.0, tagged: bool = True) -> None:
    """Three frames of 10-bit HEVC (lossless), BT.2020, in PQ or HLG (for a 1000-nit display):
    patches of 26, 203 and 1000 nits of white light, then a BT.709 red of `red_nits`, each 16
    pixels wide and 32 high. Without `tagged`, the file leaves its primaries unspecified."""
    import av
    from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

    primaries = ColorPrimaries.BT2020 if tagged else ColorPrimaries.UNSPECIFIED
    nits = np.zeros((32, 64, 3))
    for i, level in enumerate((26, 203, 1000)):
        nits[:, 16 * i:16 * (i + 1)] = level
    nits[:, 48:] = (red_nits, 0, 0)
    light = nits @ BT709_TO_BT2020.T
    if transfer == "pq":  # SMPTE ST 2084's inverse EOTF
        m1, m2, c1, c2, c3 = 2610 / 16384, 2523 / 4096 * 128, 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
        y = (light / 10000) ** m1
        signal, trc = ((c1 + c2 * y) / (1 + c3 * y)) ** m2, ColorTrc.SMPTE2084
    else:  # BT.2100's HLG: the OOTF for a 1000-nit display undone (system gamma 1.2), then the OETF
        luminance = (light @ [0.2627, 0.6780, 0.0593])[..., None] / 1000
        scene = light / 1000 * np.where(luminance > 0, luminance ** (1 / 1.2 - 1), 0)
        a, b, c = 0.17883277, 0.28466892, 0.55991073
        signal = np.where(scene <= 1 / 12, np.sqrt(3 * scene), a * np.log(np.maximum(12 * scene - b, 1e-9)) + c)
        trc = ColorTrc.ARIB_STD_B67
    planes = limited_ycbcr(np.clip(signal, 0, 1), BT2020_LUMA, 10)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx265", rate=25, options={"x265-params": "log-level=error:lossless=1"})
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv444p10le"
        context = stream.codec_context
        context.colorspace, context.color_primaries, context.color_trc = Colorspace.BT2020, primaries, trc
        context.color_range = ColorRange.MPEG
        for _ in range(3):
            frame = av.VideoFrame(64, 32, "yuv444p10le")
            for plane, values in zip(frame.planes, planes):
                rows = np.zeros((plane.height, plane.line_size // 2), np.uint16)
                rows[:, :plane.width] = values
                plane.update(rows.tobytes())
            frame.colorspace, frame.color_range = Colorspace.BT2020, ColorRange.MPEG
            frame.color_trc, frame.color_primaries = trc, primaries
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def limited_ycbcr(rgb: np.ndarray, luma: tuple[float, float, float], bits: int) -> list[np.ndarray]:
    """R'G'B' in [0, 1] (HxWx3) as limited-range Y', Cb and Cr codes of `bits` bits, by the
    standard's own formulas (BT.2020's or BT.709's luma weights): white at 235, black at 16, no colour
    at 128, all times 2^(bits - 8). swscale's R'G'B'-to-YUV conversion is not exact at these levels."""
    kr, _, kb = luma
    y = rgb @ np.array(luma)
    cb, cr = (rgb[..., 2] - y) / (2 * (1 - kb)), (rgb[..., 0] - y) / (2 * (1 - kr))
    scale = 1 << (bits - 8)
    return [np.rint((219 * y + 16) * scale).astype(np.uint16),
            np.rint((224 * cb + 128) * scale).astype(np.uint16), np.rint((224 * cr + 128) * scale).astype(np.uint16)]
