"""Flow and warping against the generated clip's exact motion."""

import numpy as np
import pytest
import torch

from animator.media.frame import to_image, to_tensor
from animator.media.synthetic import pan_scene
from animator.metrics import psnr
from animator.motion.flow import make_backend, pair_flows
from animator.motion.warp import consistency_mask, motion_boundaries, warp, within_frame


@pytest.fixture(scope="module")
def scene():
    return pan_scene(count=6)


def test_ground_truth_flow_warps_onto_the_next_frame(scene):
    for t in range(1, 6):
        flow = torch.from_numpy(scene.backward[t].transpose(2, 0, 1))[None]
        warped = to_image(warp(to_tensor(scene.frames[t - 1]), flow))
        keep = scene.valid[t]
        assert keep.mean() > 0.8
        assert psnr(warped[keep], scene.frames[t][keep]) >= 30


def test_the_generated_clips_truth_holds_exactly_where_it_says_and_not_where_the_patch_uncovered(scene):
    height, width = scene.frames[0].shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    for t in range(1, 6):
        flow, valid, uncovered = scene.backward[t], scene.valid[t], scene.uncovered[t]
        qx, qy = (xs + flow[..., 0]).astype(int), (ys + flow[..., 1]).astype(int)  # whole pixels: no interpolation
        came_from = scene.frames[t - 1][qy.clip(0, height - 1), qx.clip(0, width - 1)]
        assert valid.mean() > 0.8 and np.array_equal(scene.frames[t][valid], came_from[valid])
        assert uncovered.sum() >= 64 and not (valid & uncovered).any()  # a band as tall as the patch, none of it valid
        moved = np.abs(scene.frames[t].astype(int) - came_from).max(axis=-1)
        assert (moved[uncovered] > 0).mean() > 0.9  # there, frame t-1 showed the patch: background is new


@pytest.mark.parametrize("backend", ["dis", "farneback"])
def test_estimated_flow_is_close_to_the_truth(scene, backend):
    errors = []
    for t in range(1, 6):
        backward, forward = pair_flows(make_backend(backend), scene.frames[t - 1], scene.frames[t])
        estimate = backward[0].numpy().transpose(1, 2, 0)
        keep = scene.valid[t] & (motion_boundaries(torch.from_numpy(scene.backward[t].transpose(2, 0, 1))[None])[0, 0].numpy() > 0)
        errors.append(np.linalg.norm(estimate - scene.backward[t], axis=-1)[keep].mean())
    limit = 1.0 if backend == "dis" else 1.5
    assert np.mean(errors) < limit, errors


def test_consistency_mask_finds_the_disocclusion(scene):
    t = 3
    backward, forward = pair_flows(make_backend("dis"), scene.frames[t - 1], scene.frames[t])
    mask = consistency_mask(backward, forward)[0, 0].numpy() > 0
    truth = scene.valid[t]
    assert (mask & truth).sum() / truth.sum() > 0.9  # keeps most of what is valid
    occluded = ~truth
    assert (~mask & occluded).sum() / occluded.sum() > 0.4  # and flags much of what is not


def test_frames_of_different_shots_hold_nowhere():
    """Across a cut the forward-backward check still passes on a few pixels (flat, dark areas), and
    the one-pass check on most of the frame; trusted, they would carry the last shot's painting
    into the new one."""
    import cv2

    from animator.motion.flow import NEW_SHOT, find_motion
    from animator.preset.schema import TemporalConfig
    from tests.conftest import MEDIA, decode_video

    chaplin = [cv2.resize(f, (320, 180), interpolation=cv2.INTER_AREA) for f in decode_video(MEDIA / "chaplin.mp4")[1][:2]]
    bunny = cv2.resize(decode_video(MEDIA / "big_buck_bunny_432_433.webm")[1][0], (320, 180), interpolation=cv2.INTER_AREA)
    backend, temporal = make_backend("dis"), TemporalConfig()
    backward, forward = pair_flows(backend, chaplin[1], bunny)
    assert 0 < (consistency_mask(backward, forward) * motion_boundaries(backward)).mean() < NEW_SHOT  # the check alone keeps a few
    assert not find_motion(backend, chaplin[1], bunny, temporal, "cpu")[1].any()
    assert find_motion(backend, chaplin[0], chaplin[1], temporal, "cpu")[1].mean() > 0.7  # one shot: most of it held
    one_pass = TemporalConfig(flow_check="boundaries")  # no backward check: the warped earlier frame tells
    assert (within_frame(backward) * motion_boundaries(backward)).mean() > 0.5  # the mask alone holds on most of the cut
    assert not find_motion(backend, chaplin[1], bunny, one_pass, "cpu")[1].any()
    assert find_motion(backend, chaplin[0], chaplin[1], one_pass, "cpu")[1].mean() > 0.7


