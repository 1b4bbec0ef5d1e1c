"""Building blocks shared by the feed-forward networks."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from animator.device import has_amx
from animator.nets import fused
from animator.nets.fft_conv import fft_conv2d, kernel_spectrum


def tensor(array: np.ndarray | None) -> torch.Tensor | None:
    return None if array is None else torch.from_numpy(np.array(array, dtype=np.float32))


class ReflectConv(nn.Module):
    """Reflect-pad by k // 2, then convolve: the 'same' padding of the Magenta networks.

    A 9x9 layer with at most 4 output channels (the networks' last) goes through the FFT in
    float32 on the CPU: 11 ms against oneDNN's 18 for multistyle's at 640x360, 18 against 34 for
    arbitrary's, on one core (see fft_conv.py); wider layers are faster direct. In a bfloat16
    network too: 8 ms against bfloat16's direct 11 for multistyle's, 13 against 21 for arbitrary's
    (AMD EPYC with AVX-512 bfloat16). Not in bfloat16 on a CPU with AMX, whose tiles make the
    direct convolution the faster: 14 ms against 17 for a whole `arbitrary` frame at 640x360 on
    two cores, 16 against 28 for `multistyle`'s (a 2-core Xeon)."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray | None = None, stride: int = 1):
        super().__init__()
        self.weight = nn.Parameter(tensor(weight), requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(tensor(bias), requires_grad=False)
        self.stride = stride
        self.pad = weight.shape[-1] // 2
        self.by_fft = stride == 1 and weight.shape[-1] >= 9 and weight.shape[0] <= 4
        self.spectra: dict = {}  # the frozen weights' spectrum, per device
        self.packed: dict = {}  # the weights in oneDNN's layout (fused.py)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (self.pad,) * 4, mode="reflect")
        if self.by_fft and x.device.type == "cpu" and not (x.dtype == torch.bfloat16 and has_amx()):
            return fft_conv2d(x.float(), self.spectrum(), self.weight.shape[-1], self.bias).to(x.dtype)
        return fused.conv2d(x, self.weight, self.bias, self.stride, 0, 1, False, self.packed)

    def spectrum(self) -> torch.Tensor:
        device = self.weight.device
        if device not in self.spectra:
            self.spectra[device] = kernel_spectrum(self.weight.detach())
        return self.spectra[device]


def upsample2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def instance_normalize(x: torch.Tensor, eps: float, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """(x - mean) / sqrt(var + eps) per image and channel (biased variance), then * scale + shift,
    with scale and shift (B, C) per image. group_norm with one group per channel is instance norm,
    and on CPU runs several times faster than var_mean or instance_norm."""
    if x.shape[1] <= 8:  # channels-last group_norm is slow with few channels; the copy is cheap
        x = x.contiguous()
    if scale.shape[0] == 1:  # one style for the whole batch: group_norm applies it in the same pass
        return F.group_norm(x, x.shape[1], scale[0], shift[0], eps)
    return torch.addcmul(shift[:, :, None, None], F.group_norm(x, x.shape[1], eps=eps), scale[:, :, None, None])


class NormRecord:
    """Each instance norm's statistics over a pass (its mean and reciprocal standard deviation per
    image and channel, float32), in layer order: handed to a pass over a crop of the same frame
    (`NormsGiven`), they let it paint the crop as the whole frame's pass paints it. They come from
    the norm itself, so the pass paints what it paints unrecorded (`torch.var_mean` of a 640x360
    layer took 16 times the norm's time on the CPU)."""

    def __init__(self) -> None:
        self.stats: list[tuple[torch.Tensor, torch.Tensor]] = []

    def normalize(self, x: torch.Tensor, eps: float, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        if x.shape[1] <= 8:  # as instance_normalize
            x = x.contiguous()
        (n, c, h, w), one = x.shape, scale.shape[0] == 1
        y, mean, rstd = torch.native_group_norm(x, scale[0] if one else None, shift[0] if one else None, n, c, h * w, c, eps)
        self.stats.append((mean.float(), rstd.float()))
        return y if one else torch.addcmul(shift[:, :, None, None], y, scale[:, :, None, None])

    def given(self) -> NormsGiven:
        return NormsGiven(self.stats)


class NormsGiven:
    """A pass whose instance norms normalize by statistics given (a `NormRecord`'s, in layer order)
    instead of their own. A crop's own statistics are not its frame's: a crop of a 256x160 frame
    with a 32 px halo, normalized by them, is 19-21 dB from the frame's painting there; by the
    frame's, 43-54 dB."""

    def __init__(self, stats: list[tuple[torch.Tensor, torch.Tensor]]):
        self.stats = iter(stats)

    def normalize(self, x: torch.Tensor, eps: float, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        mean, rstd = next(self.stats)
        a = scale.float() * rstd
        b = shift.float() - mean * a
        return torch.addcmul(b[:, :, None, None], x.float(), a[:, :, None, None]).to(x.dtype)


Norms = NormRecord | NormsGiven


def activate(x: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "relu":
        return x.relu_()
    return x.sigmoid_() if activation == "sigmoid" else x


def channels_last(module: nn.Module, device: torch.device | str) -> nn.Module:
    """The networks run channels-last (NHWC): oneDNN's convolutions then skip a layout reorder
    per layer, about 1.3x faster in float32 and 2x in bfloat16 on CPU; cuDNN prefers it too."""
    return module.to(device, memory_format=torch.channels_last).eval()


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the bottom and right so both sides divide by `multiple`; returns the original size."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    return x, (h, w)


def linear(weight: np.ndarray, bias: np.ndarray | None = None) -> nn.Linear:
    """A frozen nn.Linear from a (out, in) weight."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None).requires_grad_(False)
    layer.weight.copy_(tensor(weight))
    if bias is not None:
        layer.bias.copy_(tensor(bias))
    return layer


class StyleNormConv(nn.Module):
    """conv -> instance norm whose scale and shift are linear in the style -> activation.

    The conditioning both Magenta networks use: a style vector (arbitrary) or a mix of built-in
    style weights (multistyle) sets every norm layer's (scale, shift). `condition` computes that
    pair once per style, so a fixed style costs nothing per frame."""

    def __init__(self, conv: nn.Module, scale: nn.Linear, shift: nn.Linear, eps: float, activation: str = "relu"):
        super().__init__()
        self.conv, self.scale, self.shift = conv, scale, shift
        self.eps, self.activation = eps, activation

    def condition(self, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.scale(style), self.shift(style)

    def forward(self, x: torch.Tensor, condition: tuple[torch.Tensor, torch.Tensor], norms: Norms | None = None) -> torch.Tensor:
        normalize = instance_normalize if norms is None else norms.normalize
        return activate(normalize(self.conv(x), self.eps, *condition), self.activation)


class PlainConv(nn.Module):
    """conv -> relu, unconditioned."""

    def __init__(self, conv: nn.Module):
        super().__init__()
        self.conv = conv

    def condition(self, style: torch.Tensor) -> None:
        return None

    def forward(self, x: torch.Tensor, condition: None, norms: Norms | None = None) -> torch.Tensor:
        return self.conv(x).relu_()


class StylizationNetwork(nn.Module):
    """The image transformation network both Magenta models share: three convolutions down to a
    quarter of the size, residual blocks, two nearest-neighbour upsamplings with convolutions.
    Input (B,3,H,W) in [0, 1], any H and W; style (B, D) or (D,)."""

    def __init__(self, contract: list[nn.Module], residual: list[tuple[nn.Module, nn.Module]], expand: list[nn.Module]):
        super().__init__()
        self.contract = nn.ModuleList(contract)
        self.residual = nn.ModuleList(nn.ModuleList(pair) for pair in residual)
        self.expand = nn.ModuleList(expand)

    def layers(self) -> list[nn.Module]:
        return [*self.contract, *(layer for pair in self.residual for layer in pair), *self.expand]

    def condition(self, style: torch.Tensor) -> list:
        """Every layer's (scale, shift) for a style: prepare once, stylize many frames."""
        style = style.reshape(-1, style.shape[-1])
        return [layer.condition(style) for layer in self.layers()]

    def stylize(self, image: torch.Tensor, conditions: list, norms: Norms | None = None) -> torch.Tensor:
        return self.decode(self.encode(image, conditions, norms), conditions, image.shape[-2:], norms)

    def encode(self, image: torch.Tensor, conditions: list, norms: Norms | None = None) -> torch.Tensor:
        """The residual blocks' output: what the decoder paints from, at a quarter of the image
        size (padded to a multiple of 4). With `norms`, each instance norm's statistics are
        recorded, or given (`NormRecord`, `NormsGiven`)."""
        x, _ = pad_to_multiple(image, 4)
        x = x.contiguous(memory_format=torch.channels_last)
        given = iter(conditions)
        for layer in self.contract:
            x = layer(x, next(given), norms)
        for first, second in self.residual:
            x = x + second(first(x, next(given), norms), next(given), norms)
        return x

    def decode(self, features: torch.Tensor, conditions: list, size: tuple[int, int], norms: Norms | None = None) -> torch.Tensor:
        """The image of size (H, W) that encoded features paint."""
        given = iter(conditions[-len(self.expand):])
        x = self.expand[0](upsample2(features), next(given), norms)
        x = self.expand[1](upsample2(x), next(given), norms)
        return self.expand[2](x, next(given), norms)[..., :size[0], :size[1]]

    def norm_counts(self) -> tuple[int, int]:
        """How many instance norms `encode` and `decode` take statistics for."""
        norms = [isinstance(layer, StyleNormConv) for layer in self.layers()]
        return sum(norms[:-len(self.expand)]), sum(norms[-len(self.expand):])

    def forward(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.stylize(image, self.condition(style.to(image)))
