"""The key's trust mask: a lone pixel the flow check doubted takes the key, a real occlusion the
fresh painting. Blending two paintings keeps the fresh one's fine detail."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from animator.clock import Clock
from animator.media.frame import to_tensor
from animator.media.image import read_image
from animator.metrics.fidelity import gradient_energy
from animator.preset.schema import TemporalConfig
from animator.render.consistency import Blend, LongTerm, mean3x3
from animator.render.detail import fine_detail, keep_detail
from tests.conftest import SAMPLES


def test_the_key_covers_a_lone_doubted_pixel_and_leaves_an_occlusion_fresh():
    when = Clock(2, 0.0).at(1)
    ramp = torch.linspace(0, 1, 96).expand(1, 3, 64, 96)  # smooth paintings: no fine detail for the blend to keep
    key, fresh = ramp * torch.tensor([0.2, 0.5, 0.9]).view(1, 3, 1, 1), 1 - ramp
    consistency = LongTerm(Blend(None, TemporalConfig(mode="blend", weight=0.0)), 0.9)  # the mode passes its painting on
    frame = ramp  # one still picture: what changes is the painting (the network's flicker)
    consistency.next(key, [], frame, None, when)  # the first frame: its output is the key
    mask = torch.ones(1, 1, 64, 96)
    mask[..., 10, 10] = 0  # a pixel the check doubted (film grain, the flow's noise)
    mask[..., 30:60, 50:90] = 0  # what the flow says was hidden behind something
    output = consistency.next(fresh, [], frame, (torch.zeros(1, 2, 64, 96), mask), when)
    speck = (output - key)[..., 10, 10].abs().mean() / (fresh - key)[..., 10, 10].abs().mean()
    assert speck < 0.25  # mostly the key's paint (8/9 of its 0.9), not a speck of the fresh painting
    assert torch.equal(output[..., 35:55, 55:85], fresh[..., 35:55, 55:85])  # inside the occlusion: fresh
    assert torch.allclose(output[..., 0:5, 20:40], torch.lerp(fresh, key, 0.9)[..., 0:5, 20:40])  # elsewhere: the key's share


def test_the_key_mask_is_averaged_over_the_pixels_inside_the_frame():
    mask = (torch.rand(2, 1, 7, 11, generator=torch.Generator().manual_seed(1)) > 0.3).float()
    averaged = mean3x3(mask)
    assert torch.allclose(averaged, F.avg_pool2d(mask, 3, 1, 1, count_include_pad=False), atol=1e-6)
    assert averaged[0, 0, 0, 0] == mask[0, 0, :2, :2].mean()  # a corner: its four pixels, no padding


def test_a_blend_of_two_paintings_of_one_texture_keeps_the_fresh_ones_detail():
    brick = to_tensor(read_image(SAMPLES / "brick.png"))
    fresh, held = brick[..., 40:168, 40:168], brick[..., 45:173, 47:175]  # the same texture, strokes not aligned
    weight = torch.full((1, 1, 128, 128), 0.7)
    weight[..., :, :32] = 0  # where the flow does not hold: the fresh painting alone
    plain = torch.lerp(fresh, held, weight)
    kept = keep_detail(plain, fresh, weight)
    spread = lambda image: float((image - mean3x3(image))[..., 32:].std())  # noqa: E731  the fine detail's
    assert spread(plain) < 0.85 * spread(fresh)  # averaging the strokes dulls them
    assert spread(kept) > 0.88 * spread(fresh)  # kept: most of the fresh painting's fine detail (0.90 here)
    assert gradient_energy(plain[..., 32:]) < gradient_energy(kept[..., 32:]) < gradient_energy(fresh[..., 32:])
    assert torch.allclose(mean3x3(kept)[..., 40:, 40:], mean3x3(plain)[..., 40:, 40:], atol=0.01)  # the colours of the blend
    assert torch.equal(kept[..., :31], fresh[..., :31])  # nothing blended: the fresh painting
    assert torch.equal(keep_detail(fresh, plain, weight), fresh)  # as much detail as the fresh one already: unchanged
    finer = keep_detail(plain, fresh, weight, gain=1.3)  # the fresh painting itself falls short of the target by 1.3
    assert spread(finer) > 1.08 * spread(kept) and torch.equal(finer[..., :31], fresh[..., :31])


def test_where_the_key_has_not_moved_the_detail_is_kept_tile_by_tile():
    """A blend of many paintings of one place dulls it unevenly: here its left half keeps the fresh
    painting's detail and its right half about two thirds of it. One gain for the frame leaves the
    right half dull and strengthens the left beyond the fresh painting; where the key has not moved,
    each tile is strengthened by what it lacks; where it has, the frame's gain as before."""
    fresh = to_tensor(read_image(SAMPLES / "brick.png"))[..., 40:168, 40:168]
    smooth = mean3x3(fresh)
    blended = fresh.clone()
    blended[..., 64:] = smooth[..., 64:] + (fresh - smooth)[..., 64:] / 3  # a third of the detail
    weight = torch.full((1, 1, 128, 128), 0.9)
    spread = lambda image, half: float((image - mean3x3(image))[..., 8:-8, half].std())  # noqa: E731
    left, right = slice(8, 48), slice(80, 120)  # away from where the tiles meet
    still = torch.ones_like(weight, dtype=torch.bool)
    once = keep_detail(blended, fresh, weight)  # one gain for the frame
    tiled = keep_detail(blended, fresh, weight, unmoved=still)
    assert spread(once, right) < 0.75 * spread(fresh, right) and spread(once, left) > 1.1 * spread(fresh, left)
    assert abs(spread(tiled, left) / spread(fresh, left) - 1) < 0.02  # (1.00 here; once: 1.12)
    assert spread(tiled, right) > 1.08 * spread(once, right) > 1.08 * spread(blended, right)  # (0.76, 0.70, 0.66)
    moved = keep_detail(blended, fresh, weight, unmoved=~still)
    assert torch.allclose(moved, once, atol=1e-6)
    nowhere = keep_detail(blended, fresh, weight * 0, unmoved=still)  # nothing blended: nothing to keep
    assert torch.equal(nowhere, blended)


