"""The optimization method on real pictures, small and with few steps."""

import dataclasses

import pytest
import torch

from animator.media.frame import fit_size, resize, to_image, to_tensor
from animator.clock import Clock
from animator.methods import build_method, prepare_style
from animator.metrics import psnr
from animator.preset.resolve import method_options
from animator.preset.schema import GatysOptions, GramTransform, Preset, StillConfig
from tests.conftest import SAMPLES, loop

CPU = torch.device("cpu")


def start(image, size):
    return to_tensor(resize(image, *fit_size(image.shape[1], image.shape[0], size)))


def run(options, style, content, dtype=torch.float32, **kwargs):
    method = build_method(options, CPU, dtype)
    return method.transfer(prepare_style(method, [(style, 1.0)]), content, **kwargs)


def test_style_and_content_the_same_picture_is_a_fixed_point(chelsea):
    for optimizer in ("lbfgs", "adam"):
        for dtype, size in ((torch.float32, 96), (torch.bfloat16, 48)):  # bfloat16 is slow on CPUs without AMX
            x = start(chelsea, size)
            out = run(GatysOptions(steps=10, optimizer=optimizer), x, x, dtype)
            assert psnr(to_image(out), to_image(x)) >= 40


def test_from_noise_the_picture_comes_back(chelsea):
    # style = content = x from noise: the picture re-emerges, though deep features do not pin every pixel
    x = start(chelsea, 64)
    scores = [psnr(to_image(run(GatysOptions(steps=n, init="noise"), x, x)), to_image(x)) for n in (2, 15, 40)]
    assert scores[0] < scores[1] < scores[2] and scores[2] > scores[0] + 1


def test_style_moves_the_picture_towards_the_style(chelsea):
    from animator.media.image import read_image
    from tests.conftest import SAMPLES

    x, brick = start(chelsea, 64), start(read_image(SAMPLES / "brick.png"), 64)
    out = run(GatysOptions(steps=30, style_weight=10.0), brick, x)
    saturation = lambda t: (t.max(1).values - t.min(1).values).mean().item()  # noqa: E731
    assert saturation(out) < 0.7 * saturation(x) and psnr(to_image(out), to_image(x)) < 30


def test_a_total_variation_weight_of_a_few_smooths_the_picture(chelsea):
    # counted 1:1 the term was six orders below the others: weights up to 1000 changed no byte
    from animator.media.image import read_image
    from animator.style.losses import total_variation

    x, hubble = start(chelsea, 64), start(read_image(SAMPLES / "hubble_deep_field.jpg"), 64)
    variation = [total_variation(run(GatysOptions(steps=20, tv_weight=w), hubble, x)).item() for w in (0.0, 10.0)]
    assert variation[1] < 0.8 * variation[0], variation


def test_an_empty_list_of_layers_is_no_such_term(chelsea):
    # it crashed (max() of no layers); resolve.frame_rules already counts it as no term
    x, other = start(chelsea, 32), start(chelsea, 32).flip(-1)
    for layers, weight in (("style_layers", "style_weight"), ("content_layers", "content_weight")):
        empty = run(GatysOptions(steps=2, **{layers: ()}), other, x)
        assert torch.equal(empty, run(GatysOptions(steps=2, **{weight: 0.0}), other, x))


def test_eigen_randomized_targets_drift_while_plain_gatys_stays(chelsea):
    x = start(chelsea, 64)
    first = to_image(x)
    plain = build_method(GatysOptions(steps=6), CPU)
    still = loop(plain, x, steps=10)
    assert psnr(to_image(still[10]), first) >= 35
    melt = build_method(GatysOptions(steps=6, gram_transform=GramTransform(name="eigen-randomize", redraw="frame")), CPU)
    frames = loop(melt, x, steps=20, seed=3)
    assert psnr(to_image(frames[1]), first) - psnr(to_image(frames[20]), first) >= 5


def test_synthetic_targets_and_objectives_render(chelsea):
    x = start(chelsea, 48)
    for transform in ("eigen-replace", "random", "sparse", "single"):
        for redraw, optimizer in (("never", "lbfgs"), ("step", "adam")):  # a preset takes step with adam alone
            out = run(GatysOptions(steps=3, optimizer=optimizer, gram_transform=GramTransform(name=transform, redraw=redraw)),
                      x, x, when=Clock(1, 0.0, 0).at(0))
            assert out.shape == x.shape and torch.isfinite(out).all() and not torch.equal(out, x)
    for representation in ("spatial", "local"):
        out = run(GatysOptions(steps=3, representation=representation, window=1, style_weight=100.0), x.flip(-1), x)
        assert not torch.equal(out, x)
    still = Preset("t", SAMPLES / "chelsea.png", mode="still", method=GatysOptions(steps=5), still=StillConfig("texture"))
    texture = run(method_options(still), x, x, when=Clock(1, 0.0, 0).at(0))
    assert psnr(to_image(texture), to_image(x)) < 15  # a texture, not the picture
    coarse = run(GatysOptions(steps=3, scales=(24,), original_colors=True), x.flip(-1), x)
    assert coarse.shape == x.shape


