import torch

from animator.media.frame import fit_size, resize, to_image, to_tensor
from animator.methods import build_method, prepare_style
from animator.metrics import mean_abs_diff, psnr
from animator.preset.schema import ArbitraryOptions, MultistyleOptions
from tests.conftest import loop


def start(image, size):
    return to_tensor(resize(image, *fit_size(image.shape[1], image.shape[0], size)))


def test_self_style_arbitrary_enters_the_psychedelic_regime(chelsea):
    x0 = start(chelsea, 192)
    frames = {t: to_image(x) for t, x in loop(build_method(ArbitraryOptions(), torch.device("cpu")), x0, steps=60).items()}
    first = to_image(x0)
    assert psnr(frames[1], first) - psnr(frames[60], first) >= 5
    assert psnr(frames[60], first) < 12  # far from the picture, not a slight blur of it


def test_blend_zero_is_a_still_and_blend_slows_the_drift(chelsea):
    x0 = start(chelsea, 96)
    method = build_method(ArbitraryOptions(), torch.device("cpu"))
    still = list(loop(method, x0, steps=3, blend=0.0).values())
    assert all(torch.equal(x, x0) for x in still)
    slow = [to_image(x) for x in loop(method, x0, steps=10, blend=0.2).values()]
    fast = [to_image(x) for x in loop(method, x0, steps=10, blend=1.0).values()]
    assert psnr(slow[-1], to_image(x0)) > psnr(fast[-1], to_image(x0)) + 3
    step = lambda frames: sum(mean_abs_diff(a, b) for a, b in zip(frames, frames[1:])) / (len(frames) - 1)  # noqa: E731
    assert step(slow) < 0.5 * step(fast)  # and each step moves less


def test_iterate_is_deterministic_and_resumes_exactly(chelsea):
    x0 = start(chelsea, 96)
    method = build_method(MultistyleOptions(), torch.device("cpu"))
    whole = loop(method, x0, steps=8, blend=0.5)
    resumed = loop(method, x0, steps=8, blend=0.5, resume=(5, {"x": whole[5]}))
    assert list(resumed) == [6, 7, 8]
    assert all(torch.equal(resumed[t], whole[t]) for t in resumed)
    assert torch.equal(loop(method, x0, steps=8, blend=0.5)[8], whole[8])


def test_fixed_style_pulls_towards_the_style(chelsea):
    from animator.media.image import read_image
    from tests.conftest import SAMPLES

    x0 = start(chelsea, 128)
    brick = start(read_image(SAMPLES / "brick.png"), 128)
    method = build_method(ArbitraryOptions(), torch.device("cpu"))
    grey = loop(method, x0, steps=6, blend=0.5, styles=[(brick, 1.0)])[6]
    saturation = lambda x: (x.max(dim=1).values - x.min(dim=1).values).mean().item()  # noqa: E731
    assert saturation(grey) < 0.5 * saturation(x0)  # a grey brick style drains the ginger cat


def test_bfloat16_networks_stay_close_to_float32(chelsea):
    x0 = start(chelsea, 192)
    for options in (ArbitraryOptions(), MultistyleOptions()):
        exact = build_method(options, torch.device("cpu"), torch.float32)
        fast = build_method(options, torch.device("cpu"), torch.bfloat16)
        a = exact.transfer(prepare_style(exact, [(x0, 1.0)]), x0)
        b = fast.transfer(prepare_style(fast, [(x0, 1.0)]), x0)
        assert b.dtype == torch.float32 and psnr(to_image(a), to_image(b)) >= 40


def test_a_resumed_loop_keeps_matching_the_colours_of_its_first_step(chelsea):
    # With no colour reference given, the loop's first step is the reference: a resumed render
    # takes it from its state, not from the step it resumes at.
    from animator.clock import Clock
    from animator.methods import StyleTrack
    from animator.preset.schema import ColorConfig, IterateConfig
    from animator.render.iterate import iterate

    x0 = start(chelsea, 96)
    method = build_method(MultistyleOptions(), torch.device("cpu"))
    config = IterateConfig(steps=6, blend=0.5, color=ColorConfig(match="lab", reference="first"))
    run = lambda resume=None: {t: (x, state) for t, x, state in iterate(  # noqa: E731
        method, x0, config=config, styles=StyleTrack(method, None), clock=Clock(7, 1 / 24), resume=resume)}
    whole = run()
    resumed = run(resume=(3, whole[3][1]))
    assert list(resumed) == [4, 5, 6]
    assert all(torch.equal(resumed[t][0], whole[t][0]) for t in resumed)


def test_colour_noise_is_seeded_grain_on_what_the_method_sees(chelsea):
    from animator.preset.schema import ColorConfig

    x0 = start(chelsea, 96)
    method = build_method(MultistyleOptions(), torch.device("cpu"))
    grain = lambda seed: loop(method, x0, steps=2, seed=seed, color=ColorConfig(noise=0.2))  # noqa: E731
    clean, noisy = loop(method, x0, steps=2), grain(1)
    assert all(torch.equal(noisy[t], grain(1)[t]) for t in noisy)  # drawn from the frame's seeded generator
    assert mean_abs_diff(to_image(noisy[1]), to_image(clean[1])) > 2  # the network painted the grain
    assert not torch.equal(grain(2)[1], noisy[1])


def test_original_colors_give_a_fixed_style_loop_the_contents_colours(chelsea):
    # a grey brick style drains the ginger cat; original_colors 1 paints it in the cat's colours
    from animator.clock import Clock
    from animator.media.image import read_image
    from animator.methods import StyleTrack
    from animator.media.frame import luminance
    from animator.preset.schema import IterateConfig
    from animator.render.iterate import iterate
    from tests.conftest import SAMPLES

    x0, brick = start(chelsea, 96), start(read_image(SAMPLES / "brick.png"), 96)
    method = build_method(ArbitraryOptions(), torch.device("cpu"))
    first = lambda colors: next(x for t, x, _ in iterate(  # noqa: E731
        method, x0, config=IterateConfig(steps=1), styles=StyleTrack(method, [(brick, 1.0)]), clock=Clock(2, 1 / 24),
        original_colors=colors) if t == 1)
    chroma = lambda x: x - luminance(x)  # noqa: E731
    painted, kept = first(0.0), first(1.0)
    assert (chroma(kept) - chroma(x0)).abs().mean() < 0.5 * (chroma(painted) - chroma(x0)).abs().mean()
    assert torch.allclose(luminance(kept), luminance(painted), atol=0.02)  # the painting's light and shade
