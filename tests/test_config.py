from __future__ import annotations

import math

import pytest

from nst_core.config import TransferConfig
from nst_core.errors import ConfigError


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("size", 8192, "between 32 and 4096"),
        ("size", 0, "between"),
        ("size", 256.5, "whole number"),
        ("size", True, "whole number"),
        ("steps", 10**6, "between 0 and 5000"),
        ("steps", -1, "between"),
        ("style_weight", math.inf, "finite"),
        ("style_weight", math.nan, "finite"),
        ("content_weight", -1.0, "between"),
        ("tv_weight", "a lot", "must be a number"),
        ("optimizer", "sgd-ish", "one of lbfgs, adam, gd"),
        ("init", "photo", "one of content, noise, image"),
        ("color", "sepia", "one of none, luminance, match"),
        ("style_scale", 100.0, "between"),
        ("seed", -5, "between"),
        ("learning_rate", 0.0, "between|above"),
        ("max_seconds", math.nan, "finite"),
        ("style_blend", (1.0, math.inf), "finite"),
        ("style_blend", (0.0, 0.0), "above 0"),
        ("backbone", "resnet50", "one of vgg19, vgg16"),
        ("precision", "fp16", "one of auto, fp32, bf16"),
        ("cuda_graphs", "yes", "cuda_graphs must be true or false"),
        ("weights", "", "weights must name a source"),
        ("style_layer_weights", (1.0,), "5 style layers need 5 layer weights"),
    ],
)
def test_bad_values_are_refused_with_a_sentence(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TransferConfig(**{field: value})


def test_defaults_are_valid_and_round_trip_through_a_recipe():
    config = TransferConfig(style_blend=(1.0, 2.0), seed=7)
    again = TransferConfig.from_dict({**config.to_dict(), "unknown_key": 1})
    assert again == config
    assert config.effective_learning_rate == 1.0
    assert config.replace(optimizer="adam").effective_learning_rate == 0.03
