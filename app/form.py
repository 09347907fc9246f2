"""The parameters of a run, derived from ``TransferConfig``'s fields, and "use these settings again".

:data:`CONTROLS` is the one map from config fields to what the form shows
(label, where, bounds); the widget kind follows from the field's type, the
default and the tooltip from the config itself. A widget's key is its field's
name, so a recipe (a config as a dict) restores the form field by field.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from job_service.limits import Limits
from nst_core.config import (
    HARD_MAX_STEPS,
    MIN_SIZE,
    STYLE_WEIGHT_PRESETS,
    TV_WEIGHT_PRESETS,
    WEIGHT_SOURCES,
    TransferConfig,
    field_help,
)

Where = Literal["left", "right", "advanced-left", "advanced-right"]


@dataclass(frozen=True)
class Control:
    """How one config field appears in the form."""

    label: str
    where: Where
    low: float | None = None  # bounds of a number input or slider
    high: float | None = None
    step: float | None = None
    presets: Sequence[Any] = ()  # a select slider over these values
    choices: Sequence[str] = ()  # for a str field with named choices; a Literal field's come from its type
    help: str | None = None  # where the page says it in other words than the CLI


Method = Literal["refined", "instant", "gatys"]
METHODS: dict[Method, str] = {  # the page's three ways to paint, named for visitors
    "refined": "Instant, then refined",
    "instant": "Instant",
    "gatys": "Optimised from the photo (Gatys)",
}
DEFAULT_METHOD: Method = "refined"

CONTROLS: dict[str, Control] = {
    "size": Control("Output size (longest side, px)", "left", step=32),
    "steps": Control(
        "Steps per scale",
        "left",
        help="Optimiser iterations at each scale; above 384 px the picture is first "
        "painted at about 256 px, then at each doubling.",
    ),
    "style_weight": Control("Style strength", "left", presets=STYLE_WEIGHT_PRESETS),
    "tv_weight": Control("Smoothness", "advanced-left", presets=TV_WEIGHT_PRESETS),
    "optimizer": Control("Optimiser", "right"),
    "strength": Control("Instant strength (0 = the photo, 1 = the painting)", "right", low=0.0, high=1.0, step=0.05),
    "init": Control("Optimised from the photo: start from", "advanced-right", choices=("content", "noise")),
    "color": Control("Colours", "right"),
    "seed": Control("Seed", "advanced-right", low=0, high=2**31 - 1, step=1),
    "content_weight": Control("Content weight", "advanced-left", low=0.0, high=100.0, step=0.1),
    "style_scale": Control("Style scale (painting size vs. output)", "advanced-left", low=0.25, high=2.0, step=0.05),
    "learning_rate": Control(
        "Learning rate (0 = the optimiser's default)", "advanced-left", low=0.0, high=10.0, step=0.01
    ),
    "weights": Control("Weights", "advanced-right", choices=WEIGHT_SOURCES),
    "backbone": Control("Backbone", "advanced-right"),
    "multiscale": Control("Coarse-to-fine above 384 px", "advanced-right"),
    "early_stop": Control("Stop when converged", "advanced-right"),
}

CHOICE_LABELS = {
    "gatys": "Gatys, from the photo",
    "refined": "Instant, then refined",
    "instant": "Instant",
    "lbfgs": "L-BFGS (fastest)",
    "adam": "Adam",
    "gd": "Gradient descent",
    "content": "The photo",
    "fast": "The instant painting",
    "noise": "Noise",
    "none": "Style's colours",
    "luminance": "Photo's colours (luminance only)",
    "match": "Match style to photo",
    "original": "Original VGG19",
    "torchvision": "torchvision IMAGENET1K_V1",
    "hub": "Hugging Face hub (timm)",
    "vgg19": "VGG19",
    "vgg16": "VGG16",
}

_DEFAULTS = TransferConfig()
_TYPES = typing.get_type_hints(TransferConfig)


def label_of(value: Any) -> str:
    """A choice as visitors read it."""
    return CHOICE_LABELS.get(str(value), str(value))


def render_controls(
    limits: Limits, style_labels: list[str], button: Callable[[], bool], varied: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Every control, in a form the caller opened, with the caller's submit ``button`` right under the method
    (on a phone the settings stack into a long column; the button must not sink below them).

    ``varied``: the setting a comparison varies ("method" or a config field); it is named, not offered, here
    (a second control for it would be ignored), and its value is the default.

    Returns config field -> value, ready for ``TransferConfig``, and whether the button was pressed.
    """
    if varied == "method":
        st.caption("Method: the values chosen above.")
        method = DEFAULT_METHOD
    else:
        method = st.radio(
            "Method",
            list(METHODS),
            index=list(METHODS).index(DEFAULT_METHOD),
            format_func=METHODS.__getitem__,
            horizontal=True,
            key="method",
            help="Instant: a feed-forward network paints the photo in one pass, in about a second. Instant, "
            "then refined: the optimisation of Gatys et al. paints over that picture. Optimised from the "
            "photo: the paper's way, starting from the photo.",
        )
    pressed = button()
    places: dict[Where, DeltaGenerator] = {}
    places["left"], places["right"] = st.columns(2)
    values: dict[str, Any] = {}
    for name, control in CONTROLS.items():
        if not control.where.startswith("advanced"):
            with places[control.where]:
                values[name] = _widget(name, control, limits, varied)
    values["style_blend"] = _blend(style_labels)
    with st.expander("Advanced"):
        places["advanced-left"], places["advanced-right"] = st.columns(2)
        for name, control in CONTROLS.items():
            if control.where.startswith("advanced"):
                with places[control.where]:
                    values[name] = _widget(name, control, limits, varied)
    return with_method(values, method), pressed


