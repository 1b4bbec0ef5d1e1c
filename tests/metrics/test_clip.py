"""The consistency and fidelity figures on clips whose answers are known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from animator.media.frame import to_tensor
from animator.media.image import read_image
from animator.metrics.video import warping_error
from animator.metrics.clip import measure_clip, measure_clips
from animator.metrics.fidelity import gradient_energy
from animator.metrics.video import Motion, WarpTrack
from tests.conftest import SAMPLES

SHIFT = (2, 1)  # pixels a frame the camera moves: content at p came from p + SHIFT


@pytest.fixture(scope="module")
def pan() -> list[np.ndarray]:
    """12 frames of a camera panning over coffee.png by a whole number of pixels a frame."""
    coffee = read_image(SAMPLES / "coffee.png")
    return [coffee[100 + SHIFT[1] * t:164 + SHIFT[1] * t, 150 + SHIFT[0] * t:246 + SHIFT[0] * t].copy() for t in range(12)]


@pytest.fixture(scope="module")
def flickering(pan) -> list[np.ndarray]:
    """A stand-in for a per-frame stylization: the pan with fresh noise in every frame."""
    rng = np.random.default_rng(0)
    return [np.clip(f + rng.normal(0, 12, f.shape), 0, 255).astype(np.uint8) for f in pan]


def test_a_frame_shifted_by_a_known_flow_has_zero_warping_error(pan):
    track = WarpTrack()
    truth = torch.tensor(SHIFT, dtype=torch.float32).view(1, 2, 1, 1).expand(1, 2, 64, 96)
    mask = torch.zeros(1, 1, 64, 96)
    mask[..., :-SHIFT[1], :-SHIFT[0]] = 1  # what came from inside the previous frame
    for t, frame in enumerate(pan):
        track.add(to_tensor(frame), [Motion(1, truth, mask)] if t else [])
    assert len(track.errors[1]) == 11 and max(track.errors[1]) < 1e-12


def test_the_warping_error_is_the_mean_squared_difference_and_the_flicker_the_mean_absolute_one_in_255ths(pan):
    """Every other frame 0.1 brighter: each kept pixel differs from the warped previous output by
    0.1 in every channel, a squared difference of 0.01 and an absolute one of 25.5 /255."""
    track = WarpTrack()
    truth = torch.tensor(SHIFT, dtype=torch.float32).view(1, 2, 1, 1).expand(1, 2, 64, 96)
    mask = torch.zeros(1, 1, 64, 96)
    mask[..., :-SHIFT[1], :-SHIFT[0]] = 1
    for t, frame in enumerate(pan):
        track.add(to_tensor(frame) * 0.5 + 0.1 * (t % 2), [Motion(1, truth, mask)] if t else [])
    assert track.error(1) == pytest.approx(0.01, rel=1e-5)
    assert track.flicker[1] == pytest.approx([25.5] * 11, rel=1e-5)


def test_estimated_flow_finds_the_shift_too(pan):
    figures = measure_clip(pan, pan)
    assert figures["frames"] == 12
    assert figures["warping_error"] < 5e-5 and figures["long_term_error"] < 3e-4  # 1 and 10 frames apart


def test_a_render_that_drifts_slowly_is_steady_from_frame_to_frame_but_not_over_ten(pan):
    drifting = [(frame // 2 + 5 * t).astype(np.uint8) for t, frame in enumerate(pan)]  # 5 levels brighter a frame
    figures = measure_clip(drifting, pan)
    assert figures["warping_error"] == pytest.approx((5 / 255) ** 2, rel=0.2)
    assert figures["long_term_error"] == pytest.approx((50 / 255) ** 2, rel=0.05)  # frames 10 and 11 against 0 and 1


def test_frames_across_a_cut_are_left_out_not_counted_as_flicker(pan):
    """The pan, then another shot (the same picture turned upside down and panned back): the
    check kept part of the cut: a clip measured against itself had 2.7e-4, its shots under 5e-5."""
    clip = pan + [frame[::-1, ::-1].copy() for frame in pan]
    figures = measure_clip(clip, clip)
    assert figures["frames"] == 24 and figures["warping_error"] < 5e-5 and figures["long_term_error"] < 3e-4


def test_a_clip_with_a_cut_counts_all_its_frames_and_every_error_within_its_shots(pan):
    clip = pan + [frame[::-1, ::-1].copy() for frame in pan]
    figures = warping_error(clip, clip)
    assert figures["frames"] == 24  # it said 23: the frame after the cut, whose error is left out, went uncounted
    assert list(figures["per_frame"]) == [*range(1, 12), *range(13, 24)]  # only 12, the first after the cut, left out


def test_a_montage_of_cuts_has_no_warping_error_to_print(capsys):
    from animator.metrics.command import print_clip

    rng = np.random.default_rng(0)  # every frame another picture: each follows a cut
    montage = [(rng.random((48, 64, 3)) * 255).astype(np.uint8) for _ in range(6)]
    print_clip("m.mp4", measure_clip(montage, montage), 0.7)  # it printed "warping error nan", "flicker nan"
    assert capsys.readouterr().out.startswith("m.mp4: 6 frames, warping error n/a (t-10: n/a), flicker n/a /255")


def test_a_copy_of_the_reference_scores_one_one_and_zero(pan, flickering):
    figures = measure_clip(flickering, pan, flickering)
    ratios = figures["relative"]
    assert ratios["warping_error"] == ratios["long_term_error"] == ratios["gradient_energy"] == 1.0
    assert ratios["gram_distance"] == pytest.approx(1.0, abs=1e-9) and figures["perceptual_distance"] == 0.0


def test_a_blurred_copy_is_steadier_and_loses_detail(pan, flickering):
    blurred = [cv2.GaussianBlur(f, (0, 0), 1.5) for f in flickering]
    figures = measure_clip(blurred, pan, flickering)
    ratios = figures["relative"]
    assert ratios["warping_error"] < 0.5 and ratios["long_term_error"] < 0.8
    assert ratios["gradient_energy"] < 0.6 and figures["perceptual_distance"] > 0.05
    assert ratios["gram_distance"] > 1.0  # further from the reference's own style
    assert gradient_energy(to_tensor(blurred[0])) < gradient_energy(to_tensor(flickering[0]))


def test_the_moving_average_baseline_is_steadier_and_blurs(pan, flickering):
    figures = measure_clip(flickering, pan, flickering, weight=0.7)
    ratios = figures["relative"]
    assert ratios["moving_average_warping_error"] < 0.7 and ratios["moving_average_gradient_energy"] < 1.0
    assert measure_clip(flickering, pan, flickering, weight=0.0)["relative"]["moving_average_warping_error"] == 1.0


def test_the_gram_distance_is_to_a_style_image_when_one_is_given(pan, flickering):
    style = to_tensor(read_image(SAMPLES / "hubble_deep_field.jpg")[:128, :128])
    near, far = (measure_clip(frames, pan, style=style)["gram_distance"] for frames in (pan, [255 - f for f in pan]))
    assert 0 < near and near != far


def test_the_gram_distance_is_the_optimization_methods_style_loss_averaged_over_the_frames(pan):
    """To a style image and to a frame of the clip itself (a near target, where the running sums
    cancel the most): the gatys method's style terms at weight 1, their mean over three frames."""
    from animator.metrics.fidelity import STYLE_LAYERS, GramDistance, Judge
    from animator.nets.vgg_layers import CHANNELS_AT
    from animator.style.losses import Term

    judge = Judge()
    frames = [judge.features(to_tensor(frame)) for frame in pan[:3]]
    for style in (to_tensor(read_image(SAMPLES / "hubble_deep_field.jpg")[:128, :128]), to_tensor(pan[1])):
        target = judge.style_target(style)
        terms = [Term("gram", layer, 10 / CHANNELS_AT[layer] ** 2, target[layer].float()[None]) for layer in STYLE_LAYERS]
        grams = GramDistance()
        for features in frames:
            grams.add(features)
        losses = [sum(float(term(features)) for term in terms) for features in frames]
        assert grams.distance(target) == pytest.approx(np.mean(losses), rel=1e-5)


