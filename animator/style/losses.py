"""Loss terms of the optimization method. Targets are computed once, under no_grad; a term turns
features into its representation and scores it against the target.

Normalization follows pastiche, so weights 1 and 1 balance: a content term is 0.01 x the mean
squared feature difference, a style term 10 / C^2 x the mean squared representation difference.
A temporal term (video) is TEMPORAL_SCALE x its weight x the masked mean squared difference from
an earlier output, in 0-255 pixel units as Ruder et al. 2016 count it. The total variation term
is TV_SCALE x `tv_weight` x the mean absolute step between neighbouring pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from animator.style import functional

CONTENT_SCALE = 0.01
# Against these style terms (10^5-10^6 through a video frame's 20 steps, 192 px) a squared pixel
# difference counted 1:1 was five orders too small to hold anything: a frame started from the
# content ended where the unheld one did, whatever the weight. At this scale a weight of 0.7 holds
# a frame's strokes where the earlier output had them (bench/temporal.py: chaplin's warping error
# 0.18x of the per-frame render's against 0.25x, with more detail and the same Gram distance).
TEMPORAL_SCALE = 3e5
# The total variation (mean absolute step between neighbours, in image units) counted 1:1 was six
# orders below the other terms: weights up to 1000 left the picture the same to the byte. At this
# scale a weight of 1 smooths a transfer visibly and 10 strongly (chelsea in the Hubble style, 128
# px, 60 steps: total variation 0.162 at 0, 0.143 at 1, 0.089 at 10).
TV_SCALE = 1e6


def represent(kind: str, features: torch.Tensor, window: int = 0) -> Any:
    if kind == "gram":
        return functional.gram(features)
    if kind == "spatial":
        return functional.autocorrelation(features)
    if kind == "local":
        return functional.local_factors(features, window)
    return features  # content


def distance(kind: str, representation: Any, target: Any) -> torch.Tensor:
    if kind == "local":
        return functional.local_distance(representation, target)
    return F.mse_loss(representation, target)


@dataclass
class Term:
    kind: str  # content | gram | spatial | local
    layer: str
    weight: float  # includes the normalization
    target: Any  # replaced in place when a transform is redrawn
    window: int = 0

    def __call__(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.weight * distance(self.kind, represent(self.kind, features[self.layer], self.window), self.target)


def total_variation(image: torch.Tensor) -> torch.Tensor:
    return (image[..., 1:] - image[..., :-1]).abs().mean() + (image[..., 1:, :] - image[..., :-1, :]).abs().mean()


@dataclass
class Objective:
    terms: list[Term]
    tv_weight: float = 0.0
    temporal: tuple[tuple[torch.Tensor, torch.Tensor, float], ...] = ()  # (warped earlier output, mask, weight) each

    @property
    def layers(self) -> frozenset[str]:
        return frozenset(term.layer for term in self.terms)

    def __call__(self, features: dict[str, torch.Tensor], image: torch.Tensor) -> torch.Tensor:
        loss = sum(term(features) for term in self.terms)
        if self.tv_weight:
            loss = loss + TV_SCALE * self.tv_weight * total_variation(image)
        for earlier, mask, weight in self.temporal:  # in 0-255 units, like the features' input
            loss = loss + TEMPORAL_SCALE * weight * (mask * ((image - earlier) * 255).square()).mean()
        return loss
