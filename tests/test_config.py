from __future__ import annotations

import math

import pytest

from nst_core.config import HARD_MAX_SIZE, HARD_MAX_STEPS, Limits, TransferConfig
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


def test_limits_depend_on_the_device_and_the_environment():
    cpu, gpu = Limits.for_device("cpu", {}), Limits.for_device("cuda", {})
    assert cpu.max_size < gpu.max_size and cpu.max_steps < gpu.max_steps
    custom = Limits.for_device("cpu", {"NST_MAX_SIZE": "300", "NST_MAX_STEPS": "20", "NST_MAX_CONCURRENT": "2"})
    assert (custom.max_size, custom.max_steps, custom.max_concurrent) == (300, 20, 2)
    assert custom.default_steps <= 20 and custom.default_size <= 300
    with pytest.raises(ConfigError, match="NST_MAX_SIZE must be a whole number"):
        Limits.for_device("cpu", {"NST_MAX_SIZE": "big"})
    with pytest.raises(ConfigError, match="between"):
        Limits.for_device("cpu", {"NST_MAX_SIZE": str(HARD_MAX_SIZE + 1)})


def test_limits_check_and_clamp():
    limits = Limits.for_device("cpu", {"NST_MAX_SECONDS": "30"})
    with pytest.raises(ConfigError, match="limited to 512 px"):
        limits.check(TransferConfig(size=1024))
    with pytest.raises(ConfigError, match="limited to 200 steps per scale"):
        limits.check(TransferConfig(steps=HARD_MAX_STEPS))
    assert limits.clamp(TransferConfig()).max_seconds == 30
    assert limits.clamp(TransferConfig(max_seconds=5)).max_seconds == 5