def test_zero_targets_and_seeds_are_deterministic(chelsea):
    x = start(chelsea, 48)
    options = GatysOptions(steps=3, gram_transform=GramTransform(name="single", layers=("relu3_1",), zero_others=True))
    a = run(options, x, x, when=Clock(1, 0.0, 1).at(0))
    b = run(options, x, x, when=Clock(1, 0.0, 1).at(0))
    assert torch.equal(a, b)


def test_a_frame_redraw_draws_one_target_for_every_scale(chelsea, monkeypatch):
    """redraw: frame is once per call: the coarse scales aim at the target the full size does
    (each scale drew anew from the frame's generator: a single entry at three places)."""
    from animator.style import gram_transforms

    drawn = []
    single = gram_transforms.single

    def spy(gram, rng, amplitude):
        out = single(gram, rng, amplitude)
        drawn.append(tuple(out.nonzero()[0].tolist()))
        return out

    monkeypatch.setattr(gram_transforms, "single", spy)
    content, style = start(chelsea, 64), start(chelsea, 48)
    options = GatysOptions(steps=1, style_layers=("relu3_1",), content_layers=("relu2_1",), scales=(32, 48),
                           gram_transform=GramTransform(name="single", redraw="frame"))
    method = build_method(options, torch.device("cpu"), seed=1)
    method.transfer(prepare_style(method, [(style, 1.0)]), content, when=Clock(3, 1 / 24, 1).at(1))
    assert len(drawn) == 3 and len(set(drawn)) == 1, drawn


def test_coarse_scales_keep_the_detail_of_a_start_that_is_an_earlier_frame(chelsea):
    # the start was shrunk to the coarsest scale and blown up again: a self-style loop with no
    # transform blurred (mean gradient 24 -> 12 in three steps), where it is a fixed point
    x = start(chelsea, 64)
    frames = loop(build_method(GatysOptions(steps=5, scales=(32,)), CPU), x, steps=3)
    assert psnr(to_image(frames[3]), to_image(x)) >= 35


def test_zero_others_with_a_local_style_zeroes_the_pairs_of_factors(chelsea):
    x = start(chelsea, 48)
    kept = GramTransform(layers=("relu3_1",))
    local = dict(steps=3, representation="local", style_layers=("relu2_1", "relu3_1"), style_weight=100.0)
    plain = run(GatysOptions(**local, gram_transform=kept), x.flip(-1), x)
    zeroed = run(GatysOptions(**local, gram_transform=dataclasses.replace(kept, zero_others=True)), x.flip(-1), x)
    assert torch.isfinite(zeroed).all() and psnr(to_image(zeroed), to_image(plain)) < 50


def test_every_pass_of_a_frame_aims_at_the_target_the_first_drew_from_noise(chelsea, monkeypatch):
    # the first pass's noise start took numbers from the frame's generator before its targets did,
    # so a later pass (from the last output, no noise) drew another random target for the frame
    from animator.style import gram_transforms

    drawn = []
    random = gram_transforms.random_psd

    def spy(gram, rng):
        drawn.append(random(gram, rng))
        return drawn[-1]

    monkeypatch.setattr(gram_transforms, "random_psd", spy)
    x = start(chelsea, 48)
    options = GatysOptions(steps=1, init="noise", content_weight=0.0, style_layers=("relu2_1",),
                           gram_transform=GramTransform(name="random", redraw="frame"))
    method = build_method(options, CPU, seed=1)
    style = prepare_style(method, [(x, 1.0)])
    first = method.transfer(style, x, when=Clock(2, 1 / 24, 1).at(1))
    method.with_steps(1, refine=True).transfer(style, x, init=first, when=Clock(2, 1 / 24, 1).at(1))
    assert len(drawn) == 2 and torch.equal(drawn[0], drawn[1])