def test_the_key_keeps_the_detail_tile_by_tile_only_where_it_has_not_moved(monkeypatch):
    import animator.render.consistency as consistency

    told = []
    monkeypatch.setattr(consistency, "keep_detail", lambda output, *args: told.append(args[-1]) or output)
    keeper = LongTerm(Blend(None, TemporalConfig(mode="blend", weight=0.0)), 0.9)
    picture, when = torch.linspace(0.2, 0.6, 48).expand(1, 3, 32, 48).clone(), Clock(2, 0.0).at(1)  # smooth: no change told
    flow = torch.zeros(1, 2, 32, 48)
    flow[..., 24:] = 0.6  # the right half moves 0.6 px a frame: 1.2 px from the key after two
    for _ in range(3):
        keeper.next(picture, [], picture, (flow, torch.ones(1, 1, 32, 48)), when)
    first, second = told
    assert first.all() and second[..., :24].all() and not second[..., 24:].any()


def test_fine_detail_is_the_same_by_opencv_and_by_torch_in_either_layout():
    image = to_tensor(read_image(SAMPLES / "brick.png"))[..., :61, :83]
    by_opencv, by_torch = fine_detail(image), fine_detail(image.double())  # float64 takes torch's pooling
    assert torch.allclose(by_opencv.double(), by_torch, atol=1e-6)
    together = fine_detail(image.contiguous(memory_format=torch.channels_last))  # a pixel's channels at once
    assert together.is_contiguous(memory_format=torch.channels_last) and torch.equal(together, by_opencv)


@pytest.mark.parametrize("shape", [(1, 1, 7, 9), (2, 1, 5, 6), (1, 3, 1, 1), (2, 4, 1, 1), (1, 1, 1, 5), (1, 3, 6, 1)])
def test_fine_detail_of_one_channel_a_pixel_or_a_line_is_found_as_torch_finds_it(shape):
    """A picture of one channel, a 1x1 picture, a row or column of pixels: torch calls them
    channels-last and contiguous whatever the strides of their dimensions of size 1, which OpenCV
    would not write into."""
    image = torch.rand(shape)
    columns = image.transpose(-1, -2).contiguous().transpose(-1, -2)  # laid out column by column
    for laid in (image, image.contiguous(memory_format=torch.channels_last), columns):
        assert torch.allclose(fine_detail(laid).double(), fine_detail(laid.double()), atol=1e-6)