def test_the_detail_is_the_mean_gradient_magnitude():
    """A ramp rising 3/255 a pixel across and 4/255 down: a gradient of 5/255 everywhere but on the
    edges, where the replicated border halves it."""
    ys, xs = np.mgrid[0:32, 0:32]  # up to 217 levels
    ramp = np.repeat((xs * 3 + ys * 4)[..., None], 3, axis=2).astype(np.uint8)
    energy = gradient_energy(to_tensor(ramp))
    assert 0.9 * 5 / 255 < energy < 5 / 255, energy * 255


def test_the_perceptual_distance_compares_each_pixels_features_by_direction_not_length(pan):
    from animator.metrics.fidelity import Judge, perceptual_distance

    judge = Judge()
    a, b = (judge.features(to_tensor(frame)) for frame in (pan[0], 255 - pan[0]))
    scaled = {layer: f * 3 for layer, f in a.items()}
    assert perceptual_distance(a, scaled) < 1e-6
    assert 0.1 < perceptual_distance(a, b) <= 4  # unit vectors: each tap's squared difference is at most 4
    # the same directions, normalized from vectors three times as long: equal but for float32 rounding
    assert perceptual_distance(scaled, b) == pytest.approx(perceptual_distance(a, b), rel=1e-6)


def test_a_render_that_is_its_still_reference_scores_one_not_zero(pan):
    """Its Gram distance to the reference's style is 0, as the reference's own is: the same, a
    ratio of 1 (as the warping errors' and the detail's are)."""
    still = [pan[0]] * 4  # enough for the warping error; the long-term one (10 frames apart) is not judged here
    ratios = measure_clip(still, still, still)["relative"]
    assert ratios["gram_distance"] == ratios["warping_error"] == ratios["gradient_energy"] == 1.0


