"""Temporal consistency, both sides: every mode at several weights on real and made motion, as
ratios against the per-frame render of the same clip (warping error at t-1 and t-10, gradient
energy, Gram distance to the style, perceptual distance) and ms a frame, beside the flow-free
moving average of the per-frame render at the same weight; each with and without the key
(`temporal.long_term`) and with any other temporal settings asked for (`--settings`). On the
project's pan, also how well the background a moving patch uncovers matches the per-frame render
there, and the trail it uncovered over the last ten frames, beside how well the rest of the picture
does (PSNR: a ghost shows as a band and a trail far worse than the rest), and the warping error judged by the clip's exact motion instead of a flow (exact at
`--size 320`, the clip's own size), and, with `--truth`, the same with the pan's true flow and
occlusions in place of the estimated ones: what the consistency itself does where the flow is
perfect.
Frames are rendered in memory (no encoding) at 384 px; `gatys` (asked for by name, its temporal
loss its one mode) as presets/pan-gatys.yaml has it, best at `--size 192`; its Gram distance also
to the style fitted to the render's size, the style it is asked to match. Writes bench/results/temporal.json and
bench/figures/temporal-crop.jpg (one chaplin frame: per frame, blend, features, features with the key; 0.7),
and with `--settings "" pan_lock=false` bench/figures/pan-lock-crop.jpg (one frame of the pan: per frame,
the default unlocked and locked).

    python bench/temporal.py [--clips pan chaplin bunny chaplin-later FILE[:START[:DURATION]]]
                             [--methods arbitrary multistyle gatys] [--long-term 0 0.9] [--modes blend features]
                             [--weights 0.5 0.7 0.85] [--size 384] [--precision auto]
                             [--settings "" flow_preset=fast flow_check=boundaries] [--truth] [--farneback]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml

from animator.metrics.truth import true_warping_error, uncovered_psnr

ROOT = Path(__file__).resolve().parent.parent
STYLE = ROOT / "samples" / "hubble_deep_field.jpg"
CHAPLIN, BUNNY = ROOT / "tests" / "data" / "chaplin.mp4", ROOT / "tests" / "data" / "big_buck_bunny_432_433.webm"
# (file, start, duration in seconds); chaplin-later is the rest of the film after the first 4 s,
# footage that no setting was chosen on (asked for by name: not in the default list)
CLIPS = {"pan": (ROOT / "samples" / "pan.mp4", 0.0, None), "chaplin": (CHAPLIN, 0.0, 4.0), "bunny": (BUNNY, 0.0, None),
         "chaplin-later": (CHAPLIN, 4.0, None)}
DEFAULT_CLIPS = ["pan", "chaplin", "bunny"]
FRAME = 60  # the chaplin frame the crop shows
METHODS = {"arbitrary": {"method": "arbitrary", "style": str(STYLE)}, "multistyle": {"method": {"name": "multistyle", "style": 7}},
           "gatys": {"method": {"name": "gatys", "steps": 20, "style_weight": 3}, "style": str(STYLE)}}  # as presets/pan-gatys.yaml
DEFAULT_METHODS = ["arbitrary", "multistyle"]  # gatys asked for by name (at --size 192: ~2.5 s a frame on 2 cores)


CROPPED = {"blend 0.7": "blend", "features 0.7": "features", "features 0.7 key 0.9": "features, key"}  # the crop's panels
# the pan's crop (its frame PAN_FRAME): the default unlocked and locked to the lattice, beside the per-frame render
PAN_CROPPED, PAN_FRAME, PAN_BOX = {"features 0.7 key 0.9 pan_lock=false": "unlocked", "features 0.7 key 0.9": "locked"}, 40, (96, 16, 160, 160)


def clip_span(clip: str) -> tuple[Path, float, float | None]:
    """A named clip, or footage of one's own: `FILE`, `FILE:START` or `FILE:START:DURATION` (seconds)."""
    if clip in CLIPS:
        return CLIPS[clip]
    path, *span = clip.split(":")
    if not Path(path).is_file() or len(span) > 2:
        raise SystemExit(f"--clips: {clip}: neither {', '.join(CLIPS)} nor FILE[:START[:DURATION]]")
    start, duration = [float(value) for value in span] + [0.0, None][len(span):]
    return Path(path), start, duration