def test_redraw_never_draws_one_target_for_every_frame_frame_one_per_frame_and_step_one_per_step(chelsea, monkeypatch):
    from animator.style import gram_transforms

    drawn = []
    single = gram_transforms.single

    def spy(gram, rng, amplitude):
        out = single(gram, rng, amplitude)
        drawn.append(tuple(out.nonzero()[0].tolist()))
        return out

    monkeypatch.setattr(gram_transforms, "single", spy)
    content = start(chelsea, 32)
    for redraw in ("never", "frame", "step"):
        options = GatysOptions(steps=3, style_layers=("relu3_1",), content_layers=("relu2_1",),
                               gram_transform=GramTransform(name="single", redraw=redraw))
        method = build_method(options, CPU, seed=1)
        style = prepare_style(method, [(content, 1.0)])
        drawn.clear()
        for t in (1, 2):
            method.transfer(style, content, when=Clock(3, 1 / 24, 1).at(t))
        if redraw == "step":  # once to set the targets, then before each of the 3 steps
            assert len(drawn) == 8 and len(set(drawn)) == 8, drawn
        else:
            assert len(drawn) == 2 and (drawn[0] == drawn[1]) == (redraw == "never"), (redraw, drawn)


def test_a_style_mixed_with_itself_is_that_style(chelsea):
    x, style = start(chelsea, 32), start(chelsea, 32).flip(-1)
    method = build_method(GatysOptions(steps=3), CPU)
    alone = method.transfer(prepare_style(method, [(style, 1.0)]), x)
    assert torch.equal(method.transfer(prepare_style(method, [(style, 2.0), (style, 2.0)]), x), alone)


def test_a_start_from_the_style_is_from_the_heaviest_style_image(chelsea):
    from animator.media.image import read_image

    x = start(chelsea, 48)
    brick, hubble = (to_tensor(resize(read_image(SAMPLES / name), x.shape[-1], x.shape[-2]))
                     for name in ("brick.png", "hubble_deep_field.jpg"))
    method = build_method(GatysOptions(steps=1, init="style", optimizer="adam", lr=0.01), CPU)
    for heavy, light in ((hubble, brick), (brick, hubble)):
        out = method.transfer(prepare_style(method, [(light, 0.3), (heavy, 0.7)]), x)
        assert psnr(to_image(out), to_image(heavy)) > 35 and psnr(to_image(out), to_image(light)) < 20


def test_style_layer_weights_weigh_each_layers_term(chelsea):
    x, style = start(chelsea, 32), start(chelsea, 32).flip(-1)
    weighted = run(GatysOptions(steps=3, style_layers=("relu1_1", "relu3_1"), style_layer_weights=(2.0, 0.0)), style, x)
    assert torch.equal(weighted, run(GatysOptions(steps=3, style_layers=("relu1_1",), style_weight=2.0), style, x))


def autocast_features(network, image, layers, dtype):
    """What VGG19 gave the method before its convolutions were its own (nets/fused.py): torch's
    conv2d under autocast, over the network's float32 weights."""
    import torch.nn.functional as F

    x = image * network.scale + network.shift
    x, out = (x.flip(1) if network.bgr else x).contiguous(memory_format=torch.channels_last), {}
    with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
        for name in network.names[: max(network.names.index(layer) for layer in layers) + 1]:
            if name.startswith("conv"):
                x = F.conv2d(x, network.convs[name].weight, network.convs[name].bias, padding=1)
            else:
                x = F.relu(x) if name.startswith("relu") else network.pool(x, 2, 2)
            if name in layers:
                out[name] = x.float()
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_methods_features_and_gradients_are_torchs(chelsea, dtype):
    """The method's VGG19 convolves through oneDNN with its weights cast and laid out once, both
    ways (autocast cast them on every pass, and torch's backward laid them out on every call): the
    features and the gradient the picture gets are torch's (the same bits on the CPUs measured;
    another's kernels may sum in another order)."""
    from animator.nets import fused
    from animator.nets.vgg import load_vgg19

    layers = frozenset(("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1", "relu4_2"))
    method, reference = build_method(GatysOptions(), CPU, dtype), load_vgg19(CPU)
    assert all(conv.weight.dtype == dtype for conv in method.vgg.convs.values())
    for side in (48, 96):  # relu5_1's maps of 3x2 and 6x4 pixels: the smallest take other kernels
        ours, theirs = {}, {}
        for features, into in ((lambda x: method.features(x, layers), ours),
                               (lambda x: autocast_features(reference, x, layers, dtype), theirs)):
            x = start(chelsea, side).requires_grad_(True)
            found = features(x)
            sum(f.square().mean() for f in found.values()).backward()
            into.update(found, gradient=x.grad)
        for name, wanted in theirs.items():  # in bfloat16 a last bit's difference would pass on through the layers
            bound = (1e-5 if dtype == torch.float32 else 3e-2) * wanted.abs().max()
            assert (ours[name] - wanted).abs().max() <= bound, (side, name)
    if fused.X86 and fused.POINTWISE is not None and torch.backends.mkldnn.is_available():  # the gradients took the fused path
        assert all(len(conv.packed_back) > 1 for conv in method.vgg.convs.values())
