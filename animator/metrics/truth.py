"""The project's pan (media/synthetic.py) judged by its truth: the warping error by the clip's
exact motion, and how near the per-frame render the background a crossing patch uncovers is
painted. For the consistency's bench and tests; the clip is the project's own, so nothing here
measures a user's footage."""

from __future__ import annotations

import cv2
import numpy as np

from animator.media.synthetic import pan_scene


def uncovered_psnr(outputs: list[np.ndarray], references: list[np.ndarray]) -> tuple[float, float, float]:
    """PSNR against the per-frame render over the background the pan's patch has just uncovered,
    over its trail (what it uncovered in the last synthetic.TRAIL frames, where a ghost is held),
    and over the rest of the frames that have a band."""
    scene = pan_scene()
    sums = np.zeros((3, 2))  # (band, trail, rest) x (squared error, values)
    for t, band, trail in zip(range(len(outputs)), scene.uncovered, scene.trail):
        if band is None or not band.any():
            continue
        band, trail = (cv2.resize(m.astype(np.uint8), outputs[t].shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
                       for m in (band, trail))
        error = np.square(outputs[t].astype(np.float64) - references[t].astype(np.float64)).sum(-1)
        sums += [[error[m].sum(), m.sum() * 3] for m in (band, trail, ~band)]
    return tuple(float(10 * np.log10(255 ** 2 / (e / n))) for e, n in sums)


def true_warping_error(outputs: list[np.ndarray], lag: int = 1) -> float:
    """The pan's warping error judged by its true motion: the mean squared difference between
    output t and output t-lag carried onto it by the clip's exact flow, where the truth says that
    holds. An estimated flow is a judge that shares the errors of a render warped by the same flow
    (the render follows DIS's mistakes and DIS, judging, makes them again), and the moving
    average, warped by nothing, gets no such credit. At the clip's own size (`--size 320`) the
    motion is whole pixels and the judge exact; at other sizes its bilinear resampling of the
    sub-pixel motion adds to every sharp render's figure."""
    import torch

    from animator.media.frame import to_tensor
    from animator.motion.warp import warp

    scene, errors = pan_scene(), []
    (h, w), (sh, sw) = outputs[0].shape[:2], scene.frames[0].shape[:2]
    scale = np.array([w / sw, h / sh], np.float32)
    resized = lambda x: cv2.resize(x, (w, h), interpolation=cv2.INTER_NEAREST)  # noqa: E731
    ys, xs = np.mgrid[0:sh, 0:sw]
    for t in range(lag, len(outputs)):
        flow, held = np.zeros((sh, sw, 2), np.float32), np.ones((sh, sw), bool)  # frame t back to frame t - lag
        for step in range(t, t - lag, -1):  # whole pixels at the clip's size: composed exactly
            x, y = (np.clip(np.rint(c + f), 0, n - 1).astype(int) for c, f, n in ((xs, flow[..., 0], sw), (ys, flow[..., 1], sh)))
            flow, held = flow + scene.backward[step][y, x], held & scene.valid[step][y, x]
        carried = warp(to_tensor(outputs[t - lag]), torch.from_numpy(resized(flow * scale).transpose(2, 0, 1).copy())[None])
        squared = (carried - to_tensor(outputs[t])).square().sum(1)[0].numpy()
        errors.append(squared[resized(held.astype(np.uint8)) > 0].mean())
    return float(np.mean(errors))
