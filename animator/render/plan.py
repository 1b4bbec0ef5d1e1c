"""A render planned without torch: the preset with its input opened, its sound heard, its
timeline (frames, rate, the steps its schedules count), its schedules checked against it, its
sound and its fingerprint. `validate`, `preview` and a batch's planning stop here;
`engine.load(plan)` builds the method and the renderer, and only then does torch load (but to
find torchvision's VGG19 where a preset asks for it, or a GPU it names: `checked`)."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import numpy as np

from animator.errors import AnimatorError, MediaError, PresetError
from animator.media.audio import decode_audio
from animator.media.soundcopy import AudioSpan
from animator.media.source import open_source
from animator.media.image import read_image
from animator.music.features import Analysis, Features, analyse, frame_features
from animator.preset.convert import dotted
from animator.preset.resolve import (Part, Timeline, beat_half_lives, check_schedules, checked_at_load, keyed_image_inputs, located,
                                     soundtrack, timeline, unreached_keyframes)
from animator.preset.schema import GIF_MIN_FPS, Preset, gif_too_slow
from animator.render.record import fingerprint


class Plan:
    """What can fail on bad input fails here: the input must open and give a first frame, the
    audio must decode to some sound, and the schedules must hold at every frame of a video's
    clip or with the audio's features."""

    def __init__(self, preset: Preset, part: Part | None = None):
        """`part`: where a chunk of a split video sits in the whole render."""
        self.preset, self.part = preset, part
        self.source = open_source(preset.input, preset.video.start, preset.video.duration, preset.video.fps,
                                  moving=preset.mode == "video")
        self.first: np.ndarray = self.source.first()  # HxWx3 uint8: the picture a loop starts from
        for key, image in keyed_image_inputs(preset):  # each must read as an image: a text file named style.png fails here
            try:
                read_image(image)
            except MediaError as exc:  # named by its key, as a missing file is
                raise PresetError(f"{located(preset, key)}: {dotted(key)}: {exc}") from None
        if getattr(preset.method, "weights", None) == "torchvision":  # the user's own download: it may be missing
            from animator.nets.vgg import torchvision_missing  # torch loads here, for this choice alone

            if missing := torchvision_missing():
                raise PresetError(f"{located(preset, ('method', 'weights'))}: method.weights: {missing}")
        sound = heard(preset)  # not kept: its samples and spectrum are the track's length; the features, the render's
        seconds = None if sound is None else sound.seconds - preset.audio.start
        self.timeline: Timeline = timeline(preset, self.source.frame_count, self.source.fps, seconds)
        if part is not None:
            self.timeline = dataclasses.replace(self.timeline, steps=part.total, first=part.first)
        self.features: Features | None = None
        if sound is not None:
            line = self.timeline
            half_life = beat_half_lives(preset, line)
            self.features = frame_features(sound, line.steps, line.seconds_per_step, half_life, preset.audio.start)
        if not checked_at_load(preset):  # its schedules could not be checked before the clip or the sound was known
            check_schedules(preset, self.timeline, features=self.features and self.features.at)
        for i, output in enumerate(preset.outputs):  # at the render's own rate, known now: a folder's fps may be slow
            if output.format == "gif" and output.fps is None and self.fps < GIF_MIN_FPS:
                raise PresetError(f"{located(preset, ('outputs', i))}: outputs[{i}]: {gif_too_slow(self.fps)} (the render's)")
        self.notes: list[str] = unreached_keyframes(preset, self.timeline)  # for the command to show, once

    @property
    def fps(self) -> Fraction:
        return self.timeline.fps

    @property
    def frame_count(self) -> int | None:
        return self.timeline.frames

    def audio(self) -> AudioSpan | None:
        frames = self.frame_count
        return soundtrack(self.preset, self.source.has_audio, None if frames is None else float(frames / self.fps))

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.preset)


def heard(preset: Preset) -> Analysis | None:
    """The preset's audio file decoded and analysed, or None without one."""
    audio = preset.audio
    if audio is None:
        return None
    sound = analyse(decode_audio(audio.file))
    if audio.start >= sound.seconds:
        raise MediaError(f"{audio.file}: audio.start {audio.start:g} s is past the end of the sound ({sound.seconds:.2f} s)")
    return sound


def checked(preset: Preset, out_dir: Path, record: bool = True, sinks: list | None = None) -> Plan:
    """The preset's plan, once its device is here and its outputs' places are free (those of
    `sinks`, where given): what a command rendering several presets asks of each before the
    first renders. Torch loads only to look for a GPU the preset names (`auto` and `cpu` are
    always here)."""
    from animator.render.outputs import check_destinations

    plan = Plan(preset)
    if preset.device not in ("auto", "cpu"):
        device_of(preset)
    if on_the_cpu(preset):  # (its engine checks again, where a batch's worker or a preview renders)
        check_fits(preset, plan.first)
    check_destinations(preset, out_dir, sinks, record=record)
    return plan


# Bytes a pixel of an optimization method's render takes at its peak on the CPU, measured as the
# resident memory of stills at two sizes (the 2-core Xeon; L-BFGS, the default layers down to
# relu5_1): VGG19's activations, their gradients and L-BFGS's first steps. A lower bound there (it
# keeps more with more steps), and only there: Adam, or layers no deeper than relu3, take less.
# The networks' need is not judged (tiles, stroke scales: 2.4 GiB for a 4K still). What it refuses
# cannot fit, where past the memory the kernel ends a render without a word.
GATYS_BYTES_PER_PIXEL = 3200
BASE_BYTES = 0.9e9  # torch, the weights, the decoder and the encoders


def check_fits(preset: Preset, first: np.ndarray) -> None:
    """An optimization method's render on the CPU that the free memory cannot hold is refused
    before it starts."""
    from animator.env import available_memory
    from animator.media.frame import fit_size

    method = preset.method
    if method.name != "gatys" or method.optimizer != "lbfgs" or \
            max(int(layer[4]) for layer in (*method.content_layers, *method.style_layers, "relu1_1")) < 4:
        return
    width, height = fit_size(first.shape[1], first.shape[0], preset.size)
    need = BASE_BYTES + GATYS_BYTES_PER_PIXEL * width * height
    if (free := available_memory()) is not None and need > free:
        raise PresetError(f"{located(preset, ('size',))}: size: a gatys render at {width}x{height} takes at least about "
                          f"{need / 2**30:.0f} GiB, and {free / 2**30:.1f} GiB is free: expected a smaller size")


def on_the_cpu(preset: Preset) -> bool:
    """Whether a preset renders on the CPU, told before torch loads: `cpu`, or `auto` on a machine
    without NVIDIA's driver."""
    return preset.device == "cpu" or preset.device == "auto" and not Path("/proc/driver/nvidia").exists()


def device_of(preset: Preset):
    """The torch device the preset asks for, which this machine has (torch loads here)."""
    from animator.device import select_device

    try:
        return select_device(preset.device)
    except AnimatorError as exc:  # a device this machine lacks: the preset (or --device) that asked for it
        where = located(preset, ("device",), "")  # a batch's worker has no file: the batch names the preset
        raise PresetError(f"{where}: {exc}" if where else str(exc)) from None
