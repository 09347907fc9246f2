from __future__ import annotations

import threading

import torch

from nst_core import backbone
from nst_core.backbone import CAFFE_MEAN_BGR, FeatureExtractor, get_extractor
from nst_core.images import to_tensor
from nst_core.weights import load_weights


def test_extractor_is_frozen_and_in_eval_mode(extractor):
    assert not extractor.training
    assert all(not p.requires_grad for p in extractor.parameters())


def test_caffe_preprocessing_is_bgr_0_255_minus_mean(extractor, content_image):
    image = to_tensor(content_image)
    expected = image[:, [2, 1, 0]] * 255 - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    assert torch.allclose(extractor.preprocess(image), expected, atol=1e-4)


def test_named_outputs_equal_the_plain_sequential_forward(extractor, content_image):
    image = to_tensor(content_image)
    outputs = extractor(image, ["relu1_1", "conv4_2", "relu4_2"])
    x = extractor.preprocess(image)
    for index in range(23):
        x = extractor.features[index](x)
        if index == 21:
            conv = x
    assert torch.equal(outputs["conv4_2"], conv)
    assert torch.equal(outputs["relu4_2"], x)
    assert outputs["relu4_2"].shape[1] == 512


def test_forward_stops_at_the_deepest_layer_asked(extractor, content_image, monkeypatch):
    called: list[int] = []
    for index, module in enumerate(extractor.features):
        monkeypatch.setattr(module, "forward", _spy(module.forward, called, index))
    extractor(to_tensor(content_image), ["relu2_1"])
    assert called == list(range(7))


def _spy(forward, called, index):
    def wrapped(x):
        called.append(index)
        return forward(x)

    return wrapped


def test_loader_runs_once_under_concurrent_first_calls(monkeypatch):
    backbone.clear_cache()
    calls: list[str] = []

    def counting(source: str, arch: str):
        calls.append(source)
        return load_weights(source, arch)

    monkeypatch.setattr(backbone, "load_weights", counting)
    results: list[FeatureExtractor] = []
    threads = [threading.Thread(target=lambda: results.append(get_extractor())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)


def test_a_bf16_variant_is_made_once_and_leaves_the_fp32_one_alone(content_image):
    extractor = get_extractor("original", "vgg19", "cpu")
    half = extractor.at_precision(torch.bfloat16)
    assert extractor.at_precision(torch.bfloat16) is half
    assert get_extractor("original", "vgg19", "cpu", torch.bfloat16) is half
    assert extractor.at_precision(torch.float32) is extractor
    conv = half.features[2]
    assert conv.weight.dtype == torch.bfloat16 and conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert extractor.features[2].weight.dtype == torch.float32
    image = to_tensor(content_image)
    with torch.no_grad():
        precise = extractor(image, ["relu1_1", "relu4_2"])
        reduced = half(image, ["relu1_1", "relu4_2"])
    for name, value in reduced.items():
        assert value.dtype == torch.bfloat16
        error = (value.float() - precise[name]).norm() / precise[name].norm()
        assert float(error) < 0.02, name  # bf16 keeps 8 bits of mantissa: about 0.4% per value