def test_the_detail_is_measured_at_every_place_of_the_networks_four_pixel_period():
    """`arbitrary` paints from features a quarter of the size, so its painting's fine detail repeats
    every 4 pixels: every fourth pixel of every fourth row sees one place of that period, with three
    quarters of the mean. The sparse measure the key's detail is kept by comes within a few percent
    of the whole painting's."""
    from animator.preset import preset_from_dict
    from animator.render.detail import detail_spreads
    from animator.render.engine import load
    from tests.conftest import MEDIA

    raw = {"name": "detail", "mode": "video", "input": str(MEDIA / "chaplin.mp4"), "style": str(SAMPLES / "hubble_deep_field.jpg"),
           "size": 256, "video": {"duration": 0.2, "temporal": {"flow": "none"}}}
    for _, painting, _ in load(preset_from_dict(raw, SAMPLES)).renderer.frames():
        painting = painting.float()
        detail = fine_detail(painting)[..., 1:-1, 1:-1].square()
        whole = float(detail.mean())
        assert float(detail[..., ::4, ::4].mean()) < 0.85 * whole  # one place of the period: 0.71-0.79 of it
        sparse, _ = detail_spreads(painting, painting, torch.ones_like(painting[:, :1], dtype=torch.bool))
        assert abs(sparse / whole - 1) < 0.08, (sparse, whole)  # 1.04-1.06 here; every fourth pixel: 0.76


def test_the_key_is_dropped_when_the_style_moves_but_not_with_a_style_that_is_the_frame():
    """A morph moves the style under a still picture: the key, painted in the old style, held it
    (the painting never changed). `style: self` moves with every frame, and its key is kept."""
    when, frame = Clock(2, 0.0).at(1), torch.full((1, 3, 32, 48), 0.5)
    old, new = torch.full((1, 3, 32, 48), 0.2), torch.full((1, 3, 32, 48), 0.8)
    style = lambda scale: [None, (torch.full((1, 8), scale), torch.zeros(1, 8))]  # noqa: E731 (a network's conditions)
    still = (torch.zeros(1, 2, 32, 48), torch.ones(1, 1, 32, 48))
    for watched, expected in ((True, new), (False, torch.lerp(new, old, 0.9))):
        consistency = LongTerm(Blend(None, TemporalConfig(mode="blend", weight=0.0)), 0.9, watch_style=watched)
        consistency.next(old, style(1.0), frame, None, when)
        output = consistency.next(new, style(1.5), frame, still, when)
        assert torch.allclose(output, expected, atol=1e-6), watched