def variant(mode: str, weight: float, key: float, settings: str = "") -> str:
    return f"{mode} {weight:g}" + (f" key {key:g}" if key else "") + (f" {settings}" if settings else "")


def parse_settings(settings: str) -> dict:
    """`flow_preset=fast,flow_scale=0.5` -> more temporal settings ("" -> none)."""
    pairs = (item.split("=") for item in settings.split(",") if item)
    return {key: yaml.safe_load(value) for key, value in pairs}  # as a preset would read it: 0.5 a number


def render(clip: str, method: str, size: int, temporal: dict, precision: str = "auto") -> tuple[list[np.ndarray], float]:
    """The clip's frames rendered in memory, and ms a frame (decoding, flow and network)."""
    from animator.media.frame import to_image
    from animator.preset import preset_from_dict
    from animator.render.engine import load

    path, start, duration = clip_span(clip)
    raw = {"name": "t", "mode": "video", "input": str(path), "size": size, "precision": precision, **METHODS[method],
           "video": {"start": start, "duration": duration, "temporal": temporal}}
    loaded = load(preset_from_dict(raw, ROOT))
    began = time.perf_counter()
    frames = [to_image(image) for _, image, _ in loaded.renderer.frames()]
    return frames, 1000 * (time.perf_counter() - began) / len(frames)


