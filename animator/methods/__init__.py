"""Style transfer methods behind one protocol (base.py), so every renderer works with every
method: the feed-forward networks (feedforward.py) and the optimization method (gatys.py). The
registry picks one by its preset name."""

from __future__ import annotations

import torch

from animator.methods.base import Method, StyleTrack, Styles, Temporal, keep_previous, prepare_style
from animator.methods.feedforward import ArbitraryMethod, FeedForward, MultistyleMethod
from animator.methods.gatys import GatysMethod
from animator.preset.schema import MethodOptions

__all__ = ["FeedForward", "Method", "StyleTrack", "Styles", "Temporal", "build_method", "keep_previous", "prepare_style"]

REGISTRY = {"arbitrary": ArbitraryMethod, "multistyle": MultistyleMethod, "gatys": GatysMethod}


def build_method(options: MethodOptions, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0) -> Method:
    return REGISTRY[options.name](options, device, dtype, seed)