@pytest.mark.parametrize("flow", ["dis", "farneback"])
def test_a_cut_to_or_from_a_flat_frame_and_farnebacks_cuts_hold_nowhere(flow):
    """A black, white or grey frame's flow returns home everywhere, so the forward-backward check
    held across a cut to it and the last shot's painting stayed on the black frames; Farneback's
    held on a quarter of a cut between shots."""
    import cv2

    from animator.motion.flow import find_motion
    from animator.preset.schema import TemporalConfig
    from tests.conftest import MEDIA, decode_video

    chaplin = [cv2.resize(f, (128, 72), interpolation=cv2.INTER_AREA) for f in decode_video(MEDIA / "chaplin.mp4")[1][:2]]
    bunny = cv2.resize(decode_video(MEDIA / "big_buck_bunny_432_433.webm")[1][0], (128, 72), interpolation=cv2.INTER_AREA)
    backend, temporal = make_backend(flow), TemporalConfig(flow=flow)
    for level in (0, 128, 255):
        flat = np.full_like(chaplin[0], level)
        assert not find_motion(backend, chaplin[1], flat, temporal, "cpu")[1].any()
        assert not find_motion(backend, flat, chaplin[0], temporal, "cpu")[1].any()
    assert find_motion(backend, flat, flat, temporal, "cpu")[1].all()  # a flat shot held still is one shot
    assert not find_motion(backend, chaplin[1], bunny, temporal, "cpu")[1].any()
    assert find_motion(backend, chaplin[0], chaplin[1], temporal, "cpu")[1].mean() > 0.5


def test_one_pass_check_trusts_what_is_valid_and_stops_at_the_frame_edge(scene, monkeypatch):
    """`flow_check: boundaries`: one flow pass, the same backward flow as two, and a mask of motion
    boundaries and the frame's edge alone."""
    from fractions import Fraction

    from animator.media.frame import Frame
    from animator.preset.schema import TemporalConfig
    from animator.render import video

    calls = []

    class Counted:
        def __init__(self):
            self.dis = make_backend("dis")

        def flow(self, a, b):
            calls.append(1)
            return self.dis.flow(a, b)

    frames = [Frame(i, Fraction(i, 24), image) for i, image in enumerate(scene.frames)]
    monkeypatch.setattr(video, "make_backend", lambda *args: Counted())
    motions = {check: [item.motion for item in video.prepare(frames, 320, TemporalConfig(flow_check=check), 0, "cpu")][1:]
               for check in ("forward-backward", "boundaries")}
    assert len(calls) == 3 * (len(frames) - 1)  # two passes a pair, then one
    for (both, checked), (one, mask) in zip(motions["forward-backward"], motions["boundaries"]):
        assert torch.equal(both, one)
        assert torch.equal(mask, within_frame(one) * motion_boundaries(one))
    t = 3
    mask, truth = motions["boundaries"][t - 1][1][0, 0].numpy() > 0, scene.valid[t]
    assert (mask & truth).sum() / truth.sum() > 0.9
    shifted = torch.zeros(1, 2, 8, 8)
    shifted[:, 0] = 3  # every pixel's source 3 px to its right: the last 3 columns' lie outside
    assert within_frame(shifted)[0, 0].sum(0).tolist() == [8] * 5 + [0] * 3


def test_warp_checks_shapes():
    with pytest.raises(ValueError, match="do not match"):
        warp(torch.zeros(1, 3, 8, 8), torch.zeros(1, 2, 8, 9))
    image = torch.rand(1, 3, 8, 8)
    assert torch.allclose(warp(image, torch.zeros(1, 2, 8, 8)), image, atol=1e-6)


