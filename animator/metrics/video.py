"""How consistent a stylized video is over time, against its source's motion."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def warping_error(outputs: Iterable[np.ndarray], sources: Iterable[np.ndarray], flow: str = "dis") -> dict[str, float]:
    """Temporal consistency of a stylized clip (Lai et al. 2018): the mean over t of the squared
    difference between output t and output t-1 warped by the *source's* flow, on the pixels the
    consistency check keeps (images in [0, 1]); and a flicker figure, the mean absolute warped
    difference in /255 units; `per_frame` holds the error of frames 1, 2, ... Streams both clips;
    sources are resized to the outputs' size."""
    from animator.media.frame import resize, to_tensor
    from animator.motion.flow import make_backend, pair_flows
    from animator.motion.warp import consistency_mask, warp

    backend = make_backend(flow)
    errors, flicker, previous = [], [], None
    for output, source in zip(outputs, sources):
        source = resize(source, output.shape[1], output.shape[0])
        if previous is not None:
            backward, forward = pair_flows(backend, previous[1], source)
            mask = consistency_mask(backward, forward)
            difference = (to_tensor(output) - warp(to_tensor(previous[0]), backward)) * mask
            kept = mask.sum().clamp_min(1) * 3
            errors.append(float(difference.square().sum() / kept))
            flicker.append(float(difference.abs().sum() / kept * 255))
        previous = (output, source)
    if not errors:
        raise ValueError("warping error needs at least two frames")
    return {"warping_error": float(np.mean(errors)), "flicker": float(np.mean(flicker)), "frames": len(errors) + 1,
            "per_frame": errors}
