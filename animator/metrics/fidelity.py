"""How much of its per-frame stylization a temporally consistent video keeps: detail (gradient
energy), style (VGG19 Gram distance to a style) and a perceptual distance (VGG19 features), so a
consistency gain is never read without what it cost. Images are 1x3xHxW in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from animator.media.frame import MIN_SIDE
from animator.nets.vgg import load_vgg19
from animator.nets.vgg_layers import CHANNELS_AT
from animator.preset.schema import GatysOptions
from animator.style.functional import gram

STYLE_LAYERS = GatysOptions().style_layers  # the optimization method's, where "style" is defined
PERCEPTUAL_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")  # LPIPS's VGG taps
SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8


def gradient_energy(image: torch.Tensor) -> float:
    """Mean Sobel gradient magnitude over pixels and channels: blur lowers it."""
    kernels = torch.stack([SOBEL_X, SOBEL_X.T])[:, None].repeat(3, 1, 1, 1).to(image)
    gradients = F.conv2d(F.pad(image, (1, 1, 1, 1), mode="replicate"), kernels, groups=3)
    return float(gradients.unflatten(1, (3, 2)).square().sum(2).sqrt().mean())


class GramDistance:
    """The optimization method's style loss (10 / C^2 x the mean squared Gram difference, summed
    over its style layers) of a stream of frames, averaged over the frames, to any target that
    may be known only at the end: mean ||G_t - T||^2 is mean ||G_t||^2 - 2 <mean G_t, T> + ||T||^2,
    so a running sum of the Grams and of their squared norms is all that is kept."""

    def __init__(self):
        self.count, self.sums, self.squares = 0, {}, {}

    def add(self, features: dict[str, torch.Tensor]) -> None:
        self.count += 1
        for layer in STYLE_LAYERS:
            g = gram(features[layer])[0].double()  # summed in float32 (blocked), accumulated in float64
            self.sums[layer] = self.sums.get(layer, 0) + g
            self.squares[layer] = self.squares.get(layer, 0) + float(g.square().sum())

    def mean_gram(self) -> dict[str, torch.Tensor]:
        return {layer: total / self.count for layer, total in self.sums.items()}

    def distance(self, target: dict[str, torch.Tensor]) -> float:
        total = 0.0
        for layer in STYLE_LAYERS:
            t = target[layer].to(self.sums[layer])
            scale = self.squares[layer] / self.count + float(t.square().sum())
            mean_square = scale - 2 * float((self.sums[layer] / self.count * t).sum())
            if mean_square <= 1e-12 * scale:  # what is left of a difference of 0 after cancelling (6e-10 seen)
                mean_square = 0.0
            total += 10 / CHANNELS_AT[layer] ** 2 * mean_square / CHANNELS_AT[layer] ** 2
        return total


def perceptual_distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """LPIPS without its learned weights (Zhang et al. 2018, the 'baseline' VGG variant): at each
    tap, every pixel's feature vector unit-normalized, the squared difference summed over the
    channels and averaged over the pixels; then averaged over the taps. 0 for the same image."""
    distances = [(F.normalize(a[layer], dim=1, eps=1e-10) - F.normalize(b[layer], dim=1, eps=1e-10)).square().sum(1).mean()
                 for layer in PERCEPTUAL_LAYERS]
    return float(torch.stack(distances).mean())


class Judge:
    """VGG19 features of the style and perceptual taps, in one pass per frame."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.vgg = load_vgg19(device, last="relu5_3")
        self.device = device

    @torch.inference_mode()
    def features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        h, w = image.shape[-2:]
        if min(h, w) < MIN_SIDE:  # VGG19's four poolings need 16 px: a thinner picture is stretched to it, as a render's is
            image = F.interpolate(image, size=(max(h, MIN_SIDE), max(w, MIN_SIDE)), mode="bilinear", align_corners=False)
        return self.vgg(image.to(self.device), frozenset(STYLE_LAYERS + PERCEPTUAL_LAYERS))

    @torch.inference_mode()
    def style_target(self, style: torch.Tensor) -> dict[str, torch.Tensor]:
        """The Gram targets of a style image seen at its own size, as the optimization method
        sees it."""
        features = self.features(style)
        return {layer: gram(features[layer])[0].double() for layer in STYLE_LAYERS}