def test_a_still_style_is_one_target_and_the_key_compares_only_a_moving_one(monkeypatch):
    """A fixed style gives every frame the same target, made once; a morph a new one as its weights
    move. The key compares its style with the frame's only when the target is another: each
    comparison waits for a GPU, and a style that does not move needs none (nor does a resumed
    render's, once found the same)."""
    import animator.render.consistency as module
    from animator.methods import StyleTrack, build_method
    from animator.media.frame import fitted
    from animator.preset.schedule import parse_schedule
    from animator.preset.schema import ArbitraryOptions, MultistyleOptions

    cpu, clock = torch.device("cpu"), Clock(10, 1 / 24)
    method = build_method(ArbitraryOptions(), cpu)
    brick, hubble = (fitted(read_image(SAMPLES / name), 64, cpu) for name in ("brick.png", "hubble_deep_field.jpg"))
    still, morph = StyleTrack(method, [(brick, 1.0)]), StyleTrack(method, [(brick, 1.0), (hubble, parse_schedule("0: 0, 9: 1"))])
    frame = torch.full((1, 3, 32, 48), 0.5)
    target = still.at(frame, clock.at(0))
    assert still.at(frame, clock.at(7)) is target and morph.at(frame, clock.at(3)) is not morph.at(frame, clock.at(4))
    weights = [0.0] * 26
    weights[3], weights[12] = parse_schedule("0: 1, 4: 0"), parse_schedule("0: 0, 4: 1")
    built_in = StyleTrack(build_method(MultistyleOptions(style=tuple(weights)), cpu), [])  # its own styles
    assert built_in.at(frame, clock.at(2)) is not built_in.at(frame, clock.at(3))  # the morph moves
    assert built_in.at(frame, clock.at(5)) is built_in.at(frame, clock.at(9))  # past its last keyframe it holds

    compared = []
    distance = module.style_distance
    monkeypatch.setattr(module, "style_distance", lambda now, then: compared.append(then) or distance(now, then))
    no_motion = (torch.zeros(1, 2, 32, 48), torch.ones(1, 1, 32, 48))
    keeper = LongTerm(Blend(None, TemporalConfig(mode="blend", weight=0.0)), 0.9)
    for t in range(4):
        keeper.next(frame, still.at(frame, clock.at(t)), frame, None if t == 0 else no_motion, clock.at(t))
    assert compared == []
    resumed = LongTerm(Blend(None, TemporalConfig(mode="blend", weight=0.0), keeper.state()["mode"]), 0.9, keeper.state())
    for t in range(4, 7):
        resumed.next(frame, still.at(frame, clock.at(t)), frame, no_motion, clock.at(t))
    assert len(compared) == 1  # the first frame after the resume: the same style, so not again
    resumed.next(frame, morph.at(frame, clock.at(7)), frame, no_motion, clock.at(7))
    assert len(compared) == 2 and resumed.key is None  # 7/9 of the way to the other style: the key is let go


def test_a_nearly_flat_blend_has_its_detail_at_most_doubled():
    """A blend of two paintings keeps at least half their detail's mean square; a blend that is all
    but flat (one colour and a grain) is not a dulled texture, and strengthening its grain to the
    whole painting's detail drove it to black and white."""
    fresh = to_tensor(read_image(SAMPLES / "brick.png"))[..., 40:104, 40:104]
    grain = torch.rand(fresh.shape, generator=torch.Generator().manual_seed(0))
    blended = 0.5 + 0.004 * grain
    weight = torch.full((1, 1, 64, 64), 0.9)
    kept = keep_detail(blended, fresh, weight)
    assert torch.allclose(kept - blended, fine_detail(blended), atol=1e-6)  # the detail doubled, no more