def test_bicubic_warp_on_the_cpu_is_grid_samples(scene):
    """OpenCV's remap stands in for grid_sample's bicubic on the CPU: the same kernel and border
    rule, so the same picture, out past the edges too (the pan's flow points outside)."""
    from animator.motion.warp import sample, sampling_grid

    image = torch.cat([to_tensor(scene.frames[0]), to_tensor(scene.frames[1])])
    flow = torch.from_numpy(np.stack([scene.backward[1], scene.backward[2]])).permute(0, 3, 1, 2) * 3.3
    expected = sample(image, sampling_grid(flow), "bicubic").clamp(0, 1)
    assert (warp(image, flow, "bicubic") - expected).abs().max() < 2e-4
    assert warp(image.bfloat16(), flow, "bicubic").dtype == torch.bfloat16
    # a painting the networks leave channels-last, and more channels than remap takes at once
    assert torch.equal(warp(image.contiguous(memory_format=torch.channels_last), flow, "bicubic"), warp(image, flow, "bicubic"))
    five = torch.cat([image, image[:, :2].flip(-1)], 1)
    expected = sample(five, sampling_grid(flow), "bicubic").clamp(0, 1)
    assert (warp(five, flow, "bicubic") - expected).abs().max() < 2e-4


@pytest.mark.parametrize("channels", [1, 3, 5, 8])
def test_bicubic_warp_of_a_single_pixel_of_any_channels(channels):
    """A 1x1 slice of 4 of 8 channels is contiguous to torch, not to OpenCV (its strides): remap
    refused the output array it was handed, where it had written into one of its own."""
    image = torch.rand(2, channels, 1, 1)
    assert torch.allclose(warp(image, torch.randn(2, 2, 1, 1), "bicubic"), image, atol=1e-5)


def test_flow_found_for_several_pairs_at_once_is_the_same_flow_in_order(scene, monkeypatch):
    from fractions import Fraction

    from animator.media.frame import Frame
    from animator.preset.schema import TemporalConfig
    from animator.render import video

    frames = [Frame(i, Fraction(i, 24), image) for i, image in enumerate(scene.frames)]

    def motions(workers: int) -> list:
        monkeypatch.setattr(video, "flow_workers", lambda device: workers)
        return [(item.index, item.motion) for item in video.prepare(frames, 320, TemporalConfig(), 2, "cpu")]

    alone, together = motions(1), motions(3)
    assert [index for index, _ in together] == list(range(len(frames)))
    assert [motion is None for _, motion in together] == [True, True] + [False] * (len(frames) - 2)  # from a resume at 2
    for (_, one), (_, other) in zip(alone[2:], together[2:]):
        assert all(torch.equal(a, b) for a, b in zip(one, other))


def test_flow_at_a_tenth_of_a_small_render_is_found_at_the_least_size_dis_takes():
    # flow_scale 0.1 at 64 px asked DIS for 8 px frames, and it raised; it needs 12 on a side
    a = np.ascontiguousarray(np.random.default_rng(0).integers(0, 255, (40, 64, 3), dtype=np.uint8))
    backward, forward = pair_flows(make_backend("dis"), a, np.roll(a, 2, axis=1), scale=0.1)
    assert backward.shape == forward.shape == (1, 2, 40, 64)