def test_the_moving_average_is_the_references_whichever_render_is_measured(pan, flickering):
    blurred = [cv2.GaussianBlur(f, (0, 0), 1.5) for f in flickering]
    figures = measure_clips({"blurred": blurred, "flickering": flickering}, pan, flickering, every=4)
    for key in ("warping_error", "long_term_error", "gradient_energy", "gram_distance"):
        ratio = f"moving_average_{key}"
        assert figures["blurred"]["relative"][ratio] == figures["flickering"]["relative"][ratio], key
        assert figures["blurred"]["relative"][ratio] == pytest.approx(
            figures["blurred"]["moving_average"][key] / figures["blurred"]["reference"][key], rel=1e-12)
    assert figures["blurred"]["relative"]["moving_average_warping_error"] < 0.7


def test_a_still_reference_gives_ratios_that_say_so_not_noise(pan, capsys):
    """A frozen per-frame render's warping error and its Gram distance to its own style are 0:
    a ratio to it cannot be measured (n/a, JSON null), where the Gram ratio was 1.4e16 (the running
    sums' cancellation left 6e-10 of a difference of 0) and the warping error's printed as infx."""
    from animator.metrics.command import json_figures, print_clip

    still = [pan[0]] * 12  # a still source, and a per-frame render of it that does not flicker at all
    figures = measure_clip(pan, still, still)
    assert figures["reference"]["gram_distance"] == 0.0 and figures["relative"]["warping_error"] == float("inf")
    print_clip("render.mp4", figures, 0.7)
    shown = capsys.readouterr().out
    assert "warping error n/a (t-10: n/a), gradient energy" in shown and "Gram distance n/a" in shown and "inf" not in shown
    assert json_figures(figures["relative"])["gram_distance"] is None


def test_renders_measured_together_score_as_measured_alone(pan, flickering):
    blurred = [cv2.GaussianBlur(f, (0, 0), 1.5) for f in flickering]
    together = measure_clips({"blurred": blurred, "flickering": flickering}, pan, flickering, every=4)
    for name, frames in (("blurred", blurred), ("flickering", flickering)):
        alone = measure_clip(frames, pan, flickering, every=4)
        assert together[name]["relative"] == pytest.approx(alone["relative"], rel=1e-6)
        assert together[name]["perceptual_distance"] == pytest.approx(alone["perceptual_distance"], rel=1e-6)
    with pytest.raises(ValueError, match="different numbers of frames"):
        measure_clips({"short": flickering[:-1], "whole": flickering}, pan)


def test_a_source_or_reference_that_is_not_the_renders_clip_is_an_error_not_a_shorter_measure(pan, flickering):
    with pytest.raises(ValueError, match="source ends after 6 frames"):
        measure_clip(flickering, pan[:6])
    with pytest.raises(ValueError, match="reference ends after 6 frames"):
        measure_clip(flickering, pan, flickering[:6])
    with pytest.raises(ValueError, match="reference goes on past the renders' 12 frames"):
        measure_clip(flickering, pan, flickering + flickering[:1])
    with pytest.raises(ValueError, match="reference is 48x32, the renders 96x64"):
        measure_clip(flickering, pan, [cv2.resize(f, (48, 32)) for f in flickering])
    assert measure_clip(flickering[:6], pan)["frames"] == 6  # a render of the source's start is measured as one
