"""A convolution and its activation as one oneDNN operator on the CPU, its weights laid out for
oneDNN once: what torch's compiler does for a CPU graph (the same `mkldnn` operators), without
compiling. Eagerly, each `conv2d` reorders its weights on every call and the activation is one
more pass over memory, with one more wake of the threads: over the style predictor's 52 small
convolutions (MobileNetV2 at 256 px, run on every step of a `style: self` loop) 25 ms became 18
on the 2-core Xeon with AMX, the same vector to the bit there.

`frozen_conv2d` does the same for a layer whose weights take no gradient but whose input does
(the optimization method's VGG19): the input's gradient is the convolution of the output's
gradient with the kernel flipped and its channels swapped, through the same operator with those
weights laid out once. Eagerly, torch's `convolution_backward` lays the weights out on every call:
at 64 px a 512-channel layer's gradient took 4 ms in bfloat16, 0.4 this way, the same bits here.

Elsewhere (a GPU, gradients wanted but a frozen layer's input's, a CPU other than x86-64, where
it was not measured, a torch without the operators or whose operators refuse these arguments:
they are private to torch, and pyproject allows torch from 2.4) it is F.conv2d and the
activation, as before.
"""

from __future__ import annotations

import platform

import torch
import torch.nn.functional as F

X86 = platform.machine().lower() in ("x86_64", "amd64")
POINTWISE = getattr(getattr(torch.ops, "mkldnn", None), "_convolution_pointwise", None)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, padding: int,
           groups: int, relu6: bool, packed: dict) -> torch.Tensor:
    """conv2d(x), then ReLU6 if asked; `packed` is the layer's own store of its (frozen) weights
    in oneDNN's layout, one per input shape (the layout oneDNN picks depends on it)."""
    global POINTWISE
    if _fusable(x, weight):
        try:
            return _fused(x, weight, bias, stride, padding, groups, relu6, packed)
        except (RuntimeError, TypeError):  # another torch's operators (see above): conv2d from then on
            POINTWISE = None
    y = F.conv2d(x, weight, bias, stride, padding, groups=groups)
    return F.relu6(y) if relu6 else y


def _fused(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, padding: int,
           groups: int, relu6: bool, packed: dict) -> torch.Tensor:
    key = (tuple(x.shape), x.dtype)
    laid_for, laid_out = packed.get(key, (None, None))
    if laid_for is None or laid_for.data_ptr() != weight.data_ptr():  # new weights (Module.to swaps them in)
        if len(packed) >= 8:  # a shape at a time in practice; never a store that grows with a render
            packed.clear()
        laid_out = torch._C._nn.mkldnn_reorder_conv2d_weight(
            weight.to_mkldnn(), [padding] * 2, [stride] * 2, [1, 1], groups, list(x.shape))
        packed[key] = (weight.detach(), laid_out)  # keeps their memory: its address cannot come again for others
    activation, bounds = ("hardtanh", [0.0, 6.0]) if relu6 else ("none", [])  # ReLU6 in oneDNN's words
    return POINTWISE.default(x, laid_out, bias, [padding] * 2, [stride] * 2, [1, 1], groups, activation, bounds, "")


def _fusable(x: torch.Tensor, weight: torch.Tensor) -> bool:
    # A 1x1 input (the predictor's last layer, on the pooled features) is a matrix product, which
    # torch's own conv2d does as fast and sums in another order than oneDNN's convolution.
    return (_available() and x.device.type == "cpu" and not torch.is_grad_enabled()
            and x.dtype == weight.dtype and x.dtype in (torch.float32, torch.bfloat16) and x.shape[-2:] != (1, 1))


def _available() -> bool:
    return X86 and POINTWISE is not None and torch.backends.mkldnn.is_available()


def frozen_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: int,
                  packed: dict, packed_back: dict) -> torch.Tensor:
    """A stride-1 convolution, padded to keep its size, of weights that take no gradient; x's
    gradient, where it takes one, by the fused operator too (`packed_back`: the flipped weights'
    store). Elsewhere as `conv2d`."""
    if weight.shape[-1] != 2 * padding + 1 or weight.shape[-2] != 2 * padding + 1:
        raise ValueError(f"frozen_conv2d: a {tuple(weight.shape[-2:])} kernel padded by {padding} changes the size")
    if torch.is_grad_enabled() and x.requires_grad and x.device.type == "cpu" and _available():
        return _FrozenConv.apply(x, weight, bias, padding, packed, packed_back)
    return conv2d(x, weight, bias, 1, padding, 1, False, packed)


class _FrozenConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, padding, packed, packed_back):  # grad is off in here: the fused path
        ctx.weight, ctx.padding, ctx.packed_back = weight, padding, packed_back
        return conv2d(x, weight, bias, 1, padding, 1, False, packed)

    @staticmethod
    def backward(ctx, grad):
        flipped = _flipped(ctx.weight, ctx.packed_back)
        return conv2d(grad.contiguous(memory_format=torch.channels_last), flipped, None, 1, ctx.padding, 1, False,
                      ctx.packed_back), None, None, None, None, None


def _flipped(weight: torch.Tensor, store: dict) -> torch.Tensor:
    """The adjoint's kernel: channels in and out swapped, flipped in both directions; made once
    for these weights."""
    made_for, flipped = store.get("flipped", (None, None))
    if made_for is None or made_for.data_ptr() != weight.data_ptr():
        flipped = weight.detach().transpose(0, 1).flip(2, 3).contiguous()
        store.clear()  # the layouts were of the weights before
        store["flipped"] = (weight.detach(), flipped)
    return flipped
