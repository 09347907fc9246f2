import pytest
import torchvision

from nst_core import vgg


def test_layer_mapping_matches_torchvision_features():
    # The PyTorch tutorial's indices are off; these are the right ones.
    assert vgg.layer_index("conv4_2") == 21
    assert vgg.layer_index("relu4_2") == 22
    assert [vgg.layer_index(f"relu{b}_1") for b in range(1, 6)] == [1, 6, 11, 20, 29]
    features = torchvision.models.vgg19(weights=None).features
    names = vgg.layer_names("vgg19")
    assert len(names) == len(features) == 37
    for name, module in zip(names, features, strict=True):
        kind = {"conv": "Conv2d", "relu": "ReLU", "pool": "MaxPool2d"}[name[:4]]
        assert type(module).__name__ == kind, name


def test_vgg16_layers_match_torchvision():
    features = torchvision.models.vgg16(weights=None).features
    names = vgg.layer_names("vgg16")
    assert len(names) == len(features) == 31
    assert vgg.layer_index("relu4_2", "vgg16") == 20
    assert vgg.expected_keys("vgg16") == set(features.state_dict())


def test_expected_keys_are_the_32_conv_tensors():
    keys = vgg.expected_keys("vgg19")
    assert len(keys) == 32
    assert keys == set(torchvision.models.vgg19(weights=None).features.state_dict())


def test_unknown_layer_is_refused():
    with pytest.raises(ValueError, match="no layer named"):
        vgg.layer_index("relu6_1")
