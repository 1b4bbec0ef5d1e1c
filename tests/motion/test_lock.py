"""The pan lock (motion/lock.py): a panning picture keeps its place on the network's lattice."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from animator.media.synthetic import pan_scene
from animator.motion.flow import find_motion, make_backend
from animator.motion.lock import PanLock, panning, placed
from animator.preset.schema import TemporalConfig

SETTINGS = TemporalConfig()


def motion(earlier: np.ndarray, image: np.ndarray):
    return find_motion(make_backend("dis"), earlier, image, SETTINGS, torch.device("cpu"))


def test_a_pan_is_found_and_a_still_camera_or_a_turning_one_is_not():
    from animator.media.source import VideoSource
    from tests.conftest import MEDIA

    frames = pan_scene(count=2).frames  # the camera moves (2, 1) px a frame, a patch the other way
    found = panning(motion(*frames)[0])
    assert found is not None and np.allclose(found, (-2, -1), atol=0.05), found
    still = [f.image for f in VideoSource(MEDIA / "chaplin.mp4", 0, 0.1)][:2]
    assert panning(motion(*still)[0]) is None
    turn = cv2.getRotationMatrix2D((160, 96), 3, 1.0)  # a camera turning about the frame's centre
    assert panning(motion(frames[0], cv2.warpAffine(frames[0], turn, (320, 192)))[0]) is None


def test_a_still_cameras_bob_of_a_fifth_of_a_pixel_is_not_a_pan():
    """Shifted after such a bob, a still camera's frames lost detail to the resampling for nothing
    (Intel's `book` clip bobs 0.17-0.24 px); half a pixel a frame is a slow pan."""
    frame = pan_scene(count=1).frames[0]
    moved = lambda dy: cv2.warpAffine(frame, np.float32([[1, 0, 0], [0, 1, dy]]), (320, 192), flags=cv2.INTER_CUBIC,  # noqa: E731
                                      borderMode=cv2.BORDER_REFLECT)
    assert panning(motion(frame, moved(0.2))[0]) is None
    found = panning(motion(frame, moved(0.5))[0])
    assert found is not None and abs(found[1] - 0.5) < 0.1, found


def pan_frames(count: int, size: int = 384) -> list[np.ndarray]:
    """The project's pan at the render size: its camera's whole pixels become (2.4, 1.2) at 384."""
    from animator.media.frame import fit_size, resize
    from animator.media.source import VideoSource
    from tests.conftest import SAMPLES

    frames = [f.image for f in VideoSource(SAMPLES / "pan.mp4")][:count]
    return [resize(f, *fit_size(f.shape[1], f.shape[0], size)) for f in frames]


def test_in_the_shifted_frames_the_pan_moves_by_whole_periods():
    """Shifted by the lock, each frame's picture is the last one's moved by whole lattice periods
    (4 px), and the flow carried into the shifted frames says exactly that for the pixels that pan:
    the last frame moved so matches the frame twice as well as it matches the unshifted frame at
    the nearest whole-pixel motion."""
    frames, lock = pan_frames(7), PanLock(4)
    lock.next(None)
    before, rows = frames[0], (slice(8, 40), slice(8, -8))  # the top rows: the background alone
    difference = lambda a, b: np.abs(a[rows].astype(float) - b[rows].astype(float)).mean()  # noqa: E731
    moved = lambda image, dx, dy: np.roll(image, (-dy, -dx), (0, 1))  # noqa: E731  image(p + (dx, dy))
    for earlier, image in zip(frames, frames[1:]):
        (flow, _), shift, _ = lock.next(motion(earlier, image))
        assert all(abs(o) <= 2 for o in shift.offset)
        whole = [int(v) for v in flow[0, :, ::8, ::8].reshape(2, -1).median(1).values.round()]
        assert all(v % 4 == 0 for v in whole), whole
        on_whole = (flow[0] == flow.new_tensor(whole).view(2, 1, 1)).all(0).float().mean()
        assert on_whole >= 0.7, on_whole  # the background; not the patch crossing it
        now = placed(image, shift)
        nearest = min(difference(image, moved(earlier, dx, dy)) for dx in range(4) for dy in range(3))
        assert difference(now, moved(before, *whole)) < 0.6 * nearest, (difference(now, moved(before, *whole)), nearest)
        before = now
    assert lock.last.travel == pytest.approx((-2.4 * 6, -1.2 * 6), abs=0.3)


def test_the_band_a_patch_crossing_the_pan_uncovers_is_doubted():
    """DIS spreads the patch's motion over the background it uncovers, so the forward-backward
    check trusts nine tenths of that band (0.11 doubted); on a locked pan, where the flow compresses
    off the pan's motion, it is doubted (0.93), at a fifth more of the frame doubted in all, and
    handed on as what was uncovered."""
    scene, frames, lock = pan_scene(count=9), pan_frames(9), PanLock(4)
    lock.next(None)
    doubted, everywhere = [], []
    for t in range(1, 9):
        (_, mask), shift, uncovered = lock.next(motion(frames[t - 1], frames[t]))
        band = cv2.resize(scene.uncovered[t].astype(np.uint8), frames[t].shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
        band = np.roll(band, (-round(shift.offset[1]), -round(shift.offset[0])), (0, 1))  # into the shifted frame
        doubted.append(1 - mask[0, 0].numpy()[band].mean())
        everywhere.append(1 - mask.mean().item())
        assert uncovered is not None and not (uncovered & (mask > 0)).any()  # doubted wherever handed on
    assert np.mean(doubted) >= 0.8 and min(doubted) >= 0.6, doubted
    assert np.mean(everywhere) <= 0.1, everywhere


def test_a_pan_of_whole_periods_is_locked_though_no_frame_is_shifted():
    """A pan that has travelled whole periods leaves both frames unshifted: its vectors are still
    set to the periods they move by, and what crosses it still doubted."""
    from animator.motion.lock import Shift, carried

    flow = torch.full((1, 2, 32, 48), -3.9)
    flow[:, 0, :, :20] = 0.0  # the left part keeps its place as the rest pans past: the flow compresses between
    held = torch.ones(1, 1, 32, 48)
    moved, mask, uncovered = carried(flow, held, Shift(), Shift((0.0, 0.0), (-8.0, 0.0)), (-4.0, -4.0))
    assert (moved[0, :, :, 20:] == -4.0).all()  # exactly whole periods
    doubted = (mask[0, 0] == 0).all(0).nonzero().flatten().tolist()
    assert doubted == list(range(16, 23)) and mask[0, 0, :, :16].all() and mask[0, 0, :, 23:].all(), doubted
    assert torch.equal(uncovered, mask == 0)


def test_a_cut_starts_the_next_shot_unshifted():
    frames, lock = pan_frames(3), PanLock(4)
    lock.next(None)
    for earlier, image in zip(frames, frames[1:]):
        lock.next(motion(earlier, image))
    assert lock.last.offset != (0.0, 0.0)
    cut = np.ascontiguousarray(frames[-1][::-1, ::-1])
    moved, shift, uncovered = lock.next(motion(frames[-1], cut))
    assert shift.offset == (0.0, 0.0) and not moved[1].any() and uncovered is None


def test_a_pans_render_carries_how_far_it_has_travelled_in_its_resume_state():
    """What a resumed render starts the lock from (the killed-render test resumes this preset)."""
    import dataclasses

    from animator.preset import load_preset
    from animator.render.engine import load
    from tests.conftest import PRESETS

    preset = dataclasses.replace(load_preset(PRESETS / "pan-arbitrary.yaml"), size=160)
    states = [state for _, _, state in load(preset).renderer.frames()]
    assert set(states[-1]) == {"consistency", "pan"}
    # the camera's (2, 1) px a frame at half the size, as DIS finds them at 160 px (a tenth of a pixel off)
    assert states[-1]["pan"] == pytest.approx((-1.0 * 47, -0.5 * 47), abs=5)
    assert [state["pan"] for state in states[:2]] == [(0.0, 0.0), pytest.approx((-1.0, -0.5), abs=0.15)]