def with_method(values: dict[str, Any], method: Method) -> dict[str, Any]:
    """The form's values with the method turned into the config's start and steps."""
    if method == "gatys":
        return values
    return {**values, "init": "fast", "steps": 0 if method == "instant" else values["steps"]}


def method_of(recipe: dict[str, Any]) -> Method:
    """The method a recipe was painted with."""
    if recipe.get("init") != "fast":
        return "gatys"
    return "instant" if recipe.get("steps") == 0 else "refined"


def _widget(name: str, control: Control, limits: Limits, varied: str | None = None) -> Any:
    """The widget for one field; its kind follows from the field's type. The ``varied`` field gets none."""
    kind, default = _TYPES[name], getattr(_DEFAULTS, name)
    if name == varied:
        st.caption(f"{control.label}: the values chosen above.")
        return default
    tip = control.help or field_help(name).capitalize() + "."
    common: dict[str, Any] = {"key": name, "help": tip}
    if name == "size":
        return int(st.slider(control.label, MIN_SIZE, limits.max_size, limits.default_size, step=32, **common))
    if name == "steps":
        most = min(limits.max_steps, HARD_MAX_STEPS)
        return int(st.slider(control.label, 1, most, limits.default_steps, **common))
    if control.presets:
        return float(st.select_slider(control.label, options=list(control.presets), value=default, **common))
    choices = _choices(name, control)
    if choices:
        if not control.where.startswith("advanced"):  # in view: every choice visible at once
            return st.radio(control.label, choices, format_func=label_of, horizontal=True, **common)
        return st.selectbox(control.label, choices, format_func=label_of, **common)
    if kind is bool:
        return bool(st.checkbox(control.label, value=default, **common))
    if kind is int:
        return int(st.number_input(control.label, int(control.low or 0), int(control.high or 0), default, 1, **common))
    low, high = float(control.low or 0.0), float(control.high or 0.0)
    if name == "learning_rate":  # 0 stands for "the optimiser's default" (None)
        return float(st.number_input(control.label, low, high, 0.0, control.step, format="%.3f", **common)) or None
    if control.high is not None and control.high - low <= 10:
        return float(st.slider(control.label, low, high, float(default), control.step, **common))
    return float(st.number_input(control.label, low, high, float(default), control.step, **common))


def _choices(name: str, control: Control) -> list[str]:
    """The values a choice field offers on the page: the control's, else its Literal type's; [] if not a choice."""
    kind = _TYPES[name]
    return list(control.choices) or (list(typing.get_args(kind)) if typing.get_origin(kind) is Literal else [])


def _blend(style_labels: list[str]) -> tuple[float, ...]:
    """One weight per painting, when there are several."""
    if len(style_labels) < 2:
        return ()
    st.caption("Blend of the paintings")
    weights = []
    for index, (column, label) in enumerate(zip(st.columns(len(style_labels)), style_labels, strict=True)):
        with column:
            weights.append(float(st.slider(label, 0.0, 1.0, 1.0, 0.05, key=f"blend_{index}")))  # label: plain()
    return tuple(weights)


def apply_recipe(recipe: dict[str, Any]) -> None:
    """Put a recipe's values back into the form's widgets ("use these settings again")."""
    st.session_state["method"] = method_of(recipe)
    for name, control in CONTROLS.items():
        if name not in recipe:
            continue
        value = recipe[name]
        if name == "learning_rate":
            value = value or 0.0
        if name == "steps" and value == 0:
            continue  # an instant painting: the slider keeps its value for the other methods
        choices = _choices(name, control)
        if choices and value not in choices:
            continue  # a value the page does not offer (an init image, a weights file)
        st.session_state[name] = value
