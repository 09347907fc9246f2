"""The one map from the names of methods, choices and settings to the words visitors read.

The page's form, its captions, the comparison sheet and the CLI's comparison labels all read these, so a thing
has one name wherever it is met; the technical names (``lbfgs``, ``tv_weight``) stay in recipes and "About".
"""

from __future__ import annotations

from typing import Any

from .config import MULTISCALE_ABOVE

METHODS: dict[str, str] = {  # the three ways to paint
    "refined": "Instant, then refined",
    "instant": "Instant",
    "gatys": "Optimised from the photo (Gatys)",
}

CHOICES: dict[str, str] = {
    **METHODS,
    "lbfgs": "L-BFGS",
    "adam": "Adam",
    "gd": "Gradient descent",
    "content": "The photo",
    "fast": "The instant painting",
    "noise": "Noise",
    "none": "Style's colours",
    "luminance": "Photo's colours",
    "match": "Match style to photo",
    "original": "Original VGG19",
    "torchvision": "torchvision IMAGENET1K_V1",
    "hub": "Hugging Face hub (timm)",
    "vgg19": "VGG19",
    "vgg16": "VGG16",
}

SETTINGS: dict[str, str] = {  # config fields, as a form's labels and a sheet's lines name them
    "size": "Output size (longest side, px)",
    "steps": "Steps per scale",
    "style_weight": "Style strength",
    "tv_weight": "Smoothness",
    "optimizer": "Optimiser",
    "strength": "Instant strength (0 = the photo, 1 = the painting)",
    "init": "Optimised from the photo: start from",
    "color": "Colours",
    "seed": "Seed",
    "content_weight": "Content weight",
    "style_scale": "Style scale (painting size vs. output)",
    "learning_rate": "Learning rate (0 = the optimiser's default)",
    "weights": "Weights",
    "backbone": "Backbone",
    "multiscale": f"Coarse-to-fine above {MULTISCALE_ABOVE} px",
    "early_stop": "Stop when converged",
}


def label_of(value: Any) -> str:
    """A choice as visitors read it."""
    return CHOICES.get(str(value), str(value))


def short(field: str) -> str:
    """A setting's name without its explanation in brackets, for a caption or a sheet's line."""
    return SETTINGS[field].split(" (")[0].split(":")[0]
