"""The networks' convolutions through oneDNN with their weights laid out once (nets/fused.py):
the same pictures and style vectors as torch's own conv2d, on real images."""

from __future__ import annotations

import pytest
import torch

from animator.media.frame import fitted
from animator.media.image import read_image
from animator.methods.feedforward import center_square
from animator.nets import arbitrary, fused, multistyle
from tests.conftest import SAMPLES

pytestmark = pytest.mark.skipif(not fused.X86 or fused.POINTWISE is None or not torch.backends.mkldnn.is_available(),
                                reason="the fused oneDNN convolution is taken on x86-64 CPUs with it")


def photo(name: str, side: int) -> torch.Tensor:
    return fitted(read_image(SAMPLES / name), side, "cpu")


def stores(module: torch.nn.Module) -> list[dict]:
    return [layer.packed for layer in module.modules() if hasattr(layer, "packed")]


def test_the_style_predictor_gives_torchs_vector():
    predictor = arbitrary.load_predictor("cpu")
    squares = [center_square(photo(name, 384), 256) for name in ("coffee.png", "chelsea.png")]
    with torch.enable_grad():  # torch's conv2d: the layers take the fused path only without gradients
        expected = [predictor(square) for square in squares]
    assert not any(stores(predictor))
    with torch.inference_mode():
        vectors = [predictor(square) for square in squares]
    assert all(len(store) == 1 for store in stores(predictor)[:-1])  # the last, on a 1x1 input, is torch's
    assert not stores(predictor)[-1]
    for vector, wanted in zip(vectors, expected):
        assert torch.allclose(vector, wanted, rtol=1e-5, atol=1e-5), (vector - wanted).abs().max()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("which", ["arbitrary", "multistyle"])
def test_the_networks_paint_torchs_picture(which, dtype):
    net = (arbitrary.load_transformer("cpu") if which == "arbitrary" else multistyle.load_multistyle("cpu")).to(dtype)
    style = torch.linspace(-1, 1, 100) if which == "arbitrary" else torch.full((26,), 1 / 26)
    content = photo("chelsea.png", 160).to(dtype)
    with torch.inference_mode():
        target = net.condition(style.to(dtype))
        painted = net.stylize(content, target).float()
    with torch.enable_grad():
        expected = net.stylize(content, target).float()
    assert any(stores(net))
    # The same to the bit on the CPUs measured; another CPU's kernels may sum in another order, and
    # in bfloat16 a last bit's difference in one layer reaches the picture through the next ones.
    difference = (painted - expected).abs()
    most, mean = (1e-4, 1e-6) if dtype == torch.float32 else (0.05, 1e-3)
    assert difference.max() <= most and difference.mean() <= mean, (difference.max(), difference.mean())


def test_a_layers_store_holds_a_few_shapes_at_most():
    layer = arbitrary.load_predictor("cpu").features[0]
    with torch.inference_mode():
        for side in range(40, 64, 2):  # a dozen sizes, more than a store keeps
            layer(photo("coffee.png", side))
    assert 1 <= len(layer.packed) <= 8


def test_a_network_moved_to_another_precision_and_back_lays_out_its_new_weights():
    net = arbitrary.load_transformer("cpu")
    content, style = photo("chelsea.png", 96), torch.linspace(-1, 1, 100)
    with torch.inference_mode():
        net.stylize(content, net.condition(style))  # float32's weights laid out
        net.to(torch.bfloat16).to(torch.float32)  # new float32 weights, rounded to bfloat16's
        painted = net.stylize(content, net.condition(style))
    with torch.enable_grad():
        expected = net.stylize(content, net.condition(style))
    assert torch.allclose(painted, expected, atol=1e-4), (painted - expected).abs().max()  # stale: 6e-3


def test_a_torch_whose_operator_takes_other_arguments_gets_torchs_conv2d(monkeypatch):
    class Changed:
        def default(self, *arguments):
            raise RuntimeError("_convolution_pointwise() expected at most 9 arguments")

    monkeypatch.setattr(fused, "POINTWISE", Changed())
    predictor = arbitrary.load_predictor("cpu")
    square = center_square(photo("chelsea.png", 256), 256)
    with torch.enable_grad():
        expected = predictor(square)
    with torch.inference_mode():
        vector = predictor(square)
    assert torch.equal(vector, expected) and fused.POINTWISE is None


def vgg_gradient(vgg, image: torch.Tensor) -> torch.Tensor:
    x = image.clone().requires_grad_(True)
    sum(f.square().mean() for f in vgg(x, frozenset(("relu2_1", "relu3_1"))).values()).backward()
    return x.grad


def test_vgg19_moved_to_another_precision_and_back_flips_its_new_weights():
    from animator.nets.vgg import load_vgg19

    vgg, image = load_vgg19("cpu", last="relu3_1"), photo("chelsea.png", 64)
    vgg_gradient(vgg, image)  # float32's weights flipped and laid out
    vgg.to(torch.bfloat16).to(torch.float32)  # new float32 weights, rounded to bfloat16's
    fresh = load_vgg19("cpu", last="relu3_1").to(torch.bfloat16).to(torch.float32)
    assert torch.allclose(vgg_gradient(vgg, image), vgg_gradient(fresh, image), rtol=1e-5, atol=1e-7)


def test_a_frozen_convolutions_gradient_without_the_fused_operator_is_torchs(monkeypatch):
    import torch.nn.functional as F

    monkeypatch.setattr(fused, "POINTWISE", None)
    x, weight, bias = torch.rand(1, 3, 20, 24), torch.randn(5, 3, 3, 3), torch.randn(5)
    mine, theirs = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    fused.frozen_conv2d(mine, weight, bias, 1, {}, {}).square().sum().backward()
    F.conv2d(theirs, weight, bias, padding=1).square().sum().backward()
    assert torch.allclose(mine.grad, theirs.grad, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="changes the size"):
        fused.frozen_conv2d(mine, weight, bias, 0, {}, {})