def render_truth(method: str, size: int, temporal: dict) -> tuple[list[np.ndarray], float]:
    """The pan rendered as `render` does, with its true motion (flow and occlusions, brought to the
    render size) in place of the estimated one; not locked to the lattice (motion/lock.py), which
    reads the render's own flow."""
    import cv2
    import torch

    from animator.media.frame import fit_size, resize, to_image, to_tensor
    from animator.media.source import VideoSource
    from animator.media.synthetic import pan_scene
    from animator.preset import preset_from_dict
    from animator.preset.resolve import temporal_settings
    from animator.render.consistency import consistency
    from animator.render.engine import load

    raw = {"name": "t", "mode": "video", "input": str(CLIPS["pan"][0]), "size": size, **METHODS[method],
           "video": {"temporal": temporal}}
    loaded = load(preset_from_dict(raw, ROOT)).loaded
    keeper, scene, frames = consistency(loaded.method, temporal_settings(loaded.preset)), pan_scene(), []
    start = time.perf_counter()
    for frame in VideoSource(CLIPS["pan"][0]):
        image = resize(frame.image, *fit_size(frame.image.shape[1], frame.image.shape[0], size))
        (h, w), motion = image.shape[:2], None
        scale = np.array([w / scene.frames[0].shape[1], h / scene.frames[0].shape[0]], np.float32)  # to the render's pixels
        if scene.backward[frame.index] is not None:
            flow = cv2.resize(scene.backward[frame.index], (w, h), interpolation=cv2.INTER_NEAREST) * scale
            valid = cv2.resize(scene.valid[frame.index].astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
            motion = (torch.from_numpy(flow.transpose(2, 0, 1).copy())[None].to(loaded.device),
                      torch.from_numpy(valid)[None, None].to(loaded.device))
        x, when = to_tensor(image, loaded.device), loaded.clock.at(frame.index)
        target = loaded.styles.at(x, when)
        frames.append(to_image(keeper.next(keeper.paint(target, x), target, x, motion, when)))
    return frames, 1000 * (time.perf_counter() - start) / len(frames)


LAGS = (1, 10)  # the true motion's judge at t-1 and t-10, as the flow's


def judged_by_truth(outputs: list[np.ndarray], reference: dict[int, float]) -> dict[str, float]:
    """The pan's warping errors judged by its true motion, as ratios to the per-frame render's."""
    return {name: true_warping_error(outputs, lag) / reference[lag]
            for name, lag in zip(("true_warping_error", "true_long_term_error"), LAGS)}


def moving_average(frames: list[np.ndarray], weight: float) -> list[np.ndarray]:
    from animator.media.frame import to_image, to_tensor
    from animator.metrics.video import MovingAverage

    average = MovingAverage(weight)
    return [to_image(average(to_tensor(frame))) for frame in frames]


def crop(frames: dict[str, np.ndarray], path: Path, box=(40, 70, 200, 200)) -> None:
    """The same crop of one frame from each render, side by side, labelled."""
    import cv2

    x, y, w, h = box
    tiles = []
    for label, frame in frames.items():
        tile = cv2.resize(np.ascontiguousarray(frame[y:y + h, x:x + w]), (2 * w, 2 * h), interpolation=cv2.INTER_NEAREST)
        cv2.putText(tile, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
        tiles.append(tile)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.hstack(tiles), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", default=DEFAULT_CLIPS, help=f"{', '.join(CLIPS)}, or FILE[:START[:DURATION]]")
    parser.add_argument("--methods", nargs="+", default=DEFAULT_METHODS, choices=list(METHODS))
    parser.add_argument("--modes", nargs="+", default=["blend", "features"])
    parser.add_argument("--weights", nargs="+", type=float, default=[0.5, 0.7, 0.85])
    parser.add_argument("--long-term", nargs="+", type=float, default=[0.0, 0.9], help="key weights (temporal.long_term)")
    parser.add_argument("--settings", nargs="+", default=[""], help='more temporal settings per variant, "" for none: '
                        '"" flow_preset=fast flow_scale=0.5,flow_check=boundaries')
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16"])
    parser.add_argument("--truth", action="store_true", help="the pan also with its true flow and occlusions")
    parser.add_argument("--farneback", action="store_true", help="the warping error also judged by Farneback's flow, which "
                        "does not share the mistakes of DIS, the flow the renders warp by")
    args = parser.parse_args()

    from animator.device import configure_process
    from animator.media.frame import fitted, to_tensor
    from animator.media.source import VideoSource
    from animator.media.image import read_image
    from animator.metrics.clip import measure_clips
    from animator.metrics.fidelity import Judge
    from animator.metrics.video import warping_error
    from report import save  # bench/ is the script's folder, first on sys.path

    configure_process()
    judge, results = Judge(), {}
    for clip in args.clips:
        sources = [f.image for f in VideoSource(*clip_span(clip))]
        for method in args.methods:
            reference, reference_ms = render(clip, method, args.size, {"flow": "none"}, args.precision)
            style = to_tensor(read_image(STYLE)) if "style" in METHODS[method] else None
            modes = args.modes if method != "gatys" else ["loss"]  # gatys has one way: Ruder's temporal loss
            rows = results.setdefault(clip, {}).setdefault(method, {"per-frame ms": reference_ms})
            shown = {"per frame": reference[FRAME]} if (clip, method) == ("chaplin", "arbitrary") else {}
            pan_shown = {"per frame": reference[PAN_FRAME]} if (clip, method) == ("pan", "arbitrary") else {}
            renders, times = {}, {}
            for mode in modes:
                for weight in args.weights:
                    for key in args.long_term:
                        for settings in args.settings:
                            temporal = {"weight": weight, "long_term": key, **parse_settings(settings)}
                            temporal.update({"mode": mode} if mode != "loss" else {})
                            name = variant(mode, weight, key, settings)
                            renders[name], times[name] = render(clip, method, args.size, temporal, args.precision)
                            if args.truth and clip == "pan" and method != "gatys":  # a network's consistency
                                renders[f"{name} truth"], times[f"{name} truth"] = render_truth(method, args.size, temporal)
            measured = {}  # each weight's variants beside the moving average at that weight
            for weight in args.weights:
                names = [name + truth for mode in modes for key in args.long_term for settings in args.settings
                         for truth in ("", " truth") if (name := variant(mode, weight, key, settings)) + truth in renders]
                measured.update(measure_clips({name: renders[name] for name in names}, sources, reference, style,
                                              weight=weight, every=3, judge=judge))
                if method == "gatys":  # also against the style it matches: fitted to the render's size
                    sized = measure_clips({name: renders[name] for name in names}, sources, reference,
                                          fitted(read_image(STYLE), args.size), weight=weight, every=3, judge=judge)
                    for name, figures in sized.items():
                        measured[name]["relative"]["gram_distance_at_size"] = figures["relative"]["gram_distance"]
                        measured[name]["relative"]["moving_average_gram_distance_at_size"] = figures["relative"]["moving_average_gram_distance"]
            farneback = lambda frames: warping_error(frames, sources, "farneback")["warping_error"]  # noqa: E731
            farneback_reference = farneback(reference) if args.farneback else None
            if clip == "pan":  # the flow-free baseline, judged by the true motion too
                by_truth = {lag: true_warping_error(reference, lag) for lag in LAGS}  # the per-frame render's
                # The network's painting of each frame where the pan lock places it, nothing kept: it
                # differs from the per-frame render by the strokes of another place on the lattice,
                # so against it a ghost's trail shows apart from that difference. (Its band, as every
                # locked render's, is painted as the per-frame render paints it: render/band.py.)
                placed = None  # (gatys is not locked)
                if method != "gatys":
                    placed, _ = render(clip, method, args.size, {"weight": 0, "output_weight": 0, "long_term": 0}, args.precision)
                    print(f"{clip:8s} {method:10s} per frame, placed by the pan lock: uncovered %.1f dB, its trail %.1f "
                          "(elsewhere %.1f)" % uncovered_psnr(placed, reference), flush=True)
                for weight in args.weights:
                    row = rows[f"moving average {weight:g}"] = judged_by_truth(moving_average(reference, weight), by_truth)
                    print(f"{clip:8s} {method:10s} moving average {weight:g}: judged by the true motion "
                          f"{row['true_warping_error']:.3f}x (t-10 {row['true_long_term_error']:.3f}x)", flush=True)
            for name, outputs in renders.items():
                figures, ms = measured[name], times[name]
                row = {**figures["relative"], "perceptual_distance": figures["perceptual_distance"], "ms": ms}
                if args.farneback:
                    row["farneback_warping_error"] = farneback(outputs) / farneback_reference
                if clip == "pan":
                    row["uncovered_psnr"], row["trail_psnr"], row["elsewhere_psnr"] = uncovered_psnr(outputs, reference)
                    row["trail_psnr_placed"] = uncovered_psnr(outputs, placed)[1] if placed is not None else float("nan")
                    row.update(judged_by_truth(outputs, by_truth))
                if clip == "chaplin" and method == "arbitrary" and name in CROPPED:
                    shown[CROPPED[name]] = outputs[FRAME]
                if pan_shown and name in PAN_CROPPED:
                    pan_shown[PAN_CROPPED[name]] = outputs[PAN_FRAME]
                rows[name] = row
                print(f"{clip:8s} {method:10s} {name:18s}  warping error {row['warping_error']:.3f}x "
                      f"(t-10 {row['long_term_error']:.3f}x)  gradient energy {row['gradient_energy']:.3f}  Gram "
                      f"{row.get('gram_distance', float('nan')):.3f}x  perceptual {row['perceptual_distance']:.3f}  "
                      f"{ms:.0f} ms (per frame {reference_ms:.0f})  moving average: {row['moving_average_warping_error']:.3f}x "
                      f"/ {row['moving_average_gradient_energy']:.3f} / {row.get('moving_average_gram_distance', float('nan')):.3f}x"
                      + (f"  Gram at the render's size {row['gram_distance_at_size']:.3f}x (moving average "
                         f"{row['moving_average_gram_distance_at_size']:.3f}x)" if "gram_distance_at_size" in row else "")
                      + (f"  uncovered {row['uncovered_psnr']:.1f} dB, its trail {row['trail_psnr']:.1f} "
                         f"(elsewhere {row['elsewhere_psnr']:.1f}; the trail against the painting placed so "
                         f"{row['trail_psnr_placed']:.1f})"
                         f"  judged by the true motion {row['true_warping_error']:.3f}x (t-10 {row['true_long_term_error']:.3f}x)"
                         if "uncovered_psnr" in row else "")
                      + (f"  judged by Farneback {row['farneback_warping_error']:.3f}x" if args.farneback else ""), flush=True)
            if len(shown) == len(CROPPED) + 1:  # every panel the README's figure shows, or leave it as it is
                crop(shown, ROOT / "bench" / "figures" / "temporal-crop.jpg")
            if len(pan_shown) == len(PAN_CROPPED) + 1:
                panels = ["per frame", *PAN_CROPPED.values()]  # in that order, whichever was rendered first
                crop({label: pan_shown[label] for label in panels}, ROOT / "bench" / "figures" / "pan-lock-crop.jpg", PAN_BOX)
    save("temporal", {"size": args.size, "clips": results})


if __name__ == "__main__":
    main()