def test_the_motion_is_brought_to_the_features_grid_of_the_painting():
    """`features` blends the encoder's features, a quarter of the painting's size (padded to a
    multiple of 4), and at a stroke scale the painting is smaller than the frame the flow was found
    on: the flow is scaled to that grid's pixels, so the earlier frame, pooled as the features are,
    lands on the next one where the flow holds."""
    from animator.media.synthetic import pan_scene
    from animator.motion.warp import warp
    from animator.render.consistency import at_features

    scene = pan_scene(count=2, camera=(8, 4), patch_velocity=(-4, 4))  # 2 px a frame on the features' grid
    flow = torch.from_numpy(scene.backward[1].transpose(2, 0, 1))[None][..., :190, :318]  # not a multiple of 4
    mask = torch.from_numpy(scene.valid[1])[None, None].float()[..., :190, :318]
    for h, w in ((190, 318), (95, 159)):  # the painting at the frame's size, and at half of it
        earlier, now = (F.interpolate(to_tensor(f)[..., :190, :318], size=(h, w), mode="area") for f in scene.frames)
        grid = torch.Size((1, 64, -(-h // 4), -(-w // 4)))
        moved, held = at_features((flow, mask), grid, (h, w))
        pad = (0, grid[-1] * 4 - w, 0, grid[-2] * 4 - h)
        pool = lambda x: F.avg_pool2d(F.pad(x, pad, mode="replicate"), 4)  # noqa: E731
        where = (held == 1)[0, 0]
        assert moved.shape[-2:] == held.shape[-2:] == grid[-2:] and where.float().mean() > 0.85
        closeness = lambda flow: float(-10 * (warp(pool(earlier), flow) - pool(now)).square().mean(1)[0][where].mean().log10())  # noqa: E731
        assert closeness(moved) > 28 > 25 > max(closeness(moved * 0), closeness(moved * 2), closeness(moved / 2))


def flickering_still(frames: int):
    """A still shot's frame (a smooth ramp of luminance 0-0.6) and the network's paintings of it,
    two that alternate (the network's flicker): smooth, no fine detail for a blend to keep."""
    ramp = torch.linspace(0, 0.6, 96).expand(1, 3, 64, 96).clone()
    paintings = [ramp * torch.tensor([0.2, 0.5, 0.9]).view(1, 3, 1, 1), 1 - ramp]
    return ramp, [paintings[i % 2] * (0.9 + 0.001 * i) for i in range(frames)]


def test_the_key_lets_go_of_the_pixels_whose_luminance_changed_by_more_than_a_fifth():
    """Light comes on over part of a still shot: where the luminance moved more than CHANGED (0.2)
    from the key's frame, the frame is painted afresh; where it moved less, the key holds."""
    when, still = Clock(2, 0.0).at(1), (torch.zeros(1, 2, 64, 96), torch.ones(1, 1, 64, 96))
    frame, (key, fresh) = flickering_still(2)
    lit = frame.clone()
    lit[..., 10:30, 10:40] += 0.3  # changed past CHANGED (a tenth of the frame: on average 0.04, no cut)
    lit[..., 40:60, 50:80] += 0.15  # within it
    consistency = LongTerm(Blend(None, TemporalConfig(mode="blend", weight=0.0)), 0.9)
    consistency.next(key, [], frame, None, when)
    output = consistency.next(fresh, [], lit, still, when)
    assert torch.equal(output[..., 11:29, 11:39], fresh[..., 11:29, 11:39])  # inside the lit patch: fresh
    held = torch.lerp(fresh, key, 0.9)
    assert torch.allclose(output[..., 40:60, 50:80], held[..., 40:60, 50:80]) and torch.allclose(output[..., 35:, :45], held[..., 35:, :45])


def test_a_change_without_motion_drops_the_key_for_settle_frames_and_a_resume_waits_as_long():
    """Over a fifth of a still shot changes (on average less than a cut): the key no longer covers
    REFRESH of the frame, by change rather than motion, so it is dropped and the next one is taken
    SETTLE frames on, when the mode has painted what the frame became. A render resumed during the
    wait waits as long."""
    import io

    from animator.render.consistency import consistency

    when, still = Clock(2, 0.0).at(1), (torch.zeros(1, 2, 64, 96), torch.ones(1, 1, 64, 96))
    frame, paintings = flickering_still(LongTerm.SETTLE + 4)
    changed = frame.clone()
    changed[..., :21] += 0.22  # 22% of the frame, on average 0.048 from the key's: no cut
    temporal = TemporalConfig(mode="blend", weight=0.0, long_term=0.9)
    keeper = consistency(None, temporal)
    outputs = [keeper.next(paintings[0], [], frame, None, when)]
    outputs.append(keeper.next(paintings[1], [], changed, still, when))
    assert torch.allclose(outputs[1][..., 25:], torch.lerp(paintings[1], paintings[0], 0.9)[..., 25:])  # the change's frame: the key still
    resumed = None
    for i, painting in enumerate(paintings[2:], 2):
        outputs.append(keeper.next(painting, [], changed, still, when))
        if resumed is not None:
            assert torch.equal(resumed.next(painting, [], changed, still, when), outputs[-1]), i
        if i == 20:  # a checkpoint during the wait
            kept = io.BytesIO()
            torch.save(keeper.state(), kept)
            kept.seek(0)
            resumed = consistency(None, temporal, torch.load(kept))
    waited = 1 + LongTerm.SETTLE
    assert all(torch.equal(outputs[i], paintings[i]) for i in range(2, waited + 2))  # no key: the mode's painting
    new_key = outputs[waited + 1]
    again = torch.lerp(paintings[waited + 2], new_key, 0.9)  # the key again (away from the ramp's ends, whose detail is kept)
    assert torch.allclose(outputs[waited + 2][..., 2:-2], again[..., 2:-2])


def test_features_carry_the_blend_on_so_a_grainy_frame_fades_from_the_frames_after_it():
    """`features` blends each frame's features with the previous frame's blended features, warped:
    one frame's grain on a still shot reaches the next frames by the weight (0.7) a frame, fading.
    Blended with the previous frame's own encoding instead, it came back twice as strong on the
    next frame and was gone on the one after (the output blend off, to see the features alone)."""
    import cv2
    import numpy as np

    from animator.motion.flow import find_motion, make_backend
    from animator.preset import preset_from_dict
    from animator.render.consistency import consistency
    from animator.render.engine import load

    raw = {"name": "f", "mode": "still", "input": str(SAMPLES / "coffee.png"), "style": str(SAMPLES / "hubble_deep_field.jpg"),
           "size": 128, "precision": "float32"}
    loaded = load(preset_from_dict(raw, SAMPLES)).loaded
    still = cv2.resize(read_image(SAMPLES / "coffee.png"), (128, 96), interpolation=cv2.INTER_AREA)
    grainy = np.uint8(np.clip(still + np.random.default_rng(0).normal(0, 12, still.shape), 0, 255))
    images = [still, grainy] + [still] * 5
    temporal, when = TemporalConfig(weight=0.7, output_weight=0.0, long_term=0.0), loaded.clock.at(0)
    keeper, backend, outputs = consistency(loaded.method, temporal), make_backend("dis"), []
    for i, image in enumerate(images):
        x = to_tensor(image)
        motion = find_motion(backend, images[i - 1], image, temporal, "cpu") if i else None
        assert motion is None or motion[1].mean() > 0.95  # the grain is no cut: the flow holds
        target = loaded.styles.at(x, when)
        outputs.append(keeper.next(keeper.paint(target, x), target, x, motion, when))
    echo = [float((output - outputs[0]).abs().mean()) for output in outputs[1:]]
    assert all(0.5 < later / earlier < 0.85 for earlier, later in zip(echo, echo[1:])), echo  # 0.70-0.73 here


def test_the_detail_is_kept_wherever_the_blend_took_anything_at_a_soft_edge_too():
    """The key's mask is averaged over 3x3, so at an occlusion's edge the blend takes a little of
    the key (0.1-0.2): the fine detail is strengthened there as well, by the same gain."""
    brick = to_tensor(read_image(SAMPLES / "brick.png"))
    fresh, held = brick[..., 40:168, 40:168], brick[..., 45:173, 47:175]
    weight = torch.full((1, 1, 128, 128), 0.7)
    weight[..., :, :32] = 0.2  # a soft edge's share of the key
    plain = torch.lerp(fresh, held, weight)
    kept = keep_detail(plain, fresh, weight)
    detail = fine_detail(plain)
    boost = lambda cols: float(((kept - plain) * detail)[..., 1:-1, cols].sum() / detail[..., 1:-1, cols].square().sum())  # noqa: E731
    assert boost(slice(40, -1)) > 0.05  # where the blend took 0.7: strengthened
    assert abs(boost(slice(1, 31)) / boost(slice(40, -1)) - 1) < 0.05  # and by as much where it took 0.2


def test_a_key_with_a_share_of_less_than_a_half_still_keeps_the_detail():
    """`long_term: 0.3` blends the key in by 0.3 at most: the detail is measured and kept wherever
    the blend took more than a quarter, not only where the key dominates."""
    brick = to_tensor(read_image(SAMPLES / "brick.png"))
    fresh, held = brick[..., 40:168, 40:168], brick[..., 45:173, 47:175]
    weight = torch.full((1, 1, 128, 128), 0.3)
    plain = torch.lerp(fresh, held, weight)
    detail = fine_detail(plain)
    boost = float(((keep_detail(plain, fresh, weight) - plain) * detail).sum() / detail.square().sum())
    assert boost > 0.1, boost  # strengthened: 0.28 here (0.29 where it took 0.7)


@pytest.mark.parametrize("share", [0.2, 0.9])
def test_a_light_key_keeps_the_detail_of_the_frames_painting_as_the_default_does(share):
    """The detail is measured where the key holds more than 2.5 of a pixel's 9 neighbours, whatever
    its weight: with `long_term: 0.2` it was measured where the share passed 0.25, which it never
    does, and the blend of two paintings of one texture kept none of its strength back (the fine
    detail's mean square, 0.70 of the fresh painting's)."""
    brick = to_tensor(read_image(SAMPLES / "brick.png"))
    key, fresh = brick[..., 40:168, 40:168], brick[..., 45:173, 47:175]  # two paintings of one texture
    when, still = Clock(2, 0.0).at(1), (torch.zeros(1, 2, 128, 128), torch.ones(1, 1, 128, 128))
    consistency = LongTerm(Blend(None, TemporalConfig(mode="blend", weight=0.0)), share)
    consistency.next(key, [], fresh, None, when)  # its output is the key
    output = consistency.next(fresh, [], fresh, still, when)
    plain = torch.lerp(fresh, key, share)
    strength = lambda x: float(fine_detail(x)[..., 1:-1, 1:-1].square().mean())  # noqa: E731
    assert strength(plain) < 0.9 * strength(fresh)  # the blend of two textures is weaker than either
    recovered = (strength(output) - strength(plain)) / (strength(fresh) - strength(plain))
    assert recovered > 0.5, recovered  # most of it back: 0.58 at 0.2, 0.60 at 0.9 (a 3x3 band's boost is not exact)


def test_a_flat_blend_of_a_textured_painting_is_left_as_it_is():
    """A blend with no fine detail where the key is held (a fade to black) has nothing to
    strengthen: it is returned unchanged, not divided by its zero spread."""
    fresh = to_tensor(read_image(SAMPLES / "brick.png"))[..., :64, :64]
    black = torch.zeros_like(fresh)
    assert torch.equal(keep_detail(black, fresh, torch.full((1, 1, 64, 64), 0.9)), black)


def test_the_detail_kept_stays_within_the_range_of_a_picture():
    """Detail doubled (the most: the fresh painting itself short of the target) on a picture of
    strong contrast would pass 1 and 0: it is clamped."""
    coffee = to_tensor(read_image(SAMPLES / "coffee.png"))
    fresh, held = coffee[..., 40:168, 40:168], coffee[..., 45:173, 47:175]
    weight = torch.full((1, 1, 128, 128), 0.7)
    plain = torch.lerp(fresh, held, weight)
    assert float((plain + fine_detail(plain)).min()) < -0.05 and float((plain + fine_detail(plain)).max()) > 1.05
    kept = keep_detail(plain, fresh, weight, gain=4.0)
    assert float(kept.min()) == 0 and float(kept.max()) == 1  # the strengthened detail reached both bounds


def test_the_change_is_told_by_the_luminance_of_the_frames_colours():
    """The key lets go where the luminance changed: BT.601's weighted sum of the channels, in
    either layout of the frame."""
    from animator.media.frame import luminance as weighted_sum
    from animator.render.consistency import luminance

    chelsea = to_tensor(read_image(SAMPLES / "chelsea.png"))[..., :96, :128]
    for laid in (chelsea, chelsea.contiguous(memory_format=torch.channels_last)):
        assert torch.allclose(luminance(laid), weighted_sum(chelsea), atol=1e-6)


def run_still(steps, paintings):
    """LongTerm over a still shot (the mode passing its painting on): each step a (picture, mask)
    pair, motion None for a mask of None. The outputs."""
    when = Clock(2, 0.0).at(1)
    keeper = LongTerm(Blend(None, TemporalConfig(mode="blend", weight=0.0)), 0.9)
    outputs = []
    for (picture, mask), painting in zip(steps, paintings):
        motion = None if mask is None else (torch.zeros(1, 2, *picture.shape[-2:]), mask)
        outputs.append(keeper.next(painting, [], picture, motion, when))
    return outputs


def test_a_small_patch_of_light_lets_go_of_that_patch_alone_and_the_key_holds_on():
    """A lamp comes on over a tenth of a still shot: the key still covers 0.9 of the frame, more
    than REFRESH, so it is kept on the frames after, not dropped for SETTLE frames."""
    frame, paintings = flickering_still(4)
    lit = frame.clone()
    lit[..., :10] += 0.3
    whole = torch.ones(1, 1, 64, 96)
    outputs = run_still([(frame, None)] + [(lit, whole)] * 3, paintings)
    for i in (2, 3):
        assert torch.allclose(outputs[i][..., 12:-2], torch.lerp(paintings[i], paintings[0], 0.9)[..., 12:-2]), i
        assert torch.equal(outputs[i][..., 1:9], paintings[i][..., 1:9])  # the lit patch: fresh


def test_a_change_that_creeps_over_the_frame_drops_the_key_once_it_adds_up():
    """Light spreads over a still shot a strip a frame: each frame's change is small, but what the
    key lost to change adds up, so once it covers less than REFRESH the key is dropped (the next
    waits SETTLE frames) rather than the half-changed output taken as the key at once."""
    frame, paintings = flickering_still(8)
    steps = [(frame, None)]
    for strip in range(1, 7):  # 5 columns of 96 more each frame
        lit = frame.clone()
        lit[..., :5 * strip] += 0.3
        steps.append((lit, torch.ones(1, 1, 64, 96)))
    steps.append(steps[-1])
    outputs = run_still(steps, paintings)
    assert torch.allclose(outputs[4][..., 30:-2], torch.lerp(paintings[4], paintings[0], 0.9)[..., 30:-2])  # held 0.79
    assert all(torch.equal(outputs[i], paintings[i]) for i in (6, 7))  # dropped at 0.74 (frame 5): no key


def test_what_changes_where_the_flow_does_not_hold_is_no_cut():
    """Something comes into a third of a still shot (the flow does not hold there; the luminance
    there changes by 0.4): the key, held elsewhere and unchanged there, is no cut's; as it covers
    less than REFRESH, the output becomes the key at once."""
    frame, paintings = flickering_still(3)
    entered = frame.clone()
    entered[..., :32] += 0.4  # on average 0.13 over the frame, over twice a cut's; none where the key is held
    occluded = torch.ones(1, 1, 64, 96)
    occluded[..., :32] = 0
    outputs = run_still([(frame, None), (entered, occluded), (entered, torch.ones(1, 1, 64, 96))], paintings)
    assert torch.allclose(outputs[2][..., 2:-2], torch.lerp(paintings[2], outputs[1], 0.9)[..., 2:-2])


def test_a_cut_makes_its_first_frame_the_key():
    """At a cut there is no motion: the new shot's first output is the key, and the old shot's key
    is never warped onto the new shot's frames."""
    pictures = [F.interpolate(to_tensor(read_image(SAMPLES / name)), size=(64, 96), mode="area") for name in ("chelsea.png", "coffee.png")]
    _, paintings = flickering_still(3)
    whole = torch.ones(1, 1, 64, 96)
    outputs = run_still([(pictures[0], None), (pictures[1], None), (pictures[1], whole)], paintings)
    assert torch.equal(outputs[1], paintings[1])
    assert torch.allclose(outputs[2][..., 2:-2], torch.lerp(paintings[2], paintings[1], 0.9)[..., 2:-2])


def test_what_an_earlier_key_lost_to_change_does_not_count_against_the_next():
    """A key loses a tenth of the frame to a lamp, then enough more to motion that it is replaced;
    the new key starts with nothing lost: a twentieth lost to change and a sixth to motion is a
    new key again, not a change that drops it."""
    frame, paintings = flickering_still(5)
    lit, more = frame.clone(), frame.clone()
    lit[..., :10] += 0.3
    more[..., :10] += 0.3
    more[..., 40:45] += 0.3
    whole, moved, moved_again = (torch.ones(1, 1, 64, 96) for _ in range(3))
    moved[..., 10:24] = 0  # with the lamp: the key covers 0.75 (a tenth lost to change), a new key
    moved_again[..., 24:40] = 0
    outputs = run_still([(frame, None), (lit, whole), (lit, moved), (more, moved_again), (more, whole)], paintings)
    assert torch.allclose(outputs[4][..., 2:-2], torch.lerp(paintings[4], outputs[3], 0.9)[..., 2:-2])