def test_flow_of_frames_under_16_px_high_is_found_on_frames_of_16(tmp_path):
    """DIS ended the process (a segmentation fault, no message) on frames under 16 px high and 48
    or more wide: `animator metrics` of a thin clip, or a render of a wide one at `flow_scale: 0.5`.
    Run in a process of its own, so that a crash fails this test, not the suite."""
    import subprocess
    import sys

    code = ("import numpy as np; from animator.motion.flow import DIS, pair_flows\n"
            "rng = np.random.default_rng(0)\n"
            "for h, w, scale in ((12, 64, 1.0), (8, 96, 1.0), (24, 96, 0.5)):\n"
            "    a, b = (rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(2))\n"
            "    backward, forward = pair_flows(DIS(), a, b, scale)\n"
            "    assert backward.shape == forward.shape == (1, 2, h, w), backward.shape\n"
            "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "ok\n", (result.returncode, result.stderr[-500:])


def test_flow_found_at_a_reduced_scale_is_brought_back_axis_by_axis():
    """Where the least size DIS takes changes a thin frame's shape (48x256 at a quarter: 16x64, not
    12x64), each axis of the flow is scaled back by its own ratio."""
    from animator.media.image import read_image
    from tests.conftest import SAMPLES

    coffee = read_image(SAMPLES / "coffee.png")
    a = np.ascontiguousarray(coffee[100:148, 100:356])
    b = np.ascontiguousarray(coffee[96:144, 92:348])  # the camera moved 8 px left and 4 up: b(p) is a(p - (8, 4))
    backward, forward = pair_flows(make_backend("dis"), a, b, scale=0.25)
    middle = backward[0, :, 12:-12, 64:-64].flatten(1).median(1).values
    assert torch.allclose(middle, torch.tensor([-8.0, -4.0]), atol=0.5), middle
    assert torch.allclose(forward[0, :, 12:-12, 64:-64].flatten(1).median(1).values, -middle, atol=0.5)


def test_motion_boundaries_are_marked_across_both_axes(scene):
    """The pan's patch moves against the background: a pixel whose right or lower neighbour moves
    otherwise lies on a motion boundary, on the patch's sides as on its top and bottom."""
    flow = torch.from_numpy(scene.backward[3].transpose(2, 0, 1))[None]
    patch = flow[0, 1] < 0  # the patch moves down, the camera up
    assert 0 < patch.float().mean() < 0.2 and not patch[0, 0]
    across, down = torch.zeros_like(patch), torch.zeros_like(patch)
    across[:, :-1], down[:-1] = patch[:, :-1] != patch[:, 1:], patch[:-1] != patch[1:]
    assert across.any() and down.any() and (across & ~down).any() and (down & ~across).any()
    assert torch.equal(motion_boundaries(flow)[0, 0] == 0, across | down)


def test_the_forward_backward_check_holds_within_its_bound():
    """Ruder et al.'s check: |w + w'|^2 <= 0.01 (|w|^2 + |w'|^2) + 0.5 is trusted. A 6 px motion whose
    forward flow comes back 1 px short of home (1 against 1.11) holds; 1.2 px short (1.44 against
    1.09) does not."""
    backward = torch.zeros(1, 2, 8, 16)
    backward[:, 0] = 6
    for miss, holds in ((1.0, True), (1.2, False)):
        forward = torch.zeros(1, 2, 8, 16)
        forward[:, 0] = -6 + miss
        mask = consistency_mask(backward, forward)[0, 0]
        assert bool(mask[:, :10].all()) is holds and not mask[:, 10:].any()  # the last 6 columns' sources lie outside


def test_a_cut_between_two_low_contrast_shots_holds_nowhere():
    """Between hazy shots the earlier frame, warped, is within CUT_ERROR of the next (0.045 at a fifth
    of the contrast), but the forward-backward check holds on 3% of the frame: a cut all the same."""
    import cv2

    from animator.motion.flow import CUT_ERROR, find_motion, grey
    from animator.preset.schema import TemporalConfig
    from tests.conftest import MEDIA, decode_video

    hazy = lambda f: np.uint8(np.round(128 + (f.astype(float) - f.mean()) * 0.2))  # noqa: E731
    chaplin = [hazy(cv2.resize(f, (320, 180), interpolation=cv2.INTER_AREA)) for f in decode_video(MEDIA / "chaplin.mp4")[1][:2]]
    bunny = hazy(cv2.resize(decode_video(MEDIA / "big_buck_bunny_432_433.webm")[1][0], (320, 180), interpolation=cv2.INTER_AREA))
    backend, temporal = make_backend("dis"), TemporalConfig()
    backward, _ = pair_flows(backend, chaplin[1], bunny)
    greys = [torch.from_numpy(grey(x)).float()[None, None] / 255 for x in (chaplin[1], bunny)]
    assert (warp(greys[0], backward) - greys[1]).abs().mean() < CUT_ERROR  # the grey levels alone would not tell
    assert not find_motion(backend, chaplin[1], bunny, temporal, "cpu")[1].any()
    assert find_motion(backend, chaplin[0], chaplin[1], temporal, "cpu")[1].mean() > 0.9  # one shot: held


def test_the_dis_preset_a_preset_names_is_the_one_the_render_runs(scene):
    """`flow_preset` trades accuracy for speed: on the pan, against its true motion, `medium` is
    the closest, then `fast`, then `ultrafast` (0.18, 0.51 and 0.67 px here, on its first four frames)."""
    from fractions import Fraction

    from animator.media.frame import Frame
    from animator.preset.schema import TemporalConfig
    from animator.render import video

    frames = [Frame(i, Fraction(i, 24), image) for i, image in enumerate(scene.frames[:4])]
    errors = {}
    for preset in ("ultrafast", "fast", "medium"):
        motions = [item.motion for item in video.prepare(frames, 320, TemporalConfig(flow_preset=preset), 0, "cpu")][1:]
        errors[preset] = np.mean([np.linalg.norm(backward[0].numpy().transpose(1, 2, 0) - scene.backward[t], axis=-1)[scene.valid[t]].mean()
                                  for t, (backward, _) in enumerate(motions, 1)])
    assert errors["medium"] < 0.8 * errors["fast"] and errors["fast"] < 0.9 * errors["ultrafast"], errors
