"""A decoded video frame as a player shows it, where the stored picture differs: fields woven
into whole frames, HDR made SDR (hdr.py), a frame of another size than the stream's first
letterboxed into it, non-square pixels made square, and the picture turned upright."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np
from av.sidedata.sidedata import Type
from av.video.reformatter import Colorspace, Interpolation

from animator.media.deep import rgb16
from animator.media.frame import on_white, resize
from animator.media.hdr import is_hdr, sdr_image


class Display:
    """What a stream says about showing its frames, read once."""

    def __init__(self, stream: av.VideoStream):
        self.pixel_aspect = pixel_aspect(stream)
        self.stored = (stream.width, stream.height)  # a frame of another size is letterboxed into it
        # PyAV wraps a frame's side data with its metadata and frees that metadata again when the
        # wrapper goes, a double free that crashes; the PNG decoder names its colour profiles in
        # theirs, so a PNG's frames are turned by their rotation alone
        self.matrix_readable = stream.codec_context.name not in ("png", "apng")

    def image(self, frame: av.VideoFrame) -> np.ndarray:
        """The frame as HxWx3 uint8 RGB, as a player shows it."""
        image = sdr_image(frame) if is_hdr(frame) else rgb(frame)
        if (frame.width, frame.height) != self.stored and all(self.stored):  # the stream changed size part-way
            image = letterboxed(image, *self.stored)
        if self.pixel_aspect != 1:  # an anamorphic DVD's 720x480 shows as 853x480: widened as a player does
            image = resize(image, max(1, round(image.shape[1] * self.pixel_aspect)), image.shape[0])
        return upright(image, frame, self.matrix_readable)


# swscale's fast YUV-to-RGB paths cut each sample down and take chroma from the nearest sample:
# 8-bit 4:2:0 clips read 0.4-1.3 levels dark on average (chaplin, the bunny, the bottles); asked to
# round accurately with chroma interpolated, they read as BT.601's and BT.709's formulas give them
EXACT = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
UNTAGGED = 2  # FFmpeg's AVCOL_SPC_UNSPECIFIED
LIMITED = 1  # AVCOL_RANGE_MPEG
DISPLAYMATRIX = Type.DISPLAYMATRIX


def rgb(frame: av.VideoFrame) -> np.ndarray:
    """An SDR frame as HxWx3 uint8 RGB. A stream that does not say its YUV matrix gets the one
    players guess (mpv, browsers): BT.709 from 1280 wide or over 576 high, BT.601 below; swscale
    would take BT.601 for all, and an untagged 720p clip's red came out 23 levels off. Samples are
    rounded, not cut down: 8 bits with EXACT, more through 16 bits at their own white (deep.py).
    A frame with transparency is laid over white, as a still is."""
    hd = frame.width >= 1280 or frame.height > 576
    matrix = {"src_colorspace": Colorspace.ITU709} if frame.colorspace == UNTAGGED and hd else {}
    if frame.format.name.startswith("gray") and frame.color_range == LIMITED:
        return limited_grey(frame)
    alpha = any(component.is_alpha for component in frame.format.components)  # an animated PNG's, as a still's
    if frame.format.components[0].bits <= 8:
        pixels = frame.to_ndarray(format="rgba" if alpha else "rgb24", interpolation=EXACT, **matrix)
        return on_white(pixels) if alpha else pixels
    deep = rgb16(frame, alpha, **matrix)
    return on_white(deep, 65535) if alpha else ((deep.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def limited_grey(frame: av.VideoFrame) -> np.ndarray:
    """A monochrome frame in limited range (black at 16, white at 235 in 8 bits: a monochrome AV1
    or HEVC, FFV1's grey) as HxWx3 uint8, expanded as players show it: swscale ignores a grey
    frame's range and gave it black at 16, every picture washed out."""
    codes = frame.to_ndarray(format="rgb48le")  # at 256 a level of 8 bits, at any depth
    black, white = 16 * 256, 235 * 256
    return np.clip(np.rint((codes.astype(np.float32) - black) * (255 / (white - black))), 0, 255).astype(np.uint8)


def deinterlaced(frames: Iterator[av.VideoFrame], stream: av.VideoStream) -> Iterator[av.VideoFrame]:
    """Frames as a player shows them: from the first interlaced one (a camcorder's 1080i, a DVD)
    on, each is woven into a whole frame by FFmpeg's bwdif, one frame for each, its time kept; a
    progressive stream passes untouched."""
    graph = None
    for frame in frames:
        if graph is None and not frame.interlaced_frame:
            yield frame
            continue
        if graph is None:
            graph = av.filter.Graph()
            graph.link_nodes(graph.add_buffer(template=stream), graph.add("bwdif", "mode=send_frame:deint=interlaced"),
                             graph.add("buffersink")).configure()
        graph.push(frame)
        yield from _pulled(graph)
    if graph is not None:
        graph.push(None)
        yield from _pulled(graph)


def _pulled(graph: av.filter.Graph) -> Iterator[av.VideoFrame]:
    while True:
        try:
            yield graph.pull()
        except (BlockingIOError, av.EOFError):
            return


def letterboxed(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """The image as large as it fits in width x height, its shape kept, centred on black (as a
    player shows a stream whose size changes in its window)."""
    scale = min(width / image.shape[1], height / image.shape[0])
    inner = resize(image, max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    box = np.zeros((height, width, 3), np.uint8)
    top, left = (height - inner.shape[0]) // 2, (width - inner.shape[1]) // 2
    box[top:top + inner.shape[0], left:left + inner.shape[1]] = inner
    return box


def pixel_aspect(stream: av.VideoStream) -> Fraction:
    """How much wider than high a stored pixel is shown (its sample aspect ratio; 1 where unset)."""
    aspect = stream.sample_aspect_ratio
    return Fraction(aspect) if aspect and aspect > 0 else Fraction(1)


def upright(image: np.ndarray, frame: av.VideoFrame, matrix_readable: bool = True) -> np.ndarray:
    """A decoded frame as its display matrix shows it: turned by quarter turns, and mirrored
    where the matrix says so (a front camera's; `frame.rotation` alone reads a mirror as a half
    turn). FFmpeg's matrix, [a b u; c d v; x y w] in 16.16 fixed point, puts the stored pixel
    (p, q) at (a p + c q, b p + d q) on screen, less a shift; a turn that is not a quarter's is
    taken to the nearest quarter."""
    matrix = display_matrix(frame) if matrix_readable else None
    if matrix is not None:
        a, b, c, d = np.rint(np.frombuffer(bytes(matrix), "<i4")[[0, 1, 3, 4]] / 65536).astype(int)
        if sorted(map(abs, (a, b, c, d))) == [0, 0, 1, 1] and (a == 0) == (d == 0):  # quarter turns and mirrors
            if a == 0:  # the axes change places: x on screen is q, stored down the image, and y is p
                image, (a, d) = image.transpose(1, 0, 2), (c, b)
            return np.ascontiguousarray(image[::d, ::a])
    return np.ascontiguousarray(np.rot90(image, round(frame.rotation / 90) % 4)) if frame.rotation else image


def display_matrix(frame: av.VideoFrame):
    """The frame's display matrix, or None. PyAV names the side data it knows and raises on the
    rest (a motion-JPEG camera's EXIF, FFmpeg's type 31): there the rotation FFmpeg reads from the
    same matrix is all there is to go by."""
    try:
        return frame.side_data.get(DISPLAYMATRIX)
    except ValueError:
        return None
