"""Frames too large to run whole are stylized in tiles that share the whole frame's norms."""

from __future__ import annotations

import av
import cv2
import numpy as np
import torch

from animator.media.frame import fitted, to_image, to_tensor
from animator.media.image import read_image
from animator.methods import build_method, prepare_style
from animator.metrics import psnr
from animator.nets import tiled as tiles
from animator.nets.tiled import TILE, stylize_tiled
from animator.preset.schema import ArbitraryOptions, MultistyleOptions, parse_builtin_style
from tests.conftest import MEDIA, SAMPLES

CPU = torch.device("cpu")


def bunny(width: int, height: int) -> torch.Tensor:
    with av.open(str(MEDIA / "big_buck_bunny_432_433.webm")) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    return to_tensor(cv2.resize(frame, (width, height), interpolation=cv2.INTER_CUBIC))


def seam_contrast(a: np.ndarray, b: np.ndarray, tile: int) -> float:
    """How much larger the tiled/untiled difference is on the tile boundaries than elsewhere."""
    diff = np.abs(a.astype(float) - b.astype(float)).mean(-1)
    rows, cols = np.arange(tile, diff.shape[0], tile), np.arange(tile, diff.shape[1], tile)
    on = np.concatenate([diff[np.r_[rows - 1, rows]].ravel(), diff[:, np.r_[cols - 1, cols]].ravel()])
    return on.mean() - diff.mean()


@torch.inference_mode()
def test_a_tiled_1080p_frame_is_the_whole_one_without_seams():
    method = build_method(ArbitraryOptions(), CPU)
    target = prepare_style(method, [(fitted(read_image(SAMPLES / "hubble_deep_field.jpg"), 256), 1.0)])
    x = bunny(1920, 1080)
    whole = to_image(method.net.stylize(x, target))
    tiled = to_image(stylize_tiled(method.net, x, target))
    assert psnr(whole, tiled) > 40
    assert seam_contrast(whole, tiled, TILE) < 0.1  # /255: no line where the tiles meet


@torch.inference_mode()
def test_tiles_with_every_kind_of_layer_match_the_whole_frame():
    net = build_method(MultistyleOptions(style=parse_builtin_style(7)), CPU).net  # norms in every layer
    x = bunny(200, 136)  # tiles of 48 px: edges, strides and upsampling all cut through tiles
    conditions = net.condition(torch.tensor(parse_builtin_style(7)))
    whole, tiled = to_image(net.stylize(x, conditions)), to_image(stylize_tiled(net, x, conditions, tile=48))
    assert psnr(whole, tiled) > 40 and seam_contrast(whole, tiled, 48) < 0.1


@torch.inference_mode()
def test_no_tile_is_narrow_enough_to_break_a_bfloat16_strided_convolution():
    # 196 px wide: the second strided layer's output is 49 wide, one past a whole tile of 48, and
    # oneDNN's bfloat16 strided convolution computes an input 3 or 4 pixels wide wrong (at 10 dB; on
    # the AMX Xeon it was found on: a CPU without bfloat16 of its own may compute it right either way)
    net = build_method(MultistyleOptions(style=parse_builtin_style(7)), CPU).net.to(torch.bfloat16)
    conditions = net.condition(torch.tensor(parse_builtin_style(7)).bfloat16())
    x = bunny(196, 136).bfloat16().contiguous(memory_format=torch.channels_last)
    whole, tiled = (to_image(y.float()) for y in (net.stylize(x, conditions), stylize_tiled(net, x, conditions, tile=48)))
    assert psnr(whole, tiled) > 40


@torch.inference_mode()
def test_a_video_frame_too_large_to_run_whole_is_encoded_and_decoded_in_tiles(monkeypatch):
    # video's `features` mode (the default) runs the network in its two halves: each goes through
    # tiles as the whole network does, or a frame past MAX_WHOLE_PIXELS ran whole there
    method = build_method(MultistyleOptions(style=parse_builtin_style(7)), CPU)
    conditions = method.net.condition(torch.tensor(parse_builtin_style(7)))
    x = bunny(200, 136)
    whole = to_image(method.decode(conditions, method.encode(conditions, x), x))
    calls = []
    encode_tiled, decode_tiled = tiles.encode_tiled, tiles.decode_tiled
    monkeypatch.setattr(tiles, "MAX_WHOLE_PIXELS", 100 * 100)
    monkeypatch.setattr(tiles, "encode_tiled", lambda *a: calls.append("encode") or encode_tiled(*a, tile=48))
    monkeypatch.setattr(tiles, "decode_tiled", lambda *a: calls.append("decode") or decode_tiled(*a, tile=48))
    tiled = to_image(method.decode(conditions, method.encode(conditions, x), x))
    assert calls == ["encode", "decode"]
    assert psnr(whole, tiled) > 40 and seam_contrast(whole, tiled, 48) < 0.1
